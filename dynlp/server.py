"""`dynlp serve`: trained models behind a JSON API over HTTP, and a page to try them.

    POST /models/NAME/tag     {"text": "..."} or {"conllu": "..."}  -> {"conllu", "sentences"}
    POST /models/NAME/score   {"lines": ["...", ...]}               -> {"log_probs", "perplexity", "tokens"}
    POST /models/NAME/sample  {"n", "temperature", "top_k", "prefix", "max_len", "seed"}
                                                                    -> {"samples"}
    GET  /models              name, kind, config and final training metrics of each model
    GET  /health              200 when every worker is up, else 503
    GET  /                    the page (web/): plain HTML and JavaScript, nothing from elsewhere

The app (Starlette, on uvicorn) only checks requests and answers them: the models live in
worker processes (pool.py, service.py), where requests that arrive together are computed
together.  Every error is `{"error": "one line"}` with a 4xx status when the request is at
fault, 503 when a worker died or the server is busy, and 500 only for a bug of ours.  Limits
(body size, tokens per request, samples and their length) are `Limits`, all settable.  The
server never opens a file that a request names: the page's three files are read at start.
"""
import asyncio
import json
import logging
import math
import os
import signal
import socket
from dataclasses import dataclass

from .errors import DynlpError
from .service import RequestError, model_name, too_many_tokens

log = logging.getLogger("dynlp")

WEB_DIR = os.path.join(os.path.dirname(__file__), "web")
PAGE_FILES = {"/": ("index.html", "text/html; charset=utf-8"),
              "/app.js": ("app.js", "text/javascript; charset=utf-8"),
              "/style.css": ("style.css", "text/css; charset=utf-8")}
# The page runs only its own script and style, and talks only to this server.
PAGE_HEADERS = {"Content-Security-Policy": "default-src 'self'; img-src 'self' data:",
                "X-Content-Type-Options": "nosniff"}


# A body over the limit is still read (and dropped) up to this many times the limit, so that
# the client, still sending, gets the 413 rather than a connection reset.
DRAIN_FACTOR = 8


@dataclass
class Limits:
    """What one request may ask for; past these it gets a 4xx, before any worker sees it."""

    max_body: int = 1_000_000  # bytes of request body
    max_tokens: int = 5_000  # tokens per tag or score request (and in a sample's prefix)
    max_n: int = 20  # samples per request
    max_len: int = 1_000  # tokens per sample


# ---- reading requests ---------------------------------------------------------------------------
async def read_json_object(request, limits):
    """The request's body as a JSON object, or a RequestError saying in one line what is wrong."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > DRAIN_FACTOR * limits.max_body:
        raise _too_large(limits)  # not worth reading: the client will see the connection close
    body, received = bytearray(), 0
    async for chunk in request.stream():
        received += len(chunk)
        if received <= limits.max_body:
            body += chunk
        elif received > DRAIN_FACTOR * limits.max_body:
            break
    if received > limits.max_body:
        raise _too_large(limits)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise RequestError(f"the body is not valid UTF-8 (byte {error.start + 1})") from None
    try:
        data = json.loads(text)
    except ValueError as error:
        raise RequestError(f"the body is not valid JSON: {error}") from None
    if not isinstance(data, dict):
        raise RequestError(f"the body must be a JSON object, not {_json_type(data)}")
    return data


def _too_large(limits):
    return RequestError(f"the body is larger than the server's limit of {limits.max_body:,} "
                        "bytes (dynlp serve --max-body)", status=413)


def _json_type(value):
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
              "strings": lambda v: isinstance(v, list) and all(isinstance(s, str) for s in v)}
    if not checks[kind](value):
        wanted = {"strings": "an array of strings"}.get(kind, f"a {kind}")
        raise RequestError(f"field {name!r} must be {wanted}, not {_json_type(value)}")
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
    return {given[0]: text}, words


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
    if not request["temperature"] > 0:
        raise RequestError(f"field 'temperature' must be above 0 (got {request['temperature']})")
    if request["top_k"] is not None and request["top_k"] < 1:
        raise RequestError("field 'top_k' must be at least 1, or null for no limit")
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
    """{name: {"name", "kind", "config", "training"}} from each directory's config.json."""
    from .checkpoint import read_config

    models = {}
    for directory in model_dirs:
        meta, name = read_config(directory), model_name(directory)
        if name in models:
            raise DynlpError(f"{directory}: two models named {name!r} (a model's name is its "
                             "directory's base name); rename one directory")
        if meta["kind"] not in ("tagger", "language-model"):
            raise DynlpError(f"{directory}: a {meta['kind']} model cannot be served")
        models[name] = {"name": name, "kind": meta["kind"], "config": meta["config"],
                        "training": meta.get("training")}
    return models


def create_app(models, pool, limits):
    """The Starlette app for `models` (describe_models), answered by `pool` (a WorkerPool)."""
    from starlette.applications import Starlette
    from starlette.exceptions import HTTPException
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    pages = {}
    for path, (filename, media_type) in PAGE_FILES.items():
        with open(os.path.join(WEB_DIR, filename), "rb") as source:
            pages[path] = (source.read(), media_type)

    async def page(request):
        body, media_type = pages[request.url.path]
        return Response(body, media_type=media_type, headers=PAGE_HEADERS)

    async def health(request):
        state = pool.health()
        return JSONResponse(state, status_code=200 if state["up"] else 503)

    async def list_models(request):
        return JSONResponse({"models": list(models.values())})

    async def job(request):
        name, job_name = request.path_params["name"], request.path_params["job"]
        model = models.get(name)
        if model is None:
            raise RequestError(f"no model named {name!r}; GET /models lists them", status=404)
        if job_name not in JOBS:
            raise RequestError(f"no such job {job_name!r}: use tag, score or sample", status=404)
        kind, check = JOBS[job_name]
        if model["kind"] != kind:
            raise RequestError(f"model {name!r} is a {model['kind'].replace('-', ' ')}: "
                               f"it has no /{job_name}",
                               status=404)
        data = await read_json_object(request, limits)
        worker_request, cost = check(data, model, limits)
        result = await pool.submit(name, job_name, worker_request, cost)
        return JSONResponse({"model": name, **result})

    async def request_error(request, error):
        return JSONResponse({"error": str(error)}, status_code=error.status)

    async def http_error(request, error):  # Starlette's own: unknown path, wrong method
        message = {404: f"no such path {request.url.path}",
                   405: f"{request.method} is not allowed on {request.url.path}"}
        return JSONResponse({"error": message.get(error.status_code, str(error.detail))},
                            status_code=error.status_code)

    async def server_error(request, error):
        log.error("dynlp serve: %s on %s: %r", type(error).__name__, request.url.path, error)
        return JSONResponse({"error": "internal server error"}, status_code=500)

    routes = [Route(path, page) for path in PAGE_FILES]
    routes += [Route("/health", health), Route("/models", list_models),
               Route("/models/{name}/{job}", job, methods=["POST"])]
    return Starlette(routes=routes, exception_handlers={
        RequestError: request_error, HTTPException: http_error, Exception: server_error})


# ---- running it -----------------------------------------------------------------------------------
def listening_socket(host, port):
    """The server's socket, bound before any worker starts: a port in use is one line."""
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        return socket.create_server((host, port), family=family, backlog=2048)
    except OSError as error:
        raise DynlpError(f"cannot listen on {host}:{port}: {error.strerror or error}") from None


def serve(model_dirs, host="127.0.0.1", port=8000, workers=1, backend_settings=None,
          limits=None, batch_words=4096, window=0.002, access_log=False):
    """Serve until SIGINT or SIGTERM.  SIGTERM drains: requests in flight are answered, then
    the workers stop and this returns (so `dynlp serve` exits 0)."""
    import uvicorn

    from .pool import WorkerPool

    limits = limits or Limits()
    models = describe_models(model_dirs)
    sock = listening_socket(host, port)
    pool = WorkerPool(model_dirs, workers, backend_settings or {}, limits.max_tokens,
                      batch_words=batch_words, window=window)
    app = create_app(models, pool, limits)
    config = uvicorn.Config(app, log_config=None, access_log=access_log, lifespan="off",
                            timeout_graceful_shutdown=None)
    server = uvicorn.Server(config)

    async def run():
        try:
            await pool.start()
            host_name, bound_port = sock.getsockname()[:2]
            log.info("dynlp serve: http://%s:%d/ (%d workers; models: %s)",
                     f"[{host_name}]" if ":" in host_name else host_name, bound_port, workers,
                     ", ".join(models))
            await server.serve(sockets=[sock])
        finally:
            await pool.close()

    # uvicorn, after draining on SIGTERM, raises the signal again for the handler it found: a
    # handler that does nothing lets the process exit 0, as a drained server should.
    previous = signal.signal(signal.SIGTERM, lambda *_: None)
    loop = _new_event_loop()
    try:
        loop.run_until_complete(run())
    finally:
        loop.close()
        signal.signal(signal.SIGTERM, previous)


def _new_event_loop():
    """uvloop's event loop where it is installed (dynlp[serve] brings it on Linux and macOS;
    with httptools, which uvicorn then uses, the server takes less of the cores from the
    workers: benchmarks/RESULTS.md), else asyncio's."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()
