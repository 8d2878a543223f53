"""`dynlp plot`: the learning curves of training runs, from their metrics.jsonl, as one picture;
or the reliability diagrams of `dynlp evaluate --json` files (FILE.json), one panel per column.

One panel for each dev figure (perplexity for a language model, each tagged column's accuracy
for a tagger, or the fields `--metric` names) and one for the training loss; one line per run,
in the same colour in every panel, labelled by its directory's name.  PNG or SVG, by the output's
extension, drawn by dynlp/curves.py.
"""
import json
import os

from dynlp.curves import draw, draw_reliability, run_curves
from dynlp.errors import ConfigError, DataError
from dynlp.store.history import dev_fields, metrics_path, numeric_fields, read_history

FORMATS = {".png": "png", ".svg": "svg"}


def plot(args):
    picture_format = output_format(args.output)
    dirs = args.dirs
    if any(d.endswith(".json") for d in dirs):
        return plot_reliability(args, picture_format)
    records = {d: read_history(d) for d in dirs}
    fields = panel_fields(args.metric, records)
    runs = [(label, run_curves(records[d], metrics_path(d), fields, args.x))
            for label, d in zip(run_labels(dirs), dirs)]
    draw(runs, fields, args.x, args.output, picture_format)
    return 0


def plot_reliability(args, picture_format):
    """Reliability diagrams of the calibration bins in `dynlp evaluate --json` files."""
    evaluations = []
    for path in args.dirs:
        if not path.endswith(".json"):
            raise ConfigError(f"{path}: draw model directories or evaluation files "
                              "(FILE.json), not both at once")
        evaluations.append((run_labels([path])[0], read_calibration(path)))
    draw_reliability(evaluations, args.output, picture_format)
    return 0


def read_calibration(path):
    """{column: {"ece", "bins"}} of a `dynlp evaluate --json` file, or a one-line error."""
    try:
        with open(path, encoding="utf-8") as source:
            calibration = json.load(source).get("calibration")
    except (OSError, ValueError, AttributeError) as error:
        raise DataError(f"{path}: not the output of dynlp evaluate --json ({error})") from None
    if not isinstance(calibration, dict) or not calibration:
        raise DataError(f"{path}: no calibration figures (written by dynlp evaluate --json of "
                        "a tagger)")
    for column, figures in calibration.items():
        if not _calibration_figures(figures):
            raise DataError(f"{path}: the calibration of {column} is not as dynlp evaluate "
                            "--json writes it (an ece and bins of count, confidence, accuracy)")
    return calibration


def _calibration_figures(figures):
    """Whether one column's calibration has what a reliability diagram reads."""
    if not isinstance(figures, dict) or not isinstance(figures.get("bins"), list):
        return False
    numbers = (int, float)
    return isinstance(figures.get("ece"), numbers) and all(
        isinstance(b, dict) and isinstance(b.get("count"), int) and (
            b["count"] == 0 or (isinstance(b.get("confidence"), numbers)
                                and isinstance(b.get("accuracy"), numbers)))
        for b in figures["bins"])


def output_format(path):
    """'png' or 'svg', from the output file's extension."""
    extension = os.path.splitext(path)[1].lower()
    if extension not in FORMATS:
        raise ConfigError(f"-o {path}: the picture's format comes from its extension: .png or "
                          ".svg")
    return FORMATS[extension]


def panel_fields(metrics, records):
    """The fields to draw, one panel each: `--metric`'s (checked in every run), or the first
    run's dev figures; then the training loss."""
    if metrics:
        for field in metrics:
            for model_dir, history in records.items():
                if field not in numeric_fields(history):
                    raise ConfigError(f"--metric {field}: {metrics_path(model_dir)} has no such "
                                      f"figure (it has {', '.join(numeric_fields(history))})")
        fields = list(dict.fromkeys(metrics))
    else:
        first = next(iter(records))
        fields = dev_fields(records[first])
        if not fields:
            raise ConfigError(f"{metrics_path(first)}: no dev perplexity or accuracy to draw; "
                              "name a field with --metric")
    return fields + ["train_loss"] * ("train_loss" not in fields)


def run_labels(dirs):
    """Each run's directory name; the path as given where two runs share a name."""
    names = [os.path.basename(os.path.normpath(d)) for d in dirs]
    return [name if names.count(name) == 1 else d for name, d in zip(names, dirs)]
