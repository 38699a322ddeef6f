#!/usr/bin/env bash
# The main job on a small default, end to end with MPI ranks: simulate two_moons (10k), train a CP-VAE,
# draw 10,000 posterior samples for the benchmark's observation 1, evaluate them against the exact
# reference posterior (C2ST, MMD) and draw a corner plot.
# Usage: bash scripts/run_example.sh [ranks] [config]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/mpi_env.sh
RANKS=${1:-2}
CONFIG=${2:-configs/examples/two_moons_quick.toml}
OUT=${SIMBI_OUT_DIR:-out/two_moons}
BUILD_DIR=${SIMBI_BUILD_DIR:-build}
DATA=examples/data/two_moons/obs1
mkdir -p "$OUT"
mpiexec -n "$RANKS" "$BUILD_DIR/simbi" run --config "$CONFIG" --workdir "$OUT" --force \
  --observation "$DATA/observation.csv" --reference "$DATA/reference_posterior_samples.csv"
"$BUILD_DIR/simbi" inspect "$OUT/sims.h5"
"$BUILD_DIR/simbi" inspect --json "$OUT/model.pt" >"$OUT/model.json"
PY=/usr/bin/python3; [ -x "$PY" ] || PY=python3
"$PY" scripts/plot_posterior.py --samples "$OUT/samples.csv" --reference "$DATA/reference_posterior_samples.csv" \
  --true-params "$DATA/true_parameters.csv" --model-history "$OUT/model.json" --out "$OUT/corner.png" \
  --loss-curves "$OUT/loss.png" --title "CP-VAE posterior, two_moons observation 1"
echo "corner plot: $OUT/corner.png  loss curves: $OUT/loss.png  metrics: $OUT/metrics.json  report: $OUT/run_report.md"
