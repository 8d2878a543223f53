"""Hogwild-style training throughput: N forked processes updating one set of shared parameters.

    python benchmarks/hogwild.py {lm,tagger} [--workers 2] [--seconds 60] [--dev-minutes M]

A prototype of a lever for issue 4, not a dynlp feature: DyNet starts with
`shared_parameters=1`, the model (speed.py's sizes and data) is built once, then the process
forks; each child trains on its own share of the epoch's batches with dynlp's own loop
(`train._run_epoch`) and its own trainer, writing into the shared parameters without locks
(Recht et al., 2011).  For the stream LM each child reads its own contiguous part of the text
as 20 streams, so the carried state stays meaningful.  Prints one JSON line: total words/s.
With --dev-minutes, trains that long and also reports the dev loss (LM: perplexity; tagger:
accuracy) reached in that wall time, for comparison with --workers 1.  On a shared machine,
`words_per_cpu_second` (2 workers against 1) shows what sharing costs, whatever the load.
"""
import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)


def start_dynet():
    import dynet_config

    # Shared even for one worker: the parent, which evaluates on dev, must see what it trained.
    dynet_config.set(mem="1536", random_seed=1, shared_parameters=1)
    import dynet  # noqa: F401  (dynlp's backend sees it started and leaves it as is)


def lm_job(args):
    import speed
    from dynlp.batches import flatten_stream, stream_batches
    from dynlp.config import TrainConfig
    from dynlp.pipeline import lm_batches
    from dynlp.train import mean_loss_metrics

    train, valid = speed.ptb("train"), speed.ptb("valid")
    model = speed.dynlp_lm(train)
    stream = flatten_stream([model.vocab.encode(s) for s in train], model.vocab.eos)
    share = len(stream) // args.workers
    parts = [stream_batches(stream[k * share:(k + 1) * share + 1], 20, 35)
             for k in range(args.workers)]
    config = TrainConfig(**speed.LM_TRAIN)
    dev = lm_batches(valid, model.vocab, model.config, 20, 35, training=False)
    return model, config, lambda k, rng: parts[k], lambda: mean_loss_metrics(model, dev)


def tagger_job(args):
    import speed
    from dynlp.config import TrainConfig
    from dynlp.pipeline import score_tagger
    from dynlp.tagger import tag_batches

    pairs, _ = speed.tagger_data(False)
    dev = speed.ewt("dev")
    model = speed.dynlp_tagger(None, pairs)
    config = TrainConfig(batch_size=32)

    def batches(k, rng):
        every = tag_batches(pairs, model.tags, 32, rng)
        return every[k::args.workers]

    return model, config, batches, lambda: {"dev_accuracy": score_tagger(model, dev).summary()["accuracy"]}


def child(k, model, config, batches, seconds, pipe):
    import numpy as np

    from dynlp.train import _run_epoch, make_trainer

    model.rng = np.random.default_rng([7, k])  # each worker its own word dropout draws
    trainer = make_trainer(model.pc, config, config.learning_rate())
    words, began, epoch, cpu = 0, time.time(), 0, time.process_time()
    config.max_minutes = seconds / 60
    while time.time() - began < seconds:
        epoch += 1
        stats = _run_epoch(model, trainer, batches(k, np.random.default_rng([1, epoch])), config,
                           began, False, epoch)
        words += stats["train_tokens"]
    os.write(pipe, json.dumps({"words": words, "seconds": time.time() - began,
                               "cpu": time.process_time() - cpu}).encode() + b"\n")
    os._exit(0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", choices=("lm", "tagger"))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--dev-minutes", type=float, default=0,
                        help="train this long instead of --seconds and report dev quality")
    args = parser.parse_args()
    start_dynet()
    model, config, batches, dev_metrics = (lm_job if args.model == "lm" else tagger_job)(args)
    seconds = args.dev_minutes * 60 or args.seconds
    read, write = os.pipe()
    children = []
    for k in range(args.workers):
        pid = os.fork()
        if pid == 0:
            child(k, model, config, batches, seconds, write)
        children.append(pid)
    for pid in children:
        os.waitpid(pid, 0)
    os.close(write)
    results = [json.loads(line) for line in os.read(read, 1 << 16).decode().splitlines()]
    words = sum(r["words"] for r in results)
    report = {"model": args.model, "workers": args.workers,
              "words_per_sec": round(words / max(r["seconds"] for r in results)),
              "words_per_cpu_second": round(words / sum(r["cpu"] for r in results)),
              "cores_used": round(sum(r["cpu"] for r in results)
                                  / max(r["seconds"] for r in results), 2),
              "date": time.strftime("%F"), "command": " ".join(["python"] + sys.argv)}
    if args.dev_minutes:
        report.update(dev_metrics())  # the parent sees the shared parameters the children wrote
    print(json.dumps(report))


if __name__ == "__main__":
    main()
