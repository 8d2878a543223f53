"""Probe a lever of the tokenizer learned beside the tagger (issue 49) on dev: every suite
treebank, the same minutes for every variant, train-tagger's tokenizer recipe otherwise, dev
figures only (the test text is for benchmarks/raw_text.py).

    python benchmarks/tokenizer_probe.py OUT --minutes 4 --variant= --variant=patience=20 \\
        --variant=dropout=0.3

A variant is `name=value` pairs (comma-separated) of TokenizerConfig (dynlp/models/tokenizer.py)
or of the training recipe (tasks/pipeline.TOKENIZER_TRAINING: patience, batch_size, ...); empty
is the default.  Each variant trains on each `ud_*` treebank's train file with its dev file, one
after the other, and prints one JSON line: the best dev F1 of token ends (their multiword kind
included), of sentence ends and of whole sentences (both ends right, as the CoNLL 2018 script
counts them), the epochs and minutes it took.
"""
import argparse
import dataclasses
import os
import time

from common import emit, part, treebanks
from dynlp.config import TrainConfig
from dynlp.models.tokenizer import TokenizerConfig
from dynlp.tasks.pipeline import TOKENIZER_TRAINING
from dynlp.tasks.tokenizer import read_tokenizer_corpus, train_tokenizer


def settings(variant):
    """(TokenizerConfig, TrainConfig) of a variant's `name=value` pairs."""
    model, training = {}, dict(TOKENIZER_TRAINING)
    model_fields = {f.name: f.type for f in dataclasses.fields(TokenizerConfig)}
    for pair in filter(None, variant.split(",")):
        name, value = pair.split("=", 1)
        target = model if name in model_fields else training
        target[name] = type(getattr(TokenizerConfig() if target is model else TrainConfig(),
                                    name))(value)
    return TokenizerConfig(**model), training


def probe(folder, variant, minutes, out, seed):
    config, training = settings(variant)
    train, dev, table = read_tokenizer_corpus(part(folder, "train"), part(folder, "dev"), 0.1)
    started = time.time()
    _, state = train_tokenizer(train, dev, table, config,
                               TrainConfig(**training, max_minutes=minutes), out, seed=seed)
    best = max(state.history, key=lambda record: record["dev_score"])
    return {"dev_tokens_f1": round(100 * best["dev_tokens_f1"], 2),
            "dev_sentences_f1": round(100 * best["dev_sentences_f1"], 2),
            "dev_whole_sentences_f1": round(100 * best["dev_whole_sentences_f1"], 2),
            "best_epoch": state.history.index(best) + 1, "epochs": len(state.history),
            "minutes": round((time.time() - started) / 60, 1)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", help="directory for the probes' tokenizers")
    parser.add_argument("--treebanks", help="comma-separated names such as hu_szeged "
                                            "(default: every ud_* folder)")
    parser.add_argument("--minutes", type=float, default=4.0, help="each variant's budget")
    parser.add_argument("--variant", action="append", default=None,
                        help="name=value,... of TokenizerConfig or the training recipe")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    for variant in args.variant or [""]:
        names = args.treebanks.split(",") if args.treebanks else None
        for name, folder in treebanks(names).items():
            out = os.path.join(args.output, name, variant.replace("=", "-") or "default")
            os.makedirs(os.path.dirname(out), exist_ok=True)
            result = probe(folder, variant, args.minutes, out, args.seed)
            emit({"treebank": name, "variant": variant or "default", **result})


if __name__ == "__main__":
    main()
