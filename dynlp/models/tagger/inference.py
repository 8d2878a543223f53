"""Tagging in numpy: the tagger's forward pass on a snapshot of its weights, no DyNet graph.

When a trained tagger only tags, nothing needs gradients, and most of the time is spent in
matrix products: W_x x + b and W_h h at every step of every LSTM, and the heads' MLPs.  On one
step's products of speed.py's tagger, the DyNet wheel's Eigen ran at 95 GFLOP/s on this
project's CPU and numpy's OpenBLAS at 148, both on one thread (benchmarks/numpy_tagging.py;
the notes: benchmarks/notes/2026-12-04-distill-and-numpy-tagging.md).  So tagging computes the same
equations as the graph does (encoder.py, layers.py, heads.py), here with numpy arrays:

    c_f = LSTM_f(<w> chars </w>)[last] ;  c_b = LSTM_b(reversed)[last]     per distinct form
    x   = [E[w] ; c_f ; c_b]                                                per distinct form
    a_t = (W_x x_t + b) + W_h h_{t-1}          (W_x x + b once per form in the first layer)
    i, f, o = sigmoid(a_i), sigmoid(a_f + 1), sigmoid(a_o) ;  g = tanh(a_g)
    c_t = f * c_{t-1} + i * g ;  h_t = o * tanh(c_t)                        each LSTM
    h_i = [forward h_i ; backward h_i]                                      each BiLSTM layer
    scores = W2 tanh(W1 h_i + b1) + b2                                      each head

Sequences are sorted longest first, so that at step t the sequences still running are a
prefix of the batch: no padding is computed, and no mask is needed.  The backward LSTMs run the
steps from the last to the first, each sequence joining at its own last word with the zero
state it has kept so far (`LSTMWeights.run`), so nothing is reversed either.  The graph version,
`TaggerNetwork.graph_probabilities`, is the reference (and what a GPU runs):
tests/test_numpy_tagging.py holds the two together on trained and untrained models.
"""
import numpy as np
from threadpoolctl import ThreadpoolController

from dynlp.backend import current_settings
from dynlp.models.layers import lstm_weights
from dynlp.models.tagger.encoder import clip


def numpy_tagging():
    """Whether tagging may run in numpy: DyNet's weights are on the CPU (no --gpus/--devices
    GPU), where copying them out costs little."""
    settings = current_settings()
    return settings is None or not (settings.gpus or "GPU" in settings.devices.upper())


# One BLAS thread while tagging: parallelism comes from processes (one `dynlp tag` worker per
# core), and BLAS threads on top of them oversubscribe the cores.  OpenBLAS's threads then wait
# for each other: with both cores busy, speed.py's tagger tagged 7,846 words/s on one thread
# against 4,964 on OpenBLAS's default two (benchmarks/numpy_tagging.py --busy).  threadpoolctl
# finds whichever BLAS numpy loaded (OpenBLAS, MKL, Accelerate), sets its threads for a block.
_blas = None


def one_blas_thread():
    """A context manager: numpy's BLAS runs on one thread inside it."""
    global _blas
    if _blas is None:
        _blas = ThreadpoolController()
    return _blas.limit(limits=1, user_api="blas")


class LSTMWeights:
    """W_x, W_h and b of one DyNet LSTM as float32 arrays, read once; the forget gate's +1
    is added to its rows of b here, once, rather than at every step."""

    def __init__(self, builder):
        W_x, W_h, b = (p.as_array().astype(np.float32) for p in lstm_weights(builder))
        self.size = H = W_h.shape[1]
        self.W_xT, self.W_hT, self.b = W_x.T.copy(), W_h.T.copy(), b
        self.b[H:2 * H] += 1.0  # f = sigmoid(a_f + 1)

    def project(self, x):
        """W_x x + b for rows x: (..., D) -> (..., 4H), as one matrix product."""
        return (x.reshape(-1, x.shape[-1]) @ self.W_xT + self.b).reshape(x.shape[:-1] + (-1,))

    def run(self, projected, lengths, backward=False, outputs=True):
        """h_t at each step from a zero state, given W_x x_t + b of each step: `projected` is
        (B, T, 4H), or a pair (table, ids) whose step t of sequence b is table[ids[b, t]] (the
        character LSTMs' inputs, and the first layer's: one row per character or form), the
        sequences sorted longest first, `lengths` their lengths.  Returns (B, T, H), zero past
        each sequence's end; with outputs=False only each sequence's last state, (B, H).

        backward=True reads each sequence from its end to its start.  The steps then run from
        T - 1 down to 0, and sequence b joins at its own last word, t = lengths[b] - 1, from
        the zero state it has kept until then: no sequence needs reversing."""
        step_inputs, batch, steps = _step_inputs(projected)
        H = self.size
        scratch = np.empty((batch, 4 * H), dtype=np.float32)
        h = np.zeros((batch, H), dtype=np.float32)
        c = np.zeros((batch, H), dtype=np.float32)
        every = np.zeros((batch, steps, H), dtype=np.float32) if outputs else None
        last = h if backward else np.zeros((batch, H), dtype=np.float32)
        running = np.searchsorted(-np.asarray(lengths), -np.arange(steps + 1), side="left")
        for t in (range(steps - 1, -1, -1) if backward else range(steps)):
            k = running[t]  # the sequences longer than t: a prefix, as they come longest first
            a = np.matmul(h[:k], self.W_hT, out=scratch[:k])
            a += step_inputs(t, k)  # a_t = (W_x x_t + b) + W_h h_{t-1}
            h[:k] = self.cell(a, c[:k])
            if every is not None:
                every[:k, t] = h[:k]
            if not backward:  # the sequences whose last step this was: lengths[b] == t + 1
                last[running[t + 1]:k] = h[running[t + 1]:k]
        return every if outputs else last

    def cell(self, a, c):
        """h_t from a = a_t, (k, 4H); c, (k, H), becomes c_t in place (both overwrite a)."""
        H = self.size
        gates = a[:, :3 * H]  # i, f, o = sigmoid(.), as (tanh(x / 2) + 1) / 2
        gates *= 0.5
        np.tanh(gates, out=gates)
        gates += 1.0
        gates *= 0.5
        g = np.tanh(a[:, 3 * H:], out=a[:, 3 * H:])
        c *= gates[:, H:2 * H]  # c_t = f * c_{t-1} + i * g
        c += gates[:, :H] * g
        return gates[:, 2 * H:] * np.tanh(c)  # h_t = o * tanh(c_t)


def _step_inputs(projected):
    """(inputs(t, k): the first k sequences' W_x x_t + b, batch, steps) of LSTMWeights.run's
    `projected`: a (B, T, 4H) array, or (table, ids) with step t of sequence b table[ids[b, t]]."""
    if isinstance(projected, tuple):
        table, ids = projected
        return (lambda t, k: table[ids[:k, t]]), ids.shape[0], ids.shape[1]
    return (lambda t, k: projected[:k, t]), projected.shape[0], projected.shape[1]


class MLPWeights:
    """W1, b1, W2, b2 of a head's MLP as float32 arrays."""

    def __init__(self, mlp):
        W1, b1, W2, b2 = (p.as_array().astype(np.float32)
                          for p in (mlp.W1, mlp.b1, mlp.W2, mlp.b2))
        self.W1T, self.b1, self.W2T, self.b2 = W1.T.copy(), b1, W2.T.copy(), b2

    def __call__(self, states):
        """scores = W2 tanh(W1 h + b1) + b2 for rows h: (N, 2H) -> (N, outputs)."""
        return np.tanh(states @ self.W1T + self.b1) @ self.W2T + self.b2


class NumpyNetwork:
    """One TaggerNetwork's weights, read once; `scores(sentences)` as the graph computes them.
    E's rows are read per batch, for the batch's forms only (E can hold 250,000 pretrained
    vectors)."""

    def __init__(self, network):
        encoder = network.encoder
        self.encoder = encoder
        self.chars = encoder.chars
        C = encoder.C.as_array().astype(np.float32)  # (characters, C): small
        self.char_forward = LSTMWeights(encoder.char_forward)
        self.char_backward = LSTMWeights(encoder.char_backward)
        # A character LSTM's input half depends on the character alone: W_x C[c] + b of each.
        self.by_char = [self.char_forward.project(C), self.char_backward.project(C)]
        self.layers = [(LSTMWeights(f), LSTMWeights(b)) for f, b in encoder.layers]
        self.heads = [MLPWeights(head.mlp) for head in network.heads]

    def scores(self, sentences):
        """[each head's scores, (outputs, T*B positions)] for a batch of (non-empty)
        sentences, position t of sentence b at column t * B + b (the graph's order); columns
        past a sentence's end hold the scores of a zero state (finite, never used)."""
        order = sorted(range(len(sentences)), key=lambda b: -len(sentences[b]))
        ordered = [sentences[b] for b in order]
        lengths = [len(s) for s in ordered]
        forms = list(dict.fromkeys(form for sentence in sentences for form in sentence))
        position = {form: i for i, form in enumerate(forms)}
        steps = max(lengths)
        picks = np.zeros((len(ordered), steps), dtype=np.int64)
        for b, sentence in enumerate(ordered):
            picks[b, :len(sentence)] = [position[form] for form in sentence]
        x = np.concatenate([self._embeddings(forms), self._char_vectors(forms)], axis=1)
        states = self._contextualize(x, picks, lengths)  # (B sorted, T, 2H)
        in_graph_order = np.empty_like(states)
        in_graph_order[order] = states
        flat = in_graph_order.transpose(1, 0, 2).reshape(steps * len(sentences), -1)
        return [head(flat).T for head in self.heads]

    def _embeddings(self, forms):
        """E[w] of each form (inference: no word dropout), (F, D)."""
        encoder = self.encoder
        ids = [encoder.words.id(encoder.word_key(form)) for form in forms]
        return np.asarray(encoder.E.rows_as_array(ids), dtype=np.float32)

    def _char_vectors(self, forms):
        """[c_f ; c_b] of each form, (F, 2C): both character LSTMs over <w> chars </w>, the
        forward one's last state and the backward one's (which ends at the first character)."""
        chars = self.chars
        sequences = [[chars.bos] + chars.encode(clip(form)) + [chars.eos] for form in forms]
        order = sorted(range(len(forms)), key=lambda i: -len(sequences[i]))
        lengths = [len(sequences[i]) for i in order]
        ids = np.full((len(forms), lengths[0]), chars.pad, dtype=np.int64)
        for row, i in enumerate(order):
            ids[row, :lengths[row]] = sequences[i]
        joined = np.concatenate(
            [self.char_forward.run((self.by_char[0], ids), lengths, outputs=False),
             self.char_backward.run((self.by_char[1], ids), lengths, backward=True,
                                    outputs=False)], axis=1)
        in_form_order = np.empty_like(joined)
        in_form_order[order] = joined
        return in_form_order

    def _contextualize(self, x, picks, lengths):
        """The stacked BiLSTM over the sentences (rows of `picks`: form ids, sorted longest
        first); x: each form's [E[w] ; c]; the first layer's W_x x + b once per form."""
        states = None
        for forward, backward in self.layers:
            if states is None:  # one row per form, looked up at each step
                ahead_in, behind_in = (forward.project(x), picks), (backward.project(x), picks)
            else:
                ahead_in, behind_in = forward.project(states), backward.project(states)
            states = np.concatenate([forward.run(ahead_in, lengths),
                                     backward.run(behind_in, lengths, backward=True)], axis=2)
        return states
