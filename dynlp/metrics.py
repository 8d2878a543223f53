"""Evaluation figures: perplexity and bits per token from summed negative log-likelihoods (nats),
and tagging accuracy: per column, and UFeats and AllTags as the CoNLL 2018 shared task's
evaluation script (conll18_ud_eval.py) defines them.

Like that script, tagging accuracy compares the cells as strings over every word: a gold `_`
(UPOS or XPOS missing on that word) is right only where the prediction is `_` too, which a
dynlp tagger never writes, so such words count as wrong; how many there were is reported.
LEMMA is the exception, in that script as here: a word whose gold lemma is `_` counts as right
whatever lemma is predicted.

Calibration (Guo et al. 2017, section 2): the words are put in M = 15 bins of equal width by
the probability p_i the tagger gave the tag it chose; bin B_m has accuracy acc(B_m) (the share
of its words tagged right) and confidence conf(B_m) (the mean of its p_i), and

    ECE = sum_m |B_m| / n * |acc(B_m) - conf(B_m)|                   (expected calibration error)

0 for probabilities that mean what they say; the bins are what a reliability diagram draws."""
import math
from collections import Counter

NO_VALUE = "_"  # CoNLL-U's empty cell (data.treebank.NO_VALUE; the core imports nothing of data)

# The features that script compares for UFeats (its UNIVERSAL_FEATURES); others are ignored.
UNIVERSAL_FEATURES = {
    "PronType", "NumType", "Poss", "Reflex", "Foreign", "Abbr", "Gender", "Animacy", "Number",
    "Case", "Definite", "Degree", "VerbForm", "Mood", "Tense", "Aspect", "Voice", "Evident",
    "Polarity", "Person", "Polite"}


def perplexity(nll, tokens):
    """exp(mean negative log-likelihood per token)."""
    return math.exp(nll / tokens) if tokens else math.nan


def bits_per_token(nll, tokens):
    """Mean negative log-likelihood per token in bits (bits per char for a character model)."""
    return nll / tokens / math.log(2) if tokens else math.nan


def accuracy(correct, total):
    """correct / total, or None when there is nothing to count (JSON has no NaN)."""
    return correct / total if total else None


class TaggingScores:
    """Counts for tagging evaluation: accuracy overall and on out-of-vocabulary words,
    per-tag precision/recall/F1, and the most frequent confusions."""

    def __init__(self):
        self.correct = self.total = self.oov_correct = self.oov_total = 0
        self.gold, self.predicted, self.hits, self.confusions = (Counter() for _ in range(4))

    def add(self, gold_tags, predicted_tags, oov_flags):
        if not len(gold_tags) == len(predicted_tags) == len(oov_flags):
            raise ValueError("gold tags, predicted tags and OOV flags differ in length")
        for gold, guess, oov in zip(gold_tags, predicted_tags, oov_flags):
            right = gold == guess
            self.total += 1
            self.correct += right
            self.oov_total += oov
            self.oov_correct += right and oov
            self.gold[gold] += 1
            self.predicted[guess] += 1
            if right:
                self.hits[gold] += 1
            else:
                self.confusions[(gold, guess)] += 1

    def per_tag(self):
        """{tag: {"precision", "recall", "f1", "support"}} over gold and predicted tags."""
        table = {}
        for tag in sorted(set(self.gold) | set(self.predicted)):
            p = self.hits[tag] / self.predicted[tag] if self.predicted[tag] else 0.0
            r = self.hits[tag] / self.gold[tag] if self.gold[tag] else 0.0
            f1 = 2 * p * r / (p + r) if p + r else 0.0
            table[tag] = {"precision": p, "recall": r, "f1": f1, "support": self.gold[tag]}
        return table

    def summary(self, confusions=10):
        return {"tokens": self.total, "accuracy": accuracy(self.correct, self.total),
                "oov_tokens": self.oov_total,
                "oov_accuracy": accuracy(self.oov_correct, self.oov_total),
                "per_tag": self.per_tag(),
                "confusions": [{"gold": g, "predicted": p, "count": n}
                               for (g, p), n in self.confusions.most_common(confusions)]}


def universal_features(feats):
    """A FEATS cell reduced to its universal features, sorted: what UFeats compares."""
    return "|".join(sorted(f for f in feats.split("|") if f.split("=", 1)[0] in UNIVERSAL_FEATURES))


CALIBRATION_BINS = 15  # as Guo et al. 2017


class Calibration:
    """Confidence against accuracy in CALIBRATION_BINS bins of equal width (module docstring)."""

    def __init__(self, bins=CALIBRATION_BINS):
        self.count, self.confidence, self.correct = ([0] * bins, [0.0] * bins, [0] * bins)

    def add(self, confidences, right):
        """One probability and one right/wrong per word."""
        bins = len(self.count)
        for p, ok in zip(confidences, right):
            m = min(int(p * bins), bins - 1)  # p = 1 goes into the last bin
            self.count[m] += 1
            self.confidence[m] += p
            self.correct[m] += bool(ok)

    def summary(self):
        """{"ece", "words", "confidence" (the mean over the words), "bins": [{"lower", "upper",
        "count", "confidence", "accuracy"}]}."""
        n, bins = sum(self.count), len(self.count)
        rows = [{"lower": m / bins, "upper": (m + 1) / bins, "count": c,
                 "confidence": self.confidence[m] / c if c else None,
                 "accuracy": self.correct[m] / c if c else None}
                for m, c in enumerate(self.count)]
        ece = sum(r["count"] / n * abs(r["accuracy"] - r["confidence"])
                  for r in rows if r["count"]) if n else None
        return {"ece": ece, "words": n,
                "confidence": sum(self.confidence) / n if n else None, "bins": rows}


class TreebankScores:
    """Accuracy of each predicted column on all and on unseen words, plus, as in the CoNLL 2018
    evaluation, UFeats (universal features, as a set) and AllTags (UPOS, XPOS and UFeats all
    right; here: all of those the model predicts).  The first column also gets per-tag figures
    and confusions (`TaggingScores`)."""

    def __init__(self, columns):
        self.columns = list(columns)
        self.derived = ["ufeats"] * ("feats" in columns)
        if len({"upos", "xpos", "feats"} & set(columns)) > 1:
            self.derived.append("alltags")
        self.scores = {name: TaggingScores() for name in self.columns + self.derived}
        self.missing = Counter()  # {column: gold words whose cell is `_`}
        self.calibration = {}  # {column: Calibration}, once probabilities are given

    def add(self, gold, predicted, oov_flags, probabilities=None):
        """`gold` and `predicted`: {column: tags} of one sentence; `probabilities`, if given,
        {column: the probability of each predicted tag} (calibration)."""
        for column in self.columns:
            guesses = predicted[column]
            if column == "lemma":  # conll18_ud_eval.py: no gold lemma, nothing to get wrong
                guesses = [NO_VALUE if g == NO_VALUE else p for g, p in zip(gold[column], guesses)]
            self.scores[column].add(gold[column], guesses, oov_flags)
            self.missing[column] += gold[column].count(NO_VALUE)
            if probabilities is not None:
                self.calibration.setdefault(column, Calibration()).add(
                    probabilities[column], [g == p for g, p in zip(gold[column], guesses)])
        for name in self.derived:
            self.scores[name].add(self._derived(name, gold), self._derived(name, predicted),
                                  oov_flags)

    def _derived(self, name, tags):
        ufeats = [universal_features(f) for f in tags["feats"]] if "feats" in self.columns else []
        if name == "ufeats":
            return ufeats
        parts = [tags[c] for c in ("upos", "xpos") if c in self.columns] + [ufeats] * bool(ufeats)
        return ["\t".join(word) for word in zip(*parts)]

    def summary(self, confusions=10):
        """The first column's full summary (accuracy, per tag, confusions), and under
        "columns" the accuracies of every column, UFeats and AllTags, with each column's
        "missing": its gold words with `_` (in FEATS: words without features)."""
        first = self.scores[self.columns[0]].summary(confusions)
        first["columns"] = {name: _accuracies(self.scores[name])
                            for name in self.columns + self.derived}
        for column in self.columns:
            first["columns"][column]["missing"] = self.missing[column]
        if self.calibration:
            first["calibration"] = {column: calibration.summary()
                                    for column, calibration in self.calibration.items()}
        return first


def _accuracies(scores):
    return {"accuracy": accuracy(scores.correct, scores.total),
            "oov_accuracy": accuracy(scores.oov_correct, scores.oov_total)}


def percent(fraction):
    """An accuracy as the tables print it ("n/a" where there was nothing to count)."""
    return "n/a" if fraction is None else f"{100 * fraction:.2f}%"
