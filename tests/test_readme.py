"""The README's library example runs as printed, and its sample reads like its corpus."""
import contextlib
import io
import os
import re

README = os.path.join(os.path.dirname(__file__), "..", "README.md")


def test_readme_training_loop_runs():
    text = open(README, encoding="utf-8").read()
    code = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    assert len(code.strip().splitlines()) <= 17  # imports and a print around 15 lines
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README.md", "exec"), {})
    sample = out.getvalue().split()
    corpus = {"the", "cat", "sat", "on", "mat", "dog", "log"}
    assert sample and sum(word in corpus for word in sample) >= 0.6 * len(sample), sample
