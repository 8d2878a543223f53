"""What every task shares: holding out a dev set, and resuming a run from `OUT/last`."""
import os

from dynlp.config import from_dict
from dynlp.errors import DataError, ModelDirError
from dynlp.store.checkpoint import read_config
from dynlp.training.loop import load_state


def split_dev(sentences, fraction, name="the corpus"):
    """The last `fraction` of the sentences become dev (the tail, so streams stay contiguous)."""
    held_out = max(1, round(len(sentences) * fraction))
    if len(sentences) - held_out < 1 or fraction <= 0:
        raise DataError(f"{name}: {len(sentences)} line(s) is too small to hold out a dev set "
                        f"(--dev-fraction {fraction}); give --dev FILE or more text")
    return sentences[:-held_out], sentences[-held_out:]


def saved_config(out_dir, config_class):
    """The model config of the run to be resumed in `out_dir` (so data is read the same way)."""
    return from_dict(config_class, read_config(last_checkpoint(out_dir))["config"])


def resume(out_dir, model_class):
    """The model after the last finished epoch in `out_dir`, and the loop's state then."""
    return model_class.load(last_checkpoint(out_dir)), load_state(out_dir)


def last_checkpoint(out_dir):
    """`out_dir/last`, where an interrupted run's last finished epoch is saved."""
    last = os.path.join(out_dir, "last")
    if not os.path.isdir(last):
        raise ModelDirError(f"{out_dir}: nothing to resume (no last/ checkpoint)")
    return last
