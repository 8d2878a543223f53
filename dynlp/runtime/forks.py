"""The second core: forked copies of this process, each working on its share.

DyNet computes on one core.  To use more, dynlp forks: a child process starts as an exact copy
of its parent, model and data included, so nothing is reloaded or sent.  The parent does share
0 itself while children do the others; each child sends its (JSON) result back over a pipe and
exits.  A child that loses its parent (killed, or Ctrl-C) stops at its next step.

Used for Hogwild training (training/loop.py), where DyNet keeps the parameters in shared memory so
every process updates the same ones, and for evaluation, which only reads them.
"""
import json
import os
import signal
import traceback

from dynlp import errors
from dynlp.backend import on_gpu
from dynlp.errors import DynlpError

MIN_SHARE = 50  # batches per process below which a second process is not worth forking


def usable_cores():
    """The cores this process may run on (what `taskset` or a container allows)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def auto_workers(requested, num_batches):
    """`requested` processes, or (for 0) one per core when every one gets MIN_SHARE batches."""
    if requested:
        return requested
    return max(1, min(usable_processes(), num_batches // MIN_SHARE))


def usable_processes():
    """How many processes may compute at once by default: one per usable core on the CPU, one
    on a GPU (DyNet's GPU memory lives in this process's CUDA context; a fork cannot use it)."""


    return 1 if on_gpu() else usable_cores()


def shares(items, parts):
    """`items` cut into `parts` contiguous, nearly equal lists (in order)."""
    return [items[k * len(items) // parts:(k + 1) * len(items) // parts] for k in range(parts)]


def fork_map(function, arguments):
    """[function(a) for a in arguments], each in its own process (the first in this one).

    Results travel as JSON.  A DynlpError in a child is raised here with its own message;
    anything else becomes a DynlpError carrying the child's traceback.
    """
    children = [_fork(function, argument) for argument in arguments[1:]]
    try:
        first = function(arguments[0])
        return [first] + [_result(child) for child in children]
    finally:
        for pid, read_end in children:
            _stop(pid, read_end)


def _fork(function, argument):
    read_end, write_end = os.pipe()
    parent = os.getpid()
    pid = os.fork()
    if pid:  # the parent
        os.close(write_end)
        return pid, read_end
    # The child: never returns.  os._exit skips the parent's atexit and buffered output.
    os.close(read_end)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    try:
        reply = {"result": function(argument)}
    except DynlpError as error:
        reply = {"error": str(error), "type": type(error).__name__}
    except BaseException:  # noqa: B036  a bug: bring its traceback to the parent
        reply = {"error": traceback.format_exc(), "type": None}
    if parent_alive(parent):
        with os.fdopen(write_end, "w", encoding="utf-8") as pipe:
            pipe.write(json.dumps(reply))
    os._exit(0)


def parent_alive(parent):
    """Whether `parent` is still this process's parent (if not, it died: stop working)."""
    return os.getppid() == parent


def _result(child):
    pid, read_end = child
    with os.fdopen(read_end, "r", encoding="utf-8", closefd=False) as pipe:
        text = pipe.read()
    if not text:
        raise DynlpError("a worker process died (out of memory?); try --workers 1")
    reply = json.loads(text)
    if "result" in reply:
        return reply["result"]
    if reply["type"]:
        raise getattr(errors, reply["type"], DynlpError)(reply["error"])
    raise DynlpError("a worker process failed:\n" + reply["error"])


def _stop(pid, read_end):
    """Reap a child; one still running (this process is failing) is killed first."""
    try:
        os.close(read_end)
    except OSError:
        pass
    done, _ = os.waitpid(pid, os.WNOHANG)
    if not done:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
