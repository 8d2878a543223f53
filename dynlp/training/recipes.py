"""From data to a trained model on disk: vocab, batches, the loop, the best checkpoint.

These functions are what `dynlp train-lm`/`train-tagger` and the recipes call; a library user
with sentences in memory can call them too.
"""
import json
import logging
import os
import time
from dataclasses import replace

import numpy as np

from dynlp.config import from_dict
from dynlp.data.batches import flatten_stream, sentence_batches, stream_batches
from dynlp.data.embeddings import read_vectors
from dynlp.data.text import lines_from_tokens, read_sentences, tokenize
from dynlp.data.treebank import (TAG_COLUMNS, check_filled, filled, has_value, read_treebank,
                                 share_filled)
from dynlp.data.vocab import SPECIALS, Vocab
from dynlp.errors import ConfigError, DataError, ModelDirError
from dynlp.metrics import TreebankScores, bits_per_token, perplexity
from dynlp.models.lm import OUTPUT_BUDGET, RNNLanguageModel
from dynlp.models.ngram.model import NgramLanguageModel
from dynlp.models.softmax import output_layer_for
from dynlp.models.tagger.network import BiLSTMTagger, labels, tag_batches
from dynlp.store.checkpoint import (METRICS_FILE, make_output_dir, read_config,
                                    write_lines_atomically)
from dynlp.training.loop import fit, load_state

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


def split_dev(sentences, fraction, name="the corpus"):
    """The last `fraction` of the sentences become dev (the tail, so streams stay contiguous)."""
    held_out = max(1, round(len(sentences) * fraction))
    if len(sentences) - held_out < 1 or fraction <= 0:
        raise DataError(f"{name}: {len(sentences)} line(s) is too small to hold out a dev set "
                        f"(--dev-fraction {fraction}); give --dev FILE or more text")
    return sentences[:-held_out], sentences[-held_out:]


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


def train_language_model(train, dev, lm_config, train_config, out_dir, resume=False,
                         progress=False, on_epoch_end=None, seed=1):
    """Train on `train`/`dev` (token lists) into `out_dir`; returns the best model and the state.

    With `resume`, the model, its vocabulary and the loop state come from `out_dir/last`, and
    training continues after the last finished epoch.
    """
    make_output_dir(out_dir)
    if resume:
        model, state = _resume(out_dir, RNNLanguageModel)
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
                progress=progress, state=state, seed=seed)
    return RNNLanguageModel.load(out_dir), state


# Plain SGD above this rate can stall a class-factored softmax for good in its first batches:
# the first layer's cell state saturates, the top layer's output gate closes, and the model stays
# at the unigram level.  On WikiText-2 two Hogwild processes stalled at 0.7 and learned at 0.5;
# one process stalled at 1 and learned at 0.7 (benchmarks/RESULTS.md).  The full softmax learns
# at 1.
CLASS_SOFTMAX_MAX_SGD_RATE = 0.5


def choose_output_layer(lm_config, train_config, vocab_size):
    """`--softmax auto` made "full" or "class": by vocabulary size (softmax.output_layer_for),
    except that SGD above the rate the class softmax can take keeps the full one."""
    if lm_config.softmax != "auto":
        return lm_config
    layer = output_layer_for(vocab_size)
    if layer == "class" and _sgd_too_fast_for_classes(train_config):
        layer = "full"
    return replace(lm_config, softmax=layer)


def _sgd_too_fast_for_classes(train_config):
    return (train_config.trainer == "sgd"
            and train_config.learning_rate() > CLASS_SOFTMAX_MAX_SGD_RATE)


def _warn_if_class_softmax_cannot_learn(lm_config, train_config):
    if lm_config.softmax == "class" and _sgd_too_fast_for_classes(train_config):
        log.warning("warning: --softmax class with SGD at --lr %g: above %g it can stall at the "
                    "unigram level in its first batches (it did on PTB and WikiText-2); use "
                    "--lr %g or --trainer adam", train_config.learning_rate(),
                    CLASS_SOFTMAX_MAX_SGD_RATE, CLASS_SOFTMAX_MAX_SGD_RATE)


def saved_config(out_dir, config_class):
    """The model config of the run to be resumed in `out_dir` (so data is read the same way)."""
    return from_dict(config_class, read_config(_last_checkpoint(out_dir))["config"])


def _resume(out_dir, model_class):
    return model_class.load(_last_checkpoint(out_dir)), load_state(out_dir)


def _last_checkpoint(out_dir):
    """`out_dir/last`, where an interrupted run's last finished epoch is saved."""
    last = os.path.join(out_dir, "last")
    if not os.path.isdir(last):
        raise ModelDirError(f"{out_dir}: nothing to resume (no last/ checkpoint)")
    return last


# ---- count-based n-gram models ---------------------------------------------------------------
def train_ngram_model(train, dev, config, out_dir):
    """Train on `train` (token lists), score `dev`, save to `out_dir`; returns (model, metrics)."""
    make_output_dir(out_dir)
    began = time.time()
    model = NgramLanguageModel.train(train, config)
    metrics = {"seconds": round(time.time() - began, 1), "ngrams": model.table_sizes()}
    if dev:
        scored = model.score_batch(dev)
        nll = -sum(total for total, _ in scored)
        tokens = sum(len(per_token) for _, per_token in scored)
        metrics.update(dev_ppl=perplexity(nll, tokens), dev_bits_per_token=bits_per_token(nll, tokens),
                       dev_tokens=tokens)
    model.save(out_dir, extra={"metrics": metrics})
    write_lines_atomically(os.path.join(out_dir, METRICS_FILE), [json.dumps(metrics)])
    return NgramLanguageModel.load(out_dir), metrics


# ---- the tagger ---------------------------------------------------------------------------------
def read_tagger_corpus(train_path, dev_path, config, dev_fraction):
    """Training and dev Sentences from CoNLL-U, and `config` with its columns chosen on the
    training file (`choose_columns`); without a dev file, hold out the tail."""
    columns = tuple(dict.fromkeys(TAG_COLUMNS + tuple(config.column_list())))
    train = read_treebank(train_path, columns)
    config = choose_columns(config, train, train_path)
    if not dev_path:
        train, dev = split_dev(train, dev_fraction, train_path)
        return train, dev, config
    dev = read_treebank(dev_path, columns)
    check_filled(dev, config.column_list(), dev_path)
    return train, dev, config


# A column is learned by default when at least half of its words have a value; its head learns
# from those words only (a `_` adds nothing to the loss) and tags every word.  A head still
# learns from fewer (UPOS on ug_udt: 83.0% test accuracy from all words, 77.8% from half, 71.6%
# from a tenth: benchmarks/notes/2026-12-03-curves-columns-vectors.md), but a file that lacks
# a column on most words is scored, officially, against a gold file that likely lacks it too,
# and there a gold `_` is right only against `_`: tags on every word score p * a (p: share
# filled, a: accuracy on those), leaving the column `_` scores 1 - p, so below p = 1/2 tags
# never pay even for a perfect tagger.  `--columns` learns a column filled on fewer words all
# the same (with a warning).
MIN_FILLED_SHARE = 0.5


def choose_columns(config, sentences, name="the training data"):
    """`config` with its columns set: those asked for, each of which must be filled somewhere
    in `sentences`, or by default each of upos, xpos and lemma that has a value on at least
    MIN_FILLED_SHARE of the words, and feats if any word has features."""
    chosen = config.column_list() or [c for c in TAG_COLUMNS if _learned_by_default(sentences, c)]
    if not chosen:
        raise DataError(f"{name}: upos, xpos, feats and lemma are '_' throughout (or nearly); "
                        "nothing to learn")
    check_filled(sentences, chosen, name)
    for column in TAG_COLUMNS:
        share = share_filled(sentences, column)
        if column != "feats" and 0 < share < MIN_FILLED_SHARE:
            log.warning("%s: column %s has a value on %.1f%% of the words only; %s", name,
                        column, 100 * share, "learned as asked, from those words" if column in
                        chosen else "not learned unless --columns asks for it")
    return replace(config, columns=",".join(chosen))


def _learned_by_default(sentences, column):
    if column == "feats":  # `_` there means no features: a value, so any feature is enough
        return filled(sentences, column)
    return share_filled(sentences, column) >= MIN_FILLED_SHARE


def score_tagger(model, sentences, columns=None):
    """TreebankScores of `model` on gold Sentences (unseen: words outside its vocabulary), for
    its columns or those of them given."""
    scores = TreebankScores(columns or model.columns)
    predictions = model.predict_many([s.forms for s in sentences])
    for sentence, predicted in zip(sentences, predictions):
        scores.add(sentence.tags, predicted, [not model.knows(form) for form in sentence.forms])
    return scores


def _check_known_tags(model, sentences):
    for sentence in sentences:
        for head in model.heads:
            unknown = [tag for tag in labels(head.column, sentence.forms,
                                             sentence.tags[head.column])
                       if tag not in head.vocab and has_value(head.column, tag)]
            if unknown:
                raise DataError(f"sentence at line {sentence.line_number}: {head.column} tag "
                                f"{unknown[0]!r} is not in the tag set of the model being resumed")


def tagger_dev_metrics(model, dev_sentences):
    """Dev accuracy of each column; `dev_score`, their mean, is what training monitors."""
    columns = score_tagger(model, dev_sentences).summary()["columns"]
    metrics = {f"dev_{name}": scores["accuracy"] for name, scores in columns.items()}
    metrics["dev_score"] = sum(metrics[f"dev_{c}"] for c in model.columns) / len(model.columns)
    return metrics


def _tagged_pairs(sentences, columns):
    """(forms, {column: tags}) of each sentence: what the tagger trains on."""
    return [(s.forms, {c: s.tags[c] for c in columns}) for s in sentences]


def tagger_vectors(config, pairs):
    """The --embeddings vectors for a new tagger (data.embeddings): those of the training words
    and of the file's first `embeddings_max` other words; None without --embeddings."""
    if not config.embeddings:
        return None
    training_words = {config.word_key(form) for forms, _ in pairs for form in forms}
    vectors = read_vectors(config.embeddings, training_words, config.embeddings_max,
                           config.word_key, config.emb_dim or None, skip=SPECIALS)
    log.info("%s: %d vectors of %d dimensions: %d of the %d training words, %d words added",
             config.embeddings, len(vectors.words), vectors.dim, vectors.found,
             len(training_words), len(vectors.words) - vectors.found)
    return vectors


# With --distill, the ensemble (the teacher) is saved here inside the student's directory: a
# model of its own, `dynlp tag -m DIR/ensemble` tags with it.
TEACHER_DIR = "ensemble"


def train_tagger(train, dev, tagger_config, train_config, out_dir, resume=False, progress=False,
                 seed=1, teacher=None):
    """Train a BiLSTMTagger on `train`/`dev` Sentences into `out_dir` (best: dev_score); with
    `distill`, the ensemble first (into out_dir/ensemble), then one network taught by it; with
    a trained `teacher` (a BiLSTMTagger), only the network it teaches."""
    distilling = tagger_config.distill or teacher is not None
    if distilling and resume:
        raise ConfigError("--resume of a --distill run is not supported yet: train it again")
    if distilling:
        return distil_tagger(train, dev, tagger_config, train_config, out_dir, progress, seed,
                             teacher)
    make_output_dir(out_dir)
    if resume:
        model, state = _resume(out_dir, BiLSTMTagger)
        _check_known_tags(model, train)  # dev may hold tags never trained on: counted wrong
        model.rng = np.random.default_rng([seed, state.epoch])  # word dropout draws
        pairs = _tagged_pairs(train, model.columns)
    else:
        if tagger_config.column_list():  # chosen already (read_tagger_corpus warned)
            check_filled(train, tagger_config.column_list(), "the training data")
        else:
            tagger_config = choose_columns(tagger_config, train)
        pairs = _tagged_pairs(train, tagger_config.column_list())
        model = BiLSTMTagger.from_training_data(tagger_config, pairs, seed,
                                                tagger_vectors(tagger_config, pairs))
        state = None
    return _fit_tagger(model, pairs, dev, train_config, out_dir, progress, seed, state)


def _fit_tagger(model, pairs, dev, train_config, out_dir, progress, seed, state=None):
    """The loop on a tagger: length-bucketed batches of `pairs`, the best dev_score kept in
    `out_dir`; returns the saved best model and the loop's state."""
    size, words = train_config.batch_size, train_config.batch_words
    state = fit(model, lambda rng: tag_batches(pairs, size, rng, words), dev, train_config,
                out_dir, evaluate=tagger_dev_metrics, monitor="dev_score",
                higher_is_better=True, progress=progress, state=state, seed=seed)
    return BiLSTMTagger.load(out_dir), state


def distil_tagger(train, dev, tagger_config, train_config, out_dir, progress=False, seed=1,
                  teacher=None):
    """The `distill` recipe: the ensemble trained as without it, into out_dir/ensemble (or a
    trained `teacher` given); then one network (same columns, vocabularies and sizes, no label
    smoothing: the teacher's distributions are soft already) trained towards the ensemble's
    mean probabilities on the training sentences, into out_dir, best on dev as ever.  Returns
    the student and its state.  `max_minutes` bounds each of the two trainings (how to share
    one budget between them is for the measurements that would make this the default to say)."""
    if teacher is None and tagger_config.ensemble < 2:
        raise ConfigError("--distill needs --ensemble 2 or more: a teacher of several networks")
    make_output_dir(out_dir)
    if teacher is None:
        teacher, _ = train_tagger(train, dev, replace(tagger_config, distill=False),
                                  train_config, os.path.join(out_dir, TEACHER_DIR),
                                  progress=progress, seed=seed)
    else:  # its columns, vocabularies and sizes, whatever the flags say
        check_filled(train, teacher.columns, "the training data")
    student_config = replace(teacher.config, ensemble=1, label_smoothing=0.0, distill=True)
    pairs = _tagged_pairs(train, student_config.column_list())
    # The teacher's vocabularies: its distributions' rows are the student's tags, in order.
    student = BiLSTMTagger(student_config, teacher.words, teacher.chars,
                           {head.column: head.vocab for head in teacher.heads}, seed=seed + 1)
    vectors = tagger_vectors(student_config, pairs)
    if vectors is not None:
        for network in student.networks:
            network.encoder.start_embeddings(vectors)
    student.teacher = teacher
    with teacher.frozen():  # its weights read into numpy once, not at every batch
        return _fit_tagger(student, pairs, dev, train_config, out_dir, progress, seed)
