"""Train a character- or word-level language model, then print a few samples from it.

    python recipes/train_lm.py --char                      # bundled corpus, about two minutes
    python recipes/train_lm.py --word corpus.txt -o models/word-lm   # until dev stops improving

Without a corpus it trains on the English prose of Python's own help pages (the standard
library's `pydoc_data`), holding out the last 5% of lines to measure perplexity.  Every flag of
`dynlp train-lm` works here too; only the defaults differ: a small model trained with Adam,
and on the bundled corpus a cap of 20 epochs and 1.5 minutes.  A corpus you give trains until
dev stops improving, as with `dynlp train-lm`.
"""
import argparse
import os
import sys

import numpy as np

from dynlp.cli.flags import add_train_lm_arguments, run, settings, start, translate_dynet_flags
from dynlp.models.lm import LMConfig
from dynlp.tasks import (check_output_dir, language_model_to_carry_on, read_lm_corpus,
                         sample_text, split_dev, train_language_model)
from dynlp.data.text import bundled_text, sentences_from_lines

SMALL = dict(output="models/lm", emb_dim=64, hidden_dim=256, batch_size=32, trainer="adam",
             lr=0.003)
QUICK = dict(epochs=20, max_minutes=1.5)  # the bundled corpus only: the README's two minutes


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_train_lm_arguments(parser, defaults=SMALL, train_required=False)
    parser.add_argument("--samples", type=int, default=5, help="samples to print at the end")
    argv = translate_dynet_flags(argv)
    args = parser.parse_args(argv)
    if args.train is None:  # the bundled corpus: quick caps, flags given still win
        parser.set_defaults(**QUICK)
        args = parser.parse_args(argv)
    verbose = start(args, training=True)
    os.makedirs(os.path.dirname(args.output) or ".", exist_ok=True)  # e.g. models/
    check_output_dir(args.output, "language-model", args.resume, args.overwrite)
    lm_config, train_config = settings(args, LMConfig)
    trained, lm_config = language_model_to_carry_on(args.init_from, lm_config)
    if args.train:
        train, dev = read_lm_corpus(args.train, args.dev, lm_config, train_config.dev_fraction)
    else:
        lines = sentences_from_lines(bundled_text(), lm_config.level, lm_config.tokenized)
        train, dev = split_dev(lines, train_config.dev_fraction, "the bundled corpus")

    model, state = train_language_model(train, dev, lm_config, train_config, args.output,
                                        resume=args.resume, progress=verbose, seed=args.seed,
                                        init_from=trained)
    best = min(state.history, key=lambda m: m["dev_loss"])
    print(f"# {state.epoch} epochs, best dev perplexity {best['dev_ppl']:.2f} "
          f"({best['dev_loss'] / np.log(2):.3f} bits per {lm_config.level}); model in {args.output}")
    rng = np.random.default_rng(args.seed)
    for _ in range(args.samples):
        print(sample_text(model, rng, temperature=0.8, max_len=200))


if __name__ == "__main__":
    sys.exit(run(main, sys.argv[1:]))
