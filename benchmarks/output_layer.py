"""Which output layer each vocabulary size wants: the full and the class-factored softmax trained
side by side for the same minutes (issue 34, item 1), on every language-model corpus of
$DYNLP_DATA and on PTB cut to smaller vocabularies (where the two cross).

    python benchmarks/output_layer.py OUT                 # every corpus, 3 minutes a pair
    python benchmarks/output_layer.py OUT --minutes 2 --corpora ptb-char ptb-word

For each corpus `dynlp train-lm` trains twice at once, `--softmax full` beside `--softmax class`,
one process each (`--workers 1`), so each has one of the machine's two cores: the two figures of
a pair compare, figures of different pairs compare only as far as the machine stayed the same.
Everything else is train-lm's defaults (a 1-layer LSTM of 256, Adam at 0.002, 32 streams of 35
steps), because the question is what `train-lm` should choose when nobody says; every corpus is
read as one stream (`--stream`), as the benchmarks' recipes read them (WikiText-2's lines are
whole paragraphs).  PTB's characters come as space-separated tokens, so they are read as
tokens.  Prints one JSON line per corpus, then a Markdown table: vocabulary size, and each
layer's epochs, words/s and best dev perplexity.
"""
import argparse
import json
import os
import subprocess
import sys
import time


from dynlp.data.text import data_dir  # noqa: E402
from dynlp.store.checkpoint import load  # noqa: E402
from dynlp.store.history import mean_words_per_sec, read_history  # noqa: E402

# name: (train file, dev file or None, train-lm flags), files under $DYNLP_DATA
CORPORA = {
    "ptb-char": ("ptb/ptb.char.train.txt", "ptb/ptb.char.valid.txt", ["--word", "--tokenized"]),
    "shakespeare-char": ("tinyshakespeare/input.txt", None, ["--char"]),  # dev: its last 5%
    "ptb-word-1k": ("ptb/ptb.train.txt", "ptb/ptb.valid.txt",
                    ["--word", "--tokenized", "--max-vocab", "1000"]),
    "ptb-word-3k": ("ptb/ptb.train.txt", "ptb/ptb.valid.txt",
                    ["--word", "--tokenized", "--max-vocab", "3000"]),
    "ptb-word": ("ptb/ptb.train.txt", "ptb/ptb.valid.txt", ["--word", "--tokenized"]),
    "wikitext2-word": ("wikitext2/train.txt", "wikitext2/valid.txt", ["--word", "--tokenized"]),
}
LAYERS = ("full", "class")
DYNLP = [sys.executable, "-c", "import sys; from dynlp.cli import main; sys.exit(main())"]


def train_pair(name, out, minutes):
    """Train the corpus's full and class models at once; {layer: summary of its history}."""
    train, dev, flags = CORPORA[name]
    jobs = {}
    for layer in LAYERS:
        model_dir = os.path.join(out, f"{name}-{layer}")
        command = DYNLP + ["train-lm", os.path.join(data_dir(), train), "-o", model_dir,
                           "--quiet", "--workers", "1", "--max-minutes", str(minutes),
                           "--stream", "--softmax", layer, *flags]
        if dev:
            command += ["--dev", os.path.join(data_dir(), dev)]
        jobs[layer] = (model_dir, subprocess.Popen(command, stderr=subprocess.PIPE, text=True))
    results = {}
    for layer, (model_dir, job) in jobs.items():
        _, errors = job.communicate()
        if job.returncode:
            raise SystemExit(f"{name}, --softmax {layer}: train-lm failed: "
                             f"{(errors.strip().splitlines() or ['no message'])[-1]}")
        results[layer] = summary(model_dir)
    return results


def summary(model_dir):
    """Epochs, mean training words/s and best dev perplexity of a finished run."""
    history = read_history(model_dir)
    _, vocabs, _ = load(model_dir, "language-model")
    return {"epochs": len(history), "words_per_sec": mean_words_per_sec(history),
            "best_dev_ppl": round(min(record["dev_ppl"] for record in history), 2),
            "vocab": len(vocabs["vocab"])}


def markdown(rows, minutes):
    lines = [f"{minutes:g} minutes of training each:", "",
             "| corpus | vocabulary | full: epochs, words/s, dev | class: epochs, words/s, dev "
             "| class / full words/s |", "| --- | --- | --- | --- | --- |"]
    for row in rows:
        full, cls = row["full"], row["class"]
        lines.append(f"| {row['corpus']} | {full['vocab']:,} | {full['epochs']}, "
                     f"{full['words_per_sec']:,}, {full['best_dev_ppl']} | {cls['epochs']}, "
                     f"{cls['words_per_sec']:,}, {cls['best_dev_ppl']} | "
                     f"{cls['words_per_sec'] / full['words_per_sec']:.2f} |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", help="directory for the models")
    parser.add_argument("--minutes", type=float, default=3.0, help="training minutes of each run")
    parser.add_argument("--corpora", nargs="+", choices=list(CORPORA), default=list(CORPORA))
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    rows = []
    for name in args.corpora:
        began = time.time()
        row = {"corpus": name, **train_pair(name, args.out, args.minutes),
               "wall_minutes": round((time.time() - began) / 60, 1), "date": time.strftime("%F"),
               "command": " ".join(["python"] + sys.argv)}
        print(json.dumps(row), flush=True)
        rows.append(row)
    print(markdown(rows, args.minutes))


if __name__ == "__main__":
    main()
