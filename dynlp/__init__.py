"""dynlp: readable recurrent language models and taggers on DyNet's dynamic computation graphs.

    import dynlp
    dy = dynlp.dynet()          # DyNet itself, set up by dynlp.configure(...) if that ran first
    model = dynlp.RNNLanguageModel(dynlp.LMConfig(level="char"), vocab)
    tagger = dynlp.BiLSTMTagger.load("models/ewt")
    model = dynlp.tasks.load_model("models/ewt")    # any registered family (dynlp/tasks/)
"""
from dynlp.backend import BackendConfig, configure, dynet
from dynlp.config import TrainConfig
from dynlp.data.batches import Batch, sentence_batches, stream_batches
from dynlp.data.text import read_sentences, sentences_from_lines, tokenize
from dynlp.data.treebank import read_conllu, read_treebank, write_conllu
from dynlp.data.vocab import Vocab
from dynlp.errors import ConfigError, DataError, DynlpError, ModelDirError, TrainingError
from dynlp.metrics import TaggingScores, TreebankScores, bits_per_token, perplexity
from dynlp.models.lm import LMConfig, RNNLanguageModel
from dynlp.models.tagger.config import TaggerConfig
from dynlp.models.tagger.network import BiLSTMTagger, tag_batches
from dynlp.tasks import (read_lm_corpus, read_tagger_corpus, score_tagger, train_language_model,
                         train_tagger)
from dynlp.training.loop import evaluate_loss, fit, make_trainer

__version__ = "0.1.0"

__all__ = [
    "BackendConfig", "configure", "dynet",
    "LMConfig", "TaggerConfig", "TrainConfig",
    "Vocab", "read_sentences", "sentences_from_lines", "tokenize",
    "read_conllu", "read_treebank", "write_conllu",
    "Batch", "sentence_batches", "stream_batches", "tag_batches",
    "RNNLanguageModel", "BiLSTMTagger",
    "fit", "make_trainer", "evaluate_loss",
    "read_lm_corpus", "train_language_model", "read_tagger_corpus", "train_tagger", "score_tagger",
    "perplexity", "bits_per_token", "TaggingScores", "TreebankScores",
    "DynlpError", "DataError", "ModelDirError", "ConfigError", "TrainingError",
]
