"""`dynlp train-lm` (recurrent or, with --ngram, count-based), `sample` and `score`."""
import json
import logging
import math
import sys
from dataclasses import asdict, fields

import numpy as np

from dynlp.cli.flags import LM_TRAINING, announce_choices, choose_level, settings, start
from dynlp.cli.output import check_model, chunk_results, output_file, output_path
from dynlp.config import TrainConfig, from_args
from dynlp.data.text import read_sentences, tokenize
from dynlp.errors import DataError, DynlpError
from dynlp.metrics import bits_per_token, perplexity
from dynlp.models.lm import LMConfig
from dynlp.models.ngram.model import NgramConfig
from dynlp.models.sampling import check_sampling
from dynlp.tasks import (check_output_dir, language_model_to_carry_on, load_language_model,
                         read_lm_corpus, sample_text, stream_loss, train_language_model,
                         train_ngram_model)

log = logging.getLogger("dynlp")


def train_lm(args):
    if getattr(args, "ngram", 0):
        return train_ngram(args)
    if getattr(args, "smoothing", "kneser-ney") != "kneser-ney":
        raise DynlpError("--smoothing is an n-gram model's (--ngram N); a recurrent model has "
                         "none")
    if args.init_from and args.resume:
        raise DynlpError("--init-from starts a new run from a trained model; --resume "
                         "continues one: give one of the two")
    check_output_dir(args.output, "language-model", args.resume, args.overwrite)
    verbose = start(args, training=True)
    lm_config, train_config = settings(args, LMConfig)
    trained, lm_config = language_model_to_carry_on(args.init_from, lm_config)
    train, dev = read_lm_corpus(args.train, args.dev, lm_config, train_config.dev_fraction)
    announce_choices(args)
    model, state = train_language_model(train, dev, lm_config, train_config, args.output,
                                        resume=args.resume, progress=verbose, seed=args.seed,
                                        init_from=trained)
    best = min(state.history, key=lambda m: m["dev_loss"]) if state.history else {}
    log.info("best dev perplexity %.2f; model in %s", best.get("dev_ppl", math.nan), args.output)
    return 0


def train_ngram(args):
    check_output_dir(args.output, "language-model", overwrite=args.overwrite)
    start(args)
    if args.stream or args.resume or args.init_from:
        flag = "--stream" if args.stream else "--resume" if args.resume else "--init-from"
        raise DynlpError(f"--ngram: {flag} is for recurrent models (an n-gram model reads line "
                         "by line, in one pass)")
    recurrent = recurrent_flags_given(args)
    if recurrent:
        raise DynlpError(f"--ngram: {', '.join(recurrent)} "
                         f"{'is' if len(recurrent) == 1 else 'are'} for recurrent models; an "
                         "n-gram model has no such setting (leave it out)")
    choose_level(args)
    config = NgramConfig(order=args.ngram, level=args.level, tokenized=args.tokenized,
                         smoothing=args.smoothing)
    config.check()
    train_config = from_args(TrainConfig, args)
    train, dev = read_lm_corpus(args.train, args.dev, config, train_config.dev_fraction)
    announce_choices(args)
    _, metrics = train_ngram_model(train, dev, config, args.output)
    unit = "char" if config.level == "char" else "word"
    log.info("%d-gram model (%s), n-grams per order %s, in %.1f s: dev perplexity %.2f, "
             "%.4f bits per %s; model in %s", config.order, config.smoothing, metrics["ngrams"],
             metrics["seconds"], metrics.get("dev_ppl", math.nan),
             metrics.get("dev_bits_per_token", math.nan), unit, args.output)
    return 0


def recurrent_flags_given(args):
    """The flags of a recurrent model or of its training given with other than their defaults."""
    shared = {f.name for f in fields(NgramConfig)} | {"dev_fraction"}
    defaults = {**asdict(LMConfig()), **asdict(TrainConfig()), **LM_TRAINING}
    return [f"--{name.replace('_', '-')}" for name, default in defaults.items()
            if name not in shared and getattr(args, name, default) != default]


def sample(args):
    check_sampling(args.temperature, args.top_k, args.max_len)
    if args.n < 1:
        raise DynlpError(f"-n must be at least 1 (got {args.n})")
    start(args)
    check_model(args.model, "language-model")
    model = load_language_model(args.model)
    announce_choices(args)
    _warn_about_unknown_prefix(model, args.prefix)
    rng = np.random.default_rng(args.seed)
    for _ in range(args.n):
        print(sample_text(model, rng, args.prefix, temperature=args.temperature,
                          top_k=args.top_k, max_len=args.max_len), flush=True)
    return 0


def _warn_about_unknown_prefix(model, prefix):
    """One line when the prefix holds tokens the model never saw (it reads them as <unk>)."""
    config = model.config
    unknown = [t for t in tokenize(prefix, config.level, config.tokenized) if t not in model.vocab]
    if unknown:
        shown = ", ".join(repr(t) for t in dict.fromkeys(unknown))
        log.warning("--prefix: %s never seen in training; the model reads %s as unknown",
                    shown, "it" if len(set(unknown)) == 1 else "them")


def score(args):
    verbose = start(args)
    config = check_model(args.model, "language-model")
    if args.stream:
        return _score_stream(args, config)
    totals = {"sentences": 0, "tokens": 0, "log_prob": 0.0}
    with output_file(output_path(args)) as out:
        for results in chunk_results("score", args, verbose):
            for result in results:
                if result is None:  # a blank line: keep the output aligned with the input
                    if not args.json:
                        out.write("\n")
                    continue
                total, tokens = result
                totals["sentences"] += 1
                totals["tokens"] += tokens
                totals["log_prob"] += total
                if not args.json:
                    out.write(f"{total:.4f}\n")
        if not totals["tokens"]:
            raise DataError(f"{args.input}: no text to score")
        summary = _with_perplexity(totals)
        if args.json:
            out.write(json.dumps(summary) + "\n")
    if not args.json:
        _print_perplexity(summary, f"{summary['sentences']} sentences", config)
    return 0


def _score_stream(args, config):
    """The perplexity of the whole input read as one stream, `</s>` between lines and the state
    carried across them: how a --stream model was trained and its dev perplexity measured, and
    how published corpus perplexities are counted.  The file's token ids are held in memory."""
    if not config.get("stream"):
        raise DynlpError(f"--stream: {args.model} was trained on separate lines (no --stream); "
                         "score it line by line")
    if args.ray:
        raise DynlpError("--stream reads the input in one process (and its forks): drop --ray")
    model = load_language_model(args.model)
    lines = read_sentences(args.input, model.config.level, model.config.tokenized, True)
    nll, tokens = stream_loss(model, lines, args.workers)
    summary = _with_perplexity({"lines": len(lines), "tokens": tokens, "log_prob": -nll})
    if args.json:
        with output_file(output_path(args)) as out:
            out.write(json.dumps(summary) + "\n")
    else:
        _print_perplexity(summary, f"{len(lines)} lines as one stream", config)
    return 0


def _with_perplexity(counts):
    """`counts` (with "tokens" and their summed "log_prob") plus perplexity and bits per token."""

    nll, tokens = -counts["log_prob"], counts["tokens"]
    return {**counts, "perplexity": perplexity(nll, tokens),
            "bits_per_token": bits_per_token(nll, tokens)}


def _print_perplexity(summary, what, config):
    unit = "char" if config["level"] == "char" else "word"
    print(f"{what}, {summary['tokens']} tokens: perplexity {summary['perplexity']:.3f}, "
          f"{summary['bits_per_token']:.4f} bits per {unit}", file=sys.stderr)
