"""Train the BiLSTM tagger on a CoNLL-U treebank and report its accuracy on every column.

    python recipes/train_tagger.py                                   # data/sample.conllu, seconds
    python recipes/train_tagger.py hu_szeged-ud-train.conllu         # any treebank: until dev
    python recipes/train_tagger.py en_ewt-ud-train.conllu --dev en_ewt-ud-dev.conllu -o models/ewt

It predicts each of UPOS, XPOS and FEATS that the training file fills (`--columns` to choose).
Without --dev, the last 5% of the training sentences are held out.  With a treebank, the settings
are `dynlp train-tagger`'s (chosen on every treebank in ../shared/data, see
benchmarks/RESULTS.md): training goes on until dev stops improving.  Only the bundled sample
gets quick settings of its own.  Every flag of `dynlp train-tagger` works here too.
When the file carries the text of its sentences (`# text`), a tokenizer and sentence splitter is
learned from it beside the tagger, for `dynlp tag --input text` (`--no-tokenizer` to skip it);
`--max-minutes` bounds the two together.  `--init-from DIR` carries a trained tagger on to the
file (its sizes and weights, new words and tags added).  Afterwards: `dynlp tag -m DIR
file.conllu`, `dynlp evaluate -m DIR gold.conllu`.
"""
import argparse
import os
import sys

from dynlp.cli.flags import (add_train_tagger_arguments, run, start, train_tagger_from_flags,
                             translate_dynet_flags)
from dynlp.metrics import percent
from dynlp.tasks import check_output_dir, score_tagger

SAMPLE = os.path.join(os.path.dirname(__file__), "..", "data", "sample.conllu")
# For the 40-sentence sample only: small batches and a steady learning rate (its dev split is
# a handful of sentences, too noisy to schedule on), a fixed number of epochs.
QUICK = dict(batch_size=4, lr=0.005, lr_decay=1.0, epochs=20, patience=20,
             tokenizer_minutes=0.25)


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_train_tagger_arguments(parser, defaults={"output": "models/tagger"},
                               train_required=False)
    argv = translate_dynet_flags(argv)
    args = parser.parse_args(argv)
    if args.train is None:  # the sample: its own defaults, flags given still win
        parser.set_defaults(**QUICK)
        args = parser.parse_args(argv)
    args.train = args.train or SAMPLE
    os.makedirs(os.path.dirname(args.output) or ".", exist_ok=True)  # e.g. models/
    check_output_dir(args.output, "tagger", args.resume, args.overwrite)
    verbose = start(args, training=True)
    model, state, train, dev = train_tagger_from_flags(args, verbose)
    for name, sentences in (("train", train), ("dev", dev)):
        summary = score_tagger(model, sentences).summary()
        columns = "  ".join(f"{column} {percent(scores['accuracy'])} (unseen "
                            f"{percent(scores['oov_accuracy'])})"
                            for column, scores in summary["columns"].items())
        print(f"{name} ({summary['tokens']} words, {summary['oov_tokens']} unseen): {columns}")
    print(f"model in {args.output} after {state.epoch} epochs")


if __name__ == "__main__":
    sys.exit(run(main, sys.argv[1:]))
