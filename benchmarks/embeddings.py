"""The tagger on EWT with and without pretrained word vectors (--embeddings), same settings.

    python benchmarks/embeddings.py OUT_DIR                      # vectors, then both runs at once
    python benchmarks/embeddings.py OUT_DIR --epochs 3 --ensemble 1

First Word2Vec (gensim, `pip install dynlp[bench]`) learns 100-dimensional vectors (the
tagger's default --emb-dim) on WikiText-2's training text, lowercased as the tagger looks words
up (CBOW, window 5, min count 5, one worker, seed 1), into OUT_DIR/wikitext2-w2v.vec (kept and
reused if there).  Then the tagger trains on EWT's train set (dev for model choice) twice, with
and without `--embeddings` of that file, as two processes at once, each one worker (bit-for-bit
repeatable) and a fixed number of epochs, so a loaded machine changes the time and not the
result.  One JSON line per run on stdout (dev and test UPOS etc., all words and words unseen in
training), then a Markdown table.  Data from $DYNLP_DATA (default ../shared/data).
"""
import argparse
import json
import logging
import os
import platform
import subprocess
import sys
import time
from dataclasses import replace

from common import commit, part  # noqa: E402
from dynlp.cli.flags import TAGGER_TRAINING, add_common_arguments, start  # noqa: E402
from dynlp.config import TrainConfig, add_arguments, from_args  # noqa: E402
from dynlp.data.text import data_dir  # noqa: E402
from dynlp.data.treebank import read_treebank  # noqa: E402
from dynlp.models.tagger.config import TaggerConfig  # noqa: E402
from dynlp.tasks import read_tagger_corpus, score_tagger, train_tagger  # noqa: E402

# Short of the default (300 epochs until dev stops): two runs must each fit in ~25 minutes on
# a shared 2-core machine.  The same for both runs, which is all the comparison needs.
DEFAULTS = dict(TAGGER_TRAINING, epochs=3, ensemble=1, workers=1)
VARIANTS = ("none", "word2vec")


def word2vec_vectors(out_dir, epochs):
    """OUT_DIR/wikitext2-w2v.vec: Word2Vec on WikiText-2's training text, lowercased."""
    path = os.path.join(out_dir, "wikitext2-w2v.vec")
    if os.path.exists(path):
        return path
    from gensim.models import Word2Vec

    corpus = os.path.join(data_dir(), "wikitext2", "train.txt")
    lines = [line.lower().split() for line in open(corpus, encoding="utf-8") if line.strip()]
    began = time.time()
    model = Word2Vec(lines, vector_size=100, window=5, min_count=5, workers=1, seed=1,
                     epochs=epochs)
    model.wv.save_word2vec_format(path + ".part")  # most frequent first, with a header
    os.replace(path + ".part", path)
    logging.info("word2vec: %d words in %.1f minutes", len(model.wv), (time.time() - began) / 60)
    return path


def run_one(variant, vectors, args):
    """Train on EWT (with `vectors` if variant says so); dev and test figures as a dict."""
    folder = os.path.join(data_dir(), "ud_en_ewt")
    tagger_config = from_args(TaggerConfig, args)
    if variant != "none":
        tagger_config = replace(tagger_config, embeddings=vectors)
    train_config = from_args(TrainConfig, args)
    train, dev, tagger_config = read_tagger_corpus(part(folder, "train"), part(folder, "dev"),
                                                   tagger_config, train_config.dev_fraction)
    began = time.time()
    model, state = train_tagger(train, dev, tagger_config, train_config,
                                os.path.join(args.output, variant), seed=args.seed)
    result = {"variant": variant, "embeddings": tagger_config.embeddings,
              "vectors_used": model.config.embeddings_count, "vocabulary": len(model.words),
              "epochs": state.epoch, "train_minutes": round((time.time() - began) / 60, 1)}
    test = read_treebank(part(folder, "test"), model.columns)
    for name, sentences in (("dev", dev), ("test", test)):
        summary = score_tagger(model, sentences).summary()
        result[name] = {k: v["accuracy"] for k, v in summary["columns"].items()}
        result[f"{name}_unseen"] = {k: v["oov_accuracy"] for k, v in summary["columns"].items()}
        result[f"{name}_unseen_words"] = summary["oov_tokens"]
    return result


def table(results):
    lines = ["| vectors | dev UPOS | dev UPOS unseen | test UPOS | test UPOS unseen | "
             "test XPOS | test UFeats | epochs | minutes |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in results:
        cells = [r["dev"]["upos"], r["dev_unseen"]["upos"], r["test"]["upos"],
                 r["test_unseen"]["upos"], r["test"].get("xpos"), r["test"].get("ufeats")]
        lines.append(f"| {r['variant']} | " + " | ".join(
            "—" if c is None else f"{100 * c:.2f}" for c in cells) +
            f" | {r['epochs']} | {r['train_minutes']} |")
    return "\n".join(lines)


def both(args):
    """Each variant in a process of its own, at once; their JSON lines, in VARIANTS order."""
    runs = [subprocess.Popen([sys.executable, os.path.abspath(__file__), *sys.argv[1:], "--only", v],
                             stdout=subprocess.PIPE, text=True) for v in VARIANTS]
    results = []
    for run in runs:
        out, _ = run.communicate()
        if run.returncode:
            sys.exit(f"embeddings.py: a run failed (status {run.returncode})")
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", help="folder for the vectors and the two model directories")
    parser.add_argument("--only", choices=VARIANTS, help="one run (the others start these)")
    parser.add_argument("--w2v-epochs", type=int, default=5, help="Word2Vec's passes")
    add_arguments(parser, TaggerConfig)
    add_arguments(parser, TrainConfig, DEFAULTS)
    add_common_arguments(parser, training=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(message)s")
    os.makedirs(args.output, exist_ok=True)
    vectors = word2vec_vectors(args.output, args.w2v_epochs)
    if args.only:
        start(args, training=True)
        result = run_one(args.only, vectors, args)
        result.update(commit=commit(), date=time.strftime("%F %H:%M"),
                      machine=f"{platform.machine()} {os.cpu_count()} cores, load "
                              f"{os.getloadavg()[0]:.1f} at the end",
                      command=" ".join(["python"] + sys.argv))
        print(json.dumps(result), flush=True)
        return
    results = both(args)
    for result in results:
        print(json.dumps(result))
    print(table(results))


if __name__ == "__main__":
    main()
