"""A peer trained beside dynlp: UDPipe 1 on the same treebank files, both scored the same way.

    python benchmarks/peers.py OUT --treebanks ug_udt            # UDPipe, then dynlp's default
    python benchmarks/peers.py OUT --systems udpipe               # the peer only, every ud_*
    python benchmarks/peers.py OUT --systems dynlp --table        # dynlp only, then the table

For each `ud_*` folder of $DYNLP_DATA (default ../shared/data):
- **udpipe**: UDPipe 1 (`ufal.udpipe`, the `bench` extra) trains its tagger and lemmatizer with
  its default options (`Trainer.train(..., tagger="")`, no tokenizer, no parser) on
  `*-ud-train.conllu` with `*-ud-dev.conllu` held out, one core, as its trainer always runs;
- **dynlp**: `dynlp train-tagger`'s default recipe on the same two files (`--max-minutes`, 20
  by default, as the issue's bound);
then each tags the test file's gold tokens (writing every column it predicts) into
OUT/NAME/SYSTEM-test.conllu, and that file is scored by the CoNLL 2018 shared task's script
(tests/data/conll18_ud_eval.py, unchanged): UPOS, XPOS, UFeats, AllTags, Lemmas.  The
cross-checks: each file is also scored by `dynlp evaluate`'s counts (dynlp.metrics, against the
same gold file), which must give the official script's five figures to 0.01 points; and
UDPipe's model by UDPipe's own evaluator (`Evaluator`, its `--accuracy`), which must give dynlp's
counts of UDPipe's file on the columns both define alike: UPOS, XPOS and FEATS as a whole
(UDPipe's AllTags compares all of FEATS, and its lemmas count a gold `_` as a lemma to match,
where the official script counts it right).  A disagreement is logged and kept in the JSON.

Each system's result is saved as OUT/NAME/SYSTEM.json, so the two can be run at different times
(one at a time on an idle machine: the training minutes and words/s are its figures); `--table`
prints the Markdown table of every result found in OUT.
"""
import argparse
import json
import logging
import os
import sys
import time

from dynlp.cli.flags import start
from dynlp.config import TrainConfig, from_args
from dynlp.data.text import data_dir
from dynlp.data.treebank import conllu_text, filled, read_treebank
from dynlp.metrics import TreebankScores
from dynlp.models.tagger.config import TaggerConfig
from dynlp.tasks import read_tagger_corpus, score_tagger, train_tagger

from common import (TWENTY_MINUTES, add_treebank_arguments, best_dev_metrics, commit,
                    official_script, part, read_udpipe_sentences, treebanks)

METRICS = ("UPOS", "XPOS", "UFeats", "AllTags", "Lemmas")
AGREE = 0.01  # points: how close two evaluators of one file must be
log = logging.getLogger("peers")


def official_scores(gold_path, system_path):
    """{metric: accuracy in points} of a system file against gold, by conll18_ud_eval.py."""
    script = official_script()
    scores = script.evaluate(script.load_conllu_file(gold_path),
                             script.load_conllu_file(system_path))
    return {m: round(100 * scores[m].aligned_accuracy, 2) for m in METRICS}


def dynlp_counts(gold_path, system_path):
    """{metric: points} of a system file against gold by dynlp's evaluation (dynlp.metrics, as
    `dynlp evaluate` counts), over the columns the gold file fills; FEATS as a whole too."""
    columns = ["upos", "xpos", "feats", "lemma"]
    gold, system = read_treebank(gold_path, columns), read_treebank(system_path, columns)
    columns = [c for c in columns if filled(gold, c)]
    scores = TreebankScores(columns)
    for g, s in zip(gold, system, strict=True):
        scores.add(g.tags, s.tags, [False] * len(g.forms))
    names = {"upos": "UPOS", "xpos": "XPOS", "feats": "Feats", "ufeats": "UFeats",
             "alltags": "AllTags", "lemma": "Lemmas"}
    return {names[k]: round(100 * v["accuracy"], 2)
            for k, v in scores.summary()["columns"].items()}


# ---- UDPipe 1 ---------------------------------------------------------------------------------
def run_udpipe(name, folder, out_dir):
    import ufal.udpipe as udpipe

    train = read_udpipe_sentences(udpipe, part(folder, "train"))
    dev = read_udpipe_sentences(udpipe, part(folder, "dev"))
    error = udpipe.ProcessingError()
    began = time.time()
    blob = udpipe.Trainer.train("morphodita_parsito", train, dev, udpipe.Trainer.NONE,
                                udpipe.Trainer.DEFAULT, udpipe.Trainer.NONE, error)
    train_minutes = (time.time() - began) / 60
    if error.occurred():
        sys.exit(f"peers.py: UDPipe training on {name} failed: {error.message}")
    model_path = os.path.join(out_dir, "udpipe.model")
    with open(model_path, "wb") as f:
        f.write(blob if isinstance(blob, bytes) else blob.encode("latin-1"))
    model = udpipe.Model.load(model_path)

    test = read_udpipe_sentences(udpipe, part(folder, "test"))
    writer = udpipe.OutputFormat.newConlluOutputFormat()
    words, lines = 0, []
    began = time.time()
    for sentence in test:
        model.tag(sentence, udpipe.Model.DEFAULT, error)
        words += len(sentence.words) - 1  # its words[0] is the technical root
        lines.append(writer.writeSentence(sentence))
    tag_seconds = time.time() - began
    system_path = os.path.join(out_dir, "udpipe-test.conllu")
    with open(system_path, "w", encoding="utf-8") as f:
        f.write("".join(lines))
    own = udpipe_accuracy(udpipe, model, part(folder, "test"))
    return {"train_minutes": round(train_minutes, 1),
            "words_per_second": round(words / tag_seconds), "own_evaluator": own,
            "system_file": system_path}


def udpipe_accuracy(udpipe, model, gold_path):
    """UDPipe's own evaluator (its `--accuracy`, gold tokens) on the test file: {metric: points}."""
    evaluator = udpipe.Evaluator(model, udpipe.Evaluator.NONE, udpipe.Evaluator.DEFAULT,
                                 udpipe.Evaluator.NONE)
    with open(gold_path, encoding="utf-8") as f:
        report = evaluator.evaluate(f.read(), udpipe.ProcessingError())
    # lines such as "Tagging from gold tokenization - forms: 21214, upostag: 90.41%, xpostag: ..."
    names = {"upostag": "UPOS", "xpostag": "XPOS", "feats": "Feats"}  # what it shares (above)
    scores = {}
    for line in report.splitlines():
        if "gold tokenization" in line and "upostag" in line:
            for item in line.split(" - ", 1)[1].split(","):
                key, _, value = item.strip().partition(": ")
                if key in names and value.endswith("%"):
                    scores[names[key]] = float(value[:-1])
    return {"report": report.strip(), "scores": scores}


# ---- dynlp ------------------------------------------------------------------------------------
def run_dynlp(name, folder, out_dir, args):
    tagger_config, train_config = from_args(TaggerConfig, args), from_args(TrainConfig, args)
    train, dev, tagger_config = read_tagger_corpus(part(folder, "train"), part(folder, "dev"),
                                                   tagger_config, train_config.dev_fraction)
    began = time.time()
    model, state = train_tagger(train, dev, tagger_config, train_config,
                                os.path.join(out_dir, "dynlp-model"), seed=args.seed)
    train_minutes = (time.time() - began) / 60
    test = read_treebank(part(folder, "test"), model.columns)
    began = time.time()
    predicted = model.predict_many([s.forms for s in test])
    tag_seconds = time.time() - began
    system_path = os.path.join(out_dir, "dynlp-test.conllu")
    with open(system_path, "w", encoding="utf-8") as f:
        f.write(conllu_text(s.with_tags(p) for s, p in zip(test, predicted)))
    columns = score_tagger(model, test).summary()["columns"]
    unseen = {key: round(100 * v["oov_accuracy"], 2) for key, v in columns.items()
              if v["oov_accuracy"] is not None}
    return {"test_unseen": unseen, "best_dev": best_dev_metrics(state), "train_minutes": round(train_minutes, 1), "epochs": state.epoch,
            "words_per_second": round(sum(len(s.forms) for s in test) / tag_seconds),
            "columns": model.columns,
            "system_file": system_path}


# ---- both ------------------------------------------------------------------------------------
def run(system, name, folder, args):
    out_dir = os.path.join(args.output, name)
    os.makedirs(out_dir, exist_ok=True)
    log.info("%s on %s", system, name)
    if system == "udpipe":
        result = run_udpipe(name, folder, out_dir)
    else:
        result = run_dynlp(name, folder, out_dir, args)
    result.update(system=system, treebank=name, commit=commit(), date=time.strftime("%F %H:%M"),
                  command=" ".join(["python"] + sys.argv), load=os.getloadavg()[0])
    score(result, part(folder, "test"))
    save(result, out_dir)
    return result


def score(result, gold):
    """The official script's, dynlp's and (UDPipe) UDPipe's figures of a result's file."""
    result["official"] = official_scores(gold, result["system_file"])
    result["dynlp_counts"] = dynlp_counts(gold, result["system_file"])
    result["evaluators_agree"] = agree(result["official"], result["dynlp_counts"])
    if result["system"] == "udpipe":
        result["evaluators_agree"] &= agree(result["dynlp_counts"],
                                            result["own_evaluator"]["scores"])


def save(result, out_dir):
    system, name = result["system"], result["treebank"]
    with open(os.path.join(out_dir, f"{system}.json"), "w", encoding="utf-8") as f:
        json.dump(result, f, indent=1)
    print(json.dumps({k: v for k, v in result.items() if k != "own_evaluator"}), flush=True)
    if not result["evaluators_agree"]:
        log.warning("%s on %s: the evaluators differ by more than %s points: official %s, "
                    "dynlp %s, UDPipe's own %s", system, name, AGREE, result["official"],
                    result["dynlp_counts"], result.get("own_evaluator", {}).get("scores"))


def rescore(system, name, folder, output):
    """Score a saved result's test file again (after a change to an evaluator)."""
    path = os.path.join(output, name, f"{system}.json")
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            result = json.load(f)
        if system == "udpipe":
            import ufal.udpipe as udpipe

            model = udpipe.Model.load(os.path.join(output, name, "udpipe.model"))
            result["own_evaluator"] = udpipe_accuracy(udpipe, model, part(folder, "test"))
        else:
            result.pop("own_evaluator", None)  # written by an earlier version of this script
        score(result, part(folder, "test"))
        save(result, os.path.join(output, name))


def agree(one, other):
    """Whether two evaluators give each metric they both report within AGREE points."""
    return all(abs(one[m] - other[m]) <= AGREE + 1e-9 for m in other if m in one)


def table(output):
    """Markdown: per treebank, each system's official test scores, minutes and words/s."""
    lines = ["| treebank | system | UPOS | XPOS | UFeats | AllTags | Lemmas | training minutes "
             "| tagging words/s | evaluators agree | commit |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name in sorted(os.listdir(output)):
        for system in ("udpipe", "dynlp"):
            path = os.path.join(output, name, f"{system}.json")
            if not os.path.exists(path):
                continue
            with open(path, encoding="utf-8") as f:
                r = json.load(f)
            label = "UDPipe 1 (defaults)" if system == "udpipe" else "dynlp (defaults)"
            cells = [f"{r['official'][m]:.2f}" if m in r["dynlp_counts"] else "—"  # gold: all `_`
                     for m in METRICS]
            lines.append(f"| {name} | {label} | " + " | ".join(cells) +
                         f" | {r['train_minutes']} | {r['words_per_second']:,} | "
                         f"{'yes' if r['evaluators_agree'] else 'no'} | {r['commit']} |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--systems", default="udpipe,dynlp", help="udpipe, dynlp or both")
    parser.add_argument("--rescore", action="store_true",
                        help="train nothing: score the saved test files of OUTPUT again")
    parser.add_argument("--table", action="store_true",
                        help="print the Markdown table of every result in OUTPUT")
    # dynlp's side: `dynlp train-tagger`'s flags and defaults, bounded by the issue's 20 minutes
    add_treebank_arguments(parser, "folder for one subfolder per treebank", TWENTY_MINUTES)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(message)s")
    os.makedirs(args.output, exist_ok=True)
    systems = [s for s in args.systems.split(",") if s]
    if set(systems) - {"udpipe", "dynlp"}:
        sys.exit(f"peers.py: --systems {args.systems}: give udpipe, dynlp or both")
    if "dynlp" in systems and not args.rescore:
        start(args, training=True)  # as `dynlp train-tagger`: Hogwild over one process per core
    for name, folder in treebanks(args.treebanks and args.treebanks.split(",")).items():
        for system in systems:
            if args.rescore:
                rescore(system, name, folder, args.output)
            else:
                run(system, name, folder, args)
    if args.table:
        print(table(args.output))
    log.info("data from %s", data_dir())


if __name__ == "__main__":
    main()
