"""Tagging and scoring in chunks, in this process, in a pool of worker processes, or on Ray.

The per-chunk work is plain functions over plain Python data (lists of sentences in, text out),
so any runner can call them: `run_chunks` below (one process, or a local pool) and the Ray
runner in `cluster.py` (both in dynlp/runtime/).  A local pool's workers are forked after this process has loaded the
model, so they start at once with it; a Ray actor loads it once, on its first chunk.  Chunks are submitted a few at a time and their results come back in input order,
so memory stays flat however large the input is, and the output does not depend on the number
of workers.

A cluster cannot stream sentences from the driver, so for it `split_input` cuts a file into
`Part`s (byte ranges of `chunk_size(job)` sentences, the same chunks as the local runner's) that a worker
reads itself with `tag_part` / `score_part`.
"""
import concurrent.futures
import itertools
import multiprocessing
import os
from typing import NamedTuple

from dynlp.data.rawtext import paragraph_parts
from dynlp.data.text import (Piece, Span, decode_line, open_bytes, read_lines, read_pieces,
                             tokenize)
from dynlp.data.treebank import conllu_text, read_conllu, sentence_from_forms
from dynlp.errors import DynlpError
from dynlp.runtime.forks import usable_processes
from dynlp.tasks import load_model as load_saved_model
from dynlp.tasks.tagger import tagged_lines
from dynlp.tasks.pipeline import load_tokenizer, tokenizer_path
from dynlp.tasks.tokenizer import tokenized_parts

CHUNK = 256  # lines per unit of work for score (a chunk is scored in one graph)
TAG_CHUNK = 1024  # sentences per unit of work for tag: the more, the better they batch by length

_models = {}  # kind -> ((model directory, config.json mtime), loaded model), in each process
IN_FLIGHT_PER_WORKER = 2  # chunks queued per worker: enough to keep it busy, no more


def chunk_size(job):
    """Sentences (or lines) per unit of work for `job`, "tag" or "score"."""
    return TAG_CHUNK if job == "tag" else CHUNK


def _model(kind, model_dir, load=None):
    """The model of `kind` in `model_dir`, loaded once per process (again if it was saved
    anew), by `load(model_dir)` (default: `load_model`)."""
    key = (os.path.abspath(model_dir), _modified(model_dir))
    if _models.get(kind, (None,))[0] != key:
        _models[kind] = key, (load or (lambda d: load_model(kind, d)))(model_dir)
    return _models[kind][1]


def load_model(kind, model_dir):
    """A tagger ("tagger") or a language model ("language-model": recurrent or n-gram), to
    predict with only (a tagger's weights are read into numpy once: BiLSTMTagger.freeze)."""
    if kind != "tagger":
        return load_saved_model(model_dir, "language-model")
    model = load_saved_model(model_dir, "tagger")
    model.freeze()
    return model


def _modified(model_dir):
    try:
        return os.stat(os.path.join(model_dir, "config.json")).st_mtime_ns
    except OSError:
        return None  # load() will say what is wrong


def tagger_input(path, input_format, span=None, first_sentence=1, model_dir=None):
    """Sentences from CoNLL-U, or from text: with the tokenizer learned beside the tagger in
    `model_dir`, paragraphs ("text": blank lines between them) or lines ("lines": one sentence
    each) split into sentences, tokens and words; without one, one sentence per line,
    nltk-tokenised.  Text sentences are numbered (`# sent_id`) from `first_sentence`.
    """
    if input_format == "conllu":
        yield from read_conllu(path, (), span=span)  # the words; every column is kept as read
        return
    tokenizer = _tokenizer(model_dir) if model_dir else None
    if tokenizer is None:
        lines = (line for _, line in read_lines(path, span))
        yield from text_sentences(_not_conllu(lines, path), first_sentence)
        return
    # The learned tokenizer reads the text in pieces: a line may be as long as the file.
    pieces = (read_pieces(path) if span is None else
              (Piece(number, line, True) for number, line in read_lines(path, span)))
    pieces = _not_conllu(pieces, path, lambda piece: piece.text)
    parts = paragraph_parts(pieces, input_format == "lines")
    yield from tokenized_parts(tokenizer, parts, first_sentence, input_format == "lines")


def _not_conllu(items, path, text=lambda line: line):
    """The lines (or Pieces: `text` gives theirs) of a text input, refused where the first is
    CoNLL-U's (`--input text` given a treebank would tag its comments and columns as words)."""
    for number, item in enumerate(items):
        first_line = text(item) if number == 0 else ""
        if (first_line.startswith("# sent_id") or first_line.startswith("# newdoc")
                or first_line.count("\t") == 9):
            raise DynlpError(f"{path}: looks like CoNLL-U, not text: leave out --input text")
        yield item


def _tokenizer(model_dir):
    """The tokenizer beside the tagger in `model_dir` (None: it has none), loaded once."""
    return _model("tokenizer", tokenizer_path(model_dir),
                  lambda _: load_tokenizer(model_dir))


def text_sentences(lines, first_sentence=1):
    """A CoNLL-U sentence for each non-blank line of text, nltk-tokenised, numbered from
    `first_sentence` (`dynlp tag --input text`, and `dynlp serve`'s {"text": ...})."""
    number = first_sentence - 1
    for line in lines:
        if line.strip():
            number += 1
            yield sentence_from_forms(tokenize(line, "word"), number, text=line.strip())


def tag_chunk(model_dir, sentences, n_best=None):
    """CoNLL-U text of `sentences` (treebank.Sentence) with the model's columns predicted; with
    `n_best` (0 or more), each word's probabilities and that many alternatives in MISC
    (data/confidence.py)."""
    model = _model("tagger", model_dir)
    return conllu_text(tagged_lines(model, sentences, n_best))


def score_chunk(model_dir, lines):
    """(log-prob, tokens) of each line (None for blank lines) under a language model."""

    model = _model("language-model", model_dir)
    config = model.config
    sentences = [tokenize(line, config.level, config.tokenized) for line in lines]
    scored = iter(model.score_batch([s for s in sentences if s]) if any(sentences) else [])
    results = []
    for sentence in sentences:
        if sentence:
            total, per_token = next(scored)
            results.append((total, len(per_token)))
        else:
            results.append(None)
    return results


class Part(NamedTuple):
    """A chunk of an input file: its byte span and the number of its first sentence."""

    start: int
    end: int
    first_line: int
    first_sentence: int


def split_input(path, unit, size=CHUNK):
    """The Parts of a file, each `size` units long, with the same chunks as `chunked` makes.

    A unit is what one output item comes from: a CoNLL-U sentence ("conllu"), a non-blank line
    of plain text to tag ("text") or any line to score ("lines").  Every line is checked (UTF-8,
    no NUL, length) on the way, so bad bytes are reported before any worker starts.
    """
    parts, count, in_sentence = [], 0, False
    start = offset = 0
    first_line, first_sentence, sentences = 1, 1, 0
    with open_bytes(path) as stream:
        for number, raw in enumerate(stream, start=1):
            offset += len(raw)
            blank = not decode_line(raw, path, number).strip()
            ends_unit = {"lines": True, "text": not blank, "conllu": blank and in_sentence}[unit]
            in_sentence = not blank
            if ends_unit:
                count, sentences = count + 1, sentences + 1
            if count == size:
                parts.append(Part(start, offset, first_line, first_sentence))
                start, first_line, first_sentence, count = offset, number + 1, sentences + 1, 0
    if count or (unit == "conllu" and in_sentence):  # the last, shorter chunk
        parts.append(Part(start, offset, first_line, first_sentence))
    return parts


def tag_part(model_dir, path, part, input_format="conllu", n_best=None):
    """`tag_chunk` of the sentences in one Part of a file."""
    span = Span(part.start, part.end, part.first_line)
    return tag_chunk(model_dir, list(tagger_input(path, input_format, span, part.first_sentence,
                                                  model_dir)), n_best)


def score_part(model_dir, path, part):
    """`score_chunk` of the lines in one Part of a file."""
    span = Span(part.start, part.end, part.first_line)
    return score_chunk(model_dir, [text for _, text in read_lines(path, span)])


def chunked(items, size):
    """Lists of up to `size` consecutive items, read lazily."""
    chunk = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def run_chunks(function, model_dir, chunks, workers=1):
    """Yield `function(model_dir, chunk)` for each chunk, in order, using `workers` processes.

    `workers=None` chooses: one process for an input of one chunk (starting a pool would cost
    more than it saves), else one per core this process may use (DyNet computes on one core;
    on a GPU, one process: forks.usable_processes).
    """
    if workers is None:
        chunks = iter(chunks)
        first = list(itertools.islice(chunks, 2))
        workers = 1 if len(first) < 2 else usable_processes()
        chunks = itertools.chain(first, chunks)
    if workers <= 1:
        for chunk in chunks:
            yield function(model_dir, chunk)
        return
    # Load the model here (a chunk of nothing), then fork: each worker starts as a copy of this
    # process, DyNet and model included, so none of them reads the model directory again.
    function(model_dir, [])
    fork = multiprocessing.get_context("fork")
    pool = concurrent.futures.ProcessPoolExecutor(workers, mp_context=fork)
    try:
        pending = []
        for chunk in chunks:
            pending.append(pool.submit(function, model_dir, chunk))
            if len(pending) >= workers * IN_FLIGHT_PER_WORKER:
                yield pending.pop(0).result()
        for future in pending:
            yield future.result()
    except concurrent.futures.BrokenExecutor:
        raise DynlpError("a worker process died (out of memory?); try fewer --workers "
                         "or --workers 1") from None
    finally:
        pool.shutdown(wait=True, cancel_futures=True)  # on error, do not finish queued work

