"""A training run's metrics.jsonl read back: one record per epoch, and plain series of numbers
from them (what `dynlp plot` draws, and what a recipe can compare).

The loop (loop.py) writes one JSON object per finished epoch: `epoch`, `lr`, `train_loss`,
`train_tokens`, `words_per_sec`, `workers`, `elapsed` (seconds of training so far, counted on
across `--resume`; dev evaluation is not counted) and the dev figures: `dev_loss`, `dev_ppl`,
`dev_bits_per_token` and `dev_tokens` for a language model, the accuracy of each tagged column
(`dev_upos`, `dev_xpos`, `dev_feats`, and `dev_ufeats`, `dev_alltags`) and their mean
`dev_score` for a tagger.  Nothing here imports DyNet: a finished run is only numbers.
"""
import json
import math
import os

from dynlp.errors import DataError, ModelDirError
from dynlp.store.checkpoint import METRICS_FILE

# A tagger's dev fields that are not one tagged column's accuracy: the mean that training
# monitors, and the two figures the CoNLL 2018 evaluation derives from the columns.
NOT_A_COLUMN = {"dev_score", "dev_ufeats", "dev_alltags"}


def metrics_path(model_dir):
    return os.path.join(model_dir, METRICS_FILE)


def read_history(model_dir):
    """The epochs recorded in MODEL_DIR/metrics.jsonl, one dict each, in order."""
    path = metrics_path(model_dir)
    if not os.path.isdir(model_dir):
        raise ModelDirError(f"{model_dir}: no such directory")
    if not os.path.isfile(path):
        raise ModelDirError(f"{model_dir}: no {METRICS_FILE} (training writes one line to it an "
                            "epoch; an n-gram model has none)")
    try:
        with open(path, encoding="utf-8") as lines:
            records = [_record(line, path, number)
                       for number, line in enumerate(lines, 1) if line.strip()]
    except UnicodeDecodeError:
        raise DataError(f"{path}: not UTF-8 text") from None
    if not records:
        raise DataError(f"{path}: empty, no epoch recorded")
    return records


def _record(line, path, number):
    try:
        record = json.loads(line)
    except json.JSONDecodeError as error:
        raise DataError(f"{path}:{number}: not JSON ({error.msg})") from None
    if not isinstance(record, dict):
        raise DataError(f"{path}:{number}: not a JSON object (each line holds one epoch's "
                        "metrics)")
    return record


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def mean_words_per_sec(records):
    """The mean of the epochs' training words (or characters) per second; 0 when none says."""
    speeds = [r["words_per_sec"] for r in records if _is_number(r.get("words_per_sec"))]
    return round(sum(speeds) / len(speeds)) if speeds else 0


def numeric_fields(records):
    """The fields that hold a number in some epoch, in the order they first appear."""
    fields = {}
    for record in records:
        fields.update((key, None) for key, value in record.items() if _is_number(value))
    return list(fields)


def dev_fields(records):
    """What a run is judged by on dev: perplexity for a language model; for a tagger, the
    accuracy of each column it tags.  [] when neither is there."""
    fields = numeric_fields(records)
    if "dev_ppl" in fields:
        return ["dev_ppl"]
    return [f for f in fields if f.startswith("dev_") and f not in NOT_A_COLUMN]


def series(records, field, path):
    """The values of `field`, epoch by epoch; NaN (a gap in a drawn line) where an epoch has
    none: null, as JSON writes a missing accuracy, or absent."""
    if not any(field in record for record in records):
        raise DataError(f"{path}: no epoch has {field!r}")
    values = []
    for epoch, record in enumerate(records, 1):
        value = record.get(field)
        if value is not None and not _is_number(value):
            raise DataError(f"{path}: epoch {epoch}: {field} is {value!r}, not a number")
        values.append(math.nan if value is None else float(value))
    return values


def epochs(records):
    """The x of each record in epochs: its `epoch` field (which counts on across a resume)."""
    return [float(r["epoch"]) if _is_number(r.get("epoch")) else float(number)
            for number, r in enumerate(records, 1)]


def minutes(records, path):
    """The x of each record in minutes of training: `elapsed`, already cumulative, in minutes."""
    for epoch, record in enumerate(records, 1):
        if not _is_number(record.get("elapsed")):
            raise DataError(f"{path}: epoch {epoch} has no number for 'elapsed' (seconds of "
                            "training so far), which minutes need")
    return [r["elapsed"] / 60 for r in records]
