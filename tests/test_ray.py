"""tag and score on Ray (`dynlp[ray]`): a local 2-CPU Ray gives the bytes one process gives."""
import os
import subprocess
import sys

import pytest

from dynlp.cli import main


@pytest.fixture(scope="session")
def ray_address():
    """One local Ray for all these tests (2 CPUs, loopback only); yields its address."""
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("Ray is missing in CI: install dynlp[ray]")
        pytest.skip("Ray is not installed (pip install 'dynlp[ray]')")
    ray.init(num_cpus=2, _node_ip_address="127.0.0.1", include_dashboard=False,
             logging_level="ERROR", log_to_driver=False)
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


def run(*argv):
    assert main([*argv, "--quiet"]) == 0


def same_output(tmp_path, command, model, source, *options):
    """Run `command` with one process and on Ray; return both outputs."""
    one, on_ray = tmp_path / "one.out", tmp_path / "ray.out"
    run(command, "-m", model, source, str(one), *options)
    run(command, "-m", model, source, str(on_ray), *options, "--ray", "auto", "--workers", "2")
    return one.read_bytes(), on_ray.read_bytes()


def test_tagging_conllu_on_ray_matches_one_process(ray_address, small_models, tmp_path):
    one, on_ray = same_output(tmp_path, "tag", str(small_models / "tagger"),
                              str(small_models / "big.conllu"))
    assert one == on_ray and one.count(b"# sent_id = sample-1\n") == 75  # 3000 sentences, in order


def test_tagging_text_on_ray_numbers_sentences_like_one_process(ray_address, small_models,
                                                                tmp_path):
    text = tmp_path / "in.txt"
    text.write_text("The dog barked .\n\nA cat sat on the mat !\n" * 300, encoding="utf-8")
    one, on_ray = same_output(tmp_path, "tag", str(small_models / "tagger"), str(text),
                              "--input", "text")
    assert one == on_ray and b"# sent_id = 600\n" in one


@pytest.mark.parametrize("options", [[], ["--json"]])
def test_scoring_on_ray_matches_one_process(ray_address, small_models, tmp_path, options):
    text = tmp_path / "in.txt"
    text.write_text((small_models / "text.txt").read_text() * 5)  # 600 lines, blanks included
    one, on_ray = same_output(tmp_path, "score", str(small_models / "lm"), str(text), *options)
    assert one == on_ray
    assert len(one.splitlines()) == (1 if options else 600)


def test_a_separate_driver_connects_by_address(ray_address, small_models, tmp_path):
    out = tmp_path / "ray.conllu"
    result = subprocess.run([sys.executable, "-m", "dynlp.cli", "tag", "-m",
                             str(small_models / "tagger"), str(small_models / "big.conllu"),
                             str(out), "--ray", ray_address, "--quiet"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    run("tag", "-m", str(small_models / "tagger"), str(small_models / "big.conllu"),
        str(tmp_path / "one.conllu"))
    assert out.read_bytes() == (tmp_path / "one.conllu").read_bytes()


def test_a_bad_line_late_in_the_input_is_one_line_and_no_output(ray_address, small_models,
                                                                 tmp_path, capsys):
    lines = (small_models / "big.conllu").read_text(encoding="utf-8").split("\n")
    lines[-20] = "\t".join(lines[-20].split("\t")[:9])  # a word line of the last chunk
    bad = tmp_path / "bad.conllu"
    bad.write_text("\n".join(lines), encoding="utf-8")
    out = tmp_path / "out.conllu"
    assert main(["tag", "-m", str(small_models / "tagger"), str(bad), str(out),
                 "--ray", "auto", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"dynlp: error: {bad}:{len(lines) - 19} (sentence sample-")
    assert err.endswith("): expected 10 tab-separated columns, found 9\n") and err.count("\n") == 1
    assert not out.exists()


def test_ray_needs_a_file_not_stdin(ray_address, small_models, capsys):
    assert main(["score", "-m", str(small_models / "lm"), "-", "--ray", "auto"]) == 2
    assert "not stdin" in capsys.readouterr().err


@pytest.fixture(scope="module")
def tagger_with_tokenizer(tmp_path_factory):
    """A tiny tagger trained on data/sample.conllu with its tokenizer beside it."""
    out = tmp_path_factory.mktemp("tokenized") / "model"
    run("train-tagger", "data/sample.conllu", "-o", str(out), "--epochs", "1", "--layers", "1",
        "--hidden-dim", "8", "--emb-dim", "8", "--tokenizer-minutes", "0.1")
    assert (out / "tokenizer").is_dir()
    return str(out)


@pytest.mark.parametrize("input_format", ["text", "lines"])
def test_raw_text_with_a_tokenizer_on_ray_matches_one_process(ray_address, tagger_with_tokenizer,
                                                              tmp_path, input_format):
    """The driver splits the text (sentence numbers depend on every sentence end before them),
    the actors tag: three chunks of sentences, numbered and tagged as one process does."""
    text = tmp_path / "in.txt"
    text.write_text("The dog barked. A cat sat on the mat!\n\nMy sister reads two books.\n"
                    * 2100, encoding="utf-8")
    one, on_ray = same_output(tmp_path, "tag", tagger_with_tokenizer, str(text),
                              "--input", input_format)
    assert one == on_ray
    assert one.count(b"# sent_id = ") > 2048 and one.endswith(b"\n\n")


def test_raw_text_on_ray_reads_stdin(ray_address, tagger_with_tokenizer, tmp_path):
    """The driver reads raw text itself, so a pipe works where a CoNLL-U input needs a file."""
    text = "The dog barked. A cat sat on the mat!\n\nMy sister reads two books.\n" * 3
    tagged = subprocess.run([sys.executable, "-m", "dynlp.cli", "tag", "-m", tagger_with_tokenizer,
                             "--input", "text", "-", "--ray", ray_address, "--quiet"], input=text,
                            capture_output=True, text=True, timeout=300)
    assert tagged.returncode == 0, tagged.stderr
    path = tmp_path / "in.txt"
    path.write_text(text, encoding="utf-8")
    run("tag", "-m", tagger_with_tokenizer, "--input", "text", str(path), str(tmp_path / "one"))
    assert tagged.stdout == (tmp_path / "one").read_text(encoding="utf-8")
