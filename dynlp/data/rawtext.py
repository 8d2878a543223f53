"""Raw text and a treebank's tokens, both ways: what a tokenizer learns from, and what it writes.

A UD treebank holds the text of each sentence (`# text`), its tokens and whether a space follows
each (`SpaceAfter=No` in MISC), and where documents and paragraphs begin (`# newdoc`,
`# newpar`).  The text of a paragraph is taken as its sentences' texts joined by a space (UD
writes none after a sentence whose last token has `SpaceAfter=No`, rare in these treebanks:
that space is one more character to learn as inside, and the scorer drops whitespace).  Each
character of that text gets a label:

    INSIDE          any other character (whitespace included)
    TOKEN_END       the last character of a token
    SENTENCE_END    the last character of a sentence's last token
    MULTIWORD_END   the last character of a multiword token (`1-2 du` = de + le)
    MULTIWORD_SENTENCE_END   both

so a character-level tagger can learn tokens, sentences and multiword tokens from the treebank
alone, with no rule of any language (Stanza's tokenizer labels characters the same way).  Going
back, `sentences_from_labels` cuts a text by such labels, keeping every character: a token never
contains whitespace, and each sentence's `# text` is its characters as they were.
"""
import collections
import re
from dataclasses import dataclass
from typing import NamedTuple

from conllu.parser import parse_comment_line

from dynlp.data.treebank import Token

INSIDE, TOKEN_END, SENTENCE_END, MULTIWORD_END, MULTIWORD_SENTENCE_END = range(5)
LABELS = ("inside", "token-end", "sentence-end", "multiword-end", "multiword-sentence-end")
ENDS_SENTENCE = (SENTENCE_END, MULTIWORD_SENTENCE_END)
ENDS_MULTIWORD = (MULTIWORD_END, MULTIWORD_SENTENCE_END)
_RANGE = re.compile(r"([1-9][0-9]*)-([1-9][0-9]*)")


@dataclass
class Paragraph:
    """A paragraph's text and one label per character (a treebank's, or a tokenizer's)."""

    text: str
    labels: list


def sentence_tokens(sentence):
    """(`# text`, [Token]) of a treebank Sentence (data/treebank.py), its multiword tokens as
    one Token each; `# text` is None when the sentence has none; `newpar` says whether the
    sentence begins a document or paragraph."""
    text, new_paragraph, tokens, words_left = None, False, [], 0
    for line in sentence.lines:
        if line.startswith("#"):
            for key, value in parse_comment_line(line):
                text = value if key == "text" else text
                new_paragraph |= key.split(" ")[0] in ("newdoc", "newpar")
            continue
        cells = line.split("\t")
        span = _RANGE.fullmatch(cells[0])
        if span:
            words_left = int(span.group(2)) - int(span.group(1)) + 1
            tokens.append(Token(cells[1], _space_after(cells[9]), []))
        elif "." not in cells[0] and words_left:
            tokens[-1].words.append(cells[1])
            words_left -= 1
        elif "." not in cells[0]:
            tokens.append(Token(cells[1], _space_after(cells[9]), [cells[1]]))
    return text, new_paragraph, tokens


def _space_after(misc):
    return "SpaceAfter=No" not in misc.split("|")


def paragraphs(sentences):
    """The treebank's paragraphs with their characters' labels; sentences whose tokens are not
    their `# text` (or have none) are left out and counted: returns (paragraphs, left out)."""
    found, left_out = [], 0
    for group in _paragraph_groups(sentences):
        labelled = [(text, _labels(text, tokens) if text else None) for text, tokens in group]
        left_out += sum(labels is None for _, labels in labelled)
        kept = [(text, labels) for text, labels in labelled if labels is not None]
        if kept:
            found.append(Paragraph(" ".join(text for text, _ in kept),
                                   [label for k, (_, labels) in enumerate(kept)
                                    for label in [INSIDE] * (k > 0) + labels]))
    return found, left_out


def _paragraph_groups(sentences):
    """[(`# text` or None, [Token])] of each paragraph (or document) of a treebank."""
    groups = []
    for sentence in sentences:
        text, new_paragraph, tokens = sentence_tokens(sentence)
        if new_paragraph or not groups:
            groups.append([])
        groups[-1].append((text, tokens))
    return groups


class Part(NamedTuple):
    """Some of a paragraph's text; `ends_paragraph`: its last part."""

    text: str
    ends_paragraph: bool


def paragraph_parts(pieces, one_line_each=False):
    """`Part`s of the paragraphs of a file read in `Piece`s (data/text.read_pieces), as
    paragraphs (a blank line ends one), every character kept:
    line breaks too, which the tokenizer reads as spaces.  `one_line_each`: every line is a
    paragraph of its own."""
    blank = True  # no text on the current line so far
    for piece in pieces:
        blank = blank and not piece.text.strip()
        yield Part(piece.text + piece.ending, piece.line_ends and (one_line_each or blank))
        blank = blank or piece.line_ends


def paragraph_texts(sentences):
    """The text of each paragraph (or document) of a treebank, as `paragraphs` joins it; a
    sentence without `# text` reads as its tokens, spaced as SpaceAfter says."""
    return [" ".join(text if text is not None else _spelled(tokens) for text, tokens in group)
            for group in _paragraph_groups(sentences)]


def _spelled(tokens):
    return "".join(t.form + (" " if t.space_after else "") for t in tokens).strip()


def _labels(text, tokens):
    """The labels of `text`'s characters, or None where the tokens are not its characters."""
    labels, position = [INSIDE] * len(text), 0
    for number, token in enumerate(tokens, 1):
        while position < len(text) and text[position].isspace():
            position += 1
        if not token.form or not text.startswith(token.form, position):
            return None
        position += len(token.form)
        last = number == len(tokens)
        labels[position - 1] = ((MULTIWORD_SENTENCE_END if last else MULTIWORD_END)
                                if token.is_multiword else (SENTENCE_END if last else TOKEN_END))
    if text[position:].strip():
        return None
    return labels


def multiword_table(sentences):
    """{surface form: its words} of every multiword token in the treebank, the most frequent
    expansion of each form (and of its lowercase, under its own key)."""
    counts = collections.defaultdict(collections.Counter)
    for sentence in sentences:
        for token in sentence_tokens(sentence)[2]:
            if token.is_multiword:
                counts[token.form][tuple(token.words)] += 1
                counts[token.form.lower()][tuple(w.lower() for w in token.words)] += 1
    return {form: list(expansions.most_common(1)[0][0]) for form, expansions in counts.items()}


# A split a multiword token is cut by when its form was never seen: one that at least this many
# different forms of the training table are cut by (Google's as Terrell's: "'s").
MIN_SUFFIX_FORMS = 2


def suffix_rules(table):
    """{suffix: how many forms} of the table's multiword tokens that are their first words
    followed by a last one, spelled as the form is ("don't" = do + n't; not "du" = de + le)."""
    rules = {}
    for form, words in table.items():
        if form == form.lower() and len(words) == 2 and "".join(words).lower() == form:
            rules[words[-1]] = rules.get(words[-1], 0) + 1
    return {suffix: n for suffix, n in rules.items() if n >= MIN_SUFFIX_FORMS}


def split_by_suffix(form, rules):
    """A form never seen cut before the longest suffix of `rules` it ends with, as it is
    spelled ("PORTILLO'S" = PORTILLO + 'S); None if none fits."""
    lowered = form.lower()
    fits = [s for s in rules if lowered.endswith(s) and len(s) < len(form)]
    if not fits:
        return None
    cut = len(form) - len(max(fits, key=len))
    return [form[:cut], form[cut:]]


def expand(form, table, rules=None):
    """The words of a multiword token `form`: as training saw it, or by its lowercase with the
    case carried over (all capitals, or a capital first letter), or cut by a suffix rule
    (`suffix_rules`); None if none applies."""
    if form in table:
        return list(table[form])
    words = table.get(form.lower())
    if words is None:
        return split_by_suffix(form, rules) if rules else None
    if form.isupper() and len(form) > 1:
        return [w.upper() for w in words]
    if form[:1].isupper():
        return [words[0][:1].upper() + words[0][1:]] + list(words[1:])
    return list(words)


def sentences_from_labels(text, labels, table=None, one_sentence=False, rules=None):
    """[(sentence text, [Token])] of `text` cut as its characters' `labels` say.

    Whitespace always ends a token (and is never part of one); the paragraph's end ends a
    sentence.  A multiword token is expanded by `table` and its suffix `rules` (`expand`); one
    neither covers stays a single word.  `one_sentence`: the text is one sentence, whatever
    the labels say."""
    return [(text[begin:end], tokens)
            for begin, end, tokens in sentence_spans(text, labels, table, one_sentence, rules)]


def sentence_spans(text, labels, table=None, one_sentence=False, rules=None):
    """[(begin, end, [Token])] of each sentence of `text`, `text[begin:end]` its characters
    (`sentences_from_labels`)."""
    if one_sentence:
        labels = without_sentence_ends(labels)
    spans, tokens, start, begun = [], [], None, None
    for position, char in enumerate(text):
        if char.isspace():
            if start is not None:
                tokens.append(_token(text, start, position, False, table, rules))
                start = None
            continue
        start = position if start is None else start
        begun = position if begun is None else begun
        label = labels[position]
        if label != INSIDE or position + 1 == len(text):
            tokens.append(_token(text, start, position + 1, label in ENDS_MULTIWORD, table,
                                 rules))
            start = None
            if label in ENDS_SENTENCE:
                spans.append((begun, position + 1, tokens))
                tokens, begun = [], None
    if tokens:
        spans.append((begun, len(text.rstrip()), tokens))
    if spans:
        spans[0][2][0].spaces_before = text[:spans[0][0]]
    return spans


def without_sentence_ends(labels):
    """The labels with each sentence end read as the end of a token (of its kind)."""
    return [MULTIWORD_END if label == MULTIWORD_SENTENCE_END else
            TOKEN_END if label == SENTENCE_END else label for label in labels]


def with_sentence_end(labels, position):
    """The labels with the character at `position` ending a sentence (and its token)."""
    labels = list(labels)
    labels[position] = (MULTIWORD_SENTENCE_END if labels[position] in ENDS_MULTIWORD
                        else SENTENCE_END)
    return labels


def _token(text, start, end, multiword, table, rules=None):
    form = text[start:end]
    words = expand(form, table or {}, rules) if multiword else None
    after = end
    while after < len(text) and text[after].isspace():
        after += 1
    return Token(form, end == len(text) or text[end].isspace(), words or [form],
                 spaces_after=text[end:after])
