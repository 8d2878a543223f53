"""The moving average of the weights (`--average-epochs`): its arithmetic, and that training
scores dev with it and keeps it as the best model while stepping on from the raw weights."""
import json
import math

import numpy as np

from dynlp import LMConfig, RNNLanguageModel, TrainConfig, dynet
from dynlp.training.averaging import WeightAverage
from dynlp.tasks import lm_batches, train_language_model
from dynlp.training.loop import mean_loss_metrics
from conftest import TINY_TEXT


def small_collection():
    pc = dynet().ParameterCollection()
    return pc, pc.add_parameters((3, 2)), pc.add_lookup_parameters((4, 2))


def test_snapshots_average_exponentially_and_swap_in_and_back():
    pc, W, E = small_collection()
    average = WeightAverage(pc, epochs=0.5, per_epoch=2)  # keep = exp(-1)
    values = [(np.full((3, 2), 1.0), np.full((4, 2), -1.0)),
              (np.full((3, 2), 3.0), np.zeros((4, 2)))]
    for w, e in values:
        W.set_value(w)
        E.init_from_array(e)
        average.snapshot()
    keep = math.exp(-1)
    with average.swapped_in():
        assert np.allclose(W.as_array(), keep * 1 + (1 - keep) * 3)
        assert np.allclose(E.as_array(), keep * -1 + (1 - keep) * 0)
    assert np.allclose(W.as_array(), 3.0) and np.allclose(E.as_array(), 0.0)  # raw ones back


def test_snapshots_are_taken_per_epoch_times_an_epoch():
    pc, _, _ = small_collection()
    average, taken = WeightAverage(pc, epochs=1, per_epoch=4), []
    average.snapshot = lambda: taken.append(step)
    for step in range(1, 58):
        average.after_update(step, 57)
    assert taken == [14, 28, 42, 56]


def test_without_a_snapshot_swapping_in_changes_nothing():
    pc, W, _ = small_collection()
    before = W.as_array()
    with WeightAverage(pc, epochs=1).swapped_in():
        assert np.array_equal(W.as_array(), before)


def test_training_keeps_the_average_as_best_and_steps_on_from_the_raw_weights(tmp_path):
    sentences = [list(line) for line in TINY_TEXT]
    out = str(tmp_path / "lm")
    config = TrainConfig(epochs=3, batch_size=2, patience=5, workers=1, average_epochs=1)
    model, _ = train_language_model(sentences * 4, sentences, LMConfig(hidden_dim=16), config, out)
    metrics = [json.loads(line) for line in open(f"{out}/metrics.jsonl")]
    best = min(metrics, key=lambda m: m["dev_loss"])
    # The saved best model gives the dev loss training reported for it: the average's.
    dev = lm_batches(sentences, model.vocab, model.config, 2, 35, training=False)
    assert math.isclose(mean_loss_metrics(model, dev)["dev_loss"], best["dev_loss"], rel_tol=1e-5)
    # last/ holds the raw weights training went on from, not an average.
    last = RNNLanguageModel.load(f"{out}/last")
    assert not np.allclose(last.pc.parameters_list()[0].as_array(),
                           model.pc.parameters_list()[0].as_array())
