"""Tagging and scoring on a Ray cluster (the optional extra `dynlp[ray]`).

The same per-chunk work as `--workers` (`work.tag_part` / `work.score_part`), run by `ray.data`:

    file ──split_input──► Parts (byte ranges) ──map_batches(ChunkActor)──► results, in order

The driver reads the input once to cut it into Parts of `work.chunk_size(job)` sentences; each actor loads
the model from its directory once and reads its Parts straight from the input file, so the input
and the model directory must be at the same path on every node (a shared file system).  Results
come back in input order and the caller writes them, byte for byte what `--workers 1` writes.

Raw text read by a learned tokenizer is the exception: where its sentences end decides the
`# sent_id` of every sentence after them, so the driver reads and splits the text, in order, as
`--workers` does, and sends chunks of sentences to actors that tag them
(`tag_sentences_on_ray`):

    file ──tokenizer (driver)──► chunks of sentences ──SentenceActor.tag──► results, in order
"""
import collections
import contextlib
import json
import logging
import socket

from dynlp.backend import BackendConfig, configure
from dynlp.errors import DynlpError
from dynlp.runtime.work import (IN_FLIGHT_PER_WORKER, Part, chunk_size, score_part, split_input,
                                tag_chunk, tag_part)


class ChunkActor:
    """A Ray actor: one model, loaded once, working through many Parts of one file."""

    def __init__(self, job, model_dir, path, backend, options):
        configure(backend)  # each actor is its own process with its own DyNet
        self.job, self.model_dir, self.path, self.options = job, model_dir, path, options

    def __call__(self, batch):
        """Rows of Parts in, rows of results out (tagged CoNLL-U text, or scores as JSON).

        Bad input is returned as an `error` rather than raised: Ray would bury the message
        under its own traceback, and the driver must report it as one line.
        """
        results, errors = [], []
        for row in zip(*(batch[name] for name in Part._fields)):
            part = Part(*(int(value) for value in row))
            try:
                results.append(self._work(part))
                errors.append("")
            except DynlpError as error:
                results.append("")
                errors.append(str(error))
        return {"result": results, "error": errors}

    def _work(self, part):
        if self.job == "tag":
            return tag_part(self.model_dir, self.path, part, **self.options)
        return json.dumps(score_part(self.model_dir, self.path, part))


def run_on_ray(job, model_dir, path, address, workers=None, backend=None, quiet=True,
               **options):
    """Yield the results of `job` ("tag" or "score") on each chunk of `path`, in input order.

    `address` is a Ray address ("auto" for the running cluster, "ray://host:10001", ...) or
    "local" for a Ray started in this process.  `workers` actors (default: one per CPU of the
    cluster) each load the model once.  Results have the shapes `tag_chunk` and `score_chunk`
    return.
    """
    unit = options.get("input_format", "lines") if job == "tag" else "lines"
    parts = split_input(path, unit, chunk_size(job))  # before Ray starts: bad bytes fail fast
    if not parts:
        return
    ray = _start_ray(address, workers, quiet)
    actors = _actor_count(ray, workers)
    # One block per part: Ray hands on results a block at a time, so bigger blocks would hold
    # back the output (and the memory) of many chunks.
    rows = [part._asdict() for part in parts]
    dataset = ray.data.from_items(rows, override_num_blocks=len(rows)).map_batches(
        ChunkActor, batch_size=1, num_cpus=1,
        compute=ray.data.ActorPoolStrategy(size=min(actors, len(parts))),
        fn_constructor_args=(job, model_dir, path, backend or BackendConfig(), options))
    with _failures_in_one_line():
        for row in dataset.iter_rows():
            if row["error"]:
                raise DynlpError(row["error"])
            yield row["result"] if job == "tag" else _scores(row["result"])


class SentenceActor:
    """A Ray actor that tags the sentences the driver sends it, with one model loaded once."""

    def __init__(self, model_dir, backend):
        configure(backend)
        self.model_dir = model_dir

    def tag(self, sentences, n_best=None):
        """(CoNLL-U text, "") or, for bad input, ("", the error's message): see ChunkActor."""
        try:
            return tag_chunk(self.model_dir, sentences, n_best), ""
        except DynlpError as error:
            return "", str(error)


def tag_sentences_on_ray(model_dir, chunks, address, workers=None, backend=None, quiet=True,
                         n_best=None):
    """Yield the tagged CoNLL-U text of each chunk of sentences (lists of treebank.Sentence),
    in order, from `workers` actors (default: one per CPU of the cluster).  `chunks` is read
    lazily, as results come back: at most IN_FLIGHT_PER_WORKER chunks per actor wait."""
    ray = _start_ray(address, workers, quiet)
    count = _actor_count(ray, workers)
    actor, actors = ray.remote(num_cpus=1)(SentenceActor), []
    pending = collections.deque()
    try:
        with _failures_in_one_line():
            for number, chunk in enumerate(chunks):  # an actor takes its calls in turn
                if len(actors) < count:  # started as chunks come: a short text needs few
                    actors.append(actor.remote(model_dir, backend or BackendConfig()))
                pending.append(actors[number % count].tag.remote(chunk, n_best))
                if len(pending) >= count * IN_FLIGHT_PER_WORKER:
                    yield _tagged(ray.get(pending.popleft()))
            while pending:
                yield _tagged(ray.get(pending.popleft()))
    finally:
        for each in actors:
            ray.kill(each)


def _actor_count(ray, workers):
    """`workers`, or one actor per CPU of the cluster."""
    return workers or max(1, int(ray.cluster_resources().get("CPU", 1)))


@contextlib.contextmanager
def _failures_in_one_line():
    """Bad input stays as it is; a crash inside Ray or an actor becomes one line."""
    try:
        yield
    except DynlpError:
        raise
    except Exception as error:
        raise DynlpError(f"the Ray job failed: {_first_line(error)}") from None


def _tagged(result):
    text, error = result
    if error:
        raise DynlpError(error)
    return text


def _scores(text):
    return [None if result is None else tuple(result) for result in json.loads(text)]


def _start_ray(address, workers, quiet):
    try:
        import ray
        import ray.data  # noqa: F401  (ray without its data extra has no ray.data)
    except ImportError:
        raise DynlpError("--ray needs Ray: pip install 'dynlp[ray]'") from None
    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True  # output in input order
    context.enable_progress_bars = not quiet
    level = logging.ERROR if quiet else logging.WARNING
    for name in ("ray", "ray.data"):
        logging.getLogger(name).setLevel(level)
    if not ray.is_initialized():
        try:
            if address == "local":  # a one-machine Ray, on the loopback interface only
                ray.init(num_cpus=workers, _node_ip_address="127.0.0.1", include_dashboard=False,
                         log_to_driver=not quiet, logging_level=level)
            else:
                _check_reachable(address)
                ray.init(address=address, log_to_driver=not quiet, logging_level=level)
        except (ConnectionError, ValueError, RuntimeError) as error:
            raise DynlpError(f"cannot reach a Ray cluster at {address!r}: "
                             f"{_first_line(error)}") from None
    return ray


def _check_reachable(address, seconds=5):
    """Fail fast on a wrong HOST:PORT: Ray itself would retry for minutes."""
    host, _, port = address.split("://")[-1].rpartition(":")
    if not host or not port.isdigit():
        return  # "auto" and the like: Ray finds the address and fails fast itself
    try:
        socket.create_connection((host, int(port)), timeout=seconds).close()
    except OSError as error:
        raise ConnectionError(f"nothing answers at {host}:{port} ({error.strerror or error})")


def _first_line(error):
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
