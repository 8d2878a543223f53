"""A moving average of a model's weights (Polyak and Juditsky 1992), evaluated in their place.

SGD's last iterate wanders around a minimum by about the step size; the average of its recent
iterates sits nearer the middle.  Training keeps stepping from the raw weights; dev is scored,
and the best model saved, with the average swapped in:

    snapshot, `per_epoch` times an epoch:   avg <- keep * avg + (1 - keep) * theta
    keep = exp(-1 / (per_epoch * epochs))   (a snapshot's weight falls by e in `epochs` epochs)

The first snapshot starts the average.  Snapshots are taken a few times an epoch, not after
every update, because reading DyNet's weights into numpy is slow (about 0.1 microsecond a
value: a third of a second for a 3-million-weight tagger).  With Hogwild workers the snapshots
are taken in the parent process, whose view of the shared weights includes every worker's
steps.  The average lives in memory only: a resumed run starts a new one.
"""
import contextlib
import math

from dynlp.store.tensorfile import set_values


class WeightAverage:
    """An exponential moving average of every parameter of `pc`, over about `epochs` epochs."""

    def __init__(self, pc, epochs, per_epoch=4):
        self.parameters = pc.parameters_list() + pc.lookup_parameters_list()
        self.keep = math.exp(-1.0 / (per_epoch * epochs))
        self.per_epoch = per_epoch
        self.average = None

    def after_update(self, step, steps):
        """Called after update `step` (1-based) of an epoch of `steps` updates in this process."""
        if step % max(1, steps // self.per_epoch) == 0:
            self.snapshot()

    def snapshot(self):
        values = [p.as_array() for p in self.parameters]
        if self.average is None:
            self.average = values
            return
        for average, value in zip(self.average, values):
            average *= self.keep
            average += (1.0 - self.keep) * value

    @contextlib.contextmanager
    def swapped_in(self):
        """The average in the model's parameters for a block (if there is one yet), then the
        raw weights back, for training to go on from."""
        if self.average is None:
            yield
            return
        raw = [p.as_array() for p in self.parameters]
        _set_all(self.parameters, self.average)
        try:
            yield
        finally:
            _set_all(self.parameters, raw)


def _set_all(parameters, values):
    for parameter, value in zip(parameters, values):
        set_values(parameter, value)
