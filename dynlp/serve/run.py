"""Running `dynlp serve`: the socket, the worker pool (each worker runs worker.worker_main) and
the app, on uvicorn, until SIGINT or SIGTERM."""
import asyncio
import logging
import signal
import socket

from dynlp.errors import DynlpError
from dynlp.serve.app import create_app
from dynlp.serve.pool import BATCH_WORDS, WINDOW_SECONDS, WorkerPool
from dynlp.serve.protocol import Limits, describe_models
from dynlp.serve.worker import worker_main

log = logging.getLogger("dynlp")


def listening_socket(host, port):
    """The server's socket, bound before any worker starts: a port in use is one line."""
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        return socket.create_server((host, port), family=family, backlog=2048)
    except OSError as error:
        raise DynlpError(f"cannot listen on {host}:{port}: {error.strerror or error}") from None


def serve(model_dirs, host="127.0.0.1", port=8000, workers=1, backend_settings=None,
          limits=None, batch_words=BATCH_WORDS, window=WINDOW_SECONDS, access_log=False):
    """Serve until SIGINT or SIGTERM.  SIGTERM drains: requests in flight are answered, then
    the workers stop and this returns (so `dynlp serve` exits 0)."""
    import uvicorn

    limits = limits or Limits()
    models = describe_models(model_dirs)
    sock = listening_socket(host, port)
    pool = WorkerPool(worker_main, model_dirs, workers, backend_settings or {}, limits.max_tokens,
                      batch_words=batch_words, window=window)
    app = create_app(models, pool, limits)
    config = uvicorn.Config(app, log_config=None, access_log=access_log, lifespan="off",
                            timeout_graceful_shutdown=None)
    server = uvicorn.Server(config)

    async def run():
        try:
            await pool.start()
            host_name, bound_port = sock.getsockname()[:2]
            log.info("dynlp serve: http://%s:%d/ (%d worker%s; models: %s)",
                     f"[{host_name}]" if ":" in host_name else host_name, bound_port, workers,
                     "" if workers == 1 else "s", ", ".join(models))
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
