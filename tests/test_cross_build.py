"""Model directories travel between DyNet builds: a model trained on one build (say the dynet38
wheel) and loaded on another (the native build of scripts/build_dynet.sh) gives identical tags
and the same log-probabilities to 1e-5, both ways.

Needs a second Python with another DyNet build, named by $DYNLP_OTHER_PYTHON (.ci/build-dynet-cpu
sets it to the wheel's venv while it tests the native build); skipped without it.
"""
import json
import os
import subprocess
import sys

import pytest

OTHER = os.environ.get("DYNLP_OTHER_PYTHON")
PROBE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cross_build_probe.py")
pytestmark = pytest.mark.skipif(not OTHER, reason="set DYNLP_OTHER_PYTHON to a Python with "
                                                  "another DyNet build to run it")


def run(python, *args):
    done = subprocess.run([python, PROBE, *args], capture_output=True, text=True, timeout=600,
                          cwd=os.path.dirname(PROBE))
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def probe(python, directory):
    return json.loads(run(python, "probe", str(directory)))


@pytest.mark.parametrize("trained_on", ["this", "other"])
def test_a_model_gives_the_same_outputs_on_both_builds(tmp_path, trained_on):
    this, other = sys.executable, OTHER
    run(this if trained_on == "this" else other, "train", str(tmp_path))
    here, there = probe(this, tmp_path), probe(other, tmp_path)
    assert here["build"] != there["build"], "both Pythons use the same DyNet build"
    assert here["tags"] == there["tags"]
    assert here["log_probs"].keys() == there["log_probs"].keys() == {"lm", "stream-lm", "char-lm"}
    for name, lines in here["log_probs"].items():
        for mine, theirs in zip(lines, there["log_probs"][name]):
            assert mine == pytest.approx(theirs, abs=1e-5), name
