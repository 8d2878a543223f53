"""The tagger on CoNLL-U files as real treebanks carry them: columns `_` on a few words, CRLF line
ends, a byte-order mark, empty nodes, multiword tokens, comments without `# text`, a very long
sentence, layered features.  Each file is written here; each trains, tags and evaluates through
the CLI, and `dynlp tag` keeps every line but the predicted cells."""
import glob
import json
import os
import random

import numpy as np
import pytest

from dynlp.cli import main
from conftest import shared_data

SAMPLE = "data/sample.conllu"
QUICK = ["--no-tokenizer", "--epochs", "1", "--layers", "1", "--hidden-dim", "8", "--emb-dim", "8",
         "--char-dim", "8", "--mlp-dim", "8", "--ensemble", "1", "--quiet"]

WORDS = [("The", "DET", "DT", "Definite=Def|PronType=Art"), ("dog", "NOUN", "NN", "Number=Sing"),
         ("barks", "VERB", "VBZ", "Number=Sing|Person=3"), (".", "PUNCT", ".", "_")]


def word_line(number, form, upos, xpos, feats):
    return f"{number}\t{form}\t_\t{upos}\t{xpos}\t{feats}\t_\t_\t_\t_"


def plain_sentence(sent_id, words=WORDS):
    return [f"# sent_id = {sent_id}", f"# text = {' '.join(w[0] for w in words)}"] + \
        [word_line(i, *word) for i, word in enumerate(words, start=1)]


def text_of(sentences):
    return "".join("\n".join(lines) + "\n\n" for lines in sentences)


def ordinary():
    return [plain_sentence(f"s{k}") for k in range(3)]


def with_empty_node():
    lines = plain_sentence("e")
    return ordinary() + [lines[:4] + ["2.1\tbarks\tbark\tVERB\tVBZ\t_\t_\t_\t0:root\t_"]
                         + lines[4:]]


def with_multiword_token():
    words = [("I", "PRON", "PRP", "Case=Nom"), ("do", "AUX", "VBP", "_"),
             ("n't", "PART", "RB", "Polarity=Neg"), ("bark", "VERB", "VB", "VerbForm=Inf")]
    lines = plain_sentence("mwt", words)
    return ordinary() + [lines[:3] + ["2-3\tdon't\t_\t_\t_\t_\t_\t_\t_\t_"] + lines[3:]]


def without_text_comments():
    return [[line for line in lines if not line.startswith("# text")] for lines in ordinary()] \
        + [["# newdoc", "# newpar", "#no space after the hash"] + plain_sentence("n")[2:]]


def with_long_sentence():
    long = [WORDS[k % 3] for k in range(340)] + [WORDS[3]]  # 341 words, one sentence
    return ordinary() + [plain_sentence("long", long)]


def with_layered_features():
    words = [("Their", "PRON", "PRP$", "Number[psor]=Plur|Person[psor]=3|Poss=Yes"),
             ("dog", "NOUN", "NN", "Number=Sing"), (".", "PUNCT", ".", "_")]
    return ordinary() + [plain_sentence("layered", words)]


CASES = {"empty node 2.1": (with_empty_node, ""), "multiword token 2-3": (with_multiword_token, ""),
         "no # text comments": (without_text_comments, ""),
         "341 words": (with_long_sentence, ""), "layered FEATS": (with_layered_features, ""),
         "CRLF line ends": (ordinary, "crlf"), "byte-order mark": (ordinary, "bom")}


def write(path, sentences, encoding=""):
    """The sentences as a CoNLL-U file: LF and no BOM, or CRLF line ends, or a BOM first."""
    text = text_of(sentences)
    data = text.replace("\n", "\r\n") if encoding == "crlf" else text
    path.write_bytes((b"\xef\xbb\xbf" if encoding == "bom" else b"") + data.encode("utf-8"))
    return text  # what `dynlp tag` writes back, bar the predicted cells


def assert_same_but_predicted_cells(original, tagged, predicted=(3, 4, 5)):
    old, new = original.splitlines(), tagged.splitlines()
    assert len(old) == len(new)
    for before, after in zip(old, new):
        a, b = before.split("\t"), after.split("\t")
        if len(a) == 10 and a[0].isdigit():  # a word line: only the predicted cells change
            assert [x for i, x in enumerate(a) if i not in predicted] == \
                [x for i, x in enumerate(b) if i not in predicted]
            assert all(b[i] != "_" for i in predicted[:2])  # UPOS and XPOS: every word tagged
        else:  # comments, multiword tokens, empty nodes, blank lines: untouched
            assert before == after


@pytest.mark.parametrize("case", list(CASES))
def test_a_real_file_trains_tags_and_evaluates(case, tmp_path, capsys):
    build, encoding = CASES[case]
    path, model, out = tmp_path / "in.conllu", str(tmp_path / "m"), tmp_path / "out.conllu"
    expected = write(path, build(), encoding)
    assert main(["train-tagger", str(path), "--dev", str(path), "-o", model] + QUICK) == 0
    with open(f"{model}/config.json", encoding="utf-8") as meta:
        assert json.load(meta)["config"]["columns"] == "upos,xpos,feats"
    assert main(["tag", "-m", model, str(path), "-o", str(out)]) == 0
    assert_same_but_predicted_cells(expected, out.read_text(encoding="utf-8"))
    capsys.readouterr()
    assert main(["evaluate", "-m", model, str(path), "--json"]) == 0
    columns = json.loads(capsys.readouterr().out)["columns"]
    assert columns["upos"]["missing"] == columns["xpos"]["missing"] == 0
    assert {"ufeats", "alltags"} <= set(columns)


@pytest.mark.parametrize("line, message", [
    ("2.1\tx\t_\t_\t_\t_\t_\t_\t_", ":5 (sentence bad): expected 10 tab-separated columns"),
    ("2-x\tx\t_\t_\t_\t_\t_\t_\t_\t_", ":5 (sentence bad): bad id '2-x'"),
    ("2.0\tx\t_\t_\t_\t_\t_\t_\t_\t_", ":5 (sentence bad): bad id '2.0'"),
])
def test_a_broken_empty_node_or_range_is_one_line_naming_file_and_line(line, message, tmp_path,
                                                                       capsys):
    lines = plain_sentence("bad")
    path = tmp_path / "bad.conllu"
    write(path, [lines[:4] + [line] + lines[4:]], "crlf")
    assert main(["train-tagger", str(path), "-o", str(tmp_path / "m")] + QUICK) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{path}{message}" in err


def blank_some(text, column, count, seed=1):
    """`text` with `count` of its word lines' `column` cells (3: UPOS, 4: XPOS) set to `_`."""
    lines = text.split("\n")
    words = [i for i, line in enumerate(lines) if line.split("\t")[0].isdigit()]  # not 1-2, 8.1
    for i in random.Random(seed).sample(words, count):
        cells = lines[i].split("\t")
        cells[column] = "_"
        lines[i] = "\t".join(cells)
    return "\n".join(lines)


def test_the_sample_with_a_few_xpos_missing_trains_and_evaluates(tmp_path, capsys):
    """0.1% of a treebank's XPOS `_` (here at least 3 of the sample's 301 words) no longer stops
    training: the XPOS head learns from the other words and tags every word."""
    original = open(SAMPLE, encoding="utf-8").read()
    path, model = tmp_path / "holes.conllu", str(tmp_path / "m")
    path.write_text(blank_some(original, 4, max(3, round(0.001 * 301))), encoding="utf-8")
    assert main(["train-tagger", str(path), "-o", model, "--epochs", "2", "--layers", "1",
                 "--hidden-dim", "16", "--quiet"]) == 0
    with open(f"{model}/config.json", encoding="utf-8") as meta:
        assert json.load(meta)["config"]["columns"] == "upos,xpos"
    capsys.readouterr()
    assert main(["evaluate", "-m", model, str(path), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["tokens"] == 301
    assert summary["columns"]["xpos"]["missing"] == 3
    assert summary["columns"]["upos"]["missing"] == 0
    # the official script's count: a gold `_` is right only against `_`, which is never written
    assert summary["columns"]["xpos"]["accuracy"] <= (301 - 3) / 301
    assert main(["tag", "-m", model, str(path), "-o", str(tmp_path / "t.conllu")]) == 0
    tagged = (tmp_path / "t.conllu").read_text(encoding="utf-8")
    assert_same_but_predicted_cells(original, tagged, predicted=(3, 4))


# ---- a column missing on some words: the masked loss, the default choice, the counts ------------
def test_a_gold_underscore_adds_nothing_to_its_columns_loss():
    """The loss of a batch with one word's XPOS `_` is the full loss less that word's
    -log p(gold XPOS), and `_` is no tag of the XPOS head."""
    from dynlp.backend import dynet
    from dynlp.models.tagger.config import TaggerConfig
    from dynlp.models.tagger.network import BiLSTMTagger, tag_batch
    from dynlp.data.treebank import read_treebank

    sentences = read_treebank(SAMPLE)[:3]
    forms = [s.forms for s in sentences]
    gold = [{c: list(s.tags[c]) for c in ("upos", "xpos")} for s in sentences]
    holed = [{c: list(tags) for c, tags in g.items()} for g in gold]
    b, k = 1, 2  # word 2 of sentence 1
    holed[b]["xpos"][k] = "_"
    config = TaggerConfig(columns="upos,xpos", layers=1, emb_dim=8, char_dim=8, hidden_dim=8,
                          mlp_dim=8, ensemble=1)
    model = BiLSTMTagger.from_training_data(config, list(zip(forms, holed)))
    xpos = model.heads[1]
    assert "_" not in xpos.vocab and gold[b]["xpos"][k] in xpos.vocab
    dynet().renew_cg()
    scores = xpos.mlp(model.states(forms)).npvalue().reshape(len(xpos.vocab), -1)  # (tags, T*B)
    word = scores[:, k * len(forms) + b]  # the loss's softmax is over every row
    nll = np.log(np.exp(word).sum()) - word[xpos.vocab.id(gold[b]["xpos"][k])]
    full = model.loss(tag_batch(forms, gold)).value()
    assert model.loss(tag_batch(forms, holed)).value() == pytest.approx(full - nll, rel=1e-5)


def with_xpos_on(share):
    """Twenty sentences whose XPOS has a value on `share` of the words (the rest `_`)."""
    sentences = [plain_sentence(f"s{k}") for k in range(20)]
    words = [(s, i) for s, lines in enumerate(sentences) for i in range(2, len(lines))]
    for s, i in words[round(share * len(words)):]:
        cells = sentences[s][i].split("\t")
        cells[4] = "_"
        sentences[s][i] = "\t".join(cells)
    return sentences


@pytest.mark.parametrize("share, learned", [(0.5, True), (0.45, False)])
def test_a_column_is_learned_by_default_when_half_its_words_have_a_value(share, learned,
                                                                         tmp_path, caplog):
    path, model = tmp_path / "part.conllu", str(tmp_path / "m")
    write(path, with_xpos_on(share))
    assert main(["train-tagger", str(path), "-o", model] + QUICK) == 0
    with open(f"{model}/config.json", encoding="utf-8") as meta:
        columns = json.load(meta)["config"]["columns"]
    assert columns == ("upos,xpos,feats" if learned else "upos,feats")
    assert ("not learned unless --columns asks for it" in caplog.text) == (not learned)
    assert main(["train-tagger", str(path), "-o", model + "2", "--columns", "xpos"] + QUICK) == 0
    assert main(["tag", "-m", model + "2", str(path), "-o", str(tmp_path / "t.conllu")]) == 0
    tagged = (tmp_path / "t.conllu").read_text(encoding="utf-8")
    assert all(line.split("\t")[4] != "_" for line in tagged.splitlines() if "\t" in line)


def test_accuracy_counts_a_gold_underscore_as_the_conll_2018_script_does():
    """conll18_ud_eval.py compares UPOS and XPOS as strings over all words (gold `_` is right
    against `_` only) and UFeats as the universal features, where `_` is none."""
    from dynlp.metrics import TreebankScores

    scores = TreebankScores(["upos", "xpos", "feats"])
    gold = {"upos": ["NOUN", "VERB", "_"], "xpos": ["_", "_", "RB"],
            "feats": ["_", "Number[psor]=Plur", "Polarity=Neg"]}
    predicted = {"upos": ["NOUN", "VERB", "ADV"], "xpos": ["NN", "_", "RB"],
                 "feats": ["Number=Sing", "_", "Polarity=Neg"]}
    scores.add(gold, predicted, [False, False, False])
    columns = scores.summary()["columns"]
    assert columns["upos"] == {"accuracy": 2 / 3, "oov_accuracy": None, "missing": 1}
    assert columns["xpos"]["accuracy"] == 2 / 3 and columns["xpos"]["missing"] == 2
    assert columns["feats"]["accuracy"] == 1 / 3 and columns["ufeats"]["accuracy"] == 2 / 3
    assert columns["alltags"]["accuracy"] == 1 / 3 and "missing" not in columns["alltags"]


# tests/data/conll18_ud_eval.py is the CoNLL 2018 shared task's evaluation script, unchanged
# (github.com/ufal/conll2018, evaluation_script/, commit 1a2c373; MPL 2.0, its notice inside).
def official_scores(gold, system):
    import importlib.util

    spec = importlib.util.spec_from_file_location("conll18_ud_eval",
                                                  "tests/data/conll18_ud_eval.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    return script.evaluate(script.load_conllu_file(gold), script.load_conllu_file(system))


def tree_sentence(sent_id, words):
    """A sentence with a HEAD on each word (the script checks the tree): all on the last but one."""
    lines = plain_sentence(sent_id, words)
    root = len(words) - 1
    for i in range(2, len(lines)):
        cells = lines[i].split("\t")
        number = int(cells[0])
        cells[6], cells[7] = ("0", "root") if number == root else (str(root), "dep")
        lines[i] = "\t".join(cells)
    return lines


def test_evaluate_gives_the_official_scripts_figures_with_gold_underscores(tmp_path, capsys):
    other = [("Cats", "NOUN", "NNS", "Number=Plur"), ("sleep", "VERB", "VBP", "Mood=Ind"),
             ("here", "ADV", "RB", "PronType=Dem|Number[psor]=Sing"), (".", "PUNCT", ".", "_")]
    sentences = [tree_sentence(f"s{k}", WORDS if k % 2 else other) for k in range(6)]
    text = blank_some(blank_some(text_of(sentences), 3, 2, seed=2), 4, 3, seed=3)
    gold, system, model = tmp_path / "gold.conllu", tmp_path / "sys.conllu", str(tmp_path / "m")
    gold.write_text(text, encoding="utf-8")
    assert main(["train-tagger", str(gold), "--dev", str(gold), "-o", model] + QUICK
                + ["--epochs", "4", "--lr", "0.02"]) == 0  # some right, some wrong
    assert main(["tag", "-m", model, str(gold), "-o", str(system)]) == 0
    capsys.readouterr()
    assert main(["evaluate", "-m", model, str(gold), "--json"]) == 0
    ours = json.loads(capsys.readouterr().out)["columns"]
    assert (ours["upos"]["missing"], ours["xpos"]["missing"]) == (2, 3)
    official = official_scores(str(gold), str(system))
    for name, metric in [("upos", "UPOS"), ("xpos", "XPOS"), ("ufeats", "UFeats"),
                         ("alltags", "AllTags")]:
        assert ours[name]["accuracy"] == pytest.approx(official[metric].aligned_accuracy)


@pytest.mark.parametrize("treebank", ["ud_en_ewt", "ud_hu_szeged", "ud_ug_udt"])
def test_each_suite_treebank_with_a_thousandth_of_its_upos_missing_trains(treebank, tmp_path,
                                                                          capsys):
    """A copy of the suite treebanks' training files (their first 400 sentences, for time) with
    0.1% of the UPOS cells `_` trains every column the whole file would, and evaluates."""
    (train,) = glob.glob(os.path.join(shared_data(treebank), "*-ud-train.conllu"))
    with open(train, encoding="utf-8") as f:
        text = "\n\n".join(f.read().split("\n\n")[:400]) + "\n\n"
    words = sum(1 for line in text.split("\n") if line.split("\t")[0].isdigit())
    blanked = max(1, round(0.001 * words))
    path, model = tmp_path / "holes.conllu", str(tmp_path / "m")
    path.write_text(blank_some(text, 3, blanked), encoding="utf-8")
    assert main(["train-tagger", str(path), "--dev", str(path), "-o", model] + QUICK) == 0
    with open(f"{model}/config.json", encoding="utf-8") as meta:
        columns = json.load(meta)["config"]["columns"].split(",")
    assert columns[0] == "upos" and "lemma" in columns
    capsys.readouterr()
    assert main(["evaluate", "-m", model, str(path), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["columns"]["upos"]["missing"] == blanked and summary["tokens"] == words
