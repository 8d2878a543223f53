"""The `dynlp` command: train-lm, sample, score, info.

Each command is a small function over parsed arguments.  Data goes to stdout; progress, epoch
lines and errors go to stderr.  A `DynlpError` becomes one line `dynlp: error: ...` and exit
status 2, never a traceback.  The flag definitions live in one place (`add_*_arguments`), shared
with the recipes.
"""
import argparse
import json
import logging
import math
import sys

import numpy as np

from . import backend
from .config import LMConfig, TrainConfig, add_arguments, from_args
from .errors import DynlpError

log = logging.getLogger("dynlp")

# DyNet's own spellings, accepted for users who know them: --dynet-mem 1024 == --mem 1024.
DYNET_FLAGS = {"--dynet-mem": "--mem", "--dynet-seed": "--seed", "--dynet-gpus": "--gpus",
               "--dynet-devices": "--devices", "--dynet-weight-decay": "--weight-decay"}


# ---- argument builders (shared with recipes/) -----------------------------------------------
def add_common_arguments(parser):
    """DyNet settings and --quiet, which every command takes."""
    add_arguments(parser, backend.BackendConfig)
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress or log on stderr")


def add_train_lm_arguments(parser, defaults=None, train_required=True):
    """All flags of `dynlp train-lm`; a recipe passes its own `defaults`."""
    parser.add_argument("train", nargs=None if train_required else "?", metavar="TRAIN",
                        help="training text, one sentence per line" +
                             ("" if train_required else " (default: a bundled corpus)"))
    parser.add_argument("--dev", metavar="FILE", help="dev text (default: hold out the tail)")
    parser.add_argument("-o", "--output", metavar="DIR", default=(defaults or {}).get("output"),
                        required=train_required, help="model directory to write")
    parser.add_argument("--resume", action="store_true", help="continue training in DIR")
    add_arguments(parser, LMConfig, defaults)
    add_arguments(parser, TrainConfig, defaults)
    add_common_arguments(parser)


def add_sampling_arguments(parser):
    parser.add_argument("-m", "--model", required=True, metavar="DIR", help="model directory")
    parser.add_argument("-n", type=int, default=1, help="number of samples")
    parser.add_argument("--temperature", type=float, default=1.0, help="<1 sharper, >1 wilder")
    parser.add_argument("--top-k", type=int, default=0, help="sample among the k likeliest (0: all)")
    parser.add_argument("--prefix", default="", help="text the samples continue")
    parser.add_argument("--max-len", type=int, default=200, help="tokens per sample at most")
    add_common_arguments(parser)


# ---- setup shared by commands and recipes -------------------------------------------------------
def start(args):
    """Configure DyNet and logging from parsed arguments; returns True if stderr is verbose."""
    backend.configure(from_args(backend.BackendConfig, args))
    verbose = not args.quiet and sys.stderr.isatty()
    if verbose and not log.handlers:
        handler = _TqdmHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
    return verbose


class _TqdmHandler(logging.Handler):
    """Log lines that do not break the progress bar."""

    def emit(self, record):
        from tqdm import tqdm

        tqdm.write(self.format(record), file=sys.stderr)


def translate_dynet_flags(argv):
    """Rewrite DyNet's `--dynet-*` flags into dynlp's own (`--dynet-autobatch 1` → `--autobatch`)."""
    out, i = [], 0
    while i < len(argv):
        flag = argv[i]
        if flag == "--dynet-autobatch" and i + 1 < len(argv):
            out.append("--autobatch" if argv[i + 1] != "0" else "--no-autobatch")
            i += 2
            continue
        out.append(DYNET_FLAGS.get(flag, flag))
        i += 1
    return out


# ---- commands --------------------------------------------------------------------------------
def train_lm(args):
    from .pipeline import read_lm_corpus, train_language_model

    verbose = start(args)
    lm_config, train_config = from_args(LMConfig, args), from_args(TrainConfig, args)
    lm_config.check()
    train_config.check()
    train, dev = read_lm_corpus(args.train, args.dev, lm_config, train_config.dev_fraction)
    model, state = train_language_model(train, dev, lm_config, train_config, args.output,
                                        resume=args.resume, progress=verbose, seed=args.seed)
    best = min(state.history, key=lambda m: m["dev_loss"]) if state.history else {}
    log.info("best dev perplexity %.2f; model in %s", best.get("dev_ppl", math.nan), args.output)
    return 0


def sample(args):
    from .lm import RNNLanguageModel, check_sampling
    from .pipeline import sample_text

    start(args)
    check_sampling(args.temperature, args.top_k, args.max_len)
    if args.n < 1:
        raise DynlpError(f"-n must be at least 1 (got {args.n})")
    model = RNNLanguageModel.load(args.model)
    rng = np.random.default_rng(args.seed)
    for _ in range(args.n):
        print(sample_text(model, rng, args.prefix, temperature=args.temperature,
                          top_k=args.top_k, max_len=args.max_len), flush=True)
    return 0


def score(args):
    from .lm import RNNLanguageModel
    from .metrics import bits_per_token, perplexity
    from .text import read_lines, tokenize

    start(args)
    model = RNNLanguageModel.load(args.model)
    config = model.config
    totals = {"sentences": 0, "tokens": 0, "log_prob": 0.0}
    for chunk in _chunks(read_lines(args.input), 64):
        sentences = [tokenize(text, config.level, config.tokenized) for _, text in chunk]
        scored = iter(model.score_batch([s for s in sentences if s]) if any(sentences) else [])
        for sentence in sentences:
            if not sentence:  # a blank line: keep the output aligned with the input
                if not args.json:
                    print("")
                continue
            total, per_token = next(scored)
            totals["sentences"] += 1
            totals["tokens"] += len(per_token)
            totals["log_prob"] += total
            if not args.json:
                print(f"{total:.4f}")
    nll = -totals["log_prob"]
    summary = {**totals, "perplexity": perplexity(nll, totals["tokens"]),
               "bits_per_token": bits_per_token(nll, totals["tokens"])}
    if args.json:
        print(json.dumps(summary))
    else:
        unit = "char" if config.level == "char" else "word"
        print(f"{summary['sentences']} sentences, {summary['tokens']} tokens: perplexity "
              f"{summary['perplexity']:.3f}, {summary['bits_per_token']:.4f} bits per {unit}",
              file=sys.stderr)
    return 0


def _chunks(items, size):
    chunk = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def info(args):
    start(args)
    details = backend.info()
    print(f"dynlp {_version()}")
    print(f"DyNet {details['dynet_version']} ({details['module']})")
    print(f"CUDA: {'yes' if details['cuda'] else 'no'}   MKL: {'yes' if details['mkl'] else 'no'}")
    return 0


def _version():
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("dynlp")
    except PackageNotFoundError:
        return "(not installed)"


# ---- entry point -------------------------------------------------------------------------------
def build_parser():
    parser = argparse.ArgumentParser(prog="dynlp", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_train_lm_arguments(commands.add_parser("train-lm", help="train a language model"))
    add_sampling_arguments(commands.add_parser("sample", help="sample text from a model"))
    scoring = commands.add_parser("score", help="log-probability of each line")
    scoring.add_argument("-m", "--model", required=True, metavar="DIR", help="model directory")
    scoring.add_argument("input", nargs="?", default="-", metavar="FILE", help="text ('-': stdin)")
    scoring.add_argument("--json", action="store_true", help="one JSON summary on stdout")
    add_common_arguments(scoring)
    add_common_arguments(commands.add_parser("info", help="the DyNet in use: version, CUDA, MKL"))
    return parser


COMMANDS = {"train-lm": train_lm, "sample": sample, "score": score, "info": info}


def main(argv=None):
    argv = translate_dynet_flags(sys.argv[1:] if argv is None else list(argv))
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except DynlpError as error:
        print(f"dynlp: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("dynlp: interrupted; every saved model is complete (train-lm: continue with "
              "--resume)", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
