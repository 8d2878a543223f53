"""tag and score with --workers N: the same bytes as one process, in input order."""
import subprocess
import sys

import pytest

from dynlp.cli import main


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("workers")
    text = tmp / "text.txt"
    text.write_text("the cat sat on the mat\nthe dog sat on the log\n\n" * 40)
    quick = ["--epochs", "1", "--hidden-dim", "8", "--emb-dim", "8", "--quiet"]
    assert main(["train-lm", str(text), "--word", "-o", str(tmp / "lm")] + quick) == 0
    assert main(["train-tagger", "data/sample.conllu", "-o", str(tmp / "tagger"), "--layers", "1"]
                + quick) == 0
    big = tmp / "big.conllu"
    big.write_text(open("data/sample.conllu", encoding="utf-8").read() * 25, encoding="utf-8")
    return tmp


def dynlp(*args):
    result = subprocess.run([sys.executable, "-m", "dynlp.cli", *args], capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_tagging_with_two_workers_matches_one(models):
    one = dynlp("tag", "-m", str(models / "tagger"), str(models / "big.conllu"))
    two = dynlp("tag", "-m", str(models / "tagger"), str(models / "big.conllu"), "--workers", "2")
    assert one == two and one.count("# sent_id = sample-1\n") == 25  # 1000 sentences, in order


def test_scoring_with_two_workers_matches_one(models):
    text = str(models / "text.txt")
    one = dynlp("score", "-m", str(models / "lm"), text)
    assert one == dynlp("score", "-m", str(models / "lm"), text, "--workers", "2")
    assert len(one.split("\n")) - 1 == 120  # one line out per line in, blank lines kept
