"""DyNet's text parameter format (checked by dynlp.paramfile) against safetensors, on large
models: file size, save time, open time, and whether values come back bit for bit.

    python benchmarks/param_formats.py [--repeats 3]

Models (random initial values: size and speed depend on the shapes, not the values):
  - a word LM on WikiText-2's vocabulary (33,278 types), 2 LSTM layers of 650, embeddings 650,
    untied: the large-vocabulary model of issue 17;
  - the tagger `dynlp train-tagger` builds for English-EWT (its vocabularies from EWT train).
Text (model formats 1-2): `ParameterCollection.save`; open = `paramfile.check` (every name,
shape, length and value) + `ParameterCollection.populate`.  safetensors (format 3 on):
`tensorfile.save`; open = `tensorfile.load` (every name, shape, offset and value, then
`set_value` / `init_from_array`).  Times are the median of `--repeats`, files in the page cache
(written just before), one process.  One JSON line per model and format.
"""
import argparse
import glob
import json
import os
import statistics
import tempfile
import time

import numpy as np

from dynlp import BiLSTMTagger, LMConfig, RNNLanguageModel, TaggerConfig, Vocab
from dynlp.store import paramfile
from dynlp.store import tensorfile
from dynlp.tasks import read_tagger_corpus, tagged_pairs
from dynlp.data.text import data_dir, read_lines, tokenize


def wikitext_lm():
    path = os.path.join(data_dir(), "wikitext2", "train.txt")
    tokens = [tokenize(line, "word", True) for _, line in read_lines(path)]
    config = LMConfig(level="word", tokenized=True, layers=2, emb_dim=650, hidden_dim=650)
    return "word LM, WikiText-2 vocabulary, 2x650", lambda: RNNLanguageModel(
        config, Vocab.build(tokens))


def ewt_tagger():
    train = glob.glob(os.path.join(data_dir(), "ud_en_ewt", "*-ud-train.conllu"))[0]
    sentences, _, config = read_tagger_corpus(train, None, TaggerConfig(), 0.05)
    pairs = tagged_pairs(sentences, config.column_list())
    return "EWT tagger (defaults)", lambda: BiLSTMTagger.from_training_data(config, pairs)


def arrays_of(pc):
    return {name: p.as_array() for name, p in tensorfile.parameters_of(pc).items()}


def open_text(pc, path):
    paramfile.check(path, paramfile.expected_parameters(pc))
    pc.populate(path)


def timed(action, repeats):
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        action()
        times.append(time.perf_counter() - began)
    return round(statistics.median(times), 3)


def measure(name, build, repeats, scratch):
    original = build()
    values = arrays_of(original.pc)
    count = sum(v.size for v in values.values())
    formats = {"dynet text": (lambda pc, p: pc.save(p), open_text),
               "safetensors": (tensorfile.save, tensorfile.load)}
    for format_name, (save, open_) in formats.items():
        path = os.path.join(scratch, format_name.replace(" ", "-"))
        save_seconds = timed(lambda: save(original.pc, path), repeats)
        fresh = build()
        open_seconds = timed(lambda: open_(fresh.pc, path), repeats)
        exact = all(np.array_equal(values[k], v) for k, v in arrays_of(fresh.pc).items())
        row = {"model": name, "values": count, "format": format_name,
               "megabytes": round(os.path.getsize(path) / 1e6, 1), "save_s": save_seconds,
               "open_s": open_seconds, "bit_exact": exact}
        if format_name == "dynet text":
            expected = paramfile.expected_parameters(fresh.pc)
            row["of_which_check_s"] = timed(lambda: paramfile.check(path, expected), repeats)
        print(json.dumps(row), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        for name, build in (ewt_tagger(), wikitext_lm()):
            measure(name, build, args.repeats, scratch)


if __name__ == "__main__":
    main()
