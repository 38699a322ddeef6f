#!/usr/bin/env bash
# Data-parallel training benchmark (docs/architecture.md §4): CP-VAE on two_moons with the
# paper's architecture (configs/two_moons/cpvae.toml), all in one run so the figures compare side by side.
#  1. throughput: training samples/s and ms per optimizer step on 1 and 2 CPU ranks at the same global
#     batch (several batch sizes), the fused gradient allreduce's time per step, and the speed-up;
#  2. memory (--rss): peak RSS per rank (/usr/bin/time -v on each rank) training one epoch streamed
#     from stores of --rss-small and --rss-rows two_moons rows, and in memory for comparison;
#  3. accuracy (--accuracy): full training (early stopping) on --rows simulations with 1 and with 2
#     ranks, C2ST on observations 1..5 against sbibm's reference posteriors (scripts/benchmark_vae.sh).
# Usage:
#   bash scripts/bench_train.sh [--rows 100000] [--batches "32 256 1024"] [--epochs 2] [--rss]
#       [--rss-rows 10000000] [--rss-small 100000] [--accuracy] [--sbibm-dir ../shared/sbibm] [--out DIR]
# Run it on an otherwise idle machine: the 2-rank figures need both cores.
# Environment: SIMBI_BUILD_DIR (default build), MPIEXEC (default mpiexec).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"
# shellcheck source=scripts/lib.sh
source "$REPO/scripts/lib.sh"  # mpi_env, PY, die, need_value, usage
ROWS=100000
BATCHES="32 256 1024"
EPOCHS=2
RSS=0
RSS_ROWS=10000000
RSS_SMALL=100000
ACCURACY=0
SBIBM_DIR="$REPO/../shared/sbibm"
OUT=""
BUILD_DIR=${SIMBI_BUILD_DIR:-build}
MPIEXEC=${MPIEXEC:-mpiexec}
while [ $# -gt 0 ]; do
  case "$1" in
    --rows) need_value "$@"; ROWS=$2; shift 2 ;;
    --batches) need_value "$@"; BATCHES=$2; shift 2 ;;
    --epochs) need_value "$@"; EPOCHS=$2; shift 2 ;;
    --rss) RSS=1; shift ;;
    --rss-rows) need_value "$@"; RSS_ROWS=$2; shift 2 ;;
    --rss-small) need_value "$@"; RSS_SMALL=$2; shift 2 ;;
    --accuracy) ACCURACY=1; shift ;;
    --sbibm-dir) need_value "$@"; SBIBM_DIR=$2; shift 2 ;;
    --out) need_value "$@"; OUT=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done
SIMBI="$BUILD_DIR/simbi"
[ -x "$SIMBI" ] || die "$SIMBI not found: build simbi first (bash scripts/setup.sh), or set SIMBI_BUILD_DIR"
if [ -z "$OUT" ]; then
  OUT=$(mktemp -d "${TMPDIR:-/tmp}/simbi_bench_train.XXXXXX")
  trap 'rm -rf "$OUT"' EXIT
fi
mkdir -p "$OUT"
CONFIG=configs/two_moons/cpvae.toml
# The paper's networks; no early stopping or learning-rate decay (a fixed number of epochs is timed).
FIXED=(--config "$CONFIG" --max-epochs "$EPOCHS" --patience 100000 --lr-decay-patience 0 --checkpoint-every-epochs 0
       --threads 1)

echo "== 1. throughput: CP-VAE, two_moons, $ROWS simulations, $EPOCHS epochs, 1 torch thread per rank"
"$MPIEXEC" -n 1 "$SIMBI" -q simulate --task two_moons --budget "$ROWS" --seed 1 --out "$OUT/tm_$ROWS.h5" --force >/dev/null
printf '%-8s %-6s %12s %12s %14s %10s\n' batch ranks "ms/step" samples/s "allreduce ms" speed-up
for batch in $BATCHES; do
  base=""
  for ranks in 1 2; do
    model="$OUT/throughput_b${batch}_r$ranks.pt"
    "$MPIEXEC" -n "$ranks" "$SIMBI" -q train --data "$OUT/tm_$ROWS.h5" "${FIXED[@]}" --batch-size "$batch" \
      --out "$model" >"$OUT/throughput_b${batch}_r$ranks.log" 2>&1 ||
      { tail -5 "$OUT/throughput_b${batch}_r$ranks.log"; die "training with batch $batch on $ranks rank(s) failed"; }
    read -r ms rate allreduce < <(model_field "$model" \
      "'%.3f %.0f %.4f' % (1e3 * j['history']['seconds'] / j['history']['steps'],
       j['history']['train_rows'] * j['epochs'] / j['history']['seconds'],
       1e3 * j['history']['allreduce_seconds'] / j['history']['steps'])")
    [ -n "$base" ] || base=$rate
    speedup=$("$PY" -c "print('%.2fx' % ($rate / $base))")
    printf '%-8s %-6s %12s %12s %14s %10s\n' "$batch" "$ranks" "$ms" "$rate" "$allreduce" "$speedup"
  done
done
echo "(allreduce: the one fused MPI_Allreduce of all gradients per step, including waiting for the slower rank)"

if [ "$RSS" -eq 1 ]; then
  echo
  echo "== 2. peak memory per rank: one epoch of CP-VAE training on 2 ranks, batch 4096"
  printf '%-12s %-8s %16s %16s %10s\n' rows loading "rank 0 max RSS" "rank 1 max RSS" seconds
  for rows in "$RSS_SMALL" "$RSS_ROWS"; do
    store="$OUT/tm_rss_$rows.h5"
    "$MPIEXEC" -n 2 "$SIMBI" -q simulate --task two_moons --budget "$rows" --seed 2 --out "$store" --force >/dev/null
    for loading in stream memory; do
      log="$OUT/rss_${rows}_$loading"
      start=$(date +%s.%N)
      # /usr/bin/time inside mpiexec: one report per rank, each rank's own peak.
      "$MPIEXEC" -n 2 bash -c "/usr/bin/time -v -o $log.rank\$OMPI_COMM_WORLD_RANK $SIMBI -q train --data $store \
        --config $CONFIG --max-epochs 1 --batch-size 4096 --checkpoint-every-epochs 0 --data-loading $loading \
        --out $log.pt" >"$log.log" 2>&1 || { tail -5 "$log.log"; die "training on $rows rows ($loading) failed"; }
      secs=$("$PY" -c "import time; print('%.1f' % (time.time() - $start))")
      rss() { awk -F': ' '/Maximum resident set size/ { printf "%.0f MiB", $2 / 1024 }' "$1"; }
      printf '%-12s %-8s %16s %16s %10s\n' "$rows" "$loading" "$(rss "$log.rank0")" "$(rss "$log.rank1")" "$secs"
    done
    rm -f "$store"
  done
fi

if [ "$ACCURACY" -eq 1 ]; then
  echo
  echo "== 3. accuracy: CP-VAE, two_moons, $ROWS simulations, 1 vs 2 ranks (C2ST, observations 1-5)"
  for ranks in 1 2; do
    bash scripts/benchmark_vae.sh --tasks two_moons --methods cpvae --budgets "$ROWS" --ranks "$ranks" \
      --sbibm-dir "$SBIBM_DIR" --out "$OUT/accuracy_r$ranks" >"$OUT/accuracy_r$ranks.log" 2>&1 ||
      { tail -20 "$OUT/accuracy_r$ranks.log"; die "the accuracy run on $ranks rank(s) failed"; }
    "$PY" - "$OUT/accuracy_r$ranks/results.csv" "$ranks" <<'PYEOF'
import csv, statistics, sys
rows = [r for r in csv.DictReader(open(sys.argv[1])) if r["status"] == "ok"]
if not rows:
    sys.exit(f"{sys.argv[1]}: no finished observation")
c2st = [float(r["c2st"]) for r in rows]
minutes = float(rows[0]["train_seconds"]) / 60
spread = statistics.stdev(c2st) if len(c2st) > 1 else 0.0
print(f"{sys.argv[2]} rank(s): C2ST {statistics.mean(c2st):.3f} ± {spread:.3f} "
      f"(per observation {', '.join(f'{v:.3f}' for v in c2st)}); training {minutes:.2f} min, "
      f"{rows[0]['epochs']} epochs")
PYEOF
  done
fi
