"""The one place that configures DyNet.

DyNet reads its settings (memory, random seed, autobatching, weight decay, GPUs) exactly once,
when `dynet` is first imported.  Everything in dynlp therefore imports DyNet through `dynet()`
below, after `configure()` has had its chance to set those options.  Calling `dynet()` without
`configure()` gives DyNet's defaults with dynlp's default seed.
"""
import importlib.util
import re
import subprocess
import sys
from dataclasses import asdict, dataclass, field

from dynlp.errors import ConfigError

GPU_DOC = "docs/gpu.md"


@dataclass
class BackendConfig:
    """How DyNet is initialised.  Field names double as CLI flags (see config.add_arguments)."""

    seed: int = field(default=1, metadata={"help": "random seed for DyNet, shuffling and "
                                                   "sampling (0: a random one, printed on "
                                                   "stderr so that the run can be repeated)"})
    mem: str = field(default="", metadata={"help": "DyNet memory in MB, e.g. 1024 or 512,512,256"})
    autobatch: bool = field(default=False, metadata={"help": "DyNet's automatic batching"})
    weight_decay: float = field(default=0.0, metadata={"help": "L2 weight decay applied by DyNet"})
    gpus: int = field(default=0, metadata={"help": "number of GPUs (needs a CUDA build of DyNet)"})
    devices: str = field(default="", metadata={"help": "DyNet devices, e.g. CPU or GPU:0,GPU:1"})
    # Parameters in memory that forked processes share, for Hogwild training (training/loop.py).  Not
    # a flag: the training commands set it when they may train with several --workers.
    shared_parameters: bool = field(default=False, metadata={"flag": False})

    def check(self):
        """Ranges DyNet would otherwise abort the process on (exit 134, no Python error)."""
        if not 0 <= self.weight_decay < 1:
            raise ConfigError(f"--weight-decay must be in [0, 1) (got {self.weight_decay})")
        if self.seed < 0 or self.gpus < 0:
            raise ConfigError("--seed and --gpus cannot be negative")
        if self.mem and not re.fullmatch(r"[1-9]\d*(,[1-9]\d*){0,3}", self.mem):
            raise ConfigError(f"--mem must be megabytes like 1024 or 512,512,256 (got "
                              f"{self.mem!r})")


# DyNet's memory (MB) for forward values, gradients, parameters and scratch when a command only
# predicts (tag, score, evaluate, sample) and no --mem is given.  DyNet's default, 512 split
# evenly, gives forward values 128 MB: a tagging batch outgrows that, and growing the pool
# cost `dynlp tag` 13-19% on a 50k-word input (benchmarks/RESULTS.md).  Gradients need none.
INFERENCE_MEM = "256,16,128,64"

_configured = None  # the BackendConfig DyNet was (or will be) initialised with
_started_here = False  # whether dynet() started DyNet (not some other import of it)


def configure(config=None):
    """Remember how DyNet must start; must run before the first `dynet()` call to take effect.

    Returns True if the settings will be used, False if DyNet was already running (then the
    earlier settings stay: DyNet cannot be re-initialised inside one process).
    """
    global _configured
    config = config or BackendConfig()
    config.check()
    _check_gpu_request(config)
    if "dynet" in sys.modules:
        return _configured == config
    if config.autobatch and not config.mem:
        # A growing memory pool and autobatching do not mix in DyNet: backward() fails.
        config = BackendConfig(**{**asdict(config), "mem": "2048"})
    _configured = config
    return True


def current_settings():
    """The BackendConfig DyNet runs (or will run) with; None if DyNet was started elsewhere."""
    return _configured if "dynet" not in sys.modules or _started_here else None


def dynet():
    """Import DyNet (initialising it from the configured settings on first use) and return it."""
    global _started_here
    if "dynet" not in sys.modules:
        if _configured is None:
            configure()
        _apply(_configured)
        _started_here = True
    import dynet as dy

    return dy


def _apply(config):
    import dynet_config

    gpus = config.gpus or len(_gpu_ids(config.devices))
    dynet_config.set(
        mem=config.mem or "512",
        random_seed=config.seed,
        autobatch=int(config.autobatch),
        weight_decay=config.weight_decay,
        shared_parameters=int(config.shared_parameters),
        requested_gpus=gpus,
        gpu_mask=_gpu_mask(config.devices),
    )
    if gpus:  # only reached with a CUDA build of DyNet (see _check_gpu_request)
        dynet_config.set_gpu()


def on_gpu(config=None):
    """Whether DyNet computes (or will compute) on a GPU: asked for by `config`, else by the
    configured settings."""
    config = config or _configured
    return bool(config and (config.gpus > 0 or _gpu_ids(config.devices)))


def check_gpu_processes(config, workers, ray=False):
    """On a GPU one process does the work: DyNet keeps its GPU memory in this process's CUDA
    context, which a forked copy cannot use (CUDA does not survive fork).  So an explicit
    --workers N > 1, or --ray, with a GPU is one clear error; by default (`workers` None or 0)
    dynlp's forks.usable_processes() picks one process on a GPU by itself."""
    if not on_gpu(config):
        return
    if ray:
        raise ConfigError("--ray with --gpus/--devices GPU: each Ray worker would need a GPU of "
                          "its own; run on the GPU without --ray")
    if workers and workers > 1:
        raise ConfigError(f"--workers {workers} with --gpus/--devices GPU: DyNet's GPU memory is "
                          "not shared across forked processes; on a GPU one process does the "
                          f"work (leave --workers out, or give 1); see {GPU_DOC}")


def _gpu_ids(devices):
    """GPU numbers named in a --devices string such as 'CPU,GPU:0,GPU:1'."""
    return [int(d.split(":")[1]) for d in devices.upper().split(",")
            if re.fullmatch(r"GPU:\d+", d.strip())]


def _gpu_mask(devices):
    ids = _gpu_ids(devices)
    return [1 if i in ids else 0 for i in range(max(ids) + 1)] if ids else None


def have_cuda():
    """Whether the installed DyNet was built with CUDA, found without initialising DyNet."""
    if "dynet" in sys.modules:
        return bool(getattr(sys.modules["dynet"], "HAVE_CUDA", False))
    spec = importlib.util.find_spec("dynet")
    if spec is None or not spec.origin:
        return False
    with open(spec.origin, encoding="utf-8") as source:
        return re.search(r"^HAVE_CUDA\s*=\s*True", source.read(), re.MULTILINE) is not None


def _check_gpu_request(config):
    wants_gpu = config.gpus > 0 or "GPU" in config.devices.upper()
    if wants_gpu and not have_cuda():
        raise ConfigError(
            "this DyNet was built without CUDA, so --gpus/--devices GPU cannot work; "
            f"see {GPU_DOC} to build DyNet with GPU support"
        )
    if wants_gpu:
        _check_gpus_visible(max(config.gpus, len(_gpu_ids(config.devices))))


# Asks the NVIDIA driver how many GPUs it sees; exit status 3 means no driver library at all.
_COUNT_GPUS = """
import ctypes, sys
try:
    cuda = ctypes.CDLL("libcuda.so.1")
except OSError:
    sys.exit(3)
count = ctypes.c_int(0)
ok = cuda.cuInit(0) == 0 and cuda.cuDeviceGetCount(ctypes.byref(count)) == 0
print(count.value if ok else 0)
"""


def _check_gpus_visible(wanted):
    """A CUDA build of DyNet aborts the whole process (no Python exception) when the GPUs it is
    asked for are not there, so look first.  In a child process: CUDA initialised here would not
    survive the fork of dynlp's worker processes."""
    probe = subprocess.run([sys.executable, "-c", _COUNT_GPUS], capture_output=True, text=True)
    if probe.returncode == 3:
        raise ConfigError("no NVIDIA driver (libcuda.so.1) on this machine, so --gpus/--devices "
                          f"GPU cannot work; see {GPU_DOC}")
    found = int(probe.stdout.strip() or 0)
    if found < wanted:
        raise ConfigError(f"asked for {wanted} GPU(s) but the NVIDIA driver reports {found}; "
                          f"see {GPU_DOC}")


def info():
    """A dict describing the DyNet in use: version, CUDA and MKL support, and its settings."""
    dy = dynet()
    library = sys.modules["_dynet"].__file__ if "_dynet" in sys.modules else ""
    return {
        "dynet_version": getattr(dy, "__gitversion__", getattr(dy, "__version__", "?")),
        "cuda": bool(getattr(dy, "HAVE_CUDA", False)),
        "mkl": _linked_with_mkl(),
        "module": library,
        "settings": asdict(_configured) if _configured else None,
    }


def _linked_with_mkl():
    """MKL shows up as a linked library of DyNet's extension (best effort, Linux only)."""
    try:
        with open("/proc/self/maps", encoding="utf-8") as maps:
            return "libmkl" in maps.read()
    except OSError:
        return False
