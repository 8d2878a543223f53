"""Which model class a saved directory holds, in one place: its config.json says the kind
("language-model" or "tagger") and, for a language model, the family (recurrent or n-gram).

    model = registry.load("models/ewt")          # whatever the directory holds
    lm = registry.load(path, kind="language-model")   # that kind, or a one-line ModelDirError
"""
from dynlp.models.lm import RNNLanguageModel
from dynlp.models.ngram.model import NgramLanguageModel, is_ngram_model
from dynlp.models.tagger.network import BiLSTMTagger
from dynlp.store.checkpoint import read_config


def model_class(model_dir, kind=None):
    """The class that loads `model_dir` (checked to hold `kind`, when one is given)."""
    meta = read_config(model_dir, kind)
    if meta["kind"] == "tagger":
        return BiLSTMTagger
    return NgramLanguageModel if is_ngram_model(meta["config"]) else RNNLanguageModel


def load(model_dir, kind=None):
    """The model saved in `model_dir`: a tagger or a language model (recurrent or n-gram)."""
    return model_class(model_dir, kind).load(model_dir)


def load_language_model(model_dir):
    """The language model in `model_dir`: recurrent (lm.py) or count-based (ngram/)."""
    return load(model_dir, "language-model")
