"""UPOS accuracy of the BiLSTM tagger on UD English-EWT (see benchmarks/RESULTS.md).

    python benchmarks/tagger_accuracy.py OUT_DIR [training flags]

Trains on en_ewt-ud-train with en_ewt-ud-dev for early stopping (gold tokenisation, no
external embeddings) and reports accuracy on en_ewt-ud-test, overall and on words unseen in
training.  Flags are `dynlp train-tagger`'s; the defaults below are the recorded run.  The
treebank is read from $DYNLP_DATA (default ../shared/data).  Prints one JSON line.
"""
import argparse
import json
import logging
import os
import platform
import sys
import time

from dynlp.cli import add_common_arguments, start
from dynlp.config import TaggerConfig, TrainConfig, add_arguments, from_args
from dynlp.pipeline import score_tagger, train_tagger
from dynlp.text import data_dir
from dynlp.treebank import read_treebank

DEFAULTS = dict(lowercase=True, layers=2, emb_dim=100, char_dim=100, hidden_dim=200, mlp_dim=100,
                dropout=0.33, word_dropout=0.25, trainer="adam", lr=0.002, batch_size=16,
                epochs=40, patience=6, max_minutes=29)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", help="model directory to write")
    add_arguments(parser, TaggerConfig, DEFAULTS)
    add_arguments(parser, TrainConfig, DEFAULTS)
    add_common_arguments(parser)
    args = parser.parse_args()
    start(args, training=True)  # as `dynlp train-*`: Hogwild over one process per core
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(message)s")
    tagger_config, train_config = from_args(TaggerConfig, args), from_args(TrainConfig, args)
    path = os.path.join(data_dir(), "ud_en_ewt", "en_ewt-ud-{}.conllu")
    train, dev, test = (read_treebank(path.format(part), tagger_config.column)
                        for part in ("train", "dev", "test"))
    began = time.time()
    model, state = train_tagger(train, dev, tagger_config, train_config, args.output,
                                seed=args.seed)
    trained = time.time() - began
    scores = score_tagger(model, test).summary()
    print(json.dumps({
        "test_accuracy": scores["accuracy"], "test_oov_accuracy": scores["oov_accuracy"],
        "test_tokens": scores["tokens"], "best_dev_accuracy": state.best, "epochs": state.epoch,
        "train_minutes": round(trained / 60, 1),
        "machine": f"{platform.machine()} {os.cpu_count()} cores", "date": time.strftime("%F"),
        "command": " ".join(["python"] + sys.argv)}))


if __name__ == "__main__":
    main()
