"""CoNLL-U in and out, keeping everything the tagger does not own.

A sentence is kept as its raw lines (comments, multiword-token lines `1-2`, empty nodes `8.1`,
all ten columns), plus the word forms and the tag columns the tagger needs (UPOS, XPOS, FEATS
and LEMMA by default).  Writing replaces only the predicted columns of the word lines.  For a
well-formed UD file (LF line ends, one blank line after each sentence) the output differs from
the input in those columns alone; a BOM, CRLF line ends and runs of blank lines are normalised.

Each line is checked here, before the `conllu` package parses ids and comments: `conllu` reports
errors without line numbers and splits fields on two spaces.  Every error is a `DataError` that
names the file, the line and, when known, the sentence id.
"""
import re
from dataclasses import dataclass, field

from conllu.parser import parse_comment_line

from dynlp.data.spacing import spacing_misc
from dynlp.data.text import read_lines
from dynlp.errors import DataError

COLUMNS = ("id", "form", "lemma", "upos", "xpos", "feats", "head", "deprel", "deps", "misc")
WORD_ID = re.compile(r"[1-9][0-9]*")
MULTIWORD_ID = re.compile(r"[1-9][0-9]*-[1-9][0-9]*")
EMPTY_NODE_ID = re.compile(r"[0-9]+\.[1-9][0-9]*")
# What a tagger predicts unless told otherwise (those the training file fills; LEMMA last, so
# that UPOS stays the first column, whose tags get their own figures).
TAG_COLUMNS = ("upos", "xpos", "feats", "lemma")
NO_VALUE = "_"  # CoNLL-U's empty cell; in FEATS it is a value of its own: no features


@dataclass
class Sentence:
    lines: list  # every line of the sentence as read, without its line end
    word_lines: list = field(default_factory=list)  # indexes into `lines` of the word lines
    forms: list = field(default_factory=list)
    tags: dict = field(default_factory=dict)  # {column: each word's value ('_' if unset)}
    sent_id: str = None
    line_number: int = 0  # of the first line, for messages

    def with_tags(self, predicted, misc=None):
        """The sentence's lines with each column of `predicted` ({column: tags}) replaced, and
        with `misc` (for each word, a {name: value} of MISC fields) set in MISC."""
        indexes = {column_index(column): tags for column, tags in predicted.items()}
        lines = list(self.lines)
        for position, row in enumerate(self.word_lines):
            cells = lines[row].split("\t")
            for index, tags in indexes.items():
                cells[index] = tags[position]
            if misc is not None:
                cells[MISC] = misc_with(cells[MISC], misc[position])
            lines[row] = "\t".join(cells)
        return lines


MISC = 9  # the index of the MISC column


def misc_with(cell, fields):
    """A MISC cell with `fields` ({name: value}) set: those of its fields of the same names
    replaced (tagging a tagged file again) or, where the value is None, removed; the others
    kept in their order."""
    kept = [f for f in cell.split("|") if f != NO_VALUE and f.split("=", 1)[0] not in fields]
    return "|".join(kept + [f"{name}={value}" for name, value in fields.items()
                            if value is not None]) or NO_VALUE


def column_index(column):
    if column not in COLUMNS[2:]:
        raise DataError(f"unknown CoNLL-U column {column!r}; use one of {', '.join(COLUMNS[2:])}")
    return COLUMNS.index(column)


def read_conllu(path, columns=TAG_COLUMNS, span=None):
    """Yield the Sentences of a CoNLL-U file ('-' is stdin), checked line by line, with the
    values of `columns` (names, or one name) in `Sentence.tags`.

    With a `text.Span`, only the sentences in that part of the file are read.
    """
    return parse_conllu(read_lines(path, span), path, columns)


def parse_conllu(numbered_lines, name, columns=TAG_COLUMNS):
    """Yield the Sentences of `(line number, text)` pairs of CoNLL-U, as `read_conllu` does;
    `name` is the file (or request) that messages name."""
    columns = (columns,) if isinstance(columns, str) else tuple(columns)
    indexes = {column: column_index(column) for column in columns}
    block, start = [], 0
    for number, line in numbered_lines:
        if line.strip():
            start = start or number
            block.append(line)
        elif block:
            yield _sentence(block, indexes, name, start)
            block, start = [], 0
    if block:
        yield _sentence(block, indexes, name, start)


def read_treebank(path, columns=TAG_COLUMNS):
    """All sentences of a file; a file without any word is a `DataError`.  Training and
    evaluation check that the columns they use are filled somewhere with `check_filled`."""
    sentences = list(read_conllu(path, columns))
    if not sentences:
        raise DataError(f"{path}: no sentences (empty, or comments only)")
    return sentences


def has_value(column, value):
    """Whether a cell gives the word a value to learn: `_` is none, except in FEATS, where it is
    a value of its own (the word has no features)."""
    return value != NO_VALUE or column == "feats"


def filled(sentences, column):
    """Whether any word of `sentences` has a value in `column` (not `_`)."""
    return any(value != NO_VALUE for s in sentences for value in s.tags[column])


def share_filled(sentences, column):
    """The share of the words of `sentences` whose `column` is not `_` (0.0 for no words)."""
    values = [value for s in sentences for value in s.tags[column]]
    return sum(value != NO_VALUE for value in values) / len(values) if values else 0.0


def check_filled(sentences, columns, path):
    """A `DataError` if one of `columns` is `_` throughout.  A column `_` on some words only is
    fine: training skips those words in that column's loss, evaluation counts them."""
    for column in columns:
        if not filled(sentences, column):
            raise DataError(f"{path}: column {column} is '_' throughout, so there is nothing to "
                            f"learn or check (leave it out of --columns)")


def _sentence(lines, indexes, path, start):
    sentence = Sentence(lines=lines, line_number=start, tags={column: [] for column in indexes})
    for offset, line in enumerate(lines):
        where = f"{path}:{start + offset}"
        if line.startswith("#"):
            for key, value in parse_comment_line(line):
                if key == "sent_id":
                    sentence.sent_id = value
            continue
        cells = _check_cells(line, where, sentence)
        if WORD_ID.fullmatch(cells[0]):
            if int(cells[0]) != len(sentence.forms) + 1:
                raise DataError(f"{where}{_in(sentence)}: word id {cells[0]} out of order "
                                f"(expected {len(sentence.forms) + 1})")
            sentence.word_lines.append(offset)
            sentence.forms.append(cells[1])
            for column, index in indexes.items():
                sentence.tags[column].append(cells[index])
        elif not (MULTIWORD_ID.fullmatch(cells[0]) or EMPTY_NODE_ID.fullmatch(cells[0])):
            raise DataError(f"{where}{_in(sentence)}: bad id {cells[0]!r} (expected 1, 1-2 or 1.1)")
    if not sentence.forms:
        what = "comments only, no word lines" if all(l.startswith("#") for l in lines) \
            else "sentence has no words"
        raise DataError(f"{path}:{start}{_in(sentence)}: {what}")
    return sentence


def _check_cells(line, where, sentence):
    cells = line.split("\t")
    if len(cells) != 10:
        hint = " (plain text? `dynlp tag --input text` reads it)" if len(cells) == 1 else ""
        raise DataError(f"{where}{_in(sentence)}: expected 10 tab-separated columns, "
                        f"found {len(cells)}{hint}")
    for name, cell in zip(COLUMNS, cells):
        if not cell or cell != cell.strip() or "  " in cell:
            raise DataError(f"{where}{_in(sentence)}: column {name} is empty, padded or has "
                            "two spaces in a row")
    return cells


def _in(sentence):
    return f" (sentence {sentence.sent_id})" if sentence.sent_id else ""


@dataclass
class Token:
    """A token as the text has it: its surface form, whether a space follows it, and the words
    it stands for (one, its own form, unless it is a multiword token)."""

    form: str
    space_after: bool = True
    words: list = field(default_factory=list)
    spaces_after: str = None  # raw text: exactly the whitespace that followed it
    spaces_before: str = ""  # raw text: the whitespace before a text's first token

    @property
    def is_multiword(self):
        return len(self.words) > 1


def sentence_from_forms(forms, number, text=None):
    """A fresh CoNLL-U sentence for already tokenised words (plain-text input to the tagger)."""
    return sentence_from_tokens([Token(form, True, [form]) for form in forms], number, text)


def sentence_from_tokens(tokens, number, text=None, new_paragraph=False):
    """A fresh CoNLL-U sentence of Tokens: `# text` if given, a range line before the words of
    each multiword token, its spacing in MISC (data/spacing.py); no tag filled yet."""
    lines = ["# newpar"] * new_paragraph + [f"# sent_id = {number}"]
    lines += [f"# text = {' '.join(text.splitlines())}"] if text else []  # one line
    word_lines, forms = [], []
    for token in tokens:
        after = token.spaces_after
        misc = spacing_misc(token.spaces_before, (" " if token.space_after else "")
                            if after is None else after)
        if token.is_multiword:
            first = len(forms) + 1
            lines.append(_row(f"{first}-{first + len(token.words) - 1}", token.form, misc))
            misc = "_"
        for word in token.words:
            forms.append(word)
            word_lines.append(len(lines))
            lines.append(_row(str(len(forms)), word, misc))
    return Sentence(lines=lines, word_lines=word_lines, forms=forms, sent_id=str(number),
                    tags={column: [NO_VALUE] * len(forms) for column in TAG_COLUMNS})


def _row(word_id, form, misc):
    return "\t".join([word_id, form] + [NO_VALUE] * 7 + [misc])


def conllu_text(sentence_lines):
    """CoNLL-U text of sentences given as lists of lines: each followed by one blank line."""
    return "".join("\n".join(lines) + "\n\n" for lines in sentence_lines)


def write_conllu(out, sentence_lines):
    out.write(conllu_text(sentence_lines))
