"""The tokenizer learned from a treebank (models/tokenizer.py, tasks/tokenizer.py): the labels it
learns from (data/rawtext.py), raw-text scoring as the CoNLL 2018 script counts (data/conll18.py,
held to the script itself), and raw text through `dynlp tag` and `dynlp evaluate --raw-text`."""
import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest

from conftest import shared_data
from dynlp.config import TrainConfig
from dynlp.data import conll18
from dynlp.data.rawtext import (INSIDE, MULTIWORD_END, SENTENCE_END, TOKEN_END, expand,
                                multiword_table, paragraph_texts, paragraphs,
                                sentences_from_labels)
from dynlp.data.spacing import text_of_sentences
from dynlp.data.treebank import Token, read_conllu, sentence_from_tokens
from dynlp.errors import DataError
from dynlp.models.tokenizer import CharTokenizer, TokenizerConfig
from dynlp.models.tagger.network import BiLSTMTagger
from dynlp.tasks.pipeline import has_tokenizer, minutes_left_for_tokenizer, tagger_minutes
from dynlp.tasks.tokenizer import (end_scores, read_tokenizer_corpus, segment_batches,
                                   tokenized_sentences, train_tokenizer)
from test_treebanks_as_they_come import official_scores

FRENCH = """# newdoc id = d1
# sent_id = 1
# text = Il va au marché.
1	Il	il	PRON	_	_	2	nsubj	_	_
2	va	aller	VERB	_	_	0	root	_	_
3-4	au	_	_	_	_	_	_	_	_
3	à	à	ADP	_	_	5	case	_	_
4	le	le	DET	_	_	5	det	_	_
5	marché	marché	NOUN	_	_	2	obl	_	SpaceAfter=No
6	.	.	PUNCT	_	_	2	punct	_	_

# sent_id = 2
# text = Au revoir!
1-2	Au	_	_	_	_	_	_	_	_
1	À	à	ADP	_	_	3	case	_	_
2	le	le	DET	_	_	3	det	_	_
3	revoir	revoir	NOUN	_	_	0	root	_	SpaceAfter=No
4	!	!	PUNCT	_	_	3	punct	_	_

# newpar
# sent_id = 3
# text = Il dort.
1	Il	il	PRON	_	_	2	nsubj	_	_
2	dort	dormir	VERB	_	_	0	root	_	SpaceAfter=No
3	.	.	PUNCT	_	_	2	punct	_	_

"""


@pytest.fixture
def french(tmp_path):
    path = tmp_path / "fr.conllu"
    path.write_text(FRENCH, encoding="utf-8")
    return list(read_conllu(str(path), ()))


def test_each_character_is_labelled_as_the_treebank_tokenizes_it(french):
    found, left_out = paragraphs(french)
    assert left_out == 0 and [p.text for p in found] == ["Il va au marché. Au revoir!", "Il dort."]
    labels = dict(zip(range(len(found[0].text)), found[0].labels))
    assert labels[1] == TOKEN_END and labels[2] == INSIDE  # "Il", then the space
    assert labels[7] == MULTIWORD_END  # "au"
    assert labels[14] == TOKEN_END and labels[15] == SENTENCE_END  # "marché", "."
    assert found[0].labels[-1] != INSIDE and found[1].labels[-1] == SENTENCE_END


def test_the_gold_labels_give_back_the_treebank_s_sentences_tokens_and_words(french):
    table = multiword_table(french)
    paragraph = paragraphs(french)[0][0]
    sentences = sentences_from_labels(paragraph.text, paragraph.labels, table)
    assert [text for text, _ in sentences] == ["Il va au marché.", "Au revoir!"]
    tokens = sentences[0][1]
    assert [t.form for t in tokens] == ["Il", "va", "au", "marché", "."]
    assert tokens[2].words == ["à", "le"] and tokens[3].space_after is False
    assert sentences[1][1][0].words == ["À", "le"]  # the expansion training saw, as it was


def test_a_multiword_expansion_carries_the_case_over():
    table = {"au": ["à", "le"], "don't": ["do", "n't"]}
    assert expand("Au", table) == ["À", "le"] and expand("AU", table) == ["À", "LE"]
    assert expand("DON'T", table) == ["DO", "N'T"] and expand("xyz", table) is None


def test_a_sentence_is_written_with_its_range_and_space_after(french):
    tokens = [Token("Il", True, ["Il"]), Token("au", False, ["à", "le"]), Token(".", True, ["."])]
    sentence = sentence_from_tokens(tokens, 7, "Il au.", new_paragraph=True)
    assert sentence.lines[:3] == ["# newpar", "# sent_id = 7", "# text = Il au."]
    assert sentence.lines[4].split("\t")[:2] == ["2-3", "au"]
    assert sentence.lines[4].endswith("SpaceAfter=No") and sentence.forms == ["Il", "à", "le", "."]


def test_segments_cover_the_stream_in_windows_of_equal_length(french):
    found, _ = paragraphs(french)
    batches = segment_batches(found, 10, 2, np.random.default_rng(0))
    assert all(len(text) == 10 for batch in batches for text in batch.texts)
    assert all(batch.labels.shape == (10, len(batch.texts)) for batch in batches)


def test_a_file_without_text_has_no_tokenizer_to_learn(tmp_path):
    path = tmp_path / "no-text.conllu"
    path.write_text("\n".join(line for line in FRENCH.split("\n")
                              if not line.startswith("# text")), encoding="utf-8")
    with pytest.raises(DataError, match="no sentence has a '# text'"):
        read_tokenizer_corpus(str(path), None, 0.1)


# ---- raw-text scoring, held to the official script --------------------------------------------
def chain_heads(lines):
    """The lines with a HEAD on every word (the official script checks the tree)."""
    out = []
    for line in lines:
        cells = line.split("\t")
        if len(cells) == 10 and cells[0].isdigit():
            cells[6], cells[7] = ("0", "root") if cells[0] == "1" else (str(int(cells[0]) - 1), "dep")
        out.append("\t".join(cells))
    return out


def damaged_system(gold, rng):
    """The gold text cut by damaged labels (tokens merged and split, sentence ends moved,
    multiword tokens lost and made up), every word given a tag from gold's, some changed."""
    table = multiword_table(gold)
    words = [s.with_tags({}) for s in gold]
    tags = [line.split("\t") for lines in words for line in lines
            if line.split("\t")[0].isdigit()]
    system, number = [], 1
    for paragraph in paragraphs(gold)[0]:
        labels = list(paragraph.labels)
        for i in rng.choice(len(labels), size=len(labels) // 25):
            labels[i] = int(rng.integers(5))
        for text, tokens in sentences_from_labels(paragraph.text, labels, table):
            sentence = sentence_from_tokens(tokens, number, text)
            number += 1
            lines = []
            for line in sentence.lines:
                cells = line.split("\t")
                if cells[0].isdigit():
                    picked = tags[int(rng.integers(len(tags)))]
                    cells[2:6] = [picked[2] if rng.random() < 0.3 else cells[1], *picked[3:6]]
                lines.append("\t".join(cells))
            system.append(lines)
    return system


def write(path, sentences):
    path.write_text("".join("\n".join(chain_heads(lines)) + "\n\n" for lines in sentences),
                    encoding="utf-8")
    return str(path)


def test_raw_text_scores_equal_the_official_script_s(tmp_path):
    gold_path = shared_data("ud_en_ewt", "en_ewt-ud-test.conllu")
    gold = list(read_conllu(gold_path, ()))[:400]  # with multiword tokens and paragraphs
    system = damaged_system(gold, np.random.default_rng(3))
    gold_file = write(tmp_path / "gold.conllu", [s.lines for s in gold])
    system_file = write(tmp_path / "system.conllu", system)
    official = official_scores(gold_file, system_file)
    ours = conll18.evaluate(list(read_conllu(gold_file, ())), list(read_conllu(system_file, ())))
    for metric in conll18.METRICS:
        assert ours[metric][2] == pytest.approx(official[metric].f1, abs=1e-4), metric
        assert ours[metric][2] < 1.0 or metric == "Lemmas"
    assert ours["Words"][2] > 0.8  # damaged, not ruined


def test_text_that_is_not_the_gold_text_is_one_clear_error(french):
    other = [sentence_from_tokens([Token("Il", True, ["Il"]), Token("vu", True, ["vu"])], 1, "Il vu")]
    with pytest.raises(DataError, match="characters differ from the gold text's"):
        conll18.evaluate(french, other)


# ---- learning it, and raw text through the commands -------------------------------------------
def text_of(sentence):
    return next(line[len("# text = "):] for line in sentence.lines if line.startswith("# text = "))


def test_a_token_end_counts_only_with_the_right_multiword_kind():
    """The dev metric picks the model to keep: one that does not expand `au` is not perfect."""
    gold = [[INSIDE, TOKEN_END, INSIDE, MULTIWORD_END, SENTENCE_END]]
    assert end_scores(gold, gold) == {"tokens": 1.0, "sentences": 1.0,
                                      "whole_sentences": 1.0}
    unexpanded = [[INSIDE, TOKEN_END, INSIDE, TOKEN_END, SENTENCE_END]]
    scores = end_scores(gold, unexpanded)
    assert scores["tokens"] == pytest.approx(2 / 3) and scores["sentences"] == 1.0


def test_a_whole_sentence_counts_only_with_both_ends_right():
    """As the CoNLL 2018 Sentences F1: one end moved loses both sentences it touches; the text
    after the last end is a sentence of its own."""
    gold = [[INSIDE, SENTENCE_END, INSIDE, SENTENCE_END, INSIDE, SENTENCE_END]]
    moved = [[INSIDE, SENTENCE_END, INSIDE, INSIDE, SENTENCE_END, SENTENCE_END]]
    scores = end_scores(gold, moved)
    assert scores["sentences"] == pytest.approx(2 / 3)  # two of three ends
    assert scores["whole_sentences"] == pytest.approx(1 / 3)  # one of three sentences
    unended = [[INSIDE, SENTENCE_END, INSIDE, SENTENCE_END, INSIDE, INSIDE]]
    assert end_scores(gold, unended)["whole_sentences"] == 1.0


def tiny_tokenizer(tmp_path, sentences):
    train = paragraphs(sentences)[0] * 20
    config = TokenizerConfig(char_dim=8, category_dim=4, hidden_dim=16, layers=1, mlp_dim=16,
                             window=40, context=10, min_count=1)
    model, state = train_tokenizer(train, paragraphs(sentences)[0], multiword_table(sentences),
                                   config, TrainConfig(epochs=30, lr=0.01, batch_size=4, patience=30, lr_decay=1.0),
                                   str(tmp_path / "tokenizer"))
    return model, state


def test_a_tokenizer_learns_the_treebank_s_tokens_and_sentences(tmp_path, french):
    model, state = tiny_tokenizer(tmp_path, french)
    assert state.history[-1]["dev_score"] > state.history[0]["dev_score"]
    assert state.best == pytest.approx(1.0)
    loaded = CharTokenizer.load(str(tmp_path / "tokenizer"))
    assert loaded.multiwords["au"] == ["à", "le"]
    sentences = list(tokenized_sentences(loaded, ["Il va au marché. Au revoir!"]))
    assert [s.forms for s in sentences] == [["Il", "va", "à", "le", "marché", "."],
                                            ["À", "le", "revoir", "!"]]
    assert sentences[0].lines[1:3] == ["# sent_id = 1", "# text = Il va au marché."]


def test_memory_is_bounded_by_the_window_not_the_line(tmp_path, french):
    """A paragraph of 20,000 characters is read in windows: every character labelled, and the
    words give back its text."""
    model, _ = tiny_tokenizer(tmp_path, french)
    text = " ".join(["Il va au marché."] * 1250)
    sentences = list(tokenized_sentences(model, [text]))
    assert " ".join(text_of(s) for s in sentences) == text
    assert len(sentences) == 1250


def dynlp(*args, stdin=None):
    return subprocess.run([sys.executable, "-m", "dynlp.cli", *args], capture_output=True,
                          text=True, input=stdin)


@pytest.fixture(scope="module")
def sample_with_tokenizer(tmp_path_factory):
    """A tagger trained on data/sample.conllu, its tokenizer beside it."""
    out = tmp_path_factory.mktemp("sample") / "model"
    sample = os.path.join(os.path.dirname(__file__), "..", "data", "sample.conllu")
    done = dynlp("train-tagger", sample, "-o", str(out), "--epochs", "3", "--tokenizer-minutes",
                 "0.2", "--quiet")
    assert done.returncode == 0, done.stderr
    return str(out), sample


def test_train_tagger_learns_a_tokenizer_and_tag_reads_paragraphs(sample_with_tokenizer):
    model, _ = sample_with_tokenizer
    assert os.path.isfile(os.path.join(model, "tokenizer", "config.json"))
    text = "The cat sat on the mat . A dog barked .\n\nThe dog sat .\n"
    done = dynlp("tag", "-m", model, "--input", "text", "-", stdin=text)
    assert done.returncode == 0, done.stderr
    texts = [line[len("# text = "):] for line in done.stdout.split("\n")
             if line.startswith("# text = ")]
    assert " ".join(texts) == " ".join(text.split())  # every character, in order
    assert done.stdout.count("# newpar") == 2


def test_max_minutes_bounds_the_tagger_and_its_tokenizer_together():
    assert tagger_minutes(20, 4) == 16 and tagger_minutes(0, 4) == 0  # 0: no bound
    assert tagger_minutes(3, 4) == 1.5  # a bound under twice the tokenizer's: halves
    now = time.time()
    # The tagger ran 0.4 minutes past its 16 (its last dev scoring, saving): the tokenizer
    # gets what is left of the 20, not its 4.
    assert minutes_left_for_tokenizer(20, 4, now - 60 * 16.4) == pytest.approx(3.6, abs=0.01)
    assert minutes_left_for_tokenizer(20, 4, now - 60 * 10) == 4  # never more than its own
    assert minutes_left_for_tokenizer(20, 4, now - 60 * 25) == pytest.approx(0.4)  # a tenth
    assert minutes_left_for_tokenizer(0, 4, now - 60 * 99) == 4


@pytest.mark.parametrize("skip", [False, True])
def test_the_tagger_recipe_learns_the_tokenizer_too(tmp_path, skip):
    recipe = os.path.join(os.path.dirname(__file__), "..", "recipes", "train_tagger.py")
    out = tmp_path / "model"
    done = subprocess.run([sys.executable, recipe, "-o", str(out), "--epochs", "2",
                           "--max-minutes", "0.4", "--tokenizer-minutes", "0.1"]
                          + ["--no-tokenizer"] * skip, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert BiLSTMTagger.load(str(out)).columns  # the tagger, whole
    assert has_tokenizer(str(out)) != skip
    assert ("tokenizer in" in done.stderr) != skip


def test_evaluate_raw_text_reports_the_conll_2018_figures(sample_with_tokenizer):
    model, sample = sample_with_tokenizer
    done = dynlp("evaluate", "-m", model, sample, "--raw-text", "--json")
    assert done.returncode == 0, done.stderr
    scores = json.loads(done.stdout)
    assert set(scores) == set(conll18.METRICS)
    assert 0 < scores["UPOS"]["f1"] <= scores["Words"]["f1"] <= 1


def test_a_tagger_without_a_tokenizer_says_how_it_splits_text(tmp_path):
    sample = os.path.join(os.path.dirname(__file__), "..", "data", "sample.conllu")
    out = str(tmp_path / "m")
    assert dynlp("train-tagger", sample, "-o", out, "--epochs", "1", "--no-tokenizer",
                 "--quiet").returncode == 0
    done = dynlp("tag", "-m", out, "--input", "text", "-", stdin="The cat sat .\n")
    assert done.returncode == 0 and "has no tokenizer" in done.stderr
    assert "The\tThe" not in done.stdout and "2\tcat" in done.stdout
    raw = dynlp("evaluate", "-m", out, sample, "--raw-text")
    assert raw.returncode == 2 and "has no tokenizer" in raw.stderr


def test_a_paragraph_without_final_punctuation_is_one_sentence_to_its_end():
    text = "no full stop  here\tat all"
    sentences = sentences_from_labels(text, [INSIDE] * len(text))
    assert [(t, [k.form for k in tokens]) for t, tokens in sentences] == [
        (text, ["no", "full", "stop", "here", "at", "all"])]
    assert sentences[0][1][1].space_after and sentences[0][1][-1].space_after


def test_raw_text_mistakes_are_one_line_each(sample_with_tokenizer, tmp_path):
    model, sample = sample_with_tokenizer
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"The cat sat.\n\nA dog \xff barked.\n")
    for argv, message in (
            (["--input", "text", str(empty)], "no sentences to tag"),
            (["--input", "text", str(bad)], "bad.txt:3"),
            (["--input", "text", sample], "looks like CoNLL-U, not text"),
            ([str(tmp_path / "plain.txt")], "(plain text? `dynlp tag --input text` reads it)")):
        if argv[-1].endswith("plain.txt"):
            (tmp_path / "plain.txt").write_text("The cat sat.\n")
        out = tmp_path / "out.conllu"
        done = dynlp("tag", "-m", model, *argv, "-o", str(out))
        assert done.returncode == 2 and message in done.stderr, (argv, done.stderr)
        assert len(done.stderr.strip().splitlines()) == 1 and not out.exists()


def test_tag_reads_a_line_of_a_megabyte(sample_with_tokenizer, tmp_path):
    """One line of 1.1 MB and no final newline (a line that long used to be refused): read in
    pieces, every character comes back in the sentences' `# text`."""
    model, _ = sample_with_tokenizer
    text = " ".join(["The", "cat", "x" * 1000, "sat", "."] * 1100)
    path = tmp_path / "long.txt"
    path.write_text(text, encoding="utf-8")
    done = dynlp("tag", "-m", model, "--input", "text", str(path), "--quiet")
    assert done.returncode == 0, done.stderr
    texts = [line[len("# text = "):] for line in done.stdout.split("\n")
             if line.startswith("# text = ")]
    assert len(text.encode()) > 1_100_000 and " ".join(texts) == text


def test_tag_gives_back_its_input_exactly(sample_with_tokenizer, tmp_path):
    """CRLF, a tab, several spaces, blank lines before, between and after, no final newline:
    the output's forms and MISC spacing (data/spacing.py) give back every character."""
    model, _ = sample_with_tokenizer
    text = "\n  The cat sat.\tA dog  barked .\r\n\r\n\r\nThe dog\u00a0sat\n\n\t\nok then"
    path, out = tmp_path / "in.txt", tmp_path / "out.conllu"
    path.write_bytes(text.encode())
    done = dynlp("tag", "-m", model, "--input", "text", str(path), "-o", str(out), "--quiet")
    assert done.returncode == 0, done.stderr
    assert text_of_sentences(read_conllu(str(out), ())) == text


def test_control_characters_and_mixed_scripts_come_back_as_they_were(sample_with_tokenizer):
    model, _ = sample_with_tokenizer
    text = "The cat\u00a0sat on the mat . Кошка сидит . 猫が座った . ok\u200bthen"
    done = dynlp("tag", "-m", model, "--input", "text", "-", stdin=text)
    assert done.returncode == 0, done.stderr
    texts = [line[len("# text = "):] for line in done.stdout.split("\n")
             if line.startswith("# text = ")]
    assert "".join(texts).replace(" ", "") == text.replace(" ", "")  # NBSP, ZWSP kept


def test_a_string_is_not_a_sentence_of_words(sample_with_tokenizer):
    from dynlp.models.tagger.network import BiLSTMTagger
    from dynlp.errors import ConfigError

    tagger = BiLSTMTagger.load(sample_with_tokenizer[0])
    with pytest.raises(ConfigError, match="lists of words, not strings"):
        tagger.predict("Le chat dort.")
    assert len(tagger.predict(["Le", "chat", "dort", "."])["upos"]) == 4


def test_serve_tags_raw_text_as_dynlp_tag_does(sample_with_tokenizer):
    from dynlp.serve.worker import load_models, run_batch

    model, _ = sample_with_tokenizer
    text = "The cat sat on the mat . A dog barked .\n\nThe dog sat .\n"
    models = load_models([model])
    answer = run_batch(models, {"model": os.path.basename(model), "job": "tag",
                                "requests": [{"text": text}]}, 10_000)[0]
    done = dynlp("tag", "-m", model, "--input", "text", "-", stdin=text)
    assert answer["ok"]["conllu"] == done.stdout


def test_a_multiword_token_never_seen_is_cut_by_a_suffix_several_forms_share():
    from dynlp.data.rawtext import split_by_suffix, suffix_rules

    table = {"terrell's": ["terrell", "'s"], "bob's": ["bob", "'s"], "don't": ["do", "n't"],
             "du": ["de", "le"], "Bob's": ["Bob", "'s"]}
    rules = suffix_rules(table)
    assert rules == {"'s": 2}  # n't: one form only; du is not its words spelled out
    assert expand("Google's", table, rules) == ["Google", "'s"]
    assert expand("PORTILLO'S", table, rules) == ["PORTILLO", "'S"]
    assert expand("won't", table, rules) is None and expand("au", table, rules) is None
    assert split_by_suffix("'s", rules) is None  # nothing would be left before it


def test_tokenizing_in_numpy_gives_the_graph_s_labels(tmp_path, french):
    from dynlp.backend import dynet
    from dynlp.models.tokenizer import NumpyTokenizer

    model, _ = tiny_tokenizer(tmp_path, french)
    rng = np.random.default_rng(5)
    for row in range(model.E.as_array().shape[0]):  # not only what it learned
        model.E.init_row(row, rng.normal(size=model.E.as_array().shape[1]))
    texts = ["Il va au marché. Au revoir!", "Il dort. Au marché il va!!"]
    texts = [t[:24] for t in texts]
    dynet().renew_cg()
    graph = model.encode(texts)
    graph_scores = np.stack([s.npvalue() for s in graph])  # (T, 5, B)
    ours = NumpyTokenizer(model).scores(texts)  # (B, T, 5)
    np.testing.assert_allclose(ours, graph_scores.transpose(2, 0, 1), rtol=1e-4, atol=1e-5)
    model.freeze()
    assert (np.stack(model.label_texts(texts), axis=1) == graph_scores.argmax(axis=1)).all()
    # Texts of other lengths in one numpy batch, longest first: each as it is alone.
    uneven = ["Il va au marché. Au revoir!", "Il dort.", "Au"]
    together = model.label_texts(uneven)
    for text, labels in zip(uneven, together):
        assert (labels == model.label_texts([text])[0]).all() and len(labels) == len(text)
