"""What every task shares: holding out a dev set, and resuming a run from `OUT/last`."""
import os

from dynlp.config import from_dict
from dynlp.errors import DataError, ModelDirError
from dynlp.store.checkpoint import CONFIG_FILE, a_model, check_output_path, read_config
from dynlp.training.loop import load_state


def check_output_dir(out_dir, kind, resume=False, overwrite=False):
    """Refuse, before anything is trained, to replace a trained model by accident: a directory
    that holds a model is written only with `resume` (a model of the same kind) or `overwrite`
    (the same kind: a directory of another kind is refused unless empty); a directory that
    holds other files only with `overwrite`.  Nothing of an old model is touched here, and a
    replacing run writes it atomically, epoch by epoch (store/checkpoint.py)."""
    check_output_path(out_dir)
    if not os.path.isdir(out_dir) or not os.listdir(out_dir):
        return  # (a --resume there finds nothing to resume, and says so)
    config = os.path.join(out_dir, CONFIG_FILE)
    if not os.path.isfile(config):
        if resume or not overwrite:
            raise ModelDirError(f"{out_dir}: not empty and not a model directory; give another "
                                "-o, or --overwrite to write the model among its files")
        return
    held = read_config(out_dir)["kind"]
    if held != kind:
        raise ModelDirError(f"{out_dir}: holds {a_model(held)}; {a_model(kind)} is never written "
                            "over it (even with --overwrite): give another -o, or empty it")
    if not (resume or overwrite):
        raise ModelDirError(f"{out_dir}: holds a trained model ({a_model(held)[2:]}); give "
                            "--resume to continue its training, --overwrite to replace it, or "
                            "another -o")


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
