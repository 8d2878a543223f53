"""tag and score with --workers N: the same bytes as one process, in input order."""
import os
import subprocess
import sys

import pytest

from dynlp.data.text import Span, read_lines
from dynlp.data.treebank import read_conllu
from dynlp.runtime.work import CHUNK, Part, chunked, run_chunks, split_input, tagger_input


def dynlp(*args):
    result = subprocess.run([sys.executable, "-m", "dynlp.cli", *args], capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_tagging_with_two_workers_matches_one(small_models):
    one = dynlp("tag", "-m", str(small_models / "tagger"), str(small_models / "big.conllu"))
    two = dynlp("tag", "-m", str(small_models / "tagger"), str(small_models / "big.conllu"), "--workers", "2")
    assert one == two and one.count("# sent_id = sample-1\n") == 75  # 3000 sentences, in order


def test_scoring_with_two_workers_matches_one(small_models):
    text = str(small_models / "text.txt")
    one = dynlp("score", "-m", str(small_models / "lm"), text)
    assert one == dynlp("score", "-m", str(small_models / "lm"), text, "--workers", "2")
    assert len(one.split("\n")) - 1 == 120  # one line out per line in, blank lines kept


# ---- split_input: the Parts a cluster worker reads must be the chunks `chunked` makes -----------
AWKWARD_CONLLU = ("# sent_id = a\n1\tHi\t_\t_\t_\t_\t_\t_\t_\t_\n\n\n\n"  # blank runs
                  "# sent_id = b\r\n1\tYo\t_\t_\t_\t_\t_\t_\t_\t_\r\n\r\n"  # CRLF
                  "1\tNo\t_\t_\t_\t_\t_\t_\t_\t_\n2\tend\t_\t_\t_\t_\t_\t_\t_\t_")  # no blank at end


@pytest.mark.parametrize("size", [1, 2, 3])
def test_conllu_parts_hold_the_same_sentences_as_the_chunks(tmp_path, size):
    path = tmp_path / "in.conllu"
    path.write_bytes(("\ufeff" + (AWKWARD_CONLLU + "\n\n") * 2 + AWKWARD_CONLLU).encode("utf-8"))
    chunks = [[s.lines for s in chunk] for chunk in chunked(read_conllu(str(path)), size)]
    parts = split_input(str(path), "conllu", size)
    read = [[s.lines for s in read_conllu(str(path), span=Span(*p[:3]))] for p in parts]
    assert read == chunks and len(parts) == -(-9 // size)


@pytest.mark.parametrize("size", [1, 2, 5])
def test_text_parts_number_their_sentences_like_one_pass(tmp_path, size):
    path = tmp_path / "in.txt"
    path.write_bytes("\ufeffThe dog .\n\n  \nA cat !\r\n\u00a0\nIt ran.\nLast".encode("utf-8") * 2)
    chunks = [[s.lines for s in chunk] for chunk in chunked(tagger_input(str(path), "text"), size)]
    read = [[s.lines for s in tagger_input(str(path), "text", span=Span(*p[:3]),
                                           first_sentence=p.first_sentence)]
            for p in split_input(str(path), "text", size)]
    assert read == chunks  # same sentences, same `# sent_id = N`


def test_line_parts_keep_blank_lines_and_line_numbers(tmp_path):
    path = tmp_path / "in.txt"
    path.write_text("one\n\ntwo\nthree\n\n", encoding="utf-8")
    parts = split_input(str(path), "lines", 2)
    assert [list(read_lines(str(path), Span(*p[:3]))) for p in parts] == \
        [[(1, "one"), (2, "")], [(3, "two"), (4, "three")], [(5, "")]]
    assert parts[1] == Part(5, 15, 3, 3)


def test_split_input_reports_bad_bytes_with_file_and_line(tmp_path):
    path = tmp_path / "in.txt"
    path.write_bytes(b"fine\n" * CHUNK + b"bad \xff\n")
    with pytest.raises(Exception, match=rf"in.txt:{CHUNK + 1}: not valid UTF-8"):
        split_input(str(path), "lines")


def process_id(model_dir, chunk):
    return os.getpid()


def test_default_workers_are_one_process_for_one_chunk_and_a_pool_for_more():
    one_chunk = list(run_chunks(lambda model_dir, chunk: os.getpid(), "unused", [[1]], None))
    assert one_chunk == [os.getpid()]  # in this process: a lambda cannot go to a pool
    pids = set(run_chunks(process_id, "unused", [[1], [2], [3]], None))
    assert os.getpid() not in pids or len(os.sched_getaffinity(0)) == 1


# ---- on a GPU one process does the work (tests/test_gpu.py runs these on a real GPU) ----------
def test_explicit_workers_or_ray_with_a_gpu_are_one_clear_error():
    from dynlp.backend import BackendConfig, check_gpu_processes
    from dynlp.errors import ConfigError

    gpu = BackendConfig(gpus=1)
    for workers in (None, 0, 1):
        check_gpu_processes(gpu, workers)
    with pytest.raises(ConfigError, match="--workers 2 with --gpus"):
        check_gpu_processes(gpu, 2)
    with pytest.raises(ConfigError, match="--ray with --gpus"):
        check_gpu_processes(BackendConfig(devices="GPU:0"), None, ray="auto")
    check_gpu_processes(BackendConfig(), 2, ray="auto")  # the CPU: anything goes


def test_default_processes_are_one_on_a_gpu(monkeypatch):
    from dynlp import backend
    from dynlp.runtime import forks

    monkeypatch.setattr(forks, "usable_cores", lambda: 2)
    monkeypatch.setattr(backend, "_configured", backend.BackendConfig())
    assert forks.usable_processes() == 2 and forks.auto_workers(0, 1000) == 2
    monkeypatch.setattr(backend, "_configured", backend.BackendConfig(devices="CPU,GPU:0"))
    assert forks.usable_processes() == 1 and forks.auto_workers(0, 1000) == 1
    assert forks.auto_workers(3, 1000) == 3  # an explicit number is the caller's to check
