"""Behaviour kept through the reorganisation: every command on the bundled data gives the
output recorded in tests/golden/ (written by tests/golden_run.py before the package was
reorganised), and the model directories recorded then still load and give the same answers.

Words, tags and integers must be identical; every decimal equal to a relative 1e-4, and the
parameter checksums are not compared: another CPU (the wheel's Eigen picks its vector code at run
time) or another DyNet build (the native one fuses multiply-adds) rounds the last digits
differently, and the checksums change with them.
"""
import os
import re

import pytest

import golden_run

GOLDEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden")
NAMES = sorted(name[:-4] for name in os.listdir(GOLDEN) if name.endswith(".txt"))


# A parameter checksum (64 hex digits) or a decimal number.
DIGEST_OR_DECIMAL = re.compile(r"\b[0-9a-f]{64}\b|-?\d+\.\d+(?:e[-+]?\d+)?")


def assert_same_output(got, want):
    """`got` is `want` up to the last digits of its decimals (and its checksums)."""
    assert DIGEST_OR_DECIMAL.split(got) == DIGEST_OR_DECIMAL.split(want)
    for mine, recorded in zip(DIGEST_OR_DECIMAL.findall(got), DIGEST_OR_DECIMAL.findall(want)):
        if "." in recorded:
            assert float(mine) == pytest.approx(float(recorded), rel=1e-4)


def golden(name):
    return open(os.path.join(GOLDEN, f"{name}.txt"), encoding="utf-8").read()


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    return golden_run.run_all(str(tmp_path_factory.mktemp("golden")))


@pytest.mark.parametrize("name", NAMES)
def test_every_command_gives_the_recorded_output(outputs, name):
    assert_same_output(outputs[name], golden(name))


def test_models_saved_before_load_and_answer_the_same(tmp_path):
    models = os.path.join(GOLDEN, "models")
    score_text = tmp_path / "score.txt"
    score_text.write_text(golden_run.SCORE_TEXT, encoding="utf-8")
    answers = golden_run.use_models(*(os.path.join(models, name)
                                      for name in ("lm", "ngram", "tagger")), str(score_text))
    for name, output in answers.items():
        assert_same_output(output, golden(name))


# `import dynlp` as it was before the reorganisation: the same public names, each one there.
PUBLIC = ["BackendConfig", "Batch", "BiLSTMTagger", "ConfigError", "DataError", "DynlpError",
          "LMConfig", "ModelDirError", "RNNLanguageModel", "TaggerConfig", "TaggingScores",
          "TrainConfig", "TrainingError", "TreebankScores", "Vocab", "bits_per_token",
          "configure", "dynet", "evaluate_loss", "fit", "make_trainer", "perplexity",
          "read_conllu", "read_lm_corpus", "read_sentences", "read_tagger_corpus",
          "read_treebank", "score_tagger", "sentence_batches", "sentences_from_lines",
          "stream_batches", "tag_batches", "tokenize", "train_language_model", "train_tagger",
          "write_conllu"]


def test_import_dynlp_exposes_the_same_public_names():
    import dynlp

    assert sorted(dynlp.__all__) == PUBLIC
    assert all(getattr(dynlp, name, None) is not None for name in PUBLIC)
