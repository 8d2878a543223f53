"""Count-based n-gram models (dynlp/models/ngram/model.py, dynlp/models/ngram/arpa.py): Kneser-Ney against a plain
reference, probabilities that sum to 1, ARPA files another reader agrees with, sampling, the
unsmoothed character model, and the commands."""
import json
import math
import os
from collections import Counter

import numpy as np
import pytest

from conftest import TINY_TEXT
from dynlp.cli import main
from dynlp.errors import ModelDirError
from dynlp.models.ngram.model import NgramConfig, NgramLanguageModel



def zipf_sentences(count=400, seed=7):
    """Sentences over 40 words with Zipf-like frequencies: every count of counts n1..n4 that
    the discounts need is there at every order (and a few <unk>s)."""
    rng = np.random.default_rng(seed)
    words = [f"w{i}" for i in range(39)] + ["<unk>"]
    weights = 1.0 / np.arange(1, 41)
    return [[str(w) for w in rng.choice(words, size=rng.integers(2, 9), p=weights / weights.sum())]
            for _ in range(count)]


SENTENCES = zipf_sentences()


# ---- a plain reference: the formulas of ngram.py's docstring, by definition -------------------------
def reference_kneser_ney(sentences, n):
    counts = {k: Counter() for k in range(1, n + 1)}
    for sentence in sentences:
        tokens = ["<s>"] + sentence + ["</s>"]
        for t in range(1, len(tokens)):
            for k in range(1, n + 1):
                if t - k + 1 >= 0:
                    counts[k][tuple(tokens[t - k + 1:t + 1])] += 1
    adjusted = {n: dict(counts[n])}
    for k in range(n - 1, 0, -1):
        preceded = Counter(gram[1:] for gram in counts[k + 1])
        adjusted[k] = {g: (c if g[0] == "<s>" else preceded[g]) for g, c in counts[k].items()}
    discounts = {}
    for k, a in adjusted.items():
        n1, n2, n3, n4 = (sum(1 for c in a.values() if c == i) for i in (1, 2, 3, 4))
        y = n1 / (n1 + 2 * n2) if n1 + 2 * n2 else 0.5
        raw = [1 - 2 * y * n2 / n1 if n1 else 0, 2 - 3 * y * n3 / n2 if n2 else 0,
               3 - 4 * y * n4 / n3 if n3 else 0]
        # where (3) cannot say, or says something outside (0, i]: half of i
        discounts[k] = [d if 0 < d <= i else i / 2 for i, d in zip((1, 2, 3), raw)]
    vocabulary = {w for s in sentences for w in s} | {"</s>", "<unk>"}

    def discount(k, count):
        return 0.0 if count == 0 else discounts[k][min(count, 3) - 1]

    def p(word, context):
        k = len(context) + 1
        lower = 1 / len(vocabulary) if k == 1 else p(word, context[1:])
        seen = {g: c for g, c in adjusted[k].items() if g[:-1] == context}
        total = sum(seen.values())
        if total == 0:
            return lower
        gamma = sum(discount(k, c) for c in seen.values()) / total
        count = seen.get(context + (word,), 0)
        return max(count - discount(k, count), 0) / total + gamma * lower

    return p, sorted(vocabulary)


@pytest.fixture(scope="module")
def trigram():
    return NgramLanguageModel.train(SENTENCES, NgramConfig(order=3))


CONTEXTS = [("<s>",), ("<s>", "w0"), ("w0", "w1"), ("w3", "w0"), ("zebra", "w2"),
            ("zebra", "zebra"), ("w30", "w38"), ("<unk>", "w1"), ("<s>", "<s>", "w0")]


@pytest.mark.parametrize("order", [2, 3, 4])
def test_kneser_ney_equals_the_plain_reference(order):
    model = NgramLanguageModel.train(SENTENCES, NgramConfig(order=order))
    reference, vocabulary = reference_kneser_ney(SENTENCES, order)
    for context in CONTEXTS:
        context = context[len(context) - (order - 1):] if order > 1 else ()
        ids = model.vocab.encode(list(context))
        fast = 10.0 ** model.next_log10_probs(ids)
        for word in vocabulary:
            expected = reference(word, tuple(model.vocab.decode(ids)))
            assert fast[model.vocab.id(word)] == pytest.approx(expected, rel=1e-9), (context, word)


def test_probabilities_sum_to_one_over_the_vocabulary(trigram):
    vocab = trigram.vocab
    for context in CONTEXTS:
        p = 10.0 ** trigram.next_log10_probs(vocab.encode(list(context)))
        p[[vocab.pad, vocab.bos]] = 0.0
        assert p.sum() == pytest.approx(1.0, abs=1e-9), context


def test_scoring_a_sentence_reads_the_same_probabilities(trigram):
    vocab = trigram.vocab
    words = "w0 w1 w2 w0 zebra w5".split()
    total, per_token = trigram.score(words)
    context = [vocab.bos]
    for word, log_p in zip(words + ["</s>"], per_token):
        expected = trigram.next_log10_probs(context[-2:])[vocab.id(word)] * math.log(10)
        assert log_p == pytest.approx(expected, abs=1e-9)
        context.append(vocab.id(word))
    assert total == pytest.approx(sum(per_token)) and len(per_token) == len(words) + 1


# ---- ARPA, read by an independent reader ------------------------------------------------------------
def read_arpa_independently(path):
    """A small ARPA reader written from the format's description, sharing no code with dynlp."""
    probs, backoffs, section = {}, {}, None
    for line in open(path, encoding="utf-8"):
        line = line.rstrip("\n")
        if line.startswith("\\") and line.endswith("-grams:"):
            section = int(line[1:line.index("-")])
        elif line and section and not line.startswith("\\"):
            fields = line.split("\t")
            gram = tuple(fields[1].split(" "))
            assert len(gram) == section
            probs[gram] = float(fields[0])
            if len(fields) == 3:
                backoffs[gram] = float(fields[2])

    def log10_p(word, context):
        if context + (word,) in probs:
            return probs[context + (word,)]
        return backoffs.get(context, 0.0) + log10_p(word, context[1:])

    return log10_p


def test_an_arpa_file_gives_another_reader_the_same_log_probabilities(trigram, tmp_path):
    trigram.save(str(tmp_path / "lm"))
    config = json.loads((tmp_path / "lm" / "config.json").read_text())
    log10_p = read_arpa_independently(str(tmp_path / "lm" / config["files"]["params"]))
    loaded = NgramLanguageModel.load(str(tmp_path / "lm"))
    for line in ["w0 w1 w2 w3", "w2 zebra w1 <unk>", "w38 w38 w38"]:
        words = line.split()
        _, per_token = loaded.score(words)
        padded = ["<s>"] + [w if w in loaded.vocab else "<unk>" for w in words] + ["</s>"]
        for t, log_p in enumerate(per_token, 1):
            context = tuple(padded[max(0, t - 2):t])
            assert log_p == pytest.approx(log10_p(padded[t], context) * math.log(10), abs=1e-9)
        # and the loaded model scores as the trained one did (7 significant digits in the file)
        assert per_token == pytest.approx(trigram.score(words)[1], abs=1e-5)


def test_a_damaged_arpa_file_is_refused_in_one_line(trigram, tmp_path):
    from dynlp.store.checkpoint import _sha256

    directory = tmp_path / "lm"
    trigram.save(str(directory))
    config = json.loads((directory / "config.json").read_text())
    arpa = directory / config["files"]["params"]
    text = arpa.read_text(encoding="utf-8")
    for altered, expected in [(text.replace("\tw1\t", "\tcougar\t", 1), "not in the model's"),
                              (text.replace("\n-", "\n+", 1), "not a log10 value"),
                              (text.replace("ngram 3=", "ngram 3=1", 1), "expected"),
                              (text.replace("\\end\\", ""), "ends too early")]:
        arpa.write_text(altered, encoding="utf-8")
        config["sha256"]["params"] = _sha256(str(arpa))  # a file that was wrong when hashed
        (directory / "config.json").write_text(json.dumps(config))
        with pytest.raises(ModelDirError, match=expected) as error:
            NgramLanguageModel.load(str(directory))
        assert "\n" not in str(error.value) and str(arpa) in str(error.value)


# ---- sampling and the unsmoothed character model ----------------------------------------------------
def test_sampling_never_emits_unk_and_stops_at_the_end_of_a_sentence(trigram):
    rng = np.random.default_rng(0)
    samples = [trigram.sample(rng=rng, max_len=50) for _ in range(40)]
    assert not any({"<unk>", "<s>", "<pad>", "</s>"} & set(s) for s in samples)
    assert sum(len(s) < 50 for s in samples) >= 35
    # greedy: the likeliest token after the prefix, every time
    vocab = trigram.vocab
    log_p = trigram.next_log10_probs(vocab.encode(["w0", "w1"]))
    log_p[[vocab.pad, vocab.unk, vocab.bos]] = -np.inf
    best = vocab.itos[int(np.argmax(log_p))]
    assert all(trigram.sample(prefix=["w0", "w1"], top_k=1, max_len=1, rng=rng, stop_at_eos=False)
               == [best] for _ in range(5))


def test_the_unsmoothed_character_model_backs_off_and_gives_zero_to_the_unseen():
    lines = [list(line) for line in TINY_TEXT]
    model = NgramLanguageModel.train(lines, NgramConfig(order=4, level="char", smoothing="none"))
    total, per_token = model.score(list("the cat"))
    assert math.isfinite(total)
    # "q" was never seen at all, "s" never after "he ": both get probability 0
    assert model.score(list("the q"))[1][-2] == -math.inf
    assert model.score(list("the s"))[1][-2] == -math.inf
    # "oga" was never seen, nor "ga": p(t | oga) is the maximum likelihood after "a"
    vocab, after_a = model.vocab, Counter(line[i + 1] for line in TINY_TEXT
                                          for i in range(len(line) - 1) if line[i] == "a")
    log_p = model.next_log10_probs(vocab.encode(list("oga")))[vocab.id("t")]
    assert 10 ** log_p == pytest.approx(after_a["t"] / sum(after_a.values()))
    rng = np.random.default_rng(1)
    samples = ["".join(model.sample(rng=rng, max_len=40)) for _ in range(10)]
    assert all(set(s) <= set("".join(TINY_TEXT)) for s in samples)
    # Goldberg's model repeats its training text: every 4 characters of a sample were seen.
    seen = {line[i:i + 4] for line in TINY_TEXT for i in range(len(line) - 3)}
    assert all(s[i:i + 4] in seen for s in samples for i in range(len(s) - 3))


@pytest.mark.parametrize("smoothing", ["kneser-ney", "none"])
@pytest.mark.parametrize("order", [1, 3, 6])
def test_any_order_saves_and_loads_with_the_same_scores(tmp_path, smoothing, order):
    # Characters with a tab and a no-break space in them; at order 6 the shortest lines have
    # no 6-gram, and one line is empty.
    lines = [list(line) for line in ["ab\tc d", "a\u00a0b", "", "abc", "b"] * 3]
    model = NgramLanguageModel.train(lines, NgramConfig(order=order, level="char",
                                                        smoothing=smoothing))
    model.save(str(tmp_path / "lm"))
    loaded = NgramLanguageModel.load(str(tmp_path / "lm"))
    assert loaded.table_sizes() == model.table_sizes()
    for line in ["ab\tc d", "a\u00a0b c", "zz", ""]:
        expected, got = model.score(list(line))[1], loaded.score(list(line))[1]
        assert got == pytest.approx(expected, abs=1e-7), line
    if smoothing == "kneser-ney":
        p = 10.0 ** loaded.next_log10_probs(loaded.vocab.encode(list("ab")))
        p[[loaded.vocab.pad, loaded.vocab.bos]] = 0
        assert p.sum() == pytest.approx(1.0, abs=1e-6)


# ---- the commands -----------------------------------------------------------------------------------
def test_train_score_and_sample_from_the_command_line(tmp_path, capsys):
    corpus = tmp_path / "train.txt"
    corpus.write_text("\n".join(TINY_TEXT * 4) + "\n", encoding="utf-8")
    out = str(tmp_path / "lm")
    assert main(["train-lm", str(corpus), "--word", "--ngram", "3", "-o", out, "--quiet"]) == 0
    metrics = json.loads((tmp_path / "lm" / "metrics.jsonl").read_text())
    assert metrics["dev_ppl"] > 1 and len(metrics["ngrams"]) == 3
    assert main(["score", "-m", out, str(corpus), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    model = NgramLanguageModel.load(out)
    expected = sum(model.score(line.split())[0] for line in TINY_TEXT * 4)
    assert summary["log_prob"] == pytest.approx(expected) and summary["perplexity"] > 1
    assert main(["sample", "-m", out, "-n", "5", "--seed", "3"]) == 0
    samples = capsys.readouterr().out.splitlines()
    assert len(samples) == 5 and not any("<unk>" in s for s in samples)


@pytest.mark.parametrize("flags, message", [(["--ngram", "25"], "--ngram must be between"),
                                            (["--ngram", "3", "--stream"], "--stream"),
                                            (["--ngram", "3", "--smoothing", "good"], "invalid")])
def test_bad_ngram_flags_are_one_line(tmp_path, capsys, flags, message):
    corpus = tmp_path / "train.txt"
    corpus.write_text("\n".join(TINY_TEXT) + "\n", encoding="utf-8")
    try:  # a flag argparse refuses exits; one dynlp checks returns the status
        status = main(["train-lm", str(corpus), "--word", "-o", str(tmp_path / "m")] + flags)
    except SystemExit as stop:
        status = stop.code
    assert status == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not os.path.exists(tmp_path / "m")
