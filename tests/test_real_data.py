"""A word LM trained for one epoch on real PTB text beats the unigram model clearly."""
import math
from collections import Counter

from dynlp import LMConfig, TrainConfig
from dynlp.tasks import train_language_model
from dynlp.data.text import read_sentences
from conftest import shared_data


def unigram_perplexity(train, dev):
    """Add-one smoothed unigram perplexity of `dev`, counting </s> like the LM does."""
    counts = Counter(w for s in train for w in s + ["</s>"])
    total, types = sum(counts.values()), len(counts) + 1
    tokens = [w for s in dev for w in s + ["</s>"]]
    nll = -sum(math.log((counts[w] + 1) / (total + types)) for w in tokens)
    return math.exp(nll / len(tokens))


def test_one_epoch_on_ptb_beats_unigram(tmp_path):
    train = read_sentences(shared_data("ptb", "ptb.train.txt"), "word", tokenized=True)[:4000]
    dev = read_sentences(shared_data("ptb", "ptb.valid.txt"), "word", tokenized=True)[:400]
    config = LMConfig(level="word", tokenized=True, emb_dim=64, hidden_dim=128)
    _, state = train_language_model(train, dev, config, TrainConfig(epochs=1), str(tmp_path / "m"))
    lm, unigram = state.history[-1]["dev_ppl"], unigram_perplexity(train, dev)
    assert lm < 0.75 * unigram, f"LM perplexity {lm:.0f} vs unigram {unigram:.0f}"
