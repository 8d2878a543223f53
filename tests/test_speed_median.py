"""benchmarks/speed.py keeps the median of repeated runs (pure Python: no torch needed)."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "benchmarks"))
import speed  # noqa: E402


def test_the_median_run_is_kept_with_every_runs_speed():
    runs = [{"words": 300, "seconds": 1.0, "peak_mb": 3}, {"words": 100, "seconds": 1.0,
                                                          "peak_mb": 1},
            {"words": 400, "seconds": 2.0, "peak_mb": 2}]
    kept = speed.median_run(runs)
    assert kept["peak_mb"] == 2 and kept["runs"] == [300, 100, 200]
    assert speed.median_run(runs[:2])["peak_mb"] == 3  # even: the faster middle run
