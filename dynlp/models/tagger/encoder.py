"""The tagger's encoder: the words of a sentence, read as word and character views, turned into
BiLSTM states that every head (tagger output) reads.

For each word w_i of a sentence:

    c_i = [LSTM_f(chars of w_i) ; LSTM_b(chars of w_i)]   so unseen words get a vector too
    x_i = [E[w_i] ; c_i]                                   word embedding and character view
    h_i = BiLSTM(x_1..x_n)_i                               stacked, both directions joined

In training, a word seen c times is replaced by `<unk>` with probability alpha/(alpha + c) (word
dropout), so `<unk>` learns to stand for rare words; x_i and each layer's h_i get dropout.

Sentences of a batch are padded at their ends, and the backward LSTM reads each sentence
reversed on its own (layers.bilstm), so padding never reaches a real word's state.  The LSTM
gates' input half, W_x x_i + b, is computed for all positions in one matrix product
(layers.project); when tagging, the first layer's is computed once per distinct form of the
batch instead, as x_i then depends on the form alone.  The character LSTMs' input half,
W_x C[c] + b, depends on the character alone: it is computed once per distinct character of the
batch and picked at each step.  `encode_reference` is the plain version of all this, one sentence
at a time, the three lines above as code; tests/test_reference_tagger.py holds the fast paths to it.
"""
import numpy as np

from dynlp.backend import dynet
from dynlp.models.layers import (bilstm, bilstm_reference, dropout, final_outputs,
                                 input_projection, lstm_outputs, recurrent_builder)

MAX_WORD_CHARS = 30  # longer words (URLs) keep their first and last 15 characters


class WordEncoder:
    """Word forms in, BiLSTM states out: `encode(sentences, training)`; its parameters live in
    `pc`, created in the order below (a saved model is filled in that order)."""

    def __init__(self, config, words, chars, pc, seed=1):
        dy = dynet()
        self.config, self.words, self.chars = config, words, chars
        self.pc = pc  # DyNet frees parameters whose collection is gone: keep it alive with us
        # Embeddings start N(0, 1) (PyTorch's default), not DyNet's Glorot U(+-sqrt(3/d)): with
        # the larger start, rows move less relative to their size under Adam and the tagger
        # memorises word identities later; measured +0.2-0.3 dev accuracy on EWT by epoch 10.
        unit_normal = dy.NormalInitializer(0, 1)  # mean, variance
        self.E = pc.add_lookup_parameters((len(words), config.emb_dim), init=unit_normal)
        self.C = pc.add_lookup_parameters((len(chars), config.char_dim), init=unit_normal)
        self.char_forward, self.char_backward = _lstm_pair(pc, config.char_dim, config.char_dim)
        self.layers = []  # (forward, backward) LSTMs of each BiLSTM layer
        input_dim = config.emb_dim + 2 * config.char_dim
        for _ in range(config.layers):
            self.layers.append(_lstm_pair(pc, input_dim, config.hidden_dim))
            input_dim = 2 * config.hidden_dim
        self.output_dim = input_dim
        self.rng = np.random.default_rng(seed)  # for word dropout
        self.inputs = None  # the x_i of the last batch encoded per position (adversarial training)

    def encode(self, sentences, training=False, per_form=None):
        """BiLSTM states for every position of the padded batch: a list of T (2H,)xB vectors.

        The character BiLSTM reads each distinct form of the batch once.  In training, x_i has
        its own dropout (and word dropout) at each position, so the first layer computes
        W_x x_i + b for each position.  Without dropout x_i depends on the form alone, and so
        does W_x x_i + b: with `per_form` (the default when not training) it is computed once
        per distinct form of the batch and picked for each position.  Otherwise the x_i stay in
        `self.inputs` (adversarial training perturbs them: tagger.adversarial_loss).
        """
        per_form = not training if per_form is None else per_form
        lengths = [len(s) for s in sentences]
        # Padding: any real word (its states are never used).
        steps = [[s[t] if t < len(s) else s[-1] for s in sentences] for t in range(max(lengths))]
        forms = sorted({form for sentence in sentences for form in sentence}, key=len)
        position = {form: i for i, form in enumerate(forms)}
        picks = [[position[form] for form in at_t] for at_t in steps]  # form index per position
        char_vectors = self._char_encode(forms)  # one batch element per distinct form
        if per_form:
            projected = self._first_projections_per_form(forms, char_vectors, picks, training)
            return self.contextualize(None, lengths, training, projected)
        self.inputs = self._inputs_per_position(steps, char_vectors, picks, training)
        return self.contextualize(self.inputs, lengths, training)

    def encode_reference(self, sentence):
        """h_i for one sentence, plainly and without dropout: the module docstring's equations.
        `encode` must give the same states (tests/test_reference_tagger.py)."""
        dy = dynet()
        xs = [dy.concatenate([dy.lookup(self.E, self.words.id(self.word_key(w))),  # E[w_i]: (D,)
                              self.char_vector_reference(w)])             # c_i: (2C,)
              for w in sentence]
        for forward, backward in self.layers:
            xs = bilstm_reference(forward, backward, xs)  # h_i: (2H,)
        return xs

    def char_vector_reference(self, form):
        """c_i = [LSTM_f(chars of w_i) ; LSTM_b(chars of w_i)]: each character LSTM's final
        state over <s> chars </s>, read forwards and backwards with the builders' add_input."""
        dy = dynet()
        chars = [dy.lookup(self.C, c) for c in
                 [self.chars.bos] + self.chars.encode(clip(form)) + [self.chars.eos]]
        ahead = self.char_forward.initial_state().transduce(chars)[-1]
        behind = self.char_backward.initial_state().transduce(chars[::-1])[-1]
        return dy.concatenate([ahead, behind])

    def contextualize(self, xs, lengths, training=False, projected=None):
        """h_i = BiLSTM(x_1..x_n)_i for the padded batch of inputs `xs` (one (D,)xB vector per
        step; sentence b is `lengths[b]` long), with dropout on x_i and each layer's h_i in
        training.
        `projected`: the first layer's W_x x + b already computed instead (then `xs` is None).
        """
        if xs is not None:
            xs = [self._dropout(x, training) for x in xs]
        for forward, backward in self.layers:
            xs = [self._dropout(h, training)
                  for h in bilstm(forward, backward, xs, lengths, projected)]
            projected = None
        return xs

    def _inputs_per_position(self, steps, char_vectors, picks, training):
        """x_i = [E[w_i] ; c_i] at each step, batched over the sentences (before dropout)."""
        dy = dynet()
        return [dy.concatenate([  # x_i: (D + 2C,) x B
                    dy.lookup_batch(self.E, [self._word_id(form, training) for form in at_t]),
                    dy.pick_batch_elems(char_vectors, forms_at_t)])
                for at_t, forms_at_t in zip(steps, picks)]

    def _first_projections_per_form(self, forms, char_vectors, picks, training):
        """The first layer's W_x x + b (forward, backward) for each distinct form, then picked
        for each step: a pair of lists of (4H,)xB vectors, as layers.bilstm takes them."""
        dy = dynet()
        x = dy.concatenate([dy.lookup_batch(self.E, [self._word_id(f, training) for f in forms]),
                            char_vectors])  # (D + 2C,) x F, one per distinct form
        by_form = [input_projection(lstm, x) for lstm in self.layers[0]]  # (4H,) x F each
        return tuple([dy.pick_batch_elems(p, forms_at_t) for forms_at_t in picks]
                     for p in by_form)

    def _char_encode(self, forms, groups=4):
        """[final forward state ; final backward state] over each form's characters, batched.

        `forms` come sorted by length and are encoded in a few groups of similar length, so a
        long URL does not make every short word run thirty steps of padding.
        """
        dy = dynet()
        sequences = [[self.chars.bos] + self.chars.encode(clip(form)) + [self.chars.eos]
                     for form in forms]
        by_char = self._char_projections(sequences)
        size = -(-len(forms) // groups)
        return dy.concatenate_to_batch([self._char_encode_group(sequences[i:i + size], by_char)
                                        for i in range(0, len(forms), size)])

    def _char_projections(self, sequences):
        """W_x C[c] + b of each character LSTM (forward, backward) for each character c that
        the sequences use (and `<pad>`), and where each character's column is.

        A character LSTM's input at a step is a character's embedding and nothing else, so the
        input half of its gates depends on the character alone: one matrix product over the
        batch's distinct characters replaces one per character position.
        """
        dy = dynet()
        used = sorted({c for s in sequences for c in s} | {self.chars.pad})
        embeddings = dy.lookup_batch(self.C, used)  # (C,) x U; rows of C not used: no update
        column = {c: i for i, c in enumerate(used)}
        return ([input_projection(lstm, embeddings)
                 for lstm in (self.char_forward, self.char_backward)], column)

    def _char_encode_group(self, sequences, by_char):
        """Each form read forwards and backwards; the output at its own last character.

        Both directions read each form on its own (the backward one reversed), so padding
        always comes after the form's end and never reaches the state we keep: no masks.
        """
        dy = dynet()
        lengths = [len(s) for s in sequences]
        (forward_in, backward_in), column = by_char
        ahead = lstm_outputs(self.char_forward, self._char_steps(forward_in, column, sequences))
        behind = lstm_outputs(self.char_backward, self._char_steps(
            backward_in, column, [s[::-1] for s in sequences]))
        return dy.concatenate([final_outputs(ahead, lengths),  # (2C,) x forms of the group
                               final_outputs(behind, lengths)])

    def _char_steps(self, projected, column, sequences):
        """Each step's W_x x + b for all sequences, picked by character; finished sequences
        read `<pad>`."""
        dy = dynet()
        pad = column[self.chars.pad]
        return [dy.pick_batch_elems(projected, [column[s[t]] if t < len(s) else pad
                                                for s in sequences])
                for t in range(max(len(s) for s in sequences))]

    def _word_id(self, form, training):
        key = self.word_key(form)
        word_id = self.words.id(key)
        alpha = self.config.word_dropout
        if training and alpha and word_id != self.words.unk:
            count = self.words.count(key)
            if self.rng.random() < alpha / (alpha + count):
                return self.words.unk
        return word_id

    def word_key(self, form):
        """The form under which a word's embedding is stored."""
        return self.config.word_key(form)

    def knows(self, form):
        """Whether training saw the word (False: it is read as `<unk>`, or with the pretrained
        vector alone if --embeddings added it to the vocabulary, with no count)."""
        return self.words.count(self.word_key(form)) > 0

    def start_embeddings(self, vectors):
        """E[w] = the pretrained vector of w, for each word of `vectors` (data.embeddings)."""
        table = self.E.as_array()  # (V, D)
        table[[self.words.id(word) for word in vectors.words]] = vectors.matrix
        self.E.init_from_array(table)

    def _dropout(self, x, training):
        return dropout(x, self.config.dropout, training)


def _lstm_pair(pc, input_dim, hidden_dim):
    return (recurrent_builder("lstm", 1, input_dim, hidden_dim, pc),
            recurrent_builder("lstm", 1, input_dim, hidden_dim, pc))


def clip(form):
    """A form cut to MAX_WORD_CHARS characters for the character BiLSTM: its two ends."""
    half = MAX_WORD_CHARS // 2
    return form if len(form) <= MAX_WORD_CHARS else form[:half] + form[-half:]
