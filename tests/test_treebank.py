"""CoNLL-U reading and writing: round trips, multiword tokens, empty nodes, file:line errors."""
import io

import pytest

from dynlp.errors import DataError
from dynlp.data.treebank import read_treebank, sentence_from_forms, write_conllu

SAMPLE = "data/sample.conllu"
GOOD = ("# sent_id = a\n# text = I don't\n1\tI\tI\tPRON\tPRP\t_\t2\tnsubj\t_\t_\n"
        "2-3\tdon't\t_\t_\t_\t_\t_\t_\t_\t_\n2\tdo\tdo\tAUX\tVBP\t_\t0\troot\t_\t_\n"
        "3\tn't\tnot\tPART\tRB\t_\t2\tadvmod\t_\t_\n3.1\tgo\tgo\tVERB\tVB\t_\t_\t_\t2:x\t_\n\n")


def test_forms_and_tags_skip_multiword_lines_and_empty_nodes(tmp_path):
    path = tmp_path / "a.conllu"
    path.write_text(GOOD)
    (sentence,) = read_treebank(str(path))
    assert sentence.forms == ["I", "do", "n't"]
    assert sentence.tags == {"upos": ["PRON", "AUX", "PART"], "xpos": ["PRP", "VBP", "RB"],
                             "feats": ["_", "_", "_"], "lemma": ["I", "do", "not"]}
    assert sentence.sent_id == "a"
    assert read_treebank(str(path), "deprel")[0].tags == {"deprel": ["nsubj", "root", "advmod"]}


def test_round_trip_changes_only_the_predicted_column(tmp_path):
    original = open(SAMPLE, encoding="utf-8").read()
    sentences = read_treebank(SAMPLE)
    same, changed = io.StringIO(), io.StringIO()
    write_conllu(same, [s.with_tags(s.tags) for s in sentences])
    assert same.getvalue() == original  # byte for byte, comments and all
    write_conllu(changed, [s.with_tags({"upos": ["X"] * len(s.forms)}) for s in sentences])
    old_lines, new_lines = original.splitlines(), changed.getvalue().splitlines()
    assert len(old_lines) == len(new_lines)
    for old, new in zip(old_lines, new_lines):
        a, b = old.split("\t"), new.split("\t")
        if len(a) == 10 and a[0].isdigit():
            assert b[3] == "X" and a[:3] + a[4:] == b[:3] + b[4:]
        else:  # comments, multiword tokens, empty nodes, blank lines: untouched
            assert old == new


@pytest.mark.parametrize("text, message", [
    ("1\tI\tI\tPRON\n", ":1: expected 10 tab-separated columns, found 4"),
    ("# sent_id = s9\n1\tI\t_\t_\t_\t_\t_\t_\t_\t_\n3\tx\t_\t_\t_\t_\t_\t_\t_\t_\n",
     ":3 (sentence s9): word id 3 out of order"),
    ("one\tI\t_\t_\t_\t_\t_\t_\t_\t_\n", "bad id 'one'"),
    ("1\tNew  York\t_\t_\t_\t_\t_\t_\t_\t_\n", "two spaces"),
    ("1\tNew\tYork\t_\t_\t_\t_\t_\t_\t_\t_\n", "found 11"),
    ("# sent_id = c\n2-3\tdon't\t_\t_\t_\t_\t_\t_\t_\t_\n", "no words"),
    ("", "no sentences"),
    ("# only a comment\n", ":1: comments only"),
])
def test_malformed_files_name_file_and_line(tmp_path, text, message):
    path = tmp_path / "bad.conllu"
    path.write_text(text)
    with pytest.raises(DataError, match=message.replace("(", r"\(").replace(")", r"\)")) as error:
        read_treebank(str(path))
    assert str(path) in str(error.value)


def test_fresh_sentences_from_plain_text(tmp_path):
    sentence = sentence_from_forms(["Hello", "world", "!"], 7, text="Hello world!")
    path = tmp_path / "fresh.conllu"
    with open(path, "w", encoding="utf-8") as out:
        write_conllu(out, [sentence.with_tags({"upos": ["INTJ", "NOUN", "PUNCT"]})])
    (again,) = read_treebank(str(path))
    assert again.forms == ["Hello", "world", "!"]
    assert again.tags["upos"] == ["INTJ", "NOUN", "PUNCT"] and again.tags["xpos"] == ["_"] * 3
    assert again.sent_id == "7" and again.lines[1] == "# text = Hello world!"


def test_columns_used_for_training_must_be_filled_somewhere(tmp_path):
    from dynlp.data.treebank import check_filled, has_value, share_filled

    path = tmp_path / "partial.conllu"
    path.write_text("1\tI\tI\tPRON\t_\t_\t_\t_\t_\t_\n2\tgo\tgo\t_\t_\t_\t_\t_\t_\t_\n\n")
    sentences = read_treebank(str(path))
    check_filled(sentences, ["upos"], str(path))  # `_` on some words only: learned from the rest
    assert share_filled(sentences, "upos") == 0.5 and share_filled(sentences, "xpos") == 0.0
    with pytest.raises(DataError, match=r"partial.conllu: column xpos is '_' throughout"):
        check_filled(sentences, ["xpos"], str(path))
    assert not has_value("upos", "_") and has_value("feats", "_")  # FEATS `_`: no features
