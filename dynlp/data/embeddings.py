"""Pretrained word vectors in word2vec / fastText text format, read to start the tagger's E.

    300000 100                      optional header: how many vectors, and their dimension
    the 0.418 0.24968 -0.41242 ...  then one word and its DIM values per line
    , 0.013441 0.23682 -0.16899 ...

A name ending in `.gz` is read through gzip.  The file is read as a stream, one line at a time,
and only the vectors that will be used are kept, so memory is bounded by the cap plus the
training vocabulary, never by the file (fastText's are millions of lines):

    a training word's vector           always kept (it starts that word's row of E)
    a word training never saw          kept while fewer than `cap` such words are, in file
                                       order, which is most frequent first in these files

Words are looked up by `key` (the tagger's lowercasing), and the first line of a key wins: if
"The" comes before "the", "the" gets the vector of "The".  Every line must have the same number
of values; the values of the lines kept must be finite numbers (a line that is not kept is
checked for its number of fields only, as its values are never used).  Any other file is a
`DataError` naming the file and line.
"""
import contextlib
import gzip
import zlib
from array import array
from dataclasses import dataclass

import numpy as np

from dynlp.data.text import decode_line, open_bytes
from dynlp.errors import DataError


@dataclass
class Vectors:
    """The vectors kept from a file: `words[i]` (a key) has the vector `matrix[i]`."""

    words: list
    matrix: np.ndarray  # (len(words), dim) float32
    found: int = 0  # how many of the words are training words (the rest were added)

    @property
    def dim(self):
        return self.matrix.shape[1]


def read_vectors(path, wanted=(), cap=250_000, key=str, dim=None, skip=()):
    """The vectors of `path` for the keys in `wanted` (the training words) and for the first
    `cap` keys not in it (module docstring).  `dim`: the dimension the vectors must have (None:
    whatever the file's is); `skip`: keys never taken (a vocabulary's special tokens, such as
    WikiText's `<unk>`, whose rows the model learns itself)."""
    wanted, skip = set(wanted), set(skip)
    words, values, kept, found = [], array("f"), set(), 0  # array: 4 bytes a value, no objects
    for number, fields in vector_lines(path, dim):
        dim, word = len(fields) - 1, key(fields[0])
        if word in kept or word in skip or (word not in wanted and len(kept) - found >= cap):
            continue  # a later spelling of a kept key, a special, or beyond the cap and unused
        values.extend(_values(fields, path, number))
        words.append(word)
        kept.add(word)
        found += word in wanted
    matrix = np.frombuffer(values, dtype=np.float32).reshape(len(words), dim)
    return Vectors(words, matrix, found)


def vector_lines(path, dim=None):
    """(line number, [word, v1, ..., vDIM]) for each vector line of the file, the header left
    out, each checked for its number of values (`dim`, if given, must be the file's)."""
    number, since, vectors = 0, None, 0  # since: the line that set the dimension
    for number, fields in _field_lines(path):
        if since is None:
            header = len(fields) == 2 and fields[0].isdigit() and fields[1].isdigit()
            since, dim = number, _checked_dim(int(fields[1]) if header else len(fields) - 1,
                                              dim, path, number)
            if header:
                continue
        if len(fields) - 1 != dim:
            raise DataError(f"{path}:{number}: {len(fields) - 1} values, but the vectors have "
                            f"{dim} (from line {since})")
        vectors += 1
        yield number, fields
    if not vectors:
        raise DataError(f"{path}:{number + 1}: no word vectors in the file")


def _checked_dim(dim, wanted, path, number):
    if dim < 1:
        raise DataError(f"{path}:{number}: no values; expected a word and its vector "
                        "('word v1 ... vDIM') or a header ('COUNT DIM')")
    if wanted and dim != wanted:
        raise DataError(f"{path}:{number}: vectors of {dim} dimensions, but --emb-dim is "
                        f"{wanted} (leave --emb-dim out to take the file's)")
    return dim


def _values(fields, path, number):
    """The values of a vector line as float32, each a finite number."""
    try:
        with np.errstate(over="ignore"):  # 1e39 becomes inf, which the check below reports
            row = np.array(fields[1:], dtype=np.float32)
    except ValueError:
        bad = next(i for i, v in enumerate(fields[1:]) if not _is_number(v))
        raise DataError(f"{path}:{number}: value {bad + 1} of {fields[0]!r}, "
                        f"{fields[bad + 1][:20]!r}, is not a number") from None
    if not np.isfinite(row).all():
        bad = int(np.flatnonzero(~np.isfinite(row))[0])
        raise DataError(f"{path}:{number}: value {bad + 1} of {fields[0]!r}, {fields[bad + 1]!r}, "
                        "is not finite (nan, inf, or too large for float32)")
    return row


def _is_number(text):
    try:
        float(text)
        return True
    except ValueError:
        return False


def _field_lines(path):
    """(line number, fields) of each non-blank line.  Fields are split on spaces and tabs only:
    fastText's words may hold other Unicode spaces, such as U+00A0, which str.split() cuts."""
    with _open(path) as stream:
        number = 0
        try:
            for number, raw in enumerate(stream, start=1):
                text = decode_line(raw, path, number).replace("\t", " ")
                fields = [field for field in text.split(" ") if field]
                if fields:
                    yield number, fields
        except (OSError, EOFError, zlib.error) as error:  # a damaged or cut-off .gz
            raise DataError(f"{path}:{number + 1}: cannot read on: {error}") from None


@contextlib.contextmanager
def _open(path):
    """The file's bytes; through gzip if its name ends in .gz."""
    with open_bytes(path) as stream:
        if path.endswith(".gz"):
            with gzip.GzipFile(fileobj=stream) as unzipped:
                yield unzipped
        else:
            yield stream
