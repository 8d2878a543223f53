"""Training and evaluating on two processes: Hogwild training and forked evaluation."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import sigint_as_in_a_terminal
from dynlp import BackendConfig, LMConfig, RNNLanguageModel, TrainConfig, Vocab, backend
from dynlp.errors import ConfigError
from dynlp.tasks import lm_batches
from dynlp.training.loop import evaluate_loss, evaluation_shares, fit, training_workers

LINES = ["the quick brown fox jumps over the lazy dog", "a stitch in time saves nine",
         "all that glitters is not gold", "where there is smoke there is fire"]


def corpus(tmp_path, copies=60):
    path = tmp_path / "corpus.txt"
    path.write_text("\n".join(LINES * copies) + "\n", encoding="utf-8")
    return str(path)


def train_lm(*args, **kwargs):
    return subprocess.Popen([sys.executable, "-m", "dynlp.cli", "train-lm", *args, "--quiet"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=sigint_as_in_a_terminal, **kwargs)


def metrics(out):
    path = os.path.join(out, "metrics.jsonl")
    return [json.loads(line) for line in open(path)] if os.path.exists(path) else []


def children_of(pid):
    """Process ids whose parent is `pid` (from /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[0] != "Z" and int(fields[1]) == pid:
            found.append(int(entry))
    return found


def wait_for(condition, seconds):
    deadline = time.time() + seconds
    while not condition() and time.time() < deadline:
        time.sleep(0.02)
    return condition()


def test_two_training_processes_learn_and_save_a_loadable_model(tmp_path):
    out = str(tmp_path / "model")
    done = train_lm(corpus(tmp_path), "-o", out, "--workers", "2", "--epochs", "2",
                    "--batch-size", "2", "--hidden-dim", "32")
    _, err = done.communicate(timeout=300)
    assert done.returncode == 0, err
    epochs = metrics(out)
    assert [m["workers"] for m in epochs] == [2, 2]
    model = RNNLanguageModel.load(out)
    # A uniform guess has perplexity = vocabulary size; these sentences are far more predictable.
    assert epochs[-1]["dev_ppl"] < len(model.vocab) / 3
    assert model.score(list("a stitch in time"))[0] > model.score(list("zq xj vk wp"))[0]


def test_default_is_one_process_for_a_short_epoch(tmp_path):
    out = str(tmp_path / "model")
    done = train_lm(corpus(tmp_path, copies=5), "-o", out, "--epochs", "1", "--hidden-dim", "16")
    assert done.wait(timeout=120) == 0
    assert metrics(out)[0]["workers"] == 1


@pytest.mark.parametrize("how", ["sigkill", "ctrl-c"])
def test_stopping_hogwild_training_leaves_no_worker_behind(tmp_path, how):
    out = str(tmp_path / "model")
    process = train_lm(corpus(tmp_path), "-o", out, "--workers", "2", "--epochs", "100000",
                       "--patience", "100000", "--batch-size", "2", "--hidden-dim", "32",
                       start_new_session=True)  # its own process group, as in a terminal
    assert wait_for(lambda: metrics(out), 120), "no epoch finished"
    assert wait_for(lambda: children_of(process.pid), 30), "the second epoch never forked"
    workers = children_of(process.pid)
    if how == "sigkill":
        process.send_signal(signal.SIGKILL)
        process.wait()
    else:  # Ctrl-C in a terminal signals the whole foreground process group
        os.killpg(process.pid, signal.SIGINT)
        _, err = process.communicate(timeout=60)
        assert process.returncode == 130 and err.startswith("dynlp: interrupted")
        assert len(err.splitlines()) == 1
    assert wait_for(lambda: not any(os.path.exists(f"/proc/{pid}") and children_alive(pid)
                                    for pid in workers), 30)
    assert RNNLanguageModel.load(out).score(list("a stitch"))[0] < 0


def children_alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def small_lm(stream):
    sentences = [list(line) for line in LINES * 30]
    config = LMConfig(hidden_dim=16, emb_dim=8, stream=stream)
    return RNNLanguageModel(config, Vocab.build(sentences)), sentences


@pytest.mark.parametrize("stream", [False, True])
def test_evaluation_on_two_processes_gives_the_same_loss(stream):
    model, sentences = small_lm(stream)
    batches = lm_batches(sentences, model.vocab, model.config, 4, 10, training=False)
    assert len(evaluation_shares(batches, 2)) == 2
    one, two = evaluate_loss(model, batches, 1), evaluate_loss(model, batches, 2)
    assert two[1] == one[1]
    assert two[0] == pytest.approx(one[0], rel=1e-6)


def test_stream_evaluation_shares_split_streams_not_segments():
    model, sentences = small_lm(stream=True)
    batches = lm_batches(sentences, model.vocab, model.config, 4, 10, training=False)
    first, second = evaluation_shares(batches, 2)
    assert len(first) == len(second) == len(batches)  # every segment, half the streams each
    assert first[0].num_sequences + second[0].num_sequences == batches[0].num_sequences
    assert [b.carry for b in first] == [b.carry for b in batches]


@pytest.mark.parametrize("settings", [BackendConfig(), BackendConfig(shared_parameters=True,
                                                                    weight_decay=1e-6)])
def test_several_workers_need_shared_parameters_and_no_weight_decay(tmp_path, monkeypatch,
                                                                     settings):
    model, sentences = small_lm(stream=False)
    batches = lm_batches(sentences, model.vocab, model.config, 2, 10, training=True)
    monkeypatch.setattr(backend, "current_settings", lambda: settings)  # how DyNet started
    with pytest.raises(ConfigError, match="shared memory"):
        fit(model, batches, [], TrainConfig(workers=2, epochs=1), str(tmp_path),
            evaluate=lambda m, d: {"dev_loss": 0.0})
    assert training_workers(TrainConfig(workers=0), 1000) == 1  # the default falls back
