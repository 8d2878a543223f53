"""Bad input through the real command line: one line on stderr, status 2, nothing left behind."""
import json
import os
import subprocess
import sys

import pytest

from dynlp.cli import main

GOOD_WORD = "1\tdog\t_\tNOUN\t_\t_\t_\t_\t_\t_\n"
CONLLU_FILES = {
    "columns.conllu": "1\tdog\t_\tNOUN\n",
    "id.conllu": "one\tdog\t_\tNOUN\t_\t_\t_\t_\t_\t_\n",
    "order.conllu": "# sent_id = s7\n" + GOOD_WORD + "3\tcat\t_\tNOUN\t_\t_\t_\t_\t_\t_\n",
    "spaces.conllu": "1\tNew  York\t_\tPROPN\t_\t_\t_\t_\t_\t_\n",
    "tab.conllu": "1\tNew\tYork\t_\tPROPN\t_\t_\t_\t_\t_\t_\n",
    "notokens.conllu": GOOD_WORD + "\n2-3\tdon't\t_\t_\t_\t_\t_\t_\t_\t_\n",
    "empty.conllu": "",
    "untagged.conllu": "1\tdog\t_\t_\t_\t_\t_\t_\t_\t_\n",
    "comments.conllu": "# just a comment\n# and another\n",
}
BINARY = {
    "latin1.conllu": GOOD_WORD.encode() + b"\n1\tcaf\xe9\t_\tNOUN\t_\t_\t_\t_\t_\t_\n",
    "long.txt": b"ab " * 4_000_000 + b"\n",  # one 12 MB line
    "binary.txt": bytes(range(256)) * 64,
    "one.txt": b"a single line\n",
}

CASES = [  # (arguments, what the one-line message must mention)
    (["train-tagger", "{columns.conllu}", "-o", "{tmp}/m"], "columns.conllu:1: expected 10"),
    (["tag", "-m", "{tagger}", "{id.conllu}"], "id.conllu:1: bad id"),
    (["evaluate", "-m", "{tagger}", "{order.conllu}"], "order.conllu:3 (sentence s7): word id 3"),
    (["tag", "-m", "{tagger}", "{spaces.conllu}"], "spaces.conllu:1: column form"),
    (["train-tagger", "{tab.conllu}", "-o", "{tmp}/m"], "tab.conllu:1: expected 10"),
    (["tag", "-m", "{tagger}", "{notokens.conllu}", "-o", "{tmp}/out"], "notokens.conllu:3"),
    (["train-tagger", "{empty.conllu}", "-o", "{tmp}/m"], "no sentences"),
    (["train-tagger", "{untagged.conllu}", "-o", "{tmp}/m"], "untagged.conllu: upos, xpos, feats and lemma are '_' throughout"),
    (["score", "-m", "{lm}", "{empty.conllu}", "--json"], "no text to score"),
    (["evaluate", "-m", "{tagger}", "{comments.conllu}"], "comments.conllu:1: comments only"),
    (["tag", "-m", "{tagger}", "{latin1.conllu}", "-o", "{tmp}/out"], "latin1.conllu:3: not valid UTF-8"),
    (["train-lm", "{long.txt}", "-o", "{tmp}/m"], "long.txt:1: line of 12,000,001 bytes"),
    (["score", "-m", "{lm}", "{binary.txt}"], "binary.txt:1: contains NUL"),
    (["train-lm", "{one.txt}", "-o", "{tmp}/m"], "too small to hold out a dev set"),
    (["sample", "-m", "{lm}", "--temperature", "0"], "--temperature must be above 0"),
    (["sample", "-m", "{lm}", "--temperature", "-1"], "--temperature must be above 0"),
    (["sample", "-m", "{lm}", "--top-k", "0"], "--top-k must be at least 1"),
    (["sample", "-m", "{lm}", "-n", "-1"], "-n must be at least 1"),
    (["score", "-m", "{lm}", "{tmp}/missing.txt"], "missing.txt: no such file"),
    (["tag", "-m", "{tagger}", "{sample}", "-o", "{tmp}/nodir/out.conllu"], "does not exist"),
    (["train-lm", "{sample}", "-o", "{tmp}/nodir/model"], "does not exist"),
    (["sample", "-m", "{tmp}/nomodel"], "no such model directory"),
    (["sample", "-m", "{tagger}"], "holds a tagger, not a language model"),
    (["sample", "-m", "{tmp}"], "not a dynlp model directory"),
    (["evaluate", "-m", "{lm}", "{sample}"], "holds a language model, not a tagger"),
    (["info", "--mem", "plenty"], "--mem must be megabytes"),
    (["info", "--gpus", "1"], "docs/gpu.md"),
    (["train-lm", "{sample}", "-o", "{tmp}/m", "--layers", "0"], "--layers must be at least 1"),
    (["tag", "-m", "{tagger}", "{sample}", "--input", "text", "-o", "{tmp}/out"],
     "looks like CoNLL-U, not text"),
]


@pytest.fixture(scope="module")
def place(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bad")
    names = {"tmp": str(tmp), "sample": os.path.abspath("data/sample.conllu")}
    for name, text in CONLLU_FILES.items():
        (tmp / name).write_text(text, encoding="utf-8")
        names[name] = str(tmp / name)
    for name, data in BINARY.items():
        (tmp / name).write_bytes(data)
        names[name] = str(tmp / name)
    names["lm"], names["tagger"] = str(tmp / "lm"), str(tmp / "tagger")
    text = tmp / "text.txt"
    text.write_text("a dog sat\na cat sat\n" * 5)
    quick = ["--epochs", "1", "--hidden-dim", "8", "--emb-dim", "8", "--quiet"]
    assert main(["train-lm", str(text), "-o", names["lm"]] + quick) == 0
    assert main(["train-tagger", names["sample"], "-o", names["tagger"], "--layers", "1"] + quick) == 0
    return names


def fill(arg, names):
    for key, value in names.items():
        arg = arg.replace("{" + key + "}", value)
    return arg


def dynlp(*args):
    return subprocess.run([sys.executable, "-m", "dynlp.cli", *args], capture_output=True,
                          text=True, timeout=120)


@pytest.mark.parametrize("argv, message", CASES, ids=[" ".join(c[0][:2]) + f" #{i}"
                                                      for i, c in enumerate(CASES)])
def test_bad_input_is_one_clean_line(place, argv, message):
    before = set(os.listdir(place["tmp"]))
    result = dynlp(*[fill(arg, place) for arg in argv])
    if message is None:  # a CoNLL-U file read as plain text is odd but valid input
        assert result.returncode == 0, result.stderr
        return
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("dynlp: error:"), result.stderr
    assert message in lines[0]
    assert set(os.listdir(place["tmp"])) == before  # no output file or model left behind


def test_unseen_gold_tags_count_as_errors(place, tmp_path):
    gold = tmp_path / "gold.conllu"
    gold.write_text("1\tdog\t_\tNEWTAG\t_\t_\t_\t_\t_\t_\n2\tsat\t_\tVERB\t_\t_\t_\t_\t_\t_\n\n")
    result = dynlp("evaluate", "-m", place["tagger"], str(gold), "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["tokens"] == 2 and summary["accuracy"] <= 0.5
    assert "NEWTAG" in {c["gold"] for c in summary["confusions"]}


def test_an_error_late_in_a_big_file_leaves_no_output_even_with_workers(place, tmp_path):
    big = tmp_path / "late.conllu"
    good = open(place["sample"], encoding="utf-8").read()
    big.write_text(good * 10 + "1\tbroken\n\n", encoding="utf-8")  # 400 good sentences first
    out = tmp_path / "out.conllu"
    result = dynlp("tag", "-m", place["tagger"], str(big), "-o", str(out), "--workers", "2")
    assert result.returncode == 2 and len(result.stderr.splitlines()) == 1, result.stderr
    assert "late.conllu:" in result.stderr and os.listdir(tmp_path) == ["late.conllu"]


def test_bom_and_crlf_are_read(place, tmp_path):
    crlf = tmp_path / "crlf.conllu"
    crlf.write_bytes(b"\xef\xbb\xbf" + b"1\tdog\t_\tNOUN\t_\t_\t_\t_\t_\t_\r\n\r\n")
    result = dynlp("tag", "-m", place["tagger"], str(crlf))
    assert result.returncode == 0 and result.stdout.startswith("1\tdog\t_\t"), result.stderr
