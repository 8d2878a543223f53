"""A tokenizer and sentence splitter learned from a treebank: a character-level BiLSTM tagger.

Every character c_t of a paragraph's text gets one of five labels (data/rawtext.py: inside, end
of a token, end of a sentence, end of a multiword token, both of the last two).  The network is
the tagger's, run over characters instead of words:

    x_t = [E c_t ; K k(c_t)]              the character's embedding, and its Unicode category's
                                          (k: Lu, Ll, Nd, Po, Zs, ...: what an unseen character
                                          still tells, a capital, a digit, a space)
    h_t = [LSTM->(x_1..x_t) ; LSTM<-(x_t..x_T)]   stacked `layers` deep, dropout between layers
    p(label_t) = softmax(W2 tanh(W1 h_t + b1) + b2)

Training minimises -log p(gold label_t) summed over a segment's characters; a text is cut into
segments of `window` characters for training, and read in overlapping windows when tokenizing,
so memory is bounded by the window, never by the length of a line.  The labels come out as the
most probable one at each character.  A model directory holds the network, the character
vocabulary and the multiword-token table learned from the treebank (data/rawtext.py, `expand`).
"""
import unicodedata
from dataclasses import dataclass

import numpy as np

from dynlp.backend import dynet
from dynlp.config import check_fraction, check_positive, from_dict, option, to_dict
from dynlp.data.rawtext import LABELS, suffix_rules
from dynlp.data.vocab import Vocab
from dynlp.models import registry
from dynlp.models.layers import MLP, dropout, recurrent_builder
from dynlp.models.tagger.inference import LSTMWeights, MLPWeights, numpy_tagging
from dynlp.store.checkpoint import load as load_dir
from dynlp.store.checkpoint import populate
from dynlp.store.checkpoint import save as save_dir

KIND = "tokenizer"
FAMILY = "char-bilstm-tokenizer"
# Unicode's general categories (two letters), each a row of K; anything else is row 0.
CATEGORIES = ("??", "Lu", "Ll", "Lt", "Lm", "Lo", "Mn", "Mc", "Me", "Nd", "Nl", "No", "Pc",
              "Pd", "Ps", "Pe", "Pi", "Pf", "Po", "Sm", "Sc", "Sk", "So", "Zs", "Zl", "Zp",
              "Cc", "Cf", "Cs", "Co", "Cn")
_CATEGORY_ID = {name: i for i, name in enumerate(CATEGORIES)}


@dataclass
class TokenizerConfig:
    """The tokenizer's network, and the length of the text it reads at once."""

    char_dim: int = option(32, "character embedding size")
    category_dim: int = option(8, "Unicode category embedding size")
    hidden_dim: int = option(64, "each direction's LSTM state size")
    layers: int = option(2, "stacked BiLSTM layers")
    mlp_dim: int = option(64, "the hidden layer of the MLP over each character")
    dropout: float = option(0.1, "dropout on the inputs and between layers, in training")
    window: int = option(300, "characters per training segment, and per window read at once "
                              "when tokenizing")
    context: int = option(50, "characters read on each side of a window when tokenizing, so "
                              "that its first and last characters see what comes around them")
    min_count: int = option(2, "characters seen fewer times than this are read as unknown")
    suffix_rules: bool = option(True, "cut a multiword token never seen in training before a "
                                      "suffix that splits several forms it saw (Google's as "
                                      "Terrell's); off: such a token stays one word")

    def check(self):
        check_positive(self, "char_dim", "category_dim", "hidden_dim", "layers", "mlp_dim",
                       "window", "min_count")
        check_fraction(self, "dropout")


def category(char):
    """The row of K for a character: its Unicode general category."""
    return _CATEGORY_ID.get(unicodedata.category(char), 0)


@registry.register
class CharTokenizer:
    KIND, FAMILY = KIND, FAMILY

    def __init__(self, config, chars, multiwords, pc=None):
        """`chars`: the character Vocab; `multiwords`: {surface form: words} (rawtext.expand)."""
        config.check()
        dy = dynet()
        self.config, self.chars, self.multiwords = config, chars, dict(multiwords)
        self.suffix_rules = suffix_rules(self.multiwords) if config.suffix_rules else {}
        self.pc = pc or dy.ParameterCollection()
        self.E = self.pc.add_lookup_parameters((len(chars), config.char_dim))
        self.K = self.pc.add_lookup_parameters((len(CATEGORIES), config.category_dim))
        width = config.char_dim + config.category_dim
        self.forward, self.backward = [], []
        for layer in range(config.layers):
            size = width if layer == 0 else 2 * config.hidden_dim
            self.forward.append(recurrent_builder("lstm", 1, size, config.hidden_dim, self.pc))
            self.backward.append(recurrent_builder("lstm", 1, size, config.hidden_dim, self.pc))
        self.mlp = MLP(self.pc, 2 * config.hidden_dim, config.mlp_dim, len(LABELS))
        self.training = False
        self._frozen = None  # NumpyTokenizer: the weights read into numpy, once they stop changing

    def freeze(self):
        """Read the weights into numpy for tokenizing from now on (on the CPU), for a model that
        only tokenizes: `dynlp tag`, evaluate, serve."""
        if numpy_tagging():
            self._frozen = NumpyTokenizer(self)

    # ---- the network -----------------------------------------------------------------------
    def encode(self, texts):
        """The label scores of every character of equally long `texts`: T steps of (5,) x B."""
        dy = dynet()
        rate = self.config.dropout
        xs = [dropout(dy.concatenate([dy.lookup_batch(self.E, [self.chars.id(t[i]) for t in texts]),
                                      dy.lookup_batch(self.K, [category(t[i]) for t in texts])]),
                      rate, self.training)
              for i in range(len(texts[0]))]
        for layer, (ahead, behind) in enumerate(zip(self.forward, self.backward)):
            if layer:
                xs = [dropout(x, rate, self.training) for x in xs]
            forward = ahead.initial_state().transduce(xs)
            backward = behind.initial_state().transduce(xs[::-1])[::-1]
            xs = [dy.concatenate([f, b]) for f, b in zip(forward, backward)]
        return [self.mlp(x) for x in xs]

    def loss(self, batch):
        """Summed -log p(gold label) over the characters of a SegmentBatch."""
        dy = dynet()
        scores = self.encode(batch.texts)
        return dy.esum([dy.sum_batches(dy.pickneglogsoftmax_batch(s, list(gold)))
                        for s, gold in zip(scores, batch.labels)])

    @property
    def frozen(self):
        """Whether it tokenizes in numpy (`freeze`)."""
        return self._frozen is not None

    def label_texts(self, texts):
        """The likeliest label of each character of each of `texts`, an array each: in numpy
        once `freeze()` has read the weights (texts of any lengths, longest first), else in the
        current graph (texts of one length; the reference, and what a GPU runs)."""
        if self._frozen is not None:
            return self._frozen.label_texts(texts)
        scores = dynet().concatenate_cols(self.encode(texts))  # (5, T) x B
        values = scores.npvalue().reshape(len(LABELS), len(texts[0]), len(texts))
        return list(values.argmax(axis=0).T)

    # ---- saving ----------------------------------------------------------------------------
    def save(self, directory, extra=None):
        config = {**to_dict(self.config), "multiwords": self.multiwords}
        save_dir(directory, KIND, config, {"chars": self.chars}, self.pc, extra, family=FAMILY)

    @classmethod
    def load(cls, directory):
        meta, vocabs, params = load_dir(directory, KIND)
        settings = dict(meta["config"])
        multiwords = settings.pop("multiwords", {})
        model = cls(from_dict(TokenizerConfig, settings), vocabs["chars"], multiwords)
        populate(model.pc, params)
        return model


class NumpyTokenizer:
    """The network of a CharTokenizer on a snapshot of its weights, in numpy: the same
    equations as `encode` (the module docstring), each LSTM as the tagger's numpy LSTMs run
    (tagger/inference.py); tests/test_tokenizer.py holds it to the graph."""

    def __init__(self, model):
        self.chars = model.chars
        self.E = model.E.as_array().astype(np.float32)
        self.K = model.K.as_array().astype(np.float32)
        self.layers = [(LSTMWeights(ahead), LSTMWeights(behind))
                       for ahead, behind in zip(model.forward, model.backward)]
        self.mlp = MLPWeights(model.mlp)

    def scores(self, texts):
        """(B, T, 5) label scores of `texts`, longest first (zero past each one's end)."""
        lengths = [len(text) for text in texts]
        ids = np.zeros((len(texts), lengths[0]), dtype=np.int64)  # (B, T), padded after the end
        kinds = np.zeros_like(ids)
        for b, text in enumerate(texts):
            ids[b, :lengths[b]] = [self.chars.id(c) for c in text]
            kinds[b, :lengths[b]] = [category(c) for c in text]
        x = np.concatenate([self.E[ids], self.K[kinds]], axis=-1)  # (B, T, D)
        for ahead, behind in self.layers:  # each LSTM stops at each text's end (inference.py)
            x = np.concatenate([ahead.run(ahead.project(x), lengths),
                                behind.run(behind.project(x), lengths, backward=True)], axis=-1)
        return self.mlp(x.reshape(-1, x.shape[-1])).reshape(x.shape[0], x.shape[1], -1)

    def label_texts(self, texts):
        """The likeliest label of each character of each text, as CharTokenizer.label_texts."""
        best = self.scores(texts).argmax(axis=-1)
        return [best[b, :len(text)] for b, text in enumerate(texts)]


@dataclass
class SegmentBatch:
    """Equally long pieces of text and their characters' labels, time-major: labels[t][b]."""

    texts: list
    labels: np.ndarray  # (T, B)

    @property
    def num_sequences(self):
        return len(self.texts)

    @property
    def num_tokens(self):
        return self.labels.size


def char_vocab(texts, min_count):
    """The characters of `texts` seen at least `min_count` times."""
    return Vocab.build([list(text) for text in texts], min_count)
