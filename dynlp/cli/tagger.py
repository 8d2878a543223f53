"""`dynlp train-tagger`, `tag` and `evaluate`."""
import json
import logging
import sys

from dynlp.cli.flags import start, train_tagger_from_flags
from dynlp.cli.output import check_model, chunk_results, output_file, output_path
from dynlp.data.treebank import filled, read_conllu, read_treebank
from dynlp.errors import DataError
from dynlp.metrics import percent
from dynlp.models.tagger.network import BiLSTMTagger
from dynlp.tasks import check_output_dir, score_tagger
from dynlp.tasks.pipeline import evaluate_raw_text, has_tokenizer, load_tokenizer

log = logging.getLogger("dynlp")


def train_tagger_command(args):
    check_output_dir(args.output, "tagger", args.resume, args.overwrite)
    verbose = start(args, training=True)
    train_tagger_from_flags(args, verbose)
    return 0


def tag(args):
    verbose = start(args)
    check_model(args.model, "tagger")
    if args.input == "-" and sys.stdin.isatty():
        print("dynlp tag: reading from the terminal, end with Ctrl-D (or give a FILE)",
              file=sys.stderr)
    count = 0
    with output_file(output_path(args)) as out:
        for chunk in chunk_results("tag", args, verbose, input_format=args.input_format,
                                   n_best=confidences(args)):
            out.write(chunk)
            count += 1
        if count == 0:
            raise DataError(f"{args.input}: no sentences to tag")
    if args.input_format != "conllu" and not has_tokenizer(args.model):  # after: errors first
        log.warning("%s has no tokenizer (trained before tokenizers, or from a file without "
                    "'# text'): each line was a sentence, split into words by NLTK's English "
                    "tokenizer", args.model)
    return 0


def confidences(args):
    """How many alternatives `tag` writes beside each word's probabilities (None: neither)."""
    if args.n_best is not None:
        return args.n_best
    return 0 if args.probabilities else None


def evaluate(args):
    start(args)
    check_model(args.model, "tagger")
    model = BiLSTMTagger.load(args.model)
    if args.raw_text:
        return _evaluate_raw_text(args, model)
    gold = read_treebank(args.gold, model.columns)
    columns = [c for c in model.columns if filled(gold, c)]  # a gold file may lack some
    if not columns:
        raise DataError(f"{args.gold}: none of the model's columns ({', '.join(model.columns)}) "
                        "is filled; nothing to evaluate against")
    summary = score_tagger(model, gold, columns, calibration=True).summary()
    if args.json:
        print(json.dumps(summary))
    else:
        print(_evaluation_report(summary))
    return 0


def _evaluate_raw_text(args, model):
    tokenizer = load_tokenizer(args.model)
    if tokenizer is None:
        raise DataError(f"--raw-text: {args.model} has no tokenizer to read raw text with "
                        "(train the tagger on a file whose sentences have '# text')")
    scores = evaluate_raw_text(model, tokenizer, list(read_conllu(args.gold, ())), args.gold)
    if args.json:
        print(json.dumps({metric: dict(zip(("precision", "recall", "f1"), values))
                          for metric, values in scores.items()}))
        return 0
    print(f"{'Metric':<11}| Precision |    Recall |  F1 Score")
    print("-----------+-----------+-----------+-----------")
    for metric, (precision, recall, f1) in scores.items():
        print(f"{metric:<11}|{100 * precision:10.2f} |{100 * recall:10.2f} |{100 * f1:10.2f}")
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
    if summary.get("calibration"):
        lines += ["", "calibration: expected calibration error (ECE) of the probability of "
                  "each predicted value", "  " + "  ".join(
                      f"{_COLUMN_NAMES.get(c, c)} {percent(row['ece'])}"
                      for c, row in summary["calibration"].items())]
    if summary["confusions"]:  # none when every tag was right
        lines += ["", "most frequent confusions (gold -> predicted):"]
        lines += [f"  {c['gold']} -> {c['predicted']}  {c['count']}"
                  for c in summary["confusions"]]
    return "\n".join(lines)


_COLUMN_NAMES = {"upos": "UPOS", "xpos": "XPOS", "feats": "FEATS", "lemma": "Lemmas",
                 "ufeats": "UFeats", "alltags": "AllTags"}
