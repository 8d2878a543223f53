"""What the benchmark scripts share: the suite's treebanks, the flags of a tagger benchmark,
the official CoNLL 2018 evaluation script, UDPipe's reader, and each result's provenance.

A script imports it as `from common import ...`: Python puts the folder of the script it runs
on the path, so no script edits `sys.path`.  The scripts stay in this one folder, each named by
RESULTS.md (grouped there, and in README.md, by what they measure): a recorded command
`python benchmarks/NAME.py ...` runs as it did at its commit.
"""
import glob
import importlib.util
import json
import os
import platform
import subprocess
import sys
import time

from dynlp.cli.flags import TAGGER_TRAINING, add_common_arguments
from dynlp.config import TrainConfig, add_arguments, from_args
from dynlp.data.text import data_dir
from dynlp.models.tagger.config import TaggerConfig
from dynlp.tasks import read_tagger_corpus, train_tagger

HERE = os.path.dirname(os.path.abspath(__file__))
OFFICIAL_SCRIPT = os.path.join(HERE, "..", "tests", "data", "conll18_ud_eval.py")
# The 20 minutes of training that issue 33 allows the default recipe; peers.py and distill.py
# train within them (treebanks.py leaves it to --max-minutes).
TWENTY_MINUTES = {"max_minutes": 20.0}


def treebanks(names=None):
    """{name: folder} of the ud_* treebanks in the data folder (all, or those named)."""
    found = {os.path.basename(p)[3:]: p
             for p in sorted(glob.glob(os.path.join(data_dir(), "ud_*")))}
    if names:
        missing = [n for n in names if n not in found]
        if missing:
            sys.exit(f"{os.path.basename(sys.argv[0])}: no ud_{missing[0]} in {data_dir()}")
        return {n: found[n] for n in names}
    return found


def part(folder, name):
    """The path of a treebank's `train`, `dev` or `test` file."""
    (path,) = glob.glob(os.path.join(folder, f"*-ud-{name}.conllu"))
    return path


def add_treebank_arguments(parser, output_help, train_defaults=None):
    """OUTPUT, --treebanks, and `dynlp train-tagger`'s model and training flags with its
    defaults (and `train_defaults` over them)."""
    parser.add_argument("output", help=output_help)
    parser.add_argument("--treebanks", help="comma-separated names such as hu_szeged "
                                            "(default: every ud_* folder)")
    add_arguments(parser, TaggerConfig)
    add_arguments(parser, TrainConfig, {**TAGGER_TRAINING, **(train_defaults or {})})
    add_common_arguments(parser, training=True)


def train_default(name, folder, args):
    """`dynlp train-tagger`'s recipe (as the flags of `add_treebank_arguments` set it) on one
    treebank's train and dev files, into OUTPUT/NAME: (model, loop state, training sentences,
    minutes)."""
    tagger_config, train_config = from_args(TaggerConfig, args), from_args(TrainConfig, args)
    train, dev, tagger_config = read_tagger_corpus(part(folder, "train"), part(folder, "dev"),
                                                   tagger_config, train_config.dev_fraction)
    began = time.time()
    model, state = train_tagger(train, dev, tagger_config, train_config,
                                os.path.join(args.output, name), seed=args.seed)
    return model, state, train, (time.time() - began) / 60


def best_dev_metrics(state):
    """Each column's dev accuracy at the evaluation that was kept (the best dev_score)."""
    best = max(state.history, key=lambda metrics: metrics["dev_score"], default={})
    return {k[4:]: v for k, v in best.items() if k.startswith("dev_") and k != "dev_score"}


def official_script():
    """tests/data/conll18_ud_eval.py (the CoNLL 2018 shared task's evaluation) as a module."""
    spec = importlib.util.spec_from_file_location("conll18_ud_eval", OFFICIAL_SCRIPT)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    return script


def read_udpipe_sentences(udpipe, path):
    """A `Sentences` vector of a CoNLL-U file, read by UDPipe's own reader (`udpipe`: the
    ufal.udpipe module); a file it cannot read ends the script with its message."""
    reader = udpipe.InputFormat.newConlluInputFormat()
    with open(path, encoding="utf-8") as f:
        reader.setText(f.read())
    sentences, error = udpipe.Sentences(), udpipe.ProcessingError()
    sentence = udpipe.Sentence()
    while reader.nextSentence(sentence, error):
        sentences.push_back(sentence)
        sentence = udpipe.Sentence()
    if error.occurred():
        sys.exit(f"{path}: UDPipe cannot read it: {error.message}")
    return sentences


def commit():
    """The checkout's commit (short), or None outside git."""
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, cwd=HERE).stdout.strip() or None
    except OSError:
        return None


def emit(result):
    """`result` with its provenance added, printed as one JSON line on stdout; returned."""
    result.update(provenance())
    print(json.dumps(result), flush=True)
    return result


def provenance():
    """What each result line records beside its figures: commit, date, machine, command."""
    return {"commit": commit(), "date": time.strftime("%F %H:%M"),
            "machine": f"{platform.machine()} {os.cpu_count()} cores",
            "command": " ".join(["python"] + sys.argv)}
