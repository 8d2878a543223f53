"""What a `dynlp serve` worker process does: load the models once, then answer batches.

DyNet is not thread-safe and computes on one core per process, so the server (app.py) never
imports it: it hands requests to worker processes (pool.py), and this module is all that runs
in one.  A *batch* is the requests for one model and one job that arrived together.  Their work
is done in one go, as offline: all the sentences of a batch of tag requests go through one
`predict_many` (which groups them by length), all the lines of score requests through one
`score_batch`.  Then each request gets its own share of the results back.

Everything here is plain functions of JSON-like data (`run_batch`), so it is tested without a
server; the pool talks to `worker_main` with JSON messages over a pipe.  A request that is at
fault (CoNLL-U that does not parse, too many tokens) gets an error of its own, with a 4xx
status, and the rest of its batch is answered as usual.
"""
import json
import logging
import math
import os
import signal
import traceback

import numpy as np

from dynlp.backend import BackendConfig, configure
from dynlp.data.text import text_pieces, tokenize
from dynlp.data.treebank import conllu_text, parse_conllu
from dynlp.errors import DynlpError
from dynlp.metrics import perplexity
from dynlp.data.rawtext import paragraph_parts
from dynlp.runtime.work import load_model, text_sentences
from dynlp.tasks.tagger import chosen_tags, confidence_misc
from dynlp.serve.protocol import RequestError, model_name, too_many_tokens
from dynlp.store.checkpoint import read_config
from dynlp.tasks import sample_text
from dynlp.tasks.pipeline import load_tokenizer
from dynlp.tasks.tokenizer import tokenized_parts

log = logging.getLogger("dynlp")


# ---- loading ---------------------------------------------------------------------------------
def load_models(model_dirs):
    """{name: loaded model} for each directory, each file checked as `dynlp tag` checks it;
    a tagger's tokenizer (if it has one) under ("tokenizer", name)."""
    models = {}
    for directory in model_dirs:
        kind = read_config(directory)["kind"]
        models[model_name(directory)] = load_model(kind, directory)
        if kind == "tagger":
            models[("tokenizer", model_name(directory))] = load_tokenizer(directory)
    return models


# ---- the jobs --------------------------------------------------------------------------------
def run_batch(models, batch, max_tokens):
    """The results of `batch` = {"model", "job", "requests": [...]}: one per request, in order,
    each {"ok": response} or {"error": "one line", "status": 4xx}."""
    model = models[batch["model"]]
    if batch["job"] == "tag":  # raw text is read by the tagger's own tokenizer, if it has one
        tokenizer = models.get(("tokenizer", batch["model"]))
        return tag_requests(model, batch["requests"], max_tokens, tokenizer)
    return JOBS[batch["job"]](model, batch["requests"], max_tokens)


def tag_requests(model, requests, max_tokens, tokenizer=None):
    """Tag the sentences of every request ({"text"} or {"conllu"}, and "n_best" if it asks for
    confidences) in one `predict_many`, or one `predict_ranked` if any request asks."""
    results, parsed = [None] * len(requests), []
    for i, request in enumerate(requests):
        try:
            parsed.append((i, request_sentences(request, max_tokens, tokenizer)))
        except DynlpError as error:  # RequestError, or CoNLL-U that does not parse
            results[i] = _error(error)
    forms = [s.forms for _, sentences in parsed for s in sentences]
    asked = [requests[i].get("n_best") for i, _ in parsed]
    most = max((n for n in asked if n is not None), default=None)
    # The ranked choices' first is what predict_many picks: one pass serves every request.
    if most is None:
        tags, ranked = model.predict_many(forms), None
    else:
        ranked = model.predict_ranked(forms, k=most + 1)
        tags = [chosen_tags(r) for r in ranked]
    start = 0
    for (i, sentences), n_best in zip(parsed, asked):
        mine, start = slice(start, start + len(sentences)), start + len(sentences)
        results[i] = {"ok": _tagged(sentences, tags[mine],
                                    None if n_best is None else ranked[mine], n_best)}
    return results


def _tagged(sentences, tags, ranked, n_best):
    """A tag response, CoNLL-U and words, from each sentence's tags; with each word's
    confidences from its `ranked` choices where the request asked (`n_best` not None)."""
    words = [_words(s, t) for s, t in zip(sentences, tags)]
    misc = [None] * len(sentences)
    if ranked is not None:
        misc = [confidence_misc(r, n_best) for r in ranked]
        for sentence, r in zip(words, ranked):
            _add_confidences(sentence, r, n_best)
    return {"conllu": conllu_text(s.with_tags(t, m) for s, t, m in zip(sentences, tags, misc)),
            "sentences": words}


def _add_confidences(words, ranked, n_best):
    """Each word's "probabilities" ({column: p}) and, with n_best, "alternatives" ({column:
    [[value, p], ...]})."""
    for i, word in enumerate(words):
        word["probabilities"] = {c: choices[i][0][1] for c, choices in ranked.items()}
        if n_best:
            word["alternatives"] = {c: [list(pair) for pair in choices[i][1:n_best + 1]]
                                    for c, choices in ranked.items()}


def request_sentences(request, max_tokens, tokenizer=None):
    """The sentences of a tag request: CoNLL-U as `dynlp tag` reads it, or raw text as `dynlp
    tag --input text` reads it: paragraphs split by the tagger's tokenizer, or without one a
    sentence per line, split by NLTK."""
    if "conllu" in request:
        numbered = enumerate(request["conllu"].split("\n"), start=1)
        sentences = list(parse_conllu(((n, line.rstrip("\r")) for n, line in numbered),
                                      "conllu", ()))
    elif tokenizer is not None:
        parts = paragraph_parts(text_pieces(request["text"]))
        sentences = list(tokenized_parts(tokenizer, parts))
    else:
        sentences = list(text_sentences(request["text"].split("\n")))
    if not sentences:
        raise RequestError("no sentences to tag (the text is empty or blank)")
    _check_tokens(sum(len(s.forms) for s in sentences), max_tokens)
    return sentences


def _words(sentence, tags):
    """A sentence as [{"id", "form", column: tag, ...}] for the columns the model predicts."""
    return [{"id": i + 1, "form": form, **{column: values[i] for column, values in tags.items()}}
            for i, form in enumerate(sentence.forms)]


def score_requests(model, requests, max_tokens):
    """log p of each line of every request ({"lines"}) in one `score_batch`, with each
    token's log-probability (the last one is `</s>`'s) for the page's heat strip; null
    (None) for a blank line, and where a probability is 0."""
    config, results, parsed = model.config, [None] * len(requests), []
    for i, request in enumerate(requests):
        lines = [tokenize(line, config.level, config.tokenized) for line in request["lines"]]
        try:
            if not any(lines):
                raise RequestError("no text to score (every line is empty or blank)")
            _check_tokens(sum(map(len, lines)), max_tokens)
        except RequestError as error:
            results[i] = _error(error)
            continue
        parsed.append((i, lines))
    flat = [line for _, lines in parsed for line in lines if line]
    scored = iter(model.score_batch(flat) if flat else [])
    for i, lines in parsed:
        log_probs, tokens, nll, count = [], [], 0.0, 0
        for line in lines:
            if not line:  # a blank line has no probability; kept for alignment
                log_probs.append(None)
                tokens.append([])
                continue
            total, per_token = next(scored)
            log_probs.append(_finite(total))
            tokens.append([{"token": t, "log_prob": _finite(p)}
                           for t, p in zip(list(line) + ["</s>"], per_token)])
            nll, count = nll - float(total), count + len(per_token)
        results[i] = {"ok": {"log_probs": log_probs,
                             "perplexity": _finite(perplexity(nll, count)), "tokens": tokens}}
    return results


def sample_requests(model, requests, max_tokens):
    """`n` samples for each request, as `dynlp sample` draws them (the same seed gives the
    same samples)."""
    results = []
    for request in requests:
        rng = np.random.default_rng(request.get("seed"))
        try:
            samples = [sample_text(model, rng, request.get("prefix", ""),
                                   temperature=request.get("temperature", 1.0),
                                   top_k=request.get("top_k"),
                                   max_len=request.get("max_len", 100))
                       for _ in range(request.get("n", 1))]
        except DynlpError as error:
            results.append(_error(error))
            continue
        results.append({"ok": {"samples": samples}})
    return results


def _finite(number):
    """A float for JSON, which has no infinity: None where a probability is 0 (an unsmoothed
    n-gram model's log-probability of -inf, and the perplexity it makes infinite)."""
    number = float(number)
    return number if math.isfinite(number) else None


JOBS = {"tag": tag_requests, "score": score_requests, "sample": sample_requests}


def _check_tokens(count, max_tokens):
    if count > max_tokens:
        raise too_many_tokens(count, max_tokens)


def _error(error):
    return {"error": str(error), "status": getattr(error, "status", 400)}


# ---- the worker process ----------------------------------------------------------------------
def worker_main(conn, model_dirs, backend_settings, max_tokens):
    """A worker's life: configure DyNet, load every model, say "ready", then answer each batch
    that comes down `conn` until the server closes it.  Messages are JSON, one per batch."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the server's; it stops us
    try:
        configure(BackendConfig(**backend_settings))
        models = load_models(model_dirs)
    except DynlpError as error:
        _send(conn, {"error": str(error)})
        return
    _send(conn, {"ready": os.getpid()})
    while True:
        try:
            batch = json.loads(conn.recv_bytes())
        except (EOFError, OSError):  # the server has gone: so do we
            return
        _send(conn, {"results": _answer(models, batch, max_tokens)})


def _answer(models, batch, max_tokens):
    try:
        return run_batch(models, batch, max_tokens)
    except Exception:  # a bug of ours, not the client's: a 500 for each, and carry on
        log.error("dynlp serve: a worker failed on a %s batch:\n%s", batch.get("job"),
                  traceback.format_exc())
        return [{"error": "internal error in a worker (see the server's log)", "status": 500}
                for _ in batch["requests"]]


def _send(conn, message):
    conn.send_bytes(json.dumps(message).encode("utf-8"))
