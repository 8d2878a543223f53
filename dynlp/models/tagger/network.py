"""BiLSTMTagger: a tagger in the style of the DyNet tagger lecture, for one or several CoNLL-U
columns at once (UPOS, XPOS, FEATS, LEMMA): one shared encoder, one head per column.

    h_1..h_n = encoder(w_1..w_n)          word and character views into BiLSTM states
                                          (encoder.py: the equations of the encoder)
    p(tag of column k at i) = head_k(h_i)  an MLP and a softmax per column
                                          (heads.py: the equations of the heads)

LEMMA is a column like the others, whose labels are edit scripts (lemmas.py): the head learns
the script that turns each form into its gold lemma, and a predicted script is applied to the
form.  `labels()` and `outputs()` are the two conversions; every other column is its own label.

The loss is the sum over heads of -sum_i log p(gold tag_i), over the words i whose gold tag in
that column is not `_` (a column missing on a few words still trains on the rest).  `loss()`
and `predict_batch()` share the encoder; the heads read the states of all positions of a batch
at once.

Adversarial training (`adversarial` = epsilon > 0; Yasunaga et al. 2018) adds, for each batch,
the loss of the same sentences with their inputs x_i moved where the loss grows fastest:

    g = dL/dx_1..n                         the gradient of the loss just computed, per sentence
    r = epsilon * sqrt(n * D) * g / ||g||   n words of D inputs: epsilon is per input, as dropout
    loss_adv = L(x_1 + r_1 .. x_n + r_n)    r a constant; gradients reach E and the char BiLSTM

The training loop calls `adversarial_loss()` after the backward pass of `loss()`, as it needs g.

An ensemble (`ensemble` = K > 1 networks, each its own encoder and heads, started from its own
random weights and trained on the same batches with its own dropout) tags with the mean of the
networks' probabilities; the loss is the sum of the networks' losses, so each learns as alone:

    p(tag of column k at i) = (1/K) sum_m head_k^m(encoder^m(w_1..w_n)_i)

Distillation (`distill`; Hinton et al. 2015, Kuncoro et al. 2016 for an ensemble of parsers):
a trained ensemble is the teacher of one new network, which learns on the training sentences
to give, for every column and word, the ensemble's mean distribution p_T (heads.soft_loss):

    loss = -sum_columns sum_i sum_k p_T(k at i) log p(k at i)

so it tags at one network's cost.  `BiLSTMTagger.teacher` set: `loss()` is that loss.

Tagging needs no gradients: on the CPU, predict_many (from NUMPY_MIN_WORDS words, or always
once `freeze()`d) runs the same forward pass in numpy on a copy of the weights (inference.py),
1.3 to 2 times as fast as the graph on the DyNet wheel; `TaggerNetwork.graph_probabilities` is
the graph version, its reference, and what a GPU runs.
"""
import contextlib
from dataclasses import dataclass, replace

import numpy as np

from dynlp.backend import dynet
from dynlp.config import from_dict, to_dict
from dynlp.data.batches import bucketed
from dynlp.data.treebank import has_value
from dynlp.data.vocab import SPECIALS, Vocab
from dynlp.errors import ConfigError, ModelDirError
from dynlp.models import registry
from dynlp.models.layers import batched_constant
from dynlp.models.tagger.config import TaggerConfig
from dynlp.models.tagger.encoder import WordEncoder, clip
from dynlp.models.tagger.heads import make_head
from dynlp.models.tagger.inference import NumpyNetwork, numpy_tagging, one_blas_thread
from dynlp.models.tagger.lemmas import lemmas_of, scripts_of
from dynlp.store.checkpoint import load as load_dir
from dynlp.store.checkpoint import populate
from dynlp.store.checkpoint import save as save_dir

KIND = "tagger"
FAMILY = "bilstm-tagger"


@dataclass
class TagBatch:
    sentences: list  # B lists of word forms
    tags: dict  # {column: time-major list of T*B gold tags (the last word's for padding)}
    mask: np.ndarray  # (T, B) 1.0 for real words

    @property
    def num_sequences(self):
        return len(self.sentences)

    @property
    def num_tokens(self):
        return int(self.mask.sum())

    def tag_mask(self, column):
        """(T, B) 1.0 at the real words whose gold `column` has a value: a gold `_` (UPOS or XPOS
        missing on some words) adds nothing to that column's loss."""
        known = [has_value(column, tag) for tag in self.tags[column]]  # time-major, as the mask
        return self.mask * np.array(known, dtype=np.float32).reshape(self.mask.shape)


def labels(column, forms, values):
    """What a head learns for one sentence's gold `values` of `column`: the values themselves,
    or for LEMMA the edit script of each form to its lemma (`_` stays `_`: nothing to learn)."""
    return scripts_of(forms, values) if column == "lemma" else values


def outputs(column, forms, predicted):
    """The cells a head's predicted labels write for one sentence: for LEMMA, each script applied
    to its form; any other column's labels as they are."""
    return lemmas_of(forms, predicted) if column == "lemma" else predicted


# A lemma's probability is summed over the scripts that give it, among the likeliest this many
# (whatever k asks: so that it does not change with --n-best); the rest hold little mass.
LEMMA_SCRIPTS = 32


def ranked_outputs(column, forms, ranked, k):
    """The k best outputs of each word of one sentence from a head's ranked labels: as they
    are, or for LEMMA each script applied to its form, the probabilities of scripts that give
    the same lemma summed (the first stays first: the lemma predict_batch chooses, from its
    likeliest script, which another lemma's scripts together may outweigh)."""
    if column != "lemma":
        return ranked
    best = []
    for form, labels_ in zip(forms, ranked):
        merged = {}
        for lemma, (_, p) in zip(lemmas_of([form] * len(labels_), [s for s, _ in labels_]),
                                 labels_):
            merged[lemma] = merged.get(lemma, 0.0) + p
        first, *rest = merged.items()
        best.append([first] + sorted(rest, key=lambda item: -item[1])[:k - 1])
    return best


def tag_batch(sentences, tags):
    """Pad word-form lists and their tags ({column: tags} per sentence) into a TagBatch, whose
    `tags` are the heads' labels (`labels`)."""
    length = max(len(s) for s in sentences)
    mask = np.zeros((length, len(sentences)), dtype=np.float32)
    for b, forms in enumerate(sentences):
        mask[:len(forms), b] = 1.0
    columns = tags[0].keys() if tags else ()
    tags = [{column: labels(column, forms, t[column]) for column in columns}
            for forms, t in zip(sentences, tags)]
    time_major = {column: [t[column][min(i, len(t[column]) - 1)]
                           for i in range(length) for t in tags]
                  for column in columns}
    return TagBatch(list(sentences), time_major, mask)


def tag_batches(pairs, batch_size, rng=None, max_words=0):
    """Length-bucketed batches from (forms, {column: tags}) pairs, of at most `max_words`
    padded words if given."""
    return [tag_batch([forms for forms, _ in chunk], [tags for _, tags in chunk])
            for chunk in bucketed(pairs, batch_size, lambda pair: len(pair[0]), rng, max_words)]


class TaggerNetwork:
    """One encoder and a head per column: a tagger on its own, or one member of an ensemble.
    Its parameters are created in `pc` in this order (a saved model is filled in that order)."""

    def __init__(self, config, words, chars, tag_vocabs, pc, seed):
        self.config = config
        self.encoder = WordEncoder(config, words, chars, pc, seed)
        self.heads = [make_head(pc, column, vocab, self.encoder.output_dim, config.mlp_dim,
                                config.feats)
                      for column, vocab in tag_vocabs.items()]

    def states(self, sentences, training, per_form=None):
        """The encoder's states of all T*B positions as one batch (time folded in)."""
        return dynet().concatenate_to_batch(self.encoder.encode(sentences, training, per_form))

    def loss(self, batch, training):
        """This network's summed -log p(gold tag) over a TagBatch's real words and its heads."""
        return self.heads_loss(self.states(batch.sentences, training), batch, training)

    def adversarial_loss(self, batch, training):
        """The loss of `batch` with its inputs moved along the gradient (module docstring)."""
        dy = dynet()
        xs, lengths = self.encoder.inputs, [len(s) for s in batch.sentences]
        gradients = np.stack([x.gradient().reshape(x.dim()[0][0], -1) for x in xs])
        moves = adversarial_moves(gradients, lengths, self.config.adversarial)
        moved = [x + batched_constant(r) for x, r in zip(xs, moves)]
        states = self.encoder.contextualize(moved, lengths, training)
        return self.heads_loss(dy.concatenate_to_batch(states), batch, training)

    def heads_loss(self, states, batch, training):
        """The heads' losses summed, from the encoder states `states` of the batch."""
        dy = dynet()
        dropout = self.config.dropout if training else 0.0
        smoothing = self.config.label_smoothing if training else 0.0
        # A column the batch has no tags for (a tagger carried on to data without it) keeps
        # its head as it is: no loss, no gradient.
        return dy.esum([head.loss(states, batch.tags[head.column],
                                  batch.tag_mask(head.column).reshape(-1), dropout, smoothing)
                        for head in self.heads if head.column in batch.tags])

    def distillation_loss(self, batch, targets, training):
        """The heads' losses against the teacher's distributions `targets` ({column: (choices,
        T*B positions)}) at the real words of the batch."""
        dy = dynet()
        states = self.states(batch.sentences, training)
        dropout = self.config.dropout if training else 0.0
        mask = batch.mask.reshape(-1)
        return dy.esum([head.soft_loss(states, targets[head.column], mask, dropout)
                        for head in self.heads])

    def probabilities(self, sentences, weights=None):
        """{column: (choices, T*B positions) probabilities} for a batch: with `weights` (this
        network's inference.NumpyNetwork) computed in numpy, else in a fresh graph."""
        return {head.column: head.distribution(scores)
                for head, scores in zip(self.heads, self.scores(sentences, weights))}

    def scores(self, sentences, weights=None):
        """[each head's scores, (choices, T*B positions)], before the softmax."""
        if weights is None:
            return self.graph_scores(sentences)
        return weights.scores(sentences)

    def graph_scores(self, sentences):
        """`scores` in a fresh DyNet graph: the reference for the numpy version, and what runs
        on a GPU."""
        dynet().renew_cg()
        states = self.states(sentences, training=False)
        return [head.scores(states) for head in self.heads]

    def graph_probabilities(self, sentences):
        """`probabilities` in a fresh DyNet graph."""
        return {head.column: head.distribution(scores)
                for head, scores in zip(self.heads, self.graph_scores(sentences))}


# Reading a tagger's weights into numpy (inference.py) takes about 0.1 s (DyNet copies some 30
# million floats a second), what the graph takes to tag a few hundred words.  So predict_many
# tags in numpy from this many words on, or always once the model is frozen().
NUMPY_MIN_WORDS = 1000


@registry.register
class BiLSTMTagger:
    KIND, FAMILY = KIND, FAMILY

    def __init__(self, config, words, chars, tag_vocabs, pc=None, seed=1):
        """`tag_vocabs`: {column: Vocab of its tags}, one head per column, in this order;
        `config.ensemble` networks, each with an encoder and those heads."""
        config.check()
        if not config.emb_dim:
            raise ConfigError(f"--embeddings {config.embeddings}: the vectors set the size of "
                              "E; read them first (tasks.tagger.train_tagger does)")
        self.config, self.words, self.chars = config, words, chars
        self.pc = pc or dynet().ParameterCollection()
        self.networks = [TaggerNetwork(config, words, chars, tag_vocabs, self.pc,
                                       seed if k == 0 else [seed, k])
                         for k in range(config.ensemble)]
        self.training = False
        self.teacher = None  # a trained BiLSTMTagger to learn from (distillation), or None
        self._frozen = None  # the numpy weights of a `frozen()` block

    @property
    def encoder(self):
        """The (first) network's encoder: all share the vocabularies it reads."""
        return self.networks[0].encoder

    @property
    def heads(self):
        """The (first) network's heads: all predict the same columns over the same tags."""
        return self.networks[0].heads

    @property
    def columns(self):
        return [head.column for head in self.heads]

    @property
    def rng(self):
        """The random draws of word dropout (the training loop reseeds them in forks)."""
        return self.encoder.rng

    @rng.setter
    def rng(self, value):
        for k, network in enumerate(self.networks):  # each network its own draws
            network.encoder.rng = value if k == 0 else np.random.default_rng(
                value.integers(2**62))

    @property
    def temperatures(self):
        """{column: T}: each head's scores are divided by T before its softmax at tagging
        (heads.py; 1: as trained), fitted on dev by tasks/calibration.py and saved."""
        return {head.column: head.temperature for head in self.heads}

    @temperatures.setter
    def temperatures(self, values):
        for network in self.networks:
            for head in network.heads:
                head.temperature = float(values.get(head.column, 1.0))

    def knows(self, form):
        """Whether the word has an embedding of its own (False: it is read as `<unk>`)."""
        return self.encoder.knows(form)

    def states(self, sentences, per_form=None):
        """The (first) network's encoder states of all T*B positions as one batch."""
        return self.networks[0].states(sentences, self.training, per_form)

    # ---- training and prediction ----------------------------------------------------------
    def loss(self, batch):
        """Summed -log p(gold tag) over the real words of a TagBatch, the heads and the
        networks (in training, label-smoothed if the config says so: heads.smoothed_nll); with
        a `teacher`, the cross-entropy against its mean distributions instead."""
        if self.teacher is not None:
            # First: in numpy (a frozen teacher) or in graphs of its own, before the student's.
            targets = self.teacher.mean_probabilities(batch.sentences)
            return dynet().esum([network.distillation_loss(batch, targets, self.training)
                                 for network in self.networks])
        return dynet().esum([network.loss(batch, self.training) for network in self.networks])

    # ---- what the training loop asks of a model beyond `loss` (training/protocol.py) -----------
    @property
    def work_per_batch(self):
        """Each network of the ensemble makes a graph of the batch."""
        return len(self.networks)

    def extra_losses(self, batch):
        """With adversarial training, the loss of the batch's inputs moved along the gradient
        of `loss(batch)`, computed just before (the module docstring)."""
        return [self.adversarial_loss(batch)] if self.config.adversarial else []

    def reseed(self, key):
        """New word-dropout draws (for a forked copy of the training process)."""
        self.rng = np.random.default_rng(key)

    def adversarial_loss(self, batch):
        """The loss of `batch` with its inputs moved along the gradient (module docstring):
        call it after `loss(batch)` and the backward pass of that loss, in the same graph."""
        return dynet().esum([network.adversarial_loss(batch, self.training)
                             for network in self.networks])

    def predict(self, forms):
        """{column: tags} for one sentence (a list of forms)."""
        return self.predict_many([forms])[0]

    def mean_probabilities(self, sentences):
        """{column: (choices, T*B positions)}: the networks' mean probabilities for a batch of
        (non-empty) sentences: in numpy inside a `frozen()` block on the CPU (inference.py),
        else each network's in a fresh graph."""
        mean = {}
        for scores in self.network_scores(sentences):
            for head, s in zip(self.heads, scores):
                p = head.distribution(s)
                mean[head.column] = mean[head.column] + p if head.column in mean else p
        return {column: p / len(self.networks) for column, p in mean.items()}

    def network_scores(self, sentences):
        """Each network's [scores of each head, (choices, T*B positions)] for a batch of
        (non-empty) sentences, before the softmax: in numpy inside a `frozen()` block on the
        CPU, else in fresh graphs."""
        weights = self._frozen or [None] * len(self.networks)
        return [network.scores(sentences, own) for network, own in zip(self.networks, weights)]

    @contextlib.contextmanager
    def frozen(self, copy=True):
        """A block in which the weights do not change, so that tagging runs in numpy on their
        copy, read on entry unless `copy` is False or freeze() has read it (on a GPU: in the
        graph as ever), with numpy's BLAS on one thread: predict_many, and a teacher while its
        student trains."""
        was = self._frozen
        if was is None and copy:
            self.freeze()
        try:
            with one_blas_thread():
                yield self
        finally:
            self._frozen = was

    def freeze(self):
        """Read the weights into numpy for tagging (on the CPU), for good unless a `frozen()`
        block did it: for a model that only tags from now on (`dynlp tag`'s and serve's
        workers)."""
        if numpy_tagging():
            self._frozen = [NumpyNetwork(network) for network in self.networks]

    def predict_batch(self, sentences):
        """{column: tags} for several (non-empty) sentences: the tags likeliest under the
        networks' mean probability (one network: its own)."""
        mean = self.mean_probabilities(sentences)
        by_column = {head.column: head.decode(mean[head.column]) for head in self.heads}
        width = len(sentences)  # position t of sentence b is element t * width + b
        return [{column: outputs(column, forms, tags[b::width][:len(forms)])
                 for column, tags in by_column.items()}
                for b, forms in enumerate(sentences)]

    def ranked_batch(self, sentences, k):
        """For several (non-empty) sentences, {column: [the k likeliest outputs of each word,
        as (output, probability), likeliest first]}: the first is what predict_batch chooses,
        the probabilities the networks' mean (heads.ranked; for LEMMA, `ranked_outputs`)."""
        mean = self.mean_probabilities(sentences)
        width = len(sentences)  # position t of sentence b is column t * width + b
        return [{head.column: ranked_outputs(head.column, forms, head.ranked(
                    mean[head.column][:, np.arange(len(forms)) * width + b],
                    max(k, LEMMA_SCRIPTS) if head.column == "lemma" else k), k)
                 for head in self.heads}
                for b, forms in enumerate(sentences)]

    def predict_many(self, sentences, batch_size=128, max_words=1024):
        """{column: tags} for any number of sentences, batched by length, in input order.

        A batch holds up to `batch_size` sentences of similar length and at most `max_words`
        positions with its padding, so a few long sentences are not padded with short ones.
        """
        return self._in_batches(sentences, self.predict_batch, batch_size, max_words)

    def predict_ranked(self, sentences, k=1, batch_size=128, max_words=1024):
        """`ranked_batch` for any number of sentences, as predict_many batches them: for each,
        {column: [[(output, probability) of the k likeliest] for each word]}."""
        return self._in_batches(sentences, lambda batch: self.ranked_batch(batch, k),
                                batch_size, max_words)

    def _in_batches(self, sentences, predict, batch_size, max_words):
        """predict(batch) of length-bucketed batches of the non-empty `sentences`, a result per
        sentence in input order ({column: []} for an empty one)."""
        if isinstance(sentences, str) or any(isinstance(s, str) for s in sentences):
            raise ConfigError("the tagger takes sentences as lists of words, not strings (a "
                              "string would be read as its characters); for raw text use "
                              "dynlp.tasks.pipeline.tag_text, or dynlp tag --input text")
        results = [{column: [] for column in self.columns} for _ in sentences]  # empty: none
        words = [i for i, sentence in enumerate(sentences) if sentence]
        with self.frozen(copy=sum(len(sentences[i]) for i in words) >= NUMPY_MIN_WORDS):
            for batch in bucketed(words, batch_size, lambda i: len(sentences[i]),
                                  max_words=max_words):
                for i, result in zip(batch, predict([sentences[i] for i in batch])):
                    results[i] = result
        return results

    # ---- saving ----------------------------------------------------------------------------
    def save(self, directory, extra=None):
        vocabs = {"words": self.words, "chars": self.chars,
                  **{head.column: head.vocab for head in self.heads}}
        extra = {**(extra or {}), "temperatures": self.temperatures}
        save_dir(directory, KIND, to_dict(self.config), vocabs, self.pc, extra, family=FAMILY)

    @classmethod
    def load(cls, directory):
        meta, vocabs, params = load_dir(directory, KIND)
        settings, vocabs = upgrade(meta, vocabs)
        config = from_dict(TaggerConfig, settings)
        model = cls(config, vocabs["words"], vocabs["chars"],
                    {column: vocabs[column] for column in config.column_list()})
        populate(model.pc, params)
        model.temperatures = _checked_temperatures(meta.get("temperatures", {}), directory)
        return model

    @classmethod
    def from_training_data(cls, config, pairs, seed=1, vectors=None):
        """A new tagger with vocabularies built from (forms, {column: tags}) pairs; one head for
        each of `config.columns` (if empty: for each column of the pairs).

        `vectors` (data.embeddings.Vectors, read for `config.embeddings`): their words join the
        word vocabulary after the training words, and start their rows of E in every network.
        """
        if not config.column_list():
            config = replace(config, columns=",".join(pairs[0][1]) if pairs else "")
        words = Vocab.build([[config.word_key(f) for f in forms] for forms, _ in pairs],
                            config.min_count)
        if vectors is not None:
            added = [word for word in vectors.words if word not in words]
            words = Vocab(words.itos[len(SPECIALS):] + added, words.counts)  # added: no count
            config = replace(config, emb_dim=config.emb_dim or vectors.dim,
                             embeddings_count=len(vectors.words))
        chars = Vocab.build([clip(form) for forms, _ in pairs for form in forms])
        tag_vocabs = {column: Vocab.build([[t for t in labels(column, forms, tags[column])
                                            if has_value(column, t)]  # `_`: never predicted
                                           for forms, tags in pairs])
                      for column in config.column_list()}
        model = cls(config, words, chars, tag_vocabs, seed=seed)
        if vectors is not None:
            for network in model.networks:
                network.encoder.start_embeddings(vectors)
        return model


def adversarial_moves(gradients, lengths, epsilon):
    """r = epsilon * sqrt(n * D) * g / ||g|| for each sentence of a batch (Yasunaga et al. 2018).

    `gradients`: (T, D, B), dL/dx at each step of each sentence, zero past a sentence's end
    (its padding reaches no loss); sentence b has n = lengths[b] words.  The norm is taken
    over the whole sentence, so the move goes to the words and inputs the loss is most
    sensitive to, with the size of epsilon per input (an RMS of epsilon over its n*D inputs).
    """
    _, dim, _ = gradients.shape
    norms = np.sqrt((gradients ** 2).sum(axis=(0, 1)))  # (B,)
    scale = epsilon * np.sqrt(np.asarray(lengths) * dim) / np.maximum(norms, 1e-12)
    return gradients * scale


def _checked_temperatures(values, directory):
    """A saved model's {column: T} (none saved: 1), each a positive number."""
    if not isinstance(values, dict) or not all(
            isinstance(t, (int, float)) and not isinstance(t, bool) and 0 < t < float("inf")
            for t in values.values()):
        raise ModelDirError(f"{directory}: config.json's temperatures must be positive "
                            "numbers, one per column")
    return values


def upgrade(meta, vocabs):
    """The config and vocabularies of a saved tagger in today's form.

    Format 1 (before several columns) saved one `column` and its tag vocabulary as "tags"; its
    parameters are those of a one-head model of today, in the same order. A config saved before
    `label_smoothing` existed keeps the objective it was trained with (none) if training resumes,
    and one saved before `ensemble` has one network.
    """
    settings = dict(meta["config"])
    settings.setdefault("label_smoothing", 0.0)  # saved before the option: trained without it
    settings.setdefault("ensemble", 1)  # saved before ensembles: one network
    if meta["format_version"] < 2 and "column" in settings:
        column = settings.pop("column")
        settings["columns"] = column
        vocabs = dict(vocabs)
        vocabs[column] = vocabs.pop("tags")
    return settings, vocabs
