"""Peak resident memory of tagger training: `dynlp train-tagger` for one epoch, with its
defaults, on a treebank as it is and with a few very long sentences added.

    python benchmarks/train_memory.py [--treebank ud_en_ewt] [--long 3] [--words 250] [FLAGS]

DyNet's memory pools grow to the largest graph a process builds and never shrink, so a
training process's peak is set by its largest batch: without a bound, the batch of the
longest sentences.  Each run is a fresh `dynlp train-tagger ... --epochs 1` (every batch
is built once in an epoch); its peak is the largest resident set of the command or any
worker it forked (getrusage of the waited-for children).  FLAGS go to every run (for example
`--batch-words 0` to see the unbounded peak).  One JSON line per input.
"""
import argparse
import glob
import json
import os
import sys
import tempfile

from dynlp.data.text import data_dir
from peak_memory import run_fresh


def long_sentences(source, count, words):
    """`count` CoNLL-U sentences of at least `words` words each, made by joining consecutive
    sentences of `source` (renumbered; the tags stay those of each word)."""
    sentences, current, rows = [], [], []
    for line in open(source, encoding="utf-8"):
        line = line.rstrip("\n")
        if line and not line.startswith("#"):
            cells = line.split("\t")
            if cells[0].isdigit():
                rows.append(cells)
        elif not line and rows:
            current += rows
            rows = []
            if len(current) >= words:
                sentences.append(current)
                current = []
                if len(sentences) == count:
                    break
    text = []
    for sentence in sentences:
        for i, cells in enumerate(sentence, 1):
            text.append("\t".join([str(i), *cells[1:6], "0" if i == 1 else "1", *cells[7:]]))
        text.append("")
    return "\n".join(text) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--treebank", default="ud_en_ewt")
    parser.add_argument("--long", type=int, default=3, help="long sentences to add")
    parser.add_argument("--words", type=int, default=250, help="words in each long sentence")
    args, flags = parser.parse_known_args()
    folder = os.path.join(data_dir(), args.treebank)
    train = glob.glob(os.path.join(folder, "*-ud-train.conllu"))[0]
    dev = glob.glob(os.path.join(folder, "*-ud-dev.conllu"))[0]
    with tempfile.TemporaryDirectory() as scratch:
        with_long = os.path.join(scratch, "with-long.conllu")
        with open(with_long, "w", encoding="utf-8") as out:
            out.write(open(train, encoding="utf-8").read().rstrip("\n") + "\n\n")
            out.write(long_sentences(train, args.long, args.words))
        # Each input in a fresh interpreter, so one run's peak is not the other's.
        for name, path in (("as is", train), (f"+{args.long} x {args.words} words", with_long)):
            command = [sys.executable, "-m", "dynlp.cli", "train-tagger", path, "--dev", dev,
                       "--epochs", "1", "--quiet", "-o", os.path.join(scratch, "model"), *flags]
            _, peak_mb, seconds = run_fresh(command)
            print(json.dumps({"treebank": args.treebank, "input": name, "flags": " ".join(flags),
                              "peak_rss_mb": peak_mb, "seconds": seconds}), flush=True)


if __name__ == "__main__":
    main()
