"""The worker processes behind `dynlp serve`, and the batching of requests that arrive together.

The server runs one asyncio event loop and never computes: each request becomes an entry in a
queue (one queue per model and job), and the loop hands queued entries to idle workers
(worker.py), several requests in one batch:

- When a worker is idle, the oldest request waits at most `window` seconds (a few ms) for
  others to join its batch, so that requests arriving together are computed together.
- When every worker is busy, requests simply queue; the next worker to finish takes as many of
  them as fit in `batch_words` (a word budget: each request's cost is its word count, roughly),
  so batches grow with the load, and throughput with them.

Each worker has one batch at a time.  A worker that dies (killed, out of memory) fails its
batch's requests with a 503 at once, and a new worker takes its place.  Messages on the pipes
(socket pairs, read and written by the event loop, never blocking it) are JSON; nothing is
pickled but the arguments a new process starts with.
"""
import asyncio
import collections
import json
import logging
import multiprocessing
import multiprocessing.connection
import socket
import struct
import time

from dynlp.errors import DynlpError
from dynlp.serve.protocol import RequestError

log = logging.getLogger("dynlp")

# A batch's word budget, and how long the oldest request waits for others to join it when a
# worker is idle: `dynlp serve --batch-words` and `--batch-ms`.
BATCH_WORDS = 4096
WINDOW_SECONDS = 0.002
QUEUE_LIMIT = 1024  # requests waiting at most; past it the server answers 503 (busy)
RESTART_DELAY = 1.0  # seconds before starting again a worker that could not load its models


class _Entry:
    """One request waiting for its result."""

    __slots__ = ("request", "cost", "arrived", "future")

    def __init__(self, request, cost, future):
        self.request, self.cost, self.future = request, cost, future
        self.arrived = time.monotonic()


class _Worker:
    """A worker process, the parent's end of its pipe, and the batch it is computing."""

    def __init__(self, process):
        self.process = process
        self.listener = self.writer = None  # the task reading its messages; the pipe's writer
        self.pid = None  # set when the worker says it is ready
        self.batch = None  # [_Entry] being computed, or None when idle

    @property
    def ready(self):
        return self.pid is not None


class WorkerPool:
    """`workers` processes, each running `target(conn, model_dirs, backend_settings,
    max_tokens)` (worker.worker_main: the pool itself never imports DyNet or the models)."""

    def __init__(self, target, model_dirs, workers, backend_settings, max_tokens,
                 batch_words=BATCH_WORDS, window=WINDOW_SECONDS, timeout=300.0):
        self.target, self.args = target, (list(model_dirs), backend_settings, max_tokens)
        self.size, self.batch_words, self.window, self.timeout = (workers, batch_words, window,
                                                                  timeout)
        self.workers = []
        self.queues = collections.defaultdict(collections.deque)  # (model, job) -> [_Entry]
        self.closing = False
        self.batches = self.batched_requests = 0  # how much batching there was, for /health
        self._timer = None
        self._context = multiprocessing.get_context("spawn")  # no DyNet state is inherited
        self._loop = self._first_start = None  # set by start(): the loop, and "all are ready"

    # ---- life ------------------------------------------------------------------------------
    async def start(self):
        """Start every worker and wait until each has loaded the models; a worker that cannot
        is a DynlpError with its one-line reason (a bad model directory, say)."""
        self._loop = asyncio.get_running_loop()
        self._first_start = self._loop.create_future()
        for _ in range(self.size):
            self._spawn()
        await self._first_start

    def _spawn(self):
        parent_end, child_end = socket.socketpair()
        child_conn = multiprocessing.connection.Connection(child_end.detach())
        process = self._context.Process(target=self.target, args=(child_conn, *self.args),
                                        daemon=True, name="dynlp-serve-worker")
        process.start()
        child_conn.close()
        worker = _Worker(process)
        self.workers.append(worker)
        worker.listener = self._loop.create_task(self._listen(worker, parent_end))

    async def _listen(self, worker, sock):
        """Read the worker's messages until its end of the pipe closes (it died, or stopped).
        The framing is multiprocessing.Connection's, which the worker writes: a 4-byte
        big-endian length, then the message."""
        reader, worker.writer = await asyncio.open_unix_connection(sock=sock)
        try:
            while True:
                (size,) = struct.unpack("!i", await reader.readexactly(4))
                self._on_message(worker, json.loads(await reader.readexactly(size)))
        except (asyncio.IncompleteReadError, ConnectionError):
            self._on_death(worker)

    def _on_message(self, worker, message):
        if "results" in message:
            self._deliver(worker, message["results"])
        elif "ready" in message:
            worker.pid = message["ready"]
            if not self._first_start.done() and all(w.ready for w in self.workers):
                self._first_start.set_result(None)
        elif "error" in message:  # it could not load the models
            if not self._first_start.done():
                self._first_start.set_exception(DynlpError(message["error"]))
            else:
                log.error("dynlp serve: a new worker could not load the models: %s",
                          message["error"])
        self._dispatch()

    def _on_death(self, worker):
        """A worker has gone: fail its batch with a 503 (never leave a request hanging) and,
        unless the server is stopping, start another in its place."""
        worker.writer.close()
        worker.process.join(timeout=1)
        self.workers.remove(worker)
        for entry in worker.batch or ():
            _settle(entry.future, exception=RequestError(
                "the worker computing this request died (out of memory, or killed); "
                "it is being replaced, try again", status=503))
        if self.closing:
            return
        if not self._first_start.done():
            self._first_start.set_exception(DynlpError(
                f"a worker died while loading the models (exit status "
                f"{worker.process.exitcode})"))
            return
        log.warning("dynlp serve: worker %s died (exit status %s); starting another",
                    worker.pid, worker.process.exitcode)
        delay = 0 if worker.ready else RESTART_DELAY  # one that failed to load: not in a loop
        self._loop.call_later(delay, self._replace)

    def _replace(self):
        if not self.closing and len(self.workers) < self.size:
            self._spawn()

    async def close(self):
        """Stop the workers: they exit when their pipe closes (after finishing a batch)."""
        self.closing = True
        for worker in list(self.workers):
            worker.listener.cancel()
            if worker.writer is not None:
                worker.writer.close()
        for worker in list(self.workers):
            await asyncio.to_thread(worker.process.join, 5)
            if worker.process.is_alive():
                worker.process.kill()
        self.workers.clear()

    def health(self):
        """Each worker's pid and state; `up` when every worker is ready."""
        states = [{"pid": w.pid or w.process.pid,
                   "state": "busy" if w.batch else "idle" if w.ready else "starting"}
                  for w in self.workers]
        return {"up": len(self.workers) == self.size and all(w.ready for w in self.workers),
                "workers": states, "queued": sum(map(len, self.queues.values())),
                "batches": self.batches, "requests": self.batched_requests}

    # ---- requests --------------------------------------------------------------------------
    async def submit(self, model, job, request, cost):
        """The response to `request` (a JSON-able dict) for `model`'s `job`; a request the
        worker refuses raises RequestError with its status."""
        if sum(map(len, self.queues.values())) >= QUEUE_LIMIT:
            raise RequestError(f"the server is busy ({QUEUE_LIMIT} requests waiting); "
                               "try again", status=503)
        entry = _Entry(request, max(1, cost), self._loop.create_future())
        self.queues[model, job].append(entry)
        self._dispatch()
        try:
            return await asyncio.wait_for(entry.future, self.timeout)
        except asyncio.TimeoutError:
            raise RequestError(f"no answer within {self.timeout:g} s", status=503) from None

    def _dispatch(self):
        """Give the oldest queued requests to idle workers, a batch each (see the docstring)."""
        self._timer = None
        idle = [w for w in self.workers if w.ready and w.batch is None]
        while idle:
            key = self._oldest_queue()
            if key is None:
                return
            wait = self.queues[key][0].arrived + self.window - time.monotonic()
            if wait > 0:  # let others arrive to share the batch
                self._timer = self._timer or self._loop.call_later(wait, self._dispatch)
                return
            self._send(idle.pop(), key, self._take(self.queues[key]))

    def _oldest_queue(self):
        live = [(queue[0].arrived, key) for key, queue in self.queues.items() if queue]
        return min(live)[1] if live else None

    def _take(self, queue):
        """Entries from the front of `queue` whose costs fit in the word budget (at least one)."""
        batch, words = [], 0
        while queue and (not batch or words + queue[0].cost <= self.batch_words):
            entry = queue.popleft()
            if entry.future.done():  # its client gave up (timeout, disconnect)
                continue
            batch.append(entry)
            words += entry.cost
        return batch

    def _send(self, worker, key, batch):
        if not batch:
            return
        worker.batch = batch
        self.batches, self.batched_requests = self.batches + 1, self.batched_requests + len(batch)
        model, job = key
        message = {"model": model, "job": job, "requests": [e.request for e in batch]}
        data = json.dumps(message).encode("utf-8")
        worker.writer.write(struct.pack("!i", len(data)) + data)  # buffered: never blocks

    def _deliver(self, worker, results):
        batch, worker.batch = worker.batch or [], None
        for entry, result in zip(batch, results):
            if "ok" in result:
                _settle(entry.future, result=result["ok"])
            else:
                _settle(entry.future, exception=RequestError(result["error"], result["status"]))


def _settle(future, result=None, exception=None):
    if future.done():  # the client has gone (timeout or disconnect)
        return
    if exception is not None:
        future.set_exception(exception)
    else:
        future.set_result(result)
