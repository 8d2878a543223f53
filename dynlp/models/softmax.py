"""A class-factored softmax (Goodman 2001; Mikolov et al. 2011): the output layer of a language
model whose cost does not grow with the whole vocabulary.

The words are binned into C classes by frequency (each class holds about 1/C of the training
tokens, so frequent words sit in small classes and rare words in large ones), and

    p(w | h) = p(class(w) | h) * p(w | class(w), h)
    p(c | h) = softmax(U h + d)_c                            over the C classes
    p(w | c, h) = softmax(W_c h + b_c)_w                     over the words of class c only

where W_c and b_c are the rows of the full output layer's W and b that belong to class c (the
subscript w is w's place among them) and U, d the class layer's own weights.  The
probabilities are exact and sum to 1 over the vocabulary; training and scoring a word cost
C + |class(w)| rows of work instead of V.  With C about sqrt(V) that is a few hundred rows
instead of tens of thousands.

In a batch every position needs other rows of W, so positions are grouped by their target's
class: one product per class present, then the groups' losses are put back in position order.
`ClassSoftmax.reference_log_prob` is the plain version of that: the three formulas above for one
state and one word, with W_c and b_c written once; the tests hold the fast path to it.
"""
import numpy as np

from dynlp.backend import dynet


def frequency_classes(counts, classes):
    """Class of each word id: words sorted by count (most frequent first) are cut into at most
    `classes` bins of about equal total count (every word counted at least once).  A word
    frequent enough to fill several bins takes one, so there are no empty classes (an empty
    class would keep probability mass that no word gets)."""
    counts = np.maximum(np.asarray(counts, dtype=np.float64), 1.0)
    order = np.argsort(-counts, kind="stable")
    before = (np.cumsum(counts[order]) - counts[order]) / counts.sum()  # mass before each word
    bins = np.minimum((before * classes).astype(int), classes - 1)
    _, bins = np.unique(bins, return_inverse=True)  # number the bins in use 0, 1, 2, ...
    class_of = np.empty(len(counts), dtype=np.int64)
    class_of[order] = bins
    return class_of


# The vocabulary size from which `--softmax auto` chooses the class softmax.  Trained side by
# side for 3 minutes under train-lm's defaults (benchmarks/output_layer.py; RESULTS.md, "Which
# output layer"), the class softmax ran 1.3x the full one's words/s at 1,000 types, 2.1x at
# 3,000, 4.2x at PTB's 10k and 4.6x at WikiText-2's 33k, each to a lower dev perplexity; at 49
# and 64 characters neither was ahead (0.99-1.18x, dev within 2.5%), so the plainer full
# softmax stays below.  Where between 64 and 1,000 they cross was not measured.  The size is
# len(vocab), the four specials (<pad>, <unk>, <s>, </s>) counted.
CLASS_SOFTMAX_FROM = 1000


# Plain SGD above this rate can stall a class-factored softmax for good in its first batches:
# the first layer's cell state saturates, the top layer's output gate closes, and the model stays
# at the unigram level.  On WikiText-2 two Hogwild processes stalled at 0.7 and learned at 0.5;
# one process stalled at 1 and learned at 0.7 (benchmarks/RESULTS.md).  The full softmax learns
# at 1.
CLASS_SOFTMAX_MAX_SGD_RATE = 0.5


def output_layer_for(vocab_size, sgd_rate=None):
    """"class" or "full": the output layer `--softmax auto` gives a vocabulary of this size,
    trained by plain SGD at `sgd_rate` (None: another optimiser), the one place it is chosen."""
    if vocab_size < CLASS_SOFTMAX_FROM or class_softmax_stalls(sgd_rate):
        return "full"
    return "class"


def class_softmax_stalls(sgd_rate):
    """Whether plain SGD at this rate (None: not SGD) can stall a class softmax (above)."""
    return sgd_rate is not None and sgd_rate > CLASS_SOFTMAX_MAX_SGD_RATE


def default_classes(vocab_size):
    """About sqrt(V) classes, as Mikolov et al. use."""
    return max(1, int(round(vocab_size ** 0.5)))


class ClassSoftmax:
    """p(w | h) factored through frequency classes; `W` and `b` are the word rows (V x H and V,
    the full softmax's shapes, so weights can be tied to the embeddings)."""

    def __init__(self, pc, hidden_dim, counts, classes):
        self.class_of = frequency_classes(counts, classes)
        classes = int(self.class_of.max()) + 1
        self.members = [np.flatnonzero(self.class_of == c) for c in range(classes)]  # word ids
        self.index_in_class = np.empty(len(counts), dtype=np.int64)
        for words in self.members:
            self.index_in_class[words] = np.arange(len(words))
        self.U = pc.add_parameters((classes, hidden_dim))
        self.d = pc.add_parameters(classes, init=0)

    def neg_log_probs(self, h, targets, word_logits):
        """-log p(target) for each batch element of `h` (H x N), as a batch of N scalars;
        `word_logits(words, states)` gives W_words states + b_words, the output layer's rows
        of those word ids times a matrix of states (H x n): a |words| x n matrix."""
        dy = dynet()
        targets = np.asarray(targets)
        classes = self.class_of[targets]
        class_nll = dy.pickneglogsoftmax_batch(dy.affine_transform([self.d, self.U, h]),
                                               classes.tolist())  # (1,) x N: -log p(c | h)
        groups, order = [], []
        hidden = h.dim()[0][0]
        for c in np.unique(classes):
            positions = np.flatnonzero(classes == c)  # the n positions whose target is in c
            words = self.members[c]
            # The class's positions as the columns of one matrix, so one product serves them
            # all; the |words| x n logits are then read back as a batch of n vectors.
            states = dy.reshape(dy.pick_batch_elems(h, positions.tolist()),
                                (hidden, len(positions)), batch_size=1)  # (H, n) x 1
            logits = dy.reshape(word_logits(words.tolist(), states), (len(words),),
                                batch_size=len(positions))  # (|c|,) x n: W_c h + b_c
            groups.append(dy.pickneglogsoftmax_batch(
                logits, self.index_in_class[targets[positions]].tolist()))  # (1,) x n
            order.extend(positions.tolist())
        # The groups hold the positions class by class; pick them back into position order.
        back = np.empty(len(order), dtype=np.int64)
        back[np.asarray(order)] = np.arange(len(order))
        word_nll = dy.pick_batch_elems(dy.concatenate_to_batch(groups),
                                       back.tolist())  # (1,) x N: -log p(w | c, h)
        return class_nll + word_nll

    def reference_log_prob(self, h, word, W, b):
        """log p(word | h) for one state `h` (H,), the module docstring's formulas as written:
        the plain version of `neg_log_probs`, which the tests hold to it.  `W` (V x H) and `b`
        (V,) are the output layer's word rows as expressions (a tied model's W is E)."""
        dy = dynet()
        c = int(self.class_of[word])  # class(w)
        words = self.members[c].tolist()  # the words of class c, in their order within it
        W_c, b_c = dy.select_rows(W, words), dy.select_rows(b, words)  # (|c|, H), (|c|,)
        U, d = self.U.expr(True), self.d.expr(True)  # (C, H), (C,): the class layer
        log_p_class = dy.log_softmax(U * h + d)[c]  # log p(c | h)
        log_p_word = dy.log_softmax(W_c * h + b_c)[words.index(word)]  # log p(w | c, h)
        return log_p_class + log_p_word  # log p(w | h) = log p(c | h) + log p(w | c, h)

    def log_probs(self, h, logits):
        """log p(w | h) for every word of the vocabulary, as a numpy vector (sampling), from
        `logits`, W h + b over all words (numpy)."""
        dy = dynet()
        log_class = dy.log_softmax(dy.affine_transform([self.d, self.U, h])).npvalue()
        word_logits = np.asarray(logits, dtype=np.float64)
        result = np.empty(len(self.class_of))
        for c, words in enumerate(self.members):
            shifted = word_logits[words] - word_logits[words].max()
            result[words] = log_class[c] + shifted - np.log(np.exp(shifted).sum())
        return result
