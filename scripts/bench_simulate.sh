#!/usr/bin/env bash
# Simulation throughput benchmark (TARGETS.md): prints
#  1. simulations/s per core for every built-in task (Google Benchmark, simulator only, one thread),
#     next to sbibm's single-thread figures;
#  2. rows/s of the whole `simbi simulate` path (prior + simulator + parallel HDF5 store) per task on
#     one rank;
#  3. 1 vs 2 ranks writing to the store on the ODE tasks (sir, lotka_volterra), with the speed-up.
# Usage: bash scripts/bench_simulate.sh [scale]   (scale multiplies the budgets; default 1)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/mpi_env.sh
SCALE=${1:-1}
BUILD_DIR=${SIMBI_BUILD_DIR:-build}
PY=/usr/bin/python3; [ -x "$PY" ] || PY=python3
cmake -S . -B "$BUILD_DIR" -DSIMBI_BUILD_BENCH=ON >/dev/null
cmake --build "$BUILD_DIR" --target simbi bench_simulators -j "$(nproc)" >/dev/null
SIMBI="$BUILD_DIR/simbi"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/simbi_bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# sbibm's single-thread simulations/s (TARGETS.md; "cheap tasks 65k-84k": the stricter 84k is used).
declare -A SBIBM=([two_moons]=84000 [gaussian_linear]=84000 [gaussian_linear_uniform]=84000 [slcp]=84000
  [gaussian_mixture]=84000 [bernoulli_glm]=5000 [bernoulli_glm_raw]=5000 [slcp_distractors]=880 [sir]=350
  [lotka_volterra]=190)
declare -A BUDGET=([two_moons]=2000000 [gaussian_linear]=1000000 [gaussian_linear_uniform]=1000000 [slcp]=1000000
  [gaussian_mixture]=2000000 [bernoulli_glm]=500000 [bernoulli_glm_raw]=300000 [slcp_distractors]=100000
  [sir]=100000 [lotka_volterra]=60000)

echo "== 1. simulator only, one thread (Google Benchmark, CPU time)"
"$BUILD_DIR/bench/bench_simulators" --benchmark_format=json --benchmark_min_time=1 >"$WORK/bench.json" 2>/dev/null
"$PY" - "$WORK/bench.json" <<'PYEOF' | tee "$WORK/micro.txt"
import json, sys
SBIBM = dict(two_moons=84000, gaussian_linear=84000, gaussian_linear_uniform=84000, slcp=84000,
             gaussian_mixture=84000, bernoulli_glm=5000, bernoulli_glm_raw=5000, slcp_distractors=880,
             sir=350, lotka_volterra=190)
rows = json.load(open(sys.argv[1]))["benchmarks"]
print(f"{'task':<26}{'sims/s/core':>14}{'sbibm':>10}{'ratio':>9}")
for b in rows:
    task = b["name"].split("/")[1]
    rate = b.get("items_per_second", 0.0)
    print(f"{task:<26}{rate:>14,.0f}{SBIBM[task]:>10,}{rate / SBIBM[task]:>8.1f}x")
PYEOF

rate_of() {  # rows/s from simbi simulate's summary line
  sed -nE 's/^simulated ([0-9]+) rows of .* in ([0-9.]+) s .*/\1 \2/p' "$1" | awk '{printf "%.0f", $1 / $2}'
}

echo
echo "== 2. simbi simulate on 1 rank: prior + simulator + parallel HDF5 store"
printf "%-26s%12s%14s%10s\n" task rows rows/s vs-sbibm
for task in two_moons gaussian_linear gaussian_linear_uniform slcp slcp_distractors bernoulli_glm \
  bernoulli_glm_raw gaussian_mixture sir lotka_volterra; do
  n=$((BUDGET[$task] * SCALE))
  mpiexec -n 1 "$SIMBI" -q simulate --task "$task" --budget "$n" --out "$WORK/s.h5" --force >"$WORK/out.txt"
  r=$(rate_of "$WORK/out.txt")
  printf "%-26s%12d%14d%9.1fx\n" "$task" "$n" "$r" "$(echo "$r / ${SBIBM[$task]}" | bc -l)"
  rm -f "$WORK/s.h5"
done

echo
echo "== 3. 1 vs 2 ranks into the store (ODE tasks)"
printf "%-16s%9s%16s%16s%10s  %s\n" task rows "1 rank rows/s" "2 ranks rows/s" speed-up "rows (busy s) per rank, 2 ranks"
for task in sir lotka_volterra; do
  n=$((BUDGET[$task] * 2 * SCALE))
  mpiexec -n 1 "$SIMBI" -q simulate --task "$task" --budget "$n" --out "$WORK/one.h5" --force >"$WORK/one.txt"
  mpiexec -n 2 "$SIMBI" -q simulate --task "$task" --budget "$n" --out "$WORK/two.h5" --force >"$WORK/two.txt"
  r1=$(rate_of "$WORK/one.txt"); r2=$(rate_of "$WORK/two.txt")
  per_rank=$(sed -nE 's/.*per rank: (.*)\); failed.*/\1/p' "$WORK/two.txt")
  printf "%-16s%9d%16d%16d%9.2fx  %s\n" "$task" "$n" "$r1" "$r2" "$(echo "$r2 / $r1" | bc -l)" "$per_rank"
  h5diff -q "$WORK/one.h5" "$WORK/two.h5" /x /x || echo "   (!) 1- and 2-rank stores differ"
  rm -f "$WORK/one.h5" "$WORK/two.h5"
done
