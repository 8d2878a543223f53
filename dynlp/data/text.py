"""Plain text to sentences of tokens (characters or words), and back.

One line is one sentence.  Words come from nltk's `NLTKWordTokenizer`, which needs no
downloaded data; with `tokenized=True` a line is split on whitespace only (PTB style, which is
also how PTB's character files, `a e r _ b a n k`, are read).  Files are read as UTF-8 (a BOM
is skipped, CRLF accepted); undecodable bytes raise `DataError` naming file and line.
"""
import codecs
import contextlib
import os
import sys
from typing import NamedTuple

from dynlp.data.vocab import EOS
from dynlp.errors import DataError

MAX_LINE_BYTES = 1_000_000  # a longer "line" is a missing line break or not text at all
# Raw text for the tokenizer is read in pieces of at most this many bytes, a longer line in
# several: what it holds is bounded by this, not by the longest line (read_pieces).
PIECE_BYTES = 1 << 16

_word_tokenizer = None


def tokenize(line, level="word", tokenized=False):
    """Split one line into tokens: whitespace if `tokenized`, else characters or nltk words."""
    if tokenized:
        return line.split()
    if level == "char":
        return list(line)
    return _nltk_tokenizer().tokenize(line)


def detokenize(tokens, level="word", tokenized=False):
    """Join tokens back into text (exact for raw characters, space-separated otherwise)."""
    if level == "char" and not tokenized:
        return "".join(tokens)
    return " ".join(tokens)


def lines_from_tokens(tokens, level="word", tokenized=False):
    """Text of a token sequence in which `</s>` marks a line end (as in a stream model)."""
    lines = [[]]
    for token in tokens:
        if token == EOS:
            lines.append([])
        else:
            lines[-1].append(token)
    return "\n".join(detokenize(line, level, tokenized) for line in lines)


def _nltk_tokenizer():
    global _word_tokenizer
    if _word_tokenizer is None:
        from nltk.tokenize import NLTKWordTokenizer

        _word_tokenizer = NLTKWordTokenizer()
    return _word_tokenizer


class Span(NamedTuple):
    """Part of a file: the lines that start in bytes [start, end), the first being `first_line`."""

    start: int
    end: int
    first_line: int


def read_lines(path, span=None):
    """Yield `(line_number, text)` for each line of a UTF-8 file ('-' is stdin), newline removed.

    With a `Span`, only that part of the file is read (a worker's share of a large input).
    """
    if path == "-":
        yield from _decode_lines(sys.stdin.buffer, "<stdin>")
        return
    with open_bytes(path) as stream:
        if span is None:
            yield from _decode_lines(stream, path)
        else:
            stream.seek(span.start)
            yield from _decode_lines(_lines_before(stream, span.end - span.start), path,
                                     span.first_line)


class Piece(NamedTuple):
    """Some text of line `number`; `line_ends`: the line's last piece, its line break (if the
    line had one) left out of `text` and kept in `ending`."""

    number: int
    text: str
    line_ends: bool
    ending: str = ""


def read_pieces(path, piece_bytes=PIECE_BYTES):
    """Yield the text of a UTF-8 file ('-' is stdin) as `Piece`s of at most `piece_bytes`
    bytes, a line longer than that in several, so that a file without a line break is read in
    bounded memory.  Checked as `read_lines` checks, the line and byte named."""
    if path == "-":
        yield from _pieces(sys.stdin.buffer, "<stdin>", piece_bytes)
        return
    with open_bytes(path) as stream:
        yield from _pieces(stream, path, piece_bytes)


def text_pieces(text):
    """The `Piece`s of a text already in memory (a request's), one a line, as `read_pieces`
    reads a file."""
    lines = text.split("\n")
    for number, line in enumerate(lines, 1):
        if number < len(lines) or line:
            body = line.rstrip("\r")
            ending = line[len(body):] + ("\n" if number < len(lines) else "")
            yield Piece(number, body, True, ending)


def _pieces(stream, name, piece_bytes):
    decoder = codecs.getincrementaldecoder("utf-8")()
    number, offset = 1, 0  # the line, and how many of its bytes were read before this piece
    while True:
        raw = stream.readline(piece_bytes)
        if not raw:
            if offset:  # the last line had no newline: what the decoder holds ends it
                yield Piece(number, _decoded(decoder, b"", True, name, number, offset), True)
            return
        if number == 1 and offset == 0 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]  # a UTF-8 byte-order mark is not text
        if b"\x00" in raw:
            raise DataError(f"{name}:{number}: contains NUL bytes; is this a binary file?")
        ends = raw.endswith(b"\n")
        text = _decoded(decoder, raw, ends, name, number, offset)
        if ends:
            line = text.rstrip("\r\n")
            yield Piece(number, line, True, text[len(line):])
            number, offset = number + 1, 0
        else:
            yield Piece(number, text, False)
            offset += len(raw)


def _decoded(decoder, raw, final, name, number, offset):
    """`raw` decoded after what `decoder` holds of the line's bytes before it, at `offset`."""
    held = len(decoder.getstate()[0])
    try:
        return decoder.decode(raw, final)
    except UnicodeDecodeError as error:
        raise DataError(f"{name}:{number}: not valid UTF-8 (byte {offset - held + error.start + 1}); "
                        "convert the file to UTF-8") from None


@contextlib.contextmanager
def open_bytes(path):
    """The file opened for reading bytes; a missing or unreadable file is a one-line DataError."""
    try:
        stream = open(path, "rb")
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise DataError(f"{path}: is a directory, not a text file") from None
    except PermissionError:
        raise DataError(f"{path}: permission denied") from None
    with stream:
        yield stream


def _lines_before(stream, size):
    """The raw lines of `stream` that start within its next `size` bytes."""
    for raw in stream:
        if size <= 0:
            return
        size -= len(raw)
        yield raw


def _decode_lines(stream, name, first_line=1):
    for number, raw in enumerate(stream, start=first_line):
        yield number, decode_line(raw, name, number)


def decode_line(raw, name, number):
    """The text of one raw line (bytes), checked: not too long, no NUL, valid UTF-8."""
    if len(raw) > MAX_LINE_BYTES:
        raise DataError(f"{name}:{number}: line of {len(raw):,} bytes, longer than "
                        f"{MAX_LINE_BYTES:,}; is this one sentence per line?")
    if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]  # a UTF-8 byte-order mark is not text
    if b"\x00" in raw:
        raise DataError(f"{name}:{number}: contains NUL bytes; is this a binary file?")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise DataError(f"{name}:{number}: not valid UTF-8 (byte {error.start + 1}); "
                        "convert the file to UTF-8") from None
    return text.rstrip("\r\n")


def sentences_from_lines(lines, level="word", tokenized=False, keep_blank=False):
    """Tokenise an iterable of strings, skipping blank ones unless `keep_blank` (streams keep
    them: in running text an empty line is a paragraph break)."""
    return [tokenize(line, level, tokenized) for line in lines if keep_blank or line.strip()]


def read_sentences(path, level="word", tokenized=False, keep_blank=False):
    """The lines of a file as token lists; a corpus without any text is a `DataError`."""
    lines = (text for _, text in read_lines(path))
    sentences = sentences_from_lines(lines, level, tokenized, keep_blank)
    if not any(sentences):
        raise DataError(f"{path}: no text (the file is empty or blank)")
    return sentences


def bundled_text():
    """The quick-start corpus: the English prose of Python's own help topics (`pydoc_data`).

    Every CPython ships it (about 465 kB), so no third-party text is copied into this project.
    """
    from pydoc_data.topics import topics

    return "\n".join(topics[key] for key in sorted(topics)).split("\n")


def data_dir():
    """Where the shared benchmark corpora live: $DYNLP_DATA, else ../shared/data from the repo."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # dynlp/
    repo = os.path.dirname(package)
    return os.environ.get("DYNLP_DATA") or os.path.join(repo, "..", "shared", "data")
