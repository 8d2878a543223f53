"""RNNLanguageModel: predict each token from the ones before it.

    x_t = E[w_t]                        embedding of the current token
    h_t = RNN(x_t, h_{t-1})             LSTM, GRU or simple RNN, one or more layers
                                        (with `residual`, from the second layer up:
                                        h^l_t = RNN_l(h^{l-1}_t, h^l_{t-1}) + h^{l-1}_t,
                                        He et al. 2016's shortcut, as in Wu et al. 2016's
                                        stacked LSTMs: each layer learns a correction to the
                                        one below, and the gradient reaches the bottom layer
                                        past the stacked nonlinearities)
                                        (with `layer_norm`, a simple RNN's summed inputs are
                                        normalised over its units at each step, Ba et al. 2016:
                                        h_t = tanh(LN(W_x x_t + W_h h_{t-1})), models/layers.py)
                                        (with `identity_init`, a simple RNN's W_h starts at
                                        I: h_t = tanh(W_x x_t + I h_{t-1} + b), Le et al.
                                        2015, so the state is carried on unchanged until
                                        training learns otherwise)
    p(w_{t+1} | w_1..w_t) = softmax(W h_t + b)
                          or, with `softmax="class"`, p(class | h_t) p(w | class, h_t):
                          the same W and b, a row per word, in classes (softmax.py)

The loss of a sentence is -sum_t log p(w_{t+1} | w_1..w_t), from `<s>` up to and including
`</s>`.  With `tie_weights`, the output matrix W is the embedding matrix E (Press & Wolf, 2017).
Dropout (training only) is applied to the input of every layer and to the top layer's output,
never to the recurrent connection h_{t-1} -> h_t (Zaremba et al., 2014).

`loss()` builds expressions in the current computation graph; the training loop owns the graph
(`renew_cg`) and calls it once per minibatch.  `score()` and `sample()` return plain numbers and
tokens, so they start a fresh graph of their own.  The output layer is the memory: positions x
vocabulary floats.  Scoring keeps each graph within OUTPUT_BUDGET of them, reading a line too
long for it in pieces and carrying the recurrent state from one piece's graph to the next.
"""
from dataclasses import dataclass, replace

import numpy as np

from dynlp.backend import dynet
from dynlp.config import check_fraction, check_positive, from_dict, option, to_dict
from dynlp.data.batches import bucketed, sentence_batch, time_pieces
from dynlp.data.vocab import SPECIALS
from dynlp.errors import ConfigError
from dynlp.models import registry
from dynlp.models.layers import (LayerNormRNN, batched_constant, dropout, inference,
                                 recurrent_builder)
from dynlp.models.sampling import check_sampling, choose
from dynlp.models.softmax import (CLASS_SOFTMAX_FROM, ClassSoftmax, default_classes,
                                  output_layer_for)
from dynlp.store.checkpoint import load as load_dir
from dynlp.store.checkpoint import populate
from dynlp.store.checkpoint import save as save_dir


@dataclass
class LMConfig:
    """What a language model is: how its text is read, its vocabulary cut, and its network."""

    level: str = option("char", "model characters or words", choices=("char", "word"),
                        flags={"--char": "char", "--word": "word"})
    tokenized: bool = option(False, "input is already tokenised: split on whitespace only")
    stream: bool = option(False, "treat the text as one stream (truncated BPTT across lines)")
    min_count: int = option(1, "drop tokens seen fewer times than this from the vocabulary")
    max_vocab: int = option(0, "keep at most this many tokens (0: no limit)")
    cell: str = option("lstm", "recurrent cell", choices=("lstm", "gru", "rnn"))
    layers: int = option(1, "number of stacked recurrent layers")
    emb_dim: int = option(128, "token embedding size")
    hidden_dim: int = option(256, "recurrent state size")
    dropout: float = option(0.0, "dropout on embeddings, between layers and before the softmax")
    tie_weights: bool = option(False, "share input embeddings and output weights "
                                      "(needs --emb-dim equal to --hidden-dim)")
    softmax: str = option("auto", "output layer: a softmax over the whole vocabulary, or "
                                  "class-factored (words binned by frequency into classes: "
                                  "p(w) = p(class) p(w | class), exact and much faster for "
                                  "large vocabularies); auto: class from "
                                  f"{CLASS_SOFTMAX_FROM:,} types up (unless training with SGD "
                                  "at a rate it cannot take), full below",
                          choices=("auto", "full", "class"))
    classes: int = option(0, "classes of --softmax class (0: about the square root of the "
                             "vocabulary size)")
    residual: bool = option(False, "add each layer's input to its output from the second "
                                   "layer up (h = RNN(x) + x): a shortcut through a deep stack")
    layer_norm: bool = option(False, "normalise each simple-RNN layer's summed inputs over its "
                                     "units at every step, h = tanh(LN(W_x x + W_h h)) (Ba et "
                                     "al. 2016; --cell rnn only)")
    identity_init: bool = option(False, "start each simple-RNN layer's recurrent matrix W_h at "
                                        "the identity (Le et al. 2015; --cell rnn only)")

    def check(self):
        if self.tie_weights and self.emb_dim != self.hidden_dim:
            raise ConfigError("--tie-weights needs --emb-dim equal to --hidden-dim "
                              f"(got {self.emb_dim} and {self.hidden_dim})")
        check_positive(self, "layers", "emb_dim", "hidden_dim", "min_count")
        if self.classes < 0:
            raise ConfigError("--classes cannot be negative")
        check_fraction(self, "dropout")
        if self.identity_init and self.cell != "rnn":
            raise ConfigError(f"--identity-init is for --cell rnn (its W_h), not {self.cell}")
        if self.layer_norm and self.cell != "rnn":
            raise ConfigError(f"--layer-norm is for --cell rnn, not {self.cell}")



KIND = "language-model"
FAMILY = "rnn-lm"
# Positions x vocabulary of the output layer in one graph when scoring (2^25 floats: 128 MB a
# copy; DyNet keeps the logits and a softmax's worth beside them).  It bounds scoring's memory
# whatever the vocabulary and the line length; dev batches use it too (training batches only
# what --batch-words asks).
OUTPUT_BUDGET = 1 << 25


@registry.register
class RNNLanguageModel:
    KIND, FAMILY = KIND, FAMILY

    def __init__(self, config, vocab, pc=None):
        config.check()
        dy = dynet()
        size = len(vocab)
        if config.softmax == "auto":  # the model file records the layer chosen, never "auto"
            config = replace(config, softmax=output_layer_for(size))
        self.config, self.vocab = config, vocab
        self.pc = pc or dy.ParameterCollection()
        self.E = self.pc.add_lookup_parameters((size, config.emb_dim))
        # One single-layer builder per layer, so that dropout sits visibly between layers.
        self.rnns = [self._layer(config.emb_dim if layer == 0 else config.hidden_dim)
                     for layer in range(config.layers)]
        if config.identity_init:
            for rnn in self.rnns:
                start_recurrence_at_identity(rnn)
        self.W = None if config.tie_weights else self.pc.add_parameters((size, config.hidden_dim))
        self.b = self.pc.add_parameters(size, init=0)
        self.softmax = None  # the full softmax over W h + b; else a factored one (softmax.py)
        if config.softmax == "class":
            self.softmax = ClassSoftmax(self.pc, config.hidden_dim, class_counts(vocab),
                                        config.classes or default_classes(size))
        # Tied, the output layer reads every row of E (full softmax) or most rows (all the words
        # of every class a batch meets): E's gradient is dense, and so should its update be.
        self.dense_gradients = config.tie_weights
        self.training = False
        self._carried = None  # final state of each layer after the last batch (truncated BPTT)
        # A stream model reads `</s>` before every line, so `</s>` is also how it starts one.
        self.start = vocab.eos if config.stream else vocab.bos

    def _layer(self, input_dim):
        """One recurrent layer reading vectors of `input_dim`: a DyNet builder, or ours."""
        if self.config.layer_norm:
            return LayerNormRNN(input_dim, self.config.hidden_dim, self.pc)
        return recurrent_builder(self.config.cell, 1, input_dim, self.config.hidden_dim, self.pc)

    # ---- training ------------------------------------------------------------------------
    def loss(self, batch):
        """Summed negative log-likelihood of the batch's real (unmasked) target tokens."""
        dy = dynet()
        mask = dy.inputTensor(batch.mask.reshape(-1), batched=True)
        return dy.sum_batches(dy.cmult(self._token_nll(batch), mask))

    def _token_nll(self, batch):
        """-log p(target) at every (time, sequence) position, as one batch of T*B scalars."""
        dy = dynet()
        # Row t of batch.inputs holds the t-th token of every sequence: one lookup for all.
        xs = [dy.lookup_batch(self.E, ids.tolist()) for ids in batch.inputs]
        finals = []
        for layer, (rnn, initial) in enumerate(zip(self.rnns, self._initial_states(batch))):
            state, outputs = rnn.initial_state(initial), []
            for x in xs:
                state = state.add_input(self._dropout(x))  # dropout between layers, not in time
                outputs.append(self._shortcut(layer, x, state.output()))
            finals.append(state.s())
            xs = outputs
        if self.config.stream or batch.continued:  # remember values: the graph goes
            self._carried = [[e.npvalue().reshape(e.dim()[0][0], -1) for e in s] for s in finals]
        # Fold time into the batch: one matrix product gives the logits of all T*B positions.
        h = self._dropout(dy.concatenate_to_batch(xs))
        targets = batch.targets.reshape(-1).tolist()
        if self.softmax is not None:
            return self.softmax.neg_log_probs(h, targets, self._word_logits)
        return dy.pickneglogsoftmax_batch(self._logits(h), targets)

    def _shortcut(self, layer, x, h):
        """A layer's output from its input x and its RNN's output h: h, or with `residual`
        h + x from the second layer up (the module docstring)."""
        return h + x if self.config.residual and layer > 0 else h

    def _initial_states(self, batch):
        """Per layer: None (zeros), or the state carried over from the previous segment."""
        carried = self._carried if batch.carry else None
        if carried is None or carried[0][0].shape[1] != batch.num_sequences:
            return [None] * len(self.rnns)
        return [[batched_constant(v) for v in layer] for layer in carried]

    def _dropout(self, x):
        return dropout(x, self.config.dropout, self.training)

    def _logits(self, h):
        dy = dynet()
        # Tied: W is E as a (emb x V) matrix, transposed.  Unlike Parameters.expr(), the
        # LookupParameters.expr() of this DyNet takes no flag and is trained (tests check it).
        W = dy.transpose(self.E.expr()) if self.W is None else self.W
        return dy.affine_transform([self.b, W, h])

    def _word_logits(self, words, h):
        """W_words h + b_words for these word ids and a matrix h of states (H x n, one per
        column): a |words| x n matrix.  A class-factored softmax needs only these rows."""
        dy = dynet()
        b = dy.select_rows(self.b.expr(True), words)
        if self.W is None:  # tied: W's rows are E's rows, looked up (sparse gradients)
            rows = dy.lookup_batch(self.E, words)  # |words| vectors of size H, as a batch
            E_words = dy.reshape(rows, (self.config.emb_dim, len(words)), batch_size=1)
            # (h^T E_words)^T: a transpose of the small n x |words| product, not of the
            # H x |words| rows (2.6x faster forward and backward: benchmarks/RESULTS.md).
            logits = dy.transpose(dy.transpose(h) * E_words)
        else:
            # expr(True): a Parameters' expr() with no argument is a constant in this DyNet.
            logits = dy.select_rows(self.W.expr(True), words) * h
        return dy.colwise_add(logits, b)

    def _next_log_probs(self, h, output_layer=None):
        """log p(w | h) over the vocabulary for one state (sampling), as numpy; for the full
        softmax, the logits (log-probabilities up to a constant, all sampling needs).

        The logits W h + b are those of `_logits`, computed in numpy from `output_layer`
        (W, b from `_output_layer`, read here if not given): as a graph node, a tied model's W
        is the whole embedding table, copied into the graph and transposed at every step (a
        120-word sample of a 33k-word model took 26.5 s that way and 2.5 s this way).
        """
        W, b = output_layer or self._output_layer()
        logits = W @ h.npvalue() + b
        return logits if self.softmax is None else self.softmax.log_probs(h, logits)

    def _output_layer(self):
        """The output layer's W (V x H) and b as numpy arrays, read once per sample."""
        W = self.E.as_array() if self.W is None else self.W.as_array()
        return W, self.b.as_array()

    # ---- scoring ---------------------------------------------------------------------------
    def score(self, tokens):
        """(total log-prob, per-token log-probs) of one sentence; the last token is `</s>`."""
        return self.score_batch([tokens])[0]

    def score_batch(self, sentences):
        """Score several token lists; returns [(total, per_token), ...] in input order.

        Memory stays within OUTPUT_BUDGET: sentences of similar length share a graph while its
        positions x vocabulary fit the budget, and a sentence too long for it alone is read in
        pieces, each piece's graph starting from the state the previous one ended in.
        """
        ids = [self.vocab.encode(tokens) for tokens in sentences]
        positions = max(1, OUTPUT_BUDGET // len(self.vocab))
        results = [None] * len(ids)
        groups = bucketed(list(range(len(ids))), len(ids), lambda i: len(ids[i]) + 1,
                          max_words=positions)
        for group in groups:
            batch = sentence_batch([ids[i] for i in group], self.start, self.vocab.eos,
                                   self.vocab.pad)
            log_probs = self._log_probs(batch, max(1, positions // len(group)))
            for column, i in enumerate(group):
                per_token = log_probs[:len(ids[i]) + 1, column].astype(float).tolist()
                results[i] = (float(sum(per_token)), per_token)
        return results

    def _log_probs(self, batch, steps):
        """log p(target) at each (time, sequence) of `batch`, read `steps` positions a graph."""
        dy = dynet()
        carried, pieces = self._carried, []
        with inference(self):
            for piece in time_pieces(batch, steps):
                dy.renew_cg()
                pieces.append(-self._token_nll(piece).npvalue().reshape(piece.inputs.shape))
        self._carried = carried  # a stream model's training state is not scoring's business
        return np.concatenate(pieces)

    # ---- sampling --------------------------------------------------------------------------
    def sample(self, temperature=1.0, top_k=None, prefix=(), max_len=100, rng=None,
               stop_at_eos=True):
        """Generate tokens after `prefix` (a token list); stops at `</s>` unless told not to.

        `<unk>` and the other special tokens are never emitted; `top_k` samples only among
        the k likeliest tokens (None: all); `rng` is a numpy Generator (so samples are reproducible).
        """
        check_sampling(temperature, top_k, max_len)
        dy = dynet()
        rng = rng if rng is not None else np.random.default_rng()
        with inference(self):
            dy.renew_cg()
            output_layer = self._output_layer()
            states = [rnn.initial_state() for rnn in self.rnns]
            for token_id in [self.start] + self.vocab.encode(prefix):
                states, top = self._step(states, token_id)
            generated = []
            while len(generated) < max_len:
                logits = self._next_log_probs(top, output_layer)
                token_id = choose(logits, self.vocab, temperature, top_k, rng)
                if token_id == self.vocab.eos and stop_at_eos:
                    break
                generated.append(token_id)
                states, top = self._step(states, token_id)
        return self.vocab.decode(generated)

    def _step(self, states, token_id):
        """Feed one token through every layer: the new state of each layer, and the top
        layer's output (what the output layer reads)."""
        x, new_states = self.E[token_id], []
        for layer, state in enumerate(states):
            state = state.add_input(x)
            new_states.append(state)
            x = self._shortcut(layer, x, state.output())
        return new_states, x


    # ---- saving ----------------------------------------------------------------------------
    def save(self, directory, extra=None):
        save_dir(directory, KIND, to_dict(self.config), {"vocab": self.vocab}, self.pc, extra,
                 family=FAMILY)

    @classmethod
    def load(cls, directory):
        meta, vocabs, params = load_dir(directory, KIND)
        model = cls(from_dict(LMConfig, meta["config"]), vocabs["vocab"])
        populate(model.pc, params)
        return model


def start_recurrence_at_identity(rnn):
    """Set a one-layer simple RNN's W_h to I (a SimpleRNNBuilder's parameters: W_x, W_h, b)."""
    w_h = rnn.W_h if isinstance(rnn, LayerNormRNN) else rnn.get_parameters()[0][1]
    w_h.set_value(np.eye(w_h.shape()[0]))


def class_counts(vocab):
    """Training counts by word id; the special tokens (never counted, but `</s>` ends every
    line) are put with the most frequent words."""
    counts = [vocab.count(token) for token in vocab.itos]
    top = max(counts, default=1)
    return [top if i < len(SPECIALS) else n for i, n in enumerate(counts)]
