"""Raw text read in bounded memory and given back exactly (issue 49).

A file is read in pieces of at most data/text.PIECE_BYTES bytes however long its lines
(read_pieces), pieces become paragraph parts (rawtext.paragraph_parts), and the tokenizer cuts
a paragraph into sentences a part at a time (tasks/tokenizer.tokenized_parts): an endless
paragraph gives its sentences as it is read.  Every character of the input comes back from the
output's forms and MISC spacing (data/spacing.py)."""
import itertools
import os

import pytest

from conftest import shared_data
from dynlp.data.rawtext import Part, paragraph_parts, paragraph_texts
from dynlp.data.spacing import escape_spaces, spacing_misc, text_of_sentences, unescape_spaces
from dynlp.data.text import read_pieces, text_pieces
from dynlp.data.treebank import read_conllu
from dynlp.errors import DataError
from dynlp.tasks.tokenizer import PARAGRAPH_CHARS, tokenized_parts
from test_tokenizer import french, text_of, tiny_tokenizer  # noqa: F401 (a fixture)


def lines_of(pieces):
    lines = {}
    for piece in pieces:
        lines[piece.number] = lines.get(piece.number, "") + piece.text
    return lines


def test_a_line_longer_than_a_piece_is_read_in_pieces(tmp_path):
    line = "a" + "é" * 3000  # two-byte characters: pieces of 1,000 bytes cut through them
    path = tmp_path / "long.txt"
    path.write_bytes(("\ufeff" + line + "\r\nshort\n" + line).encode())
    pieces = list(read_pieces(str(path), piece_bytes=1000))
    assert len(pieces) > 10 and all(len(p.text.encode()) <= 1000 + 1 for p in pieces)
    assert lines_of(pieces) == {1: line, 2: "short", 3: line}
    assert [p.number for p in pieces if p.line_ends] == [1, 2, 3]


def test_a_text_in_memory_is_read_as_a_file_is(tmp_path):
    path = tmp_path / "text.txt"
    for text in ("a\r\nb\n\n c", "a\n", "", "\n\n"):
        path.write_bytes(text.encode())
        assert whole_lines(text_pieces(text)) == whole_lines(read_pieces(str(path)))


def whole_lines(pieces):
    """[(number, text, ending)] of the lines the pieces make up."""
    lines = []
    for piece in pieces:
        if lines and lines[-1][0] == piece.number:
            lines[-1] = (piece.number, lines[-1][1] + piece.text, piece.ending)
        else:
            lines.append((piece.number, piece.text, piece.ending))
    return lines


@pytest.mark.parametrize("raw, message", [
    (b"ok\n" + b"a" * 150_000 + b"\xff\n", r"bad.txt:2: not valid UTF-8 \(byte 150001\)"),
    (b"ok\nabc\xc3", r"bad.txt:2: not valid UTF-8 \(byte 4\)"),  # cut in a character at the end
    (b"ok\n" + b"a" * 5000 + b"\x00", r"bad.txt:2: contains NUL bytes"),
])
def test_bad_bytes_name_the_line_and_the_byte_in_it(tmp_path, raw, message):
    path = tmp_path / "bad.txt"
    path.write_bytes(raw)
    with pytest.raises(DataError, match=message):
        list(read_pieces(str(path), piece_bytes=1000))


def paragraphs_of_lines(lines):
    """The plain reference: runs of non-blank lines, joined by a space."""
    paragraph = []
    for line in lines + [""]:
        if line.strip():
            paragraph.append(line)
        elif paragraph:
            yield " ".join(paragraph)
            paragraph = []


def test_paragraph_parts_are_the_paragraphs_of_the_lines(tmp_path):
    text = "Il va\nau  marché.\n\n   \n" + "x" * 2500 + " y\nz\n\n\n\tw"
    path = tmp_path / "text.txt"
    path.write_text(text, encoding="utf-8")
    for one_line_each, expected in ((False, list(paragraphs_of_lines(text.split("\n")))),
                                    (True, [line for line in text.split("\n") if line.strip()])):
        paragraphs, current = [], ""
        for part in paragraph_parts(read_pieces(str(path), piece_bytes=100), one_line_each):
            current += part.text
            if part.ends_paragraph:
                paragraphs.append(current)
                current = ""
        paragraphs.append(current)
        assert [" ".join(p.splitlines()).strip() for p in paragraphs if p.strip()] == \
            [p.strip() for p in expected]
        assert "".join(paragraphs) == text  # every character, line breaks too


def test_an_endless_paragraph_gives_its_sentences_as_it_is_read(tmp_path, french):
    model, _ = tiny_tokenizer(tmp_path, french)
    endless = (Part("Il va au marché. ", False) for _ in itertools.count())
    count = 2 * PARAGRAPH_CHARS // len("Il va au marché. ")  # more than one part's worth
    first = list(itertools.islice(tokenized_parts(model, endless), count))
    assert all(s.forms == ["Il", "va", "à", "le", "marché", "."] for s in first)
    assert [s.sent_id for s in first[-2:]] == [str(count - 1), str(count)]
    assert sum("# newpar" in s.lines for s in first) == 1  # one paragraph, however cut


@pytest.mark.parametrize("text, joiner", [("Il va " * 30_000, " "),  # cut after a token
                                          ("x" * 200_000, "")])  # one token: cut in it
def test_a_sentence_longer_than_the_budget_is_cut_keeping_every_character(tmp_path, french,
                                                                           caplog, text, joiner):
    model, _ = tiny_tokenizer(tmp_path, french)
    sentences = list(tokenized_parts(model, [Part(text, True)], one_sentence=True))
    assert len(sentences) >= 2 and all(len(text_of(s)) <= PARAGRAPH_CHARS for s in sentences)
    assert joiner.join(text_of(s) for s in sentences) == text.strip()
    assert "was cut" in caplog.text



def test_whitespace_is_escaped_in_misc_as_udpipe_writes_it():
    spaces = "\n\n \t\r\\"
    assert escape_spaces(spaces) == "\\n\\n\\s\\t\\r\\\\"  # ufal.udpipe's setSpacesAfter
    odd = "\u2028\x0c\u00a0 "
    assert unescape_spaces(escape_spaces(spaces + odd)) == spaces + odd
    assert "\n" not in escape_spaces(odd) and "|" not in escape_spaces(odd)
    assert spacing_misc("", " ") == "_" and spacing_misc("", "") == "SpaceAfter=No"
    assert spacing_misc("  ", "\n") == "SpacesBefore=\\s\\s|SpacesAfter=\\n"


AWKWARD = ("\n\n  Il va au marché.\tIl dort.\r\nAu revoir!  \r\n\r\n\r\n"
           "Il  va\u00a0au marché. Il dort\n\n\n\t\nAu revoir! Il va  au marché.")


def tagged_back(model, path):
    parts = paragraph_parts(read_pieces(str(path), piece_bytes=64))
    return text_of_sentences(tokenized_parts(model, parts))


def test_the_output_gives_back_the_input_exactly(tmp_path, french):
    """CRLF, tabs, several spaces, blank lines before and after, no final newline."""
    model, _ = tiny_tokenizer(tmp_path, french)
    for text in (AWKWARD, AWKWARD + "\n\n\n", "Il dort."):
        path = tmp_path / "in.txt"
        path.write_bytes(text.encode())
        assert tagged_back(model, path) == text


@pytest.mark.parametrize("treebank", ["ud_en_ewt", "ud_hu_szeged", "ud_ug_udt"])
def test_each_suite_test_file_s_text_comes_back_exactly(tmp_path, french, treebank):
    folder = shared_data(treebank)
    test_file = next(os.path.join(folder, f) for f in sorted(os.listdir(folder))
                     if f.endswith("-test.conllu"))
    text = "\n\n".join(paragraph_texts(list(read_conllu(test_file, ())))) + "\n"
    model, _ = tiny_tokenizer(tmp_path, french)
    path = tmp_path / "test.txt"
    path.write_text(text, encoding="utf-8")
    assert tagged_back(model, path) == text

