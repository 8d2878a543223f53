"""Tagging and scoring in chunks, in this process or in a pool of worker processes.

The per-chunk work is plain functions over plain Python data (lists of sentences in, text out),
so any runner can call them: `run_chunks` below (one process, or a local pool), and later a
cluster runner.  Each worker process loads the model from its directory once, on its first
chunk.  Chunks are submitted a few at a time and their results come back in input order, so
memory stays flat however large the input is, and the output does not depend on the number
of workers.
"""
import concurrent.futures
import multiprocessing
import os

from .backend import BackendConfig, configure
from .errors import DynlpError

_models = {}  # (model directory, config.json mtime) -> loaded model, in each process
IN_FLIGHT_PER_WORKER = 2  # chunks queued per worker: enough to keep it busy, no more


def _model(kind, model_dir):
    """The model in `model_dir`, loaded once per process (again if it was saved anew)."""
    key = (os.path.abspath(model_dir), _modified(model_dir))
    if key not in _models:
        if kind == "tagger":
            from .tagger import BiLSTMTagger as model_class
        else:
            from .lm import RNNLanguageModel as model_class
        _models.clear()
        _models[key] = model_class.load(model_dir)
    return _models[key]


def _modified(model_dir):
    try:
        return os.stat(os.path.join(model_dir, "config.json")).st_mtime_ns
    except OSError:
        return None  # load() will say what is wrong


def tag_chunk(model_dir, sentences):
    """CoNLL-U text of `sentences` (treebank.Sentence) with the model's column predicted."""
    from .treebank import conllu_text

    model = _model("tagger", model_dir)
    column = model.config.column
    predicted = model.predict_many([s.forms for s in sentences])
    return conllu_text(s.with_tags(tags, column) for s, tags in zip(sentences, predicted))


def score_chunk(model_dir, lines):
    """(log-prob, tokens) of each line (None for blank lines) under a language model."""
    from .text import tokenize

    model = _model("lm", model_dir)
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


def run_chunks(function, model_dir, chunks, workers=1, backend=None):
    """Yield `function(model_dir, chunk)` for each chunk, in order, using `workers` processes."""
    if workers <= 1:
        for chunk in chunks:
            yield function(model_dir, chunk)
        return
    context = multiprocessing.get_context("spawn")  # a fresh DyNet in each worker
    pool = concurrent.futures.ProcessPoolExecutor(workers, mp_context=context,
                                                  initializer=_start_worker,
                                                  initargs=(backend or BackendConfig(),))
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


def _start_worker(backend):
    configure(backend)
