"""Time and memory of dynlp's count-based n-gram models, and of nltk.lm for comparison.

    python benchmarks/ngram.py                 # PTB 5-gram (Kneser-Ney), tiny-shakespeare order 10
    python benchmarks/ngram.py --nltk 5000     # also nltk.lm's KneserNeyInterpolated(5), trained on
                                               # the first 5,000 PTB sentences, scoring PTB test

Each case runs in a fresh process that reports its own peak resident memory.  A dynlp case
trains on the training text, saves the model directory (ARPA file), loads it back and scores the
test text with the loaded model, each step timed: what `dynlp train-lm --ngram` and `dynlp
score` do.  tiny-shakespeare trains on the first 90% of its characters and is tested on the
last 10% (nanoGPT's split; recipes/lm_table.py holds out a dev set from the 90% as well).  The nltk case scores test words until --nltk-seconds are up and reports words/s.
Prints one JSON line per case.  Data: $DYNLP_DATA (default ../shared/data).
"""
import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time



def ptb(part):
    from dynlp.data.text import data_dir, read_sentences

    return read_sentences(os.path.join(data_dir(), "ptb", f"ptb.{part}.txt"), "word", True, False)


def shakespeare():
    """(train, test) character lines: the first 90% of the text, the last 10%."""
    from dynlp.data.text import data_dir, tokenize

    text = open(os.path.join(data_dir(), "tinyshakespeare", "input.txt"), encoding="utf-8").read()
    cut = int(len(text) * 0.9)
    return ([tokenize(line, "char") for line in part.splitlines() if line]
            for part in (text[:cut], text[cut:]))


def dynlp_case(name):
    from dynlp.metrics import perplexity
    from dynlp.models.ngram.model import NgramConfig, NgramLanguageModel

    if name == "ptb-5":
        train, test, config = ptb("train"), ptb("test"), NgramConfig(order=5, tokenized=True)
    else:
        train, test = shakespeare()
        smoothing = "none" if name.endswith("none") else "kneser-ney"
        config = NgramConfig(order=10, level="char", smoothing=smoothing)
    times = {}
    began = time.time()
    model = NgramLanguageModel.train(train, config)
    times["train_s"] = time.time() - began
    with tempfile.TemporaryDirectory() as directory:
        began = time.time()
        model.save(os.path.join(directory, "lm"))
        times["save_s"] = time.time() - began
        arpa = [f for f in os.listdir(os.path.join(directory, "lm")) if f.endswith(".arpa")][0]
        size = os.path.getsize(os.path.join(directory, "lm", arpa))
        del model
        began = time.time()
        model = NgramLanguageModel.load(os.path.join(directory, "lm"))
        times["load_s"] = time.time() - began
    began = time.time()
    scored = model.score_batch(test)
    times["score_s"] = time.time() - began
    tokens = sum(len(per_token) for _, per_token in scored)
    nll = -sum(total for total, _ in scored)
    return {"case": name, **{k: round(v, 1) for k, v in times.items()},
            "ngrams": model.table_sizes(), "arpa_mb": round(size / 2**20, 1),
            "test_tokens": tokens, "test_ppl": perplexity(nll, tokens),
            "test_bits_per_token": nll / tokens / math.log(2) if math.isfinite(nll) else math.inf}


def nltk_case(sentences, seconds):
    from nltk.lm import KneserNeyInterpolated
    from nltk.lm.preprocessing import pad_both_ends, padded_everygram_pipeline
    from nltk.util import ngrams

    began = time.time()
    grams, vocabulary = padded_everygram_pipeline(5, ptb("train")[:sentences])
    model = KneserNeyInterpolated(5)
    model.fit(grams, vocabulary)
    fit = time.time() - began
    words, began = 0, time.time()
    for sentence in ptb("test"):
        for gram in ngrams(list(pad_both_ends(sentence, 5)), 5):
            model.logscore(gram[-1], gram[:-1])
            words += 1
        if time.time() - began > seconds:
            break
    speed = words / (time.time() - began)
    return {"case": f"nltk-kn5-{sentences}", "train_s": round(fit, 1), "scored_words": words,
            "words_per_s": round(speed, 1),
            "hours_for_ptb_test": round(82430 / speed / 3600, 2)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default="ptb-5,shakespeare-10-none,shakespeare-10-kn")
    parser.add_argument("--nltk", type=int, default=0, metavar="SENTENCES",
                        help="also time nltk.lm trained on this many PTB sentences")
    parser.add_argument("--nltk-seconds", type=float, default=60.0)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        result = (nltk_case(args.nltk, args.nltk_seconds) if args.child == "nltk"
                  else dynlp_case(args.child))
        result["peak_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        print(json.dumps(result))
        return
    cases = args.cases.split(",") + (["nltk"] if args.nltk else [])
    for case in cases:
        command = [sys.executable, __file__, "--child", case, "--nltk", str(args.nltk),
                   "--nltk-seconds", str(args.nltk_seconds)]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode:
            raise SystemExit(f"{case} failed:\n{done.stderr[-2000:]}")
        print(done.stdout.strip().splitlines()[-1], flush=True)


if __name__ == "__main__":
    main()
