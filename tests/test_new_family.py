"""A model family of its own, defined here and nowhere under dynlp/: a unigram language model
(p(w) = softmax(b)_w, whatever came before).  It registers itself, trains with the loop, saves
and loads through the registry, and scores, with nothing under dynlp/ edited for it: what
docs/architecture.md's checklist for a new family promises."""
import math

import numpy as np
import pytest

import dynlp
from dynlp import TrainConfig, Vocab, evaluate_loss, fit, sentence_batches
from dynlp.models import registry
from dynlp.tasks import load_model
from dynlp.store import checkpoint

from conftest import TINY_TEXT


class UnigramLM:
    """-log p(w) = -log softmax(b)_w for each target token: the loop's `loss(batch)`."""

    KIND, FAMILY = "language-model", "test-unigram"

    def __init__(self, vocab):
        dy = dynlp.dynet()
        self.vocab, self.training = vocab, False
        self.pc = dy.ParameterCollection()
        self.b = self.pc.add_parameters(len(vocab), init=0)

    def loss(self, batch):
        dy = dynlp.dynet()
        log_p = dy.log_softmax(self.b)  # the Parameters object itself: trained
        picked = [log_p[int(t)] * float(m) for t, m in zip(batch.targets.ravel(),
                                                            batch.mask.ravel()) if m]
        return -dy.esum(picked)

    def log_probs(self):
        dynlp.dynet().renew_cg()
        return np.log(np.exp(self.b.as_array()) / np.exp(self.b.as_array()).sum())

    def save(self, directory, extra=None):
        checkpoint.save(directory, self.KIND, {}, {"vocab": self.vocab}, self.pc, extra,
                        family=self.FAMILY)

    @classmethod
    def load(cls, directory):
        meta, vocabs, params = checkpoint.load(directory, cls.KIND)
        model = cls(vocabs["vocab"])
        checkpoint.populate(model.pc, params)
        return model


@pytest.fixture
def registered():
    registry.register(UnigramLM)
    yield UnigramLM
    registry.FAMILIES.pop(UnigramLM.FAMILY)


def batches_of(sentences, vocab):
    ids = [vocab.encode(s) for s in sentences]
    return sentence_batches(ids, 2, vocab.bos, vocab.eos, vocab.pad)


def test_a_family_defined_outside_dynlp_trains_saves_loads_and_scores(tmp_path, registered):
    sentences = [line.split() for line in TINY_TEXT]
    vocab = Vocab.build(sentences)
    model = UnigramLM(vocab)
    out = str(tmp_path / "unigram")
    config = TrainConfig(epochs=60, trainer="adam", lr=0.3, patience=100)
    state = fit(model, lambda rng: batches_of(sentences, vocab), batches_of(sentences, vocab),
                config, out)
    assert state.epoch == 60 and state.history[-1]["dev_loss"] < state.history[0]["dev_loss"]

    loaded = load_model(out)  # the registry finds the family named in config.json
    assert type(loaded) is UnigramLM
    nll, tokens = evaluate_loss(loaded, batches_of(sentences, vocab))
    # What it learned is the corpus' unigram distribution of targets (words and </s>).
    targets = [w for s in sentences for w in s] + ["</s>"] * len(sentences)
    counts = {w: targets.count(w) for w in set(targets)}
    best = -sum(n * math.log(n / len(targets)) for n in counts.values())
    assert tokens == len(targets)
    assert best <= nll < best * 1.03  # untrained (uniform): 1.4 times best
    assert loaded.log_probs()[vocab.stoi["the"]] == pytest.approx(
        math.log(counts["the"] / len(targets)), abs=0.1)


def test_a_directory_of_an_unknown_family_is_one_clear_error(tmp_path):
    vocab = Vocab.build([["a"]])
    UnigramLM(vocab).save(str(tmp_path / "m"))  # saved, but the family is not registered
    with pytest.raises(dynlp.ModelDirError, match="family 'test-unigram'.*does not know"):
        load_model(str(tmp_path / "m"))


def test_a_second_class_cannot_take_a_registered_family(registered):
    class Impostor(UnigramLM):
        pass

    with pytest.raises(ValueError, match="registered already"):
        registry.register(Impostor)
