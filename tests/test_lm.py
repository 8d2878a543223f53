"""RNNLanguageModel: learning, scoring, sampling, batching and saving."""
import math

import numpy as np
import pytest

from dynlp import LMConfig, RNNLanguageModel, TrainConfig, Vocab, dynet
from dynlp.data.batches import flatten_stream, sentence_batches, stream_batches
from dynlp.data.vocab import SPECIALS
from dynlp.errors import ConfigError, ModelDirError
from dynlp.models.sampling import choose
from dynlp.tasks import train_language_model
from dynlp.training.loop import make_trainer
from conftest import TINY_TEXT


def char_data():
    sentences = [list(line) for line in TINY_TEXT]
    return sentences, Vocab.build(sentences)


def train_steps(model, batches, steps, lr=0.01):
    dy = dynet()
    trainer = make_trainer(model.pc, TrainConfig(trainer="adam"), lr)
    model.training = True
    for step in range(steps):
        batch = batches[step % len(batches)]
        dy.renew_cg()
        loss = model.loss(batch)
        (loss * (1 / batch.num_sequences)).backward()
        trainer.update()
    model.training = False


def mean_loss(model, batches):
    dy = dynet()
    total = sum((dy.renew_cg(), model.loss(b).value())[1] for b in batches)
    return total / sum(b.num_tokens for b in batches)


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_small_model_overfits_tiny_text(cell):
    sentences, vocab = char_data()
    model = RNNLanguageModel(LMConfig(cell=cell, emb_dim=16, hidden_dim=48), vocab)
    batches = sentence_batches([vocab.encode(s) for s in sentences], 5, vocab.bos, vocab.eos,
                               vocab.pad)
    before = mean_loss(model, batches)
    train_steps(model, batches, 300)
    after = mean_loss(model, batches)
    assert before > math.log(len(vocab)) - 0.5  # starts near uniform guessing
    assert after < 0.35, f"{cell} did not fit the tiny text: {before:.2f} -> {after:.2f} nats"


def test_score_adds_up_and_prefers_seen_text():
    sentences, vocab = char_data()
    model = RNNLanguageModel(LMConfig(emb_dim=16, hidden_dim=32), vocab)
    batches = sentence_batches([vocab.encode(s) for s in sentences], 5, vocab.bos, vocab.eos,
                               vocab.pad)
    train_steps(model, batches, 150)
    total, per_token = model.score(list("the cat sat on the mat"))
    assert len(per_token) == len("the cat sat on the mat") + 1  # every char and </s>
    assert total == pytest.approx(sum(per_token))
    assert all(p <= 0 for p in per_token)
    assert total > model.score(list("tmo hte tas no cat eth"))[0]
    batched = model.score_batch([list("a dog"), list("the cat sat on the mat")])
    assert batched[1][0] == pytest.approx(total, abs=1e-4)


def test_samples_stop_at_eos_never_emit_unk_and_respect_prefix():
    sentences, vocab = char_data()
    model = RNNLanguageModel(LMConfig(emb_dim=16, hidden_dim=32), vocab)
    batches = sentence_batches([vocab.encode(s) for s in sentences], 5, vocab.bos, vocab.eos,
                               vocab.pad)
    train_steps(model, batches, 150)
    rng = np.random.default_rng(0)
    samples = [model.sample(rng=rng, max_len=60) for _ in range(30)]
    assert not any({"<unk>", "<s>", "<pad>", "</s>"} & set(s) for s in samples)
    assert sum(len(s) < 60 for s in samples) >= 25  # a fitted model ends its sentences
    # Even with <unk> as the only likely token, it is never chosen.
    logits = np.full(len(vocab), -10.0)
    logits[vocab.unk] = 10.0
    assert choose(logits, vocab, 1.0, 0, rng) != vocab.unk
    greedy = model.sample(prefix=list("the d"), top_k=1, max_len=20)
    assert "".join(greedy).startswith("og")  # the only continuation seen in training
    with pytest.raises(ConfigError):
        model.sample(temperature=0)


def test_save_then_load_gives_identical_scores_and_samples(tmp_path):
    sentences, vocab = char_data()
    model = RNNLanguageModel(LMConfig(cell="gru", layers=2, emb_dim=8, hidden_dim=16), vocab)
    batches = sentence_batches([vocab.encode(s) for s in sentences], 2, vocab.bos, vocab.eos,
                               vocab.pad)
    train_steps(model, batches, 20)
    model.save(str(tmp_path / "m"))
    loaded = RNNLanguageModel.load(str(tmp_path / "m"))
    assert loaded.config == model.config and loaded.vocab == model.vocab
    text = list("the cat saw")
    assert loaded.score(text) == model.score(text)
    assert (loaded.sample(rng=np.random.default_rng(7), temperature=1.3)
            == model.sample(rng=np.random.default_rng(7), temperature=1.3))


def test_tied_weights_share_and_train_the_embedding():
    sentences, vocab = char_data()
    model = RNNLanguageModel(LMConfig(emb_dim=16, hidden_dim=16, tie_weights=True), vocab)
    assert model.W is None
    before = model.E.as_array().copy()
    batch = sentence_batches([vocab.encode(sentences[0])], 1, vocab.bos, vocab.eos, vocab.pad)
    train_steps(model, batch, 1)
    unseen = [vocab.id(c) for c in "xyz" if c in vocab] + [vocab.pad]
    # The pad row is never an input, so only the output (softmax) side can have moved it.
    assert not np.allclose(model.E.as_array()[unseen], before[unseen])
    with pytest.raises(ConfigError):
        RNNLanguageModel(LMConfig(emb_dim=8, hidden_dim=16, tie_weights=True), vocab)


def test_stream_batches_carry_state_across_segments():
    ids = list(range(4, 4 + 41))
    batches = stream_batches(ids, batch_size=2, bptt=7)
    assert [b.carry for b in batches] == [False, True, True]
    # Stream 0 reads ids[0:20], stream 1 ids[20:40]; targets are the next tokens.
    assert batches[0].inputs[:, 1].tolist() == ids[20:27]
    assert batches[1].targets[:, 0].tolist() == ids[8:15]
    assert sum(b.num_tokens for b in batches) == 40
    assert flatten_stream([[5, 6], [7]], eos=3) == [3, 5, 6, 3, 7, 3]


def test_carried_state_changes_the_next_segment():
    sentences, vocab = char_data()
    model = RNNLanguageModel(LMConfig(emb_dim=8, hidden_dim=16, stream=True), vocab)
    stream = flatten_stream([vocab.encode(s) for s in sentences], vocab.eos)
    first, second = stream_batches(stream, 2, 10)[:2]
    dy = dynet()
    dy.renew_cg()
    fresh = model.loss(second).value()  # nothing carried yet: starts from zeros
    dy.renew_cg()
    model.loss(first).value()
    dy.renew_cg()
    assert model.loss(second).value() != pytest.approx(fresh)


def test_train_language_model_writes_best_last_and_metrics_and_resumes(tmp_path):
    sentences, _ = char_data()
    out = str(tmp_path / "lm")
    config = TrainConfig(epochs=2, batch_size=2, patience=5)
    model, state = train_language_model(sentences * 4, sentences, LMConfig(hidden_dim=16), config,
                                        out)
    assert state.epoch == 2 and len(open(f"{out}/metrics.jsonl").readlines()) == 2
    assert RNNLanguageModel.load(f"{out}/last").config == model.config
    model, state = train_language_model(sentences * 4, sentences, None, TrainConfig(epochs=3), out,
                                        resume=True)
    assert state.epoch == 3 and len(state.history) == 3
    with pytest.raises(ModelDirError):
        train_language_model(None, sentences, None, config, str(tmp_path / "none"), resume=True)


def test_scoring_inside_a_training_loop_keeps_dropout_on():
    sentences, vocab = char_data()
    model = RNNLanguageModel(LMConfig(emb_dim=8, hidden_dim=16, dropout=0.5), vocab)
    model.training = True
    model.score(list("a cat"))
    model.sample(max_len=5, rng=np.random.default_rng(0))
    assert model.training  # inference switched dropout off only while it ran


def test_dropout_changes_training_loss_but_not_scores():
    sentences, vocab = char_data()
    model = RNNLanguageModel(LMConfig(layers=2, emb_dim=8, hidden_dim=16, dropout=0.5), vocab)
    batch = sentence_batches([vocab.encode(sentences[0])], 1, vocab.bos, vocab.eos, vocab.pad)[0]
    dy = dynet()
    model.training = True
    losses = {(dy.renew_cg(), model.loss(batch).value())[1] for _ in range(3)}
    assert len(losses) == 3  # a fresh dropout mask each time
    model.training = False
    assert model.score(sentences[0]) == model.score(sentences[0])


def test_scoring_in_pieces_under_a_small_budget_gives_the_same_log_probs(monkeypatch):
    """A line too long for the output budget is read in pieces, the state carried between
    graphs; lines share a graph only while they fit.  The log-probabilities do not change."""
    import dynlp.models.lm

    vocab = Vocab.build([line.split() for line in TINY_TEXT])
    model = RNNLanguageModel(LMConfig(level="word", emb_dim=8, hidden_dim=16, layers=2), vocab)
    lines = [line.split() for line in TINY_TEXT] + [" ".join(TINY_TEXT).split() * 3]
    whole = model.score_batch(lines)
    monkeypatch.setattr(dynlp.models.lm, "OUTPUT_BUDGET", 7 * len(vocab))  # 7 positions a graph
    pieces = model.score_batch(lines)
    for (total, per_token), (total_p, per_token_p) in zip(whole, pieces):
        assert np.allclose(per_token, per_token_p, atol=1e-5) and len(per_token) == len(per_token_p)
        assert abs(total - total_p) < 1e-4
    assert len(lines[-1]) + 1 > 7  # the long line really was cut


def class_lm(tie=False):
    text = [line.split() for line in TINY_TEXT] * 3 + [["zebra", "yak", "ox"]]
    vocab = Vocab.build(text)
    dims = dict(emb_dim=8, hidden_dim=8) if tie else dict(emb_dim=6, hidden_dim=8)
    config = LMConfig(level="word", softmax="class", classes=4, tie_weights=tie, **dims)
    return RNNLanguageModel(config, vocab), text


@pytest.mark.parametrize("tie", [False, True])
def test_class_softmax_probabilities_are_exact_and_sum_to_one(tie):
    """p(w | h) = p(class | h) p(w | class, h) over the whole vocabulary sums to 1, and the
    training/scoring path (one target per position) gives the same numbers as sampling's."""
    model, _ = class_lm(tie)
    dy = dynet()
    size, rng = len(model.vocab), np.random.default_rng(0)
    assert len(model.softmax.members) > 1  # really factored
    for _ in range(3):
        state = rng.normal(size=model.config.hidden_dim)
        dy.renew_cg()
        h = dy.inputTensor(np.tile(state, (size, 1)).T, batched=True)  # one position a word
        nll = model.softmax.neg_log_probs(h, list(range(size)), model._word_logits)
        per_word = -nll.npvalue().reshape(-1)
        assert np.exp(per_word).sum() == pytest.approx(1.0, abs=1e-5)
        dy.renew_cg()
        assert np.allclose(model._next_log_probs(dy.inputTensor(state)), per_word, atol=1e-5)


@pytest.mark.parametrize("tie", [False, True])
def test_sampling_logits_from_numpy_match_the_graphs(tie):
    """Sampling computes W h + b in numpy (the graph would copy a tied W at every step); it
    must be the output layer of training and scoring, `_logits`, to float precision."""
    text = [line.split() for line in TINY_TEXT]
    config = LMConfig(level="word", emb_dim=8, hidden_dim=8, tie_weights=tie)
    model, dy = RNNLanguageModel(config, Vocab.build(text)), dynet()
    rng = np.random.default_rng(3)
    for _ in range(3):
        dy.renew_cg()
        h = dy.inputTensor(rng.normal(size=8))
        assert np.allclose(model._next_log_probs(h), model._logits(h).npvalue(), atol=1e-5)


def test_class_softmax_trains_saves_scores_and_samples(tmp_path):
    model, text = class_lm()
    trainer = make_trainer(model.pc, TrainConfig(trainer="adam"), 0.05)
    batches = sentence_batches([model.vocab.encode(s) for s in text], 4, model.vocab.bos,
                               model.vocab.eos, model.vocab.pad)
    before = sum(model.score(s)[0] for s in text)
    for _ in range(30):
        for batch in batches:
            dynet().renew_cg()
            loss = model.loss(batch)
            loss.backward()
            trainer.update()
    assert sum(model.score(s)[0] for s in text) > before + 10
    model.save(str(tmp_path / "m"))
    loaded = RNNLanguageModel.load(str(tmp_path / "m"))
    assert loaded.score(text[0]) == model.score(text[0])
    rng = np.random.default_rng(1)
    for _ in range(5):
        sample = loaded.sample(top_k=3, rng=rng, max_len=20)
        assert "<unk>" not in sample and "<pad>" not in sample


@pytest.mark.parametrize("tie", [False, True])
def test_class_softmax_trains_every_output_parameter(tie):
    """W (or the tied E), b, and the class layer U, d all move in training."""
    model, text = class_lm(tie)
    output = [model.b, model.softmax.U, model.softmax.d] + ([] if tie else [model.W])
    before = [p.as_array().copy() for p in output]
    before_E = model.E.as_array().copy()
    trainer = make_trainer(model.pc, TrainConfig(trainer="sgd"), 0.5)
    for batch in sentence_batches([model.vocab.encode(s) for s in text], 4, model.vocab.bos,
                                  model.vocab.eos, model.vocab.pad):
        dynet().renew_cg()
        model.loss(batch).backward()
        trainer.update()
    for parameter, old in zip(output, before):
        assert not np.allclose(parameter.as_array(), old)
    assert not np.allclose(model.E.as_array(), before_E)


def test_dense_sgd_updates_give_the_sparse_updates_parameters():
    """A tied model's SGD updates whole tables at once (faster when most rows have a gradient);
    for SGD that is the same arithmetic as DyNet's row-by-row sparse update."""
    final = []
    for dense in (False, True):
        dynet().reset_random_seed(5)
        model, text = class_lm(tie=True)
        assert model.dense_gradients
        initial = model.E.as_array()
        trainer = make_trainer(model.pc, TrainConfig(trainer="sgd"), 0.5, dense)
        batches = sentence_batches([model.vocab.encode(s) for s in text], 4, model.vocab.bos,
                                   model.vocab.eos, model.vocab.pad)
        for batch in batches * 3:
            dynet().renew_cg()
            model.loss(batch).backward()
            trainer.update()
        final.append([p.as_array() for p in model.pc.lookup_parameters_list()
                      + model.pc.parameters_list()])
    assert not np.allclose(final[1][0], initial)  # E trained
    assert all(np.allclose(s, d, atol=1e-6) for s, d in zip(*final))


def word_vocab(size):
    """A vocabulary of `size` entries in all (the specials included), every word seen once."""
    words = [f"w{i}" for i in range(size - len(SPECIALS))]
    return Vocab.build([words])


def test_auto_output_layer_is_full_below_the_threshold_and_class_from_it(tmp_path):
    """`--softmax auto` (the default) builds the full softmax for a small vocabulary and the
    class softmax from CLASS_SOFTMAX_FROM types up; the model file records which, and loads
    as it was built."""
    from dynlp.models.softmax import CLASS_SOFTMAX_FROM
    assert LMConfig().softmax == "auto"
    config = LMConfig(level="word", emb_dim=8, hidden_dim=8)
    small = RNNLanguageModel(config, word_vocab(CLASS_SOFTMAX_FROM - 1))
    large = RNNLanguageModel(config, word_vocab(CLASS_SOFTMAX_FROM))
    assert (small.config.softmax, small.softmax) == ("full", None)
    assert large.config.softmax == "class" and large.softmax is not None
    large.save(str(tmp_path / "m"))
    loaded = RNNLanguageModel.load(str(tmp_path / "m"))
    assert loaded.config.softmax == "class" and len(loaded.softmax.members) > 1


def test_auto_output_layer_keeps_the_full_softmax_under_sgd_too_fast_for_classes():
    """The class softmax stalls under SGD above CLASS_SOFTMAX_MAX_SGD_RATE, so with such a
    rate `auto` keeps the full one whatever the vocabulary; an explicit choice is kept."""
    from dynlp.models.softmax import CLASS_SOFTMAX_FROM
    from dynlp.tasks.lm import CLASS_SOFTMAX_MAX_SGD_RATE, choose_output_layer
    auto, size = LMConfig(), CLASS_SOFTMAX_FROM
    fast, slow = CLASS_SOFTMAX_MAX_SGD_RATE * 2, CLASS_SOFTMAX_MAX_SGD_RATE
    assert choose_output_layer(auto, TrainConfig(trainer="adam"), size).softmax == "class"
    assert choose_output_layer(auto, TrainConfig(trainer="sgd", lr=slow), size).softmax == "class"
    assert choose_output_layer(auto, TrainConfig(trainer="sgd", lr=fast), size).softmax == "full"
    assert choose_output_layer(auto, TrainConfig(trainer="adam"), size - 1).softmax == "full"
    explicit = LMConfig(softmax="class")
    assert choose_output_layer(explicit, TrainConfig(trainer="sgd"), 10).softmax == "class"
