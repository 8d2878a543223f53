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

(tests/test_cells.py checks these equations against numpy using the builders' own weights.)
"""
import contextlib

from .backend import dynet

CELLS = {"lstm": "VanillaLSTMBuilder", "gru": "GRUBuilder", "rnn": "SimpleRNNBuilder"}


def recurrent_builder(cell, layers, input_dim, hidden_dim, pc):
    """A DyNet builder for `cell` ('lstm', 'gru' or 'rnn') with its parameters in `pc`."""
    return getattr(dynet(), CELLS[cell])(layers, input_dim, hidden_dim, pc)


@contextlib.contextmanager
def inference(model):
    """Switch a model's dropout off for a block, then restore what it was."""
    was_training, model.training = model.training, False
    try:
        yield model
    finally:
        model.training = was_training


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


def masked_transduce(builder, xs, masks):
    """Run `builder` over `xs` (one batched input per step) and return the output at each step.

    `masks[t]` is None when every sequence of the batch is real at step t, else a pair of
    (1,)-batched expressions (m, 1 - m), m being 0 where sequence b is padding.  Padding sits at
    the end of sequences, and at padded steps the state is kept as it was:
      - read forwards, the final state is each sequence's state at its own last token;
      - read backwards (`xs` reversed), the padding comes first and the state stays zero, so
        each sequence starts fresh at its own last token.
    """
    dy = dynet()
    state, outputs = builder.initial_state(), []
    for x, mask in zip(xs, masks):
        new = state.add_input(x)
        if mask is not None:
            real, padding = mask
            old = state.s()  # empty before the first step: the zero state
            kept = [dy.cmult(n, real) + dy.cmult(o, padding) for n, o in zip(new.s(), old)] \
                if old else [dy.cmult(n, real) for n in new.s()]
            new = new.set_s(kept)
        state = new
        outputs.append(state.output())
    return outputs


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


def step_masks(lengths):
    """Per time step: None if all `lengths` reach it, else (m, 1 - m) as batched expressions."""
    dy = dynet()
    lengths = list(lengths)
    masks = []
    for t in range(max(lengths)):
        real = [1.0 if t < n else 0.0 for n in lengths]
        if min(real) == 1.0:
            masks.append(None)
        else:
            masks.append((dy.inputTensor(real, batched=True),
                          dy.inputTensor([1.0 - r for r in real], batched=True)))
    return masks


def bilstm(forward, backward, xs, masks):
    """One BiLSTM layer: [forward h_t ; backward h_t] at each step, padding handled as above."""
    dy = dynet()
    ahead = masked_transduce(forward, xs, masks)
    behind = masked_transduce(backward, xs[::-1], masks[::-1])[::-1]
    return [dy.concatenate([f, b]) for f, b in zip(ahead, behind)]
