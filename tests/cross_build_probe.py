"""Run by tests/test_cross_build.py under two Pythons with different DyNet builds.

    python tests/cross_build_probe.py train DIR   train a tiny word LM and tagger into DIR
    python tests/cross_build_probe.py probe DIR   load them; print JSON: the DyNet build,
                                                  log-probabilities of a few lines, tags
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLE = os.path.join(HERE, "..", "data", "sample.conllu")
LINES = ["the cat sat on the mat", "a dog saw the cat on a log", "the unseen zebra sat"]


def train(directory):
    from dynlp.cli import main

    os.makedirs(directory, exist_ok=True)
    text = os.path.join(directory, "text.txt")
    with open(text, "w", encoding="utf-8") as out:
        out.write("the cat sat on the mat\nthe dog sat on the log\na cat saw a dog\n" * 20)
    quick = ["--epochs", "2", "--hidden-dim", "16", "--emb-dim", "8", "--quiet"]
    assert main(["train-lm", text, "--word", "-o", os.path.join(directory, "lm")] + quick) == 0
    assert main(["train-tagger", SAMPLE, "-o", os.path.join(directory, "tagger")] + quick) == 0


def probe(directory):
    from dynlp import BiLSTMTagger, RNNLanguageModel
    from dynlp.backend import info

    lm = RNNLanguageModel.load(os.path.join(directory, "lm"))
    tagger = BiLSTMTagger.load(os.path.join(directory, "tagger"))
    sentences = [line.split() for line in LINES]
    print(json.dumps({
        "build": info()["module"],
        "log_probs": [lm.score(words)[1] for words in sentences],
        "tags": [tagger.predict(words) for words in sentences],
    }))


if __name__ == "__main__":
    {"train": train, "probe": probe}[sys.argv[1]](sys.argv[2])
