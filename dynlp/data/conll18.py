"""Scoring a system's CoNLL-U against gold when the system tokenized the text itself, counted as
the CoNLL 2018 shared task's evaluation script counts (its description: Zeman et al. 2018, "CoNLL
2018 Shared Task: Multilingual Parsing from Raw Text to Universal Dependencies", section 2.4;
tests/test_raw_text_eval.py holds this module to the script itself, vendored in tests/data/).

Both files must spell the same characters once whitespace is dropped.  A token is then a span of
character offsets; a sentence the span from its first token's start to its last one's end; the
words of a multiword token all carry that token's span.

    Tokens, Sentences   F1 of the spans that start and end where gold's do
    Words               F1 of aligned words: outside multiword tokens a word aligns with the
                        one of the same span; over a stretch where either side has multiword
                        tokens, words align along the longest common subsequence of their
                        lowercased forms
    UPOS, XPOS, UFeats, AllTags, Lemmas   F1 over words: an aligned word counts where its value
                        equals gold's (UFeats: universal features only; Lemmas: any lemma is
                        right where gold's is `_`); precision over the system's words, recall
                        over gold's
"""
import unicodedata
from dataclasses import dataclass

from dynlp.errors import DataError
from dynlp.metrics import universal_features

METRICS = ("Tokens", "Sentences", "Words", "UPOS", "XPOS", "UFeats", "AllTags", "Lemmas")


@dataclass
class Word:
    start: int  # its token's span in the text without whitespace
    end: int
    multiword: bool
    form: str
    upos: str
    xpos: str
    feats: str  # universal features only
    lemma: str


@dataclass
class Document:
    characters: list
    tokens: list  # (start, end)
    sentences: list  # (start, end)
    words: list  # Word


def document(sentences):
    """A Document of treebank Sentences (data/treebank.py, `read_conllu`: lines kept)."""
    doc = Document([], [], [], [])
    for sentence in sentences:
        begin, words_left = len(doc.characters), 0
        for line in sentence.lines:
            cells = line.split("\t")
            if line.startswith("#") or "." in cells[0]:
                continue
            if words_left:
                words_left -= 1
                doc.words.append(_word(cells, *doc.tokens[-1], True))
                continue
            form = "".join(c for c in cells[1] if unicodedata.category(c) != "Zs")
            doc.tokens.append((len(doc.characters), len(doc.characters) + len(form)))
            doc.characters.extend(form)
            if "-" in cells[0]:
                first, last = cells[0].split("-")
                words_left = int(last) - int(first) + 1
            else:
                doc.words.append(_word(cells, *doc.tokens[-1], False))
        doc.sentences.append((begin, len(doc.characters)))
    return doc


def _word(cells, start, end, multiword):
    return Word(start, end, multiword, cells[1], cells[3], cells[4],
                universal_features(cells[5]), cells[2])


def evaluate(gold_sentences, system_sentences, name="the system's output"):
    """{metric: (precision, recall, F1)} of the system's Sentences against gold's."""
    gold, system = document(gold_sentences), document(system_sentences)
    if gold.characters != system.characters:
        at = next((i for i, (g, s) in enumerate(zip(gold.characters, system.characters))
                   if g != s), min(len(gold.characters), len(system.characters)))
        raise DataError(f"{name}: its characters differ from the gold text's at character {at} "
                        f"(gold {''.join(gold.characters[at:at + 20])!r}, system "
                        f"{''.join(system.characters[at:at + 20])!r})")
    pairs = align_words(gold.words, system.words)
    scores = {"Tokens": _f1(len(gold.tokens), len(system.tokens),
                            _same_spans(gold.tokens, system.tokens)),
              "Sentences": _f1(len(gold.sentences), len(system.sentences),
                               _same_spans(gold.sentences, system.sentences)),
              "Words": _f1(len(gold.words), len(system.words), len(pairs))}
    keys = {"UPOS": lambda w: w.upos, "XPOS": lambda w: w.xpos, "UFeats": lambda w: w.feats,
            "AllTags": lambda w: (w.upos, w.xpos, w.feats)}
    for metric, key in keys.items():
        correct = sum(key(g) == key(s) for g, s in pairs)
        scores[metric] = _f1(len(gold.words), len(system.words), correct)
    lemmas = sum(g.lemma == "_" or g.lemma == s.lemma for g, s in pairs)
    scores["Lemmas"] = _f1(len(gold.words), len(system.words), lemmas)
    return scores


def _f1(gold, system, correct):
    precision, recall = correct / max(system, 1), correct / max(gold, 1)
    return precision, recall, 2 * correct / max(gold + system, 1)


def _same_spans(gold, system):
    """How many spans the two sorted lists share exactly (two pointers, by start)."""
    correct = g = s = 0
    while g < len(gold) and s < len(system):
        if system[s][0] < gold[g][0]:
            s += 1
        elif gold[g][0] < system[s][0]:
            g += 1
        else:
            correct += gold[g][1] == system[s][1]
            g, s = g + 1, s + 1
    return correct


def align_words(gold, system):
    """[(gold Word, system Word)] aligned: by span outside multiword tokens, by the longest
    common subsequence of lowercased forms over a stretch where either side has them."""
    pairs, g, s = [], 0, 0
    while g < len(gold) and s < len(system):
        if gold[g].multiword or system[s].multiword:
            g0, s0, g, s = _multiword_stretch(gold, system, g, s)
            pairs += _lcs_pairs(gold[g0:g], system[s0:s])
        elif (gold[g].start, gold[g].end) == (system[s].start, system[s].end):
            pairs.append((gold[g], system[s]))
            g, s = g + 1, s + 1
        elif gold[g].start <= system[s].start:
            g += 1
        else:
            s += 1
    return pairs


def _multiword_stretch(gold, system, g, s):
    """(first gold, first system, after gold, after system) word of the shortest stretch that
    holds the multiword token at g or s and every word overlapping it, on both sides."""
    if gold[g].multiword:
        end = gold[g].end
        if not system[s].multiword and system[s].start < gold[g].start:
            s += 1
    else:
        end = system[s].end
        if not gold[g].multiword and gold[g].start < system[s].start:
            g += 1
    g0, s0 = g, s
    while not _past(gold, g, end) or not _past(system, s, end):
        if g < len(gold) and (s >= len(system) or gold[g].start <= system[s].start):
            end = max(end, gold[g].end) if gold[g].multiword else end
            g += 1
        else:
            end = max(end, system[s].end) if system[s].multiword else end
            s += 1
    return g0, s0, g, s


def _past(words, i, end):
    """Whether word i lies beyond a stretch ending at character `end`."""
    if i >= len(words):
        return True
    return words[i].start >= end if words[i].multiword else words[i].end > end


def _lcs_pairs(gold, system):
    """The pairs of equal lowercased forms along a longest common subsequence."""
    same = [[g.form.lower() == s.form.lower() for s in system] for g in gold]
    lcs = [[0] * (len(system) + 1) for _ in range(len(gold) + 1)]
    for i in reversed(range(len(gold))):
        for j in reversed(range(len(system))):
            lcs[i][j] = max(lcs[i + 1][j + 1] + 1 if same[i][j] else 0, lcs[i + 1][j],
                            lcs[i][j + 1])
    pairs, i, j = [], 0, 0
    while i < len(gold) and j < len(system):
        if same[i][j]:
            pairs.append((gold[i], system[j]))
            i, j = i + 1, j + 1
        elif lcs[i][j] == lcs[i + 1][j]:
            i += 1
        else:
            j += 1
    return pairs
