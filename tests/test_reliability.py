"""Crashes, NaN losses, determinism and fuzzed input."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from conftest import sigint_as_in_a_terminal
from dynlp import LMConfig, RNNLanguageModel, TrainConfig
from dynlp.errors import DataError, TrainingError
from dynlp.tasks import lm_batches, train_language_model
from dynlp.data.text import read_sentences
from dynlp.training.loop import fit
from dynlp.data.treebank import read_treebank

LINES = ["the quick brown fox jumps over the lazy dog", "a stitch in time saves nine",
         "all that glitters is not gold", "where there is smoke there is fire"]


def dynlp(*args, **kwargs):
    return subprocess.Popen([sys.executable, "-m", "dynlp.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            preexec_fn=sigint_as_in_a_terminal, **kwargs)


def corpus(tmp_path, copies=60):
    path = tmp_path / "corpus.txt"
    path.write_text("\n".join(LINES * copies) + "\n", encoding="utf-8")
    return str(path)


def epochs_done(out):
    path = os.path.join(out, "metrics.jsonl")
    return len(open(path).read().splitlines()) if os.path.exists(path) else 0


def test_sigkill_mid_training_leaves_a_loadable_model_that_resumes(tmp_path):
    out = str(tmp_path / "model")
    args = ["train-lm", corpus(tmp_path), "-o", out, "--epochs", "6", "--batch-size", "4",
            "--hidden-dim", "32", "--quiet"]
    for kill_after in (1, 2):  # kill twice, each time somewhere inside a later epoch
        process = dynlp(*args, *(["--resume"] if kill_after > 1 else []))
        deadline = time.time() + 90
        while epochs_done(out) < kill_after and time.time() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)  # now somewhere in the middle of the next epoch (or its checkpoint)
        process.send_signal(signal.SIGKILL)
        process.wait()
        best, last = RNNLanguageModel.load(out), RNNLanguageModel.load(os.path.join(out, "last"))
        assert best.score(list("a stitch"))[0] < 0 and last.config == best.config
    finished = dynlp(*args, "--resume")
    assert finished.wait(timeout=120) == 0, finished.stderr.read()
    epochs = [json.loads(line)["epoch"] for line in open(os.path.join(out, "metrics.jsonl"))]
    assert epochs == list(range(1, epochs[-1] + 1)) and epochs[-1] >= 4


def test_ctrl_c_stops_with_one_line_and_a_loadable_model(tmp_path):
    out = str(tmp_path / "model")
    # Training must not end on its own before the signal comes: this tiny corpus converges in a
    # few epochs, so early stopping is switched off and the epoch budget is out of reach.
    process = dynlp("train-lm", corpus(tmp_path), "-o", out, "--epochs", "100000", "--patience",
                    "100000", "--hidden-dim", "32", "--batch-size", "4", "--quiet")
    deadline = time.time() + 90
    while epochs_done(out) < 1 and time.time() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130 and err.startswith("dynlp: interrupted")
    assert len(err.splitlines()) == 1
    assert RNNLanguageModel.load(out).score(list("a stitch"))[0] < 0


def test_same_seed_same_parameters_and_samples(tmp_path):
    text = corpus(tmp_path, copies=5)
    results = []
    for run, seed in enumerate(["3", "3", "4"]):
        out = str(tmp_path / f"run{run}")
        training = dynlp("train-lm", text, "-o", out, "--epochs", "2", "--hidden-dim", "16",
                         "--dropout", "0.2", "--seed", seed, "--quiet",
                         "--workers", "1")  # Hogwild's racing updates are not repeatable
        assert training.wait(timeout=120) == 0, training.stderr.read()
        sampling = dynlp("sample", "-m", out, "-n", "3", "--seed", seed)
        samples, _ = sampling.communicate(timeout=60)
        config = json.load(open(os.path.join(out, "config.json")))
        results.append((config["sha256"]["params"], samples))
    assert results[0] == results[1]
    assert results[2][0] != results[0][0]


def test_nan_loss_stops_training_and_keeps_the_best_model(tmp_path):
    sentences = [list(line) for line in LINES]
    out = str(tmp_path / "model")
    model, _ = train_language_model(sentences, sentences, LMConfig(hidden_dim=16),
                                    TrainConfig(epochs=1), out)
    before = model.score(list("a stitch"))
    exploding = TrainConfig(trainer="sgd", lr=1e38, clip=0, epochs=3)
    batches = lm_batches(sentences, model.vocab, model.config, 2, 35, training=True)
    with pytest.raises(TrainingError, match="the loss became"):
        fit(model, batches, [], exploding, out, evaluate=lambda m, d: {"dev_loss": 0.0})
    assert RNNLanguageModel.load(out).score(list("a stitch")) == before


CONLLU_PIECES = st.sampled_from(["1", "2", "1-2", "3.1", "x", "\t", "_", "NOUN", "# c", " ",
                                 "  ", "\n", "\r\n", "é", "\x00", "0", "10"])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pieces=st.lists(CONLLU_PIECES, max_size=60), raw=st.binary(max_size=40))
def test_fuzzed_files_raise_only_data_errors(tmp_path, pieces, raw):
    path = tmp_path / "fuzz"
    path.write_bytes("".join(pieces).encode("utf-8") + raw)
    for read in (lambda p: read_treebank(p), lambda p: read_treebank(p, "xpos"),
                 lambda p: read_sentences(p, "word"), lambda p: read_sentences(p, "char", True)):
        try:
            read(str(path))
        except DataError as error:
            assert "\n" not in str(error)
