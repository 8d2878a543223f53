"""Model directories: JSON config and vocabularies beside DyNet's own parameter file.

    MODEL_DIR/
      config.json            format version, model kind and config, file names and SHA-256s
      vocab.<gen>.json       one file per vocabulary (JSON)
      params.<gen>.dy        ParameterCollection.save() output (DyNet's text format)

Nothing is pickled, and loading never executes code: the model is rebuilt from its config
(creating parameters in the same order) and `ParameterCollection.populate` fills in the values.

Saving is atomic.  A new directory is written under a temporary name and renamed into place.
An existing one (say a training run's output directory) gets its new files under a fresh
generation number first; then `config.json`, which names those files, is atomically replaced
(it is the commit point); only then are the old files removed.  So a
crash or Ctrl-C at any instant leaves a loadable model.
"""
import hashlib
import json
import os
import re
import shutil
import tempfile

from .errors import ModelDirError
from .vocab import Vocab

FORMAT_VERSION = 1
CONFIG_FILE = "config.json"
_OURS = re.compile(r"\.tmp-.*|params\.\d+\.dy|\w+\.\d+\.json")  # files save() may leave


def save(directory, kind, config, vocabs, pc, extra=None):
    """Save a model: `config` and `extra` are JSON-able dicts, `vocabs` maps names to Vocabs."""
    directory = os.path.abspath(directory)
    if os.path.isdir(directory):
        previous = read_config(directory) if _has_config(directory) else {}
        _write_generation(directory, previous.get("generation", 0) + 1, kind, config, vocabs,
                          pc, extra)
        _remove_unreferenced(directory)
        return
    parent = os.path.dirname(directory)
    if not os.path.isdir(parent):
        raise ModelDirError(f"{parent}: no such directory to save the model in")
    staging = tempfile.mkdtemp(prefix=".saving-", dir=parent)
    try:
        _write_generation(staging, 1, kind, config, vocabs, pc, extra)
        os.rename(staging, directory)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _has_config(directory):
    return os.path.isfile(os.path.join(directory, CONFIG_FILE))


def _write_generation(directory, generation, kind, config, vocabs, pc, extra):
    files = {"params": f"params.{generation}.dy"}
    pc.save(os.path.join(directory, files["params"]))
    for name, vocab in vocabs.items():
        files[name] = f"{name}.{generation}.json"
        _write_json(os.path.join(directory, files[name]), vocab.to_dict())
    meta = {
        "format_version": FORMAT_VERSION,
        "kind": kind,
        "generation": generation,
        "config": config,
        "files": files,
        "sha256": {key: _sha256(os.path.join(directory, f)) for key, f in files.items()},
        "vocabs": sorted(vocabs),
        **(extra or {}),
    }
    _write_json(os.path.join(directory, CONFIG_FILE), meta)  # the commit point


def _write_json(path, data):
    """Write JSON to `path` atomically: a temporary file, flushed to disk, then renamed."""
    handle, temporary = tempfile.mkstemp(prefix=".tmp-", dir=os.path.dirname(path))
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(data, out, ensure_ascii=False, indent=1)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise


def _remove_unreferenced(directory):
    """Delete files of older generations (and leftovers of interrupted saves)."""
    keep = set(read_config(directory)["files"].values()) | {CONFIG_FILE}
    for name in os.listdir(directory):
        path = os.path.join(directory, name)
        if name not in keep and _OURS.fullmatch(name) and os.path.isfile(path):
            os.remove(path)


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as data:
        for block in iter(lambda: data.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_config(directory):
    """Read and check `config.json` of a model directory; errors are one-line ModelDirErrors."""
    path = os.path.join(directory, CONFIG_FILE)
    if not os.path.isdir(directory):
        raise ModelDirError(f"{directory}: no such model directory")
    if not os.path.isfile(path):
        raise ModelDirError(f"{directory}: not a dynlp model directory (no {CONFIG_FILE})")
    try:
        with open(path, encoding="utf-8") as source:
            meta = json.load(source)
    except (ValueError, UnicodeDecodeError) as error:
        raise ModelDirError(f"{path}: damaged ({error})") from None
    if not isinstance(meta, dict) or not {"format_version", "kind", "files"} <= set(meta):
        raise ModelDirError(f"{path}: not a dynlp model config")
    if meta["format_version"] > FORMAT_VERSION:
        raise ModelDirError(f"{path}: format version {meta['format_version']} is newer than "
                            f"this dynlp understands ({FORMAT_VERSION}); upgrade dynlp")
    return meta


def load(directory, kind):
    """Read a model directory of the given kind: returns (meta, {name: Vocab}, params path).

    Every file is checked against the SHA-256 recorded at save time before it is used.
    """
    meta = read_config(directory)
    if meta["kind"] != kind:
        raise ModelDirError(f"{directory}: holds a {meta['kind']} model, not a {kind} model")
    for key, name in meta["files"].items():
        path = os.path.join(directory, name)
        if not os.path.isfile(path):
            raise ModelDirError(f"{directory}: missing file {name}")
        if _sha256(path) != meta.get("sha256", {}).get(key):
            raise ModelDirError(f"{path}: checksum mismatch; the file is damaged or was altered")
    vocabs = {name: _read_vocab(os.path.join(directory, meta["files"][name]))
              for name in meta["vocabs"]}
    return meta, vocabs, os.path.join(directory, meta["files"]["params"])


def _read_vocab(path):
    try:
        with open(path, encoding="utf-8") as source:
            return Vocab.from_dict(json.load(source))
    except (ValueError, KeyError, TypeError) as error:
        raise ModelDirError(f"{path}: damaged vocabulary ({error})") from None


def populate(pc, params_path):
    """Fill a freshly built ParameterCollection from a parameter file, or fail in one line."""
    try:
        pc.populate(params_path)
    except (RuntimeError, ValueError) as error:
        message = str(error).strip().splitlines()[0] if str(error).strip() else "mismatch"
        raise ModelDirError(f"{params_path}: does not fit the model's config and vocabulary "
                            f"({message})") from None
