#!/usr/bin/env bash
# The main job on a small default: simulate two_moons with 2 MPI ranks into out/sims.h5 and describe
# the store. Usage: bash scripts/run_example.sh [ranks] [budget]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/mpi_env.sh
RANKS=${1:-2}
BUDGET=${2:-20000}
OUT=${SIMBI_OUT_DIR:-out}
BUILD_DIR=${SIMBI_BUILD_DIR:-build}
mkdir -p "$OUT"
mpiexec -n "$RANKS" "$BUILD_DIR/simbi" simulate --task two_moons --budget "$BUDGET" --seed 1 --out "$OUT/sims.h5" --force
"$BUILD_DIR/simbi" inspect "$OUT/sims.h5"
