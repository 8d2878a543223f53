"""Probe a lever of the lecture table's character LSTM on dev (issue 50): the same minutes for
every variant, dev bits per character only (the test set is for the table's one run).

    python benchmarks/char_lstm_probe.py OUT --minutes 12 --variant "--dropout 0.2" \\
        --variant "--dropout 0.35" --variant "--dropout 0.5"

Each variant is recipes/lm_table.py's CHAR_LSTM with its flags after (a later flag wins),
trained by `dynlp train-lm` on the table's tiny-shakespeare split (train: the first 90% less
its last twentieth, which is dev) for --minutes, one after the other.  One JSON line each: the
best dev bits per character, the training loss (bits) of the epoch kept, epochs, characters/s.
"""
import argparse
import importlib.util
import json
import math
import os
import platform
import shlex
import subprocess
import sys
import time

from dynlp.store.history import mean_words_per_sec, read_history

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def lm_table():
    """recipes/lm_table.py as a module (recipes/ is not a package)."""
    spec = importlib.util.spec_from_file_location(
        "lm_table", os.path.join(ROOT, "recipes", "lm_table.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def probe(table, flags, paths, out, minutes):
    """Train one variant into `out`; its dev figures from metrics.jsonl."""
    table.dynlp("train-lm", paths["train"], "--dev", paths["dev"], "-o", out, "--overwrite",
                "--quiet", *table.CHAR_LSTM, *flags, "--max-minutes", minutes)
    records = read_history(out)
    best = min(records, key=lambda r: r["dev_loss"])
    return {"dev_bits_per_char": best["dev_loss"] / math.log(2),
            "train_bits_per_char_then": best["train_loss"] / math.log(2),
            "best_epoch": best["epoch"], "epochs": len(records),
            "chars_per_sec": mean_words_per_sec(records)}


def commit():
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                          cwd=ROOT)
    return done.stdout.strip() or None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", help="folder for the split and one model per variant")
    parser.add_argument("--minutes", type=float, default=12.0)
    parser.add_argument("--variant", action="append", required=True,
                        help="train-lm flags added to CHAR_LSTM, quoted (repeat)")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    table = lm_table()
    paths = table.shakespeare_split(args.out)
    for number, variant in enumerate(args.variant):
        began = time.time()
        result = probe(table, shlex.split(variant), paths,
                       os.path.join(args.out, f"variant-{number}"), args.minutes)
        result.update(variant=variant, minutes=args.minutes,
                      wall_minutes=round((time.time() - began) / 60, 1), commit=commit(),
                      date=time.strftime("%F %H:%M"),
                      machine=f"{platform.machine()} {os.cpu_count()} cores",
                      command=" ".join(["python"] + [shlex.quote(a) for a in sys.argv]))
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
