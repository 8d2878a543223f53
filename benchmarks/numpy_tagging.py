"""Why tagging runs in numpy, and on one BLAS thread (dynlp/models/tagger/inference.py).

    python benchmarks/numpy_tagging.py [--sentences 600] [--busy]

1. GFLOP/s of the LSTM's products on speed.py's tagger shapes (4H = 1024 rows, 64 columns):
   DyNet's `affine_transform` (one step of the graph's LSTM input and recurrent products)
   against numpy's `@`, both on one thread.
2. speed.py's one-network tagger (TAGGER, untrained: speed does not depend on the weights)
   tagging EWT dev sentences with `predict_many`, in the graph and in numpy, in turn.
3. With --busy, the same numpy tagging while one busy process per core runs (as `dynlp tag`'s
   workers fill the cores), with numpy's BLAS on one thread and on its default threads.
One JSON line on stdout.  Data from $DYNLP_DATA (default ../shared/data).
"""
import argparse
import contextlib
import json
import multiprocessing
import os
import sys
import time

import numpy as np


import speed  # noqa: E402
from common import commit  # noqa: E402
from dynlp.backend import INFERENCE_MEM, BackendConfig, configure, dynet  # noqa: E402
import dynlp.models.tagger.network as network  # noqa: E402
from dynlp.models.tagger.inference import one_blas_thread  # noqa: E402

ROWS, INPUTS, HIDDEN, COLUMNS, REPEATS = 1024, 328, 256, 64, 200


def product_gflops():
    """{framework: GFLOP/s} of W_x x + W_h h at one LSTM step's shapes, one thread each."""
    rng = np.random.default_rng(0)
    W_x, x = rng.random((ROWS, INPUTS), np.float32), rng.random((INPUTS, COLUMNS), np.float32)
    W_h, h = rng.random((ROWS, HIDDEN), np.float32), rng.random((HIDDEN, COLUMNS), np.float32)
    flops = REPEATS * 2 * ROWS * COLUMNS * (INPUTS + HIDDEN)
    with one_blas_thread():
        began = time.time()
        for _ in range(REPEATS):
            W_x @ x + W_h @ h
        in_numpy = flops / (time.time() - began) / 1e9
    dy = dynet()
    dy.renew_cg()
    b = dy.inputTensor(np.zeros(ROWS, np.float32))
    Wx, Wh = dy.inputTensor(W_x), dy.inputTensor(W_h)
    xs, hs = dy.inputTensor(x), dy.inputTensor(h)
    steps = [dy.affine_transform([b, Wx, xs, Wh, hs]) for _ in range(REPEATS)]
    began = time.time()
    dy.esum(steps).forward()
    in_dynet = flops / (time.time() - began) / 1e9
    return {"numpy": round(in_numpy, 1), "dynet": round(in_dynet, 1)}


def tagging_words_per_second(model, sentences, in_numpy):
    """words/s of predict_many, in numpy or (patched off) in the graph."""
    real = network.numpy_tagging
    network.numpy_tagging = real if in_numpy else (lambda: False)
    try:
        began = time.time()
        model.predict_many(sentences)
        return round(sum(map(len, sentences)) / (time.time() - began))
    finally:
        network.numpy_tagging = real


def busy():
    while True:
        pass


def under_load(model, sentences):
    """Numpy tagging's words/s with every core busy: BLAS on one thread, then on its own."""
    spinners = [multiprocessing.Process(target=busy, daemon=True)
                for _ in range(os.cpu_count() or 1)]
    for process in spinners:
        process.start()
    try:
        one = tagging_words_per_second(model, sentences, True)  # predict_many: one thread
        network.one_blas_thread = contextlib.nullcontext  # BLAS on its default threads
        default = tagging_words_per_second(model, sentences, True)
    finally:
        network.one_blas_thread = one_blas_thread
        for process in spinners:
            process.terminate()
    return {"one_blas_thread": one, "default_blas_threads": default}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=600)
    parser.add_argument("--busy", action="store_true", help="also tag with every core busy")
    args = parser.parse_args()
    configure(BackendConfig(seed=1, mem=INFERENCE_MEM))
    pairs, test = speed.tagger_data(False)
    model = speed.dynlp_tagger(speed.TAGGER, pairs)
    sentences = test[:args.sentences]
    result = {"products_gflops": product_gflops(), "sentences": len(sentences),
              "words": sum(map(len, sentences))}
    for label, in_numpy in (("graph", False), ("numpy", True)) * 2:  # in turn, twice
        result.setdefault(f"{label}_words_per_second", []).append(
            tagging_words_per_second(model, sentences, in_numpy))
    if args.busy:
        result["busy"] = under_load(model, sentences)
    result.update(commit=commit(), date=time.strftime("%F %H:%M"), load=os.getloadavg()[0],
                  command=" ".join(["python"] + sys.argv))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
