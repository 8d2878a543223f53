"""Lemmas: edit scripts (dynlp/models/tagger/lemmas.py), the lemma head, `tag` filling LEMMA and
`evaluate` reporting Lemmas as the CoNLL 2018 script counts them."""
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dynlp.cli import main
from dynlp.metrics import TreebankScores
from dynlp.models.tagger.lemmas import apply_casing, apply_script, casing_of, edit_script
from test_treebanks_as_they_come import official_scores

cells = st.text(st.characters(blacklist_characters="\t\n\r", blacklist_categories=("Cs",)),
                min_size=1, max_size=12)


@given(cells, cells)
def test_the_script_of_a_pair_makes_its_lemma_of_its_form(form, lemma):
    if lemma != "_":
        assert apply_script(edit_script(form, lemma), form) == lemma


@pytest.mark.parametrize("form, lemma, other, its_lemma", [
    ("studies", "study", "bodies", "body"),  # cut 3 after the stem, add "y"
    ("Walking", "walk", "Jumping", "jump"),  # lower case, cut 3
    ("dogs", "dog", "Cats", "cat"),
    ("unhappy", "happy", "untidy", "tidy"),  # cut 2 before the stem
    ("Paris", "Paris", "London", "London"),  # first letter upper case
    ("NASA", "NASA", "ESA", "ESA"),  # all upper case
    ("kitablarimizdin", "kitab", "qelemlerimizdin", "qelem"),
    ("went", "go", "ran", "go"),  # nothing shared: the whole lemma
])
def test_a_script_carries_over_to_other_words(form, lemma, other, its_lemma):
    assert apply_script(edit_script(form, lemma), other) == its_lemma


def test_casing_runs_count_from_the_nearer_end():
    assert casing_of("run") == "↓0" and casing_of("Paris") == "↑0¦↓1"
    assert casing_of("iPhone") == "↓0¦↑1¦↓2" and casing_of("abcdEF") == "↓0¦↑-2"
    assert apply_casing("↓0¦↑-2", "abcdefgh") == "abcdefGH"  # from the end: fits longer words


def test_a_script_that_cannot_fit_a_form_gives_the_form():
    cut_five = edit_script("walking", "wa")  # keeps "wa", cuts 5 after it
    assert apply_script(cut_five, "walks") == "walks"  # 5 of 5 cut: nothing left to keep
    assert apply_script("_", "walks") == "walks" and apply_script("NOUN", "walks") == "walks"


def test_no_lemma_is_no_script():
    assert edit_script("word", "_") == "_"


def test_a_gold_underscore_lemma_counts_right_as_the_official_script_has_it(tmp_path):
    scores = TreebankScores(["upos", "lemma"])
    scores.add({"upos": ["X", "X", "X"], "lemma": ["a", "_", "c"]},
               {"upos": ["X", "X", "X"], "lemma": ["a", "anything", "b"]}, [False, True, True])
    lemmas = scores.summary()["columns"]["lemma"]
    assert lemmas == {"accuracy": 2 / 3, "oov_accuracy": 1 / 2, "missing": 1}

    gold, system = tmp_path / "gold.conllu", tmp_path / "system.conllu"
    gold.write_text(file_with_lemmas(["a", "_", "c"]), encoding="utf-8")
    system.write_text(file_with_lemmas(["a", "anything", "b"]), encoding="utf-8")
    assert official_scores(str(gold), str(system))["Lemmas"].aligned_accuracy == \
        pytest.approx(2 / 3)


def file_with_lemmas(lemmas):
    words = [f"{i}\tw{i}\t{lemma}\tX\t_\t_\t{0 if i == 1 else 1}\t{'root' if i == 1 else 'dep'}"
             f"\t_\t_" for i, lemma in enumerate(lemmas, start=1)]
    return "# sent_id = 1\n# text = " + " ".join(f"w{i}" for i in range(1, len(lemmas) + 1)) + \
        "\n" + "\n".join(words) + "\n\n"


# Lemmas that a rule makes (plural nouns, verbs in -ed and -ing), and the same rules on forms
# that training never sees.
INFLECTED = [("dogs", "dog", "NOUN"), ("cats", "cat", "NOUN"), ("barked", "bark", "VERB"),
             ("jumped", "jump", "VERB"), ("walking", "walk", "VERB"), ("the", "the", "DET"),
             ("The", "the", "DET"), ("birds", "bird", "NOUN"), ("sang", "sing", "VERB"),
             ("talking", "talk", "VERB"), ("ran", "run", "VERB"), ("a", "a", "DET"),
             ("Tom", "Tom", "PROPN"), ("Anna", "Anna", "PROPN")]
SENTENCES = [[0, 1, 2], [6, 7, 8], [5, 0, 3], [12, 2], [6, 1, 4], [13, 10], [11, 7, 9],
             [5, 12, 8], [13, 3], [6, 0, 10], [11, 1, 4], [12, 9]]
def quick(epochs):
    """Flags for a small, fast tagger trained `epochs` epochs."""
    return ["--epochs", str(epochs)] + QUICK


QUICK = ["--no-tokenizer", "--layers", "1", "--emb-dim", "16", "--char-dim", "16",
         "--hidden-dim", "32", "--mlp-dim", "16", "--ensemble", "1", "--dropout", "0",
         "--word-dropout", "0", "--lr", "0.01", "--batch-size", "2", "--patience", "40",
         "--workers", "1", "--quiet"]


def lemma_treebank(sentences):
    blocks = []
    for number, words in enumerate(sentences, start=1):
        lines = [f"# sent_id = {number}"]
        lines += [f"{i}\t{INFLECTED[w][0]}\t{INFLECTED[w][1]}\t{INFLECTED[w][2]}\t_\t_\t"
                  f"{0 if i == 1 else 1}\t{'root' if i == 1 else 'dep'}\t_\t_"  # a tree, which
                  for i, w in enumerate(words, start=1)]  # the official script needs
        blocks.append("\n".join(lines) + "\n\n")
    return "".join(blocks)


def test_lemma_is_learned_by_default_tag_fills_it_and_evaluate_reports_lemmas(tmp_path, capsys):
    train, model = tmp_path / "train.conllu", str(tmp_path / "m")
    train.write_text(lemma_treebank(SENTENCES * 3), encoding="utf-8")
    assert main(["train-tagger", str(train), "--dev", str(train), "-o", model] + quick(40)) == 0
    with open(f"{model}/config.json", encoding="utf-8") as meta:
        assert json.load(meta)["config"]["columns"] == "upos,lemma"  # xpos, feats: all `_`

    tagged = tmp_path / "tagged.conllu"
    assert main(["tag", "-m", model, str(train), "-o", str(tagged)]) == 0
    lemmas = [line.split("\t")[2] for line in tagged.read_text(encoding="utf-8").splitlines()
              if line and not line.startswith("#")]
    expected = [INFLECTED[w][1] for words in SENTENCES * 3 for w in words]
    assert sum(a == b for a, b in zip(lemmas, expected)) >= 0.95 * len(expected)

    capsys.readouterr()
    assert main(["evaluate", "-m", model, str(train), "--json"]) == 0
    columns = json.loads(capsys.readouterr().out)["columns"]
    assert columns["lemma"]["accuracy"] >= 0.95 and columns["lemma"]["missing"] == 0
    assert main(["evaluate", "-m", model, str(train)]) == 0
    assert "Lemmas" in capsys.readouterr().out

    text = tmp_path / "plain.txt"
    text.write_text("Tom barked\n", encoding="utf-8")
    plain = tmp_path / "plain.conllu"
    assert main(["tag", "-m", model, str(text), "--input", "text", "-o", str(plain)]) == 0
    rows = [line.split("\t") for line in plain.read_text(encoding="utf-8").splitlines()
            if line and not line.startswith("#")]
    assert [row[2] for row in rows] == ["Tom", "bark"]  # LEMMA filled from plain text too


def test_the_lemma_column_can_be_left_out_or_asked_for_alone(tmp_path):
    train = tmp_path / "train.conllu"
    train.write_text(lemma_treebank(SENTENCES), encoding="utf-8")
    for columns in ("upos", "lemma"):
        model = str(tmp_path / columns)
        assert main(["train-tagger", str(train), "-o", model, "--columns", columns]
                    + quick(2)) == 0
        with open(f"{model}/config.json", encoding="utf-8") as meta:
            assert json.load(meta)["config"]["columns"] == columns
