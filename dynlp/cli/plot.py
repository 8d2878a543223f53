"""`dynlp plot`: the learning curves of training runs, from their metrics.jsonl, as one picture.

One panel for each dev figure (perplexity for a language model, each tagged column's accuracy
for a tagger, or the fields `--metric` names) and one for the training loss; one line per run,
in the same colour in every panel, labelled by its directory's name.  PNG or SVG, by the output's
extension, drawn by dynlp/curves.py.
"""
import os

from dynlp.curves import draw, run_curves
from dynlp.errors import ConfigError
from dynlp.store.history import dev_fields, metrics_path, numeric_fields, read_history

FORMATS = {".png": "png", ".svg": "svg"}


def plot(args):
    picture_format = output_format(args.output)
    dirs = args.dirs
    records = {d: read_history(d) for d in dirs}
    fields = panel_fields(args.metric, records)
    runs = [(label, run_curves(records[d], metrics_path(d), fields, args.x))
            for label, d in zip(run_labels(dirs), dirs)]
    draw(runs, fields, args.x, args.output, picture_format)
    return 0


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
