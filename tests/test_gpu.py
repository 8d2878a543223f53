"""dynlp on a GPU (a CUDA build of DyNet and an NVIDIA GPU; skipped without them).

Each model kind (word LM, word LM with --stream, char LM, tagger) trains a few steps with
`--gpus 1`; the saved directory then loads on the GPU and on the CPU, and both give the same tags
and the same log-probabilities to 1e-4.  The commands that fork workers use one process on a GPU
by default and refuse an explicit --workers N > 1 with one line (DyNet's GPU memory lives in the
CUDA context of the process that made it; a forked copy cannot use it).

scripts/gpu_check.sh runs this file with DYNLP_REQUIRE_GPU=1, which turns the skip into a failure.
"""
import json
import os
import subprocess
import sys

import pytest

from dynlp.backend import have_cuda

HERE = os.path.dirname(os.path.abspath(__file__))
PROBE = os.path.join(HERE, "cross_build_probe.py")
REPO = os.path.dirname(HERE)
GPU = ["--gpus", "1"]


def gpu_missing():
    """Why there is no GPU to test on, or None."""
    from dynlp.backend import BackendConfig, _check_gpu_request
    from dynlp.errors import ConfigError

    if not have_cuda():
        return "this DyNet was built without CUDA"
    try:
        _check_gpu_request(BackendConfig(gpus=1))
    except ConfigError as error:
        return str(error)
    return None


_why = gpu_missing()
if _why and os.environ.get("DYNLP_REQUIRE_GPU"):
    raise RuntimeError(f"DYNLP_REQUIRE_GPU is set but there is no GPU to test on: {_why}")
pytestmark = pytest.mark.skipif(bool(_why), reason=f"no GPU: {_why}")


def run(*args, check=True, **kwargs):
    done = subprocess.run(list(args), capture_output=True, text=True, timeout=600, cwd=REPO,
                          **kwargs)
    if check:
        assert done.returncode == 0, done.stderr[-3000:]
    return done


def dynlp(*args, **kwargs):
    return run(sys.executable, "-c", "import sys; from dynlp.cli import main; sys.exit(main())",
               *args, **kwargs)


@pytest.fixture(scope="module")
def gpu_models(tmp_path_factory):
    directory = tmp_path_factory.mktemp("gpu")
    run(sys.executable, PROBE, "train", str(directory), *GPU)
    return directory


def probe(directory, device):
    return json.loads(run(sys.executable, PROBE, "probe", str(directory), *device).stdout)


def test_models_trained_on_the_gpu_give_the_same_outputs_on_gpu_and_cpu(gpu_models):
    on_gpu, on_cpu = probe(gpu_models, GPU), probe(gpu_models, [])
    assert on_gpu["on_gpu"] and not on_cpu["on_gpu"]
    assert on_gpu["tags"] == on_cpu["tags"]
    assert on_gpu["log_probs"].keys() == {"lm", "stream-lm", "char-lm"}
    for name, lines in on_gpu["log_probs"].items():
        for mine, theirs in zip(lines, on_cpu["log_probs"][name]):
            assert mine == pytest.approx(theirs, abs=1e-4), name


def test_tag_and_score_on_the_gpu_equal_the_cpu(gpu_models, tmp_path):
    # Enough input for several chunks: on the CPU that would fork workers; on a GPU one process.
    conllu = tmp_path / "big.conllu"
    conllu.write_text(open(os.path.join(REPO, "data", "sample.conllu"), encoding="utf-8").read()
                      * 60, encoding="utf-8")
    tagger = str(gpu_models / "tagger")
    assert (dynlp("tag", "-m", tagger, str(conllu), *GPU).stdout
            == dynlp("tag", "-m", tagger, str(conllu)).stdout)
    text = tmp_path / "lines.txt"
    text.write_text("the cat sat on the mat\na dog saw the cat\n" * 300, encoding="utf-8")
    lm = str(gpu_models / "lm")
    here = dynlp("score", "-m", lm, str(text), *GPU).stdout.split()
    there = dynlp("score", "-m", lm, str(text)).stdout.split()
    assert len(here) == len(there) == 600
    assert [float(x) for x in here] == pytest.approx([float(x) for x in there], abs=2e-4)


def test_sampling_on_the_gpu(gpu_models):
    samples = dynlp("sample", "-m", str(gpu_models / "char-lm"), "-n", "3", "--max-len", "20",
                    *GPU).stdout.splitlines()
    assert len(samples) == 3


@pytest.mark.parametrize("command", [["tag", "-m", "{dir}/tagger", "data/sample.conllu"],
                                     ["score", "-m", "{dir}/lm", "README.md"],
                                     ["train-tagger", "data/sample.conllu", "-o", "{dir}/t2"]])
def test_several_workers_on_a_gpu_are_one_clear_error(gpu_models, command):
    done = dynlp(*[part.format(dir=gpu_models) for part in command], "--workers", "2", *GPU,
                 check=False)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "--workers 2" in done.stderr, done.stderr


def test_training_on_a_gpu_uses_one_process(tmp_path):
    # 400 sentences in batches of 2: on the CPU the loop would train Hogwild on every core.
    corpus = tmp_path / "train.txt"
    corpus.write_text("the cat sat on the mat\nthe dog sat on the log\n" * 200, encoding="utf-8")
    out = tmp_path / "lm"
    dynlp("train-lm", str(corpus), "--word", "-o", str(out), "--epochs", "1", "--batch-size", "2",
          "--hidden-dim", "16", "--emb-dim", "8", "--quiet", *GPU)
    epoch = json.loads((out / "metrics.jsonl").read_text().splitlines()[-1])
    assert epoch["workers"] == 1, epoch
