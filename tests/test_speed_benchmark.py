"""benchmarks/speed.py --quick --json runs and prints every row (only where torch exists)."""
import json
import os
import subprocess
import sys

import pytest

pytest.importorskip("torch")
SCRIPT = os.path.join(os.path.dirname(__file__), "..", "benchmarks", "speed.py")
DATA = os.environ.get("DYNLP_DATA") or os.path.join(os.path.dirname(__file__), "..", "..",
                                                    "shared", "data")


@pytest.mark.skipif(not os.path.isdir(os.path.join(DATA, "wikitext2")), reason="no shared data")
def test_quick_json():
    done = subprocess.run([sys.executable, SCRIPT, "--quick", "--json", "--seconds", "1"],
                          capture_output=True, text=True, check=True)
    result = json.loads(done.stdout)
    for row in ("tagger_train", "tagger_infer", "lm_train", "lm_eval", "lm_train_large"):
        assert result[row]["dynlp"] > 0 and result[row]["pytorch"] > 0
        assert result[row]["ratio"] > 0
