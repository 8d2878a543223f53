"""Lemmas as edit scripts: the tagger predicts *how* to turn a form into its lemma, as a tag.

A lemma head cannot choose among lemmas (an unseen word has an unseen lemma), so, as UDPipe 2
does (Straka 2019), each training pair (form, lemma) becomes an edit script, and the head
classifies among the scripts seen in training like any other column:

    "Walking" -> "walk":   casing "↓0" (all lower case);  on the lowercased form "walking",
                           keep the longest substring shared with the lemma ("walk"), cut 0
                           characters before it and add "", cut 3 after it and add ""
    "studies" -> "study":  "↓0", keep "stud", cut 0 + "", cut 3 + "y"   (fits "bodies" too)
    "went"    -> "go":     nothing shared: the whole lemma, "go", kept as it is

A script is the text `casing TAB cut_front TAB add_front TAB cut_back TAB add_back`, or
`= TAB lemma` for a whole lemma (a tab, because no CoNLL-U cell holds one).  The casing is
UDPipe 2's: runs of upper (↑) or lower (↓) case in the lemma, each from an offset counted from
the start or, in the lemma's second half, from its end ("↑0¦↓1": first letter upper case).

    apply_script(edit_script(form, lemma), form) == lemma     for every form and lemma

A script predicted for a form it cannot fit (cutting more characters than the form has) gives
the form itself, the likeliest lemma of a word nothing is known about.
"""
from functools import lru_cache

from dynlp.data.treebank import NO_VALUE

SEPARATOR = "\t"
WHOLE = "="  # first field of a script that holds the whole lemma
UPPER, LOWER, RUNS = "↑", "↓", "¦"


def casing_of(lemma):
    """The runs of upper and lower case in `lemma`: '↓0', '↑0¦↓1', '↑0' (all upper), ..."""
    runs, previous = [], None
    for i, char in enumerate(lemma):
        case = UPPER if char.lower() != char else LOWER
        if case != previous:  # offsets in the second half count from the end: "-2"
            runs.append(f"{case}{i if i <= len(lemma) // 2 else i - len(lemma)}")
        previous = case
    return RUNS.join(runs) or f"{LOWER}0"


def apply_casing(casing, lemma):
    """`lemma` (lower case) with each run of `casing` applied from its offset to the end."""
    for run in casing.split(RUNS):
        offset = int(run[1:])
        rest = lemma[offset:]
        lemma = lemma[:offset] + (rest.upper() if run[0] == UPPER else rest.lower())
    return lemma


def longest_common_substring(a, b):
    """(start in a, start in b, length) of the longest substring of both (the first found)."""
    best = (0, 0, 0)
    previous = [0] * (len(b) + 1)  # previous[j]: length of the common run ending at a[i-1], b[j-1]
    for i in range(1, len(a) + 1):
        current = [0] * (len(b) + 1)
        for j in range(1, len(b) + 1):
            if a[i - 1] == b[j - 1]:
                current[j] = previous[j - 1] + 1
                if current[j] > best[2]:
                    best = (i - current[j], j - current[j], current[j])
        previous = current
    return best


@lru_cache(maxsize=1 << 18)  # training asks for each (form, lemma) pair once an epoch
def edit_script(form, lemma):
    """The script that turns `form` into `lemma` (module docstring); `_` (no lemma) stays `_`."""
    if lemma == NO_VALUE:
        return NO_VALUE
    lower_form, lower_lemma = form.lower(), lemma.lower()
    start_form, start_lemma, length = longest_common_substring(lower_form, lower_lemma)
    if length:
        script = SEPARATOR.join([
            casing_of(lemma),
            str(start_form), lower_lemma[:start_lemma],
            str(len(lower_form) - start_form - length), lower_lemma[start_lemma + length:]])
        if apply_script(script, form) == lemma:  # case rules can change a word's length
            return script
    return SEPARATOR.join([WHOLE, lemma])


def apply_script(script, form):
    """The lemma that `script` makes of `form`; the form itself if the script cannot fit it."""
    fields = script.split(SEPARATOR)
    if fields[0] == WHOLE:
        return SEPARATOR.join(fields[1:])
    if len(fields) != 5:  # `_`, or a label that is no script
        return form
    casing, cut_front, add_front, cut_back, add_back = fields
    lower = form.lower()
    cut_front, cut_back = int(cut_front), int(cut_back)
    if cut_front + cut_back >= len(lower):  # nothing of the form would be left to keep
        return form
    stem = lower[cut_front:len(lower) - cut_back]
    return apply_casing(casing, add_front + stem + add_back)


def scripts_of(forms, lemmas):
    """The edit script of each word of a sentence (`_` where its lemma is `_`)."""
    return [edit_script(form, lemma) for form, lemma in zip(forms, lemmas)]


def lemmas_of(forms, scripts):
    """The lemma each predicted script makes of its form."""
    return [apply_script(script, form) for form, script in zip(forms, scripts)]
