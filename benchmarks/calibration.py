"""Calibration of the tagger's probabilities on every treebank: expected calibration error (ECE)
before and after the temperatures fitted on dev (tasks/calibration.py, metrics.Calibration).

    python benchmarks/calibration.py OUT_DIR --max-minutes 10
    python benchmarks/calibration.py OUT_DIR --models OUT_DIR     # trained already: score only

For each `ud_*` treebank in $DYNLP_DATA: train `dynlp train-tagger`'s default recipe (which fits
the temperatures on dev at its end) into OUT_DIR/NAME, then tag dev and test twice, at T = 1
(the networks as trained) and at the fitted T, and write what `dynlp evaluate --json` writes for
each (OUT_DIR/NAME/calibration-{dev,test}-{as-trained,fitted}.json: accuracies, and the
calibration bins a reliability diagram draws: `dynlp plot FILE.json -o diagram.png`).  One JSON
line per treebank on stdout: each column's ECE, mean confidence and accuracy, per split and
setting.
"""
import argparse
import json
import logging
import os
import sys

from common import add_treebank_arguments, part, provenance, train_default, treebanks
from dynlp.cli.flags import start
from dynlp.data.treebank import read_treebank
from dynlp.models.tagger.network import BiLSTMTagger
from dynlp.tasks import score_tagger

SETTINGS = ("as-trained", "fitted")


def trained_model(name, folder, args):
    """The tagger of one treebank: trained into OUTPUT/NAME, or read from --models/NAME."""
    if args.models:
        return BiLSTMTagger.load(os.path.join(args.models, name)), None
    model, state, _, minutes = train_default(name, folder, args)
    return model, {"epochs": state.epoch, "train_minutes": round(minutes, 1)}


def calibration_figures(name, folder, model, out_dir):
    """{split: {setting: {column: {"ece", "accuracy"}}}}, each summary saved beside."""
    fitted = dict(model.temperatures)
    figures = {}
    for split in ("dev", "test"):
        gold = read_treebank(part(folder, split), model.columns)
        for setting in SETTINGS:
            model.temperatures = fitted if setting == "fitted" else {}
            summary = score_tagger(model, gold, calibration=True).summary()
            with open(os.path.join(out_dir, f"calibration-{split}-{setting}.json"), "w") as out:
                json.dump(summary, out)
            figures.setdefault(split, {})[setting] = {
                column: {"ece": c["ece"], "confidence": c["confidence"],
                         "accuracy": summary["columns"][column]["accuracy"]}
                for column, c in summary["calibration"].items()}
    model.temperatures = fitted
    return figures


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_treebank_arguments(parser, "folder for one model directory per treebank")
    parser.add_argument("--models", metavar="DIR", help="score the taggers in DIR/NAME (as this "
                        "script trained them) instead of training")
    args = parser.parse_args()
    start(args, training=True)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(message)s")
    os.makedirs(args.output, exist_ok=True)
    for name, folder in treebanks(args.treebanks and args.treebanks.split(",")).items():
        model, training = trained_model(name, folder, args)
        out_dir = os.path.join(args.output, name)
        os.makedirs(out_dir, exist_ok=True)
        result = {"treebank": name, "temperatures": model.temperatures, "training": training,
                  **calibration_figures(name, folder, model, out_dir), **provenance()}
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
