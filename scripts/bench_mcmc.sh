#!/usr/bin/env bash
# MCMC speed benchmark (issue 5): GBI sampling on a two_moons ACE potential with 100 chains (the ACE
# paper's 500 warm-up sweeps, thinning 10), 10,000 draws, on 1 and on 2 ranks in one run: potential
# evaluations/s, bulk ESS/s and the wall time to draw the 10,000 GBI samples, with the 2-rank speed-up.
# Usage: bash scripts/bench_mcmc.sh [--model ace.pt] [--budget 10000] [--beta 100] [--chains 100] [--out DIR]
#   Without --model, a two_moons ACE model is trained first (configs/two_moons/ace.toml, --budget sims).
# Run it on an otherwise idle machine. Environment: SIMBI_BUILD_DIR (default build), MPIEXEC.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"
# shellcheck source=scripts/lib.sh
source "$REPO/scripts/lib.sh"  # mpi_env, PY, die, need_value, usage
MODEL=""
BUDGET=10000
BETA=100
CHAINS=100
OUT=""
BUILD_DIR=${SIMBI_BUILD_DIR:-build}
MPIEXEC=${MPIEXEC:-mpiexec}
while [ $# -gt 0 ]; do
  case "$1" in
    --model) need_value "$@"; MODEL=$2; shift 2 ;;
    --budget) need_value "$@"; BUDGET=$2; shift 2 ;;
    --beta) need_value "$@"; BETA=$2; shift 2 ;;
    --chains) need_value "$@"; CHAINS=$2; shift 2 ;;
    --out) need_value "$@"; OUT=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done
SIMBI="$BUILD_DIR/simbi"
[ -x "$SIMBI" ] || die "$SIMBI not found: build simbi first (bash scripts/setup.sh), or set SIMBI_BUILD_DIR"
if [ -z "$OUT" ]; then
  OUT=$(mktemp -d "${TMPDIR:-/tmp}/simbi_bench_mcmc.XXXXXX")
  trap 'rm -rf "$OUT"' EXIT
fi
mkdir -p "$OUT"
"$MPIEXEC" -n 1 "$SIMBI" -q observe --task two_moons --kind specified --count 1 --seed 5 --out "$OUT/obs.csv" >/dev/null
if [ -z "$MODEL" ]; then
  MODEL="$OUT/ace.pt"
  "$MPIEXEC" -n 2 "$SIMBI" -q simulate --task two_moons --budget "$BUDGET" --seed 1 --out "$OUT/sims.h5" >/dev/null
  start=$(date +%s.%N)
  "$MPIEXEC" -n 2 "$SIMBI" -q train --data "$OUT/sims.h5" --config configs/two_moons/ace.toml --out "$MODEL" >/dev/null
  echo "ACE training on $BUDGET two_moons simulations (2 ranks): $(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }') s"
fi
echo "== GBI sampling, two_moons ACE potential, beta $BETA, $CHAINS chains, warm-up 500, thin 10, 10,000 draws"
printf '%-6s %12s %10s %16s %14s %14s %12s %10s\n' ranks "wall s" "init s" "evaluations/s" "rows per call" "min bulk ESS" \
  "ESS/s" speed-up
base=""
for ranks in 1 2; do
  start=$(date +%s.%N)
  line=$("$MPIEXEC" -n "$ranks" "$SIMBI" sample --model "$MODEL" --observation "$OUT/obs.csv" --beta "$BETA" \
    --chains "$CHAINS" --warmup 500 --thin 10 --num-samples 10000 --out "$OUT/s_r$ranks.csv" 2>/dev/null | grep '^sampled')
  wall=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.2f", e - s }')
  mcmc_s=$(sed -nE 's/.* in ([0-9.]+) s: .*/\1/p' <<<"$line")
  evals=$(sed -nE 's/.*, ([0-9.]+[kMG]?) potential evaluations\/s.*/\1/p' <<<"$line")
  ess=$(sed -nE 's/.*min bulk ESS ([0-9.]+),.*/\1/p' <<<"$line")
  rows=$(sed -nE 's/.*\(([0-9.]+) rows per call.*/\1/p' <<<"$line")
  init_s=$(sed -nE 's/.*initialisation ([0-9.]+) s\).*/\1/p' <<<"$line")
  ess_s=$(awk -v e="$ess" -v t="$mcmc_s" 'BEGIN { printf "%.0f", e / t }')
  [ -n "$base" ] || base=$mcmc_s
  printf '%-6s %12s %10s %16s %14s %14s %12s %10s\n' "$ranks" "$mcmc_s ($wall)" "$init_s" "$evals" "$rows" "$ess" "$ess_s" \
    "$(awk -v b="$base" -v t="$mcmc_s" 'BEGIN { printf "%.2fx", b / t }')"
done
echo "(wall s: the MCMC call, initialisation and gather included; in brackets the whole command with start-up)"
