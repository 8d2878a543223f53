"""Shared test helpers: tiny corpora, the shared-data location, small trained models."""
import faulthandler
import os
import signal
import sys

import pytest

from dynlp.data.text import data_dir

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


def load_lm_table():
    """recipes/lm_table.py as a module, loaded from its file as `python recipes/lm_table.py` runs
    it (recipes/ is not a package)."""
    import importlib.util
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "recipes",
                        "lm_table.py")
    spec = importlib.util.spec_from_file_location("lm_table", path)
    recipe = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(recipe)
    return recipe


def sigint_as_in_a_terminal():
    """preexec_fn for a child that a test stops with Ctrl-C: SIGINT back to its default.  A
    shell starts background jobs (`pytest &`, `nohup`) with SIGINT ignored, children inherit
    that, and Python then never raises KeyboardInterrupt: the test would wait in vain."""
    import signal
    signal.signal(signal.SIGINT, signal.SIG_DFL)


# No test here needs more than a few minutes; one that hangs (a Ray job that never finishes did
# once, and CI then waited out its whole limit) fails after HANG_SECONDS with every thread's
# stack printed, and the rest of the suite goes on.  A test known to be long says how long it
# may take with @pytest.mark.hang_seconds(N).
HANG_SECONDS = 600


def pytest_configure(config):
    config.addinivalue_line("markers", "hang_seconds(n): this test may run n seconds")


class Hung(Exception):
    pass


def _hung(signum, frame):
    faulthandler.dump_traceback(file=sys.stderr, all_threads=True)
    raise Hung("test still running after its time (conftest.HANG_SECONDS)")


@pytest.fixture(autouse=True)
def fail_a_hung_test(request):
    marker = request.node.get_closest_marker("hang_seconds")
    previous = signal.signal(signal.SIGALRM, _hung)
    signal.alarm(marker.args[0] if marker else HANG_SECONDS)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


@pytest.fixture
def tiny_file(tmp_path):
    path = tmp_path / "tiny.txt"
    path.write_text("\n".join(TINY_TEXT) + "\n", encoding="utf-8")
    return str(path)


@pytest.fixture(scope="session")
def small_models(tmp_path_factory):
    """A tiny word LM (`lm/`, trained on `text.txt`) and tagger (`tagger/`), and `big.conllu`
    (the sample treebank 75 times: 3000 sentences, three chunks of tagging work)."""
    from dynlp.cli import main

    tmp = tmp_path_factory.mktemp("models")
    text = tmp / "text.txt"
    text.write_text("the cat sat on the mat\nthe dog sat on the log\n\n" * 40)
    quick = ["--epochs", "1", "--hidden-dim", "8", "--emb-dim", "8", "--quiet"]
    assert main(["train-lm", str(text), "--word", "-o", str(tmp / "lm")] + quick) == 0
    assert main(["train-tagger", "data/sample.conllu", "-o", str(tmp / "tagger"), "--layers", "1",
                 "--no-tokenizer"] + quick) == 0
    big = tmp / "big.conllu"
    big.write_text(open("data/sample.conllu", encoding="utf-8").read() * 75, encoding="utf-8")
    return tmp


@pytest.fixture(scope="session")
def curve_models(tmp_path_factory):
    """A tiny word LM (`lm-epochs/`, 4 epochs, with a dev file) and tagger (`tagger-epochs/`,
    3 epochs), each with a metrics.jsonl of several lines, for the model card's dev curve; and a
    trigram model (`trigram/`), which has no epochs."""
    from dynlp.cli import main

    tmp = tmp_path_factory.mktemp("curves")
    (tmp / "text.txt").write_text("the cat sat on the mat\nthe dog sat on the log\n\n" * 40)
    (tmp / "dev.txt").write_text("the dog sat on the mat\nthe cat sat\n")
    tiny = ["--hidden-dim", "8", "--emb-dim", "8", "--quiet"]
    assert main(["train-lm", str(tmp / "text.txt"), "--dev", str(tmp / "dev.txt"), "--word",
                 "--epochs", "4", "-o", str(tmp / "lm-epochs")] + tiny) == 0
    assert main(["train-tagger", "data/sample.conllu", "--layers", "1", "--epochs", "3",
                 "--no-tokenizer", "-o", str(tmp / "tagger-epochs")] + tiny) == 0
    assert main(["train-lm", str(tmp / "text.txt"), "--word", "--ngram", "3",
                 "-o", str(tmp / "trigram"), "--quiet"]) == 0
    return tmp
