"""The tagger's settings: the columns it predicts, its vocabulary cut and its network's sizes.
Each field is a flag of `dynlp train-tagger` (config.add_arguments)."""
from dataclasses import dataclass

from dynlp.config import check_fraction, check_positive, option
from dynlp.data.treebank import COLUMNS
from dynlp.errors import ConfigError

DEFAULT_EMB_DIM = 100  # the word embedding size without --emb-dim or --embeddings


@dataclass
class TaggerConfig:
    """What a tagger is: the columns it predicts, its vocabulary cut and its network."""

    columns: str = option("", "CoNLL-U columns to predict, comma-separated, e.g. "
                              "upos,xpos,feats,lemma (default: each of those the training file "
                              "fills)")
    feats: str = option("bundle", "predict FEATS as one label per bundle, or one classifier "
                                  "per feature", choices=("bundle", "split"))
    min_count: int = option(1, "words seen fewer times than this become <unk>")
    lowercase: bool = option(True, "look word embeddings up by lowercased form (the "
                                    "character BiLSTM still sees the case)")
    layers: int = option(2, "stacked BiLSTM layers")
    # 0 until known: the size of the --embeddings vectors (tasks.tagger reads the file),
    # or DEFAULT_EMB_DIM without them; a saved model always has its size.
    emb_dim: int = option(0, f"word embedding size (default: the dimension of the --embeddings "
                             f"vectors, or {DEFAULT_EMB_DIM} without them)")
    embeddings: str = option("", "pretrained word vectors to start the word embeddings from "
                                 "(word2vec/fastText text format, .gz too); the file's words "
                                 "that training never sees are added to the vocabulary")
    embeddings_max: int = option(250_000, "add at most this many words from --embeddings that "
                                          "training never sees (the file's first: most "
                                          "frequent)")
    # Provenance, written by training: not a flag, not needed to load.
    embeddings_count: int = option(0, "vectors from --embeddings in the word embeddings",
                                   flag=False)
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
    distill: bool = option(False, "after training the --ensemble networks (kept in DIR/"
                                  "ensemble), train one network towards their mean "
                                  "probabilities on the training text, and tag with it: one "
                                  "network's tagging time")
    adversarial: float = option(0.0, "epsilon: also train on each batch's inputs x_i moved by "
                                     "epsilon*sqrt(n*D) along the loss's gradient (adversarial "
                                     "training; 0: off)")

    # True: after training, on dev; each column's probabilities at tagging are then those of
    # its scores divided by T (heads.py).  Chosen by measurement (RESULTS.md, "Confidences").
    calibrate: bool = option(True, "after training, fit one temperature per column on dev "
                                   "(temperature scaling) so that the probabilities tagging "
                                   "reports mean what they say; the model keeps them")

    def __post_init__(self):
        if not self.emb_dim and not self.embeddings:
            self.emb_dim = DEFAULT_EMB_DIM  # no file to take the size from

    def check(self):
        check_positive(self, "layers", "char_dim", "hidden_dim", "mlp_dim",
                        "min_count", "ensemble")
        unknown = [c for c in self.column_list() if c not in COLUMNS[2:]]
        if unknown or len(set(self.column_list())) < len(self.column_list()):
            raise ConfigError(f"--columns {self.columns}: give distinct CoNLL-U columns from "
                              f"{', '.join(COLUMNS[2:])}")
        check_fraction(self, "dropout")
        check_fraction(self, "label_smoothing")
        if self.adversarial < 0:
            raise ConfigError("--adversarial cannot be negative")
        if self.word_dropout < 0:
            raise ConfigError("--word-dropout cannot be negative")
        if self.emb_dim < 0 or self.embeddings_max < 0:
            raise ConfigError("--emb-dim and --embeddings-max cannot be negative")

    def word_key(self, form):
        """The form under which a word's embedding is stored (and looked up in --embeddings)."""
        return form.lower() if self.lowercase else form

    def column_list(self):
        """The columns as a list (empty: not chosen yet, see tasks.tagger.choose_columns)."""
        return [c.strip() for c in self.columns.split(",") if c.strip()]
