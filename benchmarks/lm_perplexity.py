"""Language-model perplexity benchmarks on the shared corpora (see benchmarks/RESULTS.md).

    python benchmarks/lm_perplexity.py ptb-word OUT_DIR [training flags]
    python benchmarks/lm_perplexity.py shakespeare-char OUT_DIR [training flags]
    python benchmarks/lm_perplexity.py wikitext2-word OUT_DIR [training flags]

ptb-word: Mikolov's PTB (train/valid/test), words as a stream, test perplexity.
wikitext2-word: WikiText-2 (33,278 word types) as a word stream, the README's PTB flags with the
class-factored softmax (SGD 0.5 with a warm-up, as it needs: RESULTS.md), 60 minutes, the rate
halved after each of the budget's last 3 epochs (--settle-epochs), dev scored and the model
kept with a moving average of the weights over about the last epoch (--average-epochs 1).  Test
is scored as one stream, as dev is and as the published figures are (`dynlp score` scores each
line from a fresh state instead).
shakespeare-char: tiny-shakespeare, characters as a stream; like nanoGPT, the first 90% of the
file (by characters) trains and the last 10% validates; reports nats per character.

Training flags are dynlp's own (`dynlp train-lm --help`); the defaults below are the recorded
runs.  Corpora are read from $DYNLP_DATA (default ../shared/data).  Prints one JSON line.
"""
import argparse
import json
import logging
import math
import os
import platform
import sys
import time

import dynlp
from dynlp.cli.flags import add_common_arguments, start
from dynlp.config import TrainConfig, add_arguments, from_args
from dynlp.models.lm import LMConfig
from dynlp.tasks import lm_batches, train_language_model
from dynlp.data.text import data_dir, read_sentences, sentences_from_lines

DEFAULTS = {
    "ptb-word": dict(level="word", tokenized=True, stream=True, layers=2, emb_dim=256,
                     hidden_dim=256, tie_weights=True, dropout=0.25, trainer="sgd", lr=1.0,
                     clip=5.0, batch_size=20, bptt=35, epochs=12, decay_after=6,
                     max_minutes=58, patience=12),
    "shakespeare-char": dict(level="char", stream=True, layers=2, emb_dim=64, hidden_dim=384,
                             dropout=0.2, trainer="adam", lr=0.002, batch_size=32, bptt=100,
                             epochs=9, decay_after=4, lr_decay=0.6, max_minutes=29,
                             patience=3),
    "wikitext2-word": dict(level="word", tokenized=True, stream=True, layers=2, emb_dim=256,
                           hidden_dim=256, tie_weights=True, dropout=0.25, trainer="sgd",
                           lr=0.5, warmup=100, clip=5.0, batch_size=20, bptt=35, epochs=200,
                           max_minutes=60, settle_epochs=3, patience=12, softmax="class",
                           average_epochs=1),
}


def tokenized_word_stream(*path):
    """Train, valid and test of a tokenised corpus as word streams; `path` names them with {}."""
    path = os.path.join(data_dir(), *path)
    return [read_sentences(path.format(part), "word", True, True)
            for part in ("train", "valid", "test")]


def ptb_word(config):
    return tokenized_word_stream("ptb", "ptb.{}.txt")


def wikitext2_word(config):
    return tokenized_word_stream("wikitext2", "{}.txt")


def shakespeare_char(config):
    with open(os.path.join(data_dir(), "tinyshakespeare", "input.txt"), encoding="utf-8") as f:
        text = f.read()
    cut = int(len(text) * 0.9)  # nanoGPT's split, by characters
    train, val = (sentences_from_lines(part.split("\n"), "char", False, True)
                  for part in (text[:cut], text[cut:]))
    return train, val, val


CORPORA = {"ptb-word": ptb_word, "shakespeare-char": shakespeare_char,
           "wikitext2-word": wikitext2_word}


def main():
    corpus = sys.argv[1] if len(sys.argv) > 1 and sys.argv[1] in CORPORA else None
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", choices=sorted(CORPORA))
    parser.add_argument("output", help="model directory to write")
    add_arguments(parser, LMConfig, DEFAULTS.get(corpus))
    add_arguments(parser, TrainConfig, DEFAULTS.get(corpus))
    add_common_arguments(parser, training=True)
    args = parser.parse_args()
    start(args, training=True)  # as `dynlp train-*`: Hogwild over one process per core
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(message)s")
    lm_config, train_config = from_args(LMConfig, args), from_args(TrainConfig, args)
    train, dev, test = CORPORA[args.corpus](lm_config)
    began = time.time()
    model, state = train_language_model(train, dev, lm_config, train_config, args.output,
                                        seed=args.seed)
    trained = time.time() - began
    total, tokens = dynlp.evaluate_loss(model, lm_batches(test, model.vocab, lm_config,
                                                          1, train_config.bptt, False))
    print(json.dumps({
        "corpus": args.corpus, "test_loss": total / tokens, "test_ppl": math.exp(total / tokens),
        "test_bits": total / tokens / math.log(2), "test_tokens": tokens,
        "best_dev": state.best, "epochs": state.epoch, "train_minutes": round(trained / 60, 1),
        "machine": f"{platform.machine()} {os.cpu_count()} cores", "date": time.strftime("%F"),
        "command": " ".join(["python"] + sys.argv)}))


if __name__ == "__main__":
    main()
