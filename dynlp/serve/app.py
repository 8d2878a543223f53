"""`dynlp serve`: trained models behind a JSON API over HTTP, and a page to try them.

    POST /models/NAME/tag     {"text": "..."} or {"conllu": "..."}  -> {"conllu", "sentences"}
    POST /models/NAME/score   {"lines": ["...", ...]}               -> {"log_probs", "perplexity", "tokens"}
    POST /models/NAME/sample  {"n", "temperature", "top_k", "prefix", "max_len", "seed"}
                                                                    -> {"samples"}
    GET  /models              each model: name, kind, config, kept epoch's metrics, card (card.py)
    GET  /health              200 when every worker is up, else 503
    GET  /                    the page (web/): plain HTML and JavaScript, nothing from elsewhere

The app (Starlette, on uvicorn) only checks requests and answers them: the models live in
worker processes (pool.py, worker.py), where requests that arrive together are computed
together.  Every error is `{"error": "one line"}` with a 4xx status when the request is at
fault, 503 when a worker died or the server is busy, and 500 only for a bug of ours.  Limits
(body size, tokens per request, samples and their length) are `Limits`, all settable.  The
server never opens a file that a request names: the page's three files are read at start.
"""
import json
import logging
import os

from dynlp.serve.protocol import JOBS, RequestError, json_type

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
        raise RequestError(f"the body must be a JSON object, not {json_type(data)}")
    return data


def _too_large(limits):
    return RequestError(f"the body is larger than the server's limit of {limits.max_body:,} "
                        "bytes (dynlp serve --max-body)", status=413)


def create_app(models, pool, limits):
    """The Starlette app for `models` (describe_models), answered by `pool` (a WorkerPool)."""
    from starlette.applications import Starlette
    from starlette.exceptions import HTTPException
    from starlette.routing import Route

    async def health(request):
        state = pool.health()
        return json_response(state, 200 if state["up"] else 503)

    async def list_models(request):
        return json_response({"models": list(models.values())})

    routes = page_routes() + [Route("/health", health), Route("/models", list_models),
                              Route("/models/{name}/{job}", job_endpoint(models, pool, limits),
                                    methods=["POST"])]
    return Starlette(routes=routes, exception_handlers={
        RequestError: request_error, HTTPException: http_error, Exception: server_error})


def page_routes():
    """GET routes for the page's three files, read once, at start."""
    from starlette.responses import Response
    from starlette.routing import Route

    pages = {}
    for path, (filename, media_type) in PAGE_FILES.items():
        with open(os.path.join(WEB_DIR, filename), "rb") as source:
            pages[path] = (source.read(), media_type)

    async def page(request):
        body, media_type = pages[request.url.path]
        return Response(body, media_type=media_type, headers=PAGE_HEADERS)

    return [Route(path, page) for path in PAGE_FILES]


def job_endpoint(models, pool, limits):
    """POST /models/NAME/JOB: the request checked (protocol.JOBS), then answered by a worker."""
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
                               f"it has no /{job_name}", status=404)
        data = await read_json_object(request, limits)
        worker_request, cost = check(data, model, limits)
        result = await pool.submit(name, job_name, worker_request, cost)
        return json_response({"model": name, **result})

    return job


def json_response(body, status=200):
    from starlette.responses import JSONResponse

    return JSONResponse(body, status_code=status)


# ---- errors: one line of JSON each ------------------------------------------------------------
async def request_error(request, error):
    return json_response({"error": str(error)}, error.status)


async def http_error(request, error):
    """Starlette's own errors (an unknown path, a wrong method), in our words."""
    message = {404: f"no such path {request.url.path}",
               405: f"{request.method} is not allowed on {request.url.path}"}
    return json_response({"error": message.get(error.status_code, str(error.detail))},
                         error.status_code)


async def server_error(request, error):
    log.error("dynlp serve: %s on %s: %r", type(error).__name__, request.url.path, error)
    return json_response({"error": "internal server error"}, 500)
