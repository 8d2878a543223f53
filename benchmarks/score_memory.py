"""Peak memory of `dynlp score` on a large-vocabulary corpus, and a check that reading long
lines in pieces (lm.OUTPUT_BUDGET) leaves the log-probabilities as one graph gives them.

    python benchmarks/score_memory.py --lm LM_DIR [--input FILE] [--workers 0] [--check-lines 64]

Runs the real command line, `dynlp score -m LM_DIR FILE --workers N`, to the end, from a fresh
Python that reports the largest resident set of the command and its worker processes
(getrusage of the waited-for children), and its wall time.  Then, in this process, scores the
first `--check-lines` lines with the budget (pieces) and with an unlimited budget (every line
in one graph, as before the budget existed) and reports the largest difference.  The default
input is WikiText-2's test set (paragraph lines of up to 481 tokens).  One JSON line.
"""
import argparse
import json
import os
import sys
import time

import numpy as np

import dynlp.models.lm
from dynlp import RNNLanguageModel
from dynlp.data.text import data_dir, read_lines, tokenize
from peak_memory import run_fresh


def largest_difference(lm_dir, path, count):
    model = RNNLanguageModel.load(lm_dir)
    config = model.config
    lines = [tokenize(text, config.level, config.tokenized) for _, text in read_lines(path)]
    lines = [line for line in lines if line][:count]
    pieces = model.score_batch(lines)
    budget = dynlp.models.lm.OUTPUT_BUDGET
    dynlp.models.lm.OUTPUT_BUDGET = 1 << 62  # no budget: all lines in one graph
    try:
        whole = model.score_batch(lines)
    finally:
        dynlp.models.lm.OUTPUT_BUDGET = budget
    return max(float(np.max(np.abs(np.subtract(a[1], b[1])))) for a, b in zip(pieces, whole))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lm", required=True, help="a word LM directory")
    parser.add_argument("--input", default=os.path.join(data_dir(), "wikitext2", "test.txt"))
    parser.add_argument("--workers", type=int, default=0, help="0: dynlp's default")
    parser.add_argument("--check-lines", type=int, default=64)
    args = parser.parse_args()
    command = [sys.executable, "-m", "dynlp.cli", "score", "-m", args.lm, args.input, "--json",
               "--quiet"] + (["--workers", str(args.workers)] if args.workers else [])
    stdout, peak_mb, seconds = run_fresh(command)
    summary = json.loads(stdout.strip().splitlines()[-1])
    model = RNNLanguageModel.load(args.lm)
    print(json.dumps({"input": args.input, "workers": args.workers, "vocabulary": len(model.vocab),
                      "peak_rss_mb": peak_mb, "seconds": seconds,
                      "perplexity": summary["perplexity"], "tokens": summary["tokens"],
                      "output_budget": dynlp.models.lm.OUTPUT_BUDGET,
                      f"max_abs_difference_first_{args.check_lines}_lines":
                          largest_difference(args.lm, args.input, args.check_lines),
                      "date": time.strftime("%F %H:%M")}))


if __name__ == "__main__":
    main()
