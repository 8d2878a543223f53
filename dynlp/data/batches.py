"""Minibatches for language models: padded sentence batches and truncated-BPTT stream segments.

Batching across sentences is DyNet's biggest speed lever: one `lookup_batch` and one matrix
product serve the whole batch at each time step.  Arrays are time-major, shape (T, B), so row
t holds the t-th token of every sequence in the batch.
"""
from dataclasses import dataclass, replace

import numpy as np

from dynlp.errors import DataError


@dataclass
class Batch:
    inputs: np.ndarray  # (T, B) ids fed to the network
    targets: np.ndarray  # (T, B) ids it should predict at each position
    mask: np.ndarray  # (T, B) 1.0 where a target is real, 0.0 on padding
    carry: bool = False  # continue from the previous batch's final state (truncated BPTT)
    continued: bool = False  # the next batch continues from this one's final state

    @property
    def num_sequences(self):
        return self.inputs.shape[1]

    @property
    def num_tokens(self):
        return int(self.mask.sum())

    def columns(self, lo, hi):
        """The same segment of sequences (streams) lo..hi-1 only."""
        return replace(self, inputs=self.inputs[:, lo:hi], targets=self.targets[:, lo:hi],
                       mask=self.mask[:, lo:hi])

    def restarted(self):
        """The same batch, read from a zero state instead of the previous batch's."""
        return replace(self, carry=False)


def sentence_batch(sentences, bos, eos, pad):
    """Pad id sequences into one batch: input `<s> w1..wn`, target `w1..wn </s>`."""
    length = max(len(s) for s in sentences) + 1
    inputs = np.full((length, len(sentences)), pad, dtype=np.int64)
    targets = np.full_like(inputs, pad)
    mask = np.zeros(inputs.shape, dtype=np.float32)
    for column, sentence in enumerate(sentences):
        n = len(sentence) + 1
        inputs[:n, column] = [bos] + sentence
        targets[:n, column] = sentence + [eos]
        mask[:n, column] = 1.0
    return Batch(inputs, targets, mask)


def time_pieces(batch, steps):
    """`batch` cut along time into pieces of at most `steps` positions, each after the first
    continuing from the state where the one before it ends (as truncated BPTT's segments do):
    the same scores as the whole batch, in graphs of a bounded size."""
    if len(batch.inputs) <= steps:
        return [batch]
    length = len(batch.inputs)
    return [Batch(batch.inputs[t:t + steps], batch.targets[t:t + steps], batch.mask[t:t + steps],
                  carry=t > 0, continued=t + steps < length)
            for t in range(0, length, steps)]


def bucketed(items, batch_size, length, rng=None, max_words=0):
    """Split `items` into batches of similar length; with `rng`, shuffle within and across buckets.

    Sorting by length keeps padding small; the random tie-break and batch order make every
    epoch see different batches.  With `max_words`, a batch also holds at most that many padded
    positions (items x longest item), so the batches of the longest sentences are smaller and
    the graph a batch builds (DyNet's memory) has a bound; an item longer than `max_words` is
    a batch of its own.
    """
    noise = rng.random(len(items)) if rng is not None else np.zeros(len(items))
    order = sorted(range(len(items)), key=lambda i: (length(items[i]), noise[i]))
    chunks, chunk = [], []
    for i in order:  # ascending lengths: the item being added is the batch's longest
        if chunk and (len(chunk) == batch_size
                      or max_words and (len(chunk) + 1) * length(items[i]) > max_words):
            chunks.append(chunk)
            chunk = []
        chunk.append(i)
    chunks += [chunk] if chunk else []
    if rng is not None:
        rng.shuffle(chunks)
    return [[items[i] for i in chunk] for chunk in chunks]


def sentence_batches(sentences, batch_size, bos, eos, pad, rng=None, max_words=0):
    """Length-bucketed LM batches over id sequences (each read with `</s>`: one more step)."""
    return [sentence_batch(chunk, bos, eos, pad)
            for chunk in bucketed(sentences, batch_size, lambda s: len(s) + 1, rng, max_words)]


def stream_batches(ids, batch_size, bptt):
    """Cut one long id sequence into `batch_size` parallel streams, read `bptt` steps at a time.

    As in Zaremba et al. (2014): stream b is the b-th slice of the text, and each segment
    continues where the previous one stopped, so the recurrent state is carried across
    segments while gradients are truncated at segment borders.
    """
    steps = (len(ids) - 1) // batch_size
    if steps < 1:
        raise DataError(f"the text has {len(ids)} tokens, too few for {batch_size} streams")
    data = np.asarray(ids[:steps * batch_size + 1], dtype=np.int64)
    inputs = data[:-1][:steps * batch_size].reshape(batch_size, steps).T
    targets = data[1:][:steps * batch_size].reshape(batch_size, steps).T
    return [Batch(inputs[t:t + bptt], targets[t:t + bptt],
                  np.ones(inputs[t:t + bptt].shape, dtype=np.float32), carry=t > 0)
            for t in range(0, steps, bptt)]


def flatten_stream(sentences, eos):
    """Join sentences into one stream with `</s>` before each one, as the stream models read it."""
    ids = [eos]
    for sentence in sentences:
        ids.extend(sentence)
        ids.append(eos)
    return ids
