"""The DyNet builders behind --cell compute the textbook equations (checked with numpy)."""
import numpy as np
import pytest

from dynlp.backend import dynet
from dynlp.models.layers import recurrent_builder


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def one_step(cell, x, state):
    """Run the builder of `cell` one step from `state`; returns (weights, new state values)."""
    dy = dynet()
    pc = dy.ParameterCollection()
    builder = recurrent_builder(cell, 1, len(x), 4, pc)
    weights = [p.as_array() for p in builder.get_parameters()[0]]
    dy.renew_cg()
    s = builder.initial_state([dy.inputTensor(v) for v in state])
    s = s.add_input(dy.inputTensor(x))
    return weights, [e.npvalue() for e in s.s()]


@pytest.fixture
def inputs():
    rng = np.random.default_rng(0)
    return rng.normal(size=3), rng.normal(size=4), rng.normal(size=4)


def test_lstm_matches_equations(inputs):
    x, h, c = inputs
    (W_x, W_h, b), (c_dy, h_dy) = one_step("lstm", x, [c, h])
    a = W_x @ x + W_h @ h + b
    i, f, o, g = sigmoid(a[0:4]), sigmoid(a[4:8] + 1), sigmoid(a[8:12]), np.tanh(a[12:16])
    c_new = f * c + i * g
    np.testing.assert_allclose(c_dy, c_new, atol=1e-5)
    np.testing.assert_allclose(h_dy, o * np.tanh(c_new), atol=1e-5)


def test_gru_matches_equations(inputs):
    x, h, _ = inputs
    (W_xz, W_hz, b_z, W_xr, W_hr, b_r, W_xh, W_hh, b_h), (h_dy,) = one_step("gru", x, [h])
    z = sigmoid(W_xz @ x + W_hz @ h + b_z)
    r = sigmoid(W_xr @ x + W_hr @ h + b_r)
    candidate = np.tanh(W_xh @ x + W_hh @ (r * h) + b_h)
    np.testing.assert_allclose(h_dy, (1 - z) * h + z * candidate, atol=1e-5)


def test_simple_rnn_matches_equations(inputs):
    x, h, _ = inputs
    (W_x, W_h, b), (h_dy,) = one_step("rnn", x, [h])
    np.testing.assert_allclose(h_dy, np.tanh(W_x @ x + W_h @ h + b), atol=1e-5)


def test_lstm_written_out_equals_the_builder():
    """layers.lstm_outputs (the equations by hand, inputs projected beforehand) = the builder."""
    from dynlp.models.layers import lstm_outputs, project

    dy = dynet()
    pc = dy.ParameterCollection()
    builder = recurrent_builder("lstm", 1, 3, 5, pc)
    rng = np.random.default_rng(1)
    dy.renew_cg()
    xs = [dy.inputTensor(rng.normal(size=(3, 2)), batched=True) for _ in range(4)]
    by_builder = builder.initial_state().transduce(xs)
    by_hand = lstm_outputs(builder, project(builder, xs))
    for ours, theirs in zip(by_hand, by_builder):
        np.testing.assert_allclose(ours.npvalue(), theirs.npvalue(), atol=1e-6)


def test_gru_written_out_equals_the_builder():
    """layers.gru_reference (the GRU's equations on the builder's weights) = the builder."""
    from dynlp.models.layers import gru_reference

    dy = dynet()
    pc = dy.ParameterCollection()
    builder = recurrent_builder("gru", 1, 3, 5, pc)
    rng = np.random.default_rng(2)
    dy.renew_cg()
    xs = [dy.inputTensor(rng.normal(size=3)) for _ in range(4)]
    by_builder = builder.initial_state().transduce(xs)
    for ours, theirs in zip(gru_reference(builder, xs), by_builder):
        np.testing.assert_allclose(ours.npvalue(), theirs.npvalue(), atol=1e-6)


def test_lstm_written_out_trains_all_of_the_builder_s_weights():
    from dynlp.models.layers import lstm_outputs, lstm_weights, project

    dy = dynet()
    pc = dy.ParameterCollection()
    builder = recurrent_builder("lstm", 1, 3, 5, pc)
    trainer = dy.SimpleSGDTrainer(pc, 0.1)
    before = [p.as_array().copy() for p in lstm_weights(builder)]
    dy.renew_cg()
    xs = [dy.inputTensor(np.ones(3)) for _ in range(3)]
    dy.sum_elems(lstm_outputs(builder, project(builder, xs))[-1]).backward()
    trainer.update()
    for old, parameter in zip(before, lstm_weights(builder)):  # W_x, W_h and b all moved
        assert np.abs(parameter.as_array() - old).max() > 1e-6
