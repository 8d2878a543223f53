"""The fast paths of the language models held to their plain reference versions: the class
softmax (`ClassSoftmax.neg_log_probs` against `reference_log_prob`, values and gradients) and
Kneser-Ney (`build_tables`, read by scoring, against `kneser_ney_reference`)."""
import math

import numpy as np
import pytest

from conftest import TINY_TEXT
from dynlp import LMConfig, RNNLanguageModel, Vocab, dynet
from dynlp.data.batches import sentence_batch
from dynlp.models.layers import LayerNormRNN
from dynlp.models.ngram.estimate import (discounts, kneser_ney_reference,
                                         reference_adjusted_counts, reference_discounts)
from dynlp.models.ngram.model import NgramConfig, NgramLanguageModel


# ---- the class softmax --------------------------------------------------------------------------
def class_model(tie):
    """A word LM over TINY_TEXT's 9 words (13 with the specials) in 4 classes, its biases made
    non-zero so that b_c and d are really tested; and a batch of sentences of 2 to 6 words."""
    text = [line.split() for line in TINY_TEXT] + [["a", "cat"], ["the", "dog", "saw"]]
    vocab = Vocab.build(text)
    dims = dict(emb_dim=8, hidden_dim=8) if tie else dict(emb_dim=6, hidden_dim=8)
    config = LMConfig(level="word", softmax="class", classes=4, tie_weights=tie, **dims)
    model, rng = RNNLanguageModel(config, vocab), np.random.default_rng(4)
    model.b.set_value(rng.normal(size=len(vocab)))
    model.softmax.d.set_value(rng.normal(size=len(model.softmax.members)))
    batch = sentence_batch([vocab.encode(s) for s in text], model.start, vocab.eos, vocab.pad)
    assert len(model.softmax.members) >= 3 and len(set(map(len, text))) > 2
    return model, batch


def output_layer(model):
    """W (V x H) and b of the output layer as trained expressions (tied: W is E)."""
    dy = dynet()
    W = dy.transpose(model.E.expr()) if model.W is None else model.W.expr(True)
    return W, model.b.expr(True)


def record_states(model, monkeypatch):
    """Let the model's class softmax remember the states h and targets the LM gives it."""
    seen, fast = {}, model.softmax.neg_log_probs

    def recording(h, targets, word_logits):
        seen["h"], seen["targets"] = h, list(targets)
        return fast(h, targets, word_logits)

    monkeypatch.setattr(model.softmax, "neg_log_probs", recording)
    return seen


def reference_nll(model, seen):
    """-log p(target) at each position by the reference, one state at a time: N expressions."""
    dy = dynet()
    W, b = output_layer(model)
    return [-model.softmax.reference_log_prob(dy.pick_batch_elem(seen["h"], i), target, W, b)
            for i, target in enumerate(seen["targets"])]


@pytest.mark.parametrize("tie", [False, True])
def test_class_softmax_fast_log_probs_equal_the_reference(tie, monkeypatch):
    model, batch = class_model(tie)
    seen = record_states(model, monkeypatch)
    dynet().renew_cg()
    fast = -model._token_nll(batch).npvalue().reshape(-1)  # every (time, sequence) position
    reference = np.array([-e.value() for e in reference_nll(model, seen)])
    assert len(fast) == len(reference) == batch.inputs.size
    assert np.allclose(fast, reference, atol=1e-5)
    real = batch.mask.reshape(-1) > 0  # and the loss, over the real tokens only
    dynet().renew_cg()
    assert model.loss(batch).value() == pytest.approx(-reference[real].sum(), abs=1e-4)


@pytest.mark.parametrize("tie", [False, True])
def test_class_softmax_reference_sums_to_one_over_the_vocabulary(tie):
    model, _ = class_model(tie)
    dy, rng = dynet(), np.random.default_rng(0)
    for _ in range(3):
        dy.renew_cg()
        h = dy.inputTensor(rng.normal(size=model.config.hidden_dim))
        W, b = output_layer(model)
        log_p = np.array([model.softmax.reference_log_prob(h, w, W, b).value()
                          for w in range(len(model.vocab))])
        assert np.exp(log_p).sum() == pytest.approx(1.0, abs=1e-5)
        assert np.allclose(log_p, model._next_log_probs(h), atol=1e-5)  # sampling's numbers


def gradients(model):
    """Every parameter's gradient (copies), then zeroed for the next backward pass."""
    parameters = model.pc.parameters_list() + model.pc.lookup_parameters_list()
    grads = [p.grad_as_array().copy() for p in parameters]
    for p in parameters:
        p.scale_gradient(0.0)
    return grads


@pytest.mark.parametrize("tie", [False, True])
def test_class_softmax_fast_gradients_equal_the_reference(tie, monkeypatch):
    """The full softmax and the class softmax have different parameters (the class layer U, d
    has no counterpart), so the fast class loss is compared with the reference class loss:
    the same gradient for the output layer (W or the tied E, b, U, d) and, through h, for the
    recurrent layers and the embeddings."""
    model, batch = class_model(tie)
    dy = dynet()
    gradients(model)  # start from zero
    dy.renew_cg()
    model.loss(batch).backward()
    fast = gradients(model)
    seen = record_states(model, monkeypatch)
    dy.renew_cg()
    model._token_nll(batch)  # builds the states; the fast loss on them is left unused
    mask = batch.mask.reshape(-1)
    dy.esum([nll * float(m) for nll, m in zip(reference_nll(model, seen), mask)]).backward()
    reference = gradients(model)
    assert any(np.abs(g).max() > 1e-3 for g in fast)
    for g_fast, g_reference in zip(fast, reference):
        assert np.allclose(g_fast, g_reference, atol=1e-5)


# ---- Kneser-Ney ---------------------------------------------------------------------------------
def toy_corpus(count=40, seed=2):
    """A few dozen sentences of a tiny grammar, frequent words first: many n-grams repeat, so
    every order has counts of counts n1..n4 (but the unigrams' n1) and contexts with N1, N2
    and N3+ all non-zero."""
    rng = np.random.default_rng(seed)

    def pick(options):
        weights = np.linspace(2, 1, len(options))
        return str(rng.choice(options, p=weights / weights.sum()))

    sentences = []
    for _ in range(count):
        sentence = [pick(["the", "a"]), pick(["cat", "dog", "bird", "fox"]),
                    pick(["sat", "saw", "ran"])]
        if rng.random() < 0.6:
            sentence += [pick(["on", "by"]), pick(["the", "a"]), pick(["mat", "log", "dog"])]
        sentences.append(sentence)
    return sentences


CORPUS = toy_corpus()
HELD_OUT = [CORPUS[0], ["the", "fox", "ran", "by", "a", "log"], ["a", "zebra", "sat"],
            ["the", "cat", "sat", "on", "the", "moon"], ["log", "the", "on", "ran"],
            ["yak"], ["the", "the", "the", "dog", "dog"]]


def test_the_toy_corpus_names_every_term_of_the_formulas():
    vocab = Vocab.build(CORPUS)
    a = reference_adjusted_counts(CORPUS, 3, vocab)
    for k in (2, 3):
        by_context = {}
        for gram, n in a[k].items():
            by_context.setdefault(gram[:-1], []).append(n)
        assert any(1 in ns and 2 in ns and max(ns) >= 3 for ns in by_context.values())
    for k in (1, 2, 3):  # the fallback of discounts() is the reference's (unigrams: no n1)
        assert reference_discounts(a[k]) == pytest.approx(discounts(
            np.array(list(a[k].values()), dtype=np.float64)), rel=1e-12)


def test_kneser_ney_fast_tables_equal_the_reference():
    model = NgramLanguageModel.train(CORPUS, NgramConfig(order=3, level="word"))
    vocab = model.vocab
    p = kneser_ney_reference(CORPUS, 3, vocab)
    seen_contexts = {g[:-1] for g in reference_adjusted_counts(CORPUS, 3, vocab)[3]}
    kinds = set()
    for sentence in HELD_OUT:
        ids = [vocab.bos] + vocab.encode(sentence) + [vocab.eos]
        _, per_token = model.score(sentence)
        for t in range(1, len(ids)):
            h = tuple(ids[max(0, t - 2):t])
            kinds.add(h in seen_contexts or len(h) < 2)
            assert math.exp(per_token[t - 1]) == pytest.approx(p(ids[t], h), rel=1e-5), h
            every = 10.0 ** model.next_log10_probs(list(h))
            for w in range(len(vocab)):
                if w not in (vocab.pad, vocab.bos):
                    assert every[w] == pytest.approx(p(w, h), rel=1e-5), (h, w)
    assert kinds == {True, False}  # seen and unseen contexts both scored
    assert vocab.unk in {i for s in HELD_OUT for i in vocab.encode(s)}


# ---- the residual shortcut of a deep stack --------------------------------------------------------
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru", "rnn+layer_norm"])
def test_residual_layers_equal_the_plain_reference_and_sampling_reads_the_same_top(cell):
    """h^l_t = RNN_l(h^{l-1}_t) + h^{l-1}_t from the second layer up, written one step of one
    sentence at a time with each layer's builder, against the batched fast path; and the
    sampling path's top output (`_step`) gives the same next-word probabilities."""
    text = [line.split() for line in TINY_TEXT]
    vocab = Vocab.build(text)
    config = LMConfig(level="word", layers=3, emb_dim=8, hidden_dim=8, cell=cell.split("+")[0],
                      residual=True, softmax="full", layer_norm=cell.endswith("layer_norm"))
    model, dy = RNNLanguageModel(config, vocab), dynet()
    sentence = vocab.encode(text[2])
    dy.renew_cg()
    W, b = model.W.as_array(), model.b.as_array()
    states = [rnn.initial_state() for rnn in model.rnns]
    reference, stepped = [], []
    for previous, target in zip([model.start] + sentence, sentence + [vocab.eos]):
        x = model.E[previous]
        for layer, state in enumerate(states):
            states[layer] = state.add_input(x)
            x = states[layer].output() + (x if layer > 0 else 0)  # the equation, by hand
        logits = W @ x.npvalue() + b
        reference.append(logits[target] - np.log(np.exp(logits).sum()))
    dy.renew_cg()
    steps = [rnn.initial_state() for rnn in model.rnns]
    for previous, target in zip([model.start] + sentence, sentence + [vocab.eos]):
        steps, top = model._step(steps, previous)
        logits = model._next_log_probs(top)
        stepped.append(logits[target] - np.log(np.exp(logits).sum()))
    _, fast = model.score(vocab.decode(sentence))
    assert np.allclose(fast, reference, atol=1e-5) and np.allclose(stepped, reference, atol=1e-5)
    assert not np.allclose(
        model.score(vocab.decode(sentence))[1], _without_shortcut(model, sentence), atol=1e-4)


def _without_shortcut(model, sentence):
    """The same weights read without the shortcut: the log-probabilities differ."""
    model.config = LMConfig(**{**model.config.__dict__, "residual": False})
    try:
        return model.score(model.vocab.decode(sentence))[1]
    finally:
        model.config = LMConfig(**{**model.config.__dict__, "residual": True})


# ---- layer normalisation of a simple RNN ----------------------------------------------------
def test_layer_norm_rnn_steps_equal_the_equation_in_numpy():
    """h' = tanh(g * (a - mean(a)) / std(a) + b), a = W_x x + W_h h (models/layers.py), for a
    batch of two sequences over three steps, with g and b moved off their starting values."""
    dy, rng = dynet(), np.random.default_rng(4)
    pc = dy.ParameterCollection()
    cell = LayerNormRNN(3, 5, pc)
    cell.g.set_value(rng.normal(size=5))
    cell.b.set_value(rng.normal(size=5))
    W_x, W_h, g, b = (p.as_array() for p in (cell.W_x, cell.W_h, cell.g, cell.b))
    xs = rng.normal(size=(3, 3, 2))  # time x input x batch
    dy.renew_cg()
    state, h = cell.initial_state(), np.zeros((5, 2))
    for x in xs:
        state = state.add_input(dy.inputTensor(x, batched=True))
        a = W_x @ x + W_h @ h
        h = np.tanh(g[:, None] * (a - a.mean(0)) / a.std(0) + b[:, None])
        assert np.allclose(state.output().npvalue(), h, atol=1e-5)


def test_a_layer_norm_lm_scores_the_same_after_saving_and_loading(tmp_path):
    text = [line.split() for line in TINY_TEXT]
    vocab = Vocab.build(text)
    config = LMConfig(level="word", layers=2, emb_dim=8, hidden_dim=8, cell="rnn",
                      layer_norm=True, softmax="full")
    model = RNNLanguageModel(config, vocab)
    for rnn in model.rnns:  # not the starting g = 1, b = 0, which a bug could also give
        rnn.g.set_value(np.random.default_rng(2).normal(size=8))
    model.save(str(tmp_path / "m"))
    loaded = RNNLanguageModel.load(str(tmp_path / "m"))
    assert loaded.config.layer_norm and isinstance(loaded.rnns[1], LayerNormRNN)
    sentence = " ".join(text[1])
    assert np.allclose(model.score(sentence.split())[1], loaded.score(sentence.split())[1])
