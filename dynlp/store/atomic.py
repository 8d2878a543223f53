"""Writing a file so that it is either all there or not there at all.

A file is written under a temporary name in its own directory, then renamed over the real one:
a rename is atomic, so a crash or Ctrl-C mid-write leaves the old file (or none), never half of
the new one.  Model directories (checkpoint.py) and the commands' output files both write this
way.
"""
import contextlib
import os
import tempfile

TEMPORARY = ".tmp-dynlp-"  # prefix of half-written files; any left by a crash are removed


@contextlib.contextmanager
def replacing(path, sync=True, binary=False):
    """A text file (bytes when `binary`) open for writing; it replaces `path` when the block
    ends without an error (flushed to disk first when `sync`), and is removed when it ends
    with one."""
    directory = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(prefix=TEMPORARY, dir=directory)
    mode = {"mode": "wb"} if binary else {"mode": "w", "encoding": "utf-8"}
    try:
        with os.fdopen(handle, **mode) as out:
            yield out
            if sync:
                out.flush()
                os.fsync(out.fileno())
        os.chmod(temporary, 0o644)  # mkstemp makes it private; ours are ordinary files
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def write_text(path, text):
    """Replace the file at `path` by `text` in one step."""
    with replacing(path) as out:
        out.write(text)


def write_lines(path, lines):
    """Replace the file at `path` by `lines`, one per line, in one step."""
    write_text(path, "".join(line + "\n" for line in lines))
