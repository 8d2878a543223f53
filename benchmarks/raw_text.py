"""Raw text in, CoNLL-U out: dynlp's learned tokenizer (and tagger) against UDPipe 1's, both
trained on the same treebank files and both given the same raw test text.

    python benchmarks/raw_text.py OUT                                  # tokenizers only, every ud_*
    python benchmarks/raw_text.py OUT --treebanks ug_udt --minutes 20   # and the taggers
    python benchmarks/raw_text.py OUT --table
    python benchmarks/raw_text.py OUT --treebanks en_ewt --speed MODEL_DIR   # raw text vs gold tokens
    python benchmarks/raw_text.py OUT --treebanks en_ewt --suffix-rule DIR/tokenizer   # the rule

For each `ud_*` folder of $DYNLP_DATA (default ../shared/data), each system in turn, one at a
time on an otherwise idle machine:
- **dynlp**: the tagger and the tokenizer learned beside it, as `dynlp train-tagger
  --max-minutes M` trains them (`--minutes M`: the two share M minutes, the tokenizer getting
  `--tokenizer-minutes` of them; without it, the tokenizer alone), on `*-ud-train.conllu` with
  `*-ud-dev.conllu`;
- **udpipe**: UDPipe 1 (`ufal.udpipe`, the `peers` extra) with its tokenizer (its defaults), and
  its tagger when dynlp's is trained, on the same two files.

The test file's raw text is each paragraph (or document: `# newpar`, `# newdoc`; a file without
either is one document) as one line, a blank line between them: sentences are not given.  Each
system's CoNLL-U is scored by the CoNLL 2018 script (tests/data/conll18_ud_eval.py, unchanged;
a HEAD chain is written in for it, as it checks trees) and by dynlp's own count of the same
(data/conll18.py: `dynlp evaluate --raw-text`), which must agree to 0.01 points.  With taggers,
each tagger is also given the test's gold tokens, for the cost of raw text (`--table`: in
brackets).  Results go to
OUT/NAME/SYSTEM.json; `--table` prints the Markdown table of all of them.
"""
import argparse
import json
import logging
import os
import subprocess
import sys
import time

from common import official_script, part, provenance, read_udpipe_sentences, treebanks
from dynlp.cli.flags import TAGGER_TRAINING, add_common_arguments, start
from dynlp.config import TrainConfig
from dynlp.data import conll18
from dynlp.data.rawtext import paragraph_texts, sentences_from_labels
from dynlp.data.treebank import conllu_text, read_conllu, read_treebank, sentence_from_tokens
from dynlp.models.tokenizer import CharTokenizer
from dynlp.models.tagger.config import TaggerConfig
from dynlp.tasks.pipeline import (TOKENIZER_MINUTES, load_tokenizer, tag_text, tagger_minutes,
                                  tokenizer_corpus, train_tagger_and_tokenizer,
                                  train_tokenizer_beside)
from dynlp.tasks.tokenizer import label_texts, tokenized_sentences

TOKENS = ("Tokens", "Sentences", "Words")
TAGS = ("UPOS", "XPOS", "UFeats", "AllTags", "Lemmas")
log = logging.getLogger("dynlp")


def raw_test_text(folder):
    """The test file's paragraphs, as a user's text file has them."""
    return paragraph_texts(list(read_conllu(part(folder, "test"), ())))


# ---- dynlp ------------------------------------------------------------------------------------
def run_dynlp(folder, out_dir, args):
    began = time.time()
    train, dev, tagger = part(folder, "train"), part(folder, "dev"), None
    if args.minutes:  # as `dynlp train-tagger --max-minutes M` trains the two
        config = TrainConfig(**TAGGER_TRAINING, max_minutes=args.minutes)
        tagger, *_ = train_tagger_and_tokenizer(train, dev, TaggerConfig(), config, out_dir,
                                                args.tokenizer_minutes, seed=args.seed)
    else:
        train_tokenizer_beside(tokenizer_corpus(train, dev, 0.05), out_dir,
                               args.tokenizer_minutes, seed=args.seed)
    minutes = (time.time() - began) / 60
    paragraphs = raw_test_text(folder)
    tokenizer = load_tokenizer(out_dir)  # as `dynlp tag` loads it: tokenizing in numpy
    began = time.time()
    if tagger is None:
        sentences = [s.lines for s in tokenized_sentences(tokenizer, paragraphs)]
    else:
        sentences = tag_text(tagger, tokenizer, paragraphs)
    seconds = time.time() - began
    gold = None
    if tagger is not None:  # the same tagger on the test's gold tokens, for comparison
        test = read_treebank(part(folder, "test"), tagger.columns)
        predicted = tagger.predict_many([s.forms for s in test])
        gold = conllu_blocks(conllu_text(s.with_tags(p) for s, p in zip(test, predicted)))
    return minutes, seconds, sentences, gold


# ---- UDPipe 1 ---------------------------------------------------------------------------------
def run_udpipe(folder, out_dir, args):
    import ufal.udpipe as udpipe

    train, dev = (read_udpipe_sentences(udpipe, part(folder, name)) for name in ("train", "dev"))
    error = udpipe.ProcessingError()
    tagger = udpipe.Trainer.DEFAULT if args.minutes else udpipe.Trainer.NONE
    began = time.time()
    blob = udpipe.Trainer.train("morphodita_parsito", train, dev, udpipe.Trainer.DEFAULT,
                                tagger, udpipe.Trainer.NONE, error)
    minutes = (time.time() - began) / 60
    if error.occurred():
        sys.exit(f"raw_text.py: UDPipe training failed: {error.message}")
    path = os.path.join(out_dir, "udpipe.model")
    with open(path, "wb") as f:
        f.write(blob if isinstance(blob, bytes) else blob.encode("latin-1"))
    model = udpipe.Model.load(path)
    tag = udpipe.Pipeline.DEFAULT if args.minutes else udpipe.Pipeline.NONE
    pipeline = udpipe.Pipeline(model, "tokenize", tag, udpipe.Pipeline.NONE, "conllu")
    began = time.time()
    output = pipeline.process("\n\n".join(raw_test_text(folder)) + "\n", error)
    seconds = time.time() - began
    sentences = conllu_blocks(output)
    gold = None
    if args.minutes:  # the same tagger on the test's gold tokens, for comparison
        with open(part(folder, "test"), encoding="utf-8") as f:
            gold = conllu_blocks(udpipe.Pipeline(model, "conllu", tag, udpipe.Pipeline.NONE,
                                                 "conllu").process(f.read(), error))
    return minutes, seconds, sentences, gold


# ---- scoring ----------------------------------------------------------------------------------
def with_chain_heads(lines):
    """A sentence's lines with HEAD i-1 on word i (the official script checks the tree), and
    MISC without the raw spaces UDPipe writes into SpacesAfter= (dynlp's reader refuses
    padded cells; no score reads MISC)."""
    out = []
    for line in lines:
        cells = line.split("\t")
        if len(cells) == 10 and cells[0].isdigit():
            head = int(cells[0]) - 1
            cells[6], cells[7] = str(head), "root" if head == 0 else "dep"
        if len(cells) == 10:
            cells[9] = "".join("\\s" if c.isspace() else c for c in cells[9])
        out.append("\t".join(cells))
    return out


def conllu_blocks(text):
    """The lines of each sentence of CoNLL-U text."""
    return [block.split("\n") for block in text.strip("\n").split("\n\n")]


def write_sentences(path, sentences):
    """Each sentence's lines, made checkable by the official script (above)."""
    with open(path, "w", encoding="utf-8") as f:
        f.write("".join("\n".join(with_chain_heads(lines)) + "\n\n" for lines in sentences))


def score(gold_path, system_path):
    """{metric: F1 in points} by the official script, and by dynlp's count of the same."""
    script = official_script()
    official = script.evaluate(script.load_conllu_file(gold_path),
                               script.load_conllu_file(system_path))
    ours = conll18.evaluate(list(read_conllu(gold_path, ())), list(read_conllu(system_path, ())))
    return ({m: round(100 * official[m].f1, 2) for m in TOKENS + TAGS},
            {m: round(100 * ours[m][2], 2) for m in TOKENS + TAGS})


def run(system, name, folder, args):
    out_dir = os.path.join(args.output, name, system)
    os.makedirs(out_dir, exist_ok=True)
    runner = run_dynlp if system == "dynlp" else run_udpipe
    minutes, seconds, sentences, gold = runner(folder, out_dir, args)
    system_path = os.path.join(out_dir, "test.conllu")
    write_sentences(system_path, sentences)
    words = sum(1 for lines in sentences for line in lines if line.split("\t")[0].isdigit())
    official, ours = score(part(folder, "test"), system_path)
    result = {"treebank": name, "system": system, "official": official, "dynlp_count": ours,
              "agree": all(abs(official[m] - ours[m]) <= 0.01 for m in official),
              "train_minutes": round(minutes, 1), "words_per_second": round(words / seconds),
              "minutes": args.minutes, "tokenizer_minutes": args.tokenizer_minutes,
              "tagger_minutes": tagger_minutes(args.minutes, args.tokenizer_minutes),
              **provenance(), "load": round(os.getloadavg()[0], 2)}
    if gold is not None:
        gold_path = os.path.join(out_dir, "test-gold-tokens.conllu")
        write_sentences(gold_path, gold)
        result["gold_tokens"] = {m: f1 for m, f1 in score(part(folder, "test"), gold_path)[0].items()
                                 if m in TAGS}
    with open(os.path.join(args.output, name, f"{system}.json"), "w") as f:
        json.dump(result, f, indent=1)
    log.info("%s", json.dumps(result))


def speed(model_dir, folder, output, repeats=3):
    """`dynlp tag`'s words/s on the test file's raw text (`--input text`, tokenizer and tagger)
    and on its gold tokens (CoNLL-U), one worker each, the whole command timed, alternately;
    the median of `repeats` runs each."""
    raw = os.path.join(output, "raw-test.txt")
    with open(raw, "w", encoding="utf-8") as f:
        f.write("\n\n".join(raw_test_text(folder)) + "\n")
    runs = {"raw text": ["--input", "text", raw], "gold tokens": [part(folder, "test")]}
    seconds = {name: [] for name in runs}
    for _ in range(repeats):
        for name, given in runs.items():
            out = os.path.join(output, "speed.conllu")
            began = time.time()
            subprocess.run([sys.executable, "-m", "dynlp.cli", "tag", "-m", model_dir, *given,
                            "--workers", "1", "--quiet", "-o", out], check=True)
            seconds[name].append(time.time() - began)
            seconds[name + " words"] = sum(1 for line in open(out, encoding="utf-8")
                                           if line.split("\t")[0].isdigit())
    result = {name: round(seconds[name + " words"] / sorted(seconds[name])[repeats // 2])
              for name in runs}
    result["ratio"] = round(result["raw text"] / result["gold tokens"], 2)
    return result


def suffix_rule(tokenizer_dir, folder, split):
    """{rule off / on: {Tokens, Sentences, Words F1}} of one tokenizer's labels of a file's raw
    text, multiword tokens never seen in training left whole or cut by the suffix rule."""
    tokenizer = CharTokenizer.load(tokenizer_dir)
    tokenizer.freeze()
    gold = list(read_conllu(part(folder, split), ()))
    texts = paragraph_texts(gold)
    labels = label_texts(tokenizer, texts)
    scores = {}
    for name, rules in (("off", None), ("on", tokenizer.suffix_rules)):
        system, number = [], 1
        for text, these in zip(texts, labels):
            for sentence_text, tokens in sentences_from_labels(text, these, tokenizer.multiwords,
                                                               rules=rules):
                system.append(sentence_from_tokens(tokens, number, sentence_text))
                number += 1
        found = conll18.evaluate(gold, system)
        scores[name] = {m: round(100 * found[m][2], 2) for m in TOKENS}
    return scores


def has_xpos(name):
    """Whether a treebank's test file fills XPOS (else the column only counts words: "—")."""
    with open(part(treebanks([name])[name], "test"), encoding="utf-8") as f:
        return any(len(cells) == 10 and cells[4] != "_"
                   for cells in (line.split("\t") for line in f))


def table(output):
    rows = ["| treebank | system | " + " | ".join(TOKENS + TAGS) + " | training minutes | "
            "raw-text words/s | evaluators agree |", "|" + " --- |" * (len(TOKENS + TAGS) + 5)]
    for name in sorted(os.listdir(output)):
        for system in ("dynlp", "udpipe"):
            path = os.path.join(output, name, f"{system}.json")
            if os.path.isfile(path):
                r = json.load(open(path))
                shown = TOKENS + (TAGS if r["tagger_minutes"] > 0 else ())
                if not has_xpos(name):
                    shown = tuple(m for m in shown if m != "XPOS")
                gold = r.get("gold_tokens", {})  # the same tagger given the gold tokens
                cells = [(f"{r['official'][m]:.2f}" + (f" ({gold[m]:.2f})" if m in gold else ""))
                         if m in shown else "—" for m in TOKENS + TAGS]
                rows.append(f"| {name} | {system} | " + " | ".join(cells) +
                            f" | {r['train_minutes']} | {r['words_per_second']:,} | "
                            f"{'yes' if r['agree'] else 'no'} |")
    return "\n".join(rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", metavar="OUT")
    parser.add_argument("--treebanks", nargs="*", help="names such as en_ewt (default: all)")
    parser.add_argument("--systems", nargs="*", default=["dynlp", "udpipe"])
    parser.add_argument("--minutes", type=float, default=0.0,
                        help="dynlp's tagger and tokenizer together (0: the tokenizer alone)")
    parser.add_argument("--tokenizer-minutes", type=float, default=TOKENIZER_MINUTES)
    parser.add_argument("--table", action="store_true")
    parser.add_argument("--suffix-rule", metavar="TOKENIZER_DIR",
                        help="only score a trained tokenizer's labels of dev and test with and "
                             "without the suffix rule for unseen multiword tokens")
    parser.add_argument("--speed", metavar="MODEL_DIR",
                        help="only time `dynlp tag` of a trained tagger (with its tokenizer) on "
                             "each treebank's raw test text and on its gold tokens")
    add_common_arguments(parser, training=True)
    args = parser.parse_args()
    if args.table:
        print(table(args.output))
        return
    if args.suffix_rule:
        for name, folder in treebanks(args.treebanks).items():
            for split in ("dev", "test"):
                print(name, split, json.dumps(suffix_rule(args.suffix_rule, folder, split)))
        return
    if args.speed:
        for name, folder in treebanks(args.treebanks).items():
            print(name, json.dumps(speed(args.speed, folder, args.output)))
        return
    start(args, training=True)
    if not args.quiet and not log.handlers:  # the epochs, also when stderr is a file
        logging.basicConfig(level=logging.INFO, format="%(message)s")
    for name, folder in treebanks(args.treebanks).items():
        for system in args.systems:
            run(system, name, folder, args)


if __name__ == "__main__":
    main()
