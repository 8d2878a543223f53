"""Vocab: a two-way map between tokens and integer ids, with reserved special tokens.

Ids 0-3 are always `<pad>`, `<unk>`, `<s>`, `</s>`; real tokens follow, most frequent first,
so a max-size cut keeps the common ones.  Counts are kept (the tagger's word dropout uses them)
and saved with the vocab.
"""
from collections import Counter

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<s>", "</s>"
SPECIALS = (PAD, UNK, BOS, EOS)


class Vocab:
    pad, unk, bos, eos = range(4)  # the ids of the special tokens

    def __init__(self, tokens=(), counts=None):
        self.itos = list(SPECIALS) + [t for t in tokens if t not in SPECIALS]
        self.stoi = {token: i for i, token in enumerate(self.itos)}
        self.counts = dict(counts or {})

    @classmethod
    def build(cls, sentences, min_count=1, max_size=0):
        """Count tokens over `sentences` (lists of tokens); drop rare ones, keep the top `max_size`."""
        counts = Counter(token for sentence in sentences for token in sentence)
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))  # ties: stable by text
        kept = [token for token, n in ranked if n >= min_count and token not in SPECIALS]
        if max_size:
            kept = kept[:max_size]
        return cls(kept, {token: counts[token] for token in kept})

    def extended(self, sentences, min_count=1, max_size=0):
        """This vocabulary with the tokens of `sentences` seen `min_count` times or more that it
        lacks added after its own (each keeps its id; the most frequent first, while its tokens
        but the specials stay within `max_size` if given, as `build` counts), every token's
        counts summed: to carry a model on to
        new data."""
        seen = Counter(token for sentence in sentences for token in sentence)
        ranked = sorted(seen.items(), key=lambda kv: (-kv[1], kv[0]))
        added = [t for t, n in ranked if n >= min_count and t not in self.stoi
                 and t not in SPECIALS]
        if max_size:
            added = added[:max(0, max_size - len(self.itos) + len(SPECIALS))]
        counts = dict(self.counts)
        for token in list(self.itos[len(SPECIALS):]) + added:
            if token in seen:
                counts[token] = counts.get(token, 0) + seen[token]
        return Vocab(self.itos[len(SPECIALS):] + added, counts)

    def __len__(self):
        return len(self.itos)

    def __contains__(self, token):
        return token in self.stoi

    def id(self, token):
        return self.stoi.get(token, self.unk)

    def encode(self, tokens):
        return [self.stoi.get(token, self.unk) for token in tokens]

    def decode(self, ids):
        return [self.itos[i] for i in ids]

    def count(self, token):
        return self.counts.get(token, 0)

    def to_dict(self):
        return {"tokens": self.itos[len(SPECIALS):], "counts": self.counts}

    @classmethod
    def from_dict(cls, data):
        return cls(data["tokens"], data.get("counts"))

    def __eq__(self, other):
        return isinstance(other, Vocab) and self.itos == other.itos and self.counts == other.counts
