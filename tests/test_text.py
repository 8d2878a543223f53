"""Reading text: tokenisation, encodings and errors that name file and line."""
import pytest

from dynlp.errors import DataError
from dynlp.data.text import (bundled_text, lines_from_tokens, read_lines, read_sentences, tokenize)


def test_word_char_and_pretokenised_levels():
    assert tokenize("Don't stop.", "word") == ["Do", "n't", "stop", "."]
    assert tokenize("ab c", "char") == ["a", "b", " ", "c"]
    assert tokenize(" a e r _ b", "char", tokenized=True) == ["a", "e", "r", "_", "b"]


def test_bom_and_crlf_are_accepted(tmp_path):
    path = tmp_path / "crlf.txt"
    path.write_bytes(b"\xef\xbb\xbfone two\r\nthree\r\n")
    assert read_sentences(str(path), "word", True) == [["one", "two"], ["three"]]


def test_blank_lines_are_skipped_unless_kept(tmp_path):
    path = tmp_path / "para.txt"
    path.write_text("a b\n\nc\n")
    assert read_sentences(str(path), "word", True) == [["a", "b"], ["c"]]
    assert read_sentences(str(path), "word", True, keep_blank=True) == [["a", "b"], [], ["c"]]


@pytest.mark.parametrize("content, message", [
    (b"fine\n\xff\xfe bad\n", ":2: not valid UTF-8"),
    (b"ok\nbin\x00ary\n", ":2: contains NUL"),
    (b"\n  \n", "no text"),
])
def test_bad_files_name_the_line(tmp_path, content, message):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    with pytest.raises(DataError, match=message):
        read_sentences(str(path))


def test_missing_file():
    with pytest.raises(DataError, match="no such file"):
        list(read_lines("/nonexistent/file.txt"))


def test_stream_line_breaks_and_bundled_corpus():
    assert lines_from_tokens(list("ab") + ["</s>"] + list("c"), "char") == "ab\nc"
    text = bundled_text()
    assert sum(map(len, text)) > 300_000 and any("function" in line for line in text)
