"""BiLSTMTagger: learning the sample treebank, saving, and the tagging commands."""
import dataclasses
import json

import numpy as np
import pytest

from dynlp.cli import main
from dynlp.config import TaggerConfig, TrainConfig
from dynlp.pipeline import score_tagger, train_tagger
from dynlp.tagger import BiLSTMTagger, tag_batch
from dynlp.treebank import read_treebank
from conftest import shared_data

SAMPLE = "data/sample.conllu"
SMALL = TaggerConfig(layers=1, emb_dim=32, char_dim=16, hidden_dim=48, mlp_dim=32, dropout=0.1,
                     word_dropout=0.1)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    sentences = read_treebank(SAMPLE)
    out = str(tmp_path_factory.mktemp("tagger") / "model")
    config = TrainConfig(epochs=12, batch_size=2, lr=0.01, patience=12)
    model, _ = train_tagger(sentences, sentences, SMALL, config, out)
    return model, out, sentences


def test_learns_the_sample_treebank(trained):
    model, _, sentences = trained
    assert score_tagger(model, sentences).summary()["accuracy"] >= 0.95


def test_save_then_load_predicts_the_same(tmp_path):
    sentences = read_treebank(SAMPLE)
    model = BiLSTMTagger.from_training_data(SMALL, [(s.forms, s.tags) for s in sentences])
    model.save(str(tmp_path / "untrained"))  # random weights: any save/load slip shows
    loaded = BiLSTMTagger.load(str(tmp_path / "untrained"))
    forms = [s.forms for s in sentences] + [["Unseen", "words", "like", "Zyx", "tag", "too"]]
    assert loaded.predict_many(forms) == model.predict_many(forms)
    assert loaded.predict(forms[-1]) == model.predict(forms[-1])


def test_a_sentence_is_tagged_the_same_alone_or_padded_in_a_batch():
    sentences = read_treebank(SAMPLE)
    model = BiLSTMTagger.from_training_data(SMALL, [(s.forms, s.tags) for s in sentences])
    long_word = "https://example.org/a/very/long/address/indeed"  # over 30 characters
    batch = [["A"], ["dog", long_word, "barked", "."], sentences[0].forms, ["x", "y"]]
    together = model._logits(batch).npvalue().reshape(len(model.tags), -1, len(batch))
    for b, forms in enumerate(batch):
        alone = model._logits([forms]).npvalue().reshape(len(model.tags), -1)
        np.testing.assert_allclose(together[:, :len(forms), b], alone, atol=1e-5)
    assert model.predict([]) == [] and model.predict_many([["a"], []])[1] == []


def test_first_layer_inputs_computed_once_per_form_equal_per_position(trained):
    model, _, sentences = trained
    batch = [s.forms for s in sentences[:6]] + [["Zyx", "https://example.org/a/very/long/path"]]
    per_form = model._logits(batch).npvalue()  # not training: W_x x + b once per form
    per_position = model._logits(batch, per_form=False).npvalue()  # the training path
    np.testing.assert_allclose(per_form, per_position, atol=1e-5)
    one_at_a_time = [model.predict_batch([forms])[0] for forms in batch]
    assert model.predict_many(batch) == one_at_a_time


def test_predictions_never_contain_special_tokens(trained):
    model, _, _ = trained
    bias = model.mlp.b2.as_array()
    bias[:4] = 100.0  # make the special "tags" by far the likeliest
    model.mlp.b2.set_value(bias)
    try:
        tags = model.predict(["<unk>", "qqqq", "!!!"])
    finally:
        bias[:4] = 0.0
        model.mlp.b2.set_value(bias)
    assert not {"<pad>", "<unk>", "<s>", "</s>"} & set(tags) and len(tags) == 3


def test_tag_command_changes_only_the_tag_column(trained, tmp_path):
    _, out, _ = trained
    tagged = tmp_path / "tagged.conllu"
    assert main(["tag", "-m", out, SAMPLE, "-o", str(tagged)]) == 0
    original = open(SAMPLE, encoding="utf-8").read().splitlines()
    result = tagged.read_text(encoding="utf-8").splitlines()
    assert len(result) == len(original)
    for old, new in zip(original, result):
        a, b = old.split("\t"), new.split("\t")
        assert a[:3] + a[4:] == b[:3] + b[4:]  # every column but UPOS as it was
    expected = [tag for tags in trained[0].predict_many([s.forms for s in trained[2]])
                for tag in tags]
    written = [line.split("\t")[3] for line in result if line.split("\t")[0].isdigit()]
    assert written == expected


def test_tag_plain_text_writes_fresh_conllu(trained, tmp_path, capsys):
    _, out, _ = trained
    text = tmp_path / "plain.txt"
    text.write_text("The dog sat on the mat.\n\nMy sister reads books.\n", encoding="utf-8")
    assert main(["tag", "-m", out, str(text), "--input", "text"]) == 0
    lines = capsys.readouterr().out.splitlines()
    words = [line.split("\t") for line in lines if line and not line.startswith("#")]
    assert [w[1] for w in words[:7]] == ["The", "dog", "sat", "on", "the", "mat", "."]
    assert "# text = My sister reads books." in lines and words[0][3] == "DET"


def test_evaluate_prints_report_and_json(trained, capsys):
    _, out, _ = trained
    assert main(["evaluate", "-m", out, SAMPLE]) == 0
    report = capsys.readouterr().out
    assert "accuracy" in report and "NOUN" in report and "confusions" in report
    assert main(["evaluate", "-m", out, SAMPLE, "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert 0.95 <= summary["accuracy"] <= 1 and summary["tokens"] == 301
    assert summary["oov_tokens"] == 0 and summary["oov_accuracy"] is None  # trained on it


def test_train_tagger_command_and_bad_output_path(tmp_path, capsys):
    out = tmp_path / "cli-tagger"
    assert main(["train-tagger", SAMPLE, "-o", str(out), "--epochs", "1", "--layers", "1",
                 "--hidden-dim", "16", "--quiet"]) == 0
    assert (out / "config.json").exists() and (out / "last" / "config.json").exists()
    assert main(["tag", "-m", str(out), SAMPLE, "-o", str(tmp_path / "no" / "x.conllu")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["sample", "-m", str(out)]) == 2  # a tagger is not a language model
    assert "not a language-model" in capsys.readouterr().err


def test_one_epoch_on_ewt_reaches_85_percent(tmp_path):
    train = read_treebank(shared_data("ud_en_ewt", "en_ewt-ud-train.conllu"))[:2000]
    dev = read_treebank(shared_data("ud_en_ewt", "en_ewt-ud-dev.conllu"))
    config = TaggerConfig(layers=1, dropout=0.1, word_dropout=0.1)
    _, state = train_tagger(train, dev, config, TrainConfig(epochs=1, batch_size=4, lr=0.005),
                            str(tmp_path / "ewt"))
    assert state.history[-1]["dev_accuracy"] >= 0.85


def test_scores_by_hand():
    from dynlp.metrics import TaggingScores

    scores = TaggingScores()
    scores.add(["NOUN", "VERB", "NOUN", "DET"], ["NOUN", "NOUN", "NOUN", "DET"],
               [False, True, True, False])
    summary = scores.summary()
    assert summary["accuracy"] == 0.75 and summary["oov_accuracy"] == 0.5
    noun = summary["per_tag"]["NOUN"]  # predicted 3 times, right twice; gold twice, found both
    assert noun["precision"] == pytest.approx(2 / 3) and noun["recall"] == 1.0
    assert noun["f1"] == pytest.approx(0.8)
    assert summary["per_tag"]["VERB"]["recall"] == 0.0
    assert summary["confusions"] == [{"gold": "VERB", "predicted": "NOUN", "count": 1}]


def test_padded_batch_loss_is_the_sum_of_its_sentences_losses():
    sentences = read_treebank(SAMPLE)
    two_layers = dataclasses.replace(SMALL, layers=2)
    model = BiLSTMTagger.from_training_data(two_layers, [(s.forms, s.tags) for s in sentences])
    chosen = [sentences[i] for i in (3, 0, 7, 1)]  # different lengths, not sorted
    batch = tag_batch([s.forms for s in chosen], [model.tags.encode(s.tags) for s in chosen],
                      model.tags.pad)
    together = model.loss(batch).value()
    alone = sum(model.loss(tag_batch([s.forms], [model.tags.encode(s.tags)], model.tags.pad))
                .value() for s in chosen)
    assert together == pytest.approx(alone, rel=1e-5)


def test_character_vectors_equal_the_builders_reading_each_embedding():
    """The character LSTMs' W_x C[c] + b comes from one product over the batch's distinct
    characters (BiLSTMTagger._char_projections); it must equal DyNet's builders reading C[c]."""
    from dynlp.backend import dynet
    from dynlp.tagger import _clip

    dy = dynet()
    sentences = read_treebank(SAMPLE)
    model = BiLSTMTagger.from_training_data(SMALL, [(s.forms, s.tags) for s in sentences])
    forms = sorted({"A", "dog", "barked", "Zyx", "https://example.org/a/very/long/address"},
                   key=len)
    dy.renew_cg()
    ours = model._char_encode(forms).npvalue()  # (2 char_dim, forms)
    for i, form in enumerate(forms):
        ids = [model.chars.bos] + model.chars.encode(_clip(form)) + [model.chars.eos]
        embeddings = [model.C[c] for c in ids]
        ahead = model.char_forward.initial_state().transduce(embeddings)[-1]
        behind = model.char_backward.initial_state().transduce(embeddings[::-1])[-1]
        np.testing.assert_allclose(ours[:, i], dy.concatenate([ahead, behind]).npvalue(),
                                   atol=1e-5)


def test_one_update_trains_the_character_embeddings_and_lstms():
    from dynlp.train import make_trainer

    sentences = read_treebank(SAMPLE)[:2]
    model = BiLSTMTagger.from_training_data(SMALL, [(s.forms, s.tags) for s in sentences])
    used = sorted({c for s in sentences for form in s.forms for c in model.chars.encode(form)})
    weights = [p for lstm in (model.char_forward, model.char_backward)
               for p in lstm.get_parameters()[0]]
    before = [model.C.as_array()[used].copy()] + [p.as_array().copy() for p in weights]
    one_update(model, make_trainer(model.pc, TrainConfig(), 0.01),
               [(s.forms, s.tags) for s in sentences])
    after = [model.C.as_array()[used]] + [p.as_array() for p in weights]
    for old, new in zip(before, after):
        assert not np.allclose(old, new)
    assert not np.any(np.isclose(before[0], after[0]).all(axis=1))  # every used row moved


def test_characters_a_batch_does_not_use_are_left_alone():
    """Sparse (lazy) updates, as for lookups: a character row moved by one batch must not keep
    moving on Adam's momentum in a batch that does not contain it."""
    from dynlp.train import make_trainer

    first, second = [["Xylophones", "quiz"]], [["a", "dog", "barked"]]
    model = BiLSTMTagger.from_training_data(SMALL, [(first[0], ["NOUN", "VERB"]),
                                                    (second[0], ["DET", "NOUN", "VERB"])])
    trainer = make_trainer(model.pc, TrainConfig(), 0.01)
    for sentences, tags in ((first, [["NOUN", "VERB"]]), (second, [["DET", "NOUN", "VERB"]])):
        before = model.C.as_array().copy()
        one_update(model, trainer, list(zip(sentences, tags)))
    x = model.chars.id("X")  # in the first batch only
    assert np.array_equal(model.C.as_array()[x], before[x])
    assert not np.allclose(model.C.as_array()[model.chars.id("g")], before[model.chars.id("g")])


def one_update(model, trainer, pairs):
    """One training step of `model` on a batch of (forms, tags) pairs."""
    from dynlp.backend import dynet

    dynet().renew_cg()
    model.loss(tag_batch([forms for forms, _ in pairs],
                         [model.tags.encode(tags) for _, tags in pairs], model.tags.pad)).backward()
    trainer.update()
