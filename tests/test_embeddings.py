"""Pretrained word vectors for the tagger (--embeddings): reading the file, starting E from it,
the words it adds to the vocabulary, and one clean line for each kind of bad file."""
import dataclasses
import gzip
import json
import os

import numpy as np
import pytest

from dynlp.cli import main
from dynlp.data.embeddings import read_vectors
from dynlp.data.treebank import read_treebank
from dynlp.errors import DataError
from dynlp.models.tagger.config import TaggerConfig
from dynlp.models.tagger.network import BiLSTMTagger
from dynlp.tasks.tagger import tagger_vectors

SAMPLE = "data/sample.conllu"
QUICK = ["--no-tokenizer", "--epochs", "2", "--layers", "1", "--hidden-dim", "8", "--char-dim", "8",
         "--mlp-dim", "8", "--workers", "1", "--quiet"]
# Words of the sample ("the", "cat", "dog") and words it never has ("quokka", "wombat").
WORDS = ["The", "the", "cat", "quokka", "dog", "wombat"]


def vectors_text(words=WORDS, dim=6, header=True, seed=0):
    """A word2vec text file's contents, and {word: vector} as written (4 decimals)."""
    rng = np.random.default_rng(seed)
    table = {w: np.round(rng.normal(size=dim), 4).astype(np.float32) for w in words}
    lines = [f"{len(words)} {dim}"] if header else []
    lines += [w + " " + " ".join(f"{x:.4f}" for x in table[w]) for w in words]
    return "\n".join(lines) + "\n", table


def write(path, text):
    if str(path).endswith(".gz"):
        with gzip.open(path, "wt", encoding="utf-8") as out:
            out.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("name", ["v.vec", "v.vec.gz"])
def test_header_or_not_and_gzip_read_the_same(tmp_path, name):
    text, table = vectors_text()
    with_header = read_vectors(write(tmp_path / name, text))
    without = read_vectors(write(tmp_path / ("plain-" + name), vectors_text(header=False)[0]))
    assert with_header.words == without.words == WORDS and with_header.dim == 6
    assert np.array_equal(with_header.matrix, without.matrix)
    assert np.array_equal(with_header.matrix[3], table["quokka"])


def test_lowercased_the_first_spelling_wins(tmp_path):
    text, table = vectors_text()
    vectors = read_vectors(write(tmp_path / "v.vec", text), key=str.lower)
    assert vectors.words == ["the", "cat", "quokka", "dog", "wombat"]
    assert np.array_equal(vectors.matrix[0], table["The"])  # "The" is listed before "the"


def test_the_cap_counts_added_words_and_training_words_are_always_kept(tmp_path):
    path = write(tmp_path / "v.vec", vectors_text()[0])
    capped = read_vectors(path, wanted={"dog", "cat"}, cap=1, key=str.lower)
    # "the" is the first word training never saw; "quokka" and "wombat" are beyond the cap,
    # "dog" is kept beyond it as a training word.
    assert capped.words == ["the", "cat", "dog"] and capped.found == 2
    assert read_vectors(path, wanted={"wombat"}, cap=0).words == ["wombat"]


def test_the_vocabularys_special_tokens_are_never_taken(tmp_path):
    text, _ = vectors_text(["<unk>", "cat", "<s>", "dog"])
    pairs = [(["cat", "dog", "<unk>"], {"upos": ["NOUN", "NOUN", "X"]})]
    config = TaggerConfig(columns="upos", embeddings=write(tmp_path / "v.vec", text))
    assert tagger_vectors(config, pairs).words == ["cat", "dog"]  # <unk> learns its own row


def test_a_new_tagger_starts_from_the_files_vectors(tmp_path):
    path = write(tmp_path / "v.vec", vectors_text()[0])
    sentences = read_treebank(SAMPLE)
    pairs = [(s.forms, {"upos": s.tags["upos"]}) for s in sentences]
    config = TaggerConfig(columns="upos", embeddings=path, layers=1, char_dim=4, hidden_dim=4,
                          mlp_dim=4)
    assert config.emb_dim == 0  # not known before the file is read
    vectors = tagger_vectors(config, pairs)
    model = BiLSTMTagger.from_training_data(config, pairs, vectors=vectors)
    assert model.config.emb_dim == 6 and model.config.embeddings_count == 5
    assert "quokka" in model.words and "wombat" in model.words
    assert model.knows("cat") and not model.knows("Quokka")  # unseen in training still
    for network in model.networks:  # the ensemble's two: each starts from the file
        for word, row in zip(vectors.words, vectors.matrix):
            assert np.array_equal(network.encoder.E.row_as_array(model.words.id(word)), row)


def test_without_a_file_the_size_is_the_default():
    assert TaggerConfig().emb_dim == 100
    assert dataclasses.replace(TaggerConfig(), emb_dim=32).emb_dim == 32


def test_trains_tags_and_keeps_the_added_words_vectors(tmp_path, capsys):
    text, table = vectors_text()
    path = write(tmp_path / "v.vec.gz", text)
    out = str(tmp_path / "model")
    assert main(["train-tagger", SAMPLE, "-o", out, "--embeddings", path, *QUICK]) == 0
    config = json.load(open(os.path.join(out, "config.json")))["config"]
    assert config["embeddings"] == path and config["embeddings_count"] == 5
    assert config["emb_dim"] == 6  # the file's, as --emb-dim was not given
    model = BiLSTMTagger.load(out)
    quokka = model.words.id("quokka")
    assert quokka != model.words.unk
    for network in model.networks:  # never in a training batch: its row is the file's still
        assert np.allclose(network.encoder.E.row_as_array(quokka), table["quokka"])
    text_in = tmp_path / "in.txt"
    text_in.write_text("The quokka sat on the mat .\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["tag", "-m", out, "--input", "text", str(text_in), "--quiet"]) == 0
    rows = [line.split("\t") for line in capsys.readouterr().out.splitlines()
            if line and not line.startswith("#")]
    assert [row[1] for row in rows][:2] == ["The", "quokka"] and all(row[3] != "_" for row in rows)


def test_embeddings_max_caps_the_added_words(tmp_path):
    path = write(tmp_path / "v.vec", vectors_text()[0])
    out = str(tmp_path / "model")
    assert main(["train-tagger", SAMPLE, "-o", out, "--embeddings", path, "--embeddings-max",
                 "1", *QUICK]) == 0
    model = BiLSTMTagger.load(out)
    # the, cat and dog are training words; quokka is the first the sample lacks, wombat next
    assert "quokka" in model.words and "wombat" not in model.words
    assert model.config.embeddings_count == 4 and model.config.embeddings_max == 1


def test_resuming_does_not_read_the_file_again(tmp_path):
    path = write(tmp_path / "v.vec", vectors_text()[0])
    out = str(tmp_path / "model")
    assert main(["train-tagger", SAMPLE, "-o", out, "--embeddings", path, *QUICK]) == 0
    os.remove(path)  # the vectors are in the model directory now
    assert main(["train-tagger", SAMPLE, "-o", out, "--resume", "--epochs", "3", *QUICK[3:]]) == 0
    assert "wombat" in BiLSTMTagger.load(out).words


# (file contents, the line the message must name, what it must say)
BAD_FILES = {
    "wrong dimension": ("2 3\ncat 1 2 3\ndog 1 2\n", 3, "2 values, but the vectors have 3"),
    "no header, wrong dimension": ("cat 1 2 3\ndog 1 2 3 4\n", 2, "4 values"),
    "not a number": ("cat 1 2 3\ndog 1 two 3\n", 2, "'two', is not a number"),
    "nan": ("cat 1 2 3\ndog 1 nan 3\n", 2, "not finite"),
    "inf": ("cat 1 2 3\ndog -inf 2 3\n", 2, "not finite"),
    "too large for float32": ("cat 1 2 3\ndog 1e39 2 3\n", 2, "not finite"),
    "empty": ("", 1, "no word vectors"),
    "header only": ("2 3\n", 2, "no word vectors"),
    "a word alone": ("cat\n", 1, "no values"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_a_bad_file_is_one_line_naming_file_and_line(tmp_path, capsys, case):
    text, line, message = BAD_FILES[case]
    path = write(tmp_path / "bad.vec", text)
    assert main(["train-tagger", SAMPLE, "-o", str(tmp_path / "m"), "--embeddings", path,
                 *QUICK]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"{path}:{line}: " in err[0] and message in err[0], err
    with pytest.raises(DataError):
        read_vectors(path, wanted={"cat", "dog"})


def test_a_cut_off_gzip_file_is_one_line(tmp_path, capsys):
    path = write(tmp_path / "v.vec.gz", vectors_text(dim=50)[0])
    data = open(path, "rb").read()
    open(path, "wb").write(data[:len(data) // 2])
    assert main(["train-tagger", SAMPLE, "-o", str(tmp_path / "m"), "--embeddings", path,
                 *QUICK]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"{path}:" in err[0], err


def test_an_explicit_emb_dim_must_be_the_files(tmp_path, capsys):
    path = write(tmp_path / "v.vec", vectors_text()[0])
    assert main(["train-tagger", SAMPLE, "-o", str(tmp_path / "m"), "--embeddings", path,
                 "--emb-dim", "8", *QUICK]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"{path}:1: vectors of 6 dimensions, but --emb-dim is 8" in err[0]
