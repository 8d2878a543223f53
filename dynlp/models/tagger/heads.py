"""The tagger's heads: one per predicted CoNLL-U column, each reading the encoder's states h_i.

    TagHead       one label per word (UPOS, XPOS, or FEATS as a whole bundle such as
                  "Case=Nom|Number=Sing"):
                      p(tag_i | sentence) = softmax(W2 tanh(W1 h_i + b1) + b2)
                      loss = -sum_i log p(gold tag_i)

    FeatureHead   FEATS as one classifier per feature (Case, Number, ...), each choosing a
                  value or "absent", over a hidden layer they share:
                      z_i = tanh(W1 h_i + b1)
                      p(value of feature f at word i) = softmax(W_f z_i + b_f)
                      loss = -sum_i sum_f log p(gold value of f at word i)
                  The W_f are stacked into one matrix W2, so all features cost one product;
                  each feature's softmax is taken over its own rows of W2 z_i + b2.

Label smoothing (`label_smoothing` = epsilon, training only; Szegedy et al. 2016, as UDPipe 2
trains its tagger) replaces each -log p(gold) above by

                      -(1 - epsilon) log p(gold) - epsilon * (1/K) sum_k log p(k)

over the K choices of that softmax (a TagHead's K leaves out the special tokens such as
`<unk>`, which it never predicts): the target puts epsilon of its mass evenly on every tag.

Distillation (a student network learning from an ensemble, network.py) replaces each gold tag
by the teacher's distribution p_T over the same choices:

                      loss = -sum_i sum_k p_T(k at i) log p(k at i)      (`soft_loss`)

for a FeatureHead summed over its features as above.

Heads see the states of all T*B positions of a padded batch at once (time folded into the
batch: position t of sentence b is batch element t*B + b), and a mask of the words that count:
the real words, less those whose gold tag is `_` (a UPOS or XPOS missing on some words of a
treebank), so the sums over i above run over the words that have a gold tag.
A head learns from tag strings and predicts tag strings; the features and values of a
FeatureHead come from the bundles of its vocabulary, so nothing beyond that vocabulary is saved.

Temperature scaling (Guo et al. 2017, "On calibration of modern neural networks", section 4.2)
divides every score by one scalar T > 0 of the column before its softmax, at tagging only:

                      p_T(tag_i) = softmax(s_i / T)                        s_i the MLP's scores

T = 1 is the network as trained; T > 1 makes it less sure, T < 1 surer.  The likeliest tag of
one network never changes; T is fitted on dev by tasks/calibration.py.  A head also ranks its
K likeliest labels with their probabilities (`ranked`), for confidences and alternatives: a
FeatureHead's bundle has the product of its features' probabilities, its K best bundles found
feature by feature (exact: the features are independent given h_i).
"""
import heapq

import numpy as np

from dynlp.backend import dynet
from dynlp.data.treebank import NO_VALUE
from dynlp.data.vocab import SPECIALS
from dynlp.models.layers import MLP


class TagHead:
    """A column predicted as one label per word, over the tags of `vocab`."""

    def __init__(self, pc, column, vocab, input_dim, hidden_dim):
        self.column, self.vocab = column, vocab
        self.mlp = MLP(pc, input_dim, hidden_dim, len(vocab))
        self.temperature = 1.0  # at tagging: p = softmax(scores / T) (module docstring)

    def loss(self, states, tags, mask, dropout, smoothing=0.0):
        """-sum over the masked words of log p(gold tag); `tags` are time-major strings, one per
        position (anything for padding or where the mask is 0), `mask` 1.0 at the words that
        count (TagBatch.tag_mask)."""
        nll = smoothed_nll(self.mlp(states, dropout), self.vocab.encode(tags), smoothing,
                           first=len(SPECIALS), last=len(self.vocab))
        return masked_sum(nll, mask)

    def soft_loss(self, states, targets, mask, dropout):
        """-sum over the masked words of sum_k p_T(k) log p(k), `targets` the teacher's
        probabilities (tags, positions), as `probabilities` gives them."""
        dy = dynet()
        nll = soft_nll(dy.log_softmax(self.mlp(states, dropout)), targets)
        return masked_sum(nll, mask)

    def row_keys(self):
        """What each row of the MLP's output (W2, b2) scores: its tag."""
        return list(self.vocab.itos)

    def scores(self, states):
        """The MLP's scores of a graph's states, a numpy (tags, positions) array."""
        return self.mlp(states).npvalue().reshape(len(self.vocab), -1)

    def distribution(self, scores, temperature=None):
        """The probabilities of a numpy (tags, positions) array of the MLP's scores, at the
        head's temperature (or the one given); 0 for the special tokens."""
        scores = scores / (temperature or self.temperature)
        scores[:len(SPECIALS)] = -np.inf
        return softmax_columns(scores)

    def ranked(self, probabilities, k):
        """The `k` likeliest labels at each position, with their probabilities: a list per
        column of `probabilities` of (label, p), the first what `decode` chooses; never a
        special token (probability 0)."""
        tags = probabilities[len(SPECIALS):]
        order = np.argsort(-tags, axis=0, kind="stable")[:k]  # ties: argmax's pick
        chosen = np.take_along_axis(tags, order, axis=0)
        return [[(self.vocab.itos[len(SPECIALS) + i], float(p))
                 for i, p in zip(order[:, j], chosen[:, j])]
                for j in range(probabilities.shape[1])]

    def gold_likelihood(self, probabilities, labels):
        """p(gold label) at each position (NaN where the gold label is not in the vocabulary:
        nothing to measure there)."""
        ids = np.array([self.vocab.stoi.get(label, -1) for label in labels], dtype=np.int64)
        picked = probabilities[np.maximum(ids, 0), np.arange(len(labels))]
        return np.where(ids >= 0, picked, np.nan)

    def decode(self, probabilities):
        """The likeliest tag of each column of `probabilities` (an ensemble's mean too): never a
        special token such as `<unk>`, whose probability is 0."""
        return self.vocab.decode(probabilities.argmax(axis=0))


class FeatureHead:
    """FEATS predicted feature by feature: for each feature seen in training, a value or none."""

    def __init__(self, pc, column, vocab, input_dim, hidden_dim):
        self.column, self.vocab = column, vocab
        self.features = feature_values(vocab)  # {name: [NO_VALUE, value, ...]}
        self.rows = {}  # each feature's rows of W2: (first, last + 1)
        first = 0
        for name, values in self.features.items():
            self.rows[name] = (first, first + len(values))
            first += len(values)
        self.mlp = MLP(pc, input_dim, hidden_dim, max(first, 1))
        self.temperature = 1.0  # at tagging: each feature's softmax of scores / T

    def loss(self, states, bundles, mask, dropout, smoothing=0.0):
        dy = dynet()
        scores = self.mlp(states, dropout)
        gold = [split_bundle(b) for b in bundles]
        losses = [smoothed_nll(dy.pick_range(scores, first, last), self._value_ids(name, gold),
                               smoothing)
                  for name, (first, last) in self.rows.items()]
        if not losses:  # no word of the training data had a feature
            return dy.scalarInput(0.0)
        return masked_sum(dy.esum(losses), mask)

    def soft_loss(self, states, targets, mask, dropout):
        """As TagHead.soft_loss, each feature's rows of `targets` a distribution of their own."""
        dy = dynet()
        scores = self.mlp(states, dropout)
        losses = [soft_nll(dy.log_softmax(dy.pick_range(scores, first, last)),
                           targets[first:last])
                  for first, last in self.rows.values()]
        if not losses:
            return dy.scalarInput(0.0)
        return masked_sum(dy.esum(losses), mask)

    def _value_ids(self, name, gold):
        """The id of feature `name`'s gold value at each position (0: absent, or unknown)."""
        index = {value: i for i, value in enumerate(self.features[name])}
        return [index.get(features.get(name, NO_VALUE), 0) for features in gold]

    def row_keys(self):
        """What each row of the MLP's output (W2, b2) scores: (feature, value)."""
        return [(name, value) for name, values in self.features.items() for value in values]

    def scores(self, states):
        """The MLP's scores of a graph's states, a numpy (rows, positions) array."""
        return self.mlp(states).npvalue().reshape(-1, states.dim()[1])

    def distribution(self, scores, temperature=None):
        """p(value of feature f at word i), each feature's rows of the MLP's `scores` (a numpy
        (rows, positions) array) a softmax of their own, at the head's temperature (or the one
        given)."""
        scores = scores / (temperature or self.temperature)
        return np.concatenate([softmax_columns(scores[first:last])
                               for first, last in self.rows.values()] or [scores[:0]])

    def ranked(self, probabilities, k):
        """As TagHead.ranked: the `k` likeliest bundles at each position, a bundle's
        probability the product of its features' (the features, one at a time, keep the k
        likeliest partial bundles: exact, as they are independent)."""
        return [self._ranked_at(probabilities[:, j], k) for j in range(probabilities.shape[1])]

    def _ranked_at(self, column, k):
        beam = [(1.0, ())]  # (p, ((feature, value id), ...)) of the features so far
        for name, (first, last) in self.rows.items():
            values = column[first:last]
            beam = heapq.nlargest(k, ((p * float(q), chosen + ((name, v),))
                                      for p, chosen in beam for v, q in enumerate(values)),
                                  key=lambda item: item[0])
        return [(join_bundle(f"{name}={self.features[name][v]}" for name, v in chosen if v), p)
                for p, chosen in beam]

    def gold_likelihood(self, probabilities, bundles):
        """p(gold bundle) at each position: the product of its features' probabilities (a
        value never seen in training counts as "absent", as in training)."""
        gold = [split_bundle(b) for b in bundles]
        likelihood = np.ones(len(bundles))
        for name, (first, last) in self.rows.items():
            ids = np.array(self._value_ids(name, gold), dtype=np.int64)
            likelihood *= probabilities[first:last][ids, np.arange(len(bundles))]
        return likelihood

    def decode(self, probabilities):
        """The bundle of each column of `probabilities`: the features whose likeliest value is
        not "absent", sorted by name."""
        chosen = {name: probabilities[first:last].argmax(axis=0)
                  for name, (first, last) in self.rows.items()}
        bundles = []
        for position in range(probabilities.shape[1]):
            present = [f"{name}={self.features[name][ids[position]]}"
                       for name, ids in chosen.items() if ids[position]]
            bundles.append(join_bundle(present))
        return bundles


def smoothed_nll(scores, gold, smoothing, first=0, last=None):
    """-log p(gold) per batch element of `scores` (logits), or with `smoothing` = epsilon > 0,
    -(1 - epsilon) log p(gold) - epsilon * mean of log p(k) over rows first..last-1 (all rows
    if `last` is None)."""
    dy = dynet()
    if not smoothing:
        return dy.pickneglogsoftmax_batch(scores, gold)
    log_p = dy.log_softmax(scores)  # one softmax serves both terms
    nll = -dy.pick_batch(log_p, gold)
    if last is not None:
        log_p = dy.pick_range(log_p, first, last)
    return nll * (1.0 - smoothing) - dy.mean_elems(log_p) * smoothing


def masked_sum(nll, mask):
    """The sum of a batched per-word loss over the words whose `mask` (numpy, one per batch
    element) is 1."""
    dy = dynet()
    return dy.sum_batches(dy.cmult(nll, dy.inputTensor(mask, batched=True)))


def soft_nll(log_p, targets):
    """-sum_k p_T(k) log p(k) per batch element: `log_p` batched log-probabilities, `targets`
    a numpy (choices, batch) array of the teacher's probabilities."""
    dy = dynet()
    return -dy.sum_elems(dy.cmult(dy.inputTensor(targets, batched=True), log_p))


def softmax_columns(scores):
    """A softmax down each column of a numpy array of scores (-inf: probability 0)."""
    exp = np.exp(scores - scores.max(axis=0))
    return exp / exp.sum(axis=0)


def split_bundle(bundle):
    """'Case=Nom|Number=Sing' -> {'Case': 'Nom', 'Number': 'Sing'}; '_' -> {}."""
    if bundle == NO_VALUE:
        return {}
    return dict(feature.split("=", 1) for feature in bundle.split("|") if "=" in feature)


def join_bundle(features):
    """'Name=Value' strings as one FEATS cell, sorted by name as CoNLL-U wants; none: '_'."""
    return "|".join(sorted(features, key=str.lower)) or NO_VALUE


def feature_values(vocab):
    """{feature: [NO_VALUE] + its values, sorted} over the bundles of a FEATS vocabulary."""
    values = {}
    for bundle in vocab.itos[len(SPECIALS):]:
        for name, value in split_bundle(bundle).items():
            values.setdefault(name, set()).add(value)
    return {name: [NO_VALUE] + sorted(values[name]) for name in sorted(values)}


HEADS = {"bundle": TagHead, "split": FeatureHead}


def make_head(pc, column, vocab, input_dim, hidden_dim, feats="bundle"):
    """The head for `column`: FEATS as `feats` says ("bundle" or "split"), others TagHead."""
    kind = HEADS[feats] if column == "feats" else TagHead
    return kind(pc, column, vocab, input_dim, hidden_dim)
