"""`dynlp train-tagger`, `tag` and `evaluate`."""
import json
import logging
from dataclasses import replace

from dynlp.cli.flags import settings, start
from dynlp.cli.output import check_model, chunk_results, output_file, output_path
from dynlp.data.treebank import filled, read_treebank
from dynlp.errors import DataError
from dynlp.metrics import percent
from dynlp.models.tagger.config import TaggerConfig
from dynlp.models.tagger.network import BiLSTMTagger
from dynlp.tasks import read_tagger_corpus, score_tagger, teacher_and_config
from dynlp.tasks import train_tagger as train

log = logging.getLogger("dynlp")


def train_tagger(args):
    verbose = start(args, training=True)
    tagger_config, train_config = settings(args, TaggerConfig)
    teacher, tagger_config = load_teacher(args, tagger_config)
    train_set, dev_set, tagger_config = read_tagger_corpus(args.train, args.dev, tagger_config,
                                                           train_config.dev_fraction)
    _, state = train(train_set, dev_set, tagger_config, train_config, args.output,
                     resume=args.resume, progress=verbose, seed=args.seed, teacher=teacher)
    log.info("best dev score %.4f (mean accuracy of %s); model in %s", state.best or 0.0,
             tagger_config.columns, args.output)
    return 0


def load_teacher(args, tagger_config):
    """The --teacher tagger (or None), and `tagger_config` asking for its columns."""
    return teacher_and_config(getattr(args, "teacher", None), tagger_config)


def tag(args):
    verbose = start(args)
    check_model(args.model, "tagger")
    count = 0
    with output_file(output_path(args)) as out:
        for chunk in chunk_results("tag", args, verbose, input_format=args.input_format):
            out.write(chunk)
            count += 1
        if count == 0:
            raise DataError(f"{args.input}: no sentences to tag")
    return 0


def evaluate(args):
    start(args)
    check_model(args.model, "tagger")
    model = BiLSTMTagger.load(args.model)
    gold = read_treebank(args.gold, model.columns)
    columns = [c for c in model.columns if filled(gold, c)]  # a gold file may lack some
    if not columns:
        raise DataError(f"{args.gold}: none of the model's columns ({', '.join(model.columns)}) "
                        "is filled; nothing to evaluate against")
    summary = score_tagger(model, gold, columns).summary()
    if args.json:
        print(json.dumps(summary))
    else:
        print(_evaluation_report(summary))
    return 0


def _evaluation_report(summary):
    first = next(iter(summary["columns"]))
    lines = [f"words {summary['tokens']}, of which unseen in training {summary['oov_tokens']}",
             "",
             f"{'':<8} {'all words':>10} {'unseen':>8} {'gold _':>7}"]
    for name, scores in summary["columns"].items():
        lines.append(f"{_COLUMN_NAMES.get(name, name):<8} {percent(scores['accuracy']):>10} "
                     f"{percent(scores['oov_accuracy']):>8} {scores.get('missing', ''):>7}")
    lines += ["", f"{_COLUMN_NAMES.get(first, first)} by tag:",
              f"{'tag':<8} {'precision':>9} {'recall':>7} {'f1':>7} {'support':>8}"]
    for name, row in summary["per_tag"].items():
        lines.append(f"{name:<8} {100 * row['precision']:>8.2f}% {100 * row['recall']:>6.2f}% "
                     f"{100 * row['f1']:>6.2f}% {row['support']:>8}")
    lines += ["", "most frequent confusions (gold -> predicted):"]
    lines += [f"  {c['gold']} -> {c['predicted']}  {c['count']}" for c in summary["confusions"]]
    return "\n".join(lines)


_COLUMN_NAMES = {"upos": "UPOS", "xpos": "XPOS", "feats": "FEATS", "lemma": "Lemmas",
                 "ufeats": "UFeats", "alltags": "AllTags"}
