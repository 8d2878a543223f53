"""The recurrent language model's task: its corpus, vocabulary, model, batches, dev metric,
training, and its inference (sample text, score a stream).

    train, dev = read_lm_corpus("shk.txt", None, lm_config, dev_fraction=0.05)
    model, state = train_language_model(train, dev, lm_config, train_config, "models/shk")
    text = sample_text(model, np.random.default_rng(1), prefix="ROMEO:")
"""
import logging
from dataclasses import replace

import numpy as np

from dynlp.data.batches import flatten_stream, sentence_batches, stream_batches
from dynlp.data.text import lines_from_tokens, read_sentences, tokenize
from dynlp.data.vocab import Vocab
from dynlp.errors import ConfigError
from dynlp.models import registry
from dynlp.models.growth import grown_language_model
from dynlp.models.lm import OUTPUT_BUDGET, RNNLanguageModel
from dynlp.models.softmax import CLASS_SOFTMAX_MAX_SGD_RATE, class_softmax_stalls, output_layer_for
from dynlp.store.checkpoint import make_output_dir
from dynlp.tasks.common import resume as resume_run
from dynlp.tasks.common import split_dev
from dynlp.training.loop import evaluate_loss, fit

EVAL_BATCH = 64  # sentences per batch when evaluating: no backward pass, so bigger is fine
# Parallel streams when evaluating a stream model: 20, so each of two evaluating processes gets
# 10 (PyTorch's example uses 10).  Fixed, so a perplexity does not depend on the core count.
EVAL_STREAMS = 20
# Segment length when `score --stream` reads a stream: the state is carried across segments, so
# the sums do not depend on it; it bounds a graph at EVAL_STREAMS x 35 positions.
STREAM_SCORING_BPTT = 35
log = logging.getLogger("dynlp")


def read_lm_corpus(train_path, dev_path, config, dev_fraction):
    """Read training (and dev) sentences; without a dev file, hold out the last lines."""
    train = read_sentences(train_path, config.level, config.tokenized, config.stream)
    if dev_path:
        return train, read_sentences(dev_path, config.level, config.tokenized, config.stream)
    return split_dev(train, dev_fraction, train_path)


def lm_batches(sentences, vocab, lm_config, batch_size, bptt, training, max_words=0):
    """Batches for one pass: a function of the epoch's rng when training, else a list."""
    ids = [vocab.encode(sentence) for sentence in sentences]
    if lm_config.stream:
        stream = flatten_stream(ids, vocab.eos)
        streams = batch_size if training else max(1, min(EVAL_STREAMS, (len(stream) - 1) // 2))
        batches = stream_batches(stream, streams, bptt)
        return (lambda rng: batches) if training else batches
    if training:  # bounded by --batch-words only: a bound by default would change training
        return lambda rng: sentence_batches(ids, batch_size, vocab.bos, vocab.eos, vocab.pad, rng,
                                            max_words)
    # Dev batches keep positions x vocabulary within the scoring budget (a single sentence
    # longer than it still makes one graph here; `score` reads those in pieces).  The sums are
    # the same whatever the batching.
    budget = max(1, OUTPUT_BUDGET // len(vocab))
    return sentence_batches(ids, EVAL_BATCH, vocab.bos, vocab.eos, vocab.pad, max_words=budget)


def log_sample(model, metrics):
    """After each epoch, log one sample (the `dynlp` logger: stderr, when logging is on)."""
    if log.isEnabledFor(logging.INFO):
        rng = np.random.default_rng(metrics["epoch"])
        log.info("sample: %s", sample_text(model, rng, max_len=120, temperature=0.8))


def sample_text(model, rng, prefix="", **options):
    """One sample as text, `prefix` included; a stream model's `</s>` reads as a line break."""
    config = model.config
    prefix_tokens = tokenize(prefix, config.level, config.tokenized) if prefix else []
    tokens = prefix_tokens + model.sample(prefix=prefix_tokens, rng=rng,
                                          stop_at_eos=not config.stream, **options)
    return lines_from_tokens(tokens, config.level, config.tokenized)


def stream_loss(model, lines, workers=0):
    """(summed negative log-likelihood, tokens) of token lists read as one stream, `</s>`
    between them and the state carried across: how a --stream model is scored."""
    batches = lm_batches(lines, model.vocab, model.config, 1, STREAM_SCORING_BPTT, False)
    return evaluate_loss(model, batches, workers)


def language_model_to_carry_on(model_dir, lm_config):
    """(the recurrent language model in `model_dir` to carry on, its config) for
    `--init-from`; (None, `lm_config`) without a directory.  Anything but a recurrent language
    model is one ConfigError (or ModelDirError) line."""
    if not model_dir:
        return None, lm_config
    model = registry.load(model_dir, "language-model")
    if not isinstance(model, RNNLanguageModel):
        raise ConfigError(f"--init-from {model_dir}: a count-based n-gram model has no weights "
                          "to carry on; train one anew (train-lm --ngram)")
    log.info("--init-from %s: its settings, sizes and weights; tokens the training text adds "
             "get new rows", model_dir)
    return model, model.config


def train_language_model(train, dev, lm_config, train_config, out_dir, resume=False,
                         progress=False, on_epoch_end=None, seed=1, init_from=None):
    """Train on `train`/`dev` (token lists) into `out_dir`; returns the best model and the state.

    With `resume`, the model, its vocabulary and the loop state come from `out_dir/last`, and
    training continues after the last finished epoch.  With `init_from` (a trained
    RNNLanguageModel), a new run starts from it, its vocabulary grown by `train`'s tokens
    (models/growth.py; `lm_config` is then its config).
    """
    make_output_dir(out_dir)
    if init_from is not None:
        if resume:
            raise ConfigError("--init-from starts a new run from a trained model; --resume "
                              "continues one: give one of the two")
        model, state = grown_language_model(init_from, train), None
        lm_config = model.config
    elif resume:
        model, state = resume_run(out_dir, RNNLanguageModel)
        lm_config = model.config
    else:
        vocab = Vocab.build(train, lm_config.min_count, lm_config.max_vocab)
        lm_config = choose_output_layer(lm_config, train_config, len(vocab))
        model, state = RNNLanguageModel(lm_config, vocab), None
    _warn_if_class_softmax_cannot_learn(lm_config, train_config)
    size, bptt = train_config.batch_size, train_config.bptt
    state = fit(model, lm_batches(train, model.vocab, lm_config, size, bptt, training=True,
                                  max_words=train_config.batch_words),
                lm_batches(dev, model.vocab, lm_config, size, bptt, training=False),
                train_config, out_dir, on_epoch_end=on_epoch_end or log_sample,
                progress=progress, state=state, seed=seed,
                unit="characters" if lm_config.level == "char" else "words")
    return RNNLanguageModel.load(out_dir), state


def choose_output_layer(lm_config, train_config, vocab_size):
    """`--softmax auto` made "full" or "class" (softmax.output_layer_for decides)."""
    if lm_config.softmax != "auto":
        return lm_config
    return replace(lm_config, softmax=output_layer_for(vocab_size, _sgd_rate(train_config)))


def _sgd_rate(train_config):
    return train_config.learning_rate() if train_config.trainer == "sgd" else None


def _warn_if_class_softmax_cannot_learn(lm_config, train_config):
    if lm_config.softmax == "class" and class_softmax_stalls(_sgd_rate(train_config)):
        log.warning("warning: --softmax class with SGD at --lr %g: above %g it can stall at the "
                    "unigram level in its first batches (it did on PTB and WikiText-2); use "
                    "--lr %g or --trainer adam", train_config.learning_rate(),
                    CLASS_SOFTMAX_MAX_SGD_RATE, CLASS_SOFTMAX_MAX_SGD_RATE)
