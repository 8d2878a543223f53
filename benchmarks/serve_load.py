"""`dynlp serve` under load, on 127.0.0.1, against `dynlp tag` offline on the same text.

    python benchmarks/serve_load.py [--tagger DIR] [--seconds 30] [--json OUT]

Without `--tagger` it first trains the default tagger recipe on EWT for one epoch (speed
depends on the network's shapes, not on how well it has learnt).  Then:

1. offline: `dynlp tag` (default workers) on the EWT dev documents (four copies, so that
   starting the command weighs little), words/s by wall clock;
2. `dynlp serve -m DIR` (default workers) and, for `--seconds` each, 1, 8 and 32 clients,
   each sending one EWT dev document at a time (`# newdoc` to the next, as CoNLL-U) and
   waiting for its answer: requests/s, words/s, p50 and p99 latency, errors;
3. 8 clients sending single sentences of 18-22 words as plain text: p50 and p99 latency.

The clients are one asyncio process with keep-alive HTTP/1.1 connections, written here in a
few lines so the load costs as little CPU as possible: on a 2-core machine the clients, the
server and its workers share the cores, as they would on a laptop.  Every request that does
not get a 200 counts as an error.
"""
import argparse
import asyncio
import itertools
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time

import numpy as np

from dynlp.data.text import data_dir

EWT = os.path.join(data_dir(), "ud_en_ewt")


def documents(path):
    """The documents of a CoNLL-U file (split at `# newdoc`), as (CoNLL-U text, words)."""
    text = open(path, encoding="utf-8").read()
    docs = [d for d in re.split(r"(?m)^(?=# newdoc)", text) if d.strip()]
    return [(d, sum(1 for line in d.splitlines() if re.match(r"\d+\t", line))) for d in docs]


def sentences_of_about(path, low, high):
    """The `# text` of sentences with `low` to `high` words."""
    found = []
    for block in open(path, encoding="utf-8").read().split("\n\n"):
        words = sum(1 for line in block.splitlines() if re.match(r"\d+\t", line))
        texts = [line[9:] for line in block.splitlines() if line.startswith("# text = ")]
        if texts and low <= words <= high:
            found.append((texts[0], words))
    return found


def train_tagger(out):
    subprocess.run([sys.executable, "-m", "dynlp.cli", "train-tagger",
                    os.path.join(EWT, "en_ewt-ud-train.conllu"), "--dev",
                    os.path.join(EWT, "en_ewt-ud-dev.conllu"), "-o", out, "--epochs", "1",
                    "--quiet"], check=True)


def offline_words_per_second(model, path, words, work, copies=4):
    """`dynlp tag`'s words/s on `copies` copies of the file (so that the 2 s it takes to start
    and load the model weigh little), wall clock, start included."""
    repeated = os.path.join(work, "repeated.conllu")
    with open(repeated, "w", encoding="utf-8") as out:
        out.write(open(path, encoding="utf-8").read() * copies)
    began = time.perf_counter()
    subprocess.run([sys.executable, "-m", "dynlp.cli", "tag", "-m", model, repeated, "-o",
                    os.devnull, "--quiet"], check=True)
    seconds = time.perf_counter() - began
    return {"words": words * copies, "seconds": round(seconds, 2),
            "words_per_s": round(words * copies / seconds)}


def start_server(model, log_path):
    log = open(log_path, "w")
    server = subprocess.Popen([sys.executable, "-m", "dynlp.cli", "serve", "-m", model,
                               "--port", "0"], stderr=log, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        found = re.search(r"http://127\.0\.0\.1:(\d+)/", open(log_path).read())
        if found:
            return server, int(found.group(1))
        if server.poll() is not None:
            sys.exit(f"serve_load.py: dynlp serve exited: {open(log_path).read()}")
        time.sleep(0.1)
    server.kill()
    sys.exit("serve_load.py: dynlp serve did not start in 120 s")


async def one_client(port, path, bodies, deadline, record):
    """Send requests one after another on one connection until `deadline`."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.monotonic() < deadline:
            body, words = next(bodies)
            head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json"
                    f"\r\nContent-Length: {len(body)}\r\n\r\n").encode()
            began = time.perf_counter()
            writer.write(head + body)
            status = int((await reader.readline()).split()[1])
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode().partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            await reader.readexactly(length)
            record.append((time.perf_counter() - began, status, words))
    finally:
        writer.close()


async def load(port, path, bodies, clients, seconds):
    """`clients` connections sending for `seconds`; returns the figures."""
    record, deadline = [], time.monotonic() + seconds
    began = time.perf_counter()
    await asyncio.gather(*(one_client(port, path, bodies, deadline, record)
                           for _ in range(clients)))
    wall = time.perf_counter() - began
    latencies = np.array([r[0] for r in record])
    good = [r for r in record if r[1] == 200]
    return {"clients": clients, "requests": len(record), "errors": len(record) - len(good),
            "seconds": round(wall, 1), "requests_per_s": round(len(good) / wall, 1),
            "words_per_s": round(sum(r[2] for r in good) / wall),
            "p50_ms": round(1000 * float(np.percentile(latencies, 50)), 1),
            "p99_ms": round(1000 * float(np.percentile(latencies, 99)), 1)}


_counted = {"batches": 0, "requests": 0}


def batching(port):
    """Requests per batch since the last call, from the server's /health."""
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health") as response:
        health = json.loads(response.read())
    batches = health["batches"] - _counted["batches"]
    requests = health["requests"] - _counted["requests"]
    _counted.update(batches=health["batches"], requests=health["requests"])
    return {"requests_per_batch": round(requests / max(1, batches), 1)}


def cycle_bodies(items, make_body):
    return itertools.cycle([(json.dumps(make_body(item)).encode(), words)
                            for item, words in items])


def _installed(module):
    try:
        __import__(module)
        return module
    except ImportError:
        return "none"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tagger", help="a tagger directory (default: train one on EWT)")
    parser.add_argument("--seconds", type=float, default=30, help="per load level")
    parser.add_argument("--json", help="write the figures here too")
    parser.add_argument("--clients", default="1,8,32",
                        help="client counts sending documents, comma-separated ('' for none)")
    parser.add_argument("--sentence-clients", type=int, default=8,
                        help="clients sending single sentences (0: skip)")
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="serve-load-")
    model = args.tagger or os.path.join(work, "tagger")
    if not args.tagger:
        print("training a tagger on EWT for one epoch ...", file=sys.stderr)
        train_tagger(model)
    dev = os.path.join(EWT, "en_ewt-ud-dev.conllu")
    docs = documents(dev)
    words = sum(n for _, n in docs)
    figures = {"machine": f"{platform.node()}, {os.cpu_count()} cores", "model": model,
               "documents": len(docs), "dev_words": words,
               "offline": offline_words_per_second(model, dev, words, work), "load": [],
               "server": {"event_loop": _installed("uvloop"), "http": _installed("httptools")}}
    print(f"offline dynlp tag: {figures['offline']}", file=sys.stderr)
    server, port = start_server(model, os.path.join(work, "serve.log"))
    name = os.path.basename(os.path.normpath(model))
    try:
        doc_bodies = cycle_bodies(docs, lambda doc: {"conllu": doc})
        asyncio.run(load(port, f"/models/{name}/tag", doc_bodies, 4, 3))  # warm up
        batching(port)
        for clients in [int(c) for c in args.clients.split(",") if c]:
            row = asyncio.run(load(port, f"/models/{name}/tag", doc_bodies, clients,
                                   args.seconds))
            row["request"] = "document"
            row.update(batching(port))
            figures["load"].append(row)
            print(row, file=sys.stderr)
        if args.sentence_clients:
            short = sentences_of_about(dev, 18, 22)
            row = asyncio.run(load(port, f"/models/{name}/tag",
                                   cycle_bodies(short, lambda text: {"text": text}),
                                   args.sentence_clients, args.seconds))
            row["request"] = f"sentence of 18-22 words ({len(short)} of them)"
            row.update(batching(port))
            figures["load"].append(row)
            print(row, file=sys.stderr)
    finally:
        server.terminate()
        figures["server_exit"] = server.wait(timeout=60)
    documents_rows = [r for r in figures["load"] if r["request"] == "document"]
    if documents_rows:
        most = max(documents_rows, key=lambda r: r["clients"])
        figures["served_over_offline"] = round(most["words_per_s"]
                                               / figures["offline"]["words_per_s"], 3)
    print(json.dumps(figures))
    if args.json:
        with open(args.json, "w") as out:
            json.dump(figures, out, indent=1)


if __name__ == "__main__":
    main()
