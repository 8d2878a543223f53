"""The flags of every command, defined once and shared with the recipes (recipes/*.py), the
setup every command and recipe starts with (`start`: DyNet's settings and logging), and what
`dynlp train-tagger` and its recipe both run from the flags (`train_tagger_from_flags`).

Model and training settings become flags from their dataclass fields (config.add_arguments), so
a setting has one definition, one default and one help text.
"""
import argparse
import logging
import os
import secrets
import sys

from tqdm import tqdm

from dynlp import backend
from dynlp.config import TrainConfig, add_arguments, from_args, not_negative
from dynlp.errors import ConfigError, DynlpError
from dynlp.models.lm import LMConfig
from dynlp.models.tagger.config import TaggerConfig
from dynlp.serve.pool import BATCH_WORDS, WINDOW_SECONDS
from dynlp.serve.protocol import Limits
from dynlp.tasks import saved_config, teacher_and_config
from dynlp.tasks.pipeline import TOKENIZER_MINUTES, train_tagger_and_tokenizer

log = logging.getLogger("dynlp")
LIMITS = Limits()  # the server's defaults, which its flags show


# DyNet's own spellings, accepted for users who know them: --dynet-mem 1024 == --mem 1024.
DYNET_FLAGS = {"--dynet-mem": "--mem", "--dynet-seed": "--seed", "--dynet-gpus": "--gpus",
               "--dynet-devices": "--devices", "--dynet-weight-decay": "--weight-decay"}


class DefaultsFormatter(argparse.HelpFormatter):
    """--help with each flag's default, where it has one its help does not already give."""

    def _get_help_string(self, action):
        text = action.help or ""
        if not has_default(action) or "default" in text:
            return text
        return f"{text} (default: %(default)s)"


def has_default(action):
    """Whether a flag has a default worth showing (not None, False, "" or help's)."""
    default = action.default
    unset = default is None or default is False or default == "" or default == argparse.SUPPRESS
    return bool(action.option_strings) and not unset


# DyNet settings that only training uses: a command that only runs a model does not offer them.
TRAINING_ONLY = ("weight_decay", "autobatch")


def add_common_arguments(parser, defaults=None, training=False, seeded=False):
    """DyNet settings (those of training only on a `training` command, --seed only where
    something random happens: training, or a `seeded` command) and --quiet."""
    skip = () if training else TRAINING_ONLY + (() if seeded else ("seed",))
    add_arguments(parser, backend.BackendConfig, defaults, skip=skip)
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
    # No default level in the flags: `settings` says which one a run without --char or
    # --word gets (LMConfig's), so that it is never chosen silently.
    _add_training_arguments(parser, LMConfig, {**LM_TRAINING, "level": None, **(defaults or {})},
                            train_required, "training text, one sentence per line",
                            "a bundled corpus")


def add_ngram_arguments(parser):
    """--ngram N and --smoothing: a count-based model instead of a recurrent one (models/ngram/)."""
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
    parser.add_argument("--teacher", metavar="DIR",
                        help="distil this trained tagger (an ensemble) into one network: as "
                             "--distill without training the ensemble first; the student takes "
                             "the teacher's columns, vocabularies and sizes")
    parser.add_argument("--no-tokenizer", action="store_true",
                        help="do not learn a tokenizer beside the tagger (by default one is "
                             "learned after it, into DIR/tokenizer, when the training file has "
                             "the text of its sentences: `dynlp tag --input text` uses it)")
    parser.add_argument("--tokenizer-minutes", type=not_negative(float), default=TOKENIZER_MINUTES,
                        metavar="M", help="minutes of training for the tokenizer, after the "
                                          "tagger's; with --max-minutes, taken from them (the "
                                          "tagger gets the rest, the tokenizer what the tagger "
                                          "left, at most M) (default: %(default)s)")


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
    parser.add_argument("--overwrite", action="store_true",
                        help="replace the model DIR holds (of the same kind); without it, a "
                             "trained model is never written over")
    parser.add_argument("--init-from", metavar="DIR",
                        help="carry this trained model on to TRAIN: start from its settings, "
                             "sizes and weights (a tagger's columns too), the words, characters "
                             "and tags TRAIN adds getting new rows; a new run, whose model flags "
                             "are not used")
    add_arguments(parser, model_config_class, defaults)
    # Truncated BPTT is a language model's (--stream); a tagger reads whole sentences.
    add_arguments(parser, TrainConfig, defaults,
                  skip=() if model_config_class is LMConfig else ("bptt",))
    add_common_arguments(parser, training=True)


def add_workers_arguments(parser):
    """--workers and --ray, and the output file, for the commands that work in chunks."""
    parser.add_argument("output_positional", nargs="?", metavar="OUT",
                        help="output file (default: stdout); same as -o")
    parser.add_argument("-o", "--output", metavar="OUT", help="output file (default: stdout)")
    parser.add_argument("--workers", type=positive_int, metavar="N",
                        help="worker processes, forked after the model is loaded (default: one "
                             "per core, or 1 for an input of one chunk (tag: 1024 sentences, score: "
                             "256 lines); with --ray: "
                             "one per CPU of the cluster)")
    parser.add_argument("--ray", metavar="ADDRESS",
                        help="run on a Ray cluster: 'auto' (the running one), an address such "
                             "as ray://head:10001, or 'local' (start one here); needs dynlp[ray]")


def positive_int(text):
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
    add_common_arguments(parser, {"seed": 0}, seeded=True)  # samples differ unless --seed N


def add_serve_arguments(parser):
    parser.add_argument("-m", "--model", action="append", metavar="DIR",
                        help="a model directory to serve, named by its base name; repeat for "
                             "more (default: models/tagger and models/lm, those that exist)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default: 127.0.0.1, this machine only; "
                             "see docs/serve.md before opening it wider)")
    parser.add_argument("--port", type=not_negative(int), default=8000,
                        help="port (0: any free one)")
    parser.add_argument("--workers", type=positive_int, metavar="N",
                        help="model worker processes, each loading every model once (default: "
                             "one per core; one on a GPU)")
    parser.add_argument("--max-body", type=positive_int, default=LIMITS.max_body, metavar="BYTES",
                        help="largest request body")
    parser.add_argument("--max-tokens", type=positive_int, default=LIMITS.max_tokens, metavar="N",
                        help="tokens per tag or score request, and in a sampling prefix")
    parser.add_argument("--max-n", type=positive_int, default=LIMITS.max_n, metavar="N",
                        help="samples per request")
    parser.add_argument("--max-len", type=positive_int, default=LIMITS.max_len, metavar="N",
                        help="tokens per sample")
    parser.add_argument("--batch-words", type=positive_int, default=BATCH_WORDS, metavar="N",
                        help="words that requests arriving together share in one batch")
    parser.add_argument("--batch-ms", type=not_negative(float), default=1000 * WINDOW_SECONDS,
                        metavar="MS",
                        help="how long a request waits for others to share its batch when a "
                             "worker is free")
    parser.add_argument("--access-log", action="store_true", help="a line per request on stderr")
    add_common_arguments(parser)


def add_plot_arguments(parser):
    parser.add_argument("dirs", nargs="+", metavar="DIR",
                        help="model directories written by training (each has a metrics.jsonl); "
                             "or files of `dynlp evaluate --json` (FILE.json), drawn as "
                             "reliability diagrams of the tagger's probabilities")
    parser.add_argument("-o", "--output", default="curves.png", metavar="FILE",
                        help="the picture: .png or .svg (default curves.png)")
    parser.add_argument("--x", choices=("epochs", "minutes"), default="epochs",
                        help="along the x axis: epochs, or minutes of training (dev "
                             "evaluation not counted)")
    parser.add_argument("--metric", action="append", metavar="NAME",
                        help="a metrics.jsonl field to draw instead of dev perplexity or "
                             "accuracy, e.g. dev_loss or lr (repeat for more panels)")


def start(args, training=False):
    """Configure DyNet and logging from parsed arguments; returns True if progress bars are
    wanted (stderr a terminal, no --quiet).

    A training command that may use several --workers gets its parameters in shared memory;
    other commands only predict, and get memory laid out for that (backend.INFERENCE_MEM).
    """
    settings = from_args(backend.BackendConfig, args)
    settings.check()
    if getattr(args, "seed", None) == 0:  # a random seed, said so that a run can be repeated
        args.seed = settings.seed = secrets.randbelow(2**31 - 2) + 1
        args.seed_drawn = True
    workers = getattr(args, "workers", None)
    # On a GPU one process trains (backend.check_gpu_processes): nothing to share.
    settings.shared_parameters = training and workers != 1 and not backend.on_gpu(settings)
    if not training and not settings.mem:
        settings.mem = backend.INFERENCE_MEM
    backend.configure(settings)
    backend.check_gpu_processes(settings, workers, getattr(args, "ray", None))
    # Log lines (each epoch, the summary) whenever not --quiet, also into a file or a pipe, as
    # under nohup or a scheduler; progress bars only on a terminal.
    handler = next((h for h in log.handlers if isinstance(h, _TqdmHandler)), None)
    if handler is None:
        handler = _TqdmHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        log.addHandler(handler)
    log.setLevel(logging.INFO)
    handler.setLevel(logging.ERROR if args.quiet else logging.INFO)
    return not args.quiet and sys.stderr.isatty()


def settings(args, model_config_class):
    """(model config, TrainConfig) from the flags, checked.

    Resuming continues the saved model: its own settings (not the flags) say how to read the
    data, so a resumed run cannot silently read text differently from the first one.
    """
    if getattr(args, "resume", False):
        model_config = saved_config(args.output, model_config_class)
    else:
        choose_level(args, model_config_class)
        model_config = from_args(model_config_class, args)
    train_config = from_args(TrainConfig, args)
    model_config.check()
    train_config.check()
    return model_config, train_config


def choose_level(args, model_config_class=LMConfig):
    """A language model without --char or --word gets the config's level; `announce_choices`
    says so once the data has been read."""
    if getattr(args, "level", "") is None:
        args.level = model_config_class.level
        args.level_defaulted = True


def train_tagger_from_flags(args, verbose):
    """The tagger and its tokenizer (tasks/pipeline.train_tagger_and_tokenizer) as the parsed
    flags of `dynlp train-tagger` ask; returns what that returns."""
    if args.init_from and (args.resume or args.distill or args.teacher):
        raise ConfigError("--init-from starts a new run from a trained tagger: not with "
                          "--resume, --distill or --teacher")
    tagger_config, train_config = settings(args, TaggerConfig)
    teacher, tagger_config = teacher_and_config(args.teacher, tagger_config)
    announce_choices(args)
    return train_tagger_and_tokenizer(
        args.train, args.dev, tagger_config, train_config, args.output,
        tokenizer_minutes=args.tokenizer_minutes, learn_tokenizer=not args.no_tokenizer,
        resume=args.resume, progress=verbose, seed=args.seed, teacher=teacher,
        init_from=args.init_from)


def announce_choices(args):
    """What dynlp chose for the user, on stderr (unless --quiet): a language model's level
    when neither --char nor --word was given, a seed drawn at random."""
    if args.quiet:
        return
    if getattr(args, "level_defaulted", False):
        print(f"dynlp: modelling {args.level}s (the default; --word for words, --char to say "
              "so)", file=sys.stderr)
    if getattr(args, "seed_drawn", False):
        print(f"dynlp: --seed {args.seed} (drawn at random: give it to repeat this run)",
              file=sys.stderr)


class _TqdmHandler(logging.Handler):
    """Log lines that do not break the progress bar."""

    def emit(self, record):
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


# ---- running a command: what the CLI and the recipes share besides their flags ------------
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
