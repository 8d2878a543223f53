"""What a model gives the training loop, and what a batch gives it: the loop reads nothing else.

A trainable model has

    pc                  its DyNet ParameterCollection (the optimiser updates it)
    training            a bool the loop sets: True while training (dropout on), False otherwise
    loss(batch)         an expression: the loss summed over the batch's tokens, in the current
                        graph (the loop renews the graph before each batch)
    save(directory, extra=None)   the model, atomically, `extra` (JSON) added to its config.json

and may have, where the family needs them (the loop uses the defaults below otherwise):

    dense_gradients     True when every batch's gradient touches most rows of the lookup
                        tables, so plain SGD updates them whole (False: row by row)
    work_per_batch      how many graphs one batch costs (an ensemble of N networks: N), which
                        decides whether an epoch is long enough to share among processes
    extra_losses(batch) expressions to backpropagate after `loss(batch)`'s backward pass, in
                        the same graph (adversarial training needs the gradient just computed)
    reseed(key)         new random draws for a forked copy (word dropout), from a numpy seed key

A batch has `num_tokens` (the tokens its loss sums over) and `num_sequences`.  A batch of a
running stream also has `carry` (True: it continues the previous batch's state),
`columns(lo, hi)` (streams lo..hi-1 only) and `restarted()` (the same batch starting from a
zero state); the loop uses them to share streams among processes.
"""

OPTIONAL = {
    "dense_gradients": False,
    "work_per_batch": 1,
    "extra_losses": lambda batch: (),
    "reseed": lambda key: None,
}


def option(model, name):
    """The model's `name` (one of OPTIONAL), or the default a model without it gets."""
    return getattr(model, name, OPTIONAL[name])


def carries_state(batch):
    """Whether `batch` continues the previous batch's state (a stream's later segment)."""
    return getattr(batch, "carry", False)
