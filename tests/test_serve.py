"""`dynlp serve` over real HTTP: the same answers as the commands, bad requests, dead workers."""
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import threading
import time

import pytest

from dynlp.cli import main
from dynlp.serve.protocol import describe_models
from serve_helpers import Server, need_serve_extra

need_serve_extra()


@pytest.fixture(scope="module")
def server(small_models, tmp_path_factory):
    running = Server([small_models / "lm", small_models / "tagger"],
                     tmp_path_factory.mktemp("serve"), "--workers", "2")
    yield running
    running.stop()


@pytest.fixture(scope="module")
def stream_lm(tmp_path_factory):
    """A stream LM: its samples never stop at </s>, so a long one keeps a worker busy."""
    tmp = tmp_path_factory.mktemp("stream")
    text = tmp / "text.txt"
    text.write_text("the cat sat on the mat\nthe dog sat on the log\n" * 20)
    assert main(["train-lm", str(text), "--word", "--stream", "-o", str(tmp / "stream"),
                 "--epochs", "1", "--hidden-dim", "8", "--emb-dim", "8", "--quiet"]) == 0
    return tmp / "stream"


@pytest.fixture(scope="module")
def ngram_models(tmp_path_factory):
    """A trigram model with Kneser-Ney and one without smoothing (it gives probability 0)."""
    tmp = tmp_path_factory.mktemp("ngram")
    text = tmp / "text.txt"
    text.write_text("the cat sat on the mat\nthe dog sat on the log\n" * 5)
    for name, smoothing in (("kn3", "kneser-ney"), ("ml3", "none")):
        assert main(["train-lm", str(text), "--word", "--ngram", "3", "--smoothing", smoothing,
                     "-o", str(tmp / name), "--quiet"]) == 0
    return tmp


def dynlp(*argv):
    done = subprocess.run([sys.executable, "-m", "dynlp.cli", *argv], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


# ---- the same answers as the commands ----------------------------------------------------------
def test_tag_text_equals_dynlp_tag(server, small_models, tmp_path):
    text = "The dog sat on the mat.\nA cat saw it, and ran!\n"
    (tmp_path / "in.txt").write_text(text)
    offline = dynlp("tag", "-m", str(small_models / "tagger"), "--input", "text",
                    str(tmp_path / "in.txt"))
    status, reply = server.post("/models/tagger/tag", {"text": text})
    assert status == 200
    assert reply["conllu"] == offline
    columns = json.loads((small_models / "tagger" / "config.json").read_text())["config"][
        "columns"].split(",")
    words = [line.split("\t") for line in offline.splitlines() if line[:1].isdigit()]
    served = [word for sentence in reply["sentences"] for word in sentence]
    assert [w["form"] for w in served] == [cells[1] for cells in words]
    for column in columns:
        index = {"upos": 3, "xpos": 4, "feats": 5}[column]
        assert [w[column] for w in served] == [cells[index] for cells in words]


def test_tag_conllu_equals_dynlp_tag_and_keeps_other_bytes(server, small_models):
    gold = open("data/sample.conllu", encoding="utf-8").read()
    offline = dynlp("tag", "-m", str(small_models / "tagger"), "data/sample.conllu")
    status, reply = server.post("/models/tagger/tag", {"conllu": gold})
    assert status == 200 and reply["conllu"] == offline
    assert len(reply["sentences"]) == gold.count("# sent_id")


def test_requests_that_arrive_together_get_their_own_answers(server):
    sentences = [f"the dog number {i} sat on {'the mat ' * (i % 7)}." for i in range(24)]
    alone = [server.post("/models/tagger/tag", {"text": s})[1]["conllu"] for s in sentences]
    together = [None] * len(sentences)

    def ask(i):
        together[i] = server.post("/models/tagger/tag", {"text": sentences[i]})[1]["conllu"]

    before = server.get("/health")[1]
    threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(sentences))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert together == alone
    after = server.get("/health")[1]
    requests, batches = after["requests"] - before["requests"], after["batches"] - before["batches"]
    assert requests == len(sentences) and batches < requests  # some were computed together


def test_score_equals_dynlp_score(server, small_models, tmp_path):
    lines = ["the cat sat on the mat", "", "a dog sat on the log the end"]
    (tmp_path / "in.txt").write_text("\n".join(lines) + "\n")
    offline = dynlp("score", "-m", str(small_models / "lm"), str(tmp_path / "in.txt"))
    summary = json.loads(dynlp("score", "-m", str(small_models / "lm"), "--json",
                               str(tmp_path / "in.txt")))
    status, reply = server.post("/models/lm/score", {"lines": lines})
    assert status == 200
    expected = [float(x) if x else None for x in offline.split("\n")[:len(lines)]]
    assert reply["log_probs"][1] is None and expected[1] is None
    for got, want in zip(reply["log_probs"], expected):
        assert got is None or abs(got - want) < 1e-4
    assert abs(reply["perplexity"] - summary["perplexity"]) < 1e-3 * summary["perplexity"]
    first = reply["tokens"][0]
    assert [t["token"] for t in first] == lines[0].split() + ["</s>"]
    assert abs(sum(t["log_prob"] for t in first) - reply["log_probs"][0]) < 1e-4


def test_sample_is_seeded_and_never_unknown(server):
    body = {"n": 5, "seed": 7, "temperature": 1.5, "max_len": 12}
    status, first = server.post("/models/lm/sample", body)
    assert status == 200 and len(first["samples"]) == 5
    assert server.post("/models/lm/sample", body)[1]["samples"] == first["samples"]
    for text in first["samples"]:
        assert "<unk>" not in text and len(text.split()) <= 12
    status, prefixed = server.post("/models/lm/sample", {"prefix": "the dog", "top_k": 2,
                                                         "seed": 1})
    assert status == 200 and prefixed["samples"][0].startswith("the dog")


def test_ngram_models_score_and_sample_and_zero_probability_is_null(ngram_models, tmp_path):
    running = Server([ngram_models / "kn3", ngram_models / "ml3"], tmp_path, "--workers", "1")
    try:
        (tmp_path / "in.txt").write_text("the cat sat on the log\n")
        offline = dynlp("score", "-m", str(ngram_models / "kn3"), str(tmp_path / "in.txt"))
        status, reply = running.post("/models/kn3/score", {"lines": ["the cat sat on the log"]})
        assert status == 200 and abs(reply["log_probs"][0] - float(offline)) < 1e-4
        status, reply = running.post("/models/ml3/score", {"lines": ["the mat sat"]})
        assert status == 200 and reply["log_probs"] == [None] and reply["perplexity"] is None
        assert None in [t["log_prob"] for t in reply["tokens"][0]]
        status, reply = running.post("/models/kn3/sample", {"n": 3, "seed": 2})
        assert status == 200 and len(reply["samples"]) == 3
    finally:
        running.stop()


def test_models_and_health(server):
    status, listing = server.get("/models")
    assert status == 200
    kinds = {m["name"]: m["kind"] for m in listing["models"]}
    assert kinds == {"lm": "language-model", "tagger": "tagger"}
    assert all(m["training"]["metrics"] for m in listing["models"])
    cards = {m["name"]: m["card"] for m in listing["models"]}
    assert cards["tagger"]["kind"] == "tagger" and cards["lm"]["family"] == "recurrent"
    assert all(card["parameters"] > 0 and len(card["curve"]["values"]) == 1
               for card in cards.values())  # trained for one epoch
    status, health = server.get("/health")
    assert status == 200 and health["up"] and len(health["workers"]) == 2


# ---- the model card: read from the model directory's files -------------------------------------
def metrics_lines(model_dir):
    return [json.loads(line) for line in (model_dir / "metrics.jsonl").read_text().splitlines()]


def parameters_built(model_dir):
    """The number of values in the model's parameters, as DyNet builds them from its config."""
    from dynlp.models import registry

    pc = registry.load(str(model_dir)).pc
    return sum(math.prod(p.shape()) for p in pc.parameters_list() + pc.lookup_parameters_list())


def files_bytes(model_dir):
    meta = json.loads((model_dir / "config.json").read_text())
    names = ["config.json", *meta["files"].values()]
    return sum((model_dir / name).stat().st_size for name in names)


def check_trained_card(card, model_dir, metric):
    """The fields every trained model's card shares, against its files."""
    meta = json.loads((model_dir / "config.json").read_text())
    lines = metrics_lines(model_dir)
    kept = next(m for m in lines if m["epoch"] == meta["training"]["epoch"])
    assert card["parameters"] == parameters_built(model_dir)
    assert card["disk_bytes"] == files_bytes(model_dir)
    assert card["epochs"] == lines[-1]["epoch"] == len(lines) > 1
    assert card["training_seconds"] == lines[-1]["elapsed"]
    assert card["best_epoch"] == kept["epoch"]
    assert card["best_dev"] == {k: v for k, v in kept.items() if k.startswith("dev_")}
    assert card["curve"]["metric"] == metric
    assert card["curve"]["epochs"] == [m["epoch"] for m in lines]
    assert card["curve"]["values"] == [m[metric] for m in lines]
    assert not card["curve"]["earlier_left_out"]


def test_card_of_each_kind(curve_models, ngram_models):
    models = describe_models([curve_models / "lm-epochs", curve_models / "tagger-epochs",
                              ngram_models / "kn3", "tests/data/format1-tagger"])
    lm, tagger, kn3 = (models[name]["card"] for name in ("lm-epochs", "tagger-epochs", "kn3"))
    config = json.loads((curve_models / "lm-epochs" / "config.json").read_text())["config"]
    assert (lm["kind"], lm["family"]) == ("language-model", "recurrent")
    assert lm["model"]["level"] == "word" and lm["model"]["cell"] == config["cell"]
    assert lm["model"]["layers"] == config["layers"]
    assert lm["sizes"] == {"emb_dim": 8, "hidden_dim": 8}
    check_trained_card(lm, curve_models / "lm-epochs", "dev_ppl")

    config = json.loads((curve_models / "tagger-epochs" / "config.json").read_text())["config"]
    assert (tagger["kind"], tagger["family"]) == ("tagger", "tagger")
    assert tagger["model"]["columns"] == config["columns"]
    dims = ("emb_dim", "char_dim", "hidden_dim", "mlp_dim")
    assert tagger["sizes"] == {k: config[k] for k in dims}
    check_trained_card(tagger, curve_models / "tagger-epochs",
                       "dev_" + config["columns"].split(",")[0])

    meta = json.loads((ngram_models / "kn3" / "config.json").read_text())
    assert (kn3["family"], kn3["model"]) == ("ngram", {"order": 3, "level": "word",
                                                        "smoothing": "kneser-ney"})
    assert kn3["parameters"] is None and kn3["ngrams"] == meta["metrics"]["ngrams"]
    assert kn3["curve"]["epochs"] == [] and kn3["epochs"] is None
    assert kn3["disk_bytes"] == files_bytes(ngram_models / "kn3")

    old = models["format1-tagger"]["card"]  # DyNet's text format: counted from its headers
    assert old["parameters"] == parameters_built("tests/data/format1-tagger") > 0
    assert old["model"]["column"] == "upos" and old["curve"]["epochs"] == []


def test_card_reads_only_the_end_of_a_long_metrics_file(curve_models, tmp_path, monkeypatch):
    from dynlp.serve import card

    model = tmp_path / "lm"
    shutil.copytree(curve_models / "lm-epochs", model)
    lines = [json.dumps({"epoch": e, "dev_ppl": 100 + 1000 / e, "elapsed": e / 10})
             for e in range(1, 5001)]
    lines.insert(4500, "not json {")
    (model / "metrics.jsonl").write_text("\n".join(lines) + "\n")
    got = describe_models([model])["lm"]["card"]
    assert got["curve"]["epochs"] == list(range(4002, 5001))  # the last 1,000 lines, less one
    assert got["curve"]["values"][-1] == 100 + 1000 / 5000 and got["curve"]["earlier_left_out"]
    assert got["epochs"] == 5000 and got["training_seconds"] == 500.0
    kept = json.loads((model / "config.json").read_text())["training"]
    assert got["best_epoch"] == kept["epoch"]  # not in the tail: config.json's copy
    assert got["best_dev"]["dev_ppl"] == kept["metrics"]["dev_ppl"]
    # Past TAIL_BYTES nothing more is read, however many lines are left.
    monkeypatch.setattr(card, "TAIL_BYTES", 1 << 14)
    monkeypatch.setattr(card, "BLOCK_BYTES", 1 << 12)
    bounded = describe_models([model])["lm"]["card"]["curve"]["epochs"]
    # The lines are over 40 bytes, so 16 KiB hold fewer than 410 of them.
    assert min(len(line) for line in lines[-999:] if line[0] == "{") > 40
    assert 0 < len(bounded) < (1 << 14) // 40 and bounded == list(range(5001 - len(bounded), 5001))


# ---- bad requests: a 4xx with one line, in bounded time, and the server goes on ----------------
BAD_REQUESTS = [
    ("/models/tagger/tag", b'{"text": "unclosed', 400, "not valid JSON"),
    ("/models/tagger/tag", b'["a list"]', 400, "must be a JSON object"),
    ("/models/tagger/tag", {"text": 42}, 400, "must be a string"),
    ("/models/tagger/tag", {"text": "a", "conllu": "b"}, 400, "one of the two"),
    ("/models/tagger/tag", {"conllu": "1\tword\n"}, 400, "conllu:1: expected 10"),
    ("/models/lm/score", {"lines": "not a list"}, 400, "array of strings"),
    ("/models/lm/sample", {"n": True}, 400, "must be a integer"),
    ("/models/lm/sample", {"temperature": "hot"}, 400, "must be a number"),
    ("/models/lm/sample", {"temperature": 0}, 400, "above 0"),
    ("/models/lm/sample", {"top_k": 0}, 400, "top_k"),
    ("/models/tagger/tag", b"\xff\xfe{}", 400, "not valid UTF-8"),
    ("/models/tagger/tag", b'{"text": "' + b"x" * 1_000_001 + b'"}', 413, "larger than"),
    ("/models/nobody/tag", {"text": "a"}, 404, "no model named 'nobody'"),
    ("/models/lm/tag", {"text": "a"}, 404, "is a language model"),
    ("/models/tagger/parse", {"text": "a"}, 404, "no such job"),
    ("/models/tagger/tag", {"text": "word " * 10_000}, 413, "10000 tokens"),
    ("/models/tagger/tag", {"conllu": "".join(f"{i}\tw\t_\t_\t_\t_\t_\t_\t_\t_\n"
                                              for i in range(1, 6001))}, 413, "6000 tokens"),
    ("/models/tagger/tag", {"text": "  \n \n"}, 400, "empty"),
    ("/models/tagger/tag", {}, 400, '"text"'),
    ("/models/lm/score", {"lines": ["", " "]}, 400, "no text"),
    ("/models/lm/sample", {"max_len": 10 ** 9}, 400, "max_len"),
    ("/models/lm/sample", {"n": 10 ** 6}, 400, "field 'n'"),
    ("/models/lm/sample", {"seed": -1}, 400, "seed"),
]


@pytest.mark.parametrize("path, body, status, message", BAD_REQUESTS,
                         ids=[f"{i}-{case[3]}" for i, case in enumerate(BAD_REQUESTS)])
def test_bad_request_gets_a_4xx_and_the_server_goes_on(server, path, body, status, message):
    started = time.monotonic()
    got, reply = server.post(path, body, timeout=30)
    assert time.monotonic() - started < 10
    assert got == status, reply
    assert message in reply["error"] and "\n" not in reply["error"]
    assert server.post("/models/tagger/tag", {"text": "a cat"})[0] == 200
    assert server.get("/health")[0] == 200


def test_unknown_paths_and_methods_are_json_errors(server):
    assert server.get("/nowhere") == (404, {"error": "no such path /nowhere"})
    status, reply = server.get("/models/tagger/tag")
    assert status == 405 and "GET is not allowed" in reply["error"]


def test_the_page_is_served_without_anything_from_elsewhere(server):
    import urllib.request

    with urllib.request.urlopen(server.url + "/") as response:
        page = response.read().decode()
        assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert '<script src="/app.js">' in page and "http" not in page.split("<body>")[1]
    with urllib.request.urlopen(server.url + "/app.js") as response:
        assert "http://" not in response.read().decode()


# ---- faults: a killed worker, SIGTERM, bad start -------------------------------------------------
def busy_worker(running):
    """Wait until a worker is computing; its pid."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        busy = [w["pid"] for w in running.get("/health")[1]["workers"] if w["state"] == "busy"]
        if busy:
            return busy[0]
        time.sleep(0.02)
    raise AssertionError("no worker became busy")


def in_background(function, *args):
    result = {}
    thread = threading.Thread(target=lambda: result.setdefault("value", function(*args)))
    thread.start()
    return thread, result


LONG_SAMPLE = {"n": 50, "max_len": 20_000, "seed": 1}  # about a million steps: many seconds


def test_a_killed_worker_fails_its_requests_with_503_and_is_replaced(stream_lm, small_models,
                                                                      tmp_path):
    running = Server([stream_lm, small_models / "tagger"], tmp_path, "--workers", "1",
                     "--max-n", "50", "--max-len", "20000")
    try:
        thread, result = in_background(running.post, "/models/stream/sample", LONG_SAMPLE)
        pid = busy_worker(running)
        started = time.monotonic()
        os.kill(pid, signal.SIGKILL)
        thread.join(timeout=30)
        status, reply = result["value"]
        assert status == 503 and "died" in reply["error"]
        assert time.monotonic() - started < 10
        health = running.wait_until_up()
        assert health["workers"][0]["pid"] != pid
        assert running.post("/models/tagger/tag", {"text": "a cat"})[0] == 200
    finally:
        running.stop()


def test_sigterm_answers_requests_in_flight_then_exits_0(stream_lm, tmp_path):
    running = Server([stream_lm], tmp_path, "--workers", "1", "--max-len", "20000")
    try:
        thread, result = in_background(running.post, "/models/stream/sample",
                                       {"n": 2, "max_len": 20_000, "seed": 1})
        busy_worker(running)
        running.process.send_signal(signal.SIGTERM)
        thread.join(timeout=120)
        status, reply = result["value"]
        assert status == 200 and len(reply["samples"]) == 2
        assert running.process.wait(timeout=30) == 0
    finally:
        running.stop()


def test_bad_model_and_busy_port_are_one_line_errors(small_models, tmp_path):
    def serve(*argv):
        return subprocess.run([sys.executable, "-m", "dynlp.cli", "serve", *argv],
                              capture_output=True, text=True, timeout=120)

    done = serve("-m", str(tmp_path / "missing"), "--port", "0")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"dynlp: error: {tmp_path / 'missing'}: no such model directory"]
    running = Server([small_models / "lm"], tmp_path, "--workers", "1")
    try:
        port = running.url.rsplit(":", 1)[1]
        done = serve("-m", str(small_models / "lm"), "--port", port)
        assert done.returncode == 2 and "cannot listen on 127.0.0.1:" in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1
    finally:
        running.stop()
    damaged = tmp_path / "lm"
    subprocess.run(["cp", "-r", str(small_models / "lm"), str(damaged)], check=True)
    params = next(p for p in damaged.iterdir() if p.name.startswith("params"))
    params.write_bytes(params.read_bytes()[:-8] + b"\0" * 8)
    done = serve("-m", str(damaged), "--port", "0", "--workers", "1")
    assert done.returncode == 2 and "checksum mismatch" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
