#!/usr/bin/env bash
# Runs simbi's whole test suite (unit, mpi under mpiexec -n 2, e2e) with CTest on the build made by
# scripts/setup.sh. Extra arguments go to ctest (e.g. -L unit, -R Prior).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/mpi_env.sh
BUILD_DIR=${SIMBI_BUILD_DIR:-build}
cd "$BUILD_DIR"
ctest --output-on-failure -j "${SIMBI_JOBS:-$(nproc)}" "$@"
