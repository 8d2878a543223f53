"""Carrying a trained model on to new data (`--init-from`): a model built for vocabularies that
are the trained one's with the new data's tokens added after their own (`Vocab.extended`), then
filled with the trained one's weights.

A parameter whose shape no vocabulary sets (a recurrent layer, an MLP's hidden layer) is copied
whole; one with a row per vocabulary entry (embeddings, output rows) is copied row by row,
matched by what the row stands for, so that every token the model knew keeps what it learned.
The rows of tokens the new data adds start as a new model's would (random; biases 0).

    RNNLanguageModel:  E, W, b by word; the class softmax's class layer (U, d) kept if the
                       classes, cut anew from the summed counts, put every old word where it
                       was, else started afresh (its rows would score other words)
    BiLSTMTagger:      E by word, C by character, each head's W2, b2 by tag (tagger/growth.py)
"""
from dynlp.models.lm import RNNLanguageModel


def copy_same_shapes(trained, grown):
    """Every parameter of `grown` (not lookup parameters) the shape of its counterpart in
    `trained` (both built in the same order) set to its values."""
    for old, new in zip(trained.pc.parameters_list(), grown.pc.parameters_list()):
        if old.shape() == new.shape():
            new.set_value(old.as_array())


def copy_rows(old, new, old_keys, new_keys):
    """new[j] = old[i] wherever row j of parameter `new` and row i of `old` stand for the same
    key (`*_keys`: what each row stands for, in order)."""
    values, source = new.as_array(), old.as_array()
    index = {key: i for i, key in enumerate(old_keys)}
    for j, key in enumerate(new_keys):
        if key in index:
            values[j] = source[index[key]]
    if hasattr(new, "init_from_array"):  # lookup parameters
        new.init_from_array(values)
    else:
        new.set_value(values)


def grown_language_model(trained, sentences):
    """An RNNLanguageModel with `trained`'s config and weights, its vocabulary grown by the
    tokens of `sentences` (token lists) seen `min_count` times (module docstring)."""
    config = trained.config
    vocab = trained.vocab.extended(sentences, config.min_count, config.max_vocab)
    grown = RNNLanguageModel(config, vocab)
    fresh_classes = _class_layer(grown)
    copy_same_shapes(trained, grown)
    if fresh_classes and not _same_classes(trained, grown):
        for parameter, values in zip((grown.softmax.U, grown.softmax.d), fresh_classes):
            parameter.set_value(values)
    old_words, new_words = trained.vocab.itos, vocab.itos
    copy_rows(trained.E, grown.E, old_words, new_words)
    if trained.W is not None:
        copy_rows(trained.W, grown.W, old_words, new_words)
    copy_rows(trained.b, grown.b, old_words, new_words)
    return grown


def _class_layer(model):
    """The class softmax's U and d as numpy arrays (None: a full softmax)."""
    if model.softmax is None:
        return None
    return model.softmax.U.as_array(), model.softmax.d.as_array()


def _same_classes(trained, grown):
    """Whether every word `trained` knew is in the same class of `grown`."""
    old = trained.softmax.class_of
    return bool((grown.softmax.class_of[:len(old)] == old).all())
