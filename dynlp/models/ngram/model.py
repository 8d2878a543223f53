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

That is (1) and (2) again, computed once per n-gram at training time (`build_tables`; the plain
version, one n-gram at a time with N1(h), N2(h), N3+(h) and gamma(h) by name, is
`estimate.kneser_ney_reference`).  The model file is that
ARPA file (`model.N.arpa` in the model directory), which SRILM, KenLM and other tools read.
"""
import math
from dataclasses import asdict, dataclass, fields

import numpy as np

from dynlp.config import option
from dynlp.data.vocab import Vocab
from dynlp.errors import ConfigError
from dynlp.models import registry
from dynlp.models.ngram import arpa
from dynlp.models.ngram.estimate import (NOT_SEEN, build_tables, count_ngrams, padded, row_hashes,
                                         window_hashes)
from dynlp.models.sampling import check_sampling, choose
from dynlp.store import checkpoint

KIND = "language-model"  # scored and sampled by the same commands as the recurrent LMs
FAMILY = "ngram"


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


# ---- the model ------------------------------------------------------------------------------------
@registry.register
class NgramLanguageModel:
    """An n-gram model over `vocab`; `orders[k]` holds the k-grams (see the module docstring)."""

    KIND, FAMILY = KIND, FAMILY

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
        """Generate tokens after `prefix`; stops at `</s>`; never `<unk>` (see sampling.choose)."""
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
        config = {**asdict(self.config), "family": FAMILY}
        checkpoint.save(directory, KIND, config, {"vocab": self.vocab}, extra=extra,
                        model_file=("arpa", lambda path: arpa.write(self, path)), family=FAMILY)

    @classmethod
    def load(cls, directory):
        meta, vocabs, path = checkpoint.load(directory, KIND)
        settings = {f.name: meta["config"][f.name] for f in fields(NgramConfig)
                    if f.name in meta["config"]}
        config = NgramConfig(**settings)
        config.check()
        return cls(config, vocabs["vocab"], arpa.read(path, vocabs["vocab"], config.order))

    def table_sizes(self):
        return [len(self.orders[k].log_probs) for k in sorted(self.orders)]

