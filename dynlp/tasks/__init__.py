"""One task per model family: for its family, a task reads the corpus, builds the vocabularies
and the model from the data and the config, batches, measures on dev, trains (through the
model-agnostic loop in training/), and runs the model (sample, score, tag).

    lm       recurrent language models          models/lm.py
    ngram    count-based n-gram models          models/ngram/
    tagger   the BiLSTM tagger                  models/tagger/
    tokenizer  tokens, sentences and multiword tokens from raw text   models/tokenizer.py

The CLI, runtime, serve and the recipes call tasks; none of them imports training.  Importing
this package registers every family's model class (models/registry.py), so `load_model` reads
any model directory.
"""
from dynlp.models import registry
# Each task imports its model, which registers its family.
from dynlp.tasks import lm, ngram, tagger, tokenizer  # noqa: F401
from dynlp.tasks.common import check_output_dir, saved_config, split_dev
from dynlp.tasks.lm import (language_model_to_carry_on, lm_batches, read_lm_corpus,
                            sample_text, stream_loss, train_language_model)
from dynlp.tasks.ngram import train_ngram_model
from dynlp.tasks.tagger import (read_carry_on_corpus, read_tagger_corpus, read_training_corpus,
                                score_tagger, tagged_pairs, tagger_dev_metrics,
                                teacher_and_config, train_tagger)

__all__ = ["language_model_to_carry_on", "load_model", "load_language_model", "check_output_dir",
           "saved_config", "split_dev",
           "read_lm_corpus", "lm_batches", "sample_text", "stream_loss", "train_language_model",
           "train_ngram_model", "read_tagger_corpus", "read_carry_on_corpus",
           "read_training_corpus", "score_tagger", "tagged_pairs",
           "train_tagger", "tagger_dev_metrics", "teacher_and_config"]


def load_model(model_dir, kind=None):
    """The model in `model_dir`, whichever registered family it is (of `kind`, if given)."""
    return registry.load(model_dir, kind)


def load_language_model(model_dir):
    """The language model in `model_dir`: recurrent, n-gram, or another registered family."""
    return registry.load_language_model(model_dir)
