"""dynlp: readable recurrent language models and taggers on DyNet's dynamic computation graphs.

    import dynlp
    dy = dynlp.dynet()                      # DyNet, configured by dynlp.configure(...) if called
    model = dynlp.RNNLanguageModel(dynlp.LMConfig(level="char"), vocab)
"""
from .backend import BackendConfig, configure, dynet
from .batches import Batch, sentence_batches, stream_batches
from .config import LMConfig, TrainConfig
from .errors import ConfigError, DataError, DynlpError, ModelDirError, TrainingError
from .lm import RNNLanguageModel
from .metrics import bits_per_token, perplexity
from .pipeline import read_lm_corpus, train_language_model
from .text import read_sentences, sentences_from_lines, tokenize
from .train import evaluate_loss, fit, make_trainer
from .vocab import Vocab

__version__ = "0.1.0"
