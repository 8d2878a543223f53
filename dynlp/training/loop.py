"""The training loop, shared by every model: it reads of a model and of a batch only what
training/protocol.py names (in the main: `model.loss(batch)`).

For each minibatch: a fresh computation graph, the loss, backprop, one optimiser step.
After each epoch: evaluate on dev, write a line to `metrics.jsonl`, save the last checkpoint
(with the loop's own state, for `--resume`) and, if dev improved, the best one; otherwise decay
the learning rate (after `decay_patience` such epochs in a row), and stop after `patience`
epochs without improvement, or instead of decaying it more than `max_decays` times.  With
`max_minutes` and `settle_epochs`, the rate is also decayed after every epoch once the time left
is less than that many epochs: a run stopped by the clock ends on small steps, not mid-stride.
With `average_epochs`, dev is scored, and the best model saved, with a moving average of the
weights swapped in (training/averaging.py); training goes on from the raw weights, which `last/`
keeps.

A model directory written by `fit` looks like this:

    OUT/          the best model so far (what `dynlp sample -m OUT` loads)
    OUT/last/     the model after the last finished epoch, plus the loop's state
    OUT/metrics.jsonl

With `workers` > 1 (TrainConfig.workers; 0 picks one per core on a large enough epoch) the
epoch is trained Hogwild-style (Recht et al., 2011): the process forks, each copy trains on its
own share of the epoch's batches with its own optimiser, and all of them update the same
parameters, which DyNet keeps in shared memory (`BackendConfig(shared_parameters=True)`), without
locks.  The updates race, so such runs are not bit-for-bit repeatable; `workers=1` is.

Progress bars and epoch lines go to stderr (the `dynlp` logger) and are off unless asked for.
"""
import contextlib
import json
import logging
import math
import os
import time
from dataclasses import dataclass, field

import numpy as np
from tqdm import tqdm

from dynlp import backend
from dynlp.backend import dynet
from dynlp.errors import ConfigError, ModelDirError, TrainingError
from dynlp.runtime.forks import auto_workers, fork_map, parent_alive, shares
from dynlp.store.checkpoint import METRICS_FILE, read_config, write_lines_atomically
from dynlp.training.averaging import WeightAverage
from dynlp.training.protocol import carries_state, option

log = logging.getLogger("dynlp")


@dataclass
class LoopState:
    """Everything the loop needs to continue after an interruption (saved with `last/`)."""

    epoch: int = 0  # epochs finished
    lr: float = 0.0
    best: float = None  # best monitored dev value so far
    bad_epochs: int = 0  # epochs since dev last improved
    elapsed: float = 0.0  # seconds of training so far
    history: list = field(default_factory=list)


def mean_loss_metrics(model, batches):
    """Default dev evaluation: mean loss per token, and its exponential (perplexity)."""
    total, tokens = evaluate_loss(model, batches)
    mean = total / max(tokens, 1)
    return {"dev_loss": mean, "dev_ppl": math.exp(min(mean, 700)), "dev_tokens": tokens}


def evaluate_loss(model, batches, workers=0):
    """Summed loss and token count over `batches`, without dropout or gradients.

    With several `workers` (0: one per core if there are enough batches), forked processes
    share the batches; the sums are the same as in one process.
    """
    batches = list(batches)
    workers = auto_workers(workers, len(batches))
    if workers == 1:
        return _evaluate_loss(model, batches)
    totals = fork_map(lambda part: _evaluate_loss(model, part), evaluation_shares(batches, workers))
    return sum(total for total, _ in totals), sum(tokens for _, tokens in totals)


def _evaluate_loss(model, batches):
    dy = dynet()
    model.training = False
    total, tokens = 0.0, 0
    for batch in batches:
        dy.renew_cg()
        total += model.loss(batch).value()
        tokens += batch.num_tokens
    return total, tokens


def evaluation_shares(batches, workers):
    """Batches for each of `workers` processes.

    Sentence batches are independent, so each process takes a run of them.  Stream batches
    carry the state from one segment to the next, so each process takes some of the streams
    (columns) from every segment: every stream is still read from its start to its end.
    """
    streams = len(batches) > 1 and carries_state(batches[1])
    if not streams:
        return shares(batches, workers)
    width = batches[0].num_sequences
    workers = min(workers, width)
    cuts = [k * width // workers for k in range(workers + 1)]
    return [[batch.columns(lo, hi) for batch in batches] for lo, hi in zip(cuts, cuts[1:])]


def make_trainer(pc, config, lr, dense=False):
    """The optimiser; `dense` makes plain SGD update whole lookup tables at once, faster than
    DyNet's row-by-row sparse update when a batch's gradient touches most rows anyway (for SGD
    without weight decay the two are the same arithmetic: an untouched row's gradient is 0)."""
    dy = dynet()
    if config.trainer == "sgd":
        trainer = dy.SimpleSGDTrainer(pc, lr)
        trainer.set_sparse_updates(not dense)
    elif config.trainer == "momentum":
        trainer = dy.MomentumSGDTrainer(pc, lr, 0.9)
    else:
        trainer = dy.AdamTrainer(pc, alpha=lr, beta_2=config.beta2)
    trainer.set_clip_threshold(config.clip if config.clip > 0 else -1)
    return trainer


def fit(model, train_batches, dev_batches, config, out_dir, evaluate=mean_loss_metrics,
        monitor="dev_loss", higher_is_better=False, on_epoch_end=None, progress=False,
        state=None, seed=1, unit="tokens"):
    """Train `model` and save checkpoints to `out_dir`; returns the final LoopState.

    `train_batches(rng)` returns one epoch of batches (called anew each epoch, so it can
    shuffle); `evaluate(model, dev_batches)` returns dev metrics, `monitor` among them.
    `state` (`load_state`) resumes an interrupted run; `unit` names the epoch lines' tokens."""
    config.check()
    state = state or LoopState(lr=config.learning_rate())
    trainer = make_trainer(model.pc, config, state.lr, option(model, "dense_gradients"))
    rng = np.random.default_rng([seed, state.epoch])  # resumed epochs get their own shuffles
    average = WeightAverage(model.pc, config.average_epochs) if config.average_epochs else None
    started = time.time()  # --max-minutes counts for each run, so a resumed run gets its own
    while state.epoch < config.epochs and not _out_of_patience(state, config):
        epoch_began = time.time()
        batches = list(train_batches(rng))
        # An ensemble's batch is the work of each of its networks: count it so for the forks.
        workers = training_workers(config, len(batches) * option(model, "work_per_batch"))
        epoch_stats = run_epoch(model, trainer, batches, config, started, progress,
                                state.epoch + 1, workers, seed,
                                after_update=average.after_update if average else None)
        state.epoch += 1
        state.elapsed += epoch_stats.pop("seconds")
        # Dev scores, and the best model keeps, the average (if training keeps one).
        with average.swapped_in() if average else contextlib.nullcontext():
            metrics = {"epoch": state.epoch, "lr": round(trainer.learning_rate, 8),
                       **epoch_stats, "workers": workers, **evaluate(model, dev_batches),
                       "elapsed": round(state.elapsed, 1)}
            settle = _time_to_settle(config, started, time.time() - epoch_began)
            improved = _update_schedule(state, trainer, config, metrics[monitor],
                                        higher_is_better, settle)
            _save_best(model, out_dir, state, metrics, improved)
        _save_last(model, out_dir, state)
        log.info(_epoch_line(metrics, unit))
        if on_epoch_end:
            on_epoch_end(model, metrics)
        if _out_of_time(config, started):
            break
    return state


def _out_of_time(config, started):
    """Whether --max-minutes (counted from this run's start) has passed; says so if it has."""
    if config.max_minutes and time.time() - started >= 60 * config.max_minutes:
        log.info("stopping: --max-minutes %g reached", config.max_minutes)
        return True
    return False


def training_workers(config, num_batches):
    """How many processes train this epoch: `config.workers`, or for 0 one per core when the
    epoch is long enough and DyNet keeps its parameters in shared memory."""
    settings = backend.current_settings()
    shared = bool(settings and settings.shared_parameters)
    # DyNet applies weight decay as a scale factor each process keeps to itself.
    decays = bool(settings and settings.weight_decay)
    backend.check_gpu_processes(settings, config.workers)
    if config.workers > 1 and (not shared or decays):
        raise ConfigError(f"--workers {config.workers} needs DyNet's parameters in shared memory "
                          "(dynlp.configure(BackendConfig(shared_parameters=True)) before DyNet "
                          "is first used) and no --weight-decay")
    return 1 if decays or not shared else auto_workers(config.workers, num_batches)


def run_epoch(model, trainer, batches, config, started, progress, epoch, workers=1, seed=1,
              after_update=None):
    """One epoch in this process, or Hogwild-style in `workers` processes; `after_update(step,
    steps)`, if given, is called in this process after each of its own updates."""
    if workers == 1:
        return _run_epoch(model, trainer, batches, config, started, progress, epoch, after_update)
    return _run_shared_epoch(model, trainer, batches, config, started, progress, epoch,
                             workers, seed, after_update)


def _run_epoch(model, trainer, batches, config, started, progress, epoch, after_update=None):
    """One pass over `batches` (or less, if time runs out); returns loss and speed figures."""
    dy = dynet()
    model.training = True
    total, tokens, begin = 0.0, 0, time.time()
    limit = started + 60 * config.max_minutes if config.max_minutes else math.inf
    bar = tqdm(batches, desc=f"epoch {epoch}", disable=not progress, leave=False, unit="batch")
    rate = trainer.learning_rate
    for step, batch in enumerate(bar, 1):
        if epoch == 1 and step <= config.warmup:
            trainer.learning_rate = rate * step / config.warmup
        dy.renew_cg()
        loss = model.loss(batch)
        value = loss.value()
        if not math.isfinite(value):
            raise TrainingError(f"the loss became {value} in epoch {epoch}; training stopped "
                                "(the best model so far is kept); try a lower --lr or --clip")
        # Sum over tokens, mean over sequences: the gradient scale of Zaremba et al.
        (loss * (1.0 / batch.num_sequences)).backward()
        for extra in option(model, "extra_losses")(batch):  # each needs the gradient just computed
            (extra * (1.0 / batch.num_sequences)).backward()
        trainer.update()
        if after_update:
            after_update(step, len(batches))
        total, tokens = total + value, tokens + batch.num_tokens
        speed = tokens / max(time.time() - begin, 1e-9)
        bar.set_postfix(loss=f"{total / tokens:.3f}", ppl=f"{math.exp(min(total / tokens, 50)):.1f}",
                        wps=f"{speed:.0f}", refresh=False)
        if time.time() > limit:
            break
    bar.close()
    trainer.learning_rate = rate  # a warm-up shorter than its epoch would leave it lower
    model.training = False
    seconds = time.time() - begin
    return {"train_loss": total / max(tokens, 1), "train_tokens": tokens,
            "words_per_sec": round(tokens / max(seconds, 1e-9), 1), "seconds": seconds}


def _run_shared_epoch(model, trainer, batches, config, started, progress, epoch, workers, seed,
                      after_update=None):
    """One epoch over `workers` processes at once (Hogwild): each trains on its share.

    This process trains share 0 and shows the progress bar; forked copies train the others.
    Each copy has its own optimiser state and random draws, and starts carried streams anew.
    """
    parent = os.getpid()
    _allocate_optimizer_state(trainer)

    def train_share(k):
        part = _fresh_start(shares(batches, workers)[k])
        if k:  # a forked copy
            _reseed(model, [seed, epoch, k])
            part = _while_parent_lives(part, parent)
        return _run_epoch(model, trainer, part, config, started, progress and k == 0, epoch,
                          None if k else after_update)

    results = fork_map(train_share, list(range(workers)))
    tokens = sum(r["train_tokens"] for r in results)
    seconds = max(r["seconds"] for r in results)
    return {"train_loss": sum(r["train_loss"] * r["train_tokens"] for r in results) / max(tokens, 1),
            "train_tokens": tokens, "words_per_sec": round(tokens / max(seconds, 1e-9), 1),
            "seconds": seconds, "workers": workers}


def _allocate_optimizer_state(trainer):
    """Make DyNet allocate the optimiser's state (Adam's moments, momentum) now, before forking.

    DyNet allocates it, zeroed, at a trainer's first update, in the shared parameter memory.
    Were that first update after the fork, every process would allocate (and zero) the same
    memory while another is already using it: a moment zeroed under a running Adam step gives
    a step of m / 1e-8 and ruins the model.  One step now, while the gradients are (about)
    zero, allocates it once for all; the forked copies inherit it.
    """
    trainer.update()


def _fresh_start(part):
    """A share that starts in the middle of streams starts them from a zero state."""
    if part and carries_state(part[0]):
        part = [part[0].restarted()] + part[1:]
    return part


def _reseed(model, key):
    """New random draws for a forked copy, which would otherwise repeat its parent's."""
    dynet().reset_random_seed(int(np.random.default_rng(key).integers(1, 2**31 - 1)))
    option(model, "reseed")(key)


def _while_parent_lives(batches, parent):
    """The batches, until the parent process has gone (killed): then this copy exits."""
    for batch in batches:
        if not parent_alive(parent):
            os._exit(1)
        yield batch


def _time_to_settle(config, started, epoch_seconds):
    """True once the --max-minutes budget has less than `settle_epochs` epochs (of the length
    of the one just finished, evaluation included) left in it."""
    if not (config.max_minutes and config.settle_epochs):
        return False
    left = 60 * config.max_minutes - (time.time() - started)
    return left < config.settle_epochs * epoch_seconds


def _update_schedule(state, trainer, config, value, higher_is_better, settle=False):
    """Track the best dev value; decay the learning rate when dev has not improved for
    `decay_patience` evaluations in a row (and again after as many more), on schedule, or
    (`settle`) because the time budget is nearly spent.

    Returns True if dev improved.
    """
    improved = state.best is None or (value > state.best if higher_is_better else value < state.best)
    if improved:
        state.best, state.bad_epochs = value, 0
    else:
        state.bad_epochs += 1
    stalled = not improved and state.bad_epochs % config.decay_patience == 0
    if stalled or settle or (config.decay_after and state.epoch >= config.decay_after):
        trainer.learning_rate = trainer.learning_rate * config.lr_decay
    state.lr = trainer.learning_rate
    return improved


def _out_of_patience(state, config):
    if state.bad_epochs >= config.patience:
        log.info("stopping: dev has not improved for %d epochs", state.bad_epochs)
        return True
    # Past `max_decays` decays the steps are so small that dev only wanders: stop rather than
    # decay again (the best model is kept either way).
    floor = config.learning_rate() * config.lr_decay ** config.max_decays
    if config.max_decays and config.lr_decay < 1 and state.bad_epochs and state.lr < floor * 0.999:
        log.info("stopping: dev stalled after %d learning-rate decays", config.max_decays)
        return True
    return False


def _save_best(model, out_dir, state, metrics, improved):
    """Record the epoch's metrics and, if dev improved, save the model as the best one.

    `_save_last` follows: `last/` with the loop state, then metrics.jsonl.  In this order a
    crash anywhere leaves `last/` no newer than the best model, and metrics.jsonl, rewritten
    from the saved history, always matches `last/`.  (With a weight average, the best model is
    saved with the average in place and `last/` with the raw weights.)
    """
    state.history.append(metrics)
    if improved:
        model.save(out_dir, extra={"training": {"epoch": state.epoch, "metrics": metrics}})


def _save_last(model, out_dir, state):
    model.save(os.path.join(out_dir, "last"), extra={"training": vars(state)})
    write_lines_atomically(os.path.join(out_dir, METRICS_FILE),
                           [json.dumps(m) for m in state.history])


def load_state(model_dir):
    """The loop state saved in `MODEL_DIR/last`, to pass to `fit(state=...)` when resuming."""
    last = os.path.join(model_dir, "last")
    try:
        return LoopState(**read_config(last)["training"])
    except (KeyError, TypeError) as error:
        raise ModelDirError(f"{last}: no usable training state to resume from ({error})") from None


def _epoch_line(metrics, unit="tokens"):
    """One line of an epoch's figures, each with its unit: `unit` names what the model reads
    (characters, words, tokens)."""
    parts = []
    for key, value in metrics.items():
        if not isinstance(value, (int, float)):
            continue
        if key == "words_per_sec":
            parts.append(f"{value:,.0f} {unit}/s")
        elif key == "train_tokens":
            parts.append(f"{value:,} {unit}")
        elif key == "elapsed":
            parts.append(f"elapsed {value:.0f} s")
        else:
            parts.append(f"{key} {value:.4g}" if isinstance(value, float) else f"{key} {value}")
    return "  ".join(parts)

