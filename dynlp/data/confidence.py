"""Per-word confidences in CoNLL-U's MISC column, as `dynlp tag --probabilities` writes them.

For each predicted column, the probability the tagger gives the value it chose, and with
`--n-best K` the K next likeliest values with theirs, likeliest first:

    UPOSProb=0.973|UPOSAlt=NOUN:0.020,ADJ:0.005|LEMMAProb=0.998|LEMMAAlt=run:0.001

The fields are named after the column in capitals (UPOS, XPOS, FEATS, LEMMA) with `Prob` or
`Alt` after it; probabilities have three decimals.  A value in `Alt` is percent-encoded where
it holds a character that MISC or the list uses (`%`, `|`, `=`, `,`, `:`, and whitespace), so
FEATS alternatives such as `Case=Nom|Number=Sing` read `Case%3DNom%7CNumber%3DSing`;
`read_confidences` gives them back.  Other MISC fields (SpaceAfter=No, ...) are kept.
"""
import re
from urllib.parse import unquote

_RESERVED = re.compile(r"[%|=,:\s]")


def field_names(column):
    """The MISC names of `column`'s probability and alternatives: ("UPOSProb", "UPOSAlt")."""
    return f"{column.upper()}Prob", f"{column.upper()}Alt"


# The most alternatives a word may get per column (`dynlp tag --n-best`, serve's "n_best"): a
# FEATS split into features searches about K x values x features bundles per word.
MAX_N_BEST = 10


def confidence_fields(ranked, n_best):
    """{MISC name: value} of one word from its {column: [(value, probability), ...]} (the
    chosen value first), with up to `n_best` alternatives per column; a column's `Alt` is None
    (removed, should an earlier tagging have written one) where there are none."""
    fields = {}
    for column, choices in ranked.items():
        probability, alternatives = field_names(column)
        fields[probability] = f"{choices[0][1]:.3f}"
        fields[alternatives] = ",".join(f"{_escape(value)}:{p:.3f}"
                                        for value, p in choices[1:n_best + 1]) or None
    return fields


def _escape(value):
    return _RESERVED.sub(lambda match: "".join(f"%{b:02X}" for b in match[0].encode()), value)


def read_confidences(misc, column):
    """(probability, [(value, probability), ...]) of `column` in a MISC cell written as above;
    (None, []) where it has none."""
    probability, alternatives = field_names(column)
    fields = dict(f.split("=", 1) for f in misc.split("|") if "=" in f)
    if probability not in fields:
        return None, []
    ranked = [item.rsplit(":", 1) for item in fields.get(alternatives, "").split(",") if item]
    return float(fields[probability]), [(unquote(value), float(p)) for value, p in ranked]
