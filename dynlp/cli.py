"""The `dynlp` command: train-lm, sample, score, train-tagger, tag, evaluate, serve, info.

Each command is a small function over parsed arguments.  Data goes to stdout; progress, epoch
lines and errors go to stderr.  A `DynlpError` becomes one line `dynlp: error: ...` and exit
status 2, never a traceback.  The flag definitions live in one place (`add_*_arguments`), shared
with the recipes.
"""
import argparse
import contextlib
import json
import logging
import math
import os
import sys
import tempfile

import numpy as np

from . import backend
from .config import LMConfig, TaggerConfig, TrainConfig, add_arguments, from_args, to_dict
from .errors import DataError, DynlpError

log = logging.getLogger("dynlp")

# DyNet's own spellings, accepted for users who know them: --dynet-mem 1024 == --mem 1024.
DYNET_FLAGS = {"--dynet-mem": "--mem", "--dynet-seed": "--seed", "--dynet-gpus": "--gpus",
               "--dynet-devices": "--devices", "--dynet-weight-decay": "--weight-decay"}


# ---- argument builders (shared with recipes/) -----------------------------------------------
def add_common_arguments(parser):
    """DyNet settings and --quiet, which every command takes."""
    add_arguments(parser, backend.BackendConfig)
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress or log on stderr")


# A language model trains until dev stops improving: the rate is halved at each epoch without
# improvement and training stops after 3 of them in a row; the epoch cap is only a backstop.
# (A cap of 10 ended small corpora still improving: issue 17.)  The best epoch is kept, so
# running longer can only find a better dev loss; --max-minutes bounds the time.  No warm-up by
# default: 100 updates of it saved the class softmax at SGD 1 on 4,000 PTB lines but not on
# WikiText-2, and cost a small corpus most of its first epoch (benchmarks/RESULTS.md).
LM_TRAINING = dict(epochs=200)


def add_train_lm_arguments(parser, defaults=None, train_required=True):
    """All flags of `dynlp train-lm`; a recipe passes its own `defaults`."""
    _add_training_arguments(parser, LMConfig, {**LM_TRAINING, **(defaults or {})},
                            train_required, "training text, one sentence per line",
                            "a bundled corpus")


def add_ngram_arguments(parser):
    """--ngram N and --smoothing: a count-based model instead of a recurrent one (ngram.py)."""
    parser.add_argument("--ngram", type=int, default=0, metavar="N",
                        help="train a count-based N-gram model instead (seconds, no network; "
                             "the recurrent model's flags are not used)")
    parser.add_argument("--smoothing", default="kneser-ney", choices=("kneser-ney", "none"),
                        help="--ngram: interpolated modified Kneser-Ney, or none (maximum "
                             "likelihood from the longest context seen, as Goldberg's character "
                             "model; a token never seen there gets probability 0)")


# Chosen on the dev sets of the small treebanks in ../shared/data and run on all of them
# (benchmarks/RESULTS.md, "The tagger on any treebank"): Adam at 0.002 on batches of 16
# sentences, halved after 3 evaluations without dev improvement, stopping after 12 of them or
# instead of a 5th halving.  The epoch cap is only a backstop: dev decides.  A batch holds at
# most 1024 padded words (as when tagging), which bounds training memory (under 1 GB on EWT;
# benchmarks/train_memory.py) and changes only the batches of the longest sentences.  With
# --max-minutes, the last 3 epochs' time halves the rate after each epoch: EWT, which the 20
# minutes stop mid-stride, gained 0.16 in dev score (the small treebanks stop on their own).
TAGGER_TRAINING = dict(batch_size=16, lr=0.002, decay_patience=3, patience=12, max_decays=4,
                       epochs=300, batch_words=1024, settle_epochs=3)


def add_train_tagger_arguments(parser, defaults=None, train_required=True):
    """All flags of `dynlp train-tagger`; a recipe passes its own `defaults`."""
    _add_training_arguments(parser, TaggerConfig, {**TAGGER_TRAINING, **(defaults or {})},
                            train_required, "training treebank (CoNLL-U)", "data/sample.conllu")


def _add_training_arguments(parser, model_config_class, defaults, train_required, what,
                            fallback):
    """TRAIN, --dev, -o, --resume, the model's and the loop's settings, and the common flags."""
    defaults = defaults or {}
    parser.add_argument("train", nargs=None if train_required else "?", metavar="TRAIN",
                        help=what + ("" if train_required else f" (default: {fallback})"))
    parser.add_argument("--dev", metavar="FILE", help="dev data (default: hold out the tail)")
    parser.add_argument("-o", "--output", metavar="DIR", default=defaults.get("output"),
                        required=train_required, help="model directory to write")
    parser.add_argument("--resume", action="store_true", help="continue training in DIR")
    add_arguments(parser, model_config_class, defaults)
    add_arguments(parser, TrainConfig, defaults)
    add_common_arguments(parser)


def add_workers_arguments(parser):
    """--workers and --ray, and the output file, for the commands that work in chunks."""
    parser.add_argument("output_positional", nargs="?", metavar="OUT",
                        help="output file (default: stdout); same as -o")
    parser.add_argument("-o", "--output", metavar="OUT", help="output file (default: stdout)")
    parser.add_argument("--workers", type=_positive_int, metavar="N",
                        help="worker processes, forked after the model is loaded (default: one "
                             "per core, or 1 for an input of one chunk (tag: 1024 sentences, score: "
                             "256 lines); with --ray: "
                             "one per CPU of the cluster)")
    parser.add_argument("--ray", metavar="ADDRESS",
                        help="run on a Ray cluster: 'auto' (the running one), an address such "
                             "as ray://head:10001, or 'local' (start one here); needs dynlp[ray]")


def _positive_int(text):
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, not {text!r}")
    return int(text)


# Where the recipes write their models, and so where the commands look when -m is not given.
DEFAULT_MODELS = {"language-model": "models/lm", "tagger": "models/tagger"}


def add_model_argument(parser, kind):
    """-m DIR, defaulting to where the recipe for `kind` writes its model."""
    default = DEFAULT_MODELS[kind]
    parser.add_argument("-m", "--model", default=default, metavar="DIR",
                        help=f"{kind} directory (default: {default}, where the recipe writes)")


def add_sampling_arguments(parser):
    add_model_argument(parser, "language-model")
    parser.add_argument("-n", type=int, default=1, help="number of samples")
    parser.add_argument("--temperature", type=float, default=1.0, help="<1 sharper, >1 wilder")
    parser.add_argument("--top-k", type=int, help="sample among the k likeliest tokens only")
    parser.add_argument("--prefix", default="", help="text the samples continue")
    parser.add_argument("--max-len", type=int, default=200, help="tokens per sample at most")
    add_common_arguments(parser)


# ---- setup shared by commands and recipes -------------------------------------------------------
def start(args, training=False):
    """Configure DyNet and logging from parsed arguments; returns True if stderr is verbose.

    A training command that may use several --workers gets its parameters in shared memory;
    other commands only predict, and get memory laid out for that (backend.INFERENCE_MEM).
    """
    settings = from_args(backend.BackendConfig, args)
    workers = getattr(args, "workers", None)
    # On a GPU one process trains (backend.check_gpu_processes): nothing to share.
    settings.shared_parameters = training and workers != 1 and not backend.on_gpu(settings)
    if not training and not settings.mem:
        settings.mem = backend.INFERENCE_MEM
    backend.configure(settings)
    backend.check_gpu_processes(settings, workers, getattr(args, "ray", None))
    verbose = not args.quiet and sys.stderr.isatty()
    if verbose and not log.handlers:
        handler = _TqdmHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
    return verbose


def settings(args, model_config_class):
    """(model config, TrainConfig) from the flags, checked.

    Resuming continues the saved model: its own settings (not the flags) say how to read the
    data, so a resumed run cannot silently read text differently from the first one.
    """
    from .pipeline import saved_config

    if getattr(args, "resume", False):
        model_config = saved_config(args.output, model_config_class)
    else:
        model_config = from_args(model_config_class, args)
    train_config = from_args(TrainConfig, args)
    model_config.check()
    train_config.check()
    return model_config, train_config


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

    if getattr(args, "ngram", 0):
        return train_ngram(args)
    verbose = start(args, training=True)
    lm_config, train_config = settings(args, LMConfig)
    train, dev = read_lm_corpus(args.train, args.dev, lm_config, train_config.dev_fraction)
    model, state = train_language_model(train, dev, lm_config, train_config, args.output,
                                        resume=args.resume, progress=verbose, seed=args.seed)
    best = min(state.history, key=lambda m: m["dev_loss"]) if state.history else {}
    log.info("best dev perplexity %.2f; model in %s", best.get("dev_ppl", math.nan), args.output)
    return 0


def train_ngram(args):
    from .ngram import NgramConfig, train_ngram_model
    from .pipeline import read_lm_corpus

    start(args)
    if args.stream or args.resume:
        raise DynlpError(f"--ngram: {'--stream' if args.stream else '--resume'} is for "
                         "recurrent models (an n-gram model reads line by line, in one pass)")
    config = NgramConfig(order=args.ngram, level=args.level, tokenized=args.tokenized,
                         smoothing=args.smoothing)
    config.check()
    train_config = from_args(TrainConfig, args)
    train, dev = read_lm_corpus(args.train, args.dev, config, train_config.dev_fraction)
    _, metrics = train_ngram_model(train, dev, config, args.output)
    unit = "char" if config.level == "char" else "word"
    log.info("%d-gram model (%s), n-grams per order %s, in %.1f s: dev perplexity %.2f, "
             "%.4f bits per %s; model in %s", config.order, config.smoothing, metrics["ngrams"],
             metrics["seconds"], metrics.get("dev_ppl", math.nan),
             metrics.get("dev_bits_per_token", math.nan), unit, args.output)
    return 0


def sample(args):
    from .lm import check_sampling
    from .pipeline import load_language_model, sample_text

    start(args)
    check_sampling(args.temperature, args.top_k, args.max_len)
    if args.n < 1:
        raise DynlpError(f"-n must be at least 1 (got {args.n})")
    _check_model(args.model, "language-model")
    model = load_language_model(args.model)
    rng = np.random.default_rng(args.seed)
    for _ in range(args.n):
        print(sample_text(model, rng, args.prefix, temperature=args.temperature,
                          top_k=args.top_k, max_len=args.max_len), flush=True)
    return 0


def score(args):
    verbose = start(args)
    config = _check_model(args.model, "language-model")
    if args.stream:
        return _score_stream(args, config)
    totals = {"sentences": 0, "tokens": 0, "log_prob": 0.0}
    with output_file(_output_path(args)) as out:
        for results in _chunk_results("score", args, verbose):
            for result in results:
                if result is None:  # a blank line: keep the output aligned with the input
                    if not args.json:
                        out.write("\n")
                    continue
                total, tokens = result
                totals["sentences"] += 1
                totals["tokens"] += tokens
                totals["log_prob"] += total
                if not args.json:
                    out.write(f"{total:.4f}\n")
        if not totals["tokens"]:
            raise DataError(f"{args.input}: no text to score")
        summary = _with_perplexity(totals)
        if args.json:
            out.write(json.dumps(summary) + "\n")
    if not args.json:
        _print_perplexity(summary, f"{summary['sentences']} sentences", config)
    return 0


def _score_stream(args, config):
    """The perplexity of the whole input read as one stream, `</s>` between lines and the state
    carried across them: how a --stream model was trained and its dev perplexity measured, and
    how published corpus perplexities are counted.  The file's token ids are held in memory."""
    from .pipeline import STREAM_SCORING_BPTT, lm_batches, load_language_model
    from .text import read_sentences
    from .train import evaluate_loss

    if not config.get("stream"):
        raise DynlpError(f"--stream: {args.model} was trained on separate lines (no --stream); "
                         "score it line by line")
    if args.ray:
        raise DynlpError("--stream reads the input in one process (and its forks): drop --ray")
    model = load_language_model(args.model)
    lines = read_sentences(args.input, model.config.level, model.config.tokenized, True)
    batches = lm_batches(lines, model.vocab, model.config, 1, STREAM_SCORING_BPTT, False)
    nll, tokens = evaluate_loss(model, batches, args.workers)
    summary = _with_perplexity({"lines": len(lines), "tokens": tokens, "log_prob": -nll})
    if args.json:
        with output_file(_output_path(args)) as out:
            out.write(json.dumps(summary) + "\n")
    else:
        _print_perplexity(summary, f"{len(lines)} lines as one stream", config)
    return 0


def _with_perplexity(counts):
    """`counts` (with "tokens" and their summed "log_prob") plus perplexity and bits per token."""
    from .metrics import bits_per_token, perplexity

    nll, tokens = -counts["log_prob"], counts["tokens"]
    return {**counts, "perplexity": perplexity(nll, tokens),
            "bits_per_token": bits_per_token(nll, tokens)}


def _print_perplexity(summary, what, config):
    unit = "char" if config["level"] == "char" else "word"
    print(f"{what}, {summary['tokens']} tokens: perplexity {summary['perplexity']:.3f}, "
          f"{summary['bits_per_token']:.4f} bits per {unit}", file=sys.stderr)


def _chunk_results(job, args, verbose, **options):
    """The results of `job` ("tag" or "score") for each chunk of the input, in input order:
    from this process or a local pool (`--workers`), or from a Ray cluster (`--ray`)."""
    from .work import chunk_size, chunked, run_chunks, score_chunk, tag_chunk, tagger_input
    from .text import read_lines

    backend_config = from_args(backend.BackendConfig, args)
    if args.ray:
        from .cluster import run_on_ray

        if args.input == "-":
            raise DynlpError("--ray: every worker reads the input file itself; give a file "
                             "on a shared path, not stdin")
        return run_on_ray(job, os.path.abspath(args.model), os.path.abspath(args.input),
                          args.ray, args.workers, backend_config, quiet=not verbose, **options)
    if job == "tag":
        function, items = tag_chunk, tagger_input(args.input, **options)
    else:
        function, items = score_chunk, (text for _, text in read_lines(args.input))
    return run_chunks(function, args.model, chunked(items, chunk_size(job)), args.workers)


def _output_path(args):
    """OUT given as `-o OUT` or as the second positional argument (not both)."""
    if args.output and args.output_positional and args.output != args.output_positional:
        raise DynlpError("give the output file once: as -o OUT or as the second argument")
    return args.output or args.output_positional


def _check_model(model_dir, kind):
    """The model's config, read up front: a missing or wrong-kind directory is one clear
    error before any worker starts (files and checksums are checked when a worker loads it)."""
    from .checkpoint import read_config
    from .errors import ModelDirError

    if model_dir == DEFAULT_MODELS[kind] and not os.path.isdir(model_dir):
        recipe = "train_lm.py" if kind == "language-model" else "train_tagger.py"
        raise ModelDirError(f"{model_dir}: no model there (the default -m); train one with "
                            f"python recipes/{recipe}, or give -m DIR")
    return read_config(model_dir, kind)["config"]


def train_tagger(args):
    from .pipeline import read_tagger_corpus, train_tagger as train

    verbose = start(args, training=True)
    tagger_config, train_config = settings(args, TaggerConfig)
    train_set, dev_set, tagger_config = read_tagger_corpus(args.train, args.dev, tagger_config,
                                                           train_config.dev_fraction)
    _, state = train(train_set, dev_set, tagger_config, train_config, args.output,
                     resume=args.resume, progress=verbose, seed=args.seed)
    log.info("best dev score %.4f (mean accuracy of %s); model in %s", state.best or 0.0,
             tagger_config.columns, args.output)
    return 0


def tag(args):
    verbose = start(args)
    _check_model(args.model, "tagger")
    count = 0
    with output_file(_output_path(args)) as out:
        for chunk in _chunk_results("tag", args, verbose, input_format=args.input_format):
            out.write(chunk)
            count += 1
        if count == 0:
            raise DataError(f"{args.input}: no sentences to tag")
    return 0


@contextlib.contextmanager
def output_file(path):
    """stdout for None or '-'; else a temporary file renamed into place only on success."""
    if path in (None, "-"):
        yield sys.stdout
        return
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise DynlpError(f"{path}: the directory {directory} does not exist")
    handle, temporary = tempfile.mkstemp(prefix=".dynlp-", dir=directory)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            yield out
        os.chmod(temporary, 0o644)  # mkstemp makes it private; an output file is not
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def evaluate(args):
    from .pipeline import score_tagger
    from .tagger import BiLSTMTagger
    from .treebank import check_filled, filled, read_treebank

    start(args)
    _check_model(args.model, "tagger")
    model = BiLSTMTagger.load(args.model)
    gold = read_treebank(args.gold, model.columns)
    columns = [c for c in model.columns if filled(gold, c)]  # a gold file may lack some
    if not columns:
        raise DataError(f"{args.gold}: none of the model's columns ({', '.join(model.columns)}) "
                        "is filled; nothing to evaluate against")
    check_filled(gold, columns, args.gold)
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
             f"{'':<8} {'all words':>10} {'unseen':>8}"]
    for name, scores in summary["columns"].items():
        lines.append(f"{_COLUMN_NAMES.get(name, name):<8} {percent(scores['accuracy']):>10} "
                     f"{percent(scores['oov_accuracy']):>8}")
    lines += ["", f"{_COLUMN_NAMES.get(first, first)} by tag:",
              f"{'tag':<8} {'precision':>9} {'recall':>7} {'f1':>7} {'support':>8}"]
    for name, row in summary["per_tag"].items():
        lines.append(f"{name:<8} {100 * row['precision']:>8.2f}% {100 * row['recall']:>6.2f}% "
                     f"{100 * row['f1']:>6.2f}% {row['support']:>8}")
    lines += ["", "most frequent confusions (gold -> predicted):"]
    lines += [f"  {c['gold']} -> {c['predicted']}  {c['count']}" for c in summary["confusions"]]
    return "\n".join(lines)


_COLUMN_NAMES = {"upos": "UPOS", "xpos": "XPOS", "feats": "FEATS", "ufeats": "UFeats",
                 "alltags": "AllTags"}


def percent(fraction):
    return "n/a" if fraction is None else f"{100 * fraction:.2f}%"


def serve(args):
    try:
        import starlette  # noqa: F401  (the extra's two packages)
        import uvicorn  # noqa: F401
    except ImportError:
        raise DynlpError("dynlp serve needs Starlette and uvicorn: pip install "
                         "'dynlp[serve]'") from None
    from .server import Limits, serve as run_server

    model_dirs = args.model or [d for d in DEFAULT_MODELS.values() if os.path.isdir(d)]
    if not model_dirs:
        raise DynlpError("no model to serve: give -m DIR (the defaults, models/tagger and "
                         "models/lm, do not exist)")
    settings = from_args(backend.BackendConfig, args)
    workers = args.workers or _default_serve_workers(settings)
    backend.check_gpu_processes(settings, workers, None)
    if not args.quiet and not log.handlers:  # a service's log is its output: piped or not
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
    if args.access_log:
        logging.getLogger("uvicorn.access").addHandler(logging.StreamHandler(sys.stderr))
        logging.getLogger("uvicorn.access").setLevel(logging.INFO)
    if not settings.mem:
        settings.mem = backend.INFERENCE_MEM
    limits = Limits(max_body=args.max_body, max_tokens=args.max_tokens, max_n=args.max_n,
                    max_len=args.max_len)
    run_server(model_dirs, args.host, args.port, workers, to_dict(settings), limits,
               batch_words=args.batch_words, window=args.batch_ms / 1000,
               access_log=args.access_log)
    return 0


def _default_serve_workers(settings):
    from .forks import usable_processes

    return 1 if backend.on_gpu(settings) else usable_processes()


def add_serve_arguments(parser):
    parser.add_argument("-m", "--model", action="append", metavar="DIR",
                        help="a model directory to serve, named by its base name; repeat for "
                             "more (default: models/tagger and models/lm, those that exist)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default: 127.0.0.1, this machine only; "
                             "see docs/serve.md before opening it wider)")
    parser.add_argument("--port", type=int, default=8000, help="port (0: any free one)")
    parser.add_argument("--workers", type=_positive_int, metavar="N",
                        help="model worker processes, each loading every model once (default: "
                             "one per core; one on a GPU)")
    parser.add_argument("--max-body", type=_positive_int, default=1_000_000, metavar="BYTES",
                        help="largest request body")
    parser.add_argument("--max-tokens", type=_positive_int, default=5_000, metavar="N",
                        help="tokens per tag or score request, and in a sampling prefix")
    parser.add_argument("--max-n", type=_positive_int, default=20, metavar="N",
                        help="samples per request")
    parser.add_argument("--max-len", type=_positive_int, default=1_000, metavar="N",
                        help="tokens per sample")
    parser.add_argument("--batch-words", type=_positive_int, default=4096, metavar="N",
                        help="words that requests arriving together share in one batch")
    parser.add_argument("--batch-ms", type=float, default=2.0, metavar="MS",
                        help="how long a request waits for others to share its batch when a "
                             "worker is free")
    parser.add_argument("--access-log", action="store_true", help="a line per request on stderr")
    add_common_arguments(parser)


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
class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors are one line like every other dynlp error."""

    def error(self, message):
        self.exit(2, f"dynlp: error: {self.prog.split()[-1]}: {message} (see --help)\n")


def build_parser():
    parser = _Parser(prog="dynlp", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    training_lm = commands.add_parser("train-lm", help="train a language model")
    add_train_lm_arguments(training_lm)
    add_ngram_arguments(training_lm)
    add_sampling_arguments(commands.add_parser("sample", help="sample text from a model"))
    scoring = commands.add_parser("score", help="log-probability of each line")
    add_model_argument(scoring, "language-model")
    scoring.add_argument("input", nargs="?", default="-", metavar="FILE", help="text ('-': stdin)")
    scoring.add_argument("--json", action="store_true", help="one JSON summary on stdout")
    scoring.add_argument("--stream", action="store_true",
                         help="a --stream model: score the file as one stream (the state "
                              "carried across lines, as its dev perplexity was measured in "
                              "training); prints the perplexity only, and reads the whole "
                              "file into memory as training reads its corpus")
    add_workers_arguments(scoring)
    add_common_arguments(scoring)
    add_train_tagger_arguments(commands.add_parser("train-tagger", help="train a POS tagger"))
    tagging = commands.add_parser("tag", help="tag CoNLL-U or plain text, write CoNLL-U")
    add_model_argument(tagging, "tagger")
    tagging.add_argument("input", nargs="?", default="-", metavar="FILE", help="input ('-': stdin)")
    tagging.add_argument("--input", dest="input_format", choices=("conllu", "text"),
                         default="conllu", help="CoNLL-U, or text with one sentence per line")
    add_workers_arguments(tagging)
    add_common_arguments(tagging)
    evaluation = commands.add_parser("evaluate", help="tagging accuracy against gold CoNLL-U")
    add_model_argument(evaluation, "tagger")
    evaluation.add_argument("gold", metavar="GOLD", help="gold CoNLL-U file")
    evaluation.add_argument("--json", action="store_true", help="one JSON object on stdout")
    add_common_arguments(evaluation)
    add_serve_arguments(commands.add_parser(
        "serve", help="serve models over HTTP, with a page to try them (needs dynlp[serve])"))
    add_common_arguments(commands.add_parser("info", help="the DyNet in use: version, CUDA, MKL"))
    return parser


COMMANDS = {"train-lm": train_lm, "sample": sample, "score": score,
            "train-tagger": train_tagger, "tag": tag, "evaluate": evaluate, "serve": serve,
            "info": info}


def main(argv=None):
    argv = translate_dynet_flags(sys.argv[1:] if argv is None else list(argv))
    args = build_parser().parse_args(argv)
    return run(COMMANDS[args.command], args)


def run(command, *args):
    """Run a command (or a recipe's main): errors become one line on stderr and status 2."""
    try:
        return command(*args) or 0
    except DynlpError as error:
        return _fail(error)
    except OSError as error:
        if isinstance(error, BrokenPipeError):  # e.g. `dynlp sample -n 1000 | head`
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0
        where = f"{error.filename}: " if error.filename else ""
        return _fail(f"{where}{error.strerror or error}")
    except KeyboardInterrupt:
        training = command.__name__.startswith("train") or command.__module__ == "__main__"
        hint = "; saved models are complete (continue training with --resume)" if training else ""
        print(f"dynlp: interrupted{hint}", file=sys.stderr)
        return 130


def _fail(message):
    print(f"dynlp: error: {message}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
