"""Throughput of `dynlp tag` and `dynlp score` with 1 and 2 worker processes (and on Ray).

    python benchmarks/workers.py --tagger TAGGER_DIR --lm LM_DIR [--copies 5] [--ray]

Tagging input: UD English-EWT train repeated --copies times (5 copies: about 1M words);
scoring input: PTB train (about 0.93M words plus one </s> per line).  Runs the real command
line, checks that every variant gives byte-identical output, and prints one JSON line with
words per second and the speed-up over one worker.  With `--ray`, the same work also runs with
`--ray local` (a Ray started by the command, 1 and 2 actors); Ray's start-up is included.  Data is read from $DYNLP_DATA (default ../shared/data).
"""
import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time

from dynlp.data.text import data_dir


def run(args):
    """Wall time and SHA-256 of the output of one dynlp command."""
    began = time.time()
    result = subprocess.run([sys.executable, "-m", "dynlp.cli", *args], capture_output=True,
                            check=True)
    return time.time() - began, hashlib.sha256(result.stdout).hexdigest()


def measure(name, args, words, variants):
    """Words per second of the command `args` with each variant's extra flags."""
    timings = {label: run(args + flags) for label, flags in variants.items()}
    same = len({digest for _, digest in timings.values()}) == 1
    speed = {label: words / seconds for label, (seconds, _) in timings.items()}
    first = speed[next(iter(variants))]
    return {"task": name, "words": words, "identical_output": same,
            "words_per_sec": {label: round(v) for label, v in speed.items()},
            "speedup": {label: round(v / first, 2) for label, v in speed.items()}}


def variants(with_ray):
    found = {"1 worker": ["--workers", "1"], "2 workers": ["--workers", "2"]}
    if with_ray:
        found.update({"ray, 1 actor": ["--ray", "local", "--workers", "1"],
                      "ray, 2 actors": ["--ray", "local", "--workers", "2"]})
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tagger", required=True)
    parser.add_argument("--lm", required=True)
    parser.add_argument("--copies", type=int, default=5)
    parser.add_argument("--ray", action="store_true", help="also run with --ray local")
    parser.add_argument("--tasks", default="tag,score", help="which of tag,score to run")
    args = parser.parse_args()
    ewt = open(os.path.join(data_dir(), "ud_en_ewt", "en_ewt-ud-train.conllu"),
               encoding="utf-8").read()
    words = sum(1 for line in ewt.splitlines() if line.split("\t")[0].isdigit())
    with tempfile.NamedTemporaryFile("w", suffix=".conllu", delete=False) as big:
        big.write(ewt * args.copies)
    ptb = os.path.join(data_dir(), "ptb", "ptb.train.txt")
    ptb_words = sum(len(line.split()) + 1 for line in open(ptb, encoding="utf-8"))
    try:
        rows = []
        if "tag" in args.tasks:
            rows.append(measure("tag", ["tag", "-m", args.tagger, big.name], words * args.copies,
                                variants(args.ray)))
        if "score" in args.tasks:
            rows.append(measure("score", ["score", "-m", args.lm, ptb], ptb_words,
                                variants(args.ray)))
    finally:
        os.remove(big.name)
    print(json.dumps({"rows": rows, "date": time.strftime("%F"),
                      "command": " ".join(["python"] + sys.argv)}))


if __name__ == "__main__":
    main()
