"""DyNet's text parameter file (model formats 1 and 2), checked value by value before DyNet
reads it.

`ParameterCollection.save` writes, for each parameter (all Parameters, then all
LookupParameters, each in the order they were created), two lines:

    #Parameter# /_3 {32,8} 4097 ZERO_GRAD
    -7.90212601e-02 +1.73983306e-01 ... +2.47036770e-01 \n

the header (kind, name, DyNet's dimensions, the byte length of the value line including its
newline) and every value as text.  DyNet's own reader trusts much of this: a value replaced by
`nan`, a value deleted (the rest of the matrix shifts), binary garbage, a wrong byte length or a
renamed parameter all load without a word.  `check` refuses each of these, in one line naming the
file and the parameter, before any value reaches DyNet:

    names:   the file has exactly the parameters the config builds, in DyNet's order
    shapes:  each header's dimensions are the ones the config builds
    lengths: each header's byte length is its value line's length
    values:  each value line holds exactly rows x columns numbers, all finite and at most
             tensorfile.MAX_ABS in size, as in the safetensors files of later formats

The value lines of a large model run to hundreds of megabytes; they are read in blocks of
BLOCK_BYTES, so checking needs that much memory (and a block's parsed numbers), not a line's.
"""
import numpy as np

from dynlp.errors import ModelDirError
from dynlp.store.tensorfile import check_values

BLOCK_BYTES = 1 << 22  # 4 MiB of value text at a time
MAX_HEADER_BYTES = 4096  # a header is a name and four short fields
KINDS = {"#Parameter#": "Parameter", "#LookupParameter#": "LookupParameter"}


def expected_parameters(pc):
    """What `pc.save` writes for a collection: a list of (header kind, name, DyNet dims)."""
    plain = [("#Parameter#", p.name(), _dims(p.shape())) for p in pc.parameters_list()]
    # A lookup table of V rows of d values is shown by Python as (V, d), by DyNet as {d,V}.
    lookup = [("#LookupParameter#", p.name(), _dims(p.shape()[1:] + p.shape()[:1]))
              for p in pc.lookup_parameters_list()]
    return plain + lookup


def _dims(shape):
    return "{" + ",".join(str(d) for d in shape) + "}"


def check(path, expected):
    """Raise a one-line ModelDirError unless the file at `path` holds exactly the parameters
    `expected` (from `expected_parameters`), each with well-formed, finite values."""
    with open(path, "rb") as source:
        for position, (kind, name, dims) in enumerate(expected):
            header = source.readline(MAX_HEADER_BYTES)
            if not header:
                more = len(expected) - position - 1
                raise ModelDirError(f"{path}: parameter {name} is missing (the file ends "
                                    f"before it{f' and {more} more' if more else ''})")
            found_kind, found_name, found_dims, length = _parse_header(path, header)
            where = f"{path}: parameter {name}"
            if found_name != name or found_kind != kind:
                raise ModelDirError(f"{where} ({KINDS[kind]}, the next one the model's config "
                                    f"builds) is not there: the file has {KINDS[found_kind]} "
                                    f"{found_name} in its place")
            if found_dims != dims:
                raise ModelDirError(f"{where}: shape {found_dims} in the file, the model's "
                                    f"config builds {dims}")
            _check_values(source, where, _size(dims), length)
        extra = source.readline(MAX_HEADER_BYTES)
        if extra:
            _, name, _, _ = _parse_header(path, extra)
            raise ModelDirError(f"{path}: parameter {name} is not one the model's config "
                                "builds (an extra parameter at the end)")


def count_values(path):
    """How many values the file holds, from its headers alone: each value line is skipped by
    the byte length its header gives, so counting reads a few bytes per parameter."""
    total = 0
    with open(path, "rb") as source:
        header = source.readline(MAX_HEADER_BYTES)
        while header:
            _, _, dims, length = _parse_header(path, header)
            total += _size(dims)
            source.seek(length, 1)
            header = source.readline(MAX_HEADER_BYTES)
    return total


def _parse_header(path, header):
    fields = header.decode("ascii", errors="replace").split()
    if (not header.endswith(b"\n") or len(fields) != 5 or fields[0] not in KINDS
            or not fields[2].startswith("{") or not fields[3].isdigit()):
        shown = header[:80].decode("ascii", errors="replace").strip()
        raise ModelDirError(f"{path}: damaged parameter header {shown!r}")
    return fields[0], fields[1], fields[2], int(fields[3])


def _size(dims):
    size = 1
    for d in dims.strip("{}").split(","):
        size *= int(d)
    return size


def _check_values(source, where, size, declared_length):
    """Read one value line in blocks: count its numbers and bytes, and check each number."""
    count, length, carry = 0, 0, b""
    while True:
        block = source.readline(BLOCK_BYTES)
        length += len(block)
        ends = block.endswith(b"\n") or not block
        text = carry + block
        # A number may run across two blocks: keep what follows the block's last space.
        cut = len(text) if ends else text.rfind(b" ") + 1
        text, carry = text[:cut], text[cut:]
        count += _count_finite(text, where)
        if ends or count > size:
            break
        if len(carry) > MAX_HEADER_BYTES:
            raise ModelDirError(f"{where}: damaged values (a run of {len(carry)}+ bytes "
                                "without a space)")
    if count != size:
        raise ModelDirError(f"{where}: {'over ' if count > size else ''}{count} values in the "
                            f"file, its shape needs {size}")
    if length != declared_length:
        raise ModelDirError(f"{where}: its header says {declared_length} bytes of values, "
                            f"the file has {length}")


def _count_finite(text, where):
    """How many numbers `text` holds; a token that is not a number, or not finite, is an error."""
    try:
        values = np.array(text.split(), dtype=np.float64)
    except ValueError:
        raise ModelDirError(f"{where}: damaged values (text that is not a number)") from None
    check_values(values, where)
    return len(values)
