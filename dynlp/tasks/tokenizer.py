"""The tokenizer's task: paragraphs and their characters' labels read from a treebank's text,
the character vocabulary and multiword table, segments to train on, the dev metric (F1 of token
and sentence ends), training, and tokenizing raw text into sentences of tokens and words.

    train, dev, table = read_tokenizer_corpus("train.conllu", "dev.conllu", 0.1)
    model, state = train_tokenizer(train, dev, table, TokenizerConfig(), TrainConfig(), "tok")
    for text, tokens in tokenize(model, "Le chat dort. Il rêve."): ...
"""
import itertools
import logging

import numpy as np

from dynlp.backend import dynet
from dynlp.data.rawtext import (ENDS_MULTIWORD, ENDS_SENTENCE, INSIDE, Paragraph, Part,
                                multiword_table, paragraphs, sentence_spans, sentences_from_labels,
                                with_sentence_end, without_sentence_ends)
from dynlp.data.treebank import read_conllu, sentence_from_tokens
from dynlp.errors import DataError
from dynlp.models.layers import inference
from dynlp.models.tokenizer import CharTokenizer, SegmentBatch, char_vocab
from dynlp.store.checkpoint import make_output_dir
from dynlp.tasks.common import split_dev
from dynlp.training.loop import fit

log = logging.getLogger("dynlp")

# A treebank's `# text` has no line break: the tokenizer reads one as the space it stands for.
LINE_BREAKS_AS_SPACES = str.maketrans("\r\n", "  ")

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
    texts = [text.translate(LINE_BREAKS_AS_SPACES) for text in texts]  # as in `# text`
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


# Characters labelled together: whole paragraphs up to this many in one batch (more batch
# well); a paragraph longer than this is cut into sentences a part at a time, so that what is
# held is bounded by it (and data/text.PIECE_BYTES), not by the paragraph or the line.
PARAGRAPH_CHARS = 1 << 16


def tokenized_sentences(model, paragraphs, first_number=1, one_sentence=False):
    """Treebank Sentences (words to tag, `# text`, multiword ranges, SpaceAfter) of paragraphs
    of raw text, numbered from `first_number`; each paragraph's first is marked `# newpar`.
    `one_sentence`: each paragraph is one sentence (`--input lines`)."""
    parts = (Part(text, True) for text in paragraphs)
    return tokenized_parts(model, parts, first_number, one_sentence)


def tokenized_parts(model, parts, first_number=1, one_sentence=False):
    """`tokenized_sentences` of paragraphs given as `Part`s (data/rawtext.paragraph_parts), as
    a file is read: the sentences come as the text does, in bounded memory."""
    number = first_number
    for sentences, starts_paragraph in _cut_parts(model, parts, one_sentence):
        for k, (text, tokens) in enumerate(sentences):
            yield sentence_from_tokens(tokens, number, text, starts_paragraph and k == 0)
            number += 1


def _cut_parts(model, parts, one_sentence):
    """([(sentence text, [Token])], whether the first starts a paragraph) in the text's order:
    short paragraphs labelled together in batches of about PARAGRAPH_CHARS characters, a long
    one cut a part at a time (`_cut_head`).  Blank lines stay with the paragraph before them
    (its last token's `spaces_after`), those before the first with the first."""
    batch, size = [], 0  # [paragraph text, starts a paragraph], labelled together
    pending, fresh = "", True  # the paragraph's text not yet cut; whether none of it was
    for part in parts:
        pending += part.text
        while len(pending) >= PARAGRAPH_CHARS:
            yield from _cut_batch(model, batch, one_sentence)
            batch, size = [], 0
            sentences, pending = _cut_head(model, pending, one_sentence)
            yield sentences, fresh
            fresh = fresh and not sentences
        if part.ends_paragraph:
            if pending.strip() and size + len(pending) > PARAGRAPH_CHARS:
                yield from _cut_batch(model, batch, one_sentence)
                batch, size = [], 0
            if pending.strip() or batch:  # else blank lines before any text: kept for it
                _add_paragraph(batch, pending, fresh)
                size, pending = size + len(pending), ""
            fresh = True
    _add_paragraph(batch, pending, fresh)
    yield from _cut_batch(model, batch, one_sentence)


def _add_paragraph(batch, text, fresh):
    """`text` as the batch's next paragraph, or whitespace at the end of its last one."""
    if text.strip():
        batch.append([text, fresh])
    elif batch and len(batch[-1][0]) < 2 * PARAGRAPH_CHARS:  # a longer blank run is cut short
        batch[-1][0] += text


def _cut_batch(model, batch, one_sentence):
    labels = label_texts(model, [text for text, _ in batch])
    for (text, fresh), text_labels in zip(batch, labels):
        yield sentences_from_labels(text, text_labels, model.multiwords, one_sentence,
                                    model.suffix_rules), fresh


def _cut_head(model, text, one_sentence):
    """The sentences in the first PARAGRAPH_CHARS characters of a long paragraph's `text`, and
    the rest of it, to be read with what follows.  The last sentence there waits for the rest,
    and so does one that ends within the model's `context` of the end (the characters after it
    could change its labels); a sentence longer than that (no end, or `one_sentence`) is cut
    at its last token before the limit."""
    head = text[:PARAGRAPH_CHARS]
    labels = label_texts(model, [head])[0]
    if one_sentence:
        labels = without_sentence_ends(labels)
    limit = len(head) - model.config.context
    spans = sentence_spans(head, labels, model.multiwords, rules=model.suffix_rules)
    done = list(itertools.takewhile(lambda span: span[1] <= limit, spans[:-1]))
    if not done:
        cut = _last_token_end(head, labels, limit)
        if cut is None:  # only whitespace before the limit
            return [], text[limit:]
        log.warning("a sentence of more than %d characters was cut after %r", limit,
                    head[max(0, cut - 19):cut + 1])
        spans = sentence_spans(head, with_sentence_end(labels, cut), model.multiwords,
                               rules=model.suffix_rules)
        done = spans[:1]
    rest = done[-1][1] + len(done[-1][2][-1].spaces_after)  # after the whitespace that follows
    return [(head[begin:end], tokens) for begin, end, tokens in done], text[rest:]


def _last_token_end(text, labels, limit):
    """The position before `limit` where the last whole token ends (or, in a token longer than
    that, the last character before it); None if there is only whitespace."""
    before = range(limit - 1, -1, -1)
    ends = (p for p in before
            if not text[p].isspace() and (labels[p] != INSIDE or text[p + 1].isspace()))
    return next(ends, next((p for p in before if not text[p].isspace()), None))


def end_scores(gold, predicted):
    """{"tokens": F1, "sentences": F1, "whole_sentences": F1} of the predicted ends against
    the gold ones.  A token ends where its label is not inside, and counts only where it is a
    multiword token on both sides or on neither, so that the best model on dev also expands
    `au` (à + le) where dev does; a sentence ends where its label says so."""
    scores = {}
    kinds = {"tokens": lambda label: None if label == INSIDE else label in ENDS_MULTIWORD,
             "sentences": lambda label: True if label in ENDS_SENTENCE else None}
    for name, kind in kinds.items():
        scores[name] = _f1(_ends(gold, kind), _ends(predicted, kind))
    # As the CoNLL 2018 Sentences F1 counts: a sentence is right only if both its ends are.
    scores["whole_sentences"] = _f1(_sentence_spans(gold), _sentence_spans(predicted))
    return scores


def _f1(want, got):
    return 2 * len(want & got) / max(len(want) + len(got), 1)


def _sentence_spans(texts_labels):
    """{(text, first, last)}: each sentence of each text from the character after the previous
    sentence end, the text's last characters closing a sentence of their own as the output
    writer closes it."""
    spans = set()
    for i, labels in enumerate(texts_labels):
        first = 0
        for t, label in enumerate(labels):
            if label in ENDS_SENTENCE:
                spans.add((i, first, t))
                first = t + 1
        if first < len(labels):
            spans.add((i, first, len(labels) - 1))
    return spans


def _ends(texts_labels, kind):
    """{(text, position, kind)} of the characters that end something: `kind` of their label,
    None for those that do not."""
    return {(i, t, kind(label)) for i, labels in enumerate(texts_labels)
            for t, label in enumerate(labels) if kind(label) is not None}


def tokenizer_dev_metrics(model, dev):
    """F1 of token ends and of sentence ends on dev paragraphs, and their mean, `dev_score`;
    beside them (not scored on), F1 of whole sentences, both ends right."""
    predicted = label_texts(model, [p.text for p in dev])
    scores = end_scores([p.labels for p in dev], [list(labels) for labels in predicted])
    return {"dev_tokens_f1": scores["tokens"], "dev_sentences_f1": scores["sentences"],
            "dev_whole_sentences_f1": scores["whole_sentences"],
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
