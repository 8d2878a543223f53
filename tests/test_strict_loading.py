"""Strict loading: a parameter file that does not hold exactly what the config builds is
refused in one line naming the parameter, even when its SHA-256 in config.json was updated to
match (a careless tool, a bad merge, a hostile sender).  The current format (safetensors) and
DyNet's text format of older model directories are both checked."""
import hashlib
import json
import os
import shutil
import struct

import numpy as np
import pytest

from dynlp import BiLSTMTagger, RNNLanguageModel
from dynlp.cli import main
from dynlp.errors import ModelDirError

HERE = os.path.dirname(os.path.abspath(__file__))
FORMAT1_TAGGER = os.path.join(HERE, "data", "format1-tagger")
ALTERATIONS = ["nan", "value deleted", "binary garbage", "byte count", "renamed",
               "extra parameter", "missing parameter"]
MODELS = {"lm": RNNLanguageModel, "tagger": BiLSTMTagger,
          "lm/last": RNNLanguageModel, "tagger/last": BiLSTMTagger}
GARBAGE = np.random.default_rng(0).integers(128, 256, 100, dtype=np.uint8).tobytes()


def params_file(directory):
    return directory / json.loads((directory / "config.json").read_text())["files"]["params"]


def rehash(directory):
    """Make config.json vouch for the altered parameter file."""
    meta = json.loads((directory / "config.json").read_text())
    meta["sha256"]["params"] = hashlib.sha256(params_file(directory).read_bytes()).hexdigest()
    (directory / "config.json").write_text(json.dumps(meta))


# ---- the safetensors layout: 8-byte header length, JSON header, values ----------------------
def read_tensors(path):
    raw = path.read_bytes()
    size = struct.unpack("<Q", raw[:8])[0]
    return json.loads(raw[8:8 + size]), raw[8 + size:]


def write_tensors(path, header, data):
    text = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(text)) + text + data)


def alter_tensors(path, how):
    """Alter the second parameter (in file order); returns the name an error should give."""
    header, data = read_tensors(path)
    order = sorted(header, key=lambda n: header[n]["data_offsets"])
    name = order[1]
    begin, end = header[name]["data_offsets"]
    if how == "nan":
        data = data[:begin + 4] + struct.pack("<f", float("nan")) + data[begin + 8:]
    elif how == "value deleted":
        data = data[:begin + 4] + data[begin + 8:]
        name = order[-1]  # bytes gone in binary show where the values stop adding up: the end
    elif how == "binary garbage":
        data = data[:begin + 8] + GARBAGE + data[begin + 108:]
    elif how == "byte count":
        header[name]["data_offsets"][1] = 99999999999
    elif how == "renamed":
        header["/renamed"] = header.pop(name)
    elif how == "extra parameter":
        header["/extra"] = {**header[name], "data_offsets": [len(data), len(data) + end - begin]}
        data += data[begin:end]
        name = "/extra"
    elif how == "missing parameter":
        name = order[-1]
        first, last = header.pop(name)["data_offsets"]
        data = data[:first] + data[last:]
    write_tensors(path, header, data)
    return name


# ---- DyNet's text format: a header line and a value line per parameter ----------------------
def alter_text(path, how):
    """Alter the second parameter of a text file; returns the name an error should give."""
    lines = path.read_bytes().split(b"\n")
    header, values = lines[2], lines[3]
    name = header.split()[1].decode()
    tokens = values.split(b" ")
    if how == "nan":
        tokens[1] = b"nan"
        lines[3] = b" ".join(tokens)
    elif how == "value deleted":
        del tokens[1]
        lines[3] = b" ".join(tokens)
    elif how == "binary garbage":
        lines[3] = values[:20] + GARBAGE + values[120:]
    elif how == "byte count":
        lines[2] = header.replace(header.split()[3], b"99999999999")
    elif how == "renamed":
        lines[2] = header.replace(header.split()[1], b"/renamed")
    elif how == "extra parameter":
        lines[-1:] = [header.replace(header.split()[1], b"/extra"), values, b""]
        name = "/extra"
    elif how == "missing parameter":
        name = lines[-3].split()[1].decode()
        del lines[-3:-1]
    path.write_bytes(b"\n".join(lines))
    return name


def alter(directory, how):
    path = params_file(directory)
    name = (alter_text if path.suffix == ".dy" else alter_tensors)(path, how)
    rehash(directory)
    return name


def assert_refused(load, directory, name):
    with pytest.raises(ModelDirError) as error:
        load(str(directory))
    message = str(error.value)
    assert "\n" not in message and str(params_file(directory)) in message
    assert f"parameter {name}" in message


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("how", ALTERATIONS)
def test_an_altered_parameter_file_is_refused_naming_the_parameter(small_models, tmp_path,
                                                                   model, how):
    directory = tmp_path / "model"
    shutil.copytree(small_models / model, directory)
    assert params_file(directory).suffix == ".safetensors"
    assert_refused(MODELS[model].load, directory, alter(directory, how))


@pytest.mark.parametrize("how", ALTERATIONS)
def test_an_altered_text_parameter_file_of_an_old_directory_is_refused(tmp_path, how):
    directory = tmp_path / "model"
    shutil.copytree(FORMAT1_TAGGER, directory)
    assert params_file(directory).suffix == ".dy"
    assert_refused(BiLSTMTagger.load, directory, alter(directory, how))


@pytest.mark.parametrize("model", ["lm", "tagger/last"])
def test_an_unaltered_rehashed_copy_loads(small_models, tmp_path, model):
    directory = tmp_path / "model"
    shutil.copytree(small_models / model, directory)
    write_tensors(params_file(directory), *read_tensors(params_file(directory)))
    rehash(directory)
    MODELS[model].load(str(directory))


def test_the_cli_refuses_it_with_exit_2_in_one_line(small_models, tmp_path, capsys):
    directory = tmp_path / "model"
    shutil.copytree(small_models / "lm", directory)
    name = alter(directory, "nan")
    assert main(["score", "-m", str(directory), "--quiet", str(small_models / "text.txt")]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and f"parameter {name}" in err and "finite" in err


def test_resuming_from_an_altered_last_checkpoint_is_refused(small_models, tmp_path, capsys):
    out = tmp_path / "run"
    shutil.copytree(small_models / "lm", out)
    name = alter(out / "last", "renamed")
    args = ["train-lm", str(small_models / "text.txt"), "--word", "-o", str(out), "--resume",
            "--epochs", "2", "--quiet"]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "last" in err and f"parameter {name}" in err
