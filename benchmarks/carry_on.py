"""Carrying a tagger on to a new domain (`train-tagger --init-from`), inside en_ewt, whose
sentence ids name their genre (answers, email, newsgroup, reviews, weblog).

    python benchmarks/carry_on.py OUT_DIR --genres email,reviews --base-minutes 8 \\
        --adapt-minutes 2 --sentences 300

For each held-out genre G: a tagger trained on the other four genres (their train and dev
sentences, --base-minutes); then G's first --sentences training sentences, with G's dev
sentences as dev, learned two ways for --adapt-minutes each: carried on from that tagger, and
from scratch (the default recipe).  Each of the three is scored on G's test sentences and on
the four genres' test sentences (what the carried-on model forgot).  One JSON line per genre
on stdout; `--table` also prints a Markdown table.
"""
import argparse
import logging
import os
import sys
import time
from dataclasses import replace

from common import add_treebank_arguments, emit, part, treebanks
from dynlp.cli.flags import start
from dynlp.config import TrainConfig, from_args
from dynlp.data.treebank import read_treebank
from dynlp.models.tagger.config import TaggerConfig
from dynlp.tasks import score_tagger, train_tagger

SYSTEMS = ("not adapted", "carried on", "from scratch")
COLUMNS = ("upos", "lemma", "alltags")


def genre(sentence):
    """An en_ewt sentence's genre: its id up to the first '-' (`email-enronsent01_01-0001`)."""
    return (sentence.sent_id or "").split("-", 1)[0]


def split_by_genre(sentences, held_out):
    """(the held-out genre's sentences, the others')."""
    return ([s for s in sentences if genre(s) == held_out],
            [s for s in sentences if genre(s) != held_out])


def run_genre(held_out, data, args, out_dir):
    """The three taggers of one held-out genre, each scored on both test sets."""
    tagger_config = replace(from_args(TaggerConfig, args), columns="upos,xpos,feats,lemma")
    train_config = from_args(TrainConfig, args)
    (g_train, rest_train), (g_dev, rest_dev), (g_test, rest_test) = (
        split_by_genre(data[name], held_out) for name in ("train", "dev", "test"))
    few = g_train[:args.sentences]
    base_config = replace(train_config, max_minutes=args.base_minutes)
    adapt_config = replace(train_config, max_minutes=args.adapt_minutes)
    minutes = {}
    began = time.time()
    base, _ = train_tagger(rest_train, rest_dev, tagger_config, base_config,
                           os.path.join(out_dir, "base"), seed=args.seed)
    minutes["not adapted"] = round((time.time() - began) / 60, 1)
    taggers = {"not adapted": base}
    for system, init_from in (("carried on", base), ("from scratch", None)):
        began = time.time()
        taggers[system], _ = train_tagger(
            few, g_dev, tagger_config, adapt_config,
            os.path.join(out_dir, system.replace(" ", "-")),
            seed=args.seed, init_from=init_from)
        minutes[system] = round((time.time() - began) / 60, 1)
    scores = {system: {"genre": _accuracies(model, g_test), "others": _accuracies(model, rest_test)}
              for system, model in taggers.items()}
    return {"genre": held_out, "sentences": len(few), "base_sentences": len(rest_train),
            "test_sentences": {"genre": len(g_test), "others": len(rest_test)},
            "minutes": minutes, "scores": scores}


def _accuracies(model, sentences):
    columns = score_tagger(model, sentences).summary()["columns"]
    return {column: columns[column]["accuracy"] for column in COLUMNS}


def table(results):
    lines = ["| held-out genre | system | genre's test UPOS | Lemmas | AllTags | other genres' "
             "test UPOS | Lemmas | AllTags | minutes |", "| --- " * 9 + "|"]
    for r in results:
        for system in SYSTEMS:
            s = r["scores"][system]
            cells = [f"{100 * s[split][c]:.2f}" for split in ("genre", "others") for c in COLUMNS]
            lines.append(f"| {r['genre']} | {system} | " + " | ".join(cells)
                         + f" | {r['minutes'][system]} |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_treebank_arguments(parser, "folder for the taggers of each held-out genre")
    parser.add_argument("--genres", default="email,reviews", help="held-out genres, one run each")
    parser.add_argument("--sentences", type=int, default=300,
                        help="training sentences of the held-out genre")
    parser.add_argument("--base-minutes", type=float, default=8.0)
    parser.add_argument("--adapt-minutes", type=float, default=2.0)
    parser.add_argument("--table", action="store_true", help="also print a Markdown table")
    args = parser.parse_args()
    start(args, training=True)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(message)s")
    folder = treebanks(["en_ewt"])["en_ewt"]
    data = {name: read_treebank(part(folder, name)) for name in ("train", "dev", "test")}
    results = []
    for held_out in args.genres.split(","):
        out_dir = os.path.join(args.output, held_out)
        os.makedirs(out_dir, exist_ok=True)
        results.append(emit(run_genre(held_out, data, args, out_dir)))
    if args.table:
        print(table(results))


if __name__ == "__main__":
    main()
