"""Throughput of `dynlp tag` and `dynlp score` with 1 and 2 worker processes.

    python benchmarks/workers.py --tagger TAGGER_DIR --lm LM_DIR [--copies 5]

Tagging input: UD English-EWT train repeated --copies times (5 copies: about 1M words);
scoring input: PTB train (about 0.93M words plus one </s> per line).  Runs the real command
line, checks that both worker counts give byte-identical output, and prints one JSON line with
words per second and the speed-up.  Data is read from $DYNLP_DATA (default ../shared/data).
"""
import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time

from dynlp.text import data_dir


def run(args):
    """Wall time and SHA-256 of the output of one dynlp command."""
    began = time.time()
    result = subprocess.run([sys.executable, "-m", "dynlp.cli", *args], capture_output=True,
                            check=True)
    return time.time() - began, hashlib.sha256(result.stdout).hexdigest()


def measure(name, args, words, workers=(1, 2)):
    timings = {}
    for n in workers:
        seconds, digest = run(args + ["--workers", str(n)])
        timings[n] = (seconds, digest)
    same = len({digest for _, digest in timings.values()}) == 1
    speed = {n: words / seconds for n, (seconds, _) in timings.items()}
    return {"task": name, "words": words, "identical_output": same,
            **{f"words_per_sec_{n}": round(v) for n, v in speed.items()},
            "speedup": round(speed[workers[-1]] / speed[workers[0]], 2)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tagger", required=True)
    parser.add_argument("--lm", required=True)
    parser.add_argument("--copies", type=int, default=5)
    args = parser.parse_args()
    ewt = open(os.path.join(data_dir(), "ud_en_ewt", "en_ewt-ud-train.conllu"),
               encoding="utf-8").read()
    words = sum(1 for line in ewt.splitlines() if line.split("\t")[0].isdigit())
    with tempfile.NamedTemporaryFile("w", suffix=".conllu", delete=False) as big:
        big.write(ewt * args.copies)
    ptb = os.path.join(data_dir(), "ptb", "ptb.train.txt")
    ptb_words = sum(len(line.split()) + 1 for line in open(ptb, encoding="utf-8"))
    try:
        rows = [measure("tag", ["tag", "-m", args.tagger, big.name], words * args.copies),
                measure("score", ["score", "-m", args.lm, ptb], ptb_words)]
    finally:
        os.remove(big.name)
    print(json.dumps({"rows": rows, "date": time.strftime("%F"),
                      "command": " ".join(["python"] + sys.argv)}))


if __name__ == "__main__":
    main()
