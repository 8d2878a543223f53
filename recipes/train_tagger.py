"""Train the BiLSTM part-of-speech tagger on a CoNLL-U treebank and report its accuracy.

    python recipes/train_tagger.py                                   # data/sample.conllu, seconds
    python recipes/train_tagger.py en_ewt-ud-train.conllu --dev en_ewt-ud-dev.conllu -o models/ewt

Without --dev, the last 5% of the training sentences are held out.  Every flag of
`dynlp train-tagger` works here too.  Afterwards: `dynlp tag -m DIR file.conllu`.
"""
import argparse
import os
import sys

from dynlp.cli import (add_train_tagger_arguments, percent, run, settings, start,
                       translate_dynet_flags)
from dynlp.config import TaggerConfig
from dynlp.pipeline import read_tagger_corpus, score_tagger, train_tagger

SAMPLE = os.path.join(os.path.dirname(__file__), "..", "data", "sample.conllu")
# Small batches and a steady learning rate: the sample is tiny and its dev split is noisy.
QUICK = dict(output="models/tagger", batch_size=4, lr=0.005, lr_decay=1.0, epochs=20, patience=20)


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_train_tagger_arguments(parser, defaults=QUICK, train_required=False)
    args = parser.parse_args(translate_dynet_flags(argv))
    verbose = start(args, training=True)
    os.makedirs(os.path.dirname(args.output) or ".", exist_ok=True)  # e.g. models/
    tagger_config, train_config = settings(args, TaggerConfig)

    train, dev = read_tagger_corpus(args.train or SAMPLE, args.dev, tagger_config.column,
                                    train_config.dev_fraction)
    model, state = train_tagger(train, dev, tagger_config, train_config, args.output,
                                resume=args.resume, progress=verbose, seed=args.seed)
    for name, sentences in (("train", train), ("dev", dev)):
        scores = score_tagger(model, sentences).summary()
        print(f"{name}: accuracy {percent(scores['accuracy'])} on {scores['tokens']} words, "
              f"unseen words {percent(scores['oov_accuracy'])} on {scores['oov_tokens']}")
    print(f"model in {args.output} after {state.epoch} epochs")


if __name__ == "__main__":
    sys.exit(run(main, sys.argv[1:]))
