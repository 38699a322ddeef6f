#!/usr/bin/env bash
# Throughput of the vector-field estimators (FMPE, NPSE; docs/flow_matching.md), all in one run so the
# figures compare side by side:
#  1. training: samples/s and ms per optimizer step of FMPE at each global batch (--batches) and vector-
#     field width (--widths), on 1 and 2 CPU ranks (or one GPU with --device cuda), with the gradient
#     allreduce's share of the step and the 2-rank speed-up;
#  2. sampling: posterior draws/s of a trained FMPE and NPSE model by solver (rk4 at 10 and 50 steps,
#     dopri5 at rtol = atol = 1e-5, and NPSE's predictor-corrector sampler at 200 steps), 1 and 2 ranks.
# Usage:
#   bash scripts/bench_vector_field.sh [--task two_moons] [--rows 65536] [--batches "256 1024 4096 16384"]
#       [--widths "128 256 512 1024"] [--blocks 3] [--epochs 1] [--draws 10000] [--device cpu|cuda] [--out DIR]
# Run it on an otherwise idle machine: the 2-rank figures need both cores.
# Environment: SIMBI_BUILD_DIR (default build), MPIEXEC (default mpiexec).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"
# shellcheck source=scripts/lib.sh
source "$REPO/scripts/lib.sh"  # mpi_env, PY, die, need_value
TASK=two_moons
ROWS=65536
BATCHES="256 1024 4096 16384"
WIDTHS="128 256 512 1024"
BLOCKS=3
EPOCHS=1
DRAWS=10000
DEVICE=cpu
OUT=""
BUILD_DIR=${SIMBI_BUILD_DIR:-build}
MPIEXEC=${MPIEXEC:-mpiexec}
while [ $# -gt 0 ]; do
  case "$1" in
    --task) need_value "$@"; TASK=$2; shift 2 ;;
    --rows) need_value "$@"; ROWS=$2; shift 2 ;;
    --batches) need_value "$@"; BATCHES=$2; shift 2 ;;
    --widths) need_value "$@"; WIDTHS=$2; shift 2 ;;
    --blocks) need_value "$@"; BLOCKS=$2; shift 2 ;;
    --epochs) need_value "$@"; EPOCHS=$2; shift 2 ;;
    --draws) need_value "$@"; DRAWS=$2; shift 2 ;;
    --device) need_value "$@"; DEVICE=$2; shift 2 ;;
    --out) need_value "$@"; OUT=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done
[ "$DEVICE" = cpu ] || [ "$DEVICE" = cuda ] || die "--device must be cpu or cuda, got '$DEVICE'"
for n in "$ROWS" "$EPOCHS" "$DRAWS" "$BLOCKS" $BATCHES $WIDTHS; do
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || die "sizes, counts, batches and widths must be positive integers, got '$n'"
done
SIMBI="$BUILD_DIR/simbi"
[ -x "$SIMBI" ] || die "$SIMBI not found: build simbi first (bash scripts/setup.sh), or set SIMBI_BUILD_DIR"
if [ -z "$OUT" ]; then
  OUT=$(mktemp -d "${TMPDIR:-/tmp}/simbi_bench_vf.XXXXXX")
  trap 'rm -rf "$OUT"' EXIT
fi
mkdir -p "$OUT"
# One GPU: one rank. CPUs: 1 and 2 ranks, one torch thread each.
RANKS="1 2"
[ "$DEVICE" = cpu ] || RANKS=1
# A fixed number of epochs is timed: no early stopping, no schedule, no checkpoints.
FIXED=(--method fmpe --field-blocks "$BLOCKS" --max-epochs "$EPOCHS" --patience 100000 --lr 1e-3 --weight-decay 0
       --checkpoint-every-epochs 0 --threads 1 --device "$DEVICE")

STORE="$OUT/${TASK}_$ROWS.h5"
"$MPIEXEC" -n 1 "$SIMBI" -q simulate --task "$TASK" --budget "$ROWS" --seed 1 --out "$STORE" --force >/dev/null
echo "== 1. training throughput: FMPE, $TASK, $ROWS simulations, $EPOCHS epoch(s), $BLOCKS residual blocks, $DEVICE"
printf '%-7s %-7s %-6s %12s %12s %14s %10s\n' width batch ranks "ms/step" samples/s "allreduce ms" speed-up
for width in $WIDTHS; do
  for batch in $BATCHES; do
    base=""
    for ranks in $RANKS; do
      tag="w${width}_b${batch}_r$ranks"
      if ! "$MPIEXEC" -n "$ranks" "$SIMBI" -q train --data "$STORE" "${FIXED[@]}" --field-width "$width" \
        --batch-size "$batch" --out "$OUT/$tag.pt" >"$OUT/$tag.log" 2>&1; then
        # A batch larger than the training rows is the user's choice of sizes, not a failure of the run.
        grep -q "is larger than the" "$OUT/$tag.log" && { echo "$width  $batch  (batch > training rows: skipped)"; continue; }
        tail -5 "$OUT/$tag.log"
        die "training width $width, batch $batch on $ranks rank(s) failed"
      fi
      read -r ms rate allreduce < <(model_field "$OUT/$tag.pt" \
        "'%.3f %.0f %.4f' % (1e3 * j['history']['seconds'] / j['history']['steps'],
         j['history']['train_rows'] * j['epochs'] / j['history']['seconds'],
         1e3 * j['history']['allreduce_seconds'] / j['history']['steps'])")
      [ -n "$base" ] || base=$rate
      speedup=$("$PY" -c "print('%.2fx' % ($rate / $base))")
      printf '%-7s %-7s %-6s %12s %12s %14s %10s\n' "$width" "$batch" "$ranks" "$ms" "$rate" "$allreduce" "$speedup"
      [ "$tag" = "w${WIDTHS%% *}_b${BATCHES%% *}_r1" ] || rm -f "$OUT/$tag.pt"
    done
  done
done
echo "(samples/s: training rows per second of the whole run, validation included; allreduce: the fused"
echo " gradient MPI_Allreduce per step, including waiting for the slower rank)"

echo
echo "== 2. sampling throughput: $DRAWS draws for one observation of $TASK, width ${WIDTHS%% *}, $DEVICE"
# Draws/s do not depend on how well a model is trained; one epoch at the smallest width and batch.
FMPE="$OUT/w${WIDTHS%% *}_b${BATCHES%% *}_r1.pt"
NPSE="$OUT/npse.pt"
"$MPIEXEC" -n 1 "$SIMBI" -q train --data "$STORE" "${FIXED[@]/fmpe/npse}" --field-width "${WIDTHS%% *}" \
  --batch-size "${BATCHES%% *}" --out "$NPSE" >"$OUT/npse.log" 2>&1 || { tail -5 "$OUT/npse.log"; die "training NPSE failed"; }
# One prior-predictive observation (draws/s do not depend on which).
"$SIMBI" observe --task "$TASK" --kind specified --count 1 --seed 1 --out "$OUT/obs.csv" >/dev/null
printf '%-6s %-26s %-6s %10s %12s\n' model solver ranks seconds draws/s
for spec in "fmpe|rk4, 10 steps|--solver rk4 --ode-steps 10" "fmpe|rk4, 50 steps|--solver rk4 --ode-steps 50" \
  "fmpe|dopri5, tol 1e-5|--solver dopri5 --rtol 1e-5 --atol 1e-5" "npse|rk4, 50 steps|--solver rk4 --ode-steps 50" \
  "npse|pc, 200 steps|--solver pc --ode-steps 200"; do
  IFS='|' read -r method label args <<<"$spec"
  model=$FMPE
  [ "$method" = npse ] && model=$NPSE
  for ranks in $RANKS; do
    # shellcheck disable=SC2086
    "$MPIEXEC" -n "$ranks" "$SIMBI" sample --model "$model" --observation "$OUT/obs.csv" --num-samples "$DRAWS" \
      --threads 1 $args --out "$OUT/draws.csv" >"$OUT/sample.log" 2>&1 ||
      { tail -5 "$OUT/sample.log"; die "sampling $method with $label on $ranks rank(s) failed"; }
    read -r secs rate < <("$PY" - "$OUT/sample.log" <<'PYEOF'
import re, sys
m = re.search(r"in ([0-9.]+) s \(([0-9.]+)([kM]?) samples/s", open(sys.argv[1]).read())
if not m:
    sys.exit(f"{sys.argv[1]}: no 'in S s (R samples/s' line")
rate = float(m.group(2)) * {"": 1, "k": 1e3, "M": 1e6}[m.group(3)]
print(m.group(1), "%.0f" % rate)
PYEOF
)
    printf '%-6s %-26s %-6s %10s %12s\n' "$method" "$label" "$ranks" "$secs" "$rate"
  done
done
