"""BiLSTMTagger: a part-of-speech tagger in the style of the DyNet tagger lecture.

For each word w_i of a sentence:

    c_i = [LSTM_f(chars of w_i) ; LSTM_b(chars of w_i)]   so unseen words get a vector too
    x_i = [E[w_i] ; c_i]                                   word embedding and character view
    h_i = BiLSTM(x_1..x_n)_i                               stacked, both directions joined
    p(tag_i | sentence) = softmax(W2 tanh(W1 h_i + b1) + b2)

The loss is -sum_i log p(gold tag_i).  In training, a word seen c times is replaced by `<unk>`
with probability alpha/(alpha + c) (word dropout), so `<unk>` learns to stand for rare words.

`loss()` and `predict_batch()` share one encoder; sentences of a batch are padded at their
ends, and the backward LSTM reads each sentence reversed on its own (layers.bilstm), so padding
never reaches a real word's state.  The LSTM gates' input half, W_x x_i + b, is computed for
all positions in one matrix product (layers.project); when tagging, the first layer's is
computed once per distinct form of the batch instead, as x_i then depends on the form alone.
The character LSTMs' input half, W_x C[c] + b, depends on the character alone: it is computed
once per distinct character of the batch and picked at each step.
"""
from dataclasses import dataclass

import numpy as np

from .backend import dynet
from .batches import bucketed
from .checkpoint import load as load_dir, populate, save as save_dir
from .config import TaggerConfig, from_dict, to_dict
from .layers import (MLP, bilstm, final_outputs, inference, input_projection,
                     lstm_outputs, recurrent_builder)
from .vocab import SPECIALS, Vocab

KIND = "tagger"
MAX_WORD_CHARS = 30  # longer words (URLs) keep their first and last 15 characters


@dataclass
class TagBatch:
    sentences: list  # B lists of word forms
    tags: np.ndarray  # (T, B) gold tag ids (pad where there is no word)
    mask: np.ndarray  # (T, B) 1.0 for real words

    @property
    def num_sequences(self):
        return len(self.sentences)

    @property
    def num_tokens(self):
        return int(self.mask.sum())


def tag_batch(sentences, tag_ids, pad):
    """Pad word-form lists and their tag ids into a time-major TagBatch."""
    length = max(len(s) for s in sentences)
    tags = np.full((length, len(sentences)), pad, dtype=np.int64)
    mask = np.zeros(tags.shape, dtype=np.float32)
    for column, ids in enumerate(tag_ids):
        tags[:len(ids), column] = ids
        mask[:len(ids), column] = 1.0
    return TagBatch(list(sentences), tags, mask)


def tag_batches(pairs, tags, batch_size, rng=None):
    """Length-bucketed batches from (forms, tag strings) pairs."""
    return [tag_batch([forms for forms, _ in chunk], [tags.encode(t) for _, t in chunk], tags.pad)
            for chunk in bucketed(pairs, batch_size, lambda pair: len(pair[0]), rng)]


class BiLSTMTagger:
    def __init__(self, config, words, chars, tags, pc=None, seed=1):
        config.check()
        dy = dynet()
        self.config, self.words, self.chars, self.tags = config, words, chars, tags
        self.pc = pc or dy.ParameterCollection()
        # Embeddings start N(0, 1) (PyTorch's default), not DyNet's Glorot U(+-sqrt(3/d)): with
        # the larger start, rows move less relative to their size under Adam and the tagger
        # memorises word identities later; measured +0.2-0.3 dev accuracy on EWT by epoch 10.
        unit_normal = dy.NormalInitializer(0, 1)  # mean, variance
        self.E = self.pc.add_lookup_parameters((len(words), config.emb_dim), init=unit_normal)
        self.C = self.pc.add_lookup_parameters((len(chars), config.char_dim), init=unit_normal)
        self.char_forward, self.char_backward = self._lstm_pair(config.char_dim, config.char_dim)
        self.layers = []  # (forward, backward) LSTMs of each BiLSTM layer
        input_dim = config.emb_dim + 2 * config.char_dim
        for _ in range(config.layers):
            self.layers.append(self._lstm_pair(input_dim, config.hidden_dim))
            input_dim = 2 * config.hidden_dim
        self.mlp = MLP(self.pc, input_dim, config.mlp_dim, len(tags))
        self.training = False
        self.rng = np.random.default_rng(seed)  # for word dropout

    def _lstm_pair(self, input_dim, hidden_dim):
        return (recurrent_builder("lstm", 1, input_dim, hidden_dim, self.pc),
                recurrent_builder("lstm", 1, input_dim, hidden_dim, self.pc))

    # ---- the encoder shared by loss and predict ---------------------------------------------
    def _encode(self, sentences, per_form=None):
        """BiLSTM states for every position of the padded batch: a list of T (2H,)xB vectors.

        The character BiLSTM reads each distinct form of the batch once.  In training, x_i has
        its own dropout (and word dropout) at each position, so the first layer computes
        W_x x_i + b for each position.  Without dropout x_i depends on the form alone, and so
        does W_x x_i + b: with `per_form` (the default when not training) it is computed once
        per distinct form of the batch and picked for each position.
        """
        per_form = not self.training if per_form is None else per_form
        lengths = [len(s) for s in sentences]
        # Padding: any real word (its states are never used).
        steps = [[s[t] if t < len(s) else s[-1] for s in sentences] for t in range(max(lengths))]
        forms = sorted({form for sentence in sentences for form in sentence}, key=len)
        position = {form: i for i, form in enumerate(forms)}
        picks = [[position[form] for form in at_t] for at_t in steps]  # form index per position
        char_vectors = self._char_encode(forms)  # one batch element per distinct form
        xs, projected = None, None
        if per_form:
            projected = self._first_projections_per_form(forms, char_vectors, picks)
        else:
            xs = self._inputs_per_position(steps, char_vectors, picks)
        for forward, backward in self.layers:
            xs = [self._dropout(h) for h in bilstm(forward, backward, xs, lengths, projected)]
            projected = None
        return xs

    def _inputs_per_position(self, steps, char_vectors, picks):
        """x_i = [E[w_i] ; c_i] at each step, batched over the sentences, with dropout."""
        dy = dynet()
        return [self._dropout(dy.concatenate([
                    dy.lookup_batch(self.E, [self._word_id(form) for form in at_t]),
                    dy.pick_batch_elems(char_vectors, forms_at_t)]))
                for at_t, forms_at_t in zip(steps, picks)]

    def _first_projections_per_form(self, forms, char_vectors, picks):
        """The first layer's W_x x + b (forward, backward) for each distinct form, then picked
        for each step: a pair of lists of (4H,)xB vectors, as layers.bilstm takes them."""
        dy = dynet()
        x = dy.concatenate([dy.lookup_batch(self.E, [self._word_id(f) for f in forms]),
                            char_vectors])
        by_form = [input_projection(lstm, x) for lstm in self.layers[0]]
        return tuple([dy.pick_batch_elems(p, forms_at_t) for forms_at_t in picks]
                     for p in by_form)

    def _char_encode(self, forms, groups=4):
        """[final forward state ; final backward state] over each form's characters, batched.

        `forms` come sorted by length and are encoded in a few groups of similar length, so a
        long URL does not make every short word run thirty steps of padding.
        """
        dy = dynet()
        sequences = [[self.chars.bos] + self.chars.encode(_clip(form)) + [self.chars.eos]
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
        embeddings = dy.lookup_batch(self.C, used)  # rows of C not used get no update
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
        return dy.concatenate([final_outputs(ahead, lengths), final_outputs(behind, lengths)])

    def _char_steps(self, projected, column, sequences):
        """Each step's W_x x + b for all sequences, picked by character; finished sequences
        read `<pad>`."""
        dy = dynet()
        pad = column[self.chars.pad]
        return [dy.pick_batch_elems(projected, [column[s[t]] if t < len(s) else pad
                                                for s in sequences])
                for t in range(max(len(s) for s in sequences))]

    def _word_id(self, form):
        key = self.word_key(form)
        word_id = self.words.id(key)
        alpha = self.config.word_dropout
        if self.training and alpha and word_id != self.words.unk:
            count = self.words.count(key)
            if self.rng.random() < alpha / (alpha + count):
                return self.words.unk
        return word_id

    def word_key(self, form):
        """The form under which a word's embedding is stored."""
        return form.lower() if self.config.lowercase else form

    def knows(self, form):
        """Whether the word has an embedding of its own (False: it is read as `<unk>`)."""
        return self.words.id(self.word_key(form)) >= len(SPECIALS)

    def _dropout(self, x):
        rate = self.config.dropout
        return dynet().dropout(x, rate) if self.training and rate else x

    def _logits(self, sentences, per_form=None):
        """Tag scores of all T*B positions at once (time folded into the batch)."""
        dy = dynet()
        states = dy.concatenate_to_batch(self._encode(sentences, per_form))
        return self.mlp(states, self.config.dropout if self.training else 0.0)

    # ---- training and prediction ----------------------------------------------------------
    def loss(self, batch):
        """Summed -log p(gold tag) over the real words of a TagBatch."""
        dy = dynet()
        nll = dy.pickneglogsoftmax_batch(self._logits(batch.sentences),
                                         batch.tags.reshape(-1).tolist())
        mask = dy.inputTensor(batch.mask.reshape(-1), batched=True)
        return dy.sum_batches(dy.cmult(nll, mask))

    def predict(self, forms):
        """The most likely tag of each word of one sentence (a list of forms)."""
        return self.predict_many([forms])[0]

    def predict_batch(self, sentences):
        """Tags for several (non-empty) sentences, in a fresh graph of their own; never a
        special token such as `<unk>`."""
        dy = dynet()
        with inference(self):
            dy.renew_cg()
            scores = self._logits(sentences).npvalue().reshape(len(self.tags), -1)
        scores[:len(SPECIALS)] = -np.inf
        best = scores.argmax(axis=0).reshape(-1, len(sentences))  # (T, B)
        return [self.tags.decode(best[:len(s), b]) for b, s in enumerate(sentences)]

    def predict_many(self, sentences, batch_size=128, max_words=1024):
        """Tags for any number of sentences, batched by length; returned in input order.

        A batch holds up to `batch_size` sentences of similar length and at most `max_words`
        positions with its padding, so a few long sentences are not padded with short ones.
        """
        order = sorted((i for i, s in enumerate(sentences) if s), key=lambda i: len(sentences[i]))
        tags = [[] for _ in sentences]  # an empty sentence gets no tags
        if not order:
            return tags
        batch = []
        for i in order + [None]:
            longest = len(sentences[i]) if i is not None else 0  # ascending: i is the longest
            if batch and (i is None or len(batch) == batch_size
                          or (len(batch) + 1) * longest > max_words):
                batch_tags = self.predict_batch([sentences[j] for j in batch])
                for j, predicted in zip(batch, batch_tags):
                    tags[j] = predicted
                batch = []
            if i is not None:
                batch.append(i)
        return tags

    # ---- saving ----------------------------------------------------------------------------
    def save(self, directory, extra=None):
        save_dir(directory, KIND, to_dict(self.config),
                 {"words": self.words, "chars": self.chars, "tags": self.tags}, self.pc, extra)

    @classmethod
    def load(cls, directory):
        meta, vocabs, params = load_dir(directory, KIND)
        model = cls(from_dict(TaggerConfig, meta["config"]), vocabs["words"], vocabs["chars"],
                    vocabs["tags"])
        populate(model.pc, params)
        return model

    @classmethod
    def from_training_data(cls, config, pairs, seed=1):
        """A new tagger with vocabularies built from (forms, tags) pairs."""
        key = str.lower if config.lowercase else str
        words = Vocab.build([[key(f) for f in forms] for forms, _ in pairs], config.min_count)
        chars = Vocab.build([_clip(form) for forms, _ in pairs for form in forms])
        tags = Vocab.build([tags for _, tags in pairs])
        return cls(config, words, chars, tags, seed=seed)


def _clip(form):
    half = MAX_WORD_CHARS // 2
    return form if len(form) <= MAX_WORD_CHARS else form[:half] + form[-half:]
