"""`dynlp serve`: the flags' settings to the server (dynlp.serve.run), with its log on stderr."""
import logging
import os
import sys

from dynlp import backend
from dynlp.cli.flags import DEFAULT_MODELS
from dynlp.config import from_args, to_dict
from dynlp.errors import DynlpError
from dynlp.runtime.forks import usable_processes
from dynlp.serve.protocol import Limits
from dynlp.serve.run import serve as run_server

log = logging.getLogger("dynlp")


def serve(args):
    try:
        import starlette  # noqa: F401  (the extra's two packages)
        import uvicorn  # noqa: F401
    except ImportError:
        raise DynlpError("dynlp serve needs Starlette and uvicorn: pip install "
                         "'dynlp[serve]'") from None

    model_dirs = args.model or [d for d in DEFAULT_MODELS.values() if os.path.isdir(d)]
    if not model_dirs:
        raise DynlpError("no model to serve: give -m DIR (the defaults, models/tagger and "
                         "models/lm, do not exist)")
    settings = from_args(backend.BackendConfig, args)
    settings.check()
    workers = args.workers or _default_serve_workers(settings)
    backend.check_gpu_processes(settings, workers, None)
    if not args.quiet and not log.handlers:  # a service's log is its output: piped or not
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
    if args.access_log:
        logging.getLogger("uvicorn.access").addHandler(logging.StreamHandler(sys.stderr))
        logging.getLogger("uvicorn.access").setLevel(logging.INFO)
    if not settings.mem:
        settings.mem = backend.INFERENCE_MEM
    limits = Limits(max_body=args.max_body, max_tokens=args.max_tokens, max_n=args.max_n,
                    max_len=args.max_len)
    run_server(model_dirs, args.host, args.port, workers, to_dict(settings), limits,
               batch_words=args.batch_words, window=args.batch_ms / 1000,
               access_log=args.access_log)
    return 0


def _default_serve_workers(settings):
    return 1 if backend.on_gpu(settings) else usable_processes()
