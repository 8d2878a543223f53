"""Why a class-factored softmax stalls under plain SGD where the full one learns: the first
updates of a model, with either output layer, on the first PTB batches.

    python benchmarks/softmax_steps.py --softmax full  [--batches 60] [--lr 1] [--clip 5]
    python benchmarks/softmax_steps.py --softmax class [--batches 60] [--lr 1] [--clip 5]

The model and batches are the README's PTB settings (2 x 256 LSTM, tied, dropout 0.25, 20
streams of 35 steps, loss summed over tokens / streams, as training does) with DyNet's seed 1.
Every few updates it prints the loss per token, the gradient's norm before clipping, and the
share of its square in each group of parameters: E (the embeddings, tied: also the output rows),
b (output bias), LSTM (all recurrent weights) and Ud (the class layer's U and d).  Clipping
scales the whole gradient to norm --clip, so each group's step is its share of that; |LSTM| is
the norm of the LSTM's weights after the update.
"""
import argparse
import math
import os

import numpy as np

from dynlp import BackendConfig, LMConfig, RNNLanguageModel, TrainConfig, Vocab  # noqa: E402
from dynlp import configure, dynet, make_trainer  # noqa: E402
from dynlp.data.batches import stream_batches  # noqa: E402
from dynlp.data.text import data_dir, read_sentences  # noqa: E402


def group_of(model, p):
    """Which group a parameter is in (by name: DyNet hands out new wrappers of the same one)."""
    softmax, name = model.softmax, p.name()
    if softmax is not None and name in (softmax.U.name(), softmax.d.name()):
        return "Ud"
    return "E" if name == model.E.name() else "b" if name == model.b.name() else "LSTM"


def gradient_shares(model):
    """The gradient's norm and each group's share of its square."""
    squares = {}
    for p in model.pc.parameters_list() + model.pc.lookup_parameters_list():
        group = group_of(model, p)
        squares[group] = squares.get(group, 0.0) + float(np.sum(p.grad_as_array() ** 2))
    total = sum(squares.values())
    return math.sqrt(total), {g: s / total for g, s in sorted(squares.items())}


def lstm_norm(model):
    """The norm of all LSTM weights together: saturated gates come with weights grown large."""
    return math.sqrt(sum(float(np.sum(p.as_array() ** 2)) for p in model.pc.parameters_list()
                         if group_of(model, p) == "LSTM"))


def start_biases_at_unigram(model, ids):
    """b = log p(w) (full) or log p(w | class(w)), d = log p(class) (class softmax), with p
    the training text's token frequencies (`</s>` included; unseen ids counted once)."""
    counts = np.maximum(np.bincount(ids, minlength=len(model.vocab)), 1).astype(np.float64)
    if model.softmax is None:
        model.b.set_value(np.log(counts / counts.sum()))
        return
    class_of = model.softmax.class_of
    class_counts = np.bincount(class_of, weights=counts)
    model.b.set_value(np.log(counts / class_counts[class_of]))
    model.softmax.d.set_value(np.log(class_counts / class_counts.sum()))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--softmax", choices=("full", "class"), required=True)
    parser.add_argument("--cell", choices=("lstm", "gru", "rnn"), default="lstm")
    parser.add_argument("--batches", type=int, default=60)
    parser.add_argument("--lr", type=float, default=1.0)
    parser.add_argument("--clip", type=float, default=5.0)
    parser.add_argument("--every", type=int, default=5)
    parser.add_argument("--unigram-bias", action="store_true",
                        help="start the output biases at the log unigram (b; with classes b at "
                             "log p(w | class) and d at log p(class))")
    parser.add_argument("--warmup", type=int, default=0,
                        help="raise the rate linearly over this many first updates")
    args = parser.parse_args()
    configure(BackendConfig(seed=1))
    dy = dynet()
    train = read_sentences(os.path.join(data_dir(), "ptb", "ptb.train.txt"), tokenized=True)
    vocab = Vocab.build(train)
    ids = [i for s in train for i in vocab.encode(s) + [vocab.eos]]
    config = LMConfig(level="word", tokenized=True, stream=True, hidden_dim=256, emb_dim=256,
                      tie_weights=True, dropout=0.25, layers=2, cell=args.cell, softmax=args.softmax)
    model = RNNLanguageModel(config, vocab)
    if args.unigram_bias:
        start_biases_at_unigram(model, ids)
    trainer = make_trainer(model.pc, TrainConfig(trainer="sgd", clip=args.clip), args.lr)
    model.training = True
    print("update  loss/token  |grad|  |LSTM|  shares of |grad|^2")
    for step, batch in enumerate(stream_batches(ids, 20, 35), start=1):
        dy.renew_cg()
        loss = model.loss(batch)
        (loss * (1.0 / batch.num_sequences)).backward()
        norm, shares = gradient_shares(model)
        trainer.learning_rate = args.lr * min(1.0, step / args.warmup if args.warmup else 1.0)
        trainer.update()
        if step % args.every == 0 or step <= 3:
            tokens = float(batch.mask.sum())
            print(f"{step:6d}  {loss.value() / tokens:10.3f}  {norm:6.1f}  {lstm_norm(model):6.1f}  "
                  + "  ".join(f"{g} {s:.3f}" for g, s in shares.items()), flush=True)
        if step >= args.batches:
            break


if __name__ == "__main__":
    main()
