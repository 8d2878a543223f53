"""Carrying a trained model on to new data (`--init-from`): the tagger and the language model
start from the trained one's weights, new words, characters and tags get new rows."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from dynlp.cli import main
from dynlp.data.treebank import read_treebank
from dynlp.data.vocab import Vocab
from dynlp.models.lm import RNNLanguageModel
from dynlp.models.growth import grown_language_model
from dynlp.models.tagger.growth import grown_tagger
from dynlp.models.tagger.network import BiLSTMTagger
from test_tagger import MORPHOLOGY, pairs

QUICK = ["--epochs", "2", "--layers", "1", "--hidden-dim", "8", "--char-dim", "8",
         "--mlp-dim", "8", "--no-tokenizer", "--quiet"]
# New words, characters (ß, ü) and tags (UPOS INTJ, XPOS UH), FEATS and LEMMA left blank.
NEW_DOMAIN = """# sent_id = n1
1	Ach	_	INTJ	UH	_	0	root	_	_
2	süß	_	ADJ	JJ	_	1	amod	_	_
3	!	_	PUNCT	.	_	1	punct	_	_

# sent_id = n2
1	The	_	DET	DT	_	2	det	_	_
2	Straße	_	NOUN	NN	_	0	root	_	_
3	.	_	PUNCT	.	_	2	punct	_	_

"""


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A small tagger of UPOS, XPOS, FEATS and LEMMA, trained on the morphology sample."""
    tmp = tmp_path_factory.mktemp("carry")
    (tmp / "morphology.conllu").write_text(MORPHOLOGY, encoding="utf-8")
    (tmp / "new.conllu").write_text(NEW_DOMAIN, encoding="utf-8")
    assert main(["train-tagger", str(tmp / "morphology.conllu"), "-o", str(tmp / "base")]
                + QUICK) == 0
    return tmp


def test_a_grown_tagger_keeps_every_row_it_had_and_adds_the_new_ones(trained):
    base = BiLSTMTagger.load(str(trained / "base"))
    new = read_treebank(str(trained / "new.conllu"))
    grown = grown_tagger(base, pairs(new, base.columns))
    assert grown.words.itos[:len(base.words)] == base.words.itos
    assert {"süß", "straße", "ach"} <= set(grown.words.itos) - set(base.words.itos)
    assert {"ß", "ü"} <= set(grown.chars.itos) - set(base.chars.itos)
    assert grown.heads[0].vocab.itos[-1] == "INTJ" and "UH" in grown.heads[1].vocab.itos
    # Before any training, each old tag's score is the trained one's, on sentences of words
    # and characters it knew (a new word has a row of its own now, where it was <unk>).
    sentences = [s.forms for s in read_treebank(str(trained / "morphology.conllu"))
                 if all(base.knows(form) and set(form) <= set(base.chars.itos) for form in s.forms)]
    assert len(sentences) >= 2
    with base.frozen(), grown.frozen():
        for old, new_scores in zip(base.network_scores(sentences),
                                   grown.network_scores(sentences)):
            for head, a, b in zip(base.heads, old, new_scores):
                assert np.allclose(a, b[:a.shape[0]], atol=1e-5), head.column


def test_carried_on_trains_saves_loads_and_tags_with_the_new_tags(trained, tmp_path):
    out = tmp_path / "carried"
    new = str(trained / "new.conllu")
    assert main(["train-tagger", new, "--dev", new, "-o", str(out), "--init-from",
                 str(trained / "base"), "--epochs", "100", "--patience", "100", "--lr", "0.02",
                 "--batch-size", "1", "--no-tokenizer", "--quiet"]) == 0
    carried = BiLSTMTagger.load(str(out))
    base = BiLSTMTagger.load(str(trained / "base"))
    assert carried.columns == base.columns and carried.config.hidden_dim == 8
    assert "INTJ" in carried.heads[0].vocab
    tagged = tmp_path / "tagged.conllu"
    assert main(["tag", "-m", str(out), str(trained / "new.conllu"), "-o", str(tagged)]) == 0
    upos = [line.split("\t")[3] for line in tagged.read_text().splitlines() if line[:1].isdigit()]
    gold = ["INTJ", "ADJ", "PUNCT", "DET", "NOUN", "PUNCT"]
    assert upos[0] == "INTJ" and sum(a == b for a, b in zip(upos, gold)) >= 5  # a new tag
    # FEATS and LEMMA, blank in the new data, keep the heads they had: no gradient reached them.
    for old, new in zip(base.heads[2:], carried.heads[2:]):
        assert np.array_equal(old.mlp.W1.as_array(), new.mlp.W1.as_array()), old.column


def test_init_from_what_is_not_a_tagger_is_one_line_and_writes_nothing(trained, tmp_path,
                                                                       capsys):
    text = tmp_path / "text.txt"
    text.write_text("the cat sat\n" * 20)
    assert main(["train-lm", str(text), "--word", "-o", str(tmp_path / "lm"), "--epochs", "1",
                 "--hidden-dim", "8", "--emb-dim", "8", "--quiet"]) == 0
    capsys.readouterr()
    new = str(trained / "new.conllu")
    for source, message in ((tmp_path / "nowhere", "no such model directory"),
                            (tmp_path / "lm", "language model, not a tagger"),
                            (tmp_path, "config.json")):
        out = tmp_path / "out"
        assert main(["train-tagger", new, "-o", str(out), "--init-from", str(source)]
                    + QUICK) == 2
        error = capsys.readouterr().err.strip()
        assert message in error and "\n" not in error
        assert not out.exists()
    assert main(["train-lm", str(text), "--word", "-o", str(tmp_path / "out"), "--init-from",
                 str(trained / "base"), "--quiet"]) == 2
    assert "tagger" in capsys.readouterr().err and not (tmp_path / "out").exists()
    assert main(["train-lm", str(text), "--ngram", "3", "-o", str(tmp_path / "out"),
                 "--init-from", str(tmp_path / "lm"), "--quiet"]) == 2
    assert "--init-from" in capsys.readouterr().err


def test_a_language_model_carried_on_learns_new_words(tmp_path):
    old_text, new_text = tmp_path / "old.txt", tmp_path / "new.txt"
    old_text.write_text("the cat sat on the mat\nthe dog sat on the log\n" * 30)
    new_text.write_text("the axolotl swam in the lake\nthe axolotl sat on the mat\n" * 30)
    small = ["--word", "--epochs", "3", "--hidden-dim", "16", "--emb-dim", "16", "--quiet"]
    assert main(["train-lm", str(old_text), "-o", str(tmp_path / "old")] + small) == 0
    old = RNNLanguageModel.load(str(tmp_path / "old"))
    grown = grown_language_model(old, [line.split() for line in new_text.read_text().splitlines()])
    assert grown.vocab.itos[:len(old.vocab)] == old.vocab.itos and "axolotl" in grown.vocab
    assert np.array_equal(grown.E.as_array()[:len(old.vocab)], old.E.as_array())
    sentence = "the cat sat on the mat".split()
    assert grown.score(sentence)[0] != old.score(sentence)[0]  # new rows share the softmax
    assert main(["train-lm", str(new_text), "-o", str(tmp_path / "new"), "--init-from",
                 str(tmp_path / "old"), "--epochs", "3", "--quiet"]) == 0
    carried = RNNLanguageModel.load(str(tmp_path / "new"))
    assert carried.config == old.config and "axolotl" in carried.vocab
    assert "axolotl" not in old.vocab
    metrics = [json.loads(line) for line in open(os.path.join(tmp_path / "new", "metrics.jsonl"))]
    assert metrics[-1]["train_loss"] < metrics[0]["train_loss"]
    recipe = os.path.join(os.path.dirname(__file__), "..", "recipes", "train_lm.py")
    done = subprocess.run([sys.executable, recipe, str(new_text), "-o", str(tmp_path / "r"),
                           "--init-from", str(tmp_path / "old"), "--epochs", "1",
                           "--samples", "0", "--quiet"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "axolotl" in RNNLanguageModel.load(str(tmp_path / "r")).vocab


def test_a_vocabulary_grows_after_its_own_tokens_within_a_budget():
    old = Vocab.build([["a", "a", "b"]])
    grown = old.extended([["b", "c", "c", "d", "e", "e", "e"]], min_count=2, max_size=3)
    assert grown.itos[:len(old)] == old.itos
    assert grown.itos[len(old):] == ["e"]  # c has 2 too, but a, b and e fill the 3 (as build)
    assert old.extended([["c", "c", "d"]], min_count=2).itos[len(old):] == ["c"]
    assert grown.count("b") == 2 and grown.count("a") == 2 and grown.count("e") == 3


def test_the_tagger_recipe_carries_a_model_on_too(trained, tmp_path):
    recipe = os.path.join(os.path.dirname(__file__), "..", "recipes", "train_tagger.py")
    new = str(trained / "new.conllu")
    done = subprocess.run([sys.executable, recipe, new, "--dev", new, "-o", str(tmp_path / "r"),
                           "--init-from", str(trained / "base"), "--epochs", "2",
                           "--no-tokenizer", "--quiet"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    carried = BiLSTMTagger.load(str(tmp_path / "r"))
    assert "INTJ" in carried.heads[0].vocab and carried.config.hidden_dim == 8
