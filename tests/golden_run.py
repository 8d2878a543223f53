"""Run every dynlp command on the bundled data and write what each one printed or saved.

    python tests/golden_run.py OUT_DIR

tests/test_golden.py runs this and compares OUT_DIR with tests/golden/, recorded before the
package was reorganised: the same commands must give byte-identical output after any change
that is meant to change nothing.  Each command runs in its own process (a fresh DyNet with a
fixed seed), one worker, so every number is reproducible.  Training prints times, so for the
training commands what is compared is what they save: the parameters' checksum, the config and
the per-epoch metrics without the clock.
"""
import hashlib
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
TREEBANK = os.path.join(ROOT, "data", "sample.conllu")
TEXT = ("the cat sat on the mat\nthe dog sat on the log\na cat saw a dog\n"
        "the dog saw the cat\na dog sat on a mat\n") * 8
SCORE_TEXT = "the cat sat on the log\n\nthe dog saw a mat\nzebra\n"
QUICK = ["--seed", "3", "--workers", "1", "--quiet", "--hidden-dim", "8", "--emb-dim", "8"]
TIMING = ("seconds", "minutes", "per_sec", "time", "elapsed")


def dynlp(*argv, stdin=None):
    """stdout of `dynlp ARGV` in a fresh process (stderr is passed through on failure)."""
    code = "import sys; from dynlp.cli import main; sys.exit(main(sys.argv[1:]))"
    env = dict(os.environ, PYTHONHASHSEED="0")  # sets of forms iterate in one order
    done = subprocess.run([sys.executable, "-c", code, *argv], input=stdin, cwd=ROOT, env=env,
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"dynlp {' '.join(argv)} failed:\n{done.stderr}")
    return done.stdout


def without_clock(value):
    """A JSON value with every timing field dropped, at any depth."""
    if isinstance(value, dict):
        return {k: without_clock(v) for k, v in value.items() if not any(t in k for t in TIMING)}
    if isinstance(value, list):
        return [without_clock(v) for v in value]
    return value


def saved(model_dir):
    """What a training command saved, without the clock: config, metrics, parameter digests."""
    lines = []
    for name in sorted(os.listdir(model_dir)):
        path = os.path.join(model_dir, name)
        if name in ("metrics.jsonl", "config.json"):
            for line in open(path, encoding="utf-8").read().split("\n" if name != "config.json"
                                                                else "\0"):
                if line.strip():
                    record = without_clock(json.loads(line))
                    # The family (models/registry.py) was added to config.json after these
                    # files were recorded; tests/test_new_family.py checks it.
                    if name == "config.json" and record.get("family") in ("rnn-lm", "ngram",
                                                                         "bilstm-tagger"):
                        del record["family"]
                    # So were a tagger's temperatures and the setting that fits them (off
                    # here: --no-calibrate; tests/test_confidence.py checks them).
                    if name == "config.json" and record.get("kind") == "tagger":
                        record.pop("temperatures", None)
                        record["config"].pop("calibrate", None)
                    # And a recurrent LM's residual shortcut, identity start and layer norm (off, as
                    # recorded).
                    for lever in ("residual", "identity_init", "layer_norm"):
                        if name == "config.json" and record.get("config", {}).get(lever) is False:
                            del record["config"][lever]
                    lines.append(json.dumps(record, sort_keys=True))
        elif os.path.isfile(path):
            lines.append(f"{name} {hashlib.sha256(open(path, 'rb').read()).hexdigest()}")
    return "\n".join(lines) + "\n"


def run_all(out):
    """Every command, its output in OUT/<name>.txt; the trained models in OUT/models/."""
    models = os.path.join(out, "models")
    os.makedirs(models, exist_ok=True)
    os.makedirs(os.path.join(out, "inputs"), exist_ok=True)
    text = os.path.join(out, "inputs", "train.txt")
    open(text, "w", encoding="utf-8").write(TEXT)
    score_text = os.path.join(out, "inputs", "score.txt")
    open(score_text, "w", encoding="utf-8").write(SCORE_TEXT)
    lm, ngram, tagger = (os.path.join(models, name) for name in ("lm", "ngram", "tagger"))
    results = {}
    dynlp("train-lm", text, "--word", "-o", lm, "--epochs", "2", "--batch-size", "4", *QUICK)
    results["train-lm"] = saved(lm)
    dynlp("train-lm", text, "--char", "--ngram", "4", "-o", ngram, "--quiet")
    results["train-ngram"] = saved(ngram)
    dynlp("train-tagger", TREEBANK, "-o", tagger, "--epochs", "4", "--batch-size", "4", "--layers", "1",
          "--char-dim", "8", "--mlp-dim", "8", *QUICK,
          "--no-tokenizer",  # `tag --input text` as recorded: NLTK, a sentence per line
          "--no-calibrate")  # tagged as recorded: the networks' probabilities as trained
    results["train-tagger"] = saved(tagger)
    results.update(use_models(lm, ngram, tagger, score_text))
    for name, output in results.items():
        open(os.path.join(out, f"{name}.txt"), "w", encoding="utf-8").write(output)
    return results


def use_models(lm, ngram, tagger, score_text):
    """The commands that read a model: sample, score, tag, evaluate."""
    return {
        "sample": dynlp("sample", "-m", lm, "-n", "4", "--seed", "7", "--prefix", "the"),
        "sample-ngram": dynlp("sample", "-m", ngram, "-n", "3", "--seed", "7", "--top-k", "5"),
        "score": dynlp("score", "-m", lm, score_text),
        "score-json": dynlp("score", "-m", lm, score_text, "--json"),
        "score-ngram": dynlp("score", "-m", ngram, score_text),
        "tag": dynlp("tag", "-m", tagger, TREEBANK),
        "tag-text": dynlp("tag", "-m", tagger, "--input", "text", "-",
                          stdin="The cat sat on the mat .\nIt rained all day .\n"),
        "evaluate": without_calibration(dynlp("evaluate", "-m", tagger, TREEBANK, "--json")),
    }


def without_calibration(evaluation):
    """`dynlp evaluate --json`'s output as recorded: without the calibration figures added
    since (tests/test_confidence.py checks them)."""
    summary = json.loads(evaluation)
    summary.pop("calibration", None)
    return json.dumps(summary) + "\n"


if __name__ == "__main__":
    run_all(sys.argv[1])
