"""Typed settings for models and training, their JSON form, and the one argparse helper.

Every setting is a dataclass field whose metadata carries its help text (and choices).  The
CLI and the recipes call `add_arguments` to turn those fields into flags, so a flag is defined
exactly once: `emb_dim` becomes `--emb-dim`, a bool `tie_weights` becomes
`--tie-weights/--no-tie-weights`.
"""
import argparse
from dataclasses import MISSING, asdict, dataclass, field, fields

from .errors import ConfigError


DEFAULT_LR = {"sgd": 1.0, "momentum": 0.1, "adam": 0.002}


def option(default, help, **extra):
    """A dataclass field with the help text (and optional `choices`/`flags`) of its CLI flag."""
    return field(default=default, metadata={"help": help, **extra})


@dataclass
class LMConfig:
    """What a language model is: how its text is read, its vocabulary cut, and its network."""

    level: str = option("char", "model characters or words", choices=("char", "word"),
                        flags={"--char": "char", "--word": "word"})
    tokenized: bool = option(False, "input is already tokenised: split on whitespace only")
    stream: bool = option(False, "treat the text as one stream (truncated BPTT across lines)")
    min_count: int = option(1, "drop tokens seen fewer times than this from the vocabulary")
    max_vocab: int = option(0, "keep at most this many tokens (0: no limit)")
    cell: str = option("lstm", "recurrent cell", choices=("lstm", "gru", "rnn"))
    layers: int = option(1, "number of stacked recurrent layers")
    emb_dim: int = option(128, "token embedding size")
    hidden_dim: int = option(256, "recurrent state size")
    dropout: float = option(0.0, "dropout on embeddings, between layers and before the softmax")
    tie_weights: bool = option(False, "share input embeddings and output weights "
                                      "(needs --emb-dim equal to --hidden-dim)")
    softmax: str = option("full", "output layer: a softmax over the whole vocabulary, or "
                                  "class-factored (words binned by frequency into classes: "
                                  "p(w) = p(class) p(w | class), exact and much faster for "
                                  "large vocabularies)", choices=("full", "class"))
    classes: int = option(0, "classes of --softmax class (0: about the square root of the "
                             "vocabulary size)")

    def check(self):
        if self.tie_weights and self.emb_dim != self.hidden_dim:
            raise ConfigError("--tie-weights needs --emb-dim equal to --hidden-dim "
                              f"(got {self.emb_dim} and {self.hidden_dim})")
        _check_positive(self, "layers", "emb_dim", "hidden_dim", "min_count")
        if self.classes < 0:
            raise ConfigError("--classes cannot be negative")
        _check_fraction(self, "dropout")


@dataclass
class TaggerConfig:
    """What a tagger is: the columns it predicts, its vocabulary cut and its network."""

    columns: str = option("", "CoNLL-U columns to predict, comma-separated, e.g. upos,xpos,feats "
                              "(default: each of upos, xpos and feats that the training file "
                              "fills)")
    feats: str = option("bundle", "predict FEATS as one label per bundle, or one classifier "
                                  "per feature", choices=("bundle", "split"))
    min_count: int = option(1, "words seen fewer times than this become <unk>")
    lowercase: bool = option(True, "look word embeddings up by lowercased form (the "
                                    "character BiLSTM still sees the case)")
    layers: int = option(2, "stacked BiLSTM layers")
    emb_dim: int = option(100, "word embedding size")
    # 150, not 100: better on the dev set of every treebank in ../shared/data (RESULTS.md).
    char_dim: int = option(150, "character embedding size and character-LSTM state size")
    hidden_dim: int = option(200, "BiLSTM state size per direction")
    mlp_dim: int = option(100, "hidden layer of the MLP between BiLSTM and tag softmax")
    dropout: float = option(0.33, "dropout on word vectors, between layers and in the MLP")
    word_dropout: float = option(0.25, "alpha: a word seen c times becomes <unk> with "
                                       "probability alpha/(alpha+c) in training")
    # 0.1, not 0: better on the dev score of both small treebanks with two seeds each and level
    # on EWT (RESULTS.md, "Label smoothing").
    label_smoothing: float = option(0.1, "epsilon: train each head towards (1-epsilon) on the "
                                         "gold tag and epsilon spread evenly over all tags")
    # 2, not 1: better on the dev score of both small treebanks with two seeds each and level on
    # EWT, at about the same training time on two cores; twice the tagging time (RESULTS.md,
    # "Two networks").
    ensemble: int = option(2, "networks (each its own encoder and heads, own initial weights "
                              "and dropout) trained side by side on the same batches; tagging "
                              "takes the mean of their probabilities")
    adversarial: float = option(0.0, "epsilon: also train on each batch's inputs x_i moved by "
                                     "epsilon*sqrt(n*D) along the loss's gradient (adversarial "
                                     "training; 0: off)")

    def check(self):
        _check_positive(self, "layers", "emb_dim", "char_dim", "hidden_dim", "mlp_dim",
                        "min_count", "ensemble")
        from .treebank import COLUMNS

        unknown = [c for c in self.column_list() if c not in COLUMNS[2:]]
        if unknown or len(set(self.column_list())) < len(self.column_list()):
            raise ConfigError(f"--columns {self.columns}: give distinct CoNLL-U columns from "
                              f"{', '.join(COLUMNS[2:])}")
        _check_fraction(self, "dropout")
        _check_fraction(self, "label_smoothing")
        if self.adversarial < 0:
            raise ConfigError("--adversarial cannot be negative")
        if self.word_dropout < 0:
            raise ConfigError("--word-dropout cannot be negative")

    def column_list(self):
        """The columns as a list (empty: not chosen yet, see pipeline.choose_columns)."""
        return [c.strip() for c in self.columns.split(",") if c.strip()]


@dataclass
class TrainConfig:
    """How to train: optimiser, schedule, batching and stopping rules (model-agnostic)."""

    trainer: str = option("adam", "optimiser", choices=("sgd", "momentum", "adam"))
    lr: float = option(0.0, "learning rate (0: the optimiser's usual default)")
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
        _check_positive(self, "epochs", "batch_size", "bptt", "decay_patience")
        _check_fraction(self, "dev_fraction", "beta2")
        if min(self.workers, self.batch_words, self.warmup) < 0:
            raise ConfigError("--workers, --batch-words and --warmup cannot be negative")
        if min(self.lr, self.clip, self.max_minutes, self.patience, self.max_decays,
               self.settle_epochs, self.average_epochs) < 0:
            raise ConfigError("--lr, --clip, --patience, --max-decays, --settle-epochs, "
                              "--average-epochs and --max-minutes cannot be negative")

    def learning_rate(self):
        return self.lr or DEFAULT_LR[self.trainer]


def _check_positive(config, *names):
    for name in names:
        if getattr(config, name) < 1:
            raise ConfigError(f"--{name.replace('_', '-')} must be at least 1")


def _check_fraction(config, *names):
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


def add_arguments(parser, cls, defaults=None):
    """Add one flag per field of dataclass `cls` to `parser`.

    `defaults` overrides field defaults (a recipe may want a bigger model than the library).
    """
    defaults = defaults or {}
    group = parser.add_argument_group(cls.__name__)
    for f in fields(cls):
        if f.metadata.get("flag") is False:
            continue
        flag = "--" + f.name.replace("_", "-")
        default = defaults.get(f.name, f.default if f.default is not MISSING else None)
        kwargs = {"dest": f.name, "default": default, "help": f.metadata.get("help", "")}
        if f.type is bool:
            kwargs["action"] = argparse.BooleanOptionalAction
        else:
            kwargs.update(type=f.type, metavar=f.name.upper())
            if "choices" in f.metadata:
                kwargs.update(choices=f.metadata["choices"], metavar=None)
        group.add_argument(flag, **kwargs)
        for shortcut, value in f.metadata.get("flags", {}).items():
            group.add_argument(shortcut, dest=f.name, action="store_const", const=value,
                               help=f"same as {flag} {value}")
    return group


def from_args(cls, namespace):
    """Build a `cls` from the flags that `add_arguments` added."""
    return cls(**{f.name: getattr(namespace, f.name) for f in fields(cls)
                  if hasattr(namespace, f.name)})
