"""The tagger encoder's fast paths held to its plain reference (`WordEncoder.encode_reference`):
c_i by a per-word character BiLSTM, x_i = [E[w_i]; c_i] at each position, and each BiLSTM layer
as one `add_input` loop per direction (`layers.bilstm_reference`).  The batched encoder must
give the same states to 1e-5, both its tagging path (the first layer's input half once per
distinct form) and its training path (x_i per position), and the same gradients."""
import numpy as np
import pytest

from dynlp import TaggerConfig, Vocab, dynet
from dynlp.models.layers import bilstm, bilstm_reference, recurrent_builder
from dynlp.models.tagger.encoder import MAX_WORD_CHARS, WordEncoder

# Sentences of different lengths (so the batch is padded), a repeated word, a word never seen
# in training (read as <unk>), capitals (looked up lowercased) and a word longer than
# MAX_WORD_CHARS (clipped to its two ends).
TRAINING = [["the", "cat", "sat"], ["a", "dog", "saw", "the", "cat", "."]]
LONG = "https://example.com/" + "x" * MAX_WORD_CHARS
SENTENCES = [["The", "cat", "sat"], ["a", "zebra", "saw", "the", "cat", "."], [LONG], ["Dog", "."]]


def encoder(seed=0):
    """A small two-layer encoder with every weight, biases included, set at random."""
    dy = dynet()
    config = TaggerConfig(emb_dim=6, char_dim=4, hidden_dim=5, layers=2, dropout=0.0,
                          word_dropout=0.0)
    words = Vocab.build(TRAINING)
    chars = Vocab.build([list(w) for s in SENTENCES for w in s])
    model = WordEncoder(config, words, chars, dy.ParameterCollection())
    randomise(model.pc, seed)
    return model


def randomise(pc, seed=0):
    """Every weight of a ParameterCollection, biases included, set at random."""
    rng = np.random.default_rng(seed)
    for p in pc.parameters_list():
        p.set_value(rng.normal(scale=0.5, size=p.shape()))
    for p in pc.lookup_parameters_list():
        p.init_from_array(rng.normal(size=p.shape()))


def batch_states(model, per_form):
    """encode()'s states of each sentence, unbatched: one list of (2H,) expressions each."""
    dy = dynet()
    states = model.encode(SENTENCES, training=False, per_form=per_form)
    return [[dy.pick_batch_elem(states[t], b) for t in range(len(s))]
            for b, s in enumerate(SENTENCES)]


def reference_states(model):
    return [model.encode_reference(s) for s in SENTENCES]


@pytest.mark.parametrize("per_form", [True, False], ids=["tagging", "training"])
def test_batched_encoder_states_equal_the_reference(per_form):
    dy = dynet()
    dy.renew_cg()
    model = encoder()
    fast, plain = batch_states(model, per_form), reference_states(model)
    for mine, reference in zip(fast, plain):
        assert len(mine) == len(reference)
        for h, h_ref in zip(mine, reference):
            assert h.dim()[0] == (2 * model.config.hidden_dim,)
            np.testing.assert_allclose(h.npvalue(), h_ref.npvalue(), atol=1e-5)


def gradients(model, states):
    """Gradients of every parameter for a fixed random linear function of the states."""
    dy = dynet()
    rng = np.random.default_rng(7)
    loss = dy.esum([dy.dot_product(dy.inputVector(rng.normal(size=h.dim()[0][0])), h)
                    for sentence in states for h in sentence])
    loss.backward()
    params = model.pc.parameters_list() + model.pc.lookup_parameters_list()
    return [p.grad_as_array() for p in params]


def test_batched_encoder_gradients_equal_the_reference():
    dy = dynet()
    dy.renew_cg()
    fast = gradients(first := encoder(), batch_states(first, per_form=False))
    dy.renew_cg()
    plain = gradients(second := encoder(), reference_states(second))
    assert len(fast) == len(plain) > 10
    for mine, reference in zip(fast, plain):
        np.testing.assert_allclose(mine, reference, atol=1e-5)


def test_bilstm_over_a_padded_batch_equals_one_sentence_at_a_time():
    dy = dynet()
    dy.renew_cg()
    pc, rng = dy.ParameterCollection(), np.random.default_rng(3)
    forward, backward = (recurrent_builder("lstm", 1, 3, 4, pc) for _ in range(2))
    for p in pc.parameters_list():
        p.set_value(rng.normal(size=p.shape()))
    lengths = [4, 1, 3]
    inputs = [[rng.normal(size=3) for _ in range(n)] for n in lengths]
    padded = [np.stack([seq[t] if t < len(seq) else seq[-1] for seq in inputs], axis=1)
              for t in range(max(lengths))]
    states = bilstm(forward, backward, [dy.inputTensor(x, batched=True) for x in padded],
                    lengths)
    for b, seq in enumerate(inputs):
        reference = bilstm_reference(forward, backward, [dy.inputVector(x) for x in seq])
        for t, h_ref in enumerate(reference):
            np.testing.assert_allclose(dy.pick_batch_elem(states[t], b).npvalue(),
                                       h_ref.npvalue(), atol=1e-5)
