"""How well a tagger column learns when only a share of its training words have a value.

    python benchmarks/missing_share.py OUT [--keep 1.0 0.5 0.25 0.1] [--epochs 3]

Trains UPOS alone on ud_ug_udt's dev file (10,644 words) with each share of its UPOS cells kept
and the others set to `_` (chosen at random, seed 7), for a fixed number of epochs, the best
epoch chosen on the first 300 sentences of ud_ug_udt's train file; then scores ud_ug_udt's test
file, which is filled throughout.  One line per share on stdout (test UPOS accuracy, seconds).
What it informs: MIN_FILLED_SHARE in dynlp/tasks/tagger.py.
"""
import argparse
import json
import os
import random
import subprocess
import sys
import time

DATA = os.environ.get("DYNLP_DATA", os.path.join(os.path.dirname(__file__), "..", "..",
                                                 "shared", "data"))
UG = os.path.join(DATA, "ud_ug_udt", "ug_udt-ud-{}.conllu")


def blanked(path, keep, out, column=3, seed=7):
    """Write `path` to `out` with each word's `column` cell kept with probability `keep`."""
    rng = random.Random(seed)
    with open(path, encoding="utf-8") as source, open(out, "w", encoding="utf-8") as target:
        for line in source:
            cells = line.rstrip("\n").split("\t")
            if len(cells) == 10 and cells[0].isdigit() and rng.random() >= keep:
                cells[column] = "_"
            target.write("\t".join(cells) + "\n")


def first_sentences(path, count, out):
    with open(path, encoding="utf-8") as source:
        blocks = source.read().split("\n\n")[:count]
    with open(out, "w", encoding="utf-8") as target:
        target.write("\n\n".join(blocks) + "\n\n")


def dynlp(*argv):
    return subprocess.run([sys.executable, "-m", "dynlp.cli", *argv], check=True,
                          capture_output=True, text=True).stdout


def run(out, keep, epochs, select):
    train, model = os.path.join(out, f"train-{keep}.conllu"), os.path.join(out, f"m-{keep}")
    blanked(UG.format("dev"), keep, train)
    began = time.time()
    dynlp("train-tagger", train, "--dev", select, "--columns", "upos", "--ensemble", "1",
          "--epochs", str(epochs), "--seed", "1", "-o", model, "--quiet")
    scores = json.loads(dynlp("evaluate", "-m", model, UG.format("test"), "--json"))
    upos = scores["columns"]["upos"]
    print(f"keep {keep}: test UPOS {100 * upos['accuracy']:.2f}% (unseen words "
          f"{100 * upos['oov_accuracy']:.2f}%), {time.time() - began:.0f} s", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out")
    parser.add_argument("--keep", type=float, nargs="+", default=[1.0, 0.5, 0.25, 0.1])
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    select = os.path.join(args.out, "select.conllu")
    first_sentences(UG.format("train"), 300, select)
    for keep in args.keep:
        run(args.out, keep, args.epochs, select)


if __name__ == "__main__":
    main()
