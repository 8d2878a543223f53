"""Model directories: atomic saves, checksums, versions and one-line errors."""
import json
import os

import numpy as np
import pytest

from dynlp import LMConfig, RNNLanguageModel, Vocab
from dynlp.store.checkpoint import read_config
from dynlp.errors import ModelDirError


@pytest.fixture
def saved(tmp_path):
    model = RNNLanguageModel(LMConfig(emb_dim=4, hidden_dim=8), Vocab.build([list("abc")]))
    directory = tmp_path / "model"
    model.save(str(directory))
    return model, directory


def test_resaving_replaces_files_and_keeps_no_stale_ones(saved):
    model, directory = saved
    model.save(str(directory))
    meta = read_config(str(directory))
    assert meta["generation"] == 2
    assert sorted(os.listdir(directory)) == ["config.json", "params.2.safetensors", "vocab.2.json"]
    assert not any(name.startswith(".saving-") for name in os.listdir(directory.parent))


def test_no_pickle_in_a_model_directory(saved):
    _, directory = saved
    for name in os.listdir(directory):
        head = (directory / name).read_bytes()[:2]
        assert head != b"\x80\x04" and head[:1] != b"\x80"  # pickle protocol headers


def corrupt(directory, how):
    meta = json.loads((directory / "config.json").read_text())
    params = directory / meta["files"]["params"]
    if how == "truncated params":
        params.write_bytes(params.read_bytes()[:100])
    elif how == "missing params":
        params.unlink()
    elif how == "newer format":
        meta["format_version"] = 99
        (directory / "config.json").write_text(json.dumps(meta))
    elif how == "damaged config":
        (directory / "config.json").write_text("{not json")
    elif how == "not a model":
        (directory / "config.json").unlink()
    elif how == "vocab mismatch":
        vocab = directory / meta["files"]["vocab"]
        data = json.loads(vocab.read_text())
        data["tokens"].append("extra")
        vocab.write_text(json.dumps(data))


@pytest.mark.parametrize("how, message", [
    ("truncated params", "checksum"), ("missing params", "missing file"),
    ("newer format", "newer"), ("damaged config", "damaged"), ("not a model", "not a dynlp"),
    ("vocab mismatch", "checksum"),
])
def test_damaged_directories_give_one_line_errors(saved, how, message):
    _, directory = saved
    corrupt(directory, how)
    with pytest.raises(ModelDirError, match=message) as error:
        RNNLanguageModel.load(str(directory))
    assert "\n" not in str(error.value)


def test_parameters_that_do_not_fit_the_config_are_refused(saved, tmp_path):
    model, directory = saved
    meta = json.loads((directory / "config.json").read_text())
    meta["config"]["hidden_dim"] = 16  # consistent checksums, but the shapes no longer fit
    (directory / "config.json").write_text(json.dumps(meta))
    with pytest.raises(ModelDirError, match="shape .* in the file, the model's config builds"):
        RNNLanguageModel.load(str(directory))


def test_parameter_files_are_safetensors_both_ways(saved, tmp_path):
    """tensorfile writes the layout the `safetensors` package reads, and reads what it writes."""
    import safetensors.numpy as safetensors  # the test extra installs it
    from dynlp.store import tensorfile

    model, directory = saved
    written = directory / read_config(str(directory))["files"]["params"]
    arrays = safetensors.load_file(str(written))
    parameters = tensorfile.parameters_of(model.pc)
    assert set(arrays) == set(parameters)
    for name, parameter in parameters.items():
        assert np.array_equal(arrays[name], parameter.as_array().astype(np.float32))
    theirs = tmp_path / "theirs.safetensors"
    safetensors.save_file({name: values * 2 for name, values in arrays.items()}, str(theirs))
    other = RNNLanguageModel(model.config, model.vocab)
    tensorfile.load(other.pc, str(theirs))
    for name, parameter in tensorfile.parameters_of(other.pc).items():
        assert np.array_equal(parameter.as_array(), arrays[name] * 2)
