from dynlp.data.vocab import Vocab


def test_specials_come_first_and_rare_tokens_are_cut():
    vocab = Vocab.build([["b", "a", "a"], ["c", "a", "b"]], min_count=2)
    assert vocab.itos[:4] == ["<pad>", "<unk>", "<s>", "</s>"]
    assert vocab.itos[4:] == ["a", "b"]  # most frequent first; "c" seen once is dropped
    assert vocab.encode(["a", "c"]) == [4, vocab.unk]


def test_max_size_keeps_the_most_frequent():
    vocab = Vocab.build([list("aaabbc")], max_size=2)
    assert vocab.itos[4:] == ["a", "b"] and vocab.count("a") == 3


def test_round_trip_through_dict():
    vocab = Vocab.build([["x", "y", "y", "<unk>"]])
    again = Vocab.from_dict(vocab.to_dict())
    assert again == vocab and again.decode(again.encode(["y", "x"])) == ["y", "x"]
    assert len(again) == 6  # "<unk>" in the text maps to the reserved id, not a new entry
