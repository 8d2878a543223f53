"""Drawing the next token: temperature, top-k, and the tokens a sample never holds; the checks
of the sampling settings, shared by every language model, the command line and the server."""
import numpy as np

from dynlp.errors import ConfigError


def choose(logits, vocab, temperature, top_k, rng):
    """Draw a token id from `logits` (log-probabilities up to a constant) at `temperature`,
    among the `top_k` likeliest (None: all), never `<unk>`, `<pad>` or `<s>`."""
    logits = logits.astype(np.float64) / temperature
    logits[[vocab.pad, vocab.unk, vocab.bos]] = -np.inf
    if top_k and top_k < len(logits):
        cutoff = np.partition(logits, -top_k)[-top_k]
        logits[logits < cutoff] = -np.inf
    probs = np.exp(logits - logits.max())
    return int(rng.choice(len(probs), p=probs / probs.sum()))


def flag(setting):
    """How the command line spells a setting: `top_k` is `--top-k`."""
    return "--" + setting.replace("_", "-")


def check_sampling(temperature, top_k, max_len, name=flag, error=ConfigError):
    """One-line `error`s for settings no sample can be drawn with; `name(setting)` says how the
    caller spells each (a flag; the server passes its request fields)."""
    if not temperature > 0:
        raise error(f"{name('temperature')} must be above 0 (got {temperature})")
    if top_k is not None and top_k < 1:
        raise error(f"{name('top_k')} must be at least 1 (got {top_k}); leave it out for no limit")
    if max_len < 1:
        raise error(f"{name('max_len')} must be at least 1 (got {max_len})")
