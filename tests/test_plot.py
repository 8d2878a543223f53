"""`dynlp plot` on runs trained here: the picture's size and its lines' colours, SVG, the
series read from metrics.jsonl, lm_table's curves, and each bad input as one line and status 2."""
import json
import math
import os
import shutil
import sys

import numpy as np
import pytest

from conftest import load_lm_table
from dynlp.cli import main
from dynlp.curves import DPI, PANEL_INCHES, PANELS_A_ROW
from dynlp.store import history



@pytest.fixture(scope="module")
def colours():
    """The default colour cycle (C0, C1, ...) as RGB; only the tests that draw need matplotlib
    (the test extra installs it: CI fails without it, elsewhere they skip)."""
    try:
        import matplotlib
        from matplotlib.colors import to_rgb
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("matplotlib is missing in CI: pip install -e '.[test,plot]'")
        pytest.skip("matplotlib not installed (pip install 'dynlp[plot]')")

    return [to_rgb(c) for c in matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]]


def imread(path):
    from matplotlib.image import imread

    return imread(str(path))


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two tiny word LMs of different sizes, three epochs each: `small/` and `large/`."""
    tmp = tmp_path_factory.mktemp("runs")
    text = tmp / "text.txt"
    text.write_text("the cat sat on the mat\nthe dog sat on the log\na cat saw a dog\n" * 30)
    for name, hidden in (("small", "8"), ("large", "24")):
        assert main(["train-lm", str(text), "--word", "-o", str(tmp / name), "--epochs", "3",
                     "--hidden-dim", hidden, "--emb-dim", "8", "--quiet"]) == 0
    return tmp


def picture_size(panels):
    """(height, width) in pixels of a picture with that many panels."""
    columns = min(panels, PANELS_A_ROW)
    rows = -(-panels // PANELS_A_ROW)
    return round(rows * PANEL_INCHES[1] * DPI), round(columns * PANEL_INCHES[0] * DPI)


def pixels_of(image, colour, tolerance=0.02):
    """How many pixels are `colour` (antialiased edges aside: only those close to it)."""
    return int((np.abs(image[..., :3] - np.array(colour)) < tolerance).all(axis=-1).sum())


def test_png_of_two_runs_has_one_colour_each(runs, colours, tmp_path, capsys):
    out = tmp_path / "curves.png"
    assert main(["plot", str(runs / "small"), str(runs / "large"), "-o", str(out)]) == 0
    assert capsys.readouterr().out == ""  # nothing on stdout: the picture is the output
    image = imread(out)
    assert image.shape[:2] == picture_size(2)  # dev perplexity and training loss
    first, second, third = (pixels_of(image, c) for c in colours[:3])
    assert first > 50 and second > 50, (first, second)  # a line (and legend entry) each
    assert third == 0  # two runs: no third colour


def test_svg_by_extension_with_minutes(runs, colours, tmp_path):
    out = tmp_path / "curves.svg"
    assert main(["plot", str(runs / "small"), str(runs / "large"), "-o", str(out),
                 "--x", "minutes", "--metric", "dev_loss", "--metric", "lr"]) == 0
    svg = out.read_text(encoding="utf-8")
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    from matplotlib.colors import to_hex

    hexes = [to_hex(c) for c in colours[:3]]
    assert hexes[0] in svg and hexes[1] in svg and hexes[2] not in svg  # C0, C1: the two runs
    assert "<dc:date>" not in svg  # no date: the same runs give the same file


def test_series_come_from_metrics_jsonl(runs):
    path = history.metrics_path(runs / "small")
    lines = [json.loads(line) for line in open(path, encoding="utf-8")]
    records = history.read_history(runs / "small")
    assert records == lines and len(records) == 3
    assert history.dev_fields(records) == ["dev_ppl"]
    assert history.series(records, "dev_ppl", path) == [r["dev_ppl"] for r in lines]
    assert history.epochs(records) == [1.0, 2.0, 3.0]
    assert history.minutes(records, path) == [r["elapsed"] / 60 for r in lines]
    assert history.minutes(records, path) == sorted(history.minutes(records, path))
    speeds = [r["words_per_sec"] for r in lines]
    assert history.mean_words_per_sec(records) == round(sum(speeds) / 3) > 0
    assert history.mean_words_per_sec([{"epoch": 1}]) == 0  # no epoch says


def test_a_tagger_gets_a_panel_for_each_column(small_models, colours, tmp_path):
    columns = json.load(open(small_models / "tagger" / "config.json"))["config"]["columns"]
    columns = columns.split(",")
    records = history.read_history(small_models / "tagger")
    assert history.dev_fields(records) == [f"dev_{c}" for c in columns]
    out = tmp_path / "tagger.png"
    assert main(["plot", str(small_models / "tagger"), "-o", str(out)]) == 0
    assert imread(out).shape[:2] == picture_size(len(columns) + 1)


def test_gaps_are_nan_and_a_resumed_run_keeps_its_epochs(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    rows = [{"epoch": 4, "dev_upos": None, "train_loss": 2.0, "elapsed": 30.0},
            {"epoch": 5, "dev_upos": 0.5, "train_loss": 1.5, "elapsed": 90.0}]
    (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    records = history.read_history(run)
    first, second = history.series(records, "dev_upos", "x")
    assert math.isnan(first) and second == 0.5
    assert history.epochs(records) == [4.0, 5.0]
    assert history.minutes(records, "x") == [0.5, 1.5]


def test_lm_table_draws_its_rows_curves(runs, colours, tmp_path, monkeypatch, capsys):
    recipe = load_lm_table()
    rows = [{"row": "small", "epochs": 3, "dir": str(runs / "small")},
            {"row": "large", "epochs": 3, "dir": str(runs / "large")},
            {"row": "5-gram", "epochs": None}, {"row": "broken", "error": "failed"}]
    path = recipe.draw_curves(rows, str(tmp_path))
    assert path == str(tmp_path / "curves.png")
    image = imread(path)
    assert image.shape[:2] == picture_size(2)
    assert pixels_of(image, colours[0]) > 50 and pixels_of(image, colours[1]) > 50
    assert pixels_of(image, colours[2]) == 0  # the n-gram and failed rows are not drawn
    os.remove(path)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if it were not installed
    assert recipe.draw_curves(rows, str(tmp_path)) is None
    assert "needs matplotlib" in capsys.readouterr().err
    assert not os.path.exists(path)


def bad_run(tmp_path, text):
    run = tmp_path / "bad"
    run.mkdir()
    if text is not None:
        (run / "metrics.jsonl").write_text(text, encoding="utf-8")
    return run


@pytest.mark.parametrize("text, extra, message", [
    (None, [], "bad: no metrics.jsonl"),
    ("", [], "bad/metrics.jsonl: empty"),
    ("\n\n", [], "bad/metrics.jsonl: empty"),
    ('{"epoch": 1, "dev_ppl": 9}\n{"epoch": 2,\n', [], "bad/metrics.jsonl:2: not JSON"),
    ("[1, 2]\n", [], "bad/metrics.jsonl:1: not a JSON object"),
    ('{"epoch": 1, "dev_ppl": 9, "train_loss": 2}\n', ["--x", "minutes"],
     "bad/metrics.jsonl: epoch 1 has no number for 'elapsed'"),
    ('{"epoch": 1, "dev_ppl": 9, "train_loss": "low"}\n', [],
     "bad/metrics.jsonl: epoch 1: train_loss is 'low', not a number"),
    ('{"epoch": 1, "train_loss": 2}\n', [], "bad/metrics.jsonl: no dev perplexity or accuracy"),
    ('{"epoch": 1, "dev_ppl": 9, "train_loss": 2}\n', ["--metric", "dev_nope"],
     "--metric dev_nope: "),
])
def test_bad_runs_give_one_line_naming_the_file(tmp_path, capsys, text, extra, message):
    run = bad_run(tmp_path, text)
    out = tmp_path / "curves.png"
    assert main(["plot", str(run), "-o", str(out)] + extra) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("dynlp: error: ") and message in err, err
    assert not out.exists()


def status(argv):
    """`dynlp plot ARGV`'s exit status, usage errors (argparse exits) included."""
    try:
        return main(["plot"] + argv)
    except SystemExit as exit:
        return exit.code


def test_other_bad_input_is_one_line_too(runs, small_models, tmp_path, capsys):
    cases = [([str(tmp_path / "missing")], "missing: no such directory"),
             ([str(runs / "small"), "-o", str(tmp_path / "c.pdf")], "-o "),
             ([str(runs / "small"), "-o", str(tmp_path / "c")], ".png or .svg"),
             ([str(runs / "small"), str(small_models / "tagger"), "-o", str(tmp_path / "c.png")],
              "tagger/metrics.jsonl: no epoch has 'dev_ppl'"),
             ([str(runs / "small"), "--x", "hours"], "invalid choice")]
    for argv, message in cases:
        assert status(argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err, (argv, err)
    assert os.listdir(tmp_path) == []  # no picture, no half-written file


def test_without_matplotlib_one_line_says_how_to_get_it(runs, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` now fails
    out = tmp_path / "curves.png"
    assert main(["plot", str(runs / "small"), "-o", str(out)]) == 2
    assert capsys.readouterr().err == \
        "dynlp: error: dynlp plot needs matplotlib: pip install 'dynlp[plot]'\n"
    assert not out.exists()


def test_two_runs_of_the_same_name_are_told_apart(runs, tmp_path):
    from dynlp.cli.plot import run_labels

    shutil.copytree(runs / "small", tmp_path / "small")
    assert run_labels([str(runs / "small"), str(runs / "large/")]) == ["small", "large"]
    assert run_labels([str(runs / "small"), str(tmp_path / "small")]) == \
        [str(runs / "small"), str(tmp_path / "small")]
