"""Length-bucketed batches, and the padded-word bound that keeps long sentences' batches small."""
import numpy as np
import pytest

from dynlp.data.batches import bucketed, sentence_batches
from dynlp.models.tagger.network import tag_batches

LENGTHS = [3, 250, 7, 40, 5, 120, 9, 60, 251, 2, 33, 90, 8, 8, 70, 12]


@pytest.mark.parametrize("max_words", [0, 100, 300])
def test_every_item_lands_in_one_batch(max_words):
    items = list(range(len(LENGTHS)))
    batches = bucketed(items, 4, lambda i: LENGTHS[i], np.random.default_rng(0), max_words)
    assert sorted(i for batch in batches for i in batch) == items
    assert all(1 <= len(batch) <= 4 for batch in batches)


@pytest.mark.parametrize("max_words", [100, 300])
def test_a_batch_holds_at_most_max_words_padded_words_or_one_longer_sentence(max_words):
    batches = bucketed(list(range(len(LENGTHS))), 4, lambda i: LENGTHS[i], None, max_words)
    for batch in batches:
        padded = len(batch) * max(LENGTHS[i] for i in batch)
        assert padded <= max_words or len(batch) == 1
    # The bound binds: the long sentences come in smaller batches than the short ones.
    assert any(len(batch) < 4 for batch in batches[:-1])


def test_without_a_bound_batches_are_full_in_length_order():
    batches = bucketed(list(range(len(LENGTHS))), 4, lambda i: LENGTHS[i])
    assert [len(b) for b in batches] == [4, 4, 4, 4]
    assert [LENGTHS[i] for i in batches[0]] == [2, 3, 5, 7]


def test_tag_and_lm_batches_obey_the_bound():
    pairs = [(["w"] * n, {"upos": ["X"] * n}) for n in LENGTHS]
    for batch in tag_batches(pairs, 4, np.random.default_rng(1), max_words=150):
        assert batch.mask.size <= 150 or batch.mask.shape[1] == 1
    # An LM reads each sentence with </s>: n + 1 steps, the batch's time dimension.
    ids = [[5] * n for n in LENGTHS]
    for batch in sentence_batches(ids, 4, 1, 2, 0, np.random.default_rng(1), max_words=150):
        assert batch.inputs.size <= 150 or batch.num_sequences == 1
