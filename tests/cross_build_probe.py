"""Run by tests/test_cross_build.py (two Pythons with different DyNet builds) and tests/test_gpu.py
(one build, on the GPU and on the CPU).

    python tests/cross_build_probe.py train DIR [--gpus 1]   train a tiny word LM, a stream word
                                                             LM, a char LM and a tagger into DIR
    python tests/cross_build_probe.py probe DIR [--gpus 1]   load them; print JSON: the DyNet
                                                             build, log-probabilities of a few
                                                             lines under each LM, tags
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLE = os.path.join(HERE, "..", "data", "sample.conllu")
LINES = ["the cat sat on the mat", "a dog saw the cat on a log", "the unseen zebra sat"]
LANGUAGE_MODELS = {"lm": ["--word"], "stream-lm": ["--word", "--stream", "--bptt", "5"],
                   "char-lm": ["--char"]}


def train(directory, device):
    from dynlp.cli import main

    os.makedirs(directory, exist_ok=True)
    text = os.path.join(directory, "text.txt")
    with open(text, "w", encoding="utf-8") as out:
        out.write("the cat sat on the mat\nthe dog sat on the log\na cat saw a dog\n" * 20)
    quick = ["--epochs", "2", "--hidden-dim", "16", "--emb-dim", "8", "--quiet"] + device
    for name, flags in LANGUAGE_MODELS.items():
        assert main(["train-lm", text, "-o", os.path.join(directory, name)] + flags + quick) == 0
    assert main(["train-tagger", SAMPLE, "-o", os.path.join(directory, "tagger")] + quick) == 0


def probe(directory, device):
    from dynlp import BiLSTMTagger, RNNLanguageModel
    from dynlp.backend import BackendConfig, configure, info

    assert configure(BackendConfig(gpus=int(device[1]) if device else 0))
    models = {name: RNNLanguageModel.load(os.path.join(directory, name))
              for name in LANGUAGE_MODELS if os.path.isdir(os.path.join(directory, name))}
    tagger = BiLSTMTagger.load(os.path.join(directory, "tagger"))
    from dynlp.data.text import tokenize

    def tokens(model, line):
        return tokenize(line, model.config.level, model.config.tokenized)

    print(json.dumps({
        "build": info()["module"],
        # A fact of this process, not an echo of the flag: CUDA's driver library is loaded
        # only once something ran on a GPU.
        "on_gpu": "libcuda.so" in open("/proc/self/maps", encoding="utf-8").read(),
        "log_probs": {name: [model.score(tokens(model, line))[1] for line in LINES]
                      for name, model in models.items()},
        "tags": [tagger.predict(line.split()) for line in LINES],
    }))


if __name__ == "__main__":
    {"train": train, "probe": probe}[sys.argv[1]](sys.argv[2], sys.argv[3:])
