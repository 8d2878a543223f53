"""Counting n-grams and estimating interpolated modified Kneser-Ney: the formulas of
dynlp.models.ngram.model's docstring, (1)-(3), over numpy tables.

Each order's n-grams sit in numpy arrays sorted by a 64-bit hash of their tokens (`Order`), the
arrays an ARPA file lists: log10 p(w | h) for every n-gram seen, log10 gamma(h) for every
context seen.  `build_tables` fills them for every n-gram at once; `kneser_ney_reference`
below computes the same p(w | h) for one n-gram, term by term, as the formulas write it.
"""
from collections import Counter
from functools import partial

import numpy as np

from dynlp.errors import ModelDirError

NOT_SEEN = -99.0  # ARPA's log10 of probability 0 (and of backoff weight 0)
# Hash of a token sequence: fold h = h * M + (id + 1) over its tokens, mod 2**64.  M is odd, so
# a collision of two seen n-grams is a 1-in-2**64 event; training checks there is none.
MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)


# ---- hashing windows of tokens ------------------------------------------------------------------
def window_hashes(tokens, starts, order):
    """hashes[k][t]: the hash of tokens[t-k+1 .. t] (k = 1..order), where that window lies
    inside the sentence that begins at starts[t] (elsewhere 0, never read)."""
    tokens = tokens.astype(np.uint64) + np.uint64(1)
    positions = np.arange(len(tokens))
    hashes = {1: tokens.copy()}
    power = np.ones(1, dtype=np.uint64)  # an array: numpy wraps arrays mod 2**64 silently
    for k in range(2, order + 1):
        power = power * MULTIPLIER  # M^(k-1)
        first = positions - (k - 1)
        valid = first >= starts
        current = np.zeros(len(tokens), dtype=np.uint64)
        current[valid] = tokens[first[valid]] * power + hashes[k - 1][valid]
        hashes[k] = current
    return hashes


def padded(sentences, vocab):
    """Token ids of all sentences, each as <s> w1 .. wm </s>, end to end, and for each position
    the position where its sentence starts."""
    pieces, starts, at = [], [], 0
    for sentence in sentences:
        ids = [vocab.bos] + vocab.encode(sentence) + [vocab.eos]
        pieces.append(ids)
        starts.append(np.full(len(ids), at))
        at += len(ids)
    if not pieces:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(pieces).astype(np.int64), np.concatenate(starts)


# ---- the tables ---------------------------------------------------------------------------------
class Order:
    """The n-grams of one order k: their tokens, log10 p(w | h), and their contexts' log10 gamma.

    `grams` (rows of k token ids) are sorted by hash, so a lookup is a binary search; the
    hashes of the (k-1)-token contexts seen are sorted too, beside their backoff weights.
    """

    def __init__(self, k, grams, log_probs, context_hashes, log_gammas):
        self.grams = np.asarray(grams, dtype=np.int32).reshape(-1, k)
        self.hashes = row_hashes(self.grams)
        order = np.argsort(self.hashes)
        self.grams, self.hashes = self.grams[order], self.hashes[order]
        self.log_probs = np.asarray(log_probs, dtype=np.float64)[order]
        if len(self.hashes) > 1 and (self.hashes[1:] == self.hashes[:-1]).any():
            raise ModelDirError("two n-grams share a hash (or one is listed twice)")
        by_context = np.argsort(np.asarray(context_hashes, dtype=np.uint64))
        self.context_hashes = np.asarray(context_hashes, dtype=np.uint64)[by_context]
        self.log_gammas = np.asarray(log_gammas, dtype=np.float64)[by_context]
        # For sampling: the n-grams grouped by context (their context's hash, sorted).
        contexts = row_hashes(self.grams[:, :-1])
        self.by_context = np.argsort(contexts, kind="stable")
        self.sorted_contexts = contexts[self.by_context]

    def log_probs_of(self, hashes):
        """(seen, log10 p) of each n-gram hash (log10 p is meaningless where not seen)."""
        return _lookup(self.hashes, self.log_probs, hashes)

    def log_gammas_of(self, hashes):
        """(seen, log10 gamma) of each context hash."""
        return _lookup(self.context_hashes, self.log_gammas, hashes)

    def continuations(self, context_hash):
        """(token ids, log10 p) of every n-gram seen after one context."""
        lo = np.searchsorted(self.sorted_contexts, context_hash, "left")
        hi = np.searchsorted(self.sorted_contexts, context_hash, "right")
        rows = self.by_context[lo:hi]
        return self.grams[rows, -1], self.log_probs[rows]


def _lookup(sorted_keys, values, hashes):
    """(found, value) of each hash among `sorted_keys` (a binary search; value 0 if absent)."""
    if not len(sorted_keys):
        return np.zeros(len(hashes), dtype=bool), np.zeros(len(hashes))
    index = np.minimum(np.searchsorted(sorted_keys, hashes), len(sorted_keys) - 1)
    found = sorted_keys[index] == hashes
    return found, np.where(found, values[index], 0.0)


def row_hashes(rows):
    """The hash of each row of token ids (the same as window_hashes gives that window)."""
    value = np.zeros(len(rows), dtype=np.uint64)
    for column in range(rows.shape[1]):
        value = value * MULTIPLIER + rows[:, column].astype(np.uint64) + np.uint64(1)
    return value


# ---- training ---------------------------------------------------------------------------------------
def count_ngrams(tokens, starts, order, bos):
    """For each order k: (unique k-gram rows, their counts), counting every window that ends on
    a predicted token (not on an <s>) and lies inside its sentence."""
    hashes = window_hashes(tokens, starts, order)
    positions = np.arange(len(tokens))
    predicted = tokens != bos
    counted = {}
    for k in range(1, order + 1):
        where = positions[predicted & (positions - (k - 1) >= starts)]
        keys, first, counts = np.unique(hashes[k][where], return_index=True, return_counts=True)
        ends = where[first]
        rows = np.stack([tokens[ends - (k - 1) + j] for j in range(k)], axis=1)
        _check_no_collision(hashes[k][where], tokens, where, k)
        counted[k] = (rows, counts)
    return counted


def _check_no_collision(window_keys, tokens, ends, k):
    """Two different windows with one hash would be counted as one n-gram: make sure none do."""
    order = np.argsort(window_keys, kind="stable")
    keys, ends = window_keys[order], ends[order]
    same = np.flatnonzero(keys[1:] == keys[:-1])
    for j in range(k):
        if (tokens[ends[same] - j] != tokens[ends[same + 1] - j]).any():
            raise ValueError("a hash collision between two n-grams; please report it")


def adjusted_counts(counted, order, bos):
    """a(g) of every n-gram: its count at the highest order and for n-grams starting with <s>;
    otherwise the number of distinct tokens seen before it (from the order above)."""
    adjusted = {order: counted[order][1].astype(np.float64)}
    for k in range(order - 1, 0, -1):
        rows, counts = counted[k]
        above = counted[k + 1][0]
        found, index = _find_rows(rows, above[:, 1:])
        continuation = np.bincount(index[found], minlength=len(rows)).astype(np.float64)
        adjusted[k] = np.where(rows[:, 0] == bos, counts, continuation)
    return adjusted


def _find_rows(rows, wanted):
    """(found, index into `rows`) of each row of `wanted`."""
    keys = row_hashes(rows)
    order = np.argsort(keys)
    found, index = _lookup(keys[order], order.astype(np.float64), row_hashes(wanted))
    return found, index.astype(np.int64)


def discounts(adjusted):
    """D1, D2, D3+ of one order from its counts of counts, formula (3).  A small or odd corpus
    can lack some n_i, or give a discount outside (0, i]: that one is i / 2 instead (a zero
    discount would leave a context no probability for the tokens never seen after it)."""
    n = [np.count_nonzero(adjusted == i) for i in (1, 2, 3, 4)]
    y = n[0] / (n[0] + 2 * n[1]) if n[0] + 2 * n[1] else 0.5
    values = []
    for i in (1, 2, 3):
        d = i - (i + 1) * y * n[i] / n[i - 1] if n[i - 1] else 0.0
        values.append(d if 0.0 < d <= i else 0.5 * i)
    return np.array(values)


def build_tables(counted, order, vocab, smoothing):
    """The Order tables of a trained model, from the counts: formulas (1)-(3), or ML."""
    adjusted = adjusted_counts(counted, order, vocab.bos) if smoothing == "kneser-ney" else \
        {k: counted[k][1].astype(np.float64) for k in counted}
    predictable = len(vocab) - 2  # not <pad>, not <s>
    tables, lower = {}, None
    for k in range(1, order + 1):
        rows = counted[k][0]
        a = adjusted[k]
        contexts = row_hashes(rows[:, :-1])
        keys, inverse = np.unique(contexts, return_inverse=True)
        total = np.bincount(inverse, weights=a)  # A(h), per context
        if smoothing == "kneser-ney":
            d = discounts(a)  # D1, D2, D3: formula (3)
            discount = np.where(a >= 3, d[2], np.where(a >= 2, d[1], d[0]))  # D(a(hw))
            # gamma(h), formula (2): summing D(a(hw)) over the w seen after h is summing D1 over
            # its N1(h) words, D2 over its N2(h) and D3 over its N3+(h).
            gamma = np.bincount(inverse, weights=discount) / total
            kept = np.maximum(a - discount, 0) / total[inverse]
        else:
            gamma = np.zeros(len(keys))
            kept = a / total[inverse]
        if k == 1:
            below = np.full(len(rows), 1.0 / predictable)
        else:
            seen, log_below = lower.log_probs_of(row_hashes(rows[:, 1:]))
            if not seen.all():
                raise ValueError("an n-gram whose suffix was not counted; please report it")
            below = 10.0 ** log_below
        probs = kept + gamma[inverse] * below
        if k == 1:
            rows, probs = _every_token(rows, probs, vocab, gamma[0] / predictable
                                       if len(gamma) and smoothing == "kneser-ney" else 0.0)
        tables[k] = Order(k, rows, _log10(probs), keys, _log10(gamma))
        lower = tables[k]
    return tables


def _every_token(rows, probs, vocab, unseen_probability):
    """The unigrams seen, plus every other token of the vocabulary but <pad> (never seen:
    gamma(()) / |V|, or 0 unsmoothed; <s>: 0, it is only ever a context), as ARPA lists them."""
    seen = set(rows[:, 0].tolist())
    missing = [i for i in range(len(vocab)) if i != vocab.pad and i not in seen]
    extra = np.array([0.0 if i == vocab.bos else unseen_probability for i in missing])
    return (np.concatenate([rows, np.array(missing, dtype=rows.dtype).reshape(-1, 1)]),
            np.concatenate([probs, extra]))


def _log10(values):
    with np.errstate(divide="ignore"):
        return np.maximum(np.log10(values), NOT_SEEN)




# ---- the reference: formulas (1)-(3) for one n-gram, in plain Python ---------------------------
def kneser_ney_reference(sentences, order, vocab):
    """p(w, h): p(w | h) by formulas (1)-(3), one n-gram at a time, over plain dicts (slow: for
    reading, and for the tests, which hold `build_tables` to it).  h and w are token ids, h a
    tuple of at most order - 1 of them, starting with <s> at a sentence start; w is never <s>
    or <pad>."""
    a = reference_adjusted_counts(sentences, order, vocab)
    D = {k: reference_discounts(a[k]) for k in a}
    return partial(reference_probability, a=a, D=D, V=len(vocab) - 2)  # |V|: not <pad>, <s>


def reference_adjusted_counts(sentences, order, vocab):
    """a[k][g] = a(g) of every k-gram g seen: its count at the highest order and for g starting
    with <s>, else its continuation count, the number of distinct tokens seen before it."""
    c = {k: Counter() for k in range(1, order + 1)}
    for sentence in sentences:
        ids = [vocab.bos] + vocab.encode(sentence) + [vocab.eos]
        for t in range(1, len(ids)):  # every predicted token (never the <s>)
            for k in range(1, min(order, t + 1) + 1):
                c[k][tuple(ids[t - k + 1:t + 1])] += 1
    a = {order: dict(c[order])}
    for k in range(order - 1, 0, -1):
        preceded = Counter(g[1:] for g in c[k + 1])  # each distinct xg seen counts once for g
        a[k] = {g: (n if g[0] == vocab.bos else preceded[g]) for g, n in c[k].items()}
    return a


def reference_discounts(a):
    """(D1, D2, D3) of one order by formula (3), from its counts of counts n_i, with the fallback
    of `discounts`: where an n_i is missing, or a discount is outside (0, i], it is i / 2."""
    n1, n2, n3, n4 = (sum(1 for x in a.values() if x == i) for i in (1, 2, 3, 4))
    Y = n1 / (n1 + 2 * n2) if n1 + 2 * n2 else 0.5
    D1 = 1 - 2 * Y * n2 / n1 if n1 else 0.0
    D2 = 2 - 3 * Y * n3 / n2 if n2 else 0.0
    D3 = 3 - 4 * Y * n4 / n3 if n3 else 0.0
    return tuple(D if 0.0 < D <= i else i / 2 for i, D in ((1, D1), (2, D2), (3, D3)))


def reference_probability(w, h, a, D, V):
    """p(w | h), formulas (1) and (2) term by term, recursing on h' down to the uniform 1 / V.
    a: reference_adjusted_counts; D: reference_discounts of each order."""
    k = len(h) + 1
    lower = 1 / V if k == 1 else reference_probability(w, h[1:], a, D, V)  # p(w | h')
    seen = {g[-1]: n for g, n in a[k].items() if g[:-1] == h}  # a(hv) of each v seen after h
    A = sum(seen.values())  # A(h)
    if A == 0:
        return lower  # h never seen: it passes its token on whole
    gamma = reference_gamma(seen, *D[k])  # gamma(h)
    a_hw = seen.get(w, 0)  # a(hw)
    D_a = (0.0, *D[k])[min(a_hw, 3)]  # D(a(hw)); never used where a(hw) = 0
    return max(a_hw - D_a, 0) / A + gamma * lower  # (1)


def reference_gamma(seen, D1, D2, D3):
    """gamma(h), formula (2), from {v: a(hv)} over the tokens v seen after h."""
    A = sum(seen.values())  # A(h)
    N1 = sum(1 for n in seen.values() if n == 1)  # N1(h)
    N2 = sum(1 for n in seen.values() if n == 2)  # N2(h)
    N3plus = sum(1 for n in seen.values() if n >= 3)  # N3+(h)
    return (D1 * N1 + D2 * N2 + D3 * N3plus) / A  # (2)
