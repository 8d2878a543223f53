"""Distillation (--distill): a student network learns the ensemble's mean distributions.
The soft loss against a one-hot teacher is the ordinary loss; the recipe keeps the ensemble in
DIR/ensemble and saves one network that tags as its teacher does on what it learned from."""
import dataclasses

import numpy as np
import pytest

from dynlp.backend import dynet
from dynlp.cli import main
from dynlp.config import TrainConfig
from dynlp.data.treebank import read_treebank
from dynlp.models.tagger.network import BiLSTMTagger, tag_batch
from dynlp.tasks import score_tagger, train_tagger
from test_tagger import MORPHOLOGY, SAMPLE, SMALL, pairs


@pytest.mark.parametrize("feats", ["bundle", "split"])
def test_the_soft_loss_against_one_hot_targets_is_the_gold_loss(feats, tmp_path):
    path = tmp_path / "morphology.conllu"
    path.write_text(MORPHOLOGY, encoding="utf-8")
    sentences = read_treebank(str(path))
    columns = ("upos", "feats", "lemma")
    config = dataclasses.replace(SMALL, columns=",".join(columns), feats=feats)
    model = BiLSTMTagger.from_training_data(config, pairs(sentences, columns))
    network = model.networks[0]
    chosen = pairs(sentences, columns)
    batch = tag_batch([f for f, _ in chosen], [t for _, t in chosen])
    dy = dynet()
    dy.renew_cg()
    gold = network.heads_loss(network.states(batch.sentences, False), batch, False).value()
    targets = {head.column: one_hot(head, batch) for head in network.heads}
    dy.renew_cg()
    soft = network.distillation_loss(batch, targets, False).value()
    assert soft == pytest.approx(gold, rel=1e-5)


def one_hot(head, batch):
    """The gold labels of a batch as a teacher's distributions, in the rows of `head`."""
    from dynlp.models.tagger.heads import FeatureHead, split_bundle

    labels = batch.tags[head.column]
    if isinstance(head, FeatureHead):
        targets = np.zeros((sum(b - a for a, b in head.rows.values()), len(labels)))
        for i, bundle in enumerate(labels):
            features = split_bundle(bundle)
            for name, (first, _) in head.rows.items():
                values = head.features[name]
                targets[first + values.index(features.get(name, "_")), i] = 1.0
        return targets
    targets = np.zeros((len(head.vocab), len(labels)))
    targets[head.vocab.encode(labels), np.arange(len(labels))] = 1.0
    return targets


def test_a_distilled_tagger_is_one_network_that_tags_as_its_ensemble(tmp_path):
    sentences = read_treebank(SAMPLE)
    config = dataclasses.replace(SMALL, columns="upos,xpos", ensemble=2, distill=True)
    out = str(tmp_path / "model")
    student, state = train_tagger(sentences, sentences, config,
                                  TrainConfig(epochs=12, batch_size=4, lr=0.01, patience=12),
                                  out)
    teacher = BiLSTMTagger.load(f"{out}/ensemble")
    assert len(teacher.networks) == 2 and len(student.networks) == 1
    assert student.config.distill and student.config.label_smoothing == 0.0
    assert BiLSTMTagger.load(out).predict_many([s.forms for s in sentences[:5]]) == \
        student.predict_many([s.forms for s in sentences[:5]])
    forms = [s.forms for s in sentences]
    agreed = total = 0
    for ours, theirs in zip(student.predict_many(forms), teacher.predict_many(forms)):
        agreed += sum(a == b for a, b in zip(ours["upos"], theirs["upos"]))
        total += len(ours["upos"])
    assert agreed / total >= 0.9
    assert score_tagger(student, sentences).summary()["accuracy"] >= 0.85


def test_distill_needs_an_ensemble(tmp_path, capsys):
    argv = ["train-tagger", SAMPLE, "-o", str(tmp_path / "m"), "--ensemble", "1", "--distill",
            "--epochs", "1", "--quiet"]
    assert main(argv) == 2
    assert "--distill needs --ensemble 2" in capsys.readouterr().err


def test_teacher_distils_a_trained_tagger_without_training_it_again(tmp_path, capsys):
    """--teacher DIR: the student of an ensemble trained before, with the teacher's columns
    and sizes whatever the flags say; the teacher's directory is left as it was."""
    teacher_dir, student_dir = str(tmp_path / "teacher"), str(tmp_path / "student")
    common = ["--epochs", "2", "--batch-size", "4", "--quiet"]
    assert main(["train-tagger", SAMPLE, "-o", teacher_dir, "--columns", "upos",
                 "--hidden-dim", "16", "--char-dim", "8", "--mlp-dim", "8"] + common) == 0
    before = sorted(p.name for p in (tmp_path / "teacher").iterdir())
    assert main(["train-tagger", SAMPLE, "-o", student_dir, "--teacher", teacher_dir,
                 "--columns", "upos,xpos", "--hidden-dim", "32"] + common) == 0
    teacher, student = BiLSTMTagger.load(teacher_dir), BiLSTMTagger.load(student_dir)
    assert len(teacher.networks) == 2 and len(student.networks) == 1
    assert student.columns == ["upos"] and student.config.hidden_dim == 16
    assert student.config.distill and not (tmp_path / "student" / "ensemble").exists()
    assert sorted(p.name for p in (tmp_path / "teacher").iterdir()) == before
    assert main(["train-tagger", SAMPLE, "-o", student_dir, "--overwrite", "--teacher",
                 str(tmp_path / "none")] + common) == 2
    assert "no such model directory" in capsys.readouterr().err
