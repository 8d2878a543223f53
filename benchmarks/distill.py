"""The ensemble against the one network distilled from it, on every treebank (issue 36).

    python benchmarks/distill.py OUT                            # train each ensemble, then distil
    python benchmarks/distill.py OUT --teachers /tmp/peers      # distil ensembles trained already
    python benchmarks/distill.py OUT --speed-only               # words/s of OUT's models again
    python benchmarks/distill.py OUT --table                    # the Markdown table of OUT

For each `ud_*` treebank in $DYNLP_DATA: the teacher is the default recipe's two-network tagger,
trained here into OUT/NAME/ensemble (or read from TEACHERS/NAME/dynlp-model, where
benchmarks/peers.py writes it); the student is one network trained towards the teacher's mean
distributions (`dynlp train-tagger --teacher`), with `dynlp train-tagger`'s settings and the
peers' 20-minute bound.  Both are scored on dev and test (gold tokens, every column), and both tag
the test set three times in turn in this one process: the median words/s of each.  One JSON
line per treebank on stdout and in OUT/NAME/distill.json.
"""
import argparse
import json
import logging
import os
import statistics
import sys
import time
from dataclasses import replace

from common import TWENTY_MINUTES, add_treebank_arguments, commit, part, treebanks
from dynlp.cli.flags import start
from dynlp.config import TrainConfig, from_args
from dynlp.data.text import data_dir
from dynlp.data.treebank import read_treebank
from dynlp.models.tagger.config import TaggerConfig
from dynlp.models.tagger.network import BiLSTMTagger
from dynlp.tasks import read_tagger_corpus, score_tagger, train_tagger

log = logging.getLogger("dynlp")
REPEATS = 3


def trained(name, folder, args, out_dir, teacher=None):
    """(model, minutes, epochs): the ensemble (teacher None) or the student of `teacher`."""
    tagger_config, train_config = from_args(TaggerConfig, args), from_args(TrainConfig, args)
    if teacher is not None:
        tagger_config = replace(tagger_config, columns=teacher.config.columns)
    train, dev, tagger_config = read_tagger_corpus(part(folder, "train"), part(folder, "dev"),
                                                   tagger_config, train_config.dev_fraction)
    began = time.time()
    model, state = train_tagger(train, dev, tagger_config, train_config, out_dir,
                                seed=args.seed, teacher=teacher)
    return model, round((time.time() - began) / 60, 1), state.epoch


def accuracies(model, sentences):
    """{column: percent} on gold Sentences."""
    columns = score_tagger(model, sentences).summary()["columns"]
    return {c: round(100 * v["accuracy"], 2) for c, v in columns.items()}


def words_per_second(models, sentences):
    """Median words/s of each model tagging `sentences`, the models taking turns."""
    forms = [s.forms for s in sentences]
    words = sum(len(f) for f in forms)
    seconds = {label: [] for label in models}
    for _ in range(REPEATS):
        for label, model in models.items():
            began = time.time()
            model.predict_many(forms)
            seconds[label].append(time.time() - began)
    return {label: round(words / statistics.median(s)) for label, s in seconds.items()}


def run_one(name, folder, args):
    out_dir = os.path.join(args.output, name)
    os.makedirs(out_dir, exist_ok=True)
    result = {"treebank": name}
    if args.teachers:
        teacher_dir = os.path.join(args.teachers, name, "dynlp-model")
        teacher = BiLSTMTagger.load(teacher_dir)
        result["ensemble"] = {"model": teacher_dir, "train_minutes": _peer_minutes(teacher_dir)}
    else:
        teacher, minutes, epochs = trained(name, folder, args, os.path.join(out_dir, "ensemble"))
        result["ensemble"] = {"train_minutes": minutes, "epochs": epochs}
    student, minutes, epochs = trained(name, folder, args, os.path.join(out_dir, "student"),
                                       teacher)
    result["student"] = {"train_minutes": minutes, "epochs": epochs}
    for label, model in (("ensemble", teacher), ("student", student)):
        for split in ("dev", "test"):
            gold = read_treebank(part(folder, split), model.columns)
            result[label][split] = accuracies(model, gold)
    measure_speed(result, teacher, student, folder)
    result.update(provenance())
    save(result, out_dir)


def provenance():
    """Where and how a figure was taken: commit, date, load average, the command."""
    return {"commit": commit(), "date": time.strftime("%F %H:%M"), "load": os.getloadavg()[0],
            "command": " ".join(["python"] + sys.argv)}


def measure_speed(result, teacher, student, folder):
    """Both models' tagging words/s on the test set (in turns), into `result`."""
    test = read_treebank(part(folder, "test"), student.columns)
    for label, speed in words_per_second({"ensemble": teacher, "student": student},
                                         test).items():
        result[label]["words_per_second"] = speed
    result["speedup"] = round(result["student"]["words_per_second"] /
                              result["ensemble"]["words_per_second"], 2)
    result["speed"] = provenance()


def speed_again(name, folder, args):
    """--speed-only: the words/s of a result's two models measured anew (after a change to
    tagging's speed), the rest of the result kept."""
    out_dir = os.path.join(args.output, name)
    with open(os.path.join(out_dir, "distill.json"), encoding="utf-8") as f:
        result = json.load(f)
    teacher_dir = result["ensemble"].get("model") or os.path.join(out_dir, "ensemble")
    measure_speed(result, BiLSTMTagger.load(teacher_dir),
                  BiLSTMTagger.load(os.path.join(out_dir, "student")), folder)
    save(result, out_dir)


def save(result, out_dir):
    with open(os.path.join(out_dir, "distill.json"), "w", encoding="utf-8") as f:
        json.dump(result, f, indent=1)
    print(json.dumps(result), flush=True)


def _peer_minutes(model_dir):
    """The training minutes benchmarks/peers.py recorded beside a teacher it trained, if any."""
    path = os.path.join(os.path.dirname(model_dir), "dynlp.json")
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        return json.load(f).get("train_minutes")


def table(output):
    """Markdown: per treebank, the ensemble's and the student's test and dev UPOS, every test
    column, minutes and words/s."""
    lines = ["| treebank | model | test UPOS | dev UPOS | test, every column | training minutes "
             "| tagging words/s | commit |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name in sorted(os.listdir(output)):
        path = os.path.join(output, name, "distill.json")
        if not os.path.exists(path):
            continue
        with open(path, encoding="utf-8") as f:
            r = json.load(f)
        for label in ("ensemble", "student"):
            m = r[label]
            every = ", ".join(f"{c} {v:.2f}" for c, v in m["test"].items())
            lines.append(f"| {name} | {label} | {m['test']['upos']:.2f} | {m['dev']['upos']:.2f} "
                         f"| {every} | {m['train_minutes']} | {m['words_per_second']:,} "
                         f"| {r['commit']} |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teachers", metavar="DIR",
                        help="benchmarks/peers.py's output: its dynlp models are the teachers")
    parser.add_argument("--speed-only", action="store_true",
                        help="train nothing: measure the words/s of OUTPUT's models again")
    parser.add_argument("--table", action="store_true",
                        help="print the Markdown table of every result in OUTPUT and train nothing")
    add_treebank_arguments(parser, "folder for one subfolder per treebank", TWENTY_MINUTES)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(message)s")
    if args.table:
        print(table(args.output))
        return
    start(args, training=True)  # as `dynlp train-tagger`: Hogwild over one process per core
    os.makedirs(args.output, exist_ok=True)
    for name, folder in treebanks(args.treebanks and args.treebanks.split(",")).items():
        (speed_again if args.speed_only else run_one)(name, folder, args)
    log.info("data from %s", data_dir())


if __name__ == "__main__":
    main()
