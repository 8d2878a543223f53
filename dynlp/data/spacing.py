"""The whitespace around tokens, in CoNLL-U's MISC column, so that tagged raw text gives back
its input exactly.

UD writes `SpaceAfter=No` where no space follows a token, and nothing where one space does.
Any other whitespace (two spaces, a tab, a line break, the blank line between paragraphs) is
written as UDPipe writes it: `SpacesAfter=` (and `SpacesBefore=` for whitespace before a text's
first token) with each character escaped:

    space \\s    tab \\t    CR \\r    LF \\n    | \\p    backslash \\\\

and any other whitespace character (a form feed, U+2028, ...) as \\uXXXX, so that no MISC
value holds a line break or a field separator.  `text_of_sentences` reads it all back.
"""
import re

_ESCAPES = {"\\": "\\\\", " ": "\\s", "\t": "\\t", "\r": "\\r", "\n": "\\n", "|": "\\p"}
_UNESCAPES = {value[1]: key for key, value in _ESCAPES.items()}
_ESCAPED = re.compile(r"\\(u[0-9a-fA-F]{4}|.)")


def escape_spaces(spaces):
    """`spaces` as a MISC value (`"\\n\\n"` for two line breaks)."""
    return "".join(_ESCAPES.get(c, c if c.isprintable() and not c.isspace()
                                else f"\\u{ord(c):04x}") for c in spaces)


def unescape_spaces(value):
    """The whitespace a MISC value of `escape_spaces` stands for."""
    return _ESCAPED.sub(lambda m: chr(int(m.group(1)[1:], 16)) if len(m.group(1)) == 5
                        else _UNESCAPES.get(m.group(1), m.group(1)), value)


def spacing_misc(before, after):
    """MISC fields ("|"-joined, or "_") of a token with whitespace `before` it ("" but for a
    text's first token) and `after` it."""
    fields = [f"SpacesBefore={escape_spaces(before)}"] if before else []
    if after == "":
        fields.append("SpaceAfter=No")
    elif after != " ":
        fields.append(f"SpacesAfter={escape_spaces(after)}")
    return "|".join(fields) or "_"


def text_of_sentences(sentences):
    """The text that CoNLL-U sentences (treebank.Sentence) were read from, by their tokens'
    forms and the whitespace their MISC gives (one space where it says nothing)."""
    return "".join(_spelled(columns) for sentence in sentences
                   for columns in _token_rows(sentence.lines))


def _token_rows(lines):
    """The columns of each token row: a multiword range, or a word outside every range."""
    covered = 0  # the last word id a range covers
    for line in lines:
        if not line or line.startswith("#"):
            continue
        columns = line.split("\t")
        word_id = columns[0]
        if "-" in word_id:
            covered = int(word_id.split("-")[1])
            yield columns
        elif "." not in word_id and int(word_id) > covered:
            yield columns


def _spelled(columns):
    misc = dict(field.split("=", 1) for field in columns[9].split("|") if "=" in field)
    after = " "
    if misc.get("SpaceAfter") == "No":
        after = ""
    if "SpacesAfter" in misc:
        after = unescape_spaces(misc["SpacesAfter"])
    return unescape_spaces(misc.get("SpacesBefore", "")) + columns[1] + after
