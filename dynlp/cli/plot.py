"""`dynlp plot`: the learning curves of training runs, from their metrics.jsonl, as one picture.

One panel for each dev figure (perplexity for a language model, each tagged column's accuracy
for a tagger, or the fields `--metric` names) and one for the training loss; one line per run,
in the same colour in every panel, labelled by its directory's name.  PNG or SVG, by the output's
extension.  matplotlib (`dynlp[plot]`) is imported only here, and only its object interface is
used (a `Figure` drawn by the Agg renderer): no pyplot state, no window, no display needed.
"""
import os

from dynlp.errors import ConfigError
from dynlp.store.atomic import replacing
from dynlp.training.history import (dev_fields, epochs, metrics_path, minutes, numeric_fields,
                                    read_history, series)

FORMATS = {".png": "png", ".svg": "svg"}
PANEL_INCHES = (5.0, 3.6)  # each panel's width and height
DPI = 100  # so a PNG is 500 x 360 pixels a panel
PANELS_A_ROW = 3
TITLES = {"dev_ppl": "dev perplexity", "dev_loss": "dev loss (nats per token)",
          "dev_bits_per_token": "dev bits per token", "train_loss": "training loss",
          "dev_score": "dev accuracy, mean of the columns", "lr": "learning rate"}
COLUMNS = {"upos": "UPOS", "xpos": "XPOS", "feats": "FEATS", "ufeats": "UFeats",
           "alltags": "AllTags"}  # a tagger's dev_COLUMN, as the CoNLL 2018 evaluation names it
X_LABELS = {"epochs": "epoch", "minutes": "minutes of training"}


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


def run_curves(records, path, fields, x):
    """{"x": [...], field: [...] for each field}: one run's lines, as plain lists."""
    curves = {"x": minutes(records, path) if x == "minutes" else epochs(records)}
    for field in fields:
        if not any(field in record for record in records):  # e.g. a tagger among LMs
            raise ConfigError(f"{path}: no epoch has {field!r}: draw runs of one kind "
                              "together, or name the figures with --metric")
        curves[field] = series(records, field, path)
    return curves


def run_labels(dirs):
    """Each run's directory name; the path as given where two runs share a name."""
    names = [os.path.basename(os.path.normpath(d)) for d in dirs]
    return [name if names.count(name) == 1 else d for name, d in zip(names, dirs)]


def _matplotlib_figure():
    try:
        import matplotlib  # noqa: F401  (first: a missing package fails here, not half way)
        from matplotlib.figure import Figure
    except ImportError:
        raise ConfigError("dynlp plot needs matplotlib: pip install 'dynlp[plot]'") from None
    return Figure


def draw(runs, fields, x, path, picture_format):
    """Draw `runs`, [(label, curves)] as `run_curves` makes them, into the picture at `path`,
    written atomically; one panel for each field."""
    rows = -(-len(fields) // PANELS_A_ROW)
    columns = min(len(fields), PANELS_A_ROW)
    figure = _matplotlib_figure()(figsize=(PANEL_INCHES[0] * columns, PANEL_INCHES[1] * rows),
                                  dpi=DPI, layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    for panel, field in zip(axes, fields):
        for number, (label, curves) in enumerate(runs):
            # C0, C1, ...: the default colour cycle, the same run the same colour in each panel
            panel.plot(curves["x"], curves[field], color=f"C{number % 10}", marker=".",
                       label=label)
        _decorate(panel, field, x)
    for unused in axes[len(fields):]:
        unused.set_visible(False)
    axes[0].legend(fontsize="small")
    # No date in an SVG, so the same runs give the same file.
    metadata = {"Date": None} if picture_format == "svg" else None
    with replacing(path, binary=True) as out:
        figure.savefig(out, format=picture_format, metadata=metadata)


def _decorate(panel, field, x):
    from matplotlib.ticker import LogFormatter, MaxNLocator

    panel.set_title(_title(field), fontsize="medium")
    panel.set_xlabel(X_LABELS[x])
    panel.grid(alpha=0.3)
    if x == "epochs":
        panel.xaxis.set_major_locator(MaxNLocator(integer=True))
    low, high = panel.dataLim.intervaly
    if field.endswith("_ppl") and low > 0 and high > 3 * low:
        # Early epochs can be 100 times worse: a log scale shows them and the end alike, with
        # plain numbers (200, 300) on its ticks rather than powers of ten.
        panel.set_yscale("log")
        panel.yaxis.set_major_formatter(LogFormatter())
        panel.yaxis.set_minor_formatter(LogFormatter(labelOnlyBase=False))


def _title(field):
    if field in TITLES:
        return TITLES[field]
    column = field[4:] if field.startswith("dev_") else None
    return f"dev {COLUMNS[column]} accuracy" if column in COLUMNS else field
