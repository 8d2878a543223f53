"""Every flag a user can type is checked before DyNet sees it, shows its default in --help, and a
trained model is never written over by accident (issue 52)."""
import argparse
import hashlib
import os
import subprocess
import sys

import pytest

from dynlp.cli.main import build_parser, main

SAMPLE = os.path.join(os.path.dirname(__file__), "..", "data", "sample.conllu")
# Flags whose range is [0, 1): 3 is as wrong for them as -1.
FRACTIONS = ("--weight-decay", "--dropout", "--dev-fraction", "--beta2", "--label-smoothing",
             "--lr-decay")


def commands():
    """{command: its argparse parser}."""
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices


def numeric_flags(parser):
    """The long flags of `parser` that take a number."""
    found = []
    for action in parser._actions:
        kind = getattr(action.type, "__name__", "")
        if action.option_strings and kind in ("int", "float", "positive_int"):
            found.append(max(action.option_strings, key=len))
    return found


CASES = [(name, flag, value) for name, parser in commands().items()
         for flag in numeric_flags(parser)
         for value in (["-1"] + (["3"] if flag in FRACTIONS else []))]


def dynlp(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "dynlp.cli", *args], capture_output=True,
                          text=True, cwd=cwd)


def argv_for(command, tmp):
    """A command line that would run but for the flag under test."""
    return {"train-lm": ["train-lm", SAMPLE, "--char", "-o", f"{tmp}/m"],
            "train-tagger": ["train-tagger", SAMPLE, "-o", f"{tmp}/m"],
            "tag": ["tag", "-m", f"{tmp}/none", SAMPLE], "evaluate": ["evaluate", "-m", f"{tmp}/none", SAMPLE],
            "score": ["score", "-m", f"{tmp}/none", SAMPLE], "sample": ["sample", "-m", f"{tmp}/none"],
            "serve": ["serve", "-m", f"{tmp}/none"], "plot": ["plot", f"{tmp}/none", "-o", f"{tmp}/p.png"],
            "info": ["info"]}[command]


def test_every_command_with_numeric_flags_is_covered():
    names = {name for name, _, _ in CASES}
    assert {"train-lm", "train-tagger", "tag", "sample", "score", "serve"} <= names
    assert len(CASES) > 60


def in_process(argv, capsys):
    """(exit status, stderr) of `dynlp ARGV` run in this process (a DyNet abort would end the
    whole test run: exit 134 never passes unseen)."""
    try:
        status = main(argv)
    except SystemExit as exit:
        status = exit.code
    return status, capsys.readouterr().err


@pytest.mark.parametrize("command, flag, value", CASES)
def test_a_flag_out_of_range_is_one_line_and_exit_2(tmp_path, capsys, command, flag, value):
    status, err = in_process(argv_for(command, tmp_path) + [flag, value], capsys)
    assert status == 2, (status, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("dynlp: error:"), err
    assert flag.lstrip("-") in lines[0] or flag in lines[0], lines[0]


def test_help_shows_the_defaults():
    text = dynlp("train-lm", "--help").stdout
    for shown in ("--epochs EPOCHS", "(default: 200)", "--hidden-dim", "(default: 256)",
                  "adam 0.002"):
        assert shown in text, shown
    sample = dynlp("sample", "--help").stdout
    assert "(default: 1.0)" in sample and "(default: 200)" in sample


# ---- a trained model is never written over by accident ------------------------------------------
def digest(directory):
    """SHA-256 of every file below `directory`, by relative path."""
    found = {}
    for base, _, files in os.walk(directory):
        for name in files:
            path = os.path.join(base, name)
            found[os.path.relpath(path, directory)] = hashlib.sha256(open(path, "rb").read()).hexdigest()
    return found


QUICK = ["--epochs", "1", "--hidden-dim", "8", "--emb-dim", "8", "--quiet"]
TRAINING = {
    "lm": ["train-lm", SAMPLE, "--char", *QUICK],
    "ngram": ["train-lm", SAMPLE, "--char", "--ngram", "2", "--quiet"],
    "tagger": ["train-tagger", SAMPLE, "--layers", "1", "--no-tokenizer", *QUICK],
    "recipe-lm": [os.path.join(os.path.dirname(__file__), "..", "recipes", "train_lm.py"),
                  SAMPLE, "--char", *QUICK],
    "recipe-tagger": [os.path.join(os.path.dirname(__file__), "..", "recipes",
                                   "train_tagger.py"), SAMPLE, "--layers", "1", "--no-tokenizer",
                      *QUICK],
}


def train(what, out, *more):
    argv = TRAINING[what]
    if argv[0].endswith(".py"):
        return subprocess.run([sys.executable, *argv, "-o", out, *more], capture_output=True,
                              text=True)
    return dynlp(*argv, "-o", out, *more)


@pytest.mark.parametrize("what", sorted(TRAINING))
def test_a_trained_model_is_kept_byte_for_byte_without_overwrite(tmp_path, what):
    out = str(tmp_path / "model")
    assert train(what, out).returncode == 0
    before = digest(out)
    again = train(what, out)
    assert again.returncode == 2 and "--overwrite" in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1
    assert digest(out) == before
    assert train(what, out, "--overwrite").returncode == 0


def test_a_model_of_another_kind_is_refused_even_with_overwrite(tmp_path):
    out = str(tmp_path / "model")
    assert train("tagger", out).returncode == 0
    before = digest(out)
    done = train("ngram", out, "--overwrite")
    assert done.returncode == 2 and "holds a tagger" in done.stderr
    assert digest(out) == before


# ---- random means random ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def lm(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("lm") / "lm")
    assert train("lm", out).returncode == 0
    return out


def test_samples_differ_without_seed_and_repeat_with_one(lm):
    first, second = (dynlp("sample", "-m", lm, "-n", "5") for _ in range(2))
    assert first.stdout != second.stdout
    assert "--seed" in first.stderr  # the seed drawn, to repeat the run
    seed = first.stderr.split("--seed ")[1].split()[0]
    assert dynlp("sample", "-m", lm, "-n", "5", "--seed", seed).stdout == first.stdout
    fixed = [dynlp("sample", "-m", lm, "-n", "5", "--seed", "7").stdout for _ in range(2)]
    assert fixed[0] == fixed[1]


def test_training_logs_its_epochs_into_a_file(tmp_path):
    log = tmp_path / "log"
    with open(log, "w") as err:
        done = subprocess.run([sys.executable, "-m", "dynlp.cli", *TRAINING["lm"][:-1],
                               "-o", str(tmp_path / "m")], stderr=err)
    assert done.returncode == 0
    text = log.read_text()
    assert "epoch 1" in text and "characters/s" in text and "elapsed" in text
    assert "best dev perplexity" in text
    assert "modelling chars" not in text  # --char was given


def test_without_char_or_word_the_level_is_said(tmp_path):
    argv = [a for a in TRAINING["lm"] if a not in ("--char", "--quiet")]
    done = dynlp(*argv, "-o", str(tmp_path / "m"))
    assert done.returncode == 0 and "modelling chars (the default" in done.stderr


def test_the_defaults_table_in_the_docs_is_the_parser_s():
    from dynlp.cli.main import defaults_table

    usage = open(os.path.join(os.path.dirname(__file__), "..", "docs", "usage.md"),
                 encoding="utf-8").read()
    written = usage.split("<!-- defaults: begin -->\n")[1].split("\n<!-- defaults: end -->")[0]
    assert written == defaults_table(), "docs/usage.md's table is stale: write it anew from " \
        "dynlp.cli.main.defaults_table()"


@pytest.mark.parametrize("command", ["tag", "evaluate", "score", "sample", "serve", "info"])
def test_a_command_that_only_runs_a_model_offers_no_training_flag(command):
    text = dynlp(command, "--help").stdout
    for flag in ("--weight-decay", "--autobatch", "--epochs", "--bptt", "--lr "):
        assert flag not in text, (command, flag)


def test_a_tagger_has_no_bptt_and_an_ngram_refuses_recurrent_flags(tmp_path):
    assert "--bptt" not in dynlp("train-tagger", "--help").stdout
    done = dynlp("train-lm", SAMPLE, "--ngram", "3", "--cell", "gru", "--hidden-dim", "9",
                 "-o", str(tmp_path / "m"))
    assert done.returncode == 2 and "--cell, --hidden-dim are for recurrent models" in done.stderr
    recurrent = dynlp("train-lm", SAMPLE, "--smoothing", "none", "-o", str(tmp_path / "r"))
    assert recurrent.returncode == 2 and "--smoothing is an n-gram model's" in recurrent.stderr


def test_a_prefix_the_model_never_saw_is_said(lm):
    done = dynlp("sample", "-m", lm, "--prefix", "the €", "--seed", "3")
    assert done.returncode == 0 and "'€' never seen in training" in done.stderr


def test_evaluate_has_no_empty_confusions_heading():
    from dynlp.cli.tagger import _evaluation_report

    summary = {"tokens": 1, "oov_tokens": 0, "columns": {"upos": {"accuracy": 1.0,
                                                                  "oov_accuracy": None}},
               "per_tag": {}, "confusions": []}
    assert "confusions" not in _evaluation_report(summary)


@pytest.mark.parametrize("command", ["tag", "evaluate", "score", "serve", "info"])
def test_a_command_with_nothing_random_has_no_seed(command):
    assert "--seed" not in dynlp(command, "--help").stdout
