"""Small building blocks shared by the models: recurrent cells and a multi-layer perceptron.

The recurrent cells are DyNet's own builders:

    lstm  VanillaLSTMBuilder   [a_i; a_f; a_o; a_g] = W_x x + W_h h + b
                               i = sigmoid(a_i), f = sigmoid(a_f + 1), o = sigmoid(a_o)
                               c' = f * c + i * tanh(a_g) ;  h' = o * tanh(c')
                               (the +1 is DyNet's forget-gate bias, added at run time)
    gru   GRUBuilder           z = sigmoid(W_xz x + W_hz h + b_z), r = likewise with W_xr..
                               h~ = tanh(W_xh x + W_hh (r * h) + b_h)
                               h' = (1 - z) * h + z * h~
    rnn   SimpleRNNBuilder     h' = tanh(W_x x + W_h h + b)

and, for a simple RNN with layer normalisation (Ba et al. 2016, "Layer normalization", sec. 3.1
and eq. 4: the summed inputs of each step normalised over the layer's units), `LayerNormRNN`:

    rnn+LN                     a = W_x x + W_h h
                               h' = tanh(g * (a - mean(a)) / std(a) + b)

(mean and std over the units of a, per sequence of a batch; g starts at 1 and b at 0.)

(tests/test_cells.py checks these equations against numpy using the builders' own weights;
`gru_reference` and `lstm_outputs` below write the GRU's and the LSTM's out on them.)

The tagger's word BiLSTM (`bilstm`) runs the lstm equations written out in Python on a
builder's weights (`lstm_outputs`), so that W_x x + b, which does not recur, can be computed
for all time steps in one matrix product (`project`) or once per word form.  The plain version
it must equal, one sentence and one `add_input` loop per direction, is `bilstm_reference`
(tests/test_reference_tagger.py holds the two together).
"""
import contextlib

from dynlp.backend import dynet

CELLS = {"lstm": "VanillaLSTMBuilder", "gru": "GRUBuilder", "rnn": "SimpleRNNBuilder"}


def recurrent_builder(cell, layers, input_dim, hidden_dim, pc):
    """A DyNet builder for `cell` ('lstm', 'gru' or 'rnn') with its parameters in `pc`."""
    return getattr(dynet(), CELLS[cell])(layers, input_dim, hidden_dim, pc)


class LayerNormRNN:
    """One layer of a simple RNN with layer normalisation (the module docstring's rnn+LN),
    used as a DyNet builder is: `initial_state(states)`, then `add_input`, `output()`, `s()`."""

    def __init__(self, input_dim, hidden_dim, pc):
        self.W_x = pc.add_parameters((hidden_dim, input_dim))
        self.W_h = pc.add_parameters((hidden_dim, hidden_dim))
        self.g = pc.add_parameters(hidden_dim, init=1.0)
        self.b = pc.add_parameters(hidden_dim, init=0)

    def initial_state(self, states=None):
        """The state before the first input: h = 0, or `states`' one expression.  The
        weights are read into the graph here, once, not at every step."""
        weights = tuple(p.expr(True) for p in (self.W_x, self.W_h, self.g, self.b))
        return _LayerNormRNNState(weights, None if states is None else states[0])


class _LayerNormRNNState:
    def __init__(self, weights, h):
        self.weights, self.h = weights, h

    def add_input(self, x):
        dy = dynet()
        W_x, W_h, g, b = self.weights
        a = W_x * x if self.h is None else W_x * x + W_h * self.h  # h = 0: W_h h = 0
        return _LayerNormRNNState(self.weights, dy.tanh(dy.layer_norm(a, g, b)))

    def output(self):
        return self.h

    def s(self):
        return [self.h]


@contextlib.contextmanager
def inference(model):
    """Switch a model's dropout off for a block, then restore what it was."""
    was_training, model.training = model.training, False
    try:
        yield model
    finally:
        model.training = was_training


def dropout(x, rate, training):
    """x with each unit zeroed with probability `rate` (and the rest scaled up) when training."""
    return dynet().dropout(x, rate) if training and rate else x


def batched_constant(array):
    """A (D, B) numpy array as a (D,)xB constant expression (DyNet's batched inputTensor
    refuses a batch of one: a plain vector then)."""
    dy = dynet()
    if array.shape[1] == 1:
        return dy.inputTensor(array[:, 0])
    return dy.inputTensor(array, batched=True)


class MLP:
    """y = W2 tanh(W1 x + b1) + b2: one hidden layer, as in the DyNet tagger lecture."""

    def __init__(self, pc, input_dim, hidden_dim, output_dim):
        self.W1 = pc.add_parameters((hidden_dim, input_dim))
        self.b1 = pc.add_parameters(hidden_dim, init=0)
        self.W2 = pc.add_parameters((output_dim, hidden_dim))
        self.b2 = pc.add_parameters(output_dim, init=0)

    def __call__(self, x, dropout=0.0):
        dy = dynet()
        hidden = dy.tanh(dy.affine_transform([self.b1, self.W1, x]))
        if dropout:
            hidden = dy.dropout(hidden, dropout)
        return dy.affine_transform([self.b2, self.W2, hidden])


def final_outputs(outputs, lengths):
    """Sequence b's output at its own last step, outputs[lengths[b] - 1]; `lengths` ascending.

    The sequences that end at the same step are picked from that step's batch together.
    """
    dy = dynet()
    assert list(lengths) == sorted(lengths), "final_outputs needs sequences sorted by length"
    picks = []
    for n in sorted(set(lengths)):
        members = [b for b, length in enumerate(lengths) if length == n]
        picks.append(dy.pick_batch_elems(outputs[n - 1], members))
    return dy.concatenate_to_batch(picks)


def bilstm_reference(forward, backward, xs):
    """One BiLSTM layer over one sentence, plainly: the builders' own `add_input`, once per
    word in each direction; [forward h_t ; backward h_t] at each position t.

    The reference for `bilstm`, which reads a padded batch with the same weights."""
    dy = dynet()
    state, ahead = forward.initial_state(), []
    for x in xs:  # x_1 .. x_n
        state = state.add_input(x)
        ahead.append(state.output())  # forward h_t: (H,)
    state, behind = backward.initial_state(), []
    for x in reversed(xs):  # x_n .. x_1
        state = state.add_input(x)
        behind.append(state.output())  # backward h_t: (H,)
    behind.reverse()
    return [dy.concatenate([f, b]) for f, b in zip(ahead, behind)]  # (2H,) at each t


def bilstm(forward, backward, xs, lengths, projected=None):
    """One BiLSTM layer over a padded batch: [forward h_t ; backward h_t] at each step.

    `xs[t]` holds step t of every sequence; sequence b is `lengths[b]` long, and its padding
    sits at its end.  Read forwards, padding comes after the real steps and never reaches
    them.  The backward LSTM reads each sequence reversed on its own (`reverse_each`), so
    there too the padding comes last, and each sequence starts fresh at its own last token:
    no masks are needed in either direction.

    `projected`, if given, is the pair of input projections W_x x_t + b (forward, backward)
    already computed, and `xs` is not used (see `lstm_outputs`).
    """
    dy = dynet()
    ahead_in, behind_in = projected or (project(forward, xs), project(backward, xs))
    ahead = lstm_outputs(forward, ahead_in)  # T steps of (H,) x B
    behind = reverse_each(lstm_outputs(backward, reverse_each(behind_in, lengths)), lengths)
    return [dy.concatenate([f, b]) for f, b in zip(ahead, behind)]  # T steps of (2H,) x B


def lstm_weights(builder):
    """W_x, W_h and b of a one-layer VanillaLSTMBuilder (tests/test_cells.py checks them)."""
    return builder.get_parameters()[0]


def project(builder, xs):
    """W_x x_t + b of `builder`'s LSTM for every step t, in one matrix product: time is
    folded into the batch, as for the MLP, since the input half of a_t does not recur."""
    dy = dynet()
    batch = xs[0].dim()[1]
    folded = input_projection(builder, dy.concatenate_to_batch(xs))  # (4H,) x TB
    return [dy.pick_batch_elems(folded, list(range(t * batch, (t + 1) * batch)))
            for t in range(len(xs))]


def input_projection(builder, x):
    """W_x x + b of `builder`'s LSTM: the part of its gates' input that does not recur."""
    W_x, _, b = lstm_weights(builder)
    return dynet().affine_transform([b, W_x, x])


def lstm_outputs(builder, projected):
    """h_1..h_T of `builder`'s LSTM from a zero state, given each step's W_x x_t + b.

    These are the builder's own equations (module docstring) written out, so that the input
    half of a_t can be computed outside the recurrence (`project`, or once per word form when
    tagging); only W_h h_{t-1} is left for each step:

        a_t = (W_x x_t + b) + W_h h_{t-1}
        i = sigmoid(a_i), f = sigmoid(a_f + 1), o = sigmoid(a_o), g = tanh(a_g)
        c_t = f * c_{t-1} + i * g ;  h_t = o * tanh(c_t)
    """
    dy = dynet()
    _, W_h, _ = lstm_weights(builder)
    size = W_h.shape()[1]
    h = c = None  # the zero state: its terms are left out
    outputs = []
    for a_x in projected:
        a = a_x if h is None else dy.affine_transform([a_x, W_h, h])  # (4H,) x B
        i = dy.logistic(dy.pick_range(a, 0, size))
        f = dy.logistic(dy.pick_range(a, size, 2 * size) + 1.0)
        o = dy.logistic(dy.pick_range(a, 2 * size, 3 * size))
        g = dy.tanh(dy.pick_range(a, 3 * size, 4 * size))
        c = dy.cmult(i, g) if c is None else dy.cmult(f, c) + dy.cmult(i, g)
        h = dy.cmult(o, dy.tanh(c))  # (H,) x B
        outputs.append(h)
    return outputs


def gru_reference(builder, xs):
    """h_1..h_T of a one-layer GRUBuilder from a zero state: its equations (module docstring)
    written out on its own weights, the plain reference of the --cell gru rows, beside the
    LSTM's `lstm_outputs` (tests/test_cells.py holds both to their builders):

        z = sigmoid(W_xz x + W_hz h + b_z) ;  r = sigmoid(W_xr x + W_hr h + b_r)
        h~ = tanh(W_xh x + W_hh (r * h) + b_h) ;  h' = (1 - z) * h + z * h~
    """
    dy = dynet()
    W_xz, W_hz, b_z, W_xr, W_hr, b_r, W_xh, W_hh, b_h = builder.get_parameters()[0]
    h = dy.zeros(W_hz.shape()[1])  # the zero state
    outputs = []
    for x in xs:
        z = dy.logistic(dy.affine_transform([b_z, W_xz, x, W_hz, h]))
        r = dy.logistic(dy.affine_transform([b_r, W_xr, x, W_hr, h]))
        candidate = dy.tanh(dy.affine_transform([b_h, W_xh, x, W_hh, dy.cmult(r, h)]))
        h = h - dy.cmult(z, h) + dy.cmult(z, candidate)  # (1 - z) * h + z * h~
        outputs.append(h)
    return outputs


def reverse_each(xs, lengths):
    """Each sequence of a padded batch reversed in place: step t of sequence b becomes step
    lengths[b] - 1 - t; padding steps stay where they are.  (Its own inverse.)"""
    dy = dynet()
    lengths = list(lengths)
    if min(lengths) == len(xs):  # no padding: plain reversal
        return xs[::-1]
    batch = len(lengths)
    folded = dy.concatenate_to_batch(xs)  # step t of sequence b is batch element t * B + b
    return [dy.pick_batch_elems(folded, [(n - 1 - t if t < n else t) * batch + b
                                         for b, n in enumerate(lengths)])
            for t in range(len(xs))]
