"""Which model class a saved directory holds: each model family registers its class here, and
a model directory's config.json names its family.

    registry.register(MyModel)                   # MyModel.FAMILY and MyModel.KIND say what it is
    model = registry.load("models/ewt")          # whatever the directory holds
    lm = registry.load(path, kind="language-model")   # that kind, or a one-line ModelDirError

A family is a model class with two class attributes, FAMILY (its name, written in config.json
by `checkpoint.save(..., family=FAMILY)`) and KIND (what commands it answers: "language-model",
"tagger"), and `load(directory)`.  The families dynlp ships register themselves when their
module is imported; `dynlp.tasks` imports them all.  Directories written before families were
named (no "family" in config.json) are read by their kind, as they always were.
"""
from dynlp.errors import ModelDirError
from dynlp.store.checkpoint import read_config

FAMILIES = {}  # family name -> model class

# Directories saved before config.json named the family: the kind said it, except that an
# n-gram model wrote "family" inside its own config.
_BEFORE_FAMILIES = {"tagger": "bilstm-tagger", "language-model": "rnn-lm"}


def register(model_class):
    """Make `model_class` the loader of directories of its FAMILY; returns it (a decorator)."""
    family = model_class.FAMILY
    known = FAMILIES.get(family)
    if known is not None and known is not model_class:
        raise ValueError(f"model family {family!r} is registered already ({known.__name__})")
    FAMILIES[family] = model_class
    return model_class


def family_of(meta):
    """The family named by a model directory's config.json (read_config's dict)."""
    return (meta.get("family") or meta["config"].get("family")
            or _BEFORE_FAMILIES.get(meta["kind"], meta["kind"]))


def model_class(model_dir, kind=None):
    """The class that loads `model_dir` (checked to hold `kind`, when one is given)."""
    meta = read_config(model_dir, kind)
    family = family_of(meta)
    if family not in FAMILIES:
        raise ModelDirError(f"{model_dir}: holds a model of family {family!r}, which this dynlp "
                            f"does not know (known: {', '.join(sorted(FAMILIES))})")
    return FAMILIES[family]


def load(model_dir, kind=None):
    """The model saved in `model_dir`, by its registered family."""
    return model_class(model_dir, kind).load(model_dir)


def load_language_model(model_dir):
    """The language model in `model_dir`: recurrent (lm.py), count-based (ngram/) or another
    registered family of that kind."""
    return load(model_dir, "language-model")
