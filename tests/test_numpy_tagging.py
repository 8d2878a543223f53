"""Tagging in numpy (models/tagger/inference.py) held to the DyNet graph it replaces when
tagging on the CPU: the same probabilities to 1e-5 at every word, for every kind of head and for
an ensemble, with random weights (biases included) and after training; the weights read afresh
by each predict_many of NUMPY_MIN_WORDS words or more (a model that goes on training is never
tagged with stale weights), once and for all after freeze(); and BLAS on one thread while
tagging."""
import dataclasses

import numpy as np
import pytest
from threadpoolctl import threadpool_info

from dynlp.config import TrainConfig
from dynlp.data.treebank import read_treebank
from dynlp.models.tagger.inference import NumpyNetwork, one_blas_thread
from dynlp.models.tagger.network import NUMPY_MIN_WORDS, BiLSTMTagger
from dynlp.tasks import train_tagger
from test_reference_tagger import LONG, randomise
from test_tagger import MORPHOLOGY, SAMPLE, SMALL, pairs

# Lengths 1 to 7 in no order, a word never seen (with characters never seen), capitals, a
# repeated word, and a word longer than the character BiLSTM reads (clipped to its two ends).
SENTENCES = [["A", "dog", "barks", "."], ["Dogs"], ["A", "zebra", "ẞ", "barks", LONG, "dog", "."],
             ["dog", "dog"]]


def randomised(config, tmp_path, seed=0):
    """A tagger of `config` on the MORPHOLOGY treebank with every weight set at random."""
    path = tmp_path / "morphology.conllu"
    path.write_text(MORPHOLOGY, encoding="utf-8")
    sentences = read_treebank(str(path))
    model = BiLSTMTagger.from_training_data(config, pairs(sentences, config.column_list()))
    randomise(model.pc, seed)
    return model


def assert_same_probabilities(model, sentences):
    """Each network's numpy probabilities equal its graph's at every word of `sentences`."""
    for network in model.networks:
        graph = network.graph_probabilities(sentences)
        mine = network.probabilities(sentences, NumpyNetwork(network))
        assert graph.keys() == mine.keys()
        for column in graph:
            assert mine[column].shape == graph[column].shape
            assert np.isfinite(mine[column]).all()  # padding too: a teacher's targets there
            np.testing.assert_allclose(at_words(mine[column], sentences),
                                       at_words(graph[column], sentences), atol=1e-5)


@pytest.mark.parametrize("feats", ["bundle", "split"])
@pytest.mark.parametrize("ensemble,layers", [(1, 1), (2, 2)])
def test_numpy_probabilities_equal_the_graphs(feats, ensemble, layers, tmp_path):
    config = dataclasses.replace(SMALL, columns="upos,xpos,feats,lemma", feats=feats,
                                 ensemble=ensemble, layers=layers)
    model = randomised(config, tmp_path)
    assert_same_probabilities(model, SENTENCES)
    assert_same_probabilities(model, [SENTENCES[1]])  # a batch of one one-word sentence


def test_a_trained_tagger_tags_the_same_either_way(tmp_path, monkeypatch):
    sentences = read_treebank(SAMPLE)
    config = dataclasses.replace(SMALL, columns="upos,xpos", ensemble=2)
    model, _ = train_tagger(sentences, sentences, config,
                            TrainConfig(epochs=3, batch_size=4, lr=0.01), str(tmp_path / "m"))
    forms = [s.forms for s in sentences] + SENTENCES
    with model.frozen():
        assert model._frozen is not None  # in numpy
        in_numpy = model.predict_many(forms)
    monkeypatch.setattr("dynlp.models.tagger.network.numpy_tagging", lambda: False)
    with model.frozen():
        assert model._frozen is None  # in the graph
        assert model.predict_many(forms) == in_numpy


def test_each_predict_many_reads_the_weights_afresh_and_freeze_reads_them_once(tmp_path,
                                                                              monkeypatch):
    model = randomised(dataclasses.replace(SMALL, columns="upos"), tmp_path)
    many = SENTENCES * (NUMPY_MIN_WORDS // sum(map(len, SENTENCES)) + 1)  # tagged in numpy
    before = model.predict_many(many)
    halve_weights(model)  # as an epoch of training would change them
    after = model.predict_many(many)
    assert after != before
    with monkeypatch.context() as graph_only:
        graph_only.setattr("dynlp.models.tagger.network.numpy_tagging", lambda: False)
        assert model.predict_many(many) == after
    model.freeze()  # from now on the weights of this moment, whatever happens to DyNet's
    frozen = model.mean_probabilities(SENTENCES)["upos"]
    halve_weights(model)
    assert model.predict_many(SENTENCES) == after[:len(SENTENCES)]
    np.testing.assert_array_equal(model.mean_probabilities(SENTENCES)["upos"], frozen)


def halve_weights(model):
    for p in model.pc.parameters_list():
        p.set_value(p.as_array() * 0.5 + 0.1)


def at_words(probabilities, sentences):
    """The columns of (choices, T*B positions) `probabilities` that are words, not padding."""
    width = len(sentences)
    return probabilities[:, [t * width + b for b, forms in enumerate(sentences)
                             for t in range(len(forms))]]


def test_backward_reads_each_sequence_from_its_own_end(tmp_path):
    """run(backward=True) over a padded batch equals the forward run of each sequence reversed
    on its own; outputs=False gives each sequence's last state (backward: at its first step)."""
    model = randomised(dataclasses.replace(SMALL, columns="upos"), tmp_path)
    lstm = NumpyNetwork(model.networks[0]).layers[0][0]
    lengths = [4, 2, 2, 1]
    projected = np.random.default_rng(1).normal(size=(4, 4, 4 * lstm.size)).astype(np.float32)
    behind = lstm.run(projected, lengths, backward=True)
    last = lstm.run(projected, lengths, backward=True, outputs=False)
    ahead_last = lstm.run(projected, lengths, outputs=False)
    for b, n in enumerate(lengths):
        alone = lstm.run(projected[b:b + 1, :n][:, ::-1], [n])[0][::-1]
        np.testing.assert_allclose(behind[b, :n], alone, rtol=1e-5, atol=1e-6)
        assert (behind[b, n:] == 0).all()
        np.testing.assert_allclose(last[b], behind[b, 0], rtol=1e-6)
        np.testing.assert_allclose(ahead_last[b], lstm.run(projected[b:b + 1, :n], [n])[0, -1],
                                   rtol=1e-5, atol=1e-6)


def test_tagging_keeps_blas_to_one_thread():
    with one_blas_thread():
        assert all(lib["num_threads"] == 1 for lib in threadpool_info()
                   if lib["user_api"] == "blas")


def test_an_lstm_computes_nothing_past_a_sequences_end(tmp_path):
    model = randomised(dataclasses.replace(SMALL, columns="upos"), tmp_path)
    lstm = NumpyNetwork(model.networks[0]).layers[0][0]
    projected = np.random.default_rng(0).normal(size=(3, 4, 4 * lstm.size)).astype(np.float32)
    outputs = lstm.run(projected, [4, 2, 1])
    assert (outputs[1, 2:] == 0).all() and (outputs[2, 1:] == 0).all()
    assert (outputs[0] != 0).all() and (outputs[1, :2] != 0).all()
    alone = lstm.run(projected[1:2, :2], [2])  # a sequence's states do not depend on the others
    # Up to float32 rounding: a batch of 1 and of 3 can take different BLAS kernels (numpy 2.4's
    # differ in the last bit of 3 of these 96 values).
    np.testing.assert_allclose(alone[0], outputs[1, :2], rtol=1e-5, atol=1e-6)
