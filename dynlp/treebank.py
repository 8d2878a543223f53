"""CoNLL-U in and out, keeping everything the tagger does not own.

A sentence is kept as its raw lines (comments, multiword-token lines `1-2`, empty nodes `8.1`,
all ten columns), plus the word forms and tags the tagger needs.  Writing replaces only the
predicted column of the word lines.  For a well-formed UD file (LF line ends, one blank line
after each sentence) the output differs from the input in that column alone; a BOM, CRLF line
ends and runs of blank lines are normalised.

Each line is checked here, before the `conllu` package parses ids and comments: `conllu` reports
errors without line numbers and splits fields on two spaces.  Every error is a `DataError` that
names the file, the line and, when known, the sentence id.
"""
import re
from dataclasses import dataclass, field

from conllu.parser import parse_comment_line

from .errors import DataError
from .text import read_lines

COLUMNS = ("id", "form", "lemma", "upos", "xpos", "feats", "head", "deprel", "deps", "misc")
WORD_ID = re.compile(r"[1-9][0-9]*")
MULTIWORD_ID = re.compile(r"[1-9][0-9]*-[1-9][0-9]*")
EMPTY_NODE_ID = re.compile(r"[0-9]+\.[1-9][0-9]*")


@dataclass
class Sentence:
    lines: list  # every line of the sentence as read, without its line end
    word_lines: list = field(default_factory=list)  # indexes into `lines` of the word lines
    forms: list = field(default_factory=list)
    tags: list = field(default_factory=list)  # the chosen column of each word ('_' if unset)
    sent_id: str = None
    line_number: int = 0  # of the first line, for messages

    def with_tags(self, tags, column):
        """The sentence's lines with `column` of each word line replaced by `tags`."""
        index = column_index(column)
        lines = list(self.lines)
        for row, tag in zip(self.word_lines, tags):
            cells = lines[row].split("\t")
            cells[index] = tag
            lines[row] = "\t".join(cells)
        return lines


def column_index(column):
    if column not in COLUMNS[2:]:
        raise DataError(f"unknown CoNLL-U column {column!r}; use one of {', '.join(COLUMNS[2:])}")
    return COLUMNS.index(column)


def read_conllu(path, column="upos", gold=False, span=None):
    """Yield the Sentences of a CoNLL-U file ('-' is stdin), checked line by line.

    With `gold`, every word must have a tag in `column` (training and evaluation data).  With a
    `text.Span`, only the sentences in that part of the file are read.
    """
    index = column_index(column)
    block, start = [], 0
    for number, line in read_lines(path, span):
        if line.strip():
            start = start or number
            block.append(line)
        elif block:
            yield _sentence(block, index, path, start, gold)
            block, start = [], 0
    if block:
        yield _sentence(block, index, path, start, gold)


def read_treebank(path, column="upos", gold=True):
    """All sentences of a gold file; a file without any word is a `DataError`."""
    sentences = list(read_conllu(path, column, gold))
    if not sentences:
        raise DataError(f"{path}: no sentences (empty, or comments only)")
    return sentences


def _sentence(lines, index, path, start, gold=False):
    sentence = Sentence(lines=lines, line_number=start)
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
            if gold and cells[index] == "_":
                raise DataError(f"{where}{_in(sentence)}: no {COLUMNS[index]} tag ('_') to "
                                "learn from or evaluate against")
            sentence.word_lines.append(offset)
            sentence.forms.append(cells[1])
            sentence.tags.append(cells[index])
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
        raise DataError(f"{where}{_in(sentence)}: expected 10 tab-separated columns, "
                        f"found {len(cells)}")
    for name, cell in zip(COLUMNS, cells):
        if not cell or cell != cell.strip() or "  " in cell:
            raise DataError(f"{where}{_in(sentence)}: column {name} is empty, padded or has "
                            "two spaces in a row")
    return cells


def _in(sentence):
    return f" (sentence {sentence.sent_id})" if sentence.sent_id else ""


def sentence_from_forms(forms, number, text=None):
    """A fresh CoNLL-U sentence for already tokenised words (plain-text input to the tagger)."""
    lines = [f"# sent_id = {number}"] + ([f"# text = {text}"] if text else [])
    first_word = len(lines)
    lines += [f"{i}\t{form}\t_\t_\t_\t_\t_\t_\t_\t_" for i, form in enumerate(forms, start=1)]
    return Sentence(lines=lines, word_lines=list(range(first_word, len(lines))), forms=list(forms),
                    tags=["_"] * len(forms), sent_id=str(number))


def conllu_text(sentence_lines):
    """CoNLL-U text of sentences given as lists of lines: each followed by one blank line."""
    return "".join("\n".join(lines) + "\n\n" for lines in sentence_lines)


def write_conllu(out, sentence_lines):
    out.write(conllu_text(sentence_lines))
