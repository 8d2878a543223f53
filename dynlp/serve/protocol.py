"""What `dynlp serve` accepts: the limits on a request, the checks of each job's fields, and the
one-line errors it answers with.  Plain Python, no DyNet: the app checks every request here
before any worker sees it.

    POST /models/NAME/tag     {"text": "..."} or {"conllu": "..."}  -> {"conllu", "sentences"}
                              opt-in: "probabilities": true, "n_best": K (each word's
                              probabilities and K alternatives, in MISC and in "sentences")
    POST /models/NAME/score   {"lines": ["...", ...]}               -> {"log_probs", "perplexity", "tokens"}
    POST /models/NAME/sample  {"n", "temperature", "top_k", "prefix", "max_len", "seed"}
                                                                    -> {"samples"}
"""
import math
import os
from dataclasses import dataclass

from dynlp.data.confidence import MAX_N_BEST
from dynlp.errors import DynlpError
from dynlp.models.sampling import check_sampling
from dynlp.serve.card import model_card
from dynlp.store.checkpoint import read_config


class RequestError(DynlpError):
    """A request that cannot be answered as asked: one line for the client, and a 4xx status."""

    def __init__(self, message, status=400):
        super().__init__(message)
        self.status = status


def model_name(model_dir):
    """A model's name in URLs: its directory's base name (`models/tagger` → `tagger`)."""
    return os.path.basename(os.path.normpath(model_dir))


def too_many_tokens(count, max_tokens):
    """The 413 of a request over the token limit (the server also checks a lower bound first)."""
    return RequestError(f"{count} tokens in one request, more than the server's limit of "
                        f"{max_tokens} (dynlp serve --max-tokens)", status=413)


@dataclass
class Limits:
    """What one request may ask for; past these it gets a 4xx, before any worker sees it."""

    max_body: int = 1_000_000  # bytes of request body
    max_tokens: int = 5_000  # tokens per tag or score request (and in a sample's prefix)
    max_n: int = 20  # samples per request
    max_len: int = 1_000  # tokens per sample


def json_type(value):
    names = {dict: "an object", list: "an array", str: "a string", bool: "true or false",
             int: "a number", float: "a number", type(None): "null"}
    return names.get(type(value), type(value).__name__)




def field(data, name, kind, default=None, required=False):
    """`data[name]`, checked to be of `kind` ("string", "integer", "number", "strings")."""
    if name not in data or (data[name] is None and not required):
        if required:
            raise RequestError(f"missing field {name!r}")
        return default
    value = data[name]
    checks = {"string": lambda v: isinstance(v, str),
              "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
              "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)
              and math.isfinite(v),
              "boolean": lambda v: isinstance(v, bool),
              "strings": lambda v: isinstance(v, list) and all(isinstance(s, str) for s in v)}
    if not checks[kind](value):
        wanted = {"strings": "an array of strings", "boolean": "true or false"}.get(
            kind, f"a {kind}")
        raise RequestError(f"field {name!r} must be {wanted}, not {json_type(value)}")
    return value


def rough_tokens(text, level):
    """Tokens of `text` at least as many as this (for limits before tokenising)."""
    return len(text) if level == "char" else len(text.split())


def tag_request(data, model, limits):
    """(the worker's request, its cost in words) for POST /models/NAME/tag."""
    given = [name for name in ("text", "conllu") if name in data]
    if len(given) != 1:
        raise RequestError('give the sentences as "text" (one sentence per line) or as '
                           '"conllu", one of the two')
    text = field(data, given[0], "string", required=True)
    if not text.strip():
        raise RequestError(f"field {given[0]!r} is empty: no sentences to tag")
    words = rough_tokens(text, "word") if given[0] == "text" else text.count("\n") + 1
    if given[0] == "text" and words > limits.max_tokens:
        raise too_many_tokens(words, limits.max_tokens)
    return {given[0]: text, "n_best": confidences_asked(data)}, words


def confidences_asked(data):
    """A tag request's opt-in confidences: None (none asked), or how many alternatives to
    give beside each probability ("probabilities": true alone: 0)."""
    n_best = field(data, "n_best", "integer")
    probabilities = field(data, "probabilities", "boolean", False)
    if n_best is not None:
        if not 0 <= n_best <= MAX_N_BEST:
            raise RequestError(f"field 'n_best' must be from 0 to {MAX_N_BEST} (got {n_best})")
        return n_best
    return 0 if probabilities else None


def score_request(data, model, limits):
    lines = field(data, "lines", "strings", required=True)
    level = model["config"].get("level", "word")
    tokens = sum(rough_tokens(line, level) for line in lines)
    if not any(line.strip() for line in lines):
        raise RequestError("field 'lines' has no text to score")
    if tokens > limits.max_tokens:
        raise too_many_tokens(tokens, limits.max_tokens)
    return {"lines": lines}, tokens


def sample_request(data, model, limits):
    request = {"n": field(data, "n", "integer", 1),
               "temperature": field(data, "temperature", "number", 1.0),
               "top_k": field(data, "top_k", "integer"),
               "prefix": field(data, "prefix", "string", ""),
               "max_len": field(data, "max_len", "integer", 100),
               "seed": field(data, "seed", "integer")}
    _check_range("n", request["n"], 1, limits.max_n, "--max-n")
    _check_range("max_len", request["max_len"], 1, limits.max_len, "--max-len")
    check_sampling(request["temperature"], request["top_k"], request["max_len"],
                   name=lambda setting: f"field {setting!r}", error=RequestError)
    if request["seed"] is not None and not 0 <= request["seed"] < 2 ** 63:
        raise RequestError("field 'seed' must be a whole number from 0 to 2^63 - 1")
    prefix_tokens = rough_tokens(request["prefix"], model["config"].get("level", "word"))
    if prefix_tokens > limits.max_tokens:
        raise too_many_tokens(prefix_tokens, limits.max_tokens)
    # Samples are drawn one token at a time, so they gain nothing from sharing a batch: each
    # request costs a whole batch, and goes alone.
    return request, math.inf


def _check_range(name, value, low, high, flag):
    if not low <= value <= high:
        raise RequestError(f"field {name!r} must be from {low} to {high} (got {value}; the "
                           f"server's limit is dynlp serve {flag})")


JOBS = {"tag": ("tagger", tag_request), "score": ("language-model", score_request),
        "sample": ("language-model", sample_request)}


# ---- the app --------------------------------------------------------------------------------------
def describe_models(model_dirs):
    """{name: {"name", "kind", "config", "training", "card"}} from each directory's config.json
    (and, for the card, its metrics.jsonl and parameter file header: card.py)."""
    models = {}
    for directory in model_dirs:
        meta, name = read_config(directory), model_name(directory)
        if name in models:
            raise DynlpError(f"{directory}: two models named {name!r} (a model's name is its "
                             "directory's base name); rename one directory")
        if meta["kind"] not in ("tagger", "language-model"):
            raise DynlpError(f"{directory}: a {meta['kind']} model cannot be served")
        models[name] = {"name": name, "kind": meta["kind"], "config": meta["config"],
                        "training": meta.get("training"),
                        "card": model_card(directory, meta)}
    return models
