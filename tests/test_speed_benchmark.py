"""benchmarks/speed.py compares like with like: every tagger row states its model in full (so a
changed default cannot move a row), the shipped-default rows are the shipped default, both sides
of each row build the same model, and `--quick --json` runs every row (those need torch)."""
import dataclasses
import json
import os
import subprocess
import sys

import pytest

from dynlp import TaggerConfig, read_treebank

BENCHMARKS = os.path.join(os.path.dirname(__file__), "..", "benchmarks")
SCRIPT = os.path.join(BENCHMARKS, "speed.py")
SAMPLE = os.path.join(os.path.dirname(__file__), "..", "data", "sample.conllu")
DATA = os.environ.get("DYNLP_DATA") or os.path.join(os.path.dirname(__file__), "..", "..",
                                                    "shared", "data")
sys.path.insert(0, BENCHMARKS)
import speed  # noqa: E402


def test_every_tagger_row_states_every_setting():
    names = {field.name for field in dataclasses.fields(TaggerConfig)}
    for row in speed.ROWS:
        if row.startswith("tagger"):
            assert set(speed.tagger_settings(row)) == names, row


def test_the_default_rows_are_the_shipped_default():
    # When a default changes, this fails: change TAGGER_DEFAULT (and remeasure) on purpose.
    assert speed.TAGGER_DEFAULT == {**dataclasses.asdict(TaggerConfig()), "columns": "upos"}
    assert speed.TAGGER["ensemble"] == 1 and speed.TAGGER["label_smoothing"] == 0.0


def sample_pairs():
    return [(s.forms, s.tags["upos"]) for s in read_treebank(SAMPLE)]


def architectures(dynlp_settings, torch_settings):
    """Each side's model as it describes itself, read off its parameters and modules."""
    pytest.importorskip("torch")
    pairs = sample_pairs()
    mine = speed.dynlp_architecture(speed.dynlp_tagger(dynlp_settings, pairs))
    theirs = speed.torch_tagger(pairs, torch_settings).architecture()
    return mine, theirs


@pytest.mark.parametrize("row", ["tagger_train", "tagger_default_train"])
def test_both_sides_of_a_tagger_row_build_the_same_model(row):
    mine, theirs = architectures(speed.tagger_settings(row), speed.tagger_settings(row))
    assert mine == theirs
    assert mine["networks"] == speed.tagger_settings(row)["ensemble"]


def test_a_twin_of_another_model_is_told_apart():
    # The comparison of the first wave's bug: dynlp's two networks against PyTorch's one.
    mine, theirs = architectures(speed.TAGGER_DEFAULT, dict(speed.TAGGER_DEFAULT, ensemble=1))
    assert mine != theirs and (mine["networks"], theirs["networks"]) == (2, 1)


@pytest.mark.skipif(not os.path.isdir(os.path.join(DATA, "wikitext2")), reason="no shared data")
@pytest.mark.hang_seconds(1800)  # 14 fresh processes, each reading its data: minutes when busy
def test_quick_json():
    pytest.importorskip("torch")
    done = subprocess.run([sys.executable, SCRIPT, "--quick", "--json", "--seconds", "1",
                           "--repeats", "1"], capture_output=True, text=True, check=True)
    result = json.loads(done.stdout)
    for row in speed.ROWS:
        assert result[row]["dynlp"] > 0 and result[row]["pytorch"] > 0
        assert result[row]["ratio"] > 0
        if row.startswith("tagger"):
            assert result["details"][row]["model"] == speed.tagger_settings(row)
