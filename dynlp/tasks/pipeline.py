"""Raw text to tagged CoNLL-U: the tokenizer a tagger's directory holds (`DIR/tokenizer/`),
then the tagger; and the two scored together on a gold file's raw text, as the CoNLL 2018
evaluation counts (data/conll18.py).

    tagger, tokenizer = BiLSTMTagger.load(DIR), load_tokenizer(DIR)
    sentences = tag_text(tagger, tokenizer, ["Le chat dort. Il rêve."])  # CoNLL-U lines each
"""
import logging
import os

from dynlp.config import TrainConfig
from dynlp.data import conll18
from dynlp.data.rawtext import paragraph_texts
from dynlp.data.treebank import Sentence
from dynlp.errors import DataError
from dynlp.models.tokenizer import CharTokenizer, TokenizerConfig
from dynlp.tasks.tagger import tagged_lines
from dynlp.tasks.tokenizer import read_tokenizer_corpus, tokenized_sentences, train_tokenizer

log = logging.getLogger("dynlp")
# The tokenizer's share of training: on EWT (1M characters, 30 s an epoch) its dev F1 of sentence
# ends levels off after about 6 epochs; the small treebanks take under 2 minutes
# (benchmarks/notes/2026-12-07-tokenizer.md).
TOKENIZER_MINUTES = 4.0
# How the tokenizer trains beside a tagger: Adam at its default rate on 32 segments of 300
# characters, halved when dev stalls, the last 2 epochs of its minutes settling.
TOKENIZER_TRAINING = dict(batch_size=32, epochs=100, patience=8, decay_patience=3,
                          settle_epochs=2)

TOKENIZER_DIR = "tokenizer"  # inside a tagger's model directory


def tokenizer_path(model_dir):
    return os.path.join(model_dir, TOKENIZER_DIR)


def has_tokenizer(model_dir):
    """Whether the tagger in `model_dir` came with a tokenizer learned beside it."""
    return os.path.isfile(os.path.join(tokenizer_path(model_dir), "config.json"))


def load_tokenizer(model_dir):
    """The tokenizer of the tagger in `model_dir`, to tokenize with (its weights read into
    numpy: CharTokenizer.freeze), or None if it has none."""
    if not has_tokenizer(model_dir):
        return None
    tokenizer = CharTokenizer.load(tokenizer_path(model_dir))
    tokenizer.freeze()
    return tokenizer


def copy_tokenizer(from_dir, model_dir):
    """The tokenizer of the tagger in `from_dir` saved beside the one in `model_dir` (a tagger
    carried on keeps the tokenizer it was trained with)."""
    CharTokenizer.load(tokenizer_path(from_dir)).save(tokenizer_path(model_dir))


def train_tokenizer_beside(train_path, dev_path, dev_fraction, model_dir, minutes,
                           progress=False, seed=1):
    """Learn the tokenizer of the tagger in `model_dir` (into DIR/tokenizer) from the text of
    the training treebank, for `minutes`; returns it, or None (saying why in one line on
    stderr) when the file carries no text to learn from."""
    try:
        train, dev, table = read_tokenizer_corpus(train_path, dev_path, dev_fraction)
    except DataError as error:
        if "'# text'" not in str(error):
            raise
        log.warning("no tokenizer: %s; `tag --input text` will split words with NLTK", error)
        return None
    config = TrainConfig(**TOKENIZER_TRAINING, max_minutes=minutes)
    model, _ = train_tokenizer(train, dev, table, TokenizerConfig(), config,
                               tokenizer_path(model_dir), progress, seed)
    return model


def tag_text(tagger, tokenizer, paragraphs, first_number=1, one_sentence=False, n_best=None):
    """The CoNLL-U lines of each sentence of `paragraphs` (strings of raw text): split into
    sentences, tokens and words by `tokenizer`, tagged by `tagger` (with `n_best`, each word's
    probabilities and that many alternatives in MISC, as `dynlp tag --n-best` writes them)."""
    sentences = list(tokenized_sentences(tokenizer, paragraphs, first_number, one_sentence))
    return tagged_lines(tagger, sentences, n_best)


def evaluate_raw_text(tagger, tokenizer, gold, name="the gold file"):
    """{metric: (precision, recall, F1)} of tagging the raw text of `gold` (treebank Sentences,
    lines kept; each paragraph, or document, read as one) against it."""
    system = [Sentence(lines=lines) for lines in tag_text(tagger, tokenizer, paragraph_texts(gold))]
    return conll18.evaluate(gold, system, f"the output on {name}'s text")
