"""A served model's card: what it is, how big, how it was trained, and its dev curve, read at
start from the model directory's files alone (config.json, metrics.jsonl, the parameter file's
header), so the app shows it without DyNet.

    {"kind", "family", "model": {columns | level, cell, layers, ... | order, level, smoothing},
     "sizes": {"emb_dim": 8, "hidden_dim": 8}, "parameters": 731, "disk_bytes": 4473,
     "epochs": 4, "training_seconds": 0.4, "best_epoch": 4, "best_dev": {"dev_ppl": 10.4, ...},
     "curve": {"metric": "dev_ppl", "label": "dev perplexity", "epochs": [1, 2, 3, 4],
               "values": [11.0, 10.8, 10.6, 10.4], "earlier_left_out": false}}

The curve is one dev figure of each epoch (perplexity for a language model, the first
column's accuracy for a tagger); an n-gram model has no epochs, so no curve.  metrics.jsonl
grows by a line an epoch and may be long: only its last MAX_POINTS lines are read, from the end,
and at most TAIL_BYTES of it.
"""
import json
import logging
import math
import os

from dynlp.store import paramfile, tensorfile
from dynlp.store.checkpoint import CONFIG_FILE, METRICS_FILE

log = logging.getLogger("dynlp")

MAX_POINTS = 1_000  # epochs on the curve: the last ones
TAIL_BYTES = 1 << 24  # at most 16 MiB of metrics.jsonl read (a thousand lines take ~300 KB)
BLOCK_BYTES = 1 << 16
# What the model's config says it is, and how big it is, by family.
WHAT = {"tagger": ("columns", "column", "feats", "layers", "ensemble"),  # column: format 1
        "recurrent": ("level", "cell", "layers", "softmax", "classes", "tie_weights"),
        "ngram": ("order", "level", "smoothing")}
SIZES = ("emb_dim", "char_dim", "hidden_dim", "mlp_dim")


def model_card(directory, meta):
    """The card of the model in `directory`, whose config.json `meta` is already read."""
    config = meta["config"]
    family = "tagger" if meta["kind"] == "tagger" else (
        "ngram" if config.get("family") == "ngram" else "recurrent")
    lines, left_out = tail_lines(os.path.join(directory, METRICS_FILE), MAX_POINTS)
    history = parse_metrics(lines, os.path.join(directory, METRICS_FILE))
    epochs = [m for m in history if isinstance(m.get("epoch"), int)]
    best = best_metrics(meta, history, epochs)
    return {"kind": meta["kind"], "family": family,
            "model": {k: config[k] for k in WHAT[family] if k in config},
            "sizes": {k: config[k] for k in SIZES if k in config and family != "ngram"},
            "parameters": parameter_count(directory, meta),
            "ngrams": (meta.get("metrics") or {}).get("ngrams"),
            "disk_bytes": disk_bytes(directory, meta),
            "epochs": epochs[-1]["epoch"] if epochs else None,
            "training_seconds": training_seconds(meta, history),
            "best_epoch": best.get("epoch"),
            "best_dev": {k: v for k, v in best.items() if k.startswith("dev_")},
            "curve": curve(family, config, epochs, left_out)}


def tail_lines(path, count):
    """(the last `count` non-blank lines of a text file as bytes, whether earlier ones were left
    out), reading blocks from the end: the memory is the tail's, not the file's.  No file: []."""
    try:
        source = open(path, "rb")
    except OSError:
        return [], False
    with source:
        end = source.seek(0, os.SEEK_END)
        blocks, newlines, read = [], 0, 0
        while end > 0 and newlines <= count and read < TAIL_BYTES:
            start = max(0, end - BLOCK_BYTES)
            source.seek(start)
            blocks.append(source.read(end - start))
            newlines, read, end = newlines + blocks[-1].count(b"\n"), read + end - start, start
    lines = b"".join(reversed(blocks)).split(b"\n")
    if end > 0:
        lines = lines[1:]  # the first may be the end of a line we did not read
    lines = [line for line in lines if line.strip()]
    return lines[-count:], end > 0 or len(lines) > count


def parse_metrics(lines, path):
    """The JSON object of each line; a line that is not one is left out, with a warning (the
    card is for reading, and serving goes on without it)."""
    history, bad = [], 0
    for line in lines:
        try:
            metrics = json.loads(line)
        except (ValueError, UnicodeDecodeError):
            metrics = None
        if isinstance(metrics, dict):
            history.append(metrics)
        else:
            bad += 1
    if bad:
        log.warning("dynlp serve: %s: %d lines are not JSON objects; the model's card leaves "
                    "them out", path, bad)
    return history


def best_metrics(meta, history, epochs):
    """The metrics of the epoch kept (config.json says which), from metrics.jsonl where it has
    that line; config.json's copy otherwise.  An n-gram model's one line has no epoch."""
    if meta.get("training"):
        kept = meta["training"].get("epoch")
        found = [m for m in epochs if m["epoch"] == kept]
        return found[-1] if found else dict(meta["training"].get("metrics") or {})
    if history and not epochs:
        return history[-1]
    return dict(meta.get("metrics") or {})


def training_seconds(meta, history):
    """Seconds spent training: the last epoch's running total, or an n-gram model's count."""
    for metrics in reversed(history):
        for key in ("elapsed", "seconds"):
            if isinstance(metrics.get(key), (int, float)):
                return metrics[key]
    return ((meta.get("training") or {}).get("metrics") or {}).get("elapsed")


def curve(family, config, epochs, left_out):
    """The monitored dev figure of each epoch: perplexity, or the first column's accuracy."""
    if family == "tagger":
        column = str(config.get("columns") or config.get("column") or "upos").split(",")[0]
        metric, label = f"dev_{column}", f"dev {column.upper()} accuracy"
    else:
        metric, label = "dev_ppl", "dev perplexity"
    points = [(m["epoch"], m.get(metric)) for m in epochs if metric in m]
    return {"metric": metric, "label": label, "epochs": [epoch for epoch, _ in points],
            # JSON has no NaN: a figure that is not a finite number is a gap (null).
            "values": [v if isinstance(v, (int, float)) and math.isfinite(v) else None
                       for _, v in points],
            "earlier_left_out": left_out}


def parameter_count(directory, meta):
    """Values in the parameter file, from its header; None for an n-gram model's ARPA tables."""
    name = meta["files"].get("params")
    if not isinstance(name, str) or name != os.path.basename(name):
        return None
    path = os.path.join(directory, name)
    if name.endswith(".safetensors"):
        return tensorfile.count_values(path)
    return paramfile.count_values(path) if name.endswith(".dy") else None


def disk_bytes(directory, meta):
    """Bytes of config.json and the files it names (not last/, the training checkpoint)."""
    names = [CONFIG_FILE] + [n for n in meta["files"].values()
                             if isinstance(n, str) and n == os.path.basename(n)]
    return sum(os.path.getsize(os.path.join(directory, n)) for n in names
               if os.path.isfile(os.path.join(directory, n)))
