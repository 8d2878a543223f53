"""BiLSTMTagger: learning the sample treebank, saving, and the tagging commands."""
import dataclasses
import json

import numpy as np
import pytest

from dynlp.cli import main
from dynlp.config import TrainConfig
from dynlp.models.tagger.config import TaggerConfig
from dynlp.tasks import score_tagger, train_tagger
from dynlp.models.tagger.network import BiLSTMTagger, tag_batch
from dynlp.data.treebank import read_treebank
from conftest import shared_data

SAMPLE = "data/sample.conllu"
SMALL = TaggerConfig(columns="upos", layers=1, emb_dim=32, char_dim=16, hidden_dim=48, mlp_dim=32,
                     dropout=0.1, word_dropout=0.1, ensemble=1)


def pairs(sentences, columns=("upos",)):
    """(forms, {column: tags}) of each sentence, as a tagger trains on them."""
    return [(s.forms, {c: s.tags[c] for c in columns}) for s in sentences]


def upos_scores(model, sentences, per_form=None):
    """The UPOS head's scores at every position of a padded batch, (tags, T * B)."""
    from dynlp.backend import dynet

    dynet().renew_cg()
    return model.heads[0].mlp(model.states(sentences, per_form)).npvalue()


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    sentences = read_treebank(SAMPLE)
    out = str(tmp_path_factory.mktemp("tagger") / "model")
    config = TrainConfig(epochs=12, batch_size=2, lr=0.01, patience=12)
    # Columns not given: UPOS and XPOS, which the sample fills (its FEATS are all '_').
    model, _ = train_tagger(sentences, sentences, dataclasses.replace(SMALL, columns=""), config,
                            out)
    return model, out, sentences


def test_learns_the_sample_treebank(trained):
    model, _, sentences = trained
    assert model.columns == ["upos", "xpos"]  # FEATS is '_' throughout: skipped
    columns = score_tagger(model, sentences).summary()["columns"]
    assert set(columns) == {"upos", "xpos", "alltags"}
    assert min(scores["accuracy"] for scores in columns.values()) >= 0.95


def test_save_then_load_predicts_the_same(tmp_path):
    sentences = read_treebank(SAMPLE)
    model = BiLSTMTagger.from_training_data(dataclasses.replace(SMALL, columns="upos,xpos"),
                                            pairs(sentences, ("upos", "xpos")))
    model.save(str(tmp_path / "untrained"))  # random weights: any save/load slip shows
    loaded = BiLSTMTagger.load(str(tmp_path / "untrained"))
    forms = [s.forms for s in sentences] + [["Unseen", "words", "like", "Zyx", "tag", "too"]]
    assert loaded.predict_many(forms) == model.predict_many(forms)
    assert loaded.predict(forms[-1]) == model.predict(forms[-1])


def test_a_sentence_is_tagged_the_same_alone_or_padded_in_a_batch():
    sentences = read_treebank(SAMPLE)
    model = BiLSTMTagger.from_training_data(SMALL, pairs(sentences))
    long_word = "https://example.org/a/very/long/address/indeed"  # over 30 characters
    batch = [["A"], ["dog", long_word, "barked", "."], sentences[0].forms, ["x", "y"]]
    tags = len(model.heads[0].vocab)
    together = upos_scores(model, batch).reshape(tags, -1, len(batch))
    for b, forms in enumerate(batch):
        alone = upos_scores(model, [forms]).reshape(tags, -1)
        np.testing.assert_allclose(together[:, :len(forms), b], alone, atol=1e-5)
    assert model.predict([]) == {"upos": []} and model.predict_many([["a"], []])[1] == {"upos": []}


def test_first_layer_inputs_computed_once_per_form_equal_per_position(trained):
    model, _, sentences = trained
    batch = [s.forms for s in sentences[:6]] + [["Zyx", "https://example.org/a/very/long/path"]]
    per_form = upos_scores(model, batch)  # not training: W_x x + b once per form
    per_position = upos_scores(model, batch, per_form=False)  # the training path
    np.testing.assert_allclose(per_form, per_position, atol=1e-5)
    one_at_a_time = [model.predict_batch([forms])[0] for forms in batch]
    assert model.predict_many(batch) == one_at_a_time


def test_predictions_never_contain_special_tokens(trained):
    model, _, _ = trained
    for head in model.heads:
        bias = head.mlp.b2.as_array()
        bias[:4] = 100.0  # make the special "tags" by far the likeliest
        head.mlp.b2.set_value(bias)
        try:
            tags = model.predict(["<unk>", "qqqq", "!!!"])[head.column]
        finally:
            bias[:4] = 0.0
            head.mlp.b2.set_value(bias)
        assert not {"<pad>", "<unk>", "<s>", "</s>"} & set(tags) and len(tags) == 3


def test_tag_command_changes_only_the_trained_columns(trained, tmp_path):
    _, out, _ = trained
    tagged = tmp_path / "tagged.conllu"
    assert main(["tag", "-m", out, SAMPLE, "-o", str(tagged)]) == 0
    original = open(SAMPLE, encoding="utf-8").read().splitlines()
    result = tagged.read_text(encoding="utf-8").splitlines()
    assert len(result) == len(original)
    for old, new in zip(original, result):
        a, b = old.split("\t"), new.split("\t")
        assert a[:3] + a[5:] == b[:3] + b[5:]  # every column but UPOS and XPOS as it was
    predicted = trained[0].predict_many([s.forms for s in trained[2]])
    rows = [line.split("\t") for line in result if line.split("\t")[0].isdigit()]
    assert [r[3] for r in rows] == [tag for tags in predicted for tag in tags["upos"]]
    assert [r[4] for r in rows] == [tag for tags in predicted for tag in tags["xpos"]]


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
    assert "UPOS" in report and "XPOS" in report and "AllTags" in report
    assert main(["evaluate", "-m", out, SAMPLE, "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    # The confusions heading only above confusions (a tagger right on every word has none).
    assert "NOUN" in report and ("confusions" in report) == bool(summary["confusions"])
    assert 0.95 <= summary["accuracy"] <= 1 and summary["tokens"] == 301
    assert summary["oov_tokens"] == 0 and summary["oov_accuracy"] is None  # trained on it
    assert summary["columns"]["upos"]["accuracy"] == summary["accuracy"]
    assert 0.95 <= summary["columns"]["alltags"]["accuracy"] <= summary["columns"]["xpos"]["accuracy"]


def test_train_tagger_command_and_bad_output_path(tmp_path, capsys):
    out = tmp_path / "cli-tagger"
    assert main(["train-tagger", SAMPLE, "-o", str(out), "--epochs", "1", "--layers", "1",
                 "--hidden-dim", "16", "--quiet"]) == 0
    assert (out / "config.json").exists() and (out / "last" / "config.json").exists()
    assert main(["tag", "-m", str(out), SAMPLE, "-o", str(tmp_path / "no" / "x.conllu")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["sample", "-m", str(out)]) == 2  # a tagger is not a language model
    assert "not a language model" in capsys.readouterr().err


def test_one_epoch_on_ewt_reaches_85_percent(tmp_path):
    train = read_treebank(shared_data("ud_en_ewt", "en_ewt-ud-train.conllu"))[:2000]
    dev = read_treebank(shared_data("ud_en_ewt", "en_ewt-ud-dev.conllu"))
    config = TaggerConfig(columns="upos", layers=1, dropout=0.1, word_dropout=0.1)
    _, state = train_tagger(train, dev, config, TrainConfig(epochs=1, batch_size=4, lr=0.005),
                            str(tmp_path / "ewt"))
    assert state.history[-1]["dev_upos"] >= 0.85


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
    model = BiLSTMTagger.from_training_data(two_layers, pairs(sentences))
    chosen = pairs([sentences[i] for i in (3, 0, 7, 1)])  # different lengths, not sorted
    together = model.loss(tag_batch([f for f, _ in chosen], [t for _, t in chosen])).value()
    alone = sum(model.loss(tag_batch([forms], [tags])).value() for forms, tags in chosen)
    assert together == pytest.approx(alone, rel=1e-5)


def test_character_vectors_equal_the_builders_reading_each_embedding():
    """The character LSTMs' W_x C[c] + b comes from one product over the batch's distinct
    characters (BiLSTMTagger._char_projections); it must equal DyNet's builders reading C[c]."""
    from dynlp.backend import dynet
    from dynlp.models.tagger.encoder import clip

    dy = dynet()
    sentences = read_treebank(SAMPLE)
    encoder = BiLSTMTagger.from_training_data(SMALL, pairs(sentences)).encoder
    forms = sorted({"A", "dog", "barked", "Zyx", "https://example.org/a/very/long/address"},
                   key=len)
    dy.renew_cg()
    ours = encoder._char_encode(forms).npvalue()  # (2 char_dim, forms)
    for i, form in enumerate(forms):
        ids = [encoder.chars.bos] + encoder.chars.encode(clip(form)) + [encoder.chars.eos]
        embeddings = [encoder.C[c] for c in ids]
        ahead = encoder.char_forward.initial_state().transduce(embeddings)[-1]
        behind = encoder.char_backward.initial_state().transduce(embeddings[::-1])[-1]
        np.testing.assert_allclose(ours[:, i], dy.concatenate([ahead, behind]).npvalue(),
                                   atol=1e-5)


def test_one_update_trains_the_character_embeddings_and_lstms():
    from dynlp.training.loop import make_trainer

    sentences = read_treebank(SAMPLE)[:2]
    model = BiLSTMTagger.from_training_data(SMALL, pairs(sentences))
    encoder = model.encoder
    used = sorted({c for s in sentences for form in s.forms for c in model.chars.encode(form)})
    weights = [p for lstm in (encoder.char_forward, encoder.char_backward)
               for p in lstm.get_parameters()[0]]
    before = [encoder.C.as_array()[used].copy()] + [p.as_array().copy() for p in weights]
    one_update(model, make_trainer(model.pc, TrainConfig(), 0.01), pairs(sentences))
    after = [encoder.C.as_array()[used]] + [p.as_array() for p in weights]
    for old, new in zip(before, after):
        assert not np.allclose(old, new)
    assert not np.any(np.isclose(before[0], after[0]).all(axis=1))  # every used row moved


def test_characters_a_batch_does_not_use_are_left_alone():
    """Sparse (lazy) updates, as for lookups: a character row moved by one batch must not keep
    moving on Adam's momentum in a batch that does not contain it."""
    from dynlp.training.loop import make_trainer

    first = (["Xylophones", "quiz"], {"upos": ["NOUN", "VERB"]})
    second = (["a", "dog", "barked"], {"upos": ["DET", "NOUN", "VERB"]})
    model = BiLSTMTagger.from_training_data(SMALL, [first, second])
    C = model.encoder.C
    trainer = make_trainer(model.pc, TrainConfig(), 0.01)
    for batch in ([first], [second]):
        before = C.as_array().copy()
        one_update(model, trainer, batch)
    x = model.chars.id("X")  # in the first batch only
    assert np.array_equal(C.as_array()[x], before[x])
    assert not np.allclose(C.as_array()[model.chars.id("g")], before[model.chars.id("g")])


def one_update(model, trainer, batch):
    """One training step of `model` on a batch of (forms, {column: tags}) pairs."""
    from dynlp.backend import dynet

    dynet().renew_cg()
    model.loss(tag_batch([forms for forms, _ in batch], [tags for _, tags in batch])).backward()
    trainer.update()


# ---- several columns ---------------------------------------------------------------------------
MORPHOLOGY = """\
# sent_id = m1
1\tA\ta\tDET\tDT\tDefinite=Ind|PronType=Art\t2\tdet\t_\t_
2\tdog\tdog\tNOUN\tNN\tNumber=Sing\t3\tnsubj\t_\t_
3\tbarks\tbark\tVERB\tVBZ\tMood=Ind|Number=Sing|Person=3|Tense=Pres|VerbForm=Fin\t0\troot\t_\t_
4\t.\t.\tPUNCT\t.\t_\t3\tpunct\t_\t_

# sent_id = m2
1\tThe\tthe\tDET\tDT\tDefinite=Def|PronType=Art\t2\tdet\t_\t_
2\tdogs\tdog\tNOUN\tNNS\tNumber=Plur\t3\tnsubj\t_\t_
3\tbarked\tbark\tVERB\tVBD\tMood=Ind|Tense=Past|VerbForm=Fin\t0\troot\t_\t_
4\t.\t.\tPUNCT\t.\t_\t3\tpunct\t_\t_

# sent_id = m3
1\tCats\tcat\tNOUN\tNNS\tNumber=Plur\t2\tnsubj\t_\t_
2\tsleep\tsleep\tVERB\tVBP\tMood=Ind|Tense=Pres|VerbForm=Fin\t0\troot\t_\t_
3\t.\t.\tPUNCT\t.\t_\t2\tpunct\t_\t_

"""


@pytest.mark.parametrize("feats, smoothing", [("bundle", 0.0), ("split", 0.0), ("bundle", 0.1),
                                              ("split", 0.1)])
def test_one_model_learns_upos_xpos_feats_and_lemmas(tmp_path, feats, smoothing):
    path = tmp_path / "morphology.conllu"
    path.write_text(MORPHOLOGY, encoding="utf-8")
    sentences = read_treebank(str(path)) * 4
    config = dataclasses.replace(SMALL, columns="", feats=feats, label_smoothing=smoothing)
    model, _ = train_tagger(sentences, sentences, config,
                            TrainConfig(epochs=25, batch_size=2, lr=0.01, patience=25),
                            str(tmp_path / "model"))
    assert model.columns == ["upos", "xpos", "feats", "lemma"] and model.config.feats == feats
    predicted = model.predict(sentences[0].forms)
    assert predicted == {c: sentences[0].tags[c] for c in ("upos", "xpos", "feats", "lemma")}
    columns = score_tagger(model, sentences).summary()["columns"]
    assert set(columns) == {"upos", "xpos", "feats", "lemma", "ufeats", "alltags"}
    assert all(scores["accuracy"] == 1.0 for scores in columns.values())


def test_feature_head_writes_bundles_in_canonical_order():
    from dynlp.models.tagger.heads import feature_values, join_bundle, split_bundle
    from dynlp.data.vocab import Vocab

    vocab = Vocab.build([["Number=Sing|Person=3", "Case=Nom|Number[psor]=Plur", "_"]])
    assert feature_values(vocab) == {"Case": ["_", "Nom"], "Number": ["_", "Sing"],
                                     "Number[psor]": ["_", "Plur"], "Person": ["_", "3"]}
    assert split_bundle("_") == {} and split_bundle("Case=Nom") == {"Case": "Nom"}
    assert join_bundle(["Person=3", "Number[psor]=Plur", "case=x"]) == \
        "case=x|Number[psor]=Plur|Person=3"
    assert join_bundle([]) == "_"


def test_ufeats_and_alltags_as_the_conll_2018_script_counts_them():
    from dynlp.metrics import TreebankScores

    scores = TreebankScores(["upos", "xpos", "feats"])
    gold = {"upos": ["NOUN", "VERB"], "xpos": ["NN", "VB"],
            "feats": ["Number=Sing|Number[psor]=Plur", "VerbForm=Fin"]}
    predicted = {"upos": ["NOUN", "VERB"], "xpos": ["NN", "VBZ"],
                 "feats": ["Number=Sing", "VerbForm=Fin"]}  # Number[psor] is not universal
    scores.add(gold, predicted, [False, True])
    columns = scores.summary()["columns"]
    assert columns["feats"]["accuracy"] == 0.5 and columns["ufeats"]["accuracy"] == 1.0
    assert columns["xpos"]["oov_accuracy"] == 0.0 and columns["alltags"]["accuracy"] == 0.5


def test_a_column_that_is_blank_throughout_cannot_be_asked_for(tmp_path, capsys):
    code = main(["train-tagger", SAMPLE, "-o", str(tmp_path / "m"), "--columns", "upos,feats",
                 "--epochs", "1", "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert "sample.conllu: column feats is '_' throughout" in err
    assert main(["train-tagger", SAMPLE, "-o", str(tmp_path / "m"), "--columns", "upos,upos",
                 "--quiet"]) == 2
    assert "distinct CoNLL-U columns" in capsys.readouterr().err


def test_tag_leaves_columns_the_model_was_not_trained_for(tmp_path):
    path = tmp_path / "morphology.conllu"
    path.write_text(MORPHOLOGY, encoding="utf-8")
    out = str(tmp_path / "m")
    assert main(["train-tagger", str(path), "--dev", str(path), "-o", out, "--columns",
                 "feats,upos", "--epochs", "1", "--layers", "1", "--hidden-dim", "8",
                 "--quiet"]) == 0
    assert main(["tag", "-m", out, str(path), "-o", str(tmp_path / "t.conllu")]) == 0
    tagged = (tmp_path / "t.conllu").read_text().splitlines()
    assert len(tagged) == len(MORPHOLOGY.splitlines())
    for old, new in zip(MORPHOLOGY.splitlines(), tagged):
        a, b = old.split("\t"), new.split("\t")
        if len(a) < 10:
            assert old == new  # comments and blank lines
        else:
            assert a[:3] + [a[4]] + a[6:] == b[:3] + [b[4]] + b[6:]  # all but UPOS and FEATS


def test_a_model_directory_of_format_1_loads_and_tags_as_before(tmp_path):
    """tests/data/format1-tagger was written by dynlp at d751127 (one column, "tags"
    vocabulary); format1-tagger.sample.conllu is what that version's `dynlp tag` wrote."""
    old = "tests/data/format1-tagger"
    with open(f"{old}/config.json", encoding="utf-8") as meta:
        assert json.load(meta)["format_version"] == 1
    model = BiLSTMTagger.load(old)
    assert model.columns == ["upos"] and model.config.mlp_dim == 8
    assert model.config.label_smoothing == 0.0  # it was trained without, and resumes so
    assert model.config.ensemble == 1 and len(model.networks) == 1
    out = tmp_path / "tagged.conllu"
    assert main(["tag", "-m", old, SAMPLE, "-o", str(out), "--workers", "1"]) == 0
    assert out.read_text(encoding="utf-8") == \
        open("tests/data/format1-tagger.sample.conllu", encoding="utf-8").read()


def test_resume_continues_even_when_dev_holds_a_tag_training_never_saw(tmp_path):
    out = str(tmp_path / "m")
    quick = ["--layers", "1", "--hidden-dim", "8", "--quiet"]
    assert main(["train-tagger", SAMPLE, "-o", out, "--epochs", "1"] + quick) == 0
    # the held-out tail of the sample has a PART, which its first 95% lacks
    assert main(["train-tagger", SAMPLE, "-o", out, "--epochs", "2", "--resume"] + quick) == 0
    assert len(open(f"{out}/metrics.jsonl").read().splitlines()) == 2


def test_label_smoothed_loss_by_hand():
    """-(1-eps) log p(gold) - eps * mean over the real tags of log p, per batch element."""
    from dynlp.backend import dynet
    from dynlp.models.tagger.heads import smoothed_nll

    dy = dynet()
    logits = np.array([[0.5, -1.0], [2.0, 0.0], [-0.3, 1.5], [1.0, 0.2]])  # 4 tags, 2 positions
    gold, eps, first = [2, 3], 0.1, 1  # row 0 stands for a special token
    dy.renew_cg()
    loss = smoothed_nll(dy.inputTensor(logits, batched=True), gold, eps, first=first, last=4)
    log_p = logits - np.log(np.exp(logits).sum(axis=0))
    expected = [-(1 - eps) * log_p[g, b] - eps * log_p[first:, b].mean()
                for b, g in enumerate(gold)]
    assert np.allclose(loss.npvalue(), expected, atol=1e-5)
    plain = smoothed_nll(dy.inputTensor(logits, batched=True), gold, 0.0).npvalue()
    assert np.allclose(plain, [-log_p[g, b] for b, g in enumerate(gold)], atol=1e-5)


# ---- adversarial training ----------------------------------------------------------------------
def test_adversarial_moves_have_size_epsilon_per_input_along_each_sentences_gradient():
    from dynlp.models.tagger.network import adversarial_moves

    rng = np.random.default_rng(0)
    gradients = rng.normal(size=(5, 4, 3))  # 5 steps, 4 inputs, 3 sentences
    gradients[3:, :, 0] = 0.0  # sentence 0 has 3 words: no gradient past its end
    lengths, epsilon = [3, 5, 5], 0.05
    moves = adversarial_moves(gradients, lengths, epsilon)
    for b, n in enumerate(lengths):
        move, gradient = moves[:, :, b], gradients[:, :, b]
        assert np.linalg.norm(move) == pytest.approx(epsilon * np.sqrt(n * 4))
        assert np.allclose(move / np.linalg.norm(move), gradient / np.linalg.norm(gradient))
    assert not moves[3:, :, 0].any()
    assert not adversarial_moves(np.zeros((2, 4, 1)), [2], epsilon).any()  # no NaN


def test_the_adversarial_loss_is_the_loss_moved_along_its_gradient():
    """To first order, L(x + r) - L(x) = g . r = epsilon sqrt(nD) ||g|| per sentence: the move
    raises the loss, by what the gradient says (no dropout, so both passes see the same x)."""
    from dynlp.backend import dynet

    sentences = read_treebank(SAMPLE)
    epsilon = 1e-3
    config = dataclasses.replace(SMALL, dropout=0.0, word_dropout=0.0, adversarial=epsilon)
    model = BiLSTMTagger.from_training_data(config, pairs(sentences))
    model.training = True
    chosen = pairs(sentences[:3])
    batch = tag_batch([f for f, _ in chosen], [t for _, t in chosen])
    dynet().renew_cg()
    loss = model.loss(batch)
    clean = loss.value()
    loss.backward()
    xs = model.encoder.inputs
    gradients = np.stack([x.gradient().reshape(x.dim()[0][0], -1) for x in xs])
    norms = np.sqrt((gradients ** 2).sum(axis=(0, 1)))
    lengths = np.array([len(f) for f, _ in chosen])
    expected = (epsilon * np.sqrt(lengths * gradients.shape[1]) * norms).sum()
    moved = model.adversarial_loss(batch).value()
    assert moved > clean
    assert moved - clean == pytest.approx(expected, rel=0.05)


def test_adversarial_training_learns_every_column(tmp_path):
    path = tmp_path / "morphology.conllu"
    path.write_text(MORPHOLOGY, encoding="utf-8")
    sentences = read_treebank(str(path)) * 4
    config = dataclasses.replace(SMALL, columns="", adversarial=0.05)
    model, _ = train_tagger(sentences, sentences, config,
                            TrainConfig(epochs=25, batch_size=2, lr=0.01, patience=25),
                            str(tmp_path / "model"))
    columns = score_tagger(model, sentences).summary()["columns"]
    assert all(scores["accuracy"] == 1.0 for scores in columns.values())
    assert BiLSTMTagger.load(str(tmp_path / "model")).config.adversarial == 0.05


# ---- an ensemble of networks -------------------------------------------------------------------
def test_an_ensemble_tags_with_the_mean_of_its_networks_probabilities():
    sentences = read_treebank(SAMPLE)
    config = dataclasses.replace(SMALL, columns="upos,xpos", ensemble=2)
    model = BiLSTMTagger.from_training_data(config, pairs(sentences, ("upos", "xpos")))
    assert len(model.networks) == 2
    batch = [s.forms for s in sentences[:5]]
    first, second = (network.probabilities(batch) for network in model.networks)
    assert not np.allclose(first["upos"], second["upos"])  # their own initial weights
    width = len(batch)
    for column, head in zip(model.columns, model.heads):
        mean = (first[column] + second[column]) / 2
        tags = head.vocab.decode(mean.argmax(axis=0))
        expected = [tags[b::width][:len(forms)] for b, forms in enumerate(batch)]
        assert [tagged[column] for tagged in model.predict_batch(batch)] == expected


def test_an_ensemble_learns_every_column_and_loads_again(tmp_path):
    path = tmp_path / "morphology.conllu"
    path.write_text(MORPHOLOGY, encoding="utf-8")
    sentences = read_treebank(str(path)) * 4
    config = dataclasses.replace(SMALL, columns="", feats="split", ensemble=2)
    model, _ = train_tagger(sentences, sentences, config,
                            TrainConfig(epochs=25, batch_size=2, lr=0.01, patience=25),
                            str(tmp_path / "model"))
    columns = score_tagger(model, sentences).summary()["columns"]
    assert all(scores["accuracy"] == 1.0 for scores in columns.values())
    loaded = BiLSTMTagger.load(str(tmp_path / "model"))
    assert loaded.config.ensemble == 2 and len(loaded.networks) == 2
    forms = [s.forms for s in sentences[:3]]
    assert loaded.predict_many(forms) == model.predict_many(forms)
    for ours, theirs in zip(model.networks, loaded.networks):
        assert np.array_equal(ours.probabilities(forms)["upos"],
                              theirs.probabilities(forms)["upos"])
