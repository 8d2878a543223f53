"""The tokenizer's task: paragraphs and their characters' labels read from a treebank's text,
the character vocabulary and multiword table, segments to train on, the dev metric (F1 of token
and sentence ends), training, and tokenizing raw text into sentences of tokens and words.

    train, dev, table = read_tokenizer_corpus("train.conllu", "dev.conllu", 0.1)
    model, state = train_tokenizer(train, dev, table, TokenizerConfig(), TrainConfig(), "tok")
    for text, tokens in tokenize(model, "Le chat dort. Il rêve."): ...
"""
import itertools

import numpy as np

from dynlp.backend import dynet
from dynlp.data.rawtext import (ENDS_MULTIWORD, ENDS_SENTENCE, INSIDE, Paragraph, multiword_table, paragraphs,
                                sentences_from_labels)
from dynlp.data.treebank import read_conllu, sentence_from_tokens
from dynlp.errors import DataError
from dynlp.models.layers import inference
from dynlp.models.tokenizer import CharTokenizer, SegmentBatch, char_vocab
from dynlp.store.checkpoint import make_output_dir
from dynlp.tasks.common import split_dev
from dynlp.training.loop import fit

LABEL_BATCH = 32  # windows per graph when tokenizing


def read_tokenizer_corpus(train_path, dev_path, dev_fraction):
    """Training and dev Paragraphs (data/rawtext.py) and the multiword table of the training
    file; a DataError when its sentences carry no `# text` to learn from."""
    sentences = list(read_conllu(train_path, ()))
    train, _ = paragraphs(sentences)
    if not train:
        raise DataError(f"{train_path}: no sentence has a '# text' that its tokens spell out: "
                        "nothing to learn a tokenizer from")
    table = multiword_table(sentences)
    if dev_path:
        return train, paragraphs(read_conllu(dev_path, ()))[0], table
    if len(train) == 1:  # one long document: hold out its tail
        text, labels = train[0].text, train[0].labels
        cut = round(len(text) * (1 - dev_fraction))
        cut = next((i + 1 for i in range(cut, len(text)) if labels[i] in ENDS_SENTENCE), cut)
        head, tail = _cut(train[0], cut)
        return [head], [tail], table
    train, dev = split_dev(train, dev_fraction, train_path)
    return train, dev, table


def _cut(paragraph, at):
    """The paragraph before character `at`, and after it (its leading whitespace dropped)."""
    text, labels = paragraph.text, paragraph.labels
    rest = len(text) - len(text[at:].lstrip())
    return Paragraph(text[:at], labels[:at]), Paragraph(text[rest:], labels[rest:])


def segment_batches(pars, window, batch_size, rng=None):
    """The paragraphs' texts as one stream (a space between paragraphs), cut into segments of
    `window` characters from a random offset (with `rng`), in shuffled batches."""
    text = " ".join(p.text for p in pars)
    labels = [label for p in pars for label in [INSIDE] + p.labels][1:]
    start = int(rng.integers(window)) if rng is not None and len(text) > 2 * window else 0
    starts = list(range(start, len(text) - window + 1, window)) or [0]
    if rng is not None:
        rng.shuffle(starts)
    batches = []
    for k in range(0, len(starts), batch_size):
        chunk = starts[k:k + batch_size]
        size = min(window, len(text))
        batches.append(SegmentBatch([text[s:s + size] for s in chunk],
                                    np.array([labels[s:s + size] for s in chunk]).T))
    return batches


def label_texts(model, texts):
    """The label of every character of each text, read in windows of `window` characters with
    `context` more on each side: memory is bounded by the window.  A graph reads windows of one
    length together; numpy (a frozen model) any, longest first (it runs each to its own end)."""
    window, context = model.config.window, model.config.context
    pieces = []  # (length, text index, keep from, keep to, read from)
    for index, text in enumerate(texts):
        for start in range(0, len(text), window):
            begin, end = max(0, start - context), min(len(text), start + window + context)
            pieces.append((end - begin, index, start, min(len(text), start + window), begin))
    labels = [np.zeros(len(text), dtype=np.int64) for text in texts]
    pieces.sort(reverse=True)
    groups = [pieces] if model.frozen else [list(g) for _, g in
                                            itertools.groupby(pieces, key=lambda p: p[0])]
    with inference(model):
        for group in groups:
            for k in range(0, len(group), LABEL_BATCH):
                _label_pieces(model, texts, group[k:k + LABEL_BATCH], labels)
    return labels


def _label_pieces(model, texts, pieces, labels):
    dynet().renew_cg()
    read = [texts[i][begin:begin + length] for length, i, _, _, begin in pieces]
    for (length, i, keep_from, keep_to, begin), predicted in zip(pieces, model.label_texts(read)):
        labels[i][keep_from:keep_to] = predicted[keep_from - begin:keep_to - begin]


def tokenize(model, text):
    """[(sentence text, [Token])] of one paragraph of raw text."""
    if not text.strip():
        return []
    return sentences_from_labels(text, label_texts(model, [text])[0], model.multiwords,
                                 rules=model.suffix_rules)


# Characters of paragraphs labelled together: more batch well, and memory stays bounded.
PARAGRAPH_CHARS = 1 << 16


def tokenized_sentences(model, paragraphs, first_number=1, one_sentence=False):
    """Treebank Sentences (words to tag, `# text`, multiword ranges, SpaceAfter) of paragraphs
    of raw text, numbered from `first_number`; each paragraph's first is marked `# newpar`.
    `one_sentence`: each paragraph is one sentence (`--input lines`)."""
    number = first_number
    for group in _groups(paragraphs, PARAGRAPH_CHARS):
        for text, labels in zip(group, label_texts(model, group)):
            found = sentences_from_labels(text, labels, model.multiwords, one_sentence,
                                          model.suffix_rules)
            for k, (sentence_text, tokens) in enumerate(found):
                yield sentence_from_tokens(tokens, number, sentence_text, new_paragraph=k == 0)
                number += 1


def _groups(paragraphs, chars):
    """The non-blank paragraphs in lists of about `chars` characters."""
    group, size = [], 0
    for text in paragraphs:
        if text.strip():
            group.append(text)
            size += len(text)
        if size >= chars:
            yield group
            group, size = [], 0
    if group:
        yield group


def end_scores(gold, predicted):
    """{"tokens": F1, "sentences": F1} of the predicted ends against the gold ones. A token ends
    where its label is not inside, and counts only where it is a multiword token on both sides
    or on neither, so that the best model on dev also expands `au` (à + le) where dev does; a
    sentence ends where its label says so."""
    scores = {}
    kinds = {"tokens": lambda label: None if label == INSIDE else label in ENDS_MULTIWORD,
             "sentences": lambda label: True if label in ENDS_SENTENCE else None}
    for name, kind in kinds.items():
        want, got = _ends(gold, kind), _ends(predicted, kind)
        hits = len(want & got)
        scores[name] = 2 * hits / max(len(want) + len(got), 1)
    return scores


def _ends(texts_labels, kind):
    """{(text, position, kind)} of the characters that end something: `kind` of their label,
    None for those that do not."""
    return {(i, t, kind(label)) for i, labels in enumerate(texts_labels)
            for t, label in enumerate(labels) if kind(label) is not None}


def tokenizer_dev_metrics(model, dev):
    """F1 of token ends and of sentence ends on dev paragraphs, and their mean, `dev_score`."""
    predicted = label_texts(model, [p.text for p in dev])
    scores = end_scores([p.labels for p in dev], [list(labels) for labels in predicted])
    return {"dev_tokens_f1": scores["tokens"], "dev_sentences_f1": scores["sentences"],
            "dev_score": (scores["tokens"] + scores["sentences"]) / 2}


def train_tokenizer(train, dev, multiwords, config, train_config, out_dir, progress=False,
                    seed=1):
    """Train a CharTokenizer on `train`/`dev` Paragraphs into `out_dir` (best: dev_score)."""
    make_output_dir(out_dir)
    model = CharTokenizer(config, char_vocab([p.text for p in train], config.min_count),
                          multiwords)
    state = fit(model, lambda rng: segment_batches(train, config.window, train_config.batch_size,
                                                   rng),
                dev, train_config, out_dir, evaluate=tokenizer_dev_metrics, monitor="dev_score",
                higher_is_better=True, progress=progress, seed=seed, unit="characters")
    return CharTokenizer.load(out_dir), state
