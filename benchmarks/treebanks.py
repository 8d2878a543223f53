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
import logging
import os
import sys

from common import add_treebank_arguments, best_dev_metrics, emit, part, train_default, treebanks
from dynlp.cli.flags import start
from dynlp.data.treebank import read_treebank
from dynlp.tasks import score_tagger

# UDPipe 1.2 (UD 2.5 models, gold tokenisation): UPOS, XPOS, UFeats, AllTags, from its model
# documentation (ufal/udpipe, doc/manual_model_ud-2.5.t2t; RESULTS.md has the other anchors).
UDPIPE_1 = {"en_ewt": {"upos": 94.4, "xpos": 93.9, "ufeats": 95.4, "alltags": 92.5},
            "hu_szeged": {"upos": 90.7, "ufeats": 88.2, "alltags": 86.5},
            "ug_udt": {"upos": 88.2, "xpos": 90.3, "ufeats": 84.4, "alltags": 76.6}}


def run_one(name, folder, args):
    """Train on one treebank and score its test set: a dict of figures."""
    model, state, train, minutes = train_default(name, folder, args)
    test = read_treebank(part(folder, "test"), model.columns)
    summary = score_tagger(model, test).summary()
    return {"treebank": name, "train_sentences": len(train), "test_words": summary["tokens"],
            "test_unseen_words": summary["oov_tokens"],
            "test": {k: v["accuracy"] for k, v in summary["columns"].items()},
            "test_unseen": {k: v["oov_accuracy"] for k, v in summary["columns"].items()},
            "best_dev_score": state.best, "best_dev": best_dev_metrics(state),
            "epochs": state.epoch,
            "train_minutes": round(minutes, 1), "columns": model.columns}


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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", action="store_true", help="also print a Markdown table")
    add_treebank_arguments(parser, "folder for one model directory per treebank")
    args = parser.parse_args()
    start(args, training=True)  # as `dynlp train-tagger`: Hogwild over one process per core
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(message)s")
    os.makedirs(args.output, exist_ok=True)
    results = [emit(run_one(name, folder, args))
               for name, folder in treebanks(args.treebanks and args.treebanks.split(",")).items()]
    if args.table:
        print(table(results))


if __name__ == "__main__":
    main()
