"""Learning curves: training runs' metrics.jsonl (store/history.py) drawn as one picture, one
panel for each figure, one line per run in the same colour in every panel (`dynlp plot`, and the
recipes that draw their runs); and reliability diagrams of a tagger's probabilities (accuracy
against confidence in each bin of metrics.Calibration, one panel per column).  matplotlib
(`dynlp[plot]`) is imported only here, and only its object interface is used (a `Figure` drawn
by the Agg renderer): no pyplot state, no window, no display needed.
"""
from dynlp.errors import ConfigError
from dynlp.store.atomic import replacing
from dynlp.store.history import epochs, minutes, series

PANEL_INCHES = (5.0, 3.6)  # each panel's width and height
DPI = 100  # so a PNG is 500 x 360 pixels a panel
PANELS_A_ROW = 3
TITLES = {"dev_ppl": "dev perplexity", "dev_loss": "dev loss (nats per token)",
          "dev_bits_per_token": "dev bits per token", "train_loss": "training loss",
          "dev_score": "dev accuracy, mean of the columns", "lr": "learning rate"}
# A tagger's dev_COLUMN, as the CoNLL 2018 evaluation names it.
COLUMNS = {"upos": "UPOS", "xpos": "XPOS", "feats": "FEATS", "ufeats": "UFeats",
           "alltags": "AllTags", "lemma": "Lemmas"}
X_LABELS = {"epochs": "epoch", "minutes": "minutes of training"}


def run_curves(records, path, fields, x):
    """{"x": [...], field: [...] for each field}: one run's lines, as plain lists."""
    curves = {"x": minutes(records, path) if x == "minutes" else epochs(records)}
    for field in fields:
        if not any(field in record for record in records):  # e.g. a tagger among LMs
            raise ConfigError(f"{path}: no epoch has {field!r}: draw runs of one kind "
                              "together, or name the figures with --metric")
        curves[field] = series(records, field, path)
    return curves


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


def draw_reliability(evaluations, path, picture_format):
    """Reliability diagrams of [(label, {column: calibration summary})] into `path`: in each
    column's panel, each evaluation's accuracy against its mean confidence in each bin (a point
    sized by its words), the diagonal where they would be equal, the ECE in the legend."""
    columns = list(dict.fromkeys(c for _, calibration in evaluations for c in calibration))
    rows = -(-len(columns) // PANELS_A_ROW)
    width = min(len(columns), PANELS_A_ROW)
    figure = _matplotlib_figure()(figsize=(PANEL_INCHES[1] * 1.2 * width,
                                           PANEL_INCHES[1] * 1.2 * rows),
                                  dpi=DPI, layout="constrained")
    axes = figure.subplots(rows, width, squeeze=False).ravel()
    for panel, column in zip(axes, columns):
        panel.plot([0, 1], [0, 1], color="0.6", linestyle="--", linewidth=1)
        for number, (label, calibration) in enumerate(evaluations):
            if column in calibration:
                _reliability_line(panel, calibration[column], f"C{number % 10}", label)
        panel.set_title(f"{COLUMNS.get(column, column.upper())}", fontsize="medium")
        panel.set(xlim=(0, 1), ylim=(0, 1), xlabel="confidence (probability of the tag chosen)",
                  ylabel="accuracy")
        panel.grid(alpha=0.3)
        panel.legend(fontsize="small", loc="upper left")
    for unused in axes[len(columns):]:
        unused.set_visible(False)
    metadata = {"Date": None} if picture_format == "svg" else None
    with replacing(path, binary=True) as out:
        figure.savefig(out, format=picture_format, metadata=metadata)


def _reliability_line(panel, calibration, colour, label):
    bins = [b for b in calibration["bins"] if b["count"]]
    total = sum(b["count"] for b in bins) or 1
    panel.plot([b["confidence"] for b in bins], [b["accuracy"] for b in bins], color=colour,
               linewidth=1)
    panel.scatter([b["confidence"] for b in bins], [b["accuracy"] for b in bins], color=colour,
                  s=[10 + 200 * b["count"] / total for b in bins],
                  label=f"{label}: ECE {100 * calibration['ece']:.2f}%")
