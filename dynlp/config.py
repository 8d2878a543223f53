"""Typed settings: training's, their JSON form, and the one argparse helper for every config.

Each model's own config sits beside its model (LMConfig in models/lm.py, TaggerConfig in
models/tagger/config.py, NgramConfig in models/ngram/model.py); they are built from `option`.

Every setting is a dataclass field whose metadata carries its help text (and choices).  The
CLI and the recipes call `add_arguments` to turn those fields into flags, so a flag is defined
exactly once: `emb_dim` becomes `--emb-dim`, a bool `tie_weights` becomes
`--tie-weights/--no-tie-weights`.
"""
import argparse
from dataclasses import MISSING, asdict, dataclass, field, fields

from dynlp.errors import ConfigError

DEFAULT_LR = {"sgd": 1.0, "momentum": 0.1, "adam": 0.002}


def option(default, help, **extra):
    """A dataclass field with the help text (and optional `choices`/`flags`) of its CLI flag."""
    return field(default=default, metadata={"help": help, **extra})


@dataclass
class TrainConfig:
    """How to train: optimiser, schedule, batching and stopping rules (model-agnostic)."""

    trainer: str = option("adam", "optimiser", choices=("sgd", "momentum", "adam"))
    lr: float = option(0.0, "learning rate (0: the optimiser's usual default: sgd 1.0, "
                            "momentum 0.1, adam 0.002)")
    beta2: float = option(0.999, "Adam's decay of its mean squared gradient (0.9-0.95 adapts "
                                 "faster to gradients changing in scale)")
    clip: float = option(5.0, "clip the gradient norm at this value (0 disables)")
    warmup: int = option(0, "raise the learning rate linearly from 0 over this many first "
                            "updates (of each process): the first steps at the full rate can "
                            "saturate an LSTM for good")
    lr_decay: float = option(0.5, "multiply the learning rate by this when dev stops improving")
    decay_patience: int = option(1, "decay the learning rate after this many evaluations "
                                    "without dev improvement in a row (and after as many more)")
    decay_after: int = option(0, "also decay the learning rate every epoch after this one "
                                 "(Zaremba et al.'s schedule; 0: only when dev stalls)")
    settle_epochs: int = option(0, "with --max-minutes: once fewer than this many epochs' time "
                                   "is left, decay the learning rate after every epoch, so a run "
                                   "the clock stops ends on a settled model (0: never)")
    average_epochs: float = option(0.0, "score dev with, and keep, a moving average of the "
                                        "weights over about this many epochs (0: the weights "
                                        "as they are)")
    patience: int = option(3, "stop after this many epochs without dev improvement")
    max_decays: int = option(0, "stop instead of decaying the learning rate more than this many "
                                "times (0: no limit)")
    epochs: int = option(10, "maximum number of passes over the training data")
    max_minutes: float = option(0.0, "stop training after this many minutes (0: no limit)")
    batch_size: int = option(32, "sentences (or streams) per minibatch; 1 is pure per-sentence")
    batch_words: int = option(0, "at most this many padded words (sentences x longest) per "
                                 "training batch, so long sentences come in smaller batches and "
                                 "memory has a bound; a longer sentence is a batch of its own "
                                 "(0: no bound)")
    bptt: int = option(35, "segment length for truncated BPTT in --stream mode")
    dev_fraction: float = option(0.05, "share of the training data held out when no --dev")
    workers: int = option(0, "processes training at once on shared parameters (Hogwild); "
                             "0: one per core when each gets 50+ batches an epoch; 1 gives "
                             "bit-for-bit repeatable runs")

    def check(self):
        check_positive(self, "epochs", "batch_size", "bptt", "decay_patience")
        check_fraction(self, "dev_fraction", "beta2")
        if not 0 < self.lr_decay <= 1:
            raise ConfigError(f"--lr-decay must be in (0, 1] (got {self.lr_decay}): the rate "
                              "is multiplied by it")
        if min(self.workers, self.batch_words, self.warmup) < 0:
            raise ConfigError("--workers, --batch-words and --warmup cannot be negative")
        if min(self.lr, self.clip, self.max_minutes, self.patience, self.max_decays,
               self.settle_epochs, self.average_epochs) < 0:
            raise ConfigError("--lr, --clip, --patience, --max-decays, --settle-epochs, "
                              "--average-epochs and --max-minutes cannot be negative")

    def learning_rate(self):
        return self.lr or DEFAULT_LR[self.trainer]


def check_positive(config, *names):
    for name in names:
        if getattr(config, name) < 1:
            raise ConfigError(f"--{name.replace('_', '-')} must be at least 1")


def check_fraction(config, *names):
    for name in names:
        if not 0 <= getattr(config, name) < 1:
            raise ConfigError(f"--{name.replace('_', '-')} must be in [0, 1)")


def to_dict(config):
    return asdict(config)


def from_dict(cls, data):
    """Rebuild a config from JSON; unknown keys are an error, missing ones take defaults."""
    known = {f.name: f.type for f in fields(cls)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ConfigError(f"unknown {cls.__name__} settings: {', '.join(unknown)}")
    for name, value in data.items():
        wanted = (int, float) if known[name] is float else known[name]
        if not isinstance(value, wanted) or (known[name] is int and isinstance(value, bool)):
            raise ConfigError(f"{cls.__name__} setting {name} should be a "
                              f"{known[name].__name__}, not {value!r}")
    config = cls(**data)
    config.check()
    return config


def add_arguments(parser, cls, defaults=None, skip=()):
    """Add one flag per field of dataclass `cls` to `parser`, but those named in `skip`.

    `defaults` overrides field defaults (a recipe may want a bigger model than the library).
    """
    defaults = defaults or {}
    group = parser.add_argument_group(cls.__name__)
    for f in fields(cls):
        if f.metadata.get("flag") is False or f.name in skip:
            continue
        flag = "--" + f.name.replace("_", "-")
        default = defaults.get(f.name, f.default if f.default is not MISSING else None)
        kwargs = {"dest": f.name, "default": default, "help": f.metadata.get("help", "")}
        if f.type is bool:
            kwargs["action"] = argparse.BooleanOptionalAction
        else:
            kwargs.update(type=not_negative(f.type) if f.type in (int, float) else f.type,
                          metavar=f.name.upper())
            if "choices" in f.metadata:
                kwargs.update(choices=f.metadata["choices"], metavar=None)
        group.add_argument(flag, **kwargs)
        for shortcut, value in f.metadata.get("flags", {}).items():
            group.add_argument(shortcut, dest=f.name, action="store_const", const=value,
                               help=f"same as {flag} {value}")
    return group


def not_negative(number_type):
    """An argparse type: a number of `number_type` that is 0 or more (no setting of dynlp
    takes a negative number), so a wrong sign is one line at parse time."""
    def parse(text):
        value = number_type(text)
        if value < 0 or value != value:  # NaN compares false with everything
            raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
        return value

    parse.__name__ = number_type.__name__  # argparse names the type in its messages
    return parse


def from_args(cls, namespace):
    """Build a `cls` from the flags that `add_arguments` added."""
    return cls(**{f.name: getattr(namespace, f.name) for f in fields(cls)
                  if hasattr(namespace, f.name)})
