"""Words per second of dynlp against a PyTorch twin of each model, on the same machine and data.

    python benchmarks/speed.py [--quick] [--json] [--rows tagger_train,lm_eval] [...]

Rows (sizes of issue 4; each tagger row's model is stated in full in TAGGER / TAGGER_DEFAULT):
  tagger_train  BiLSTM tagger on UD English-EWT train: word emb 128 (lowercased lookup) +
                character BiLSTM 100, BiLSTM 2 x 256, MLP 64, UPOS, one network, no label
                smoothing; Adam, clip 5, batches of 32 length-bucketed sentences, dropout
                0.33, word dropout 0.25
  tagger_infer  the same model tagging EWT dev + test (dynlp: the `dynlp tag` path,
                work.run_chunks over a saved model, one worker per core by default; with
                --tag-workers 0, `predict_many` in one process)
  tagger_default_train, tagger_default_infer  the same for the shipped default model (UPOS):
                two networks, label smoothing 0.1, emb 100, char 150, BiLSTM 2 x 200, MLP 100;
                the PyTorch twin is two networks too (torch_models.TorchEnsemble)
  lm_train      word LM on PTB train as one stream: vocab 10k, emb 256, 1 LSTM layer of 256;
                SGD lr 1, clip 5, 20 streams x 35 steps (truncated BPTT)
  lm_eval       the same model on PTB valid, 20 streams x 35 steps, no gradients (dynlp's dev
                and test perplexity path, `train.evaluate_loss`, by default over one forked
                process per core, 10 streams each; PyTorch reads the same 20 streams)
  lm_train_large  the README's PTB flags on WikiText-2 (33k words): 2 LSTM layers of 256,
                tied 256-dim embeddings, dropout 0.25, SGD lr 1, clip 5, 20 streams x 35
                steps, and the class-factored softmax (issue 17): the PyTorch twin has the
                same classes (softmax.frequency_classes) and computes them the same way, one
                product per class present in the batch

dynlp runs through its own classes and training loop (`train.run_epoch`, what `dynlp
train-*` runs each epoch: by default Hogwild over one process per core); PyTorch runs
benchmarks/torch_models.py with --torch-threads (default 2) threads.  Every (row, framework)
runs in a fresh process, which reports its own peak resident memory.  Training is timed for
--seconds (or one epoch, if shorter) from freshly initialised weights; speed does not depend
on the weights' values.  Each row runs --repeats times (default 3) per framework, the two taking
turns, and the median run is reported (all runs' words/s under "runs"): PyTorch's two threads
vary by up to 25% from one run to the next on this machine, dynlp's processes by less.

With --gpus 1 both frameworks run on the GPU (a CUDA build of DyNet; PyTorch on "cuda"), one
process each, and every row also reports "gpu_mb": the GPU memory the process held at its end,
as nvidia-smi counts it (both keep what they allocate in pools, so that is their peak).
--train-batch N sets the training rows' batch (sentences or streams) for both, e.g. 256, the
size a GPU user would pick.

"share" is the model's estimated FLOPs per word (forward x 3 when training) times words/s,
over the machine's measured float32 matrix-multiply GFLOP/s (torch, --torch-threads threads).
Data is read from $DYNLP_DATA (default ../shared/data).
"""
import argparse
import json
import math
import os
import platform
import resource
import subprocess
import sys
import time


ROWS = ("tagger_train", "tagger_infer", "tagger_default_train", "tagger_default_infer",
        "lm_train", "lm_eval", "lm_train_large")
# Each tagger row states its model in full, every TaggerConfig field, so that a changed default
# cannot silently move a row (it did: two networks became the default and the rows compared two
# against the twin's one).  The PyTorch twin builds the same model from the same settings, and
# tests/test_speed_benchmark.py checks that both sides describe the same architecture.
# The sizes of issue 4; char_dim 100 was dynlp's default when these rows were first measured.
TAGGER = dict(columns="upos", feats="bundle", min_count=1, lowercase=True, layers=2,
              emb_dim=128, embeddings="", embeddings_max=250000, embeddings_count=0,
              char_dim=100, hidden_dim=256, mlp_dim=64, dropout=0.33,
              word_dropout=0.25, label_smoothing=0.0, ensemble=1, distill=False, adversarial=0.0,
              calibrate=False)
# The shipped default (UPOS only: the twin has one head): two networks, label smoothing 0.1.
# The test fails when dynlp's defaults move away from it, so that this row is changed on purpose.
TAGGER_DEFAULT = dict(columns="upos", feats="bundle", min_count=1, lowercase=True, layers=2,
                      emb_dim=100, embeddings="", embeddings_max=250000, embeddings_count=0,
                      char_dim=150, hidden_dim=200, mlp_dim=100, dropout=0.33,
                      word_dropout=0.25, label_smoothing=0.1, ensemble=2, distill=False,
                      adversarial=0.0, calibrate=True)


def tagger_settings(row):
    """The tagger model of a tagger row."""
    return TAGGER_DEFAULT if row.startswith("tagger_default") else TAGGER
LM = dict(level="word", tokenized=True, stream=True, layers=1, emb_dim=256, hidden_dim=256,
          softmax="full")
LM_TRAIN = dict(trainer="sgd", lr=1.0, clip=5.0, batch_size=20, bptt=35)
LM_LARGE = dict(LM, layers=2, tie_weights=True, dropout=0.25, softmax="class")


# ---- data (pure Python: shared by both frameworks) ----------------------------------------------
def ewt(part, limit=None):
    from dynlp.data.text import data_dir
    from dynlp.data.treebank import read_treebank

    path = os.path.join(data_dir(), "ud_en_ewt", f"en_ewt-ud-{part}.conllu")
    return read_treebank(path)[:limit]


def ptb(part, limit=None):
    from dynlp.data.text import data_dir, read_sentences

    path = os.path.join(data_dir(), "ptb", f"ptb.{part}.txt")
    return read_sentences(path, "word", True, True)[:limit]


def wikitext2(part, limit=None):
    from dynlp.data.text import data_dir, read_sentences

    path = os.path.join(data_dir(), "wikitext2", f"{part}.txt")
    return read_sentences(path, "word", True, True)[:limit]


def tagger_data(quick):
    # UPOS only: the PyTorch twin has one head
    train = [(s.forms, s.tags["upos"]) for s in ewt("train", 800 if quick else None)]
    test = [s.forms for part in ("dev", "test") for s in ewt(part, 300 if quick else None)]
    return train, test


def lm_vocab(train):
    from dynlp.data.vocab import Vocab

    return Vocab.build(train)


# ---- one measurement in this process ---------------------------------------------------------
_cpu_at_start = [0.0]


def start_clock():
    """Wall time now; also remembers the CPU time used so far (this process and children)."""
    _cpu_at_start[0] = sum(os.times()[:4])
    return time.time()


def measure(row, framework, args):
    began = time.time()
    result = (DYNLP if framework == "dynlp" else TORCH)[row](args)
    cpu = sum(os.times()[:4]) - _cpu_at_start[0]  # CPU seconds since the timed part began
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if args.gpus:
        result["gpu_mb"] = gpu_memory_mb()
    return {**result, "peak_mb": round(max(peak, children) / 1024), "wall": time.time() - began,
            "cpu_seconds": cpu}


def gpu_memory_mb():
    """GPU memory (MiB) this process holds now, as nvidia-smi reports it; None if it cannot."""
    try:
        listing = subprocess.run(["nvidia-smi", "--query-compute-apps=pid,used_memory",
                                  "--format=csv,noheader,nounits"],
                                 capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    for line in listing.splitlines():
        pid, _, used = line.partition(",")
        if pid.strip() == str(os.getpid()):
            return int(used.strip())
    return None


def train_batch(args, default):
    return args.train_batch or default


def dynlp_setup(args, inference=False):
    """DyNet as the dynlp command of the row starts it (`dynlp tag`: cli.start's memory)."""
    from dynlp.backend import INFERENCE_MEM, BackendConfig, configure

    mem = args.mem or (INFERENCE_MEM if inference else "")
    # On a GPU one process does the work (backend.check_gpu_processes): nothing to share.
    configure(BackendConfig(seed=1, mem=mem, autobatch=args.autobatch, gpus=args.gpus,
                            shared_parameters=args.train_workers != 1 and not args.gpus))


def dynlp_tagger(settings, pairs):
    from dynlp.models.tagger.config import TaggerConfig
    from dynlp.models.tagger.network import BiLSTMTagger

    return BiLSTMTagger.from_training_data(TaggerConfig(**settings), upos_pairs(pairs))


def dynlp_architecture(model):
    """What a dynlp tagger is, read off its parameters (the twin's `architecture` to match)."""
    from dynlp.models.layers import lstm_weights

    encoder, head = model.networks[0].encoder, model.networks[0].heads[0]
    forward, _ = encoder.layers[0]
    return {"networks": len(model.networks), "emb_dim": encoder.E.shape()[1],
            "char_dim": encoder.C.shape()[1], "hidden_dim": lstm_weights(forward)[1].shape()[1],
            "layers": len(encoder.layers), "mlp_dim": head.mlp.W1.shape()[0],
            "tags": head.mlp.W2.shape()[0], "dropout": model.config.dropout,
            "word_dropout": model.config.word_dropout,
            "label_smoothing": model.config.label_smoothing,
            "lowercase": model.config.lowercase}


def upos_pairs(pairs):
    """(forms, tags) pairs as dynlp's tagger takes them: (forms, {"upos": tags})."""
    return [(forms, {"upos": tags}) for forms, tags in pairs]


def dynlp_tagger_train(args, settings=TAGGER):
    import numpy as np
    from dynlp.config import TrainConfig
    from dynlp.models.tagger.network import tag_batches
    from dynlp.training.loop import make_trainer

    dynlp_setup(args)
    pairs, _ = tagger_data(args.quick)
    model = dynlp_tagger(settings, pairs)
    config = TrainConfig(batch_size=train_batch(args, 32), max_minutes=args.seconds / 60,
                         workers=args.train_workers)
    trainer = make_trainer(model.pc, config, config.learning_rate())
    batches = tag_batches(upos_pairs(pairs), config.batch_size, np.random.default_rng(1))
    if args.dev:
        from dynlp.tasks import tagger_dev_metrics

        return {**train_for(model, trainer,
                            lambda rng: tag_batches(upos_pairs(pairs), config.batch_size, rng),
                            config, args.seconds),
                "dev_accuracy": tagger_dev_metrics(model, ewt("dev"))["dev_upos"]}
    return one_epoch(model, trainer, batches, config)


def one_epoch(model, trainer, batches, config):
    """What `dynlp train-*` runs each epoch (`train.run_epoch`, on as many processes as the
    loop's --workers rule gives), timed."""
    from dynlp.training.loop import run_epoch, training_workers

    workers = training_workers(config, len(batches))
    stats = run_epoch(model, trainer, batches, config, start_clock(), False, 1, workers)
    return {"words": stats["train_tokens"], "seconds": stats["seconds"], "processes": workers}


def train_for(model, trainer, batches, config, seconds):
    """dynlp's epoch loop, epoch after epoch, until `seconds` are up (no dev, no checkpoints)."""
    import numpy as np
    from dynlp.training.loop import run_epoch, training_workers

    words, began, epoch = 0, start_clock(), 0
    while time.time() - began < seconds:
        epoch += 1
        epoch_batches = batches(np.random.default_rng([1, epoch]))
        stats = run_epoch(model, trainer, epoch_batches, config, began, False, epoch,
                          training_workers(config, len(epoch_batches)))
        words += stats["train_tokens"]
    return {"words": words, "seconds": time.time() - began}


def dynlp_tagger_infer(args, settings=TAGGER):
    import tempfile

    from dynlp.runtime.work import chunk_size, chunked, run_chunks, tag_chunk

    dynlp_setup(args, inference=True)
    pairs, test = tagger_data(args.quick)
    model = dynlp_tagger(settings, pairs)
    words = sum(map(len, test))
    if args.tag_workers == 0:  # the library call, in this process
        began = start_clock()
        model.predict_many(test, batch_size=args.infer_batch)
        return {"words": words, "seconds": time.time() - began}
    # `dynlp tag --workers N`: chunks of sentences to worker processes that load the model
    sentences = [s for part in ("dev", "test") for s in
                 ewt(part, 300 if args.quick else None)]
    with tempfile.TemporaryDirectory() as directory:
        model.save(directory)
        # Load it before the clock starts, as PyTorch's row has its model in memory.  (Loading
        # is DyNet's text parameter format: 0.8 s for this model; reported as "load_seconds".)
        loading = time.time()
        tag_chunk(directory, [])
        load_seconds = time.time() - loading
        began = start_clock()
        workers = args.tag_workers if args.tag_workers > 0 else None  # None: `dynlp tag`'s rule
        for _ in run_chunks(tag_chunk, directory, chunked(sentences, chunk_size("tag")), workers):
            pass
        return {"words": words, "seconds": time.time() - began,
                "load_seconds": round(load_seconds, 2)}


def dynlp_lm(train, settings=LM):
    from dynlp.models.lm import LMConfig
    from dynlp.models.lm import RNNLanguageModel

    return RNNLanguageModel(LMConfig(**settings), lm_vocab(train))


def dynlp_lm_train(args, corpus=ptb, settings=LM):
    from dynlp.config import TrainConfig
    from dynlp.tasks import lm_batches
    from dynlp.training.loop import make_trainer

    dynlp_setup(args)
    train = corpus("train", 5000 if args.quick else None)
    model = dynlp_lm(train, settings)
    config = TrainConfig(**{**LM_TRAIN, "batch_size": train_batch(args, 20)},
                         max_minutes=args.seconds / 60, workers=args.train_workers)
    trainer = make_trainer(model.pc, config, config.learning_rate(), model.dense_gradients)
    batches = lm_batches(train, model.vocab, model.config, config.batch_size, 35,
                         training=True)(None)
    if args.dev:
        from dynlp.training.loop import mean_loss_metrics

        dev = lm_batches(corpus("valid"), model.vocab, model.config, 20, 35, training=False)
        return {**train_for(model, trainer, lambda rng: batches, config, args.seconds),
                "dev_ppl": mean_loss_metrics(model, dev)["dev_ppl"]}
    return one_epoch(model, trainer, batches, config)


def dynlp_lm_eval(args):
    from dynlp.tasks import lm as pipeline
    from dynlp.training.loop import evaluate_loss

    dynlp_setup(args)
    train = ptb("train", 5000 if args.quick else None)
    valid = ptb("valid", 1000 if args.quick else None)
    model = dynlp_lm(train)
    if args.eval_streams:
        pipeline.EVAL_STREAMS = args.eval_streams
    batches = pipeline.lm_batches(valid, model.vocab, model.config, 20, 35, training=False)
    began = start_clock()
    _, tokens = evaluate_loss(model, batches, args.eval_workers)
    return {"words": tokens, "seconds": time.time() - began}


def dynlp_lm_train_large(args):
    return dynlp_lm_train(args, wikitext2, LM_LARGE)


DYNLP = {"tagger_train": dynlp_tagger_train, "tagger_infer": dynlp_tagger_infer,
         "tagger_default_train": lambda args: dynlp_tagger_train(args, TAGGER_DEFAULT),
         "tagger_default_infer": lambda args: dynlp_tagger_infer(args, TAGGER_DEFAULT),
         "lm_train": dynlp_lm_train, "lm_eval": dynlp_lm_eval,
         "lm_train_large": dynlp_lm_train_large}


# ---- the PyTorch twins -----------------------------------------------------------------------------
def torch_setup(args):
    import torch

    torch.manual_seed(1)
    torch.set_num_threads(args.torch_threads)
    return torch


def torch_device(args):
    return "cuda" if args.gpus else "cpu"


def torch_tagger(pairs, settings=TAGGER):
    """The twin of `dynlp_tagger(settings, pairs)`: one TorchTagger, or an ensemble of them."""
    from dynlp.models.tagger.config import TaggerConfig
    from dynlp.data.vocab import Vocab
    from torch_models import TorchEnsemble

    config = TaggerConfig(**settings)
    words = Vocab.build([[f.lower() for f in forms] for forms, _ in pairs], config.min_count)
    chars = Vocab.build([f[:15] + f[-15:] if len(f) > 30 else f
                         for forms, _ in pairs for f in forms])
    tags = Vocab.build([tags for _, tags in pairs])
    return TorchEnsemble(words, chars, tags, config)


def torch_tagger_train(args, settings=TAGGER):
    import numpy as np
    from dynlp.data.batches import bucketed

    torch = torch_setup(args)
    pairs, _ = tagger_data(args.quick)
    model = torch_tagger(pairs, settings).to(torch_device(args))
    optimiser = torch.optim.Adam(model.parameters(), lr=0.002)
    batch = train_batch(args, 32)
    words, began, epoch = 0, start_clock(), 0
    while time.time() - began < args.seconds and (args.dev or epoch < 1):
        epoch += 1
        model.train()
        for chunk in bucketed(pairs, batch, lambda pair: len(pair[0]),
                              np.random.default_rng([1, epoch])):
            optimiser.zero_grad()
            loss = model.loss([forms for forms, _ in chunk],
                              [model.tags.encode(t) for _, t in chunk])
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            optimiser.step()
            words += sum(len(forms) for forms, _ in chunk)
            if time.time() - began > args.seconds:
                break
    result = {"words": words, "seconds": time.time() - began}
    if args.dev:
        model.eval()
        dev = ewt("dev")
        right = sum(p == g for s in dev
                    for p, g in zip(model.predict_batch([s.forms])[0], s.tags["upos"]))
        result["dev_accuracy"] = right / sum(len(s.forms) for s in dev)
    return result


def torch_tagger_infer(args, settings=TAGGER):
    torch_setup(args)
    pairs, test = tagger_data(args.quick)
    model = torch_tagger(pairs, settings).to(torch_device(args))
    model.eval()
    began = start_clock()
    order = sorted(range(len(test)), key=lambda i: len(test[i]))
    for start in range(0, len(order), args.infer_batch):
        model.predict_batch([test[i] for i in order[start:start + args.infer_batch]])
    return {"words": sum(map(len, test)), "seconds": time.time() - began}


def torch_stream(torch, sentences, vocab, streams, device="cpu"):
    from dynlp.data.batches import flatten_stream

    ids = flatten_stream([vocab.encode(s) for s in sentences], vocab.eos)
    steps = (len(ids) - 1) // streams
    data = torch.tensor(ids[:steps * streams + 1], device=device)
    return (data[:-1].reshape(streams, steps).t().contiguous(),
            data[1:].reshape(streams, steps).t().contiguous())


def torch_lm(train):
    from torch_models import TorchLM

    vocab = lm_vocab(train)
    return TorchLM(len(vocab), LM["emb_dim"], LM["hidden_dim"], LM["layers"]), vocab


def torch_class_lm(train):
    """The lm_train_large twin: dynlp's classes for this vocabulary (the same counts and
    number), so both sides compute the same products."""
    from dynlp.models.lm import class_counts
    from dynlp.models.softmax import default_classes, frequency_classes
    from torch_models import TorchClassLM

    vocab = lm_vocab(train)
    classes = frequency_classes(class_counts(vocab), default_classes(len(vocab)))
    model = TorchClassLM(len(vocab), LM_LARGE["emb_dim"], LM_LARGE["hidden_dim"],
                         LM_LARGE["layers"], classes, LM_LARGE["dropout"])
    return model, vocab


def torch_lm_train(args, corpus=ptb, make_model=torch_lm):
    torch = torch_setup(args)
    train = corpus("train", 5000 if args.quick else None)
    model, vocab = make_model(train)
    model.to(torch_device(args))
    streams = train_batch(args, 20)
    inputs, targets = torch_stream(torch, train, vocab, streams, torch_device(args))
    optimiser = torch.optim.SGD(model.parameters(), lr=1.0)
    words, began, epoch = 0, start_clock(), 0
    while time.time() - began < args.seconds and (args.dev or epoch < 1):
        epoch += 1
        model.train()
        state = None
        for t in range(0, inputs.shape[0], 35):
            optimiser.zero_grad()
            total, state = model.nll(inputs[t:t + 35], targets[t:t + 35], state)
            (total / streams).backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            optimiser.step()
            words += inputs[t:t + 35].numel()
            if time.time() - began > args.seconds:
                break
    result = {"words": words, "seconds": time.time() - began}
    if args.dev:
        result["dev_ppl"] = torch_perplexity(torch, model, vocab, corpus("valid"),
                                             eval_streams(args), torch_device(args))
    return result


def torch_lm_train_large(args):
    return torch_lm_train(args, wikitext2, torch_class_lm)


def eval_streams(args):
    """Streams for evaluation, the same on both sides: dynlp's default unless --eval-streams."""
    from dynlp.tasks.lm import EVAL_STREAMS

    return args.eval_streams or EVAL_STREAMS


def torch_perplexity(torch, model, vocab, sentences, streams, device="cpu"):
    inputs, targets = torch_stream(torch, sentences, vocab, streams, device)
    model.eval()
    state, total = None, 0.0
    with torch.no_grad():
        for t in range(0, inputs.shape[0], 35):
            nll, state = model.nll(inputs[t:t + 35], targets[t:t + 35], state)
            total += float(nll)
    return math.exp(total / inputs.numel())


def torch_lm_eval(args):
    torch = torch_setup(args)
    train = ptb("train", 5000 if args.quick else None)
    valid = ptb("valid", 1000 if args.quick else None)
    model, vocab = torch_lm(train)
    model.to(torch_device(args))
    inputs, targets = torch_stream(torch, valid, vocab, eval_streams(args), torch_device(args))
    model.eval()
    state, began = None, start_clock()
    with torch.no_grad():
        for t in range(0, inputs.shape[0], 35):
            _, state = model.nll(inputs[t:t + 35], targets[t:t + 35], state)
    return {"words": inputs.numel(), "seconds": time.time() - began}


TORCH = {"tagger_train": torch_tagger_train, "tagger_infer": torch_tagger_infer,
         "tagger_default_train": lambda args: torch_tagger_train(args, TAGGER_DEFAULT),
         "tagger_default_infer": lambda args: torch_tagger_infer(args, TAGGER_DEFAULT),
         "lm_train": torch_lm_train, "lm_eval": torch_lm_eval,
         "lm_train_large": torch_lm_train_large}


# ---- machine throughput and model FLOPs ----------------------------------------------------------
def matmul_gflops(threads, device="cpu", size=1024, repeats=10):
    """Best float32 matrix-multiply GFLOP/s of torch with `threads` threads (or on the GPU);
    None without torch."""
    try:
        import torch
    except ImportError:
        return None

    torch.set_num_threads(threads)
    a, b = torch.randn(size, size, device=device), torch.randn(size, size, device=device)
    best = float("inf")
    for _ in range(repeats):
        began = time.perf_counter()
        a @ b
        if device != "cpu":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - began)
    return 2 * size ** 3 / best / 1e9


def lstm_flops(input_dim, hidden_dim):
    return 2 * 4 * hidden_dim * (input_dim + hidden_dim)  # one step, multiply-adds x 2


def tagger_flops_per_word(quick, settings=TAGGER):
    """Forward FLOPs per word; the character BiLSTM runs once per distinct form in a batch."""
    import numpy as np
    from dynlp.data.batches import bucketed
    from dynlp.models.tagger.config import TaggerConfig

    c = TaggerConfig(**settings)
    pairs, _ = tagger_data(quick)
    char_steps = words = 0
    for chunk in bucketed(pairs, 32, lambda pair: len(pair[0]), np.random.default_rng(1)):
        forms = {f for forms, _ in chunk for f in forms}
        char_steps += sum(min(len(f), 30) + 2 for f in forms)
        words += sum(len(forms) for forms, _ in chunk)
    flops = 2 * lstm_flops(c.char_dim, c.char_dim) * char_steps / words
    input_dim = c.emb_dim + 2 * c.char_dim
    for _ in range(c.layers):
        flops += 2 * lstm_flops(input_dim, c.hidden_dim)
        input_dim = 2 * c.hidden_dim
    return c.ensemble * (flops + 2 * (input_dim * c.mlp_dim + c.mlp_dim * 21))


def lm_flops_per_word():
    return lstm_flops(LM["emb_dim"], LM["hidden_dim"]) + 2 * LM["hidden_dim"] * 10000


def large_lm_flops_per_word(vocab_size=33278):
    """Two LSTM layers and a class softmax: C class rows and, on average, V / C word rows."""
    from dynlp.models.softmax import default_classes

    classes = default_classes(vocab_size)
    return (lstm_flops(LM_LARGE["emb_dim"], LM_LARGE["hidden_dim"])
            + lstm_flops(LM_LARGE["hidden_dim"], LM_LARGE["hidden_dim"])
            + 2 * LM_LARGE["hidden_dim"] * (classes + vocab_size / classes))


# ---- driver ------------------------------------------------------------------------------------------
def run_child(row, framework, args):
    python = args.dynlp_python if framework == "dynlp" and args.dynlp_python else sys.executable
    command = [python, os.path.abspath(__file__), "--child", row, framework,
               "--seconds", str(args.seconds), "--torch-threads", str(args.torch_threads),
               "--infer-batch", str(args.infer_batch), "--tag-workers", str(args.tag_workers),
               "--train-workers", str(args.train_workers), "--eval-workers", str(args.eval_workers),
               "--eval-streams", str(args.eval_streams), "--mem", args.mem,
               "--gpus", str(args.gpus), "--train-batch", str(args.train_batch)]
    command += ["--quick"] * args.quick + ["--autobatch"] * args.autobatch + ["--dev"] * args.dev
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{row}/{framework} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure_rows(rows, frameworks, args):
    """Each (row, framework) in a fresh process, --repeats times, the frameworks taking turns
    so that a slow spell of the machine falls on both; keeps each one's median run."""
    results = {}
    for row in rows:
        runs = {fw: [] for fw in frameworks}
        for _ in range(args.repeats):
            for fw in frameworks:
                runs[fw].append(run_child(row, fw, args))
        results[row] = {fw: median_run(fw_runs) for fw, fw_runs in runs.items()}
    return results


def median_run(runs):
    """The run with the median words/s (the faster middle one of an even number), with the
    words/s of every run under "runs"."""
    def words_per_second(run):
        return run["words"] / run["seconds"]

    middle = sorted(runs, key=words_per_second)[len(runs) // 2]
    return {**middle, "runs": [round(words_per_second(run)) for run in runs]}


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small data, 3 s per training row")
    parser.add_argument("--json", action="store_true", help="print one JSON object only")
    parser.add_argument("--rows", default=",".join(ROWS))
    parser.add_argument("--frameworks", default="dynlp,pytorch")
    parser.add_argument("--seconds", type=float, default=60.0, help="training time per row")
    parser.add_argument("--repeats", type=int, default=3,
                        help="runs of each (row, framework), taking turns; the median is kept")
    parser.add_argument("--torch-threads", type=int, default=2)
    parser.add_argument("--infer-batch", type=int, default=128, help="sentences per batch")
    parser.add_argument("--tag-workers", type=int, default=-1,
                        help="dynlp tagging as `dynlp tag --workers N` (-1: its default, one "
                             "per core; 0: `predict_many` in this process)")
    parser.add_argument("--train-workers", type=int, default=0,
                        help="dynlp training processes (0: the loop's default, one per core)")
    parser.add_argument("--eval-workers", type=int, default=0,
                        help="dynlp evaluation processes (0: evaluate_loss's default)")
    parser.add_argument("--eval-streams", type=int, default=0,
                        help="evaluation streams, both frameworks (0: dynlp's default, 20)")
    parser.add_argument("--dev", action="store_true",
                        help="train rows: train for --seconds (several epochs) and report dev "
                             "accuracy / perplexity reached in that wall time")
    parser.add_argument("--mem", default="", help="dynlp --mem")
    parser.add_argument("--gpus", type=int, default=0,
                        help="1: both frameworks on the GPU (needs a CUDA build of DyNet)")
    parser.add_argument("--train-batch", type=int, default=0,
                        help="training rows' sentences / streams per batch (0: the row's own, "
                             "32 / 20)")
    parser.add_argument("--autobatch", action="store_true", help="dynlp --autobatch")
    parser.add_argument("--dynlp-python", help="python of another venv (e.g. a faster DyNet)")
    parser.add_argument("--child", nargs=2, metavar=("ROW", "FRAMEWORK"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds = min(args.seconds, 3.0)
    return args


def flops_per_word(row, quick):
    """The row's model's estimated FLOPs per word (training: forward x 3)."""
    if row.startswith("tagger"):
        flops = tagger_flops_per_word(quick, tagger_settings(row))
    else:
        flops = large_lm_flops_per_word() if row.endswith("large") else lm_flops_per_word()
    return flops * (3 if "train" in row else 1)


def row_details(row, by_fw, gflops, per_word):
    """What the JSON says of one row beyond words/s: each side's run, and the model."""
    details = {}
    for fw, r in by_fw.items():
        speed = r["words"] / r["seconds"]
        details[fw] = {"words": r["words"], "seconds": round(r["seconds"], 2),
                       "cores_used": round(r["cpu_seconds"] / r["seconds"], 2),
                       "words_per_cpu_second": round(r["words"] / r["cpu_seconds"]),
                       "peak_mb": r["peak_mb"],
                       "share": gflops and round(speed * per_word / (gflops * 1e9), 4)}
        extra = ("dev_accuracy", "dev_ppl", "load_seconds", "processes", "runs", "gpu_mb")
        details[fw].update({k: r[k] for k in extra if k in r})
    details["mflops_per_word"] = round(per_word / 1e6, 2)
    if row.startswith("tagger"):
        details["model"] = tagger_settings(row)  # both sides: tests hold the twin to it
    return details


def summarise(results, args):
    """words/s and the ratio of each row, and the details of each."""
    gflops = matmul_gflops(args.torch_threads, torch_device(args))
    summary, details = {}, {}
    for row, by_fw in results.items():
        speed = {fw: r["words"] / r["seconds"] for fw, r in by_fw.items()}
        summary[row] = {fw: round(v) for fw, v in speed.items()}
        if len(speed) == 2:
            summary[row]["ratio"] = round(speed["dynlp"] / speed["pytorch"], 3)
        details[row] = row_details(row, by_fw, gflops, flops_per_word(row, args.quick))
    info = {"matmul_gflops": gflops and round(gflops, 1), "load_after": round(os.getloadavg()[0], 2),
            "machine": f"{platform.machine()} {os.cpu_count()} cores", "repeats": args.repeats,
            "date": time.strftime("%F"), "command": " ".join(["python"] + sys.argv)}
    return summary, details, info


def print_table(summary, details, info, dev):
    print(f"{'row':22} {'dynlp w/s':>10} {'torch w/s':>10} {'ratio':>6} {'MB dynlp':>9} "
          f"{'MB torch':>9} {'share dynlp':>12} {'share torch':>12}")
    for row in summary:
        s, d = summary[row], details[row]
        print(f"{row:22} {s.get('dynlp', 0):>10} {s.get('pytorch', 0):>10} "
              f"{s.get('ratio', 0):>6.2f} {d.get('dynlp', {}).get('peak_mb', 0):>9} "
              f"{d.get('pytorch', {}).get('peak_mb', 0):>9} "
              f"{d.get('dynlp', {}).get('share') or 0:>12.1%} "
              f"{d.get('pytorch', {}).get('share') or 0:>12.1%}")
    print(json.dumps(info))
    if dev:
        print(json.dumps({row: {fw: {k: v for k, v in d.items() if k.startswith("dev_")}
                                for fw, d in details[row].items() if fw in ("dynlp", "pytorch")}
                          for row in details}))


def main(argv=None):
    args = parse_args(argv)
    if args.child:
        print(json.dumps(measure(*args.child, args)))
        return
    results = measure_rows(args.rows.split(","), args.frameworks.split(","), args)
    summary, details, info = summarise(results, args)
    if args.json:
        print(json.dumps({**summary, "details": details, "info": info}))
    else:
        print_table(summary, details, info, args.dev)


if __name__ == "__main__":
    main()
