#!/usr/bin/env bash
# Installs simbi's dependencies from the distribution's packages (Debian) and builds simbi into
# build/. Idempotent and non-interactive: packages already present are not reinstalled, and a
# configured build directory is reused. Usage: bash scripts/setup.sh [--no-build]
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake ninja-build pkg-config
  openmpi-bin libopenmpi-dev                # MPI
  libhdf5-openmpi-dev hdf5-tools            # parallel HDF5 (+ h5dump/h5diff)
  libtorch-dev libopenblas0-openmp          # LibTorch (CPU build) on OpenBLAS, not the reference BLAS
  libblas-dev                               # cblas.h + libblas.so (resolves to that OpenBLAS at run time)
  libcli11-dev nlohmann-json3-dev           # CLI, JSON
  libxxhash-dev                             # XXH3 checksums of model files and checkpoints
  libgtest-dev libgmock-dev libbenchmark-dev # tests, micro-benchmarks
  python3 python3-numpy python3-h5py python3-matplotlib python3-sklearn  # plots, cross-checks
  slurmctld slurmd slurm-client munge       # a one-node Slurm for the slurm tests (tests/slurm/)
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "[setup] installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

[ "${1:-}" = "--no-build" ] && exit 0

BUILD_DIR=${SIMBI_BUILD_DIR:-build}
JOBS=${SIMBI_JOBS:-$(nproc)}
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release
fi
cmake --build "$BUILD_DIR" -j "$JOBS"
echo "[setup] built $BUILD_DIR/simbi"
