"""Train the BiLSTM part-of-speech tagger on a CoNLL-U treebank and report its accuracy.

    python recipes/train_tagger.py                                   # data/sample.conllu, seconds
    python recipes/train_tagger.py en_ewt-ud-train.conllu --dev en_ewt-ud-dev.conllu -o models/ewt

Without --dev, the last 5% of the training sentences are held out.  Every flag of
`dynlp train-tagger` works here too.  Afterwards: `dynlp tag -m DIR file.conllu`.
"""
import argparse
import os

from dynlp.cli import add_train_tagger_arguments, percent, start
from dynlp.config import TaggerConfig, TrainConfig, from_args
from dynlp.pipeline import read_tagger_corpus, score_tagger, train_tagger

SAMPLE = os.path.join(os.path.dirname(__file__), "..", "data", "sample.conllu")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_train_tagger_arguments(parser, defaults={"output": "models/tagger"}, train_required=False)
    args = parser.parse_args()
    verbose = start(args)
    tagger_config, train_config = from_args(TaggerConfig, args), from_args(TrainConfig, args)

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
    main()
