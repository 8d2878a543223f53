"""Fitting a tagger's temperatures on dev (temperature scaling, Guo et al. 2017, section 4.2).

Each column's T is the one of TEMPERATURES under which the words of the dev sentences get the
highest likelihood of their gold label (the smallest negative log-likelihood, NLL), the
ensemble's mean probability of each network's softmax(s / T):

    T_column = argmin_T  -sum_i log( (1/K) sum_m softmax(s_i^m / T)[gold_i] )

A grid rather than gradient steps: each network's scores are computed once per dev batch and
every T of the grid is tried on them, so fitting costs one pass of tagging over dev.  A word
whose gold label the head never saw in training (an unseen lemma script) has no probability to
measure and is left out.

    model.temperatures = fit_temperatures(model, dev_sentences)
"""
import numpy as np

from dynlp.data.batches import bucketed
from dynlp.models.tagger.network import tag_batch

# T = 2^(j/8) for j = -16..16: from 0.25 to 4 in steps of 9%, 1 (as trained) among them.
TEMPERATURES = tuple(2 ** (j / 8) for j in range(-16, 17))
SMALLEST = 1e-12  # a probability under this counts as this: one word cannot make the NLL inf


def fit_temperatures(model, sentences, batch_size=128, max_words=1024):
    """{column: T} of TEMPERATURES minimising the dev NLL of each of `model`'s columns, over
    the gold tags of `sentences` (treebank Sentences); 1 for a column they leave blank."""
    nll = {column: np.zeros(len(TEMPERATURES)) for column in model.columns}
    gold = [s for s in sentences if s.forms]
    with model.frozen():
        for batch in bucketed(gold, batch_size, lambda s: len(s.forms), max_words=max_words):
            for column, losses in batch_nll(model, batch).items():
                nll[column] += losses
    return {column: TEMPERATURES[int(np.argmin(losses))] if losses.any() else 1.0
            for column, losses in nll.items()}


def batch_nll(model, sentences):
    """{column: the summed NLL of the gold labels of `sentences` at each T of TEMPERATURES}."""
    batch = tag_batch([s.forms for s in sentences],
                      [{c: s.tags[c] for c in model.columns} for s in sentences])
    scores = model.network_scores(batch.sentences)
    losses = {}
    for h, head in enumerate(model.heads):
        counted = batch.tag_mask(head.column).reshape(-1) > 0
        labels = [label for label, c in zip(batch.tags[head.column], counted) if c]
        losses[head.column] = np.array([
            _nll(head, [s[h][:, counted] for s in scores], labels, t) for t in TEMPERATURES])
    return losses


def _nll(head, scores, labels, temperature):
    """-sum log p(gold) at `temperature`, p the mean of the networks' distributions."""
    mean = sum(head.distribution(s, temperature) for s in scores) / len(scores)
    likelihood = head.gold_likelihood(mean, labels)
    likelihood = likelihood[~np.isnan(likelihood)]
    return float(-np.log(np.maximum(likelihood, SMALLEST)).sum())
