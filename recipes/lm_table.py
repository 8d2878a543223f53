"""The lecture's language-model comparisons, on this machine, on the same data, scored the same way.

    python recipes/lm_table.py                               # about 80 minutes on 2 cores
    python recipes/lm_table.py --minutes 3 --char-minutes 2  # a quick look (about 20 minutes)
    python recipes/lm_table.py --rows 3 --no-char            # one PTB row, numbered from 0
    python recipes/lm_table.py --no-ptb                      # the tiny-shakespeare table only

Penn Treebank ($DYNLP_DATA/ptb, word level, its own <unk>s): a 5-gram count-based model
(interpolated modified Kneser-Ney), then a simple RNN, a deep (2-layer) simple RNN, an LSTM and
a GRU (2 layers each), each trained by `dynlp train-lm` for --minutes under one RECIPE (the
README's PTB sizes: 256 units, tied embeddings, dropout 0.25, 20 streams of 35 steps; with the
class softmax and Adam at 0.002, settling over the last two epochs), dev for early stopping.
tiny-shakespeare: nanoGPT's split (the last 10% of the characters held out; dev, for early
stopping, is the last twentieth of the other 90%), Goldberg's order-10 character n-gram
(unsmoothed) and the same order with Kneser-Ney beside a character LSTM trained on lines for
--char-minutes; bits per character and three samples of each.

Every row is scored on the test text by `dynlp score` itself (one line at a time, each line's
`</s>` counted), so the comparison is exact; a model trained as a stream is also scored as one
stream (`dynlp score --stream`), in a column beside.  Training, scoring and sampling run as `dynlp`
subprocesses; their models stay in --out.  The tables print on stdout (Markdown) and go to
OUT/table.md with the figures in OUT/results.json, and OUT/curves.png draws every recurrent row's
dev perplexity and training loss against minutes of training (as `dynlp plot --x minutes` does;
it needs matplotlib, `pip install 'dynlp[plot]'`, and is skipped with a note without it).
"""
import argparse
import json
import math
import os
import subprocess
import sys
import time

from dynlp.curves import draw, run_curves
from dynlp.data.text import data_dir
from dynlp.errors import DynlpError
from dynlp.store.history import mean_words_per_sec, metrics_path, read_history

# One recipe for every recurrent row (issue 34): the README's PTB sizes (256 units, tied
# embeddings, dropout 0.25, 20 streams of 35 steps) with the class softmax and Adam at 0.002, and
# the rate halved after each epoch once fewer than two epochs' time is left.  Why not the
# README's SGD at 1 (benchmarks/notes/2026-12-04-one-recipe-for-every-cell.md, 4-minute probes on
# one core): the simple RNN and GRU diverge there (train loss 17-28 nats a word), the simple RNN
# at 0.3 reached dev 541 where Adam reached 252, and the class softmax, 2.7 times the full one's
# words/s on PTB, stalls under SGD at 1 but learns under Adam (dev 149 after 4 minutes).
RECIPE = ["--word", "--tokenized", "--stream", "--hidden-dim", "256", "--emb-dim", "256",
          "--tie-weights", "--dropout", "0.25", "--softmax", "class", "--trainer", "adam",
          "--lr", "0.002", "--batch-size", "20", "--bptt", "35", "--settle-epochs", "2"]
# (row, the lecture's test perplexity, dynlp train-lm flags; None: --ngram)
PTB_ROWS = [
    ("5-gram count-based (modified Kneser-Ney)", "141.2", ["--word", "--tokenized", "--ngram", "5"]),
    ("RNN (1 layer)", "124.7", RECIPE + ["--cell", "rnn", "--layers", "1"]),
    ("deep RNN (2 layers)", "107.5", RECIPE + ["--cell", "rnn", "--layers", "2"]),
    ("LSTM (2 layers)", "78.4", RECIPE + ["--cell", "lstm", "--layers", "2"]),
    ("GRU (2 layers)", "—", RECIPE + ["--cell", "gru", "--layers", "2"]),
]
# Trained on lines, as it is scored and as the n-gram models are trained: trained as one stream
# (the state carried across lines) it scored 2.620 bits line by line and 2.392 as a stream
# (benchmarks/RESULTS.md), paying on every short line for a start it never learnt.
CHAR_LSTM = ["--char", "--layers", "2", "--hidden-dim", "256", "--emb-dim", "64",
             "--dropout", "0.2", "--trainer", "adam", "--lr", "0.002", "--batch-size", "32",
             "--settle-epochs", "2"]
CHAR_ROWS = [
    ("order-10 character n-gram, unsmoothed (Goldberg)", ["--char", "--ngram", "10",
                                                          "--smoothing", "none"]),
    ("order-10 character n-gram, Kneser-Ney", ["--char", "--ngram", "10"]),
    ("character LSTM (2 x 256)", CHAR_LSTM),
]
DYNLP = [sys.executable, "-c", "import sys; from dynlp.cli import main; sys.exit(main())"]


def dynlp(*args):
    """Run a dynlp command; its stdout, or an error naming the command."""
    done = subprocess.run(DYNLP + [str(a) for a in args], capture_output=True, text=True)
    if done.returncode:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise RuntimeError(f"dynlp {args[0]} failed: {last}")
    return done.stdout


def train_and_score(name, flags, train, dev, test, out, minutes):
    """Train one row's model into `out` and score `test`: a dict of what the tables show."""
    began = time.time()
    timed = [] if "--ngram" in flags else ["--max-minutes", minutes]
    dynlp("train-lm", train, "--dev", dev, "-o", out, "--overwrite", "--quiet", *flags, *timed)
    trained = time.time() - began
    summary = json.loads(dynlp("score", "-m", out, test, "--json"))
    row = {"row": name, "perplexity": summary["perplexity"],
           "bits_per_token": summary["bits_per_token"], "tokens": summary["tokens"],
           "train_minutes": round(trained / 60, 1), "epochs": None, "dir": out}
    if "--ngram" not in flags:
        row.update(training_speed(out))
    if "--stream" in flags:
        # The same model scored as one stream, the state carried across lines: the protocol of
        # the lecture's LSTM figure (the table's own column starts every line afresh).
        row["stream_perplexity"] = json.loads(dynlp("score", "-m", out, test, "--stream",
                                                      "--json"))["perplexity"]
    print(f"# {name}: test perplexity {summary['perplexity']:.2f}, "
          f"{summary['bits_per_token']:.3f} bits per token ({trained / 60:.1f} min)",
          file=sys.stderr)
    return row


def training_speed(out):
    """Epochs trained and the mean training words (or characters) per second, from metrics.jsonl."""
    records = read_history(out)
    return {"epochs": len(records), "words_per_sec": mean_words_per_sec(records)}


def run_row(name, flags, train, dev, test, out, minutes):
    try:
        return train_and_score(name, flags, train, dev, test, out, minutes)
    except RuntimeError as error:
        print(f"# {name}: {error}", file=sys.stderr)
        return {"row": name, "error": str(error)}


def shakespeare_split(out):
    """nanoGPT's split of tiny-shakespeare: the last 10% of the characters held out (test);
    of the first 90%, the last twentieth is dev (early stopping), the rest train."""
    text = open(os.path.join(data_dir(), "tinyshakespeare", "input.txt"), encoding="utf-8").read()
    cut = int(len(text) * 0.9)
    dev_cut = int(cut * 0.95)
    paths = {}
    for part, piece in (("train", text[:dev_cut]), ("dev", text[dev_cut:cut]),
                        ("test", text[cut:])):
        paths[part] = os.path.join(out, f"shakespeare.{part}.txt")
        with open(paths[part], "w", encoding="utf-8") as handle:
            handle.write(piece if piece.endswith("\n") else piece + "\n")
    return paths


def unseen_share(model_dir, test):
    """The share of test characters an unsmoothed model gives probability 0 (why its
    perplexity is infinite), read through the same model class that `dynlp score` loads."""
    from dynlp.models.registry import load_language_model
    from dynlp.data.text import read_sentences

    model = load_language_model(model_dir)
    lines = [line for line in read_sentences(test, "char", False, False) if line]
    zeros = tokens = 0
    for start in range(0, len(lines), 256):
        for _, per_token in model.score_batch(lines[start:start + 256]):
            zeros += sum(p == -math.inf for p in per_token)
            tokens += len(per_token)
    return zeros / tokens


def ptb_table(args):
    ptb = os.path.join(data_dir(), "ptb")
    paths = [os.path.join(ptb, f"ptb.{part}.txt") for part in ("train", "valid", "test")]
    rows = []
    for number, (name, lecture, flags) in enumerate(PTB_ROWS):
        if args.rows and number not in args.rows:
            continue
        row = run_row(name, flags, *paths, os.path.join(args.out, f"ptb-{number}"), args.minutes)
        rows.append({**row, "lecture": lecture})
    return rows


def char_table(args):
    paths = shakespeare_split(args.out)
    rows = []
    for number, (name, flags) in enumerate(CHAR_ROWS):
        out = os.path.join(args.out, f"shakespeare-{number}")
        row = run_row(name, flags, paths["train"], paths["dev"], paths["test"], out,
                      args.char_minutes)
        if "error" not in row:
            row["samples"] = dynlp("sample", "-m", out, "-n", 3, "--max-len", 300, "--seed", 1,
                                   "--temperature", 1.0).splitlines()
            if "none" in flags:
                row["zero_probability_share"] = unseen_share(out, paths["test"])
        rows.append(row)
    return rows


CURVES = ["dev_ppl", "train_loss"]


def draw_curves(rows, out):
    """OUT/curves.png: the dev perplexity (per word, or per character for the character rows)
    and training loss of every row trained in epochs, against minutes; its path, or None when
    there is nothing to draw or no matplotlib (a note on stderr: the tables stand without it)."""
    trained = [row for row in rows if row.get("epochs")]  # not the n-gram rows, nor failed ones
    if not trained:
        return None
    path = os.path.join(out, "curves.png")
    try:
        runs = [(row["row"], run_curves(read_history(row["dir"]), metrics_path(row["dir"]),
                                        CURVES, "minutes")) for row in trained]
        draw(runs, CURVES, "minutes", path, "png")
    except DynlpError as error:
        print(f"# no curves.png: {error}", file=sys.stderr)
        return None
    return path


# ---- the tables ------------------------------------------------------------------------------------
def figure(row, key, digits):
    if "error" in row:
        return "failed: " + row["error"]
    value = row[key]
    return "∞" if math.isinf(value) else f"{value:.{digits}f}"


def budget(row, minutes):
    if "error" in row:
        return ""
    if row.get("epochs") is None:
        return f"{row['train_minutes']} min"
    return (f"{row['train_minutes']} min, {row['epochs']} epochs at {row['words_per_sec']:,} "
            f"tokens/s (budget {minutes:g})")


def markdown(ptb_rows, char_rows, args):
    """The tables of the rows that ran, then the character models' samples."""
    sections = []
    if ptb_rows:
        sections.append(ptb_markdown(ptb_rows, args.minutes))
    if char_rows:
        sections.append(char_markdown(char_rows, args.char_minutes))
    return "\n\n".join(sections) + "\n"


def ptb_markdown(rows, minutes):
    lines = ["Penn Treebank, test perplexity (word level, `</s>` counted, 82,430 tokens):", "",
             "| model | the lecture | dynlp, line by line | dynlp, as one stream | training |",
             "| --- | --- | --- | --- | --- |"]
    for row in rows:
        stream = f"{row['stream_perplexity']:.1f}" if "stream_perplexity" in row else ""
        lines.append(f"| {row['row']} | {row['lecture']} | {figure(row, 'perplexity', 1)} | "
                     f"{stream} | {budget(row, minutes)} |")
    return "\n".join(lines)


def char_markdown(rows, minutes):
    lines = ["tiny-shakespeare, bits per character on the held-out 10% (each line's `</s>` "
             "counted):", "", "| model | bits per character, line by line | as one stream "
             "| training |", "| --- | --- | --- | --- |"]
    for row in rows:
        shown = figure(row, "bits_per_token", 3)
        if "zero_probability_share" in row:
            shown += f" ({row['zero_probability_share']:.1%} of test characters unseen after " \
                     "their context: probability 0)"
        stream = (f"{math.log2(row['stream_perplexity']):.3f}" if "stream_perplexity" in row
                  else "")
        lines.append(f"| {row['row']} | {shown} | {stream} | {budget(row, minutes)} |")
    for row in rows:
        if row.get("samples"):
            lines += ["", f"Samples, {row['row']} (temperature 1):", "", "```"]
            lines += row["samples"] + ["```"]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=16.0,
                        help="training minutes for each recurrent PTB row (default 16)")
    parser.add_argument("--char-minutes", type=float, default=12.0,
                        help="training minutes for the character LSTM (default 12)")
    parser.add_argument("--out", default="models/lm_table", help="where models and tables go")
    parser.add_argument("--rows", type=lambda text: [int(r) for r in text.split(",")],
                        help="PTB rows to run, by number from 0 (default: all)")
    parser.add_argument("--no-char", action="store_true", help="skip the tiny-shakespeare table")
    parser.add_argument("--no-ptb", action="store_true", help="skip the Penn Treebank table")
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    began = time.time()
    ptb_rows = [] if args.no_ptb else ptb_table(args)
    char_rows = [] if args.no_char else char_table(args)
    table = markdown(ptb_rows, char_rows, args)
    with open(os.path.join(args.out, "table.md"), "w", encoding="utf-8") as out:
        out.write(table)
    with open(os.path.join(args.out, "results.json"), "w", encoding="utf-8") as out:
        json.dump({"ptb": ptb_rows, "shakespeare": char_rows, "minutes": args.minutes,
                   "char_minutes": args.char_minutes,
                   "wall_minutes": round((time.time() - began) / 60, 1)}, out, indent=1)
    draw_curves(ptb_rows + char_rows, args.out)
    print(table, end="")
    return 1 if any("error" in row for row in ptb_rows + char_rows) else 0


if __name__ == "__main__":
    sys.exit(main())
