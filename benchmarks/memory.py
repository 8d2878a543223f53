"""Memory of `dynlp score`, or of `dynlp tag --input text`, on a 1 GB input: does it stay flat
while the input streams through?

    python benchmarks/memory.py --lm LM_DIR [--gigabytes 1] [--seconds 300] [--workers 2] [--ray]
    python benchmarks/memory.py --tagger MODEL_DIR [--gigabytes 1] [--seconds 300] [--workers 1]

Writes a temporary input of the given size: for `--lm`, PTB train repeated; for `--tagger` (a
tagger with its tokenizer), the raw text of en_ewt's training paragraphs repeated with a space
between them and **no line break at all**, one line of 1 GB.  Runs the real command line
(`--workers N`, or `--ray local --workers N`) for `--seconds`, and every 10 seconds records how
many output lines are done and the resident memory (RSS) of the driver and of every process it
started (pool workers, or Ray's processes and actors).  Then it stops the command with Ctrl-C (which
leaves no output behind) and prints one JSON line.  A command that read its input whole would
show its size in RSS at once; a streaming one stays flat however far it gets.
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

from common import provenance
from dynlp.data.rawtext import paragraph_texts
from dynlp.data.text import data_dir
from dynlp.data.treebank import read_conllu
from dynlp.store.atomic import TEMPORARY


def make_input(path, gigabytes, one_line=False):
    """PTB train repeated, or (`one_line`) en_ewt's training text as one line, to the size."""
    if one_line:
        treebank = os.path.join(data_dir(), "ud_en_ewt", "en_ewt-ud-train.conllu")
        text = (" ".join(paragraph_texts(list(read_conllu(treebank, ())))) + " ").encode()
    else:
        text = open(os.path.join(data_dir(), "ptb", "ptb.train.txt"), "rb").read()
    with open(path, "wb") as out:
        for _ in range(int(gigabytes * 2**30 // len(text)) + 1):
            out.write(text)
    return os.path.getsize(path)


def descendants(root):
    """`root` and every process below it, from /proc."""
    children = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            parent = int(open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(pid))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += children.get(pid, [])
    return found


def rss_mb(pid):
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def lines_done(directory):
    """Lines written so far to the command's temporary output file."""
    for name in os.listdir(directory):
        if name.startswith(TEMPORARY):  # the output, half-written until the command ends
            with open(os.path.join(directory, name), "rb") as out:
                return sum(block.count(b"\n") for block in iter(lambda: out.read(1 << 20), b""))
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    model = parser.add_mutually_exclusive_group(required=True)
    model.add_argument("--lm", help="language model directory: `dynlp score`")
    model.add_argument("--tagger", help="tagger directory with its tokenizer: `dynlp tag "
                                        "--input text` on one line of 1 GB")
    parser.add_argument("--gigabytes", type=float, default=1.0)
    parser.add_argument("--seconds", type=int, default=300)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--ray", action="store_true", help="run with --ray local")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        source = os.path.join(tmp, "input.txt")
        size = make_input(source, args.gigabytes, one_line=bool(args.tagger))
        job = (["tag", "-m", args.tagger, "--input", "text"] if args.tagger
               else ["score", "-m", args.lm])
        command = [sys.executable, "-m", "dynlp.cli", *job, source,
                   os.path.join(tmp, "output.txt"), "--workers", str(args.workers), "--quiet"]
        command += ["--ray", "local"] if args.ray else []
        process = subprocess.Popen(command, stderr=subprocess.DEVNULL)
        began, samples = time.time(), []
        while time.time() - began < args.seconds and process.poll() is None:
            time.sleep(10)
            pids = descendants(process.pid)
            memory = {pid: rss_mb(pid) for pid in pids}
            samples.append({"seconds": round(time.time() - began), "lines": lines_done(tmp),
                            "driver_mb": round(memory[process.pid]),
                            "largest_other_mb": round(max([m for p, m in memory.items()
                                                           if p != process.pid] or [0])),
                            "total_mb": round(sum(memory.values())), "processes": len(pids)})
        process.send_signal(signal.SIGINT)
        process.wait(timeout=120)
    print(json.dumps({"job": job[0], "input_bytes": size, "workers": args.workers, "ray": args.ray,
                      "samples": samples, **provenance()}))


if __name__ == "__main__":
    main()
