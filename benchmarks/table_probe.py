"""Probe a lever of a recurrent row of the lecture's table (recipes/lm_table.py, issue 50) on
dev: the same minutes for every variant, dev figures only (the test set is for the table).

    python benchmarks/table_probe.py OUT --row char-lstm --minutes 12 \\
        --variant "--dropout 0.2" --variant "--dropout 0.35" --variant "--dropout 0.5"
    python benchmarks/table_probe.py OUT --row 2 --minutes 8 --variant= --variant=--residual

`--row char-lstm` is the character LSTM (CHAR_LSTM, on the table's tiny-shakespeare split:
train is the first 90% less its last twentieth, which is dev); `--row N` is PTB row N (from 0:
1 the RNN, 2 the deep RNN, 3 the LSTM, 4 the GRU) on PTB train and valid.  Each variant is the
row's flags with its own after them (a later flag wins), trained by `dynlp train-lm` for
--minutes, one after the other.  One JSON line each: the best dev loss (bits per token, and
perplexity), the training loss of the epoch kept, epochs, tokens/s.
"""
import argparse
import importlib.util
import json
import math
import os
import shlex
import sys
import time

from dynlp.data.text import data_dir
from dynlp.store.history import mean_words_per_sec, read_history

from common import provenance

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def lm_table():
    """recipes/lm_table.py as a module (recipes/ is not a package)."""
    spec = importlib.util.spec_from_file_location(
        "lm_table", os.path.join(ROOT, "recipes", "lm_table.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def row_data(table, row, out):
    """(the row's flags, {"train", "dev"} paths) of `row`: "char-lstm" or a PTB row number."""
    if row == "char-lstm":
        return table.CHAR_LSTM, table.shakespeare_split(out)
    name, _, flags = table.PTB_ROWS[int(row)]
    if "--ngram" in flags:
        sys.exit(f"table_probe.py: --row {row} ({name}) has no recurrent model to probe")
    ptb = os.path.join(data_dir(), "ptb")
    return flags, {part: os.path.join(ptb, f"ptb.{file}.txt")
                   for part, file in (("train", "train"), ("dev", "valid"))}


def probe(table, flags, paths, out, minutes):
    """Train one variant into `out`; its dev figures from metrics.jsonl."""
    table.dynlp("train-lm", paths["train"], "--dev", paths["dev"], "-o", out, "--overwrite",
                "--quiet", *flags, "--max-minutes", minutes)
    records = read_history(out)
    best = min(records, key=lambda r: r["dev_loss"])
    return {"dev_bits_per_token": best["dev_loss"] / math.log(2), "dev_ppl": best["dev_ppl"],
            "train_bits_per_token_then": best["train_loss"] / math.log(2),
            "best_epoch": best["epoch"], "epochs": len(records),
            "tokens_per_sec": mean_words_per_sec(records)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", help="folder for one model per variant")
    parser.add_argument("--row", default="char-lstm", help="char-lstm, or a PTB row's number")
    parser.add_argument("--minutes", type=float, default=12.0)
    parser.add_argument("--variant", action="append", required=True,
                        help="train-lm flags added to the row's, quoted (repeat; --variant= for "
                             "none, --variant=--flag for one flag alone)")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    table = lm_table()
    row_flags, paths = row_data(table, args.row, args.out)
    for number, variant in enumerate(args.variant):
        began = time.time()
        result = probe(table, [*row_flags, *shlex.split(variant)], paths,
                       os.path.join(args.out, f"variant-{number}"), args.minutes)
        result.update(row=args.row, variant=variant, minutes=args.minutes,
                      wall_minutes=round((time.time() - began) / 60, 1), **provenance())
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
