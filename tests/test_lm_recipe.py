"""The lecture table's training recipe (recipes/lm_table.py, issue 34): every cell trains under
it without a non-finite loss, and the class softmax it uses is the full softmax when it has one
class, gradients included."""
import argparse
import json
import math

import numpy as np
import pytest

from conftest import load_lm_table
from dynlp import LMConfig, RNNLanguageModel, Vocab, dynet
from dynlp.cli import main
from dynlp.data.batches import sentence_batch
from dynlp.errors import ConfigError
from dynlp.store.tensorfile import set_values
from test_reference_lm import toy_corpus

TABLE = load_lm_table()
RECURRENT_ROWS = [(name, flags) for name, _, flags in TABLE.PTB_ROWS if "--cell" in flags]


def small(flags, size="24"):
    """The recipe's flags with its 256-unit sizes made small: the rate, optimiser, loss scale,
    clipping, output layer and batching stay the recipe's."""
    flags = list(flags)
    for name in ("--hidden-dim", "--emb-dim"):
        flags[flags.index(name) + 1] = size
    return flags


def write_corpus(path, sentences):
    path.write_text("".join(" ".join(s) + "\n" for s in sentences), encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("name, row", RECURRENT_ROWS, ids=[name for name, _ in RECURRENT_ROWS])
def test_every_cell_trains_under_the_table_recipe_without_a_non_finite_loss(tmp_path, name, row):
    assert len(RECURRENT_ROWS) == 4  # RNN, deep RNN, LSTM, GRU
    assert row[:len(TABLE.RECIPE)] == TABLE.RECIPE  # every recurrent row shares the recipe
    train = write_corpus(tmp_path / "train.txt", toy_corpus(count=1500, seed=3))
    dev = write_corpus(tmp_path / "dev.txt", toy_corpus(count=40, seed=5))
    out = tmp_path / "model"
    assert main(["train-lm", train, "--dev", dev, "-o", str(out), "--quiet", *small(row),
                 "--epochs", "3", "--patience", "3"]) == 0
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    losses = [r["train_loss"] for r in records]
    assert len(records) == 3 and all(math.isfinite(x) for x in losses)
    assert all(math.isfinite(r["dev_ppl"]) for r in records)
    assert losses[-1] < losses[0] - 0.1 and losses == sorted(losses, reverse=True), \
        f"{name} did not learn: {losses}"


@pytest.mark.parametrize("lever", ["--residual", "--identity-init", "--layer-norm"])
def test_the_deep_rnn_s_levers_train_under_the_table_recipe(tmp_path, lever):
    """Issue 50's levers for the deep RNN row: finite and falling, as every cell."""
    (name, flags), = [(n, f) for n, f in RECURRENT_ROWS if n.startswith("deep RNN")]
    train = write_corpus(tmp_path / "train.txt", toy_corpus(count=1500, seed=3))
    dev = write_corpus(tmp_path / "dev.txt", toy_corpus(count=40, seed=5))
    out = tmp_path / "model"
    assert main(["train-lm", train, "--dev", dev, "-o", str(out), "--quiet", *small(flags),
                 lever, "--epochs", "3", "--patience", "3"]) == 0
    config = json.loads((out / "config.json").read_text())["config"]
    assert config[lever[2:].replace("-", "_")] is True
    losses = [json.loads(line)["train_loss"]
              for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert all(math.isfinite(x) for x in losses) and losses[-1] < losses[0] - 0.1, losses


def test_identity_init_starts_each_simple_rnn_s_recurrence_at_the_identity():
    vocab = Vocab.build(toy_corpus(count=12, seed=7))
    model = RNNLanguageModel(LMConfig(level="word", cell="rnn", layers=2, emb_dim=6,
                                      hidden_dim=8, identity_init=True), vocab)
    for rnn in model.rnns:
        w_x, w_h, _ = rnn.get_parameters()[0]
        assert np.array_equal(w_h.as_array(), np.eye(8)) and not np.allclose(w_x.as_array(), 0)
    with pytest.raises(ConfigError, match="--identity-init is for --cell rnn"):
        LMConfig(cell="lstm", identity_init=True).check()


def test_layer_norm_is_for_the_simple_rnn_only():
    with pytest.raises(ConfigError, match="--layer-norm is for --cell rnn, not gru"):
        LMConfig(cell="gru", layer_norm=True).check()


def one_class_pair(tie):
    """A full-softmax word LM and a class-softmax one with a single class and the same weights
    (the class model's extra class layer U, d comes last among its parameters)."""
    sentences = toy_corpus(count=12, seed=7)
    vocab = Vocab.build(sentences)
    dims = dict(emb_dim=8, hidden_dim=8) if tie else dict(emb_dim=6, hidden_dim=8)
    full = RNNLanguageModel(LMConfig(level="word", tie_weights=tie, layers=2, **dims), vocab)
    one = RNNLanguageModel(LMConfig(level="word", tie_weights=tie, layers=2, softmax="class",
                                    classes=1, **dims), vocab)
    set_values(full.b, np.random.default_rng(1).normal(size=len(vocab)))
    for source, target in zip(shared(full), shared(one)):
        assert source.shape() == target.shape()
        set_values(target, source.as_array())
    batch = sentence_batch([vocab.encode(s) for s in sentences], full.start, vocab.eos,
                           vocab.pad)
    return full, one, batch


def shared(model):
    """The parameters both output layers have: embeddings, recurrent weights, W and b."""
    count = len(model.pc.parameters_list()) - (0 if model.softmax is None else 2)
    return model.pc.lookup_parameters_list() + model.pc.parameters_list()[:count]


def loss_and_gradients(model, batch):
    dy = dynet()
    dy.renew_cg()
    loss = model.loss(batch)
    value = loss.value()
    loss.backward()
    return value, [p.grad_as_array().copy() for p in shared(model)]


@pytest.mark.parametrize("tie", [False, True])
def test_a_one_class_softmax_gives_the_full_softmaxs_loss_and_gradients(tie):
    full, one, batch = one_class_pair(tie)
    assert len(one.softmax.members) == 1 and len(one.softmax.members[0]) == len(one.vocab)
    full_loss, full_gradients = loss_and_gradients(full, batch)
    one_loss, one_gradients = loss_and_gradients(one, batch)
    assert one_loss == pytest.approx(full_loss, rel=1e-5)
    assert any(np.abs(g).max() > 1e-3 for g in full_gradients)
    for g_full, g_one in zip(full_gradients, one_gradients):
        assert np.allclose(g_full, g_one, atol=1e-5)


def test_table_shows_each_model_line_by_line_and_as_one_stream_and_only_the_tables_run():
    """Both tables give the line-by-line figure and, for a recurrent model, the same model
    scored as one stream (bits per character: log2 of the stream perplexity); a table whose
    rows did not run (--no-ptb, --no-char) is left out."""
    args = argparse.Namespace(minutes=16.0, char_minutes=12.0)
    lstm = {"row": "character LSTM (2 x 256)", "bits_per_token": 2.5, "stream_perplexity": 4.0,
            "train_minutes": 12.1, "epochs": 9, "words_per_sec": 25000}
    gram = {"row": "order-10 character n-gram, Kneser-Ney", "bits_per_token": 2.43,
            "train_minutes": 0.2, "epochs": None}
    text = TABLE.markdown([], [gram, lstm], args)
    assert "Penn Treebank" not in text
    assert "| character LSTM (2 x 256) | 2.500 | 2.000 | 12.1 min, 9 epochs" in text
    assert "| order-10 character n-gram, Kneser-Ney | 2.430 |  | 0.2 min |" in text
    rnn = {"row": "RNN (1 layer)", "lecture": "124.7", "perplexity": 138.04,
           "stream_perplexity": 132.93, "train_minutes": 16.1, "epochs": 37,
           "words_per_sec": 37644}
    text = TABLE.markdown([rnn], [], args)
    assert "tiny-shakespeare" not in text
    assert "| RNN (1 layer) | 124.7 | 138.0 | 132.9 | 16.1 min, 37 epochs at 37,644" in text
