"""Shared test helpers: tiny corpora, the shared-data location, and a small trained LM."""
import os

import pytest

from dynlp.text import data_dir

TINY_TEXT = ["the cat sat on the mat", "the dog sat on the log", "a cat saw a dog",
             "the dog saw the cat", "a dog sat on a mat"]


def shared_data(*parts):
    """Path to a shared corpus; skips only when it is absent and we are not in CI."""
    path = os.path.join(data_dir(), *parts)
    if not os.path.exists(path):
        if os.environ.get("CI"):
            pytest.fail(f"{path} is missing in CI; set DYNLP_DATA")
        pytest.skip(f"{path} not found (set DYNLP_DATA)")
    return path


@pytest.fixture
def tiny_file(tmp_path):
    path = tmp_path / "tiny.txt"
    path.write_text("\n".join(TINY_TEXT) + "\n", encoding="utf-8")
    return str(path)
