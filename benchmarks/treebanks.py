"""The tagger on every treebank in $DYNLP_DATA: train the default recipe, score the test set.

    python benchmarks/treebanks.py OUT_DIR                       # every ud_* folder, defaults
    python benchmarks/treebanks.py OUT_DIR --treebanks hu_szeged,ug_udt --batch-size 32

For each `ud_*` folder (one added later is picked up too) it trains on `*-ud-train.conllu` with
`*-ud-dev.conllu` for early stopping, with `dynlp train-tagger`'s settings unless flags say
otherwise, then reports test accuracy (gold tokens, no external embeddings) of every predicted
column, UFeats and AllTags, on all words and on words unseen in training, with training time and
epochs.  One JSON line per treebank on stdout; `--table` also prints a Markdown table beside
published anchors (benchmarks/RESULTS.md keeps them).  The treebanks are read from $DYNLP_DATA
(default ../shared/data).
"""
import argparse
import glob
import json
import logging
import os
import platform
import subprocess
import sys
import time

from dynlp.cli.flags import TAGGER_TRAINING, add_common_arguments, start
from dynlp.config import TrainConfig, add_arguments, from_args
from dynlp.models.tagger.config import TaggerConfig
from dynlp.tasks import read_tagger_corpus, score_tagger, train_tagger
from dynlp.data.text import data_dir
from dynlp.data.treebank import read_treebank

# UDPipe 1.2 (UD 2.5 models, gold tokenisation): UPOS, XPOS, UFeats, AllTags, from its model
# documentation (ufal/udpipe, doc/manual_model_ud-2.5.t2t; RESULTS.md has the other anchors).
UDPIPE_1 = {"en_ewt": {"upos": 94.4, "xpos": 93.9, "ufeats": 95.4, "alltags": 92.5},
            "hu_szeged": {"upos": 90.7, "ufeats": 88.2, "alltags": 86.5},
            "ug_udt": {"upos": 88.2, "xpos": 90.3, "ufeats": 84.4, "alltags": 76.6}}


def treebanks(names=None):
    """{name: folder} of the ud_* treebanks in the data folder (all, or those named)."""
    found = {os.path.basename(p)[3:]: p for p in sorted(glob.glob(os.path.join(data_dir(), "ud_*")))}
    if names:
        missing = [n for n in names if n not in found]
        if missing:
            sys.exit(f"treebanks.py: no ud_{missing[0]} in {data_dir()}")
        return {n: found[n] for n in names}
    return found


def part(folder, name):
    (path,) = glob.glob(os.path.join(folder, f"*-ud-{name}.conllu"))
    return path


def run_one(name, folder, args):
    """Train on one treebank and score its test set: a dict of figures."""
    tagger_config, train_config = from_args(TaggerConfig, args), from_args(TrainConfig, args)
    train, dev, tagger_config = read_tagger_corpus(part(folder, "train"), part(folder, "dev"),
                                                   tagger_config, train_config.dev_fraction)
    began = time.time()
    model, state = train_tagger(train, dev, tagger_config, train_config,
                                os.path.join(args.output, name), seed=args.seed)
    minutes = (time.time() - began) / 60
    test = read_treebank(part(folder, "test"), model.columns)
    summary = score_tagger(model, test).summary()
    return {"treebank": name, "train_sentences": len(train), "test_words": summary["tokens"],
            "test_unseen_words": summary["oov_tokens"],
            "test": {k: v["accuracy"] for k, v in summary["columns"].items()},
            "test_unseen": {k: v["oov_accuracy"] for k, v in summary["columns"].items()},
            "best_dev_score": state.best, "best_dev": best_dev_metrics(state),
            "epochs": state.epoch,
            "train_minutes": round(minutes, 1), "columns": model.columns}


def best_dev_metrics(state):
    """Each column's dev accuracy at the evaluation that was kept (the best dev_score)."""
    best = max(state.history, key=lambda metrics: metrics["dev_score"], default={})
    return {k[4:]: v for k, v in best.items() if k.startswith("dev_") and k != "dev_score"}


def table(results):
    """Markdown rows: test accuracy of each column, with UDPipe 1.2's beside where known."""
    lines = ["| treebank | UPOS | XPOS | UFeats | AllTags | UPOS unseen | epochs | minutes |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in results:
        anchors = UDPIPE_1.get(r["treebank"], {})
        cells = [_cell(r["test"].get(k), anchors.get(k)) for k in ("upos", "xpos", "ufeats",
                                                                    "alltags")]
        lines.append(f"| {r['treebank']} | " + " | ".join(cells) +
                     f" | {_cell(r['test_unseen'].get('upos'))} | {r['epochs']} | "
                     f"{r['train_minutes']} |")
    return "\n".join(lines)


def _cell(value, anchor=None):
    shown = "—" if value is None else f"{100 * value:.2f}"
    return shown + (f" ({anchor})" if anchor is not None else "")


def commit():
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, cwd=os.path.dirname(__file__)).stdout.strip()
    except OSError:
        return None


# The 20 minutes of training that issue 33 allows the default recipe; peers.py and distill.py
# train within them (treebanks.py leaves it to --max-minutes).
TWENTY_MINUTES = {"max_minutes": 20.0}


def add_treebank_arguments(parser, output_help, train_defaults=None):
    """OUTPUT, --treebanks, and `dynlp train-tagger`'s model and training flags with its
    defaults (and `train_defaults` over them)."""
    parser.add_argument("output", help=output_help)
    parser.add_argument("--treebanks", help="comma-separated names such as hu_szeged "
                                            "(default: every ud_* folder)")
    add_arguments(parser, TaggerConfig)
    add_arguments(parser, TrainConfig, {**TAGGER_TRAINING, **(train_defaults or {})})
    add_common_arguments(parser, training=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", action="store_true", help="also print a Markdown table")
    add_treebank_arguments(parser, "folder for one model directory per treebank")
    args = parser.parse_args()
    start(args, training=True)  # as `dynlp train-tagger`: Hogwild over one process per core
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(message)s")
    os.makedirs(args.output, exist_ok=True)
    results = []
    for name, folder in treebanks(args.treebanks and args.treebanks.split(",")).items():
        result = run_one(name, folder, args)
        result.update(commit=commit(), date=time.strftime("%F %H:%M"),
                      machine=f"{platform.machine()} {os.cpu_count()} cores",
                      command=" ".join(["python"] + sys.argv))
        print(json.dumps(result), flush=True)
        results.append(result)
    if args.table:
        print(table(results))


if __name__ == "__main__":
    main()
