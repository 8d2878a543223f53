"""Count-based n-gram language models: interpolated modified Kneser-Ney, or unsmoothed counts.

The lecture's first row (Chen and Goodman 1998), for a token w after the context h (the n-1
tokens before it; fewer at a sentence start, which is padded with one `<s>`):

    p(w | h) = max(a(hw) - D(a(hw)), 0) / A(h)  +  gamma(h) p(w | h')                 (1)
    gamma(h) = (D1 N1(h) + D2 N2(h) + D3 N3+(h)) / A(h)                                 (2)

h' is h without its first token; A(h) is the sum of a(hw) over w; N_i(h) is the number of
tokens w with a(hw) = i (N3+: at least 3).  a(g) is the count of the n-gram g at the highest
order.  At lower orders it is g's *continuation count*: how many distinct tokens precede g in
training (Kneser-Ney's idea: "Francisco" is frequent but follows only "San", so it deserves
little of a new context's probability).  An n-gram that starts with `<s>` has nothing before
it and keeps its count.  The discounts come from each order's counts of counts n_i (how many
n-grams of that order have a(g) = i):

    Y = n1 / (n1 + 2 n2),   D1 = 1 - 2Y n2/n1,   D2 = 2 - 3Y n3/n2,   D3 = 3 - 4Y n4/n3    (3)

The recursion ends in the uniform distribution over the |V| tokens that can be predicted (the
vocabulary but `<pad>` and `<s>`): the unigram level is (1) with h empty and p(w | h') = 1/|V|.
A context never seen in training (A(h) = 0) passes its token on whole: p(w | h) = p(w | h').

Unsmoothed (`smoothing="none"`: Goldberg's order-10 character model): p(w | h) = c(hw) / c(h)
for the longest context h seen in training.  A token never seen after that context gets
probability 0: scored as log p = -inf (perplexity infinite), and never sampled.

Tables.  Each order's n-grams sit in numpy arrays sorted by a 64-bit hash of their tokens, the
arrays that an ARPA file lists: log10 p(w | h) for every n-gram seen, log10 gamma(h) (the
"backoff weight") for every context seen.  Scoring reads them bottom-up:

    p_1(w) from the unigram table;  for k = 2..n:  p_k = p(hw)       if hw was seen,
                                                    gamma(h) p_{k-1}  if only h was,
                                                    p_{k-1}           otherwise.

That is (1) and (2) again, computed once per n-gram at training time.  The model file is that
ARPA file (`model.N.arpa` in the model directory), which SRILM, KenLM and other tools read.
"""
import json
import math
import os
import time
from dataclasses import asdict, dataclass, fields

import numpy as np

from .config import option
from .errors import ConfigError, ModelDirError
from .vocab import Vocab

KIND = "language-model"  # scored and sampled by the same commands as the recurrent LMs
FAMILY = "ngram"
NOT_SEEN = -99.0  # ARPA's log10 of probability 0 (and of backoff weight 0)
# Hash of a token sequence: fold h = h * M + (id + 1) over its tokens, mod 2**64.  M is odd, so
# a collision of two seen n-grams is a 1-in-2**64 event; training checks there is none.
MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)


@dataclass
class NgramConfig:
    """What a count-based language model is: how its text is read, its order and smoothing."""

    order: int = option(5, "n: tokens of context plus one")
    level: str = option("word", "model characters or words", choices=("char", "word"))
    tokenized: bool = option(False, "input is already tokenised: split on whitespace only")
    smoothing: str = option("kneser-ney", "interpolated modified Kneser-Ney, or none "
                                          "(maximum likelihood, longest seen context)",
                            choices=("kneser-ney", "none"))
    stream: bool = False  # read line by line; the recurrent models' flag, never set here

    def check(self):
        if not 1 <= self.order <= 20:
            raise ConfigError(f"--ngram must be between 1 and 20 (got {self.order})")
        if self.smoothing not in ("kneser-ney", "none"):
            raise ConfigError(f"--smoothing must be kneser-ney or none (got {self.smoothing})")


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
            d = discounts(a)
            discount = np.where(a >= 3, d[2], np.where(a >= 2, d[1], d[0]))
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


# ---- the model ------------------------------------------------------------------------------------
class NgramLanguageModel:
    """An n-gram model over `vocab`; `orders[k]` holds the k-grams (see the module docstring)."""

    def __init__(self, config, vocab, orders):
        self.config, self.vocab, self.orders = config, vocab, orders
        self.training = False
        self.unigram = np.full(len(vocab), NOT_SEEN)  # log10 p_1(w), every token of the vocab
        self.unigram[orders[1].grams[:, 0]] = orders[1].log_probs
        self.unigram[[vocab.pad, vocab.bos]] = NOT_SEEN

    @classmethod
    def train(cls, sentences, config, vocab=None):
        """Count `sentences` (token lists) and estimate the model."""
        config.check()
        vocab = vocab or Vocab.build(sentences)
        tokens, starts = padded(sentences, vocab)
        counted = count_ngrams(tokens, starts, config.order, vocab.bos)
        return cls(config, vocab, build_tables(counted, config.order, vocab, config.smoothing))

    # ---- scoring ---------------------------------------------------------------------------
    def score(self, tokens):
        """(total log-prob, per-token log-probs), natural logs, of one sentence; the last
        token is `</s>`."""
        return self.score_batch([tokens])[0]

    def score_batch(self, sentences):
        """Score several token lists; returns [(total, per_token), ...] in input order."""
        tokens, starts = padded(sentences, self.vocab)
        log10_probs = self._log10_probs(tokens, starts)
        results, at = [], 0
        for sentence in sentences:
            per_token = (log10_probs[at + 1:at + len(sentence) + 2] * math.log(10)).tolist()
            per_token = [-math.inf if p <= NOT_SEEN * math.log(10) else p for p in per_token]
            results.append((float(sum(per_token)), per_token))
            at += len(sentence) + 2
        return results

    def _log10_probs(self, tokens, starts):
        """log10 p of every token given its context (the <s> positions get NOT_SEEN)."""
        hashes = window_hashes(tokens, starts, self.config.order)
        positions = np.arange(len(tokens))
        log_p = self.unigram[tokens].copy()
        for k in range(2, self.config.order + 1):
            inside = np.flatnonzero(positions - (k - 1) >= starts)
            order = self.orders[k]
            seen, seen_log_p = order.log_probs_of(hashes[k][inside])
            _, log_gamma = order.log_gammas_of(hashes[k - 1][inside - 1])  # 0: context unseen
            log_p[inside] = np.where(seen, seen_log_p, log_p[inside] + log_gamma)
        log_p[tokens == self.vocab.bos] = NOT_SEEN
        return np.maximum(log_p, NOT_SEEN)

    def next_log10_probs(self, context):
        """log10 p(w | context) for every token w of the vocabulary (context: token ids, starting
        with <s> at a sentence start): the same backoff as scoring, all tokens at once."""
        log_p = self.unigram.copy()
        for k in range(2, self.config.order + 1):
            if len(context) < k - 1:
                break
            order = self.orders[k]
            context_hash = row_hashes(np.array([context[len(context) - (k - 1):]]))[0]
            _, log_gamma = order.log_gammas_of(np.array([context_hash]))
            log_p = log_p + log_gamma[0]
            words, log_probs = order.continuations(context_hash)
            log_p[words] = log_probs
        log_p[[self.vocab.pad, self.vocab.bos]] = NOT_SEEN
        return np.maximum(log_p, NOT_SEEN)

    # ---- sampling ---------------------------------------------------------------------------
    def sample(self, temperature=1.0, top_k=None, prefix=(), max_len=100, rng=None,
               stop_at_eos=True):
        """Generate tokens after `prefix`; stops at `</s>`; never `<unk>` (see lm.choose)."""
        from .lm import check_sampling, choose

        check_sampling(temperature, top_k, max_len)
        rng = rng if rng is not None else np.random.default_rng()
        context, generated = [self.vocab.bos] + self.vocab.encode(prefix), []
        while len(generated) < max_len:
            context = context[-(self.config.order - 1):] if self.config.order > 1 else []
            logits = self._sampling_logits(context)
            token = choose(logits, self.vocab, temperature, top_k, rng)
            if token == self.vocab.eos and stop_at_eos:
                break
            generated.append(token)
            context.append(token)
        return self.vocab.decode(generated)

    def _sampling_logits(self, context):
        """Natural log-probabilities of the next token; where the context allows no token but
        <unk> (an unsmoothed model can end there), the context without its first token."""
        allowed = np.ones(len(self.vocab), dtype=bool)
        allowed[[self.vocab.pad, self.vocab.unk, self.vocab.bos]] = False
        while True:
            log_p = self.next_log10_probs(context)
            if (log_p[allowed] > NOT_SEEN).any() or not context:
                return np.where(log_p <= NOT_SEEN, -np.inf, log_p * math.log(10))
            context = context[1:]

    # ---- saving -----------------------------------------------------------------------------
    def save(self, directory, extra=None):
        from . import arpa, checkpoint

        config = {**asdict(self.config), "family": FAMILY}
        checkpoint.save(directory, KIND, config, {"vocab": self.vocab}, extra=extra,
                        model_file=("arpa", lambda path: arpa.write(self, path)))

    @classmethod
    def load(cls, directory):
        from . import arpa, checkpoint

        meta, vocabs, path = checkpoint.load(directory, KIND)
        settings = {f.name: meta["config"][f.name] for f in fields(NgramConfig)
                    if f.name in meta["config"]}
        config = NgramConfig(**settings)
        config.check()
        return cls(config, vocabs["vocab"], arpa.read(path, vocabs["vocab"], config.order))

    def table_sizes(self):
        return [len(self.orders[k].log_probs) for k in sorted(self.orders)]


def is_ngram_model(model_config):
    return model_config.get("family") == FAMILY


def train_ngram_model(train, dev, config, out_dir):
    """Train on `train` (token lists), score `dev`, save to `out_dir`; returns (model, metrics)."""
    from .checkpoint import write_lines_atomically
    from .metrics import bits_per_token, perplexity
    from .pipeline import make_output_dir

    make_output_dir(out_dir)
    began = time.time()
    model = NgramLanguageModel.train(train, config)
    metrics = {"seconds": round(time.time() - began, 1), "ngrams": model.table_sizes()}
    if dev:
        scored = model.score_batch(dev)
        nll = -sum(total for total, _ in scored)
        tokens = sum(len(per_token) for _, per_token in scored)
        metrics.update(dev_ppl=perplexity(nll, tokens), dev_bits_per_token=bits_per_token(nll, tokens),
                       dev_tokens=tokens)
    model.save(out_dir, extra={"metrics": metrics})
    write_lines_atomically(os.path.join(out_dir, "metrics.jsonl"), [json.dumps(metrics)])
    return NgramLanguageModel.load(out_dir), metrics
