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
from .backend import dynet

CELLS = {"lstm": "VanillaLSTMBuilder", "gru": "GRUBuilder", "rnn": "SimpleRNNBuilder"}


def recurrent_builder(cell, layers, input_dim, hidden_dim, pc):
    """A DyNet builder for `cell` ('lstm', 'gru' or 'rnn') with its parameters in `pc`."""
    return getattr(dynet(), CELLS[cell])(layers, input_dim, hidden_dim, pc)


def set_builder_dropout(builder, rate, training):
    """Turn a builder's dropout on (training) or off; call it before `initial_state()`.

    Only the inputs of each layer are dropped, never the recurrent connection (Zaremba et al.,
    2014).  The LSTM samples one mask per sequence (variational dropout); DyNet's GRU and simple
    RNN builders only offer fresh masks at every step.
    """
    if training and rate > 0 and hasattr(builder, "set_dropouts"):
        builder.set_dropouts(rate, 0.0)
    elif training and rate > 0:
        builder.set_dropout(rate)
    else:
        builder.disable_dropout()


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
