"""Raw text to tagged CoNLL-U: the tokenizer a tagger's directory holds (`DIR/tokenizer/`),
then the tagger; and the two scored together on a gold file's raw text, as the CoNLL 2018
evaluation counts (data/conll18.py).

    tagger, tokenizer = BiLSTMTagger.load(DIR), load_tokenizer(DIR)
    sentences = tag_text(tagger, tokenizer, ["Le chat dort. Il rêve."])  # CoNLL-U lines each

Training the two (train_tagger_and_tokenizer): the tagger first, then the tokenizer from the
same file's `# text`, one time bound shared between them.
"""
import logging
import os
import time
from dataclasses import replace

from dynlp.config import TrainConfig
from dynlp.data import conll18
from dynlp.data.rawtext import paragraph_texts
from dynlp.data.treebank import Sentence
from dynlp.errors import DataError
from dynlp.models.tokenizer import CharTokenizer, TokenizerConfig
from dynlp.tasks.tagger import read_training_corpus, tagged_lines, train_tagger
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


def tokenizer_corpus(train_path, dev_path, dev_fraction):
    """What a tokenizer learns from beside a tagger (read_tokenizer_corpus's training and dev
    paragraphs and multiword table), or None, saying why in one line on stderr, when the
    training file carries no text to learn from.  Read before the tagger trains, so that a bad
    file stops the run at once and the tagger knows its share of the minutes."""
    try:
        return read_tokenizer_corpus(train_path, dev_path, dev_fraction)
    except DataError as error:
        if "'# text'" not in str(error):
            raise
        log.warning("no tokenizer: %s; `tag --input text` will split words with NLTK", error)
        return None


def _tokenizer_share(max_minutes, tokenizer_minutes):
    """The tokenizer's minutes of a `max_minutes` bound on it and its tagger: its own, at most
    half the bound."""
    return min(tokenizer_minutes, max_minutes / 2)


def tagger_minutes(max_minutes, tokenizer_minutes):
    """The tagger's share when `max_minutes` bounds the training of a tagger and its tokenizer
    together (0: no bound): all but the tokenizer's share."""
    if not max_minutes:
        return 0.0
    return max_minutes - _tokenizer_share(max_minutes, tokenizer_minutes)


def minutes_left_for_tokenizer(max_minutes, tokenizer_minutes, started):
    """The tokenizer's minutes after the tagger, which trained from time `started` on: its own
    `tokenizer_minutes`, cut to what is left of a `max_minutes` bound on the two (the tagger's
    last dev scoring and saving run past its share), never below a tenth of its share."""
    if not max_minutes:
        return tokenizer_minutes
    share = _tokenizer_share(max_minutes, tokenizer_minutes)
    left = max_minutes - (time.time() - started) / 60
    return max(min(share, left), share / 10)


def train_tokenizer_beside(corpus, model_dir, minutes, progress=False, seed=1):
    """Learn the tokenizer of the tagger in `model_dir` (into DIR/tokenizer) from `corpus`
    (tokenizer_corpus) for at most `minutes`; returns it."""
    train, dev, table = corpus
    config = TrainConfig(**TOKENIZER_TRAINING, max_minutes=minutes)
    model, _ = train_tokenizer(train, dev, table, TokenizerConfig(), config,
                               tokenizer_path(model_dir), progress, seed)
    return model


def train_tagger_and_tokenizer(train_path, dev_path, tagger_config, train_config, out_dir,
                               tokenizer_minutes=TOKENIZER_MINUTES, learn_tokenizer=True,
                               resume=False, progress=False, seed=1, teacher=None,
                               init_from=None):
    """What `dynlp train-tagger` and recipes/train_tagger.py train: the tagger (train_tagger's
    arguments; `init_from` a trained tagger's directory, carried on), then the tokenizer learned
    beside it from the text of the training file (unless not `learn_tokenizer`, `resume` or a
    `teacher`; a tagger carried on keeps the tokenizer it had), `train_config.max_minutes`
    bounding the two together.  Returns the tagger, the loop's state, and the training and dev
    sentences."""
    started = time.time()
    train_set, dev_set, tagger_config, trained = read_training_corpus(
        train_path, dev_path, tagger_config, train_config.dev_fraction, init_from)
    carried = trained is not None and has_tokenizer(init_from)
    corpus = None
    if learn_tokenizer and not (resume or teacher or carried):
        corpus = tokenizer_corpus(train_path, dev_path, train_config.dev_fraction)
    bound = train_config.max_minutes
    if corpus is not None:
        train_config = replace(train_config, max_minutes=tagger_minutes(bound, tokenizer_minutes))
    model, state = train_tagger(train_set, dev_set, tagger_config, train_config, out_dir,
                                resume=resume, progress=progress, seed=seed, teacher=teacher,
                                init_from=trained)
    log.info("best dev score %.4f (mean accuracy of %s); model in %s", state.best or 0.0,
             tagger_config.columns, out_dir)
    if carried and learn_tokenizer:
        copy_tokenizer(init_from, out_dir)
    # After the tagger, so that it draws the same random numbers with or without a tokenizer.
    if corpus is not None:
        minutes = minutes_left_for_tokenizer(bound, tokenizer_minutes, started)
        train_tokenizer_beside(corpus, out_dir, minutes, progress, seed)
        log.info("tokenizer in %s", tokenizer_path(out_dir))
    return model, state, train_set, dev_set


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
