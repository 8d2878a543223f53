"""The training loop's schedule: learning-rate decay when dev stalls, and early stopping."""
from dynlp.config import TrainConfig
import time

import pytest

from dynlp.training.loop import LoopState, _out_of_patience, _time_to_settle, _update_schedule


class Trainer:
    """Stands in for a DyNet trainer: the schedule only reads and sets its learning rate."""

    def __init__(self, lr):
        self.learning_rate = lr


def run(dev_values, settle_from=None, **settings):
    """The learning rate after each evaluation, and the evaluations done before stopping;
    from evaluation `settle_from` on, the clock says it is time to settle."""
    config = TrainConfig(lr=1.0, lr_decay=0.5, **settings)
    state, trainer, rates = LoopState(lr=1.0), Trainer(1.0), []
    for value in dev_values:
        if _out_of_patience(state, config):
            break
        state.epoch += 1
        settle = settle_from is not None and state.epoch >= settle_from
        _update_schedule(state, trainer, config, value, higher_is_better=True, settle=settle)
        rates.append(trainer.learning_rate)
    return rates


def test_decay_at_every_stall_by_default():
    assert run([0.5, 0.4, 0.4, 0.6, 0.6], patience=9) == [1, 0.5, 0.25, 0.25, 0.125]


def test_decay_patience_waits_for_that_many_stalls_in_a_row():
    rates = run([0.5, 0.4, 0.4, 0.4, 0.7, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6], patience=9,
                decay_patience=3)
    assert rates == [1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.125]


def test_training_stops_after_patience_evaluations_without_improvement():
    assert len(run([0.5] + [0.4] * 20, patience=4, decay_patience=2)) == 5


def test_max_decays_stops_instead_of_decaying_once_more():
    rates = run([0.5] + [0.4] * 20, patience=99, decay_patience=2, max_decays=2)
    assert rates == [1, 1, 0.5, 0.5, 0.25, 0.25, 0.125]  # the third decay ends it


def test_settling_decays_after_every_epoch_even_while_dev_improves():
    rates = run([0.1, 0.2, 0.3, 0.4, 0.5, 0.6], settle_from=4, patience=9)
    assert rates == [1, 1, 1, 0.5, 0.25, 0.125]


def test_time_to_settle_when_fewer_than_settle_epochs_are_left():
    started = time.time() - 50  # 10 seconds left of a one-minute budget
    config = TrainConfig(max_minutes=1, settle_epochs=3)
    assert _time_to_settle(config, started, epoch_seconds=4)  # 3 epochs would take 12 s
    assert not _time_to_settle(config, started, epoch_seconds=3)  # 9 s: they still fit
    assert not _time_to_settle(TrainConfig(max_minutes=1), started, epoch_seconds=60)
    assert not _time_to_settle(TrainConfig(settle_epochs=3), started, epoch_seconds=60)


class RecordingTrainer:
    """A DyNet trainer that notes the learning rate of each update."""

    def __init__(self, trainer):
        self.trainer, self.rates = trainer, []

    @property
    def learning_rate(self):
        return self.trainer.learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        self.trainer.learning_rate = value

    def update(self):
        self.rates.append(self.trainer.learning_rate)
        self.trainer.update()


def rates_of_one_epoch(epoch, warmup):
    from conftest import TINY_TEXT
    from dynlp import LMConfig, RNNLanguageModel, Vocab
    from dynlp.data.batches import sentence_batches
    from dynlp.training.loop import _run_epoch, make_trainer

    sentences = [line.split() for line in TINY_TEXT]
    vocab = Vocab.build(sentences)
    model = RNNLanguageModel(LMConfig(emb_dim=8, hidden_dim=8), vocab)
    config = TrainConfig(trainer="sgd", lr=0.5, warmup=warmup)
    trainer = RecordingTrainer(make_trainer(model.pc, config, 0.5))
    batches = sentence_batches([vocab.encode(s) for s in sentences], 1, vocab.bos, vocab.eos,
                               vocab.pad)  # five batches
    _run_epoch(model, trainer, batches, config, time.time(), False, epoch)
    return trainer.rates, trainer.learning_rate


def test_warmup_raises_the_rate_linearly_over_the_first_updates_of_the_first_epoch():
    assert rates_of_one_epoch(1, warmup=4) == ([0.125, 0.25, 0.375, 0.5, 0.5], 0.5)
    assert rates_of_one_epoch(2, warmup=4) == ([0.5] * 5, 0.5)  # later epochs: the full rate
    rates, after = rates_of_one_epoch(1, warmup=10)  # longer than the epoch
    assert rates == pytest.approx([0.05, 0.1, 0.15, 0.2, 0.25])  # DyNet keeps float32
    assert after == 0.5  # the next epoch gets the full rate


def adam_steps(beta2, gradients, lr=0.1):
    """A scalar parameter after Adam steps on the given gradients, through make_trainer."""
    import dynet as dy
    from dynlp.training.loop import make_trainer

    pc = dy.ParameterCollection()
    p = pc.add_parameters((1,), init=dy.ConstInitializer(0.0))
    trainer = make_trainer(pc, TrainConfig(clip=0, beta2=beta2), lr)
    for g in gradients:
        dy.renew_cg()
        dy.sum_elems(p.expr(True) * g).backward()
        trainer.update()
    return float(p.as_array()[0])


def adam_reference(beta2, gradients, lr=0.1, beta1=0.9, eps=1e-8):
    """Kingma and Ba's Adam, bias-corrected, written out."""
    p = m = v = 0.0
    for t, g in enumerate(gradients, 1):
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        p -= lr * (m / (1 - beta1 ** t)) / ((v / (1 - beta2 ** t)) ** 0.5 + eps)
    return p


@pytest.mark.parametrize("beta2", [0.999, 0.9])
def test_adam_uses_the_configured_beta2(beta2):
    gradients = [1.0, 10.0, 0.5]
    assert adam_steps(beta2, gradients) == pytest.approx(adam_reference(beta2, gradients),
                                                         abs=1e-6)
    assert adam_reference(0.999, gradients) - adam_reference(0.9, gradients) < -1e-3


def test_beta2_must_be_below_one():
    from dynlp.errors import ConfigError

    with pytest.raises(ConfigError, match="--beta2"):
        TrainConfig(beta2=1.0).check()
