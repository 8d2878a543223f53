"""The `dynlp` command: train-lm, sample, score, train-tagger, tag, evaluate, serve, plot, info.

Each command is a small function over parsed arguments.  Data goes to stdout; progress, epoch
lines and errors go to stderr.  A `DynlpError` becomes one line `dynlp: error: ...` and exit
status 2, never a traceback.  The flag definitions live in one place (`add_*_arguments`), shared
with the recipes.
"""
import argparse
import logging
import sys
from importlib.metadata import PackageNotFoundError, version

from dynlp import backend
from dynlp.cli import lm, plot, serve, tagger
from dynlp.data.confidence import MAX_N_BEST
from dynlp.cli.flags import (DefaultsFormatter, add_common_arguments, add_model_argument,
                             add_ngram_arguments, add_plot_arguments, add_sampling_arguments, add_serve_arguments,
                             add_train_lm_arguments, add_train_tagger_arguments,
                             add_workers_arguments, has_default, run, start,
                             translate_dynet_flags)

log = logging.getLogger("dynlp")


def info(args):
    start(args)
    details = backend.info()
    print(f"dynlp {_version()}")
    print(f"DyNet {details['dynet_version']} ({details['module']})")
    print(f"CUDA: {'yes' if details['cuda'] else 'no'}   MKL: {'yes' if details['mkl'] else 'no'}")
    return 0


def _version():
    try:
        return version("dynlp")
    except PackageNotFoundError:
        return "(not installed)"


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors are one line like every other dynlp error, and --help
    shows each flag's default."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", DefaultsFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message):
        self.exit(2, f"dynlp: error: {self.prog.split()[-1]}: {message} (see --help)\n")


def build_parser():
    parser = _Parser(prog="dynlp", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    training_lm = commands.add_parser("train-lm", help="train a language model")
    add_train_lm_arguments(training_lm)
    add_ngram_arguments(training_lm)
    add_sampling_arguments(commands.add_parser("sample", help="sample text from a model"))
    scoring = _chunked_command(commands, "score", "log-probability of each line",
                               "language-model", "text ('-': stdin)")
    scoring.add_argument("--json", action="store_true", help="one JSON summary on stdout")
    scoring.add_argument("--stream", action="store_true",
                         help="a --stream model: score the file as one stream (the state "
                              "carried across lines, as its dev perplexity was measured in "
                              "training); prints the perplexity only, and reads the whole "
                              "file into memory as training reads its corpus")
    add_train_tagger_arguments(commands.add_parser("train-tagger", help="train a POS tagger"))
    tagging = _chunked_command(commands, "tag", "tag CoNLL-U or plain text, write CoNLL-U",
                               "tagger", "input ('-': stdin)")
    _add_tag_arguments(tagging)
    evaluation = commands.add_parser("evaluate", help="tagging accuracy against gold CoNLL-U")
    add_model_argument(evaluation, "tagger")
    evaluation.add_argument("gold", metavar="GOLD", help="gold CoNLL-U file")
    evaluation.add_argument("--json", action="store_true", help="one JSON object on stdout")
    _add_raw_text_argument(evaluation)
    add_common_arguments(evaluation)
    add_serve_arguments(commands.add_parser(
        "serve", help="serve models over HTTP, with a page to try them (needs dynlp[serve])"))
    add_plot_arguments(commands.add_parser(
        "plot", help="learning curves of training runs as a PNG or SVG (needs dynlp[plot])"))
    add_common_arguments(commands.add_parser("info", help="the DyNet in use: version, CUDA, MKL"))
    return parser


def _add_tag_arguments(tagging):
    tagging.add_argument("--input", dest="input_format", choices=("conllu", "text", "lines"),
                         default="conllu",
                         help="CoNLL-U (default); text: paragraphs of raw text, a blank line "
                              "between them, split into sentences, tokens and words by the "
                              "tokenizer learned beside the tagger; lines: one sentence per "
                              "line, tokenized by it (a tagger without a tokenizer splits "
                              "either by NLTK's English tokenizer, one sentence per line)")
    tagging.add_argument("--probabilities", action="store_true",
                         help="write each word's probability of each predicted value into "
                              "MISC, as UPOSProb=0.973 (docs/usage.md, 'Confidences')")
    tagging.add_argument("--n-best", type=int, choices=range(MAX_N_BEST + 1), metavar="K",
                         help="with the probabilities, the K next likeliest values of each "
                              f"column and theirs, as UPOSAlt=NOUN:0.020,ADJ:0.005 (0 to "
                              f"{MAX_N_BEST})")


def _add_raw_text_argument(evaluation):
    evaluation.add_argument("--raw-text", action="store_true",
                            help="tag the gold file's raw text (its sentences' # text, each "
                                 "paragraph or document read as one) with the tokenizer "
                                 "learned beside the tagger, and score as the CoNLL 2018 "
                                 "script does: Tokens, Sentences, Words, then each column as "
                                 "F1 over aligned words")


def _chunked_command(commands, name, help, kind, input_help):
    """A command that reads FILE in chunks with a `kind` model: score and tag."""
    parser = commands.add_parser(name, help=help)
    add_model_argument(parser, kind)
    parser.add_argument("input", nargs="?", default="-", metavar="FILE", help=input_help)
    add_workers_arguments(parser)
    add_common_arguments(parser)
    return parser


def defaults_table():
    """Markdown: every flag of every command that has a default, and the default, read from
    the parser itself (docs/usage.md holds it; tests/test_flags.py fails when they differ)."""
    commands = next(a for a in build_parser()._actions
                    if isinstance(a, argparse._SubParsersAction)).choices
    rows = ["| command | flag | default |", "| --- | --- | --- |"]
    for name, parser in commands.items():
        for action in parser._actions:
            if has_default(action):
                flag = max(action.option_strings, key=len)
                rows.append(f"| {name} | `{flag}` | {action.default} |")
    return "\n".join(rows)


COMMANDS = {"train-lm": lm.train_lm, "sample": lm.sample, "score": lm.score,
            "train-tagger": tagger.train_tagger_command, "tag": tagger.tag,
            "evaluate": tagger.evaluate, "serve": serve.serve, "plot": plot.plot, "info": info}


def main(argv=None):
    argv = translate_dynet_flags(sys.argv[1:] if argv is None else list(argv))
    args = build_parser().parse_args(argv)
    return run(COMMANDS[args.command], args)


if __name__ == "__main__":
    sys.exit(main())
