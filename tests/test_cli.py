"""The dynlp command, run in-process: train-lm, sample, score, info, and one-line errors."""
import json

import pytest

from conftest import TINY_TEXT
from dynlp import dynet
from dynlp.cli import main
from dynlp.cli.flags import translate_dynet_flags


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("cli")
    corpus = directory / "train.txt"
    corpus.write_text("the cat sat on the mat\nthe dog sat on the log\n" * 10, encoding="utf-8")
    out = directory / "model"
    status = main(["train-lm", str(corpus), "--word", "-o", str(out), "--epochs", "3",
                   "--hidden-dim", "24", "--emb-dim", "12", "--batch-size", "4", "--quiet"])
    assert status == 0
    return out


def test_train_lm_writes_a_model_directory(model_dir):
    config = json.loads((model_dir / "config.json").read_text())
    assert config["kind"] == "language-model" and config["config"]["level"] == "word"
    assert len((model_dir / "metrics.jsonl").read_text().splitlines()) == 3
    assert (model_dir / "last" / "config.json").exists()


def test_sample_prints_n_lines_reproducibly(model_dir, capsys):
    assert main(["sample", "-m", str(model_dir), "-n", "3", "--seed", "5", "--prefix", "the"]) == 0
    first = capsys.readouterr().out.splitlines()
    assert len(first) == 3 and all(line.startswith("the") for line in first)
    main(["sample", "-m", str(model_dir), "-n", "3", "--seed", "5", "--prefix", "the"])
    assert capsys.readouterr().out.splitlines() == first


def test_score_prints_one_number_per_line_and_perplexity_on_stderr(model_dir, tmp_path, capsys):
    text = tmp_path / "score.txt"
    text.write_text("the cat sat on the log\n\nthe dog sat\n", encoding="utf-8")
    assert main(["score", "-m", str(model_dir), str(text)]) == 0
    captured = capsys.readouterr()
    lines = captured.out.split("\n")[:3]
    assert float(lines[0]) < 0 and lines[1] == "" and float(lines[2]) < 0
    assert "perplexity" in captured.err
    assert main(["score", "-m", str(model_dir), str(text), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["sentences"] == 2 and summary["tokens"] == 6 + 1 + 3 + 1
    assert summary["log_prob"] == pytest.approx(float(lines[0]) + float(lines[2]), abs=1e-3)
    assert summary["perplexity"] > 1 and summary["bits_per_token"] > 0


@pytest.mark.parametrize("argv, message", [
    (["sample", "-m", "/nonexistent/model"], "no such model directory"),
    (["sample", "-m", "{model}", "--temperature", "0"], "--temperature"),
    (["sample", "-m", "{model}", "--top-k", "-1"], "--top-k"),
    (["sample", "-m", "{model}", "-n", "-1"], "-n"),
    (["score", "-m", "{model}", "/nonexistent.txt"], "no such file"),
    (["train-lm", "/nonexistent.txt", "-o", "{tmp}/m"], "no such file"),
    (["train-lm", "{empty}", "-o", "{tmp}/m"], "no text"),
    (["train-lm", "{one_line}", "-o", "{tmp}/m"], "too small"),
    (["train-lm", "{one_line}", "-o", "{tmp}/m", "--tie-weights"], "--tie-weights"),
    (["info", "--gpus", "1"], "docs/gpu.md"),
])
def test_bad_input_gives_one_line_and_status_2(argv, message, model_dir, tmp_path, capsys):
    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "one.txt").write_text("just one line\n")
    names = {"model": model_dir, "tmp": tmp_path, "empty": tmp_path / "empty.txt",
             "one_line": tmp_path / "one.txt"}
    assert main([arg.format(**names) for arg in argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("dynlp: error:") and message in err and len(err.splitlines()) == 1


def test_dynet_flags_are_accepted_in_dynlps_spelling():
    assert translate_dynet_flags(["--dynet-mem", "512", "--dynet-autobatch", "1", "x"]) == [
        "--mem", "512", "--autobatch", "x"]


def test_resume_reads_data_with_the_saved_settings(tmp_path, capsys):
    corpus = tmp_path / "words.txt"
    corpus.write_text("alpha beta gamma\nbeta gamma delta\n" * 6, encoding="utf-8")
    out = tmp_path / "m"
    common = ["--epochs", "1", "--hidden-dim", "8", "--emb-dim", "8", "--quiet"]
    assert main(["train-lm", str(corpus), "--word", "--tokenized", "-o", str(out)] + common) == 0
    # Resumed without --word: the saved model, not the flags, decides how the text is read.
    assert main(["train-lm", str(corpus), "-o", str(out), "--resume", "--epochs", "2"]) == 0
    lines = (out / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in lines] == [1, 2]
    config = json.loads((out / "config.json").read_text())["config"]
    assert config["level"] == "word"
    assert json.loads(lines[1])["dev_ppl"] < 20  # words, not characters mapped to <unk>


def test_os_errors_and_bad_memory_are_one_line(tmp_path, capsys):
    corpus = tmp_path / "t.txt"
    corpus.write_text("a b c\nd e f\n" * 5)
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main(["train-lm", str(corpus), "-o", str(blocker / "sub")]) == 2
    assert main(["info", "--mem", "lots"]) == 2
    errors = capsys.readouterr().err.splitlines()
    assert len(errors) == 2 and all(e.startswith("dynlp: error:") for e in errors)
    assert "--mem" in errors[1]


def test_sample_after_the_recipe_finds_its_model_without_m(tmp_path):
    """`python recipes/train_lm.py --char && dynlp sample` on a fresh checkout: the commands
    look in models/lm (where the recipe writes) when no -m is given."""
    import os
    import subprocess
    import sys

    recipe = os.path.join(os.path.dirname(__file__), "..", "recipes", "train_lm.py")
    dynlp = [sys.executable, "-m", "dynlp.cli"]
    before = subprocess.run(dynlp + ["sample"], cwd=tmp_path, capture_output=True, text=True)
    assert before.returncode == 2 and before.stderr.count("\n") == 1
    assert "models/lm: no model there (the default -m)" in before.stderr
    subprocess.run([sys.executable, recipe, "--char", "--epochs", "1", "--max-minutes", "0.05",
                    "--hidden-dim", "16", "--emb-dim", "8", "--samples", "0", "--quiet"],
                   cwd=tmp_path, check=True, capture_output=True)
    after = subprocess.run(dynlp + ["sample", "-n", "2", "--max-len", "20"], cwd=tmp_path,
                           capture_output=True, text=True)
    assert after.returncode == 0 and len(after.stdout.splitlines()) == 2, after.stderr
    scored = subprocess.run(dynlp + ["score", "--json"], input="hello world\n", cwd=tmp_path,
                            capture_output=True, text=True)
    assert scored.returncode == 0 and json.loads(scored.stdout)["tokens"] > 0, scored.stderr
    tagged = subprocess.run(dynlp + ["tag"], input="", cwd=tmp_path, capture_output=True,
                            text=True)
    assert tagged.returncode == 2 and "models/tagger: no model there" in tagged.stderr


def test_train_lm_defaults_go_on_past_ten_epochs_while_dev_improves(tmp_path):
    """Issue 17: `dynlp train-lm` used to stop at a fixed 10 epochs, still improving.  With the
    default schedule a slow learner (a tiny model) goes on until dev stops improving."""
    # DyNet is started once per test process: fix its draws, or the initial weights would
    # depend on which tests ran before this one.  Some draws of this tiny model stall before
    # epoch 10 (seed 3 does; 1 and 2 do not), as a real run may; the test is about the rule.
    dynet().reset_random_seed(1)
    corpus, dev = tmp_path / "corpus.txt", tmp_path / "dev.txt"
    corpus.write_text("\n".join(TINY_TEXT * 8) + "\n")
    dev.write_text("the cat sat on the log\na dog saw the mat\nthe dog sat on a mat\n")
    out = tmp_path / "lm"
    assert main(["train-lm", str(corpus), "--dev", str(dev), "--word", "-o", str(out),
                 "--emb-dim", "8", "--hidden-dim", "8", "--batch-size", "8", "--quiet"]) == 0
    history = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    losses = [m["dev_loss"] for m in history]
    assert min(losses[10:]) < min(losses[:10])  # still improving after epoch 10, and it went on
    assert len(history) < 200  # ...and stopped because dev stopped improving, not at the cap


def test_class_softmax_with_a_high_sgd_rate_is_warned_about(tiny_file, tmp_path, caplog):
    """At the README's PTB rate (SGD 1) a class-factored softmax can stall at the unigram
    level: training says so, and goes on (it is the user's call); at 0.5 it learns."""
    argv = ["train-lm", tiny_file, "--word", "--softmax", "class", "--epochs", "1",
            "--hidden-dim", "8", "--emb-dim", "8", "--quiet", "-o", str(tmp_path / "m")]
    with caplog.at_level("WARNING", logger="dynlp"):
        assert main(argv + ["--trainer", "sgd", "--lr", "1"]) == 0
    assert "can stall at the unigram level" in caplog.text
    for quiet in (["--trainer", "adam", "--lr", "0.002"], ["--trainer", "sgd", "--lr", "0.5"]):
        caplog.clear()
        with caplog.at_level("WARNING", logger="dynlp"):
            assert main(argv[:-2] + ["-o", str(tmp_path / quiet[1])] + quiet) == 0
        assert "unigram" not in caplog.text


def test_score_stream_gives_the_dev_perplexity_training_reported(tmp_path, capsys):
    """A --stream model's dev perplexity carries the state across lines; `score --stream` on
    the dev file counts the same way and gets the same number.  Line by line (each line from a
    fresh state) is another figure; a model trained on separate lines has no stream to score."""
    corpus, dev = tmp_path / "corpus.txt", tmp_path / "dev.txt"
    corpus.write_text("\n".join(TINY_TEXT * 4) + "\n")
    dev.write_text("the cat sat on the log\n\na dog saw the mat\nthe dog sat on a mat\n" * 3)
    common = ["--word", "--emb-dim", "8", "--hidden-dim", "8", "--epochs", "2", "--quiet"]
    assert main(["train-lm", str(corpus), "--dev", str(dev), "--stream", "-o",
                 str(tmp_path / "s")] + common) == 0
    history = [json.loads(line) for line in (tmp_path / "s" / "metrics.jsonl").read_text().splitlines()]
    best = min(history, key=lambda m: m["dev_loss"])
    assert main(["score", "-m", str(tmp_path / "s"), str(dev), "--stream", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["lines"] == 12 and summary["tokens"] == best["dev_tokens"]
    assert summary["perplexity"] == pytest.approx(best["dev_ppl"], rel=1e-5)
    assert main(["score", "-m", str(tmp_path / "s"), str(dev), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["perplexity"] != pytest.approx(best["dev_ppl"])

    assert main(["train-lm", str(corpus), "-o", str(tmp_path / "lines")] + common) == 0
    assert main(["score", "-m", str(tmp_path / "lines"), str(dev), "--stream"]) == 2
    err = capsys.readouterr().err
    assert "--stream" in err and "trained on separate lines" in err and len(err.splitlines()) == 1
