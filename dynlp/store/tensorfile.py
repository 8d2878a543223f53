"""Parameter files in the safetensors layout: a JSON header of names, dtypes, shapes and byte
offsets, then each parameter's values as raw little-endian float32, row-major.

    8 bytes      N, the header's length (unsigned, little-endian)
    N bytes      {"/_0": {"dtype": "F32", "shape": [179, 8], "data_offsets": [0, 5728]}, ...}
    the rest     the values, parameter after parameter, exactly as the offsets say

This is the layout of Hugging Face's safetensors (github.com/huggingface/safetensors), written
and read here in a few lines of numpy (the tests check both ways against the `safetensors`
package).  Nothing in it is code: the header is JSON and the rest is numbers.

Reading checks, before any value reaches DyNet, in one line naming the file and the parameter:

    names:   exactly the parameters the model's config builds (DyNet's names, such as /_3)
    layout:  each is F32 with the config's shape, its bytes rows x columns x 4, the parameters
             back to back, and the file ends where the last one does
    values:  every value finite and at most MAX_ABS in size

The last check is what catches bytes overwritten by garbage, which a binary format cannot tell
from numbers otherwise: random bytes read as float32 are mostly enormous (a random exponent),
while a trained model's weights stay within a few hundred (clipped gradients, small steps).
Memory: one parameter's values at a time.
"""
import json
import os
import struct

import numpy as np

from dynlp.errors import ModelDirError

MAX_ABS = 1e6
MAX_HEADER_BYTES = 1 << 26  # 64 MiB: some hundred thousand parameters' names and shapes
FLOAT32 = np.dtype("<f4")


def check_values(values, where):
    """A one-line ModelDirError unless every value is finite and at most MAX_ABS in size."""
    if not (np.abs(values) <= MAX_ABS).all():  # nan fails this too
        raise ModelDirError(f"{where}: a value is not a finite number of at most {MAX_ABS:g} "
                            "in size (nan, inf or garbage)")


def parameters_of(pc):
    """{name: parameter} of a collection: its Parameters and LookupParameters."""
    return {p.name(): p for p in pc.parameters_list() + pc.lookup_parameters_list()}


def save(pc, path):
    """Write every parameter of `pc` to `path`, in DyNet's order."""
    parameters = parameters_of(pc)
    header, offset = {}, 0
    for name, parameter in parameters.items():
        size = int(np.prod(parameter.shape())) * FLOAT32.itemsize
        header[name] = {"dtype": "F32", "shape": list(parameter.shape()),
                        "data_offsets": [offset, offset + size]}
        offset += size
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)  # the values start 8-byte aligned, as the format asks
    with open(path, "wb") as out:
        out.write(struct.pack("<Q", len(text)) + text)
        for parameter in parameters.values():
            # as_array gives DyNet's column-major float32 values as float64; write row-major.
            out.write(np.ascontiguousarray(parameter.as_array(), dtype=FLOAT32).tobytes())


def load(pc, path):
    """Check the file at `path` against `pc`'s parameters, then set their values from it."""
    parameters = parameters_of(pc)
    with open(path, "rb") as source:
        header, data_start = _read_header(path, source)
        layout = _check_layout(path, header, parameters, os.path.getsize(path) - data_start)
        for name, (begin, count) in layout:
            source.seek(data_start + begin)
            values = np.fromfile(source, dtype=FLOAT32, count=count)
            check_values(values, f"{path}: parameter {name}")
            set_values(parameters[name], values.reshape(parameters[name].shape()))


def count_values(path):
    """How many values the file holds, from its header alone (the values are not read)."""
    with open(path, "rb") as source:
        header, _ = _read_header(path, source)
    try:
        return sum(int(np.prod(entry["shape"], dtype=np.int64)) for entry in header.values())
    except (TypeError, KeyError, ValueError):
        raise ModelDirError(f"{path}: damaged parameter header (a shape is missing)") from None


def _read_header(path, source):
    head = source.read(8)
    size = struct.unpack("<Q", head)[0] if len(head) == 8 else None
    if size is None or size > MAX_HEADER_BYTES:
        raise ModelDirError(f"{path}: not a parameter file (no safetensors header)")
    try:
        header = json.loads(source.read(size))
    except (ValueError, UnicodeDecodeError):
        raise ModelDirError(f"{path}: damaged parameter header (not JSON)") from None
    if not isinstance(header, dict):
        raise ModelDirError(f"{path}: damaged parameter header (not a JSON object)")
    header.pop("__metadata__", None)
    return header, 8 + size


def _check_layout(path, header, parameters, data_bytes):
    """[(name, (byte offset, value count))] in file order, once the header is found to
    describe exactly `parameters`, back to back over the whole data part of the file."""
    missing = [name for name in parameters if name not in header]
    if missing:
        raise ModelDirError(f"{path}: parameter {missing[0]} is missing"
                            f"{f' (and {len(missing) - 1} more)' if len(missing) > 1 else ''}")
    extra = [name for name in header if name not in parameters]
    if extra:
        raise ModelDirError(f"{path}: parameter {extra[0]} is not one the model's config builds")
    layout, end = [], 0
    for name in sorted(header, key=lambda n: _offsets(header[n])):
        entry, shape = header[name], tuple(parameters[name].shape())
        where = f"{path}: parameter {name}"
        if not isinstance(entry, dict) or entry.get("dtype") != "F32":
            raise ModelDirError(f"{where}: not float32 values")
        if tuple(entry.get("shape") or ()) != shape:
            raise ModelDirError(f"{where}: shape {entry.get('shape')} in the file, the model's "
                                f"config builds {list(shape)}")
        begin, stop = _offsets(entry)
        count = int(np.prod(shape))
        if begin != end or stop - begin != count * FLOAT32.itemsize:
            raise ModelDirError(f"{where}: its values are said to take bytes {begin}-{stop}, "
                                f"they take {count * FLOAT32.itemsize} from byte {end}")
        layout.append((name, (begin, count)))
        end = stop
    if end != data_bytes:
        last = layout[-1][0] if layout else "none"
        raise ModelDirError(f"{path}: parameter {last}: the values end at byte {end} of "
                            f"{data_bytes} (the file is longer or shorter than its header says)")
    return layout


def _offsets(entry):
    offsets = entry.get("data_offsets") if isinstance(entry, dict) else None
    if (not isinstance(offsets, list) or len(offsets) != 2
            or not all(isinstance(o, int) and o >= 0 for o in offsets)):
        return (-1, -1)  # sorted first; _check_layout then reports it
    return tuple(offsets)


def set_values(parameter, values):
    """Give a Parameters or LookupParameters these values (numpy, its own shape)."""
    if hasattr(parameter, "init_from_array"):  # a LookupParameters table, (V, d)
        parameter.init_from_array(values)
    else:
        parameter.set_value(values)
