"""Carrying a trained tagger on to new data (`train-tagger --init-from`).

The new tagger has the trained one's config (sizes, columns) and vocabularies, with the words,
characters and tags (lemma scripts too) of the new data that they lack added after their own;
its weights are the trained one's, row for row, so that every word, character and tag it knew
keeps what it learned.  Only the rows of what the new data adds (in E, C and each head's output
layer W2, b2) start as a new tagger's would: random, biases 0.  A column the new data leaves
blank keeps its head: its words add nothing to that column's loss (`TagBatch.tag_mask`).
"""
from dataclasses import replace

from dynlp.data.treebank import has_value
from dynlp.models.growth import copy_rows, copy_same_shapes
from dynlp.models.tagger.encoder import clip
from dynlp.models.tagger.network import BiLSTMTagger, labels


def grown_tagger(trained, pairs, seed=1):
    """A BiLSTMTagger with `trained`'s weights and vocabularies grown by the new data's
    (forms, {column: tags}) `pairs` (module docstring); its temperatures are 1 (the carried-on
    model is fitted anew on its own dev)."""
    config = replace(trained.config, distill=False)  # a distilled student goes on alone
    words = trained.words.extended([[config.word_key(f) for f in forms] for forms, _ in pairs],
                                   config.min_count)
    chars = trained.chars.extended([clip(form) for forms, _ in pairs for form in forms])
    tag_vocabs = {head.column: head.vocab.extended(
        [[t for t in labels(head.column, forms, tags[head.column]) if has_value(head.column, t)]
         for forms, tags in pairs if head.column in tags])
        for head in trained.heads}
    grown = BiLSTMTagger(config, words, chars, tag_vocabs, seed=seed)
    copy_weights(trained, grown)
    return grown


def copy_weights(trained, grown):
    """Every weight of `trained` into `grown`: whole where the shapes agree, and row by row,
    matched by what the row stands for, in E, C and each head's W2 and b2."""
    copy_same_shapes(trained, grown)
    for old, new in zip(trained.networks, grown.networks):
        copy_rows(old.encoder.E, new.encoder.E, trained.words.itos, grown.words.itos)
        copy_rows(old.encoder.C, new.encoder.C, trained.chars.itos, grown.chars.itos)
        for old_head, new_head in zip(old.heads, new.heads):
            for name in ("W2", "b2"):
                copy_rows(getattr(old_head.mlp, name), getattr(new_head.mlp, name),
                          old_head.row_keys(), new_head.row_keys())
