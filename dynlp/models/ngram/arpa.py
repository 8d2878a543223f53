"""ARPA files: the n-gram tables of estimate.py in the format SRILM, KenLM and others read.

    \\data\\
    ngram 1=<count>                       one line per order
    ...
    \\1-grams:
    <log10 p(w)>  <w>  [<log10 gamma(w)>]              tab-separated; the backoff weight
    ...                                                only for a token seen as a context
    \\2-grams:
    <log10 p(w | h)>  <h w>  [<log10 gamma(h w)>]
    ...
    \\end\\

Every token of the vocabulary but `<pad>` is a 1-gram (`<s>` with log10 p = -99: it is never
predicted, only a context), and values have 9 significant digits.  A character model's whitespace characters are written `<U+0020>`
and so on (ARPA separates tokens by spaces).  Reading is strict, as for every model file: the
header's counts, the order, every token in the vocabulary, every number finite; an error names
the file and the line.
"""
import math

import numpy as np

from dynlp.errors import ModelDirError
from dynlp.models.ngram.estimate import Order, row_hashes

LINE_END = "\n"


def arpa_token(token):
    return f"<U+{ord(token):04X}>" if len(token) == 1 and token.isspace() else token


def write(model, path):
    """Write `model` (an ngram.NgramLanguageModel) as an ARPA file at `path`."""
    vocab, orders, n = model.vocab, model.orders, model.config.order
    names = [arpa_token(token) for token in vocab.itos]
    with open(path, "w", encoding="utf-8") as out:
        out.write("\\data\\\n" + "".join(f"ngram {k}={len(orders[k].log_probs)}\n"
                                           for k in range(1, n + 1)))
        for k in range(1, n + 1):
            out.write(f"\n\\{k}-grams:\n")
            bows = _backoff_weights(orders[k + 1], orders[k].grams) if k < n else None
            _write_rows(out, orders[k].log_probs, orders[k].grams, bows, names)
        out.write("\n\\end\\\n")


def _backoff_weights(above, rows):
    """log10 gamma of each row as a context of the order above (NaN: not a context)."""

    seen, log_gammas = above.log_gammas_of(row_hashes(np.asarray(rows)))
    return np.where(seen, log_gammas, np.nan)


def _write_rows(out, log_probs, rows, bows, names):
    lines = []
    for log_p, row, bow in zip(log_probs.tolist(), rows, bows.tolist() if bows is not None
                               else [math.nan] * len(log_probs)):
        words = " ".join(names[i] for i in row)
        lines.append(f"{log_p:.9g}\t{words}" + ("" if math.isnan(bow) else f"\t{bow:.9g}"))
        if len(lines) >= 100_000:
            out.write(LINE_END.join(lines) + LINE_END)
            lines = []
    if lines:
        out.write(LINE_END.join(lines) + LINE_END)


def read(path, vocab, order):
    """The tables (estimate.Order per order) of the ARPA file at `path`, checked against `vocab`
    and `order`; any mismatch is a ModelDirError naming the file and line."""

    ids = {arpa_token(token): i for i, token in enumerate(vocab.itos)}
    with open(path, encoding="utf-8") as source:
        lines = enumerate(source, 1)
        sizes = _read_header(path, lines)
        if len(sizes) != order:
            raise ModelDirError(f"{path}: has {len(sizes)} orders, the config says {order}")
        sections = {}
        for k in range(1, order + 1):
            sections[k] = _read_section(path, lines, k, sizes[k - 1], ids)
        number, line = _next_line(path, lines)
        if line != "\\end\\":
            raise ModelDirError(f"{path}:{number}: expected \\end\\")
    orders = {}
    for k in range(1, order + 1):
        grams, log_probs, _ = sections[k]
        if k == 1:
            contexts, gammas = np.zeros(0, dtype=np.uint64), np.zeros(0)
        else:
            below, _, below_bows = sections[k - 1]
            has_bow = ~np.isnan(below_bows)
            contexts, gammas = row_hashes(below[has_bow]), below_bows[has_bow]
        orders[k] = Order(k, grams, log_probs, contexts, gammas)
    listed = set(orders[1].grams[:, 0].tolist())
    missing = [token for i, token in enumerate(vocab.itos) if i != vocab.pad and i not in listed]
    if missing:
        raise ModelDirError(f"{path}: the 1-grams lack {len(missing)} token(s) of the model's "
                            f"vocabulary, e.g. {missing[0]!r}")
    return orders


def _next_line(path, lines):
    """The next line that is not blank, stripped; an unexpected end is an error."""
    for number, line in lines:
        line = line.strip()
        if line:
            return number, line
    raise ModelDirError(f"{path}: ends too early (truncated?)")


def _read_header(path, lines):
    number, line = _next_line(path, lines)
    if line != "\\data\\":
        raise ModelDirError(f"{path}:{number}: not an ARPA file (no \\data\\ header)")
    sizes = []
    while True:
        number, line = _next_line(path, lines)
        if not line.startswith("ngram "):
            break
        k, _, size = line[len("ngram "):].partition("=")
        if k.strip() != str(len(sizes) + 1) or not size.strip().isdigit():
            raise ModelDirError(f"{path}:{number}: bad header line {line!r}")
        sizes.append(int(size))
    if line != "\\1-grams:":
        raise ModelDirError(f"{path}:{number}: expected \\1-grams:")
    return sizes


def _read_section(path, lines, k, size, ids):
    """(rows of token ids, log10 p, log10 backoff weights or NaN) of the k-gram section, whose
    title line was already read (for k > 1 it is read here)."""
    if k > 1:
        number, line = _next_line(path, lines)
        if line != f"\\{k}-grams:":
            raise ModelDirError(f"{path}:{number}: expected \\{k}-grams:")
    rows = np.zeros((size, k), dtype=np.int32)
    log_probs, bows = np.zeros(size), np.full(size, np.nan)
    for j in range(size):
        number, line = _next_line(path, lines)
        fields = line.split("\t")
        words = fields[1].split(" ") if len(fields) in (2, 3) else []
        if len(words) != k:
            raise ModelDirError(f"{path}:{number}: expected a {k}-gram line (log10 p, the "
                                f"{k} tokens, an optional backoff weight, tab-separated)")
        try:
            rows[j] = [ids[word] for word in words]
        except KeyError as missing:
            raise ModelDirError(f"{path}:{number}: token {missing} is not in the model's "
                                "vocabulary") from None
        log_probs[j] = _number(path, number, fields[0], upper=0.0)
        if len(fields) == 3:
            bows[j] = _number(path, number, fields[2], upper=99.0)
    return rows, log_probs, bows


def _number(path, number, text, upper):
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and -99.0 <= value <= upper):
        raise ModelDirError(f"{path}:{number}: {text!r} is not a log10 value in [-99, {upper:g}]")
    return value
