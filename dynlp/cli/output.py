"""What the commands that read an input in chunks share: the chunks' results (here, in a local
pool, or on Ray), the output file (written atomically), and the model check made up front."""
import contextlib
import functools
import os
import sys

from dynlp import backend
from dynlp.cli.flags import DEFAULT_MODELS
from dynlp.config import from_args
from dynlp.data.text import read_lines
from dynlp.errors import DynlpError, ModelDirError
from dynlp.runtime.cluster import run_on_ray, tag_sentences_on_ray
from dynlp.runtime.work import chunk_size, chunked, run_chunks, score_chunk, tag_chunk, tagger_input
from dynlp.store.atomic import replacing
from dynlp.store.checkpoint import read_config
from dynlp.tasks.pipeline import has_tokenizer


def chunk_results(job, args, verbose, **options):
    """The results of `job` ("tag" or "score") for each chunk of the input, in input order:
    from this process or a local pool (`--workers`), or from a Ray cluster (`--ray`)."""

    backend_config = from_args(backend.BackendConfig, args)
    if args.ray and not (job == "tag" and _tokenized_here(args, options)):
        if args.input == "-":
            raise DynlpError("--ray: every worker reads the input file itself; give a file "
                             "on a shared path, not stdin")
        return run_on_ray(job, os.path.abspath(args.model), os.path.abspath(args.input),
                          args.ray, args.workers, backend_config, quiet=not verbose, **options)
    if job == "tag":  # here, or (raw text a tokenizer splits in order) tagged on Ray
        n_best = options.pop("n_best", None)
        chunks = chunked(tagger_input(args.input, model_dir=args.model, **options),
                         chunk_size(job))
        if args.ray:
            return tag_sentences_on_ray(os.path.abspath(args.model), chunks, args.ray,
                                        args.workers, backend_config, quiet=not verbose,
                                        n_best=n_best)
        return run_chunks(functools.partial(tag_chunk, n_best=n_best), args.model, chunks,
                          args.workers)
    lines = (text for _, text in read_lines(args.input))
    return run_chunks(score_chunk, args.model, chunked(lines, chunk_size(job)), args.workers)


def _tokenized_here(args, options):
    """Whether this process reads the input with the model's learned tokenizer (raw text): its
    sentence ends number every later sentence, so no worker can start in the middle."""
    return options.get("input_format", "conllu") != "conllu" and has_tokenizer(args.model)


def output_path(args):
    """OUT given as `-o OUT` or as the second positional argument (not both)."""
    if args.output and args.output_positional and args.output != args.output_positional:
        raise DynlpError("give the output file once: as -o OUT or as the second argument")
    return args.output or args.output_positional


def check_model(model_dir, kind):
    """The model's config, read up front: a missing or wrong-kind directory is one clear
    error before any worker starts (files and checksums are checked when a worker loads it)."""
    if model_dir == DEFAULT_MODELS[kind] and not os.path.isdir(model_dir):
        recipe = "train_lm.py" if kind == "language-model" else "train_tagger.py"
        raise ModelDirError(f"{model_dir}: no model there (the default -m); train one with "
                            f"python recipes/{recipe}, or give -m DIR")
    return read_config(model_dir, kind)["config"]


@contextlib.contextmanager
def output_file(path):
    """stdout for None or '-'; else a temporary file renamed into place only on success."""
    if path in (None, "-"):
        yield sys.stdout
        return
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise DynlpError(f"{path}: the directory {directory} does not exist")
    with replacing(path, sync=False) as out:
        yield out
