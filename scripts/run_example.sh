#!/usr/bin/env bash
# The main job on a small default: simulate two_moons with 2 MPI ranks into out/sims.h5 and describe
# the store. Usage: bash scripts/run_example.sh [ranks] [budget]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/mpi_env.sh
RANKS=${1:-2}
BUDGET=${2:-20000}
mkdir -p out
mpiexec -n "$RANKS" build/simbi simulate --task two_moons --budget "$BUDGET" --seed 1 --out out/sims.h5 --force
build/simbi inspect out/sims.h5
