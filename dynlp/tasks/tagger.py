"""The BiLSTM tagger's task: its corpus (CoNLL-U, columns chosen on the training file),
vocabularies and model, batches, dev metric (the mean accuracy of its columns), training (with
an ensemble, optionally distilled into one network), and scoring against gold sentences.

    train, dev, config = read_tagger_corpus("train.conllu", "dev.conllu", TaggerConfig(), 0.1)
    model, state = train_tagger(train, dev, config, TrainConfig(), "models/ewt")
    summary = score_tagger(model, dev).summary()
"""
import logging
import os
from dataclasses import replace

import numpy as np

from dynlp.data.confidence import confidence_fields
from dynlp.data.embeddings import read_vectors
from dynlp.data.treebank import (TAG_COLUMNS, check_filled, filled, has_value, read_treebank,
                                 share_filled)
from dynlp.data.vocab import SPECIALS
from dynlp.errors import ConfigError, DataError
from dynlp.metrics import TreebankScores
from dynlp.models.tagger.growth import grown_tagger
from dynlp.models.tagger.network import BiLSTMTagger, labels, tag_batches
from dynlp.store.checkpoint import make_output_dir, read_config
from dynlp.tasks.calibration import fit_temperatures
from dynlp.tasks.common import resume as resume_run
from dynlp.tasks.common import split_dev
from dynlp.training.loop import fit

log = logging.getLogger("dynlp")


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


def score_tagger(model, sentences, columns=None, calibration=False):
    """TreebankScores of `model` on gold Sentences (unseen: words outside its vocabulary), for
    its columns or those of them given; with `calibration`, of its probabilities too."""
    scores = TreebankScores(columns or model.columns)
    forms = [s.forms for s in sentences]
    if calibration:
        ranked = model.predict_ranked(forms)
        predictions = [chosen_tags(r) for r in ranked]
        chosen = [chosen_probabilities(r) for r in ranked]
    else:
        predictions, chosen = model.predict_many(forms), [None] * len(sentences)
    for sentence, predicted, probabilities in zip(sentences, predictions, chosen):
        scores.add(sentence.tags, predicted, [not model.knows(form) for form in sentence.forms],
                   probabilities)
    return scores


def tagged_lines(model, sentences, n_best=None):
    """The CoNLL-U lines of each of `sentences` tagged by `model`, as `tag_chunk` writes them."""
    forms = [s.forms for s in sentences]
    if n_best is None:
        return [s.with_tags(tags) for s, tags in zip(sentences, model.predict_many(forms))]
    ranked = model.predict_ranked(forms, k=n_best + 1)
    return [s.with_tags(chosen_tags(r), confidence_misc(r, n_best))
            for s, r in zip(sentences, ranked)]


def chosen_tags(ranked):
    """{column: tags} of one sentence's {column: [ranked choices of each word]}."""
    return {column: [choices[0][0] for choices in words] for column, words in ranked.items()}


def chosen_probabilities(ranked):
    """{column: the probability of each word's chosen value} of one sentence's ranked choices."""
    return {column: [choices[0][1] for choices in words] for column, words in ranked.items()}


def confidence_misc(ranked, n_best):
    """Each word's MISC fields ({name: value}) of one sentence's ranked choices."""
    columns = list(ranked)
    words = len(ranked[columns[0]]) if columns else 0
    return [confidence_fields({c: ranked[c][i] for c in columns}, n_best) for i in range(words)]


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
    """Dev accuracy of each column dev fills (all of them, but when a model is carried on to
    data without some); `dev_score`, their mean, is what training monitors."""
    filled_columns = [c for c in model.columns if filled(dev_sentences, c)] or model.columns
    columns = score_tagger(model, dev_sentences, filled_columns).summary()["columns"]
    metrics = {f"dev_{name}": scores["accuracy"] for name, scores in columns.items()}
    metrics["dev_score"] = (sum(metrics[f"dev_{c}"] for c in filled_columns)
                            / len(filled_columns))
    return metrics


def read_training_corpus(train_path, dev_path, config, dev_fraction, init_from=None):
    """(train, dev, config, trained) for `train_tagger`: as `read_tagger_corpus` reads them, or
    with `init_from` (a trained tagger's directory) that tagger loaded to be carried on (a
    directory that is not a tagger: one ModelDirError line), its config, and its columns read
    (`read_carry_on_corpus`)."""
    if not init_from:
        return (*read_tagger_corpus(train_path, dev_path, config, dev_fraction), None)
    trained = BiLSTMTagger.load(init_from)
    log.info("--init-from %s: its columns (%s), sizes and weights; words, characters and tags "
             "of %s that it lacks are added", init_from, trained.config.columns, train_path)
    train, dev = read_carry_on_corpus(train_path, dev_path, trained, dev_fraction)
    return train, dev, replace(trained.config, distill=False), trained


def read_carry_on_corpus(train_path, dev_path, trained, dev_fraction):
    """Training and dev Sentences to carry the tagger `trained` on to: its columns, any of
    which the new data may leave blank (that head keeps what it learned), but not all."""
    train = read_treebank(train_path, TAG_COLUMNS)
    unlearned = [c for c in TAG_COLUMNS if c not in trained.columns and filled(train, c)]
    if unlearned:
        log.warning("%s: column %s is not learned: the tagger carried on has no head for it",
                    train_path, ", ".join(unlearned))
    if not any(filled(train, c) for c in trained.columns):
        raise DataError(f"{train_path}: none of the columns of the tagger carried on "
                        f"({', '.join(trained.columns)}) has a value; nothing to learn")
    if not dev_path:
        return split_dev(train, dev_fraction, train_path)
    return train, read_treebank(dev_path, trained.columns)


def tagged_pairs(sentences, columns):
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


def teacher_and_config(teacher_dir, tagger_config):
    """The trained tagger in `teacher_dir` (None: none), and `tagger_config` asking for the
    teacher's columns: its student learns those and no others."""
    if not teacher_dir:
        return None, tagger_config
    teacher = BiLSTMTagger.load(teacher_dir)  # a wrong directory: one clear ModelDirError
    return teacher, replace(tagger_config, columns=teacher.config.columns, distill=True)


# With --distill, the ensemble (the teacher) is saved here inside the student's directory: a
# model of its own, `dynlp tag -m DIR/ensemble` tags with it.
TEACHER_DIR = "ensemble"


def train_tagger(train, dev, tagger_config, train_config, out_dir, resume=False, progress=False,
                 seed=1, teacher=None, init_from=None):
    """Train a BiLSTMTagger on `train`/`dev` Sentences into `out_dir` (best: dev_score); with
    `distill`, the ensemble first (into out_dir/ensemble), then one network taught by it; with
    a trained `teacher` (a BiLSTMTagger), only the network it teaches; with a trained tagger
    `init_from`, that tagger carried on (models/tagger/growth.py: its config, not
    `tagger_config`)."""
    distilling = tagger_config.distill or teacher is not None
    if distilling and resume:
        raise ConfigError("--resume of a --distill run is not supported yet: train it again")
    if init_from is not None:
        if distilling or resume:
            raise ConfigError("--init-from starts a new run from a trained tagger: not with "
                              "--resume, --distill or --teacher")
        make_output_dir(out_dir)
        # Only the columns the new data fills: FEATS left `_` throughout is a column it lacks,
        # not words without features.
        pairs = tagged_pairs(train, [c for c in init_from.columns if filled(train, c)])
        model = grown_tagger(init_from, pairs, seed)
        return _fit_tagger(model, pairs, dev, train_config, out_dir, progress, seed)
    if distilling:
        return distill_tagger(train, dev, tagger_config, train_config, out_dir, progress, seed,
                             teacher)
    make_output_dir(out_dir)
    if resume:
        model, state = resume_run(out_dir, BiLSTMTagger)
        _check_known_tags(model, train)  # dev may hold tags never trained on: counted wrong
        model.rng = np.random.default_rng([seed, state.epoch])  # word dropout draws
        pairs = tagged_pairs(train, model.columns)
    else:
        if tagger_config.column_list():  # chosen already (read_tagger_corpus warned)
            check_filled(train, tagger_config.column_list(), "the training data")
        else:
            tagger_config = choose_columns(tagger_config, train)
        pairs = tagged_pairs(train, tagger_config.column_list())
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
                higher_is_better=True, progress=progress, state=state, seed=seed, unit="words")
    best = BiLSTMTagger.load(out_dir)
    if best.config.calibrate:
        calibrate(best, dev, out_dir)
    return best, state


def calibrate(model, dev, out_dir):
    """Fit `model`'s temperatures on the `dev` Sentences (tasks/calibration.py) and save them
    with it in `out_dir`, its training record kept."""
    training = read_config(out_dir).get("training", {})
    model.temperatures = fit_temperatures(model, dev)
    # One network's choices never change; an ensemble's mean of softmax(s / T) may, a little:
    # the dev score after, beside the one training recorded for this model.
    log.info("temperatures fitted on dev: %s (dev score %.4f, %.4f before)", ", ".join(
        f"{column} {t:.2f}" for column, t in model.temperatures.items()),
        tagger_dev_metrics(model, dev)["dev_score"],
        training.get("metrics", {}).get("dev_score", float("nan")))
    model.save(out_dir, extra={"training": training})


def distill_tagger(train, dev, tagger_config, train_config, out_dir, progress=False, seed=1,
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
    pairs = tagged_pairs(train, student_config.column_list())
    # The teacher's vocabularies: its distributions' rows are the student's tags, in order.
    student = BiLSTMTagger(student_config, teacher.words, teacher.chars,
                           {head.column: head.vocab for head in teacher.heads}, seed=seed + 1)
    vectors = tagger_vectors(student_config, pairs)
    if vectors is not None:
        for network in student.networks:
            network.encoder.start_embeddings(vectors)
    student.teacher = teacher
    teacher.temperatures = {}  # its networks' own distributions, as distillation was measured
    with teacher.frozen():  # its weights read into numpy once, not at every batch
        return _fit_tagger(student, pairs, dev, train_config, out_dir, progress, seed)
