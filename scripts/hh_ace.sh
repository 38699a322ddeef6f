#!/usr/bin/env bash
# ACE on the Hodgkin-Huxley model hh_ace (docs/tasks_gbi.md, docs/methods.md §2; docs/hh_ace.md):
#  1. simulate --budget prior-predictive simulations, split over --ranks MPI ranks (simbi simulate);
#  2. make the test observation: `simbi observe --kind specified` (the ACE paper's own test data are
#     recordings from the Allen Cell Types Database, which are not available here, and it prints no θ):
#     --observation-count draws with --observation-seed, and the first that spikes repetitively during
#     the step (>= 5 spikes) and is quiet before it (std of V before the step < 1 mV), or the one given
#     by --observation-row; its θ is the "true" θ of the corner plots;
#  3. train ACE with --config (default configs/hh_ace/ace.toml; --max-epochs / --max-minutes override);
#  4. draw the GBI posterior for each β of --betas (simbi sample --beta, one call per β, timed apart);
#  5. posterior-predictive check: one simulation per posterior draw (simbi ppc --out-sims) and the mean
#     z-scored MAE to x_o (the distance the model was trained with, from the model file), per β and for
#     --num-samples prior-predictive draws (the first θ of the store) as the reference;
#  6. plots: <out>/ppc.png (per summary feature, the re-simulated features for each β and the prior
#     predictive, the observed value marked; scripts/plot_ppc.py) and <out>/corner_beta<β>.png
#     (scripts/plot_posterior.py, with the observation's θ and the training loss inset), <out>/corner.png
#     (the largest β against the smallest) and <out>/loss.png (training and validation loss).
# Prints and writes the wall time of each stage to <out>/times.csv and a summary to <out>/summary.md
# (times, training epochs and validation loss, posterior-predictive distances, R-hat/ESS lines).
# Usage:
#   bash scripts/hh_ace.sh [--budget 100000] [--ranks 2] [--betas 25,50,100] [--out DIR]
#       [--config configs/hh_ace/ace.toml] [--max-epochs N] [--max-minutes M] [--num-samples 10000]
#       [--chains 100] [--warmup 500] [--thin 10] [--observation-seed 1] [--observation-count 10] [--observation-row K]
#       [--seed 1]
# Environment: SIMBI_BUILD_DIR (default build), MPIEXEC (default mpiexec).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"
# shellcheck source=scripts/lib.sh
source "$REPO/scripts/lib.sh"  # mpi_env, PY, die, need_value, usage
BUDGET=100000
RANKS=2
BETAS="25,50,100"
OUT="results/hh_ace"
CONFIG="configs/hh_ace/ace.toml"
MAX_EPOCHS=""
MAX_MINUTES=""
NUM_SAMPLES=10000
CHAINS=""
WARMUP=""
THIN=""
OBS_SEED=1
OBS_COUNT=10
OBS_ROW=""
SEED=1
BUILD_DIR=${SIMBI_BUILD_DIR:-build}
MPIEXEC=${MPIEXEC:-mpiexec}
while [ $# -gt 0 ]; do
  case "$1" in
    --budget) need_value "$@"; BUDGET=$2; shift 2 ;;
    --ranks) need_value "$@"; RANKS=$2; shift 2 ;;
    --betas) need_value "$@"; BETAS=$2; shift 2 ;;
    --out) need_value "$@"; OUT=$2; shift 2 ;;
    --config) need_value "$@"; CONFIG=$2; shift 2 ;;
    --max-epochs) need_value "$@"; MAX_EPOCHS=$2; shift 2 ;;
    --max-minutes) need_value "$@"; MAX_MINUTES=$2; shift 2 ;;
    --num-samples) need_value "$@"; NUM_SAMPLES=$2; shift 2 ;;
    --chains) need_value "$@"; CHAINS=$2; shift 2 ;;
    --warmup) need_value "$@"; WARMUP=$2; shift 2 ;;
    --thin) need_value "$@"; THIN=$2; shift 2 ;;
    --observation-seed) need_value "$@"; OBS_SEED=$2; shift 2 ;;
    --observation-count) need_value "$@"; OBS_COUNT=$2; shift 2 ;;
    --observation-row) need_value "$@"; OBS_ROW=$2; shift 2 ;;
    --seed) need_value "$@"; SEED=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done
SIMBI="$BUILD_DIR/simbi"
[ -x "$SIMBI" ] || die "$SIMBI not found: build simbi first (bash scripts/setup.sh), or set SIMBI_BUILD_DIR"
[ -f "$CONFIG" ] || die "config $CONFIG not found"
[[ "$BUDGET" =~ ^[0-9]+$ ]] && [ "$BUDGET" -gt 0 ] || die "--budget must be a positive integer, got '$BUDGET'"
[[ "$RANKS" =~ ^[0-9]+$ ]] && [ "$RANKS" -gt 0 ] || die "--ranks must be a positive integer, got '$RANKS'"
[[ "$NUM_SAMPLES" =~ ^[0-9]+$ ]] && [ "$NUM_SAMPLES" -gt 0 ] || die "--num-samples must be a positive integer"
IFS=, read -ra BETA_LIST <<<"$BETAS"
[ "${#BETA_LIST[@]}" -gt 0 ] || die "--betas is empty"
for b in "${BETA_LIST[@]}"; do
  "$PY" -c "import sys; sys.exit(0 if float('$b') > 0 else 1)" 2>/dev/null || die "--betas: '$b' is not a positive number"
done
MPI=("$MPIEXEC" -n "$RANKS")
mkdir -p "$OUT"
export SIMBI  # plot_posterior.py runs `simbi inspect` on the model file
TIMES="$OUT/times.csv"
echo "stage,seconds" >"$TIMES"
now() { date +%s.%N; }
# stage NAME START: records and prints the wall time since START.
stage() {
  local s
  s=$("$PY" -c "print('%.1f' % ($(now) - $2))")
  echo "$1,$s" >>"$TIMES"
  echo "   time $1: $s s"
}
# run_logged LOG cmd...: runs the command with its output in LOG; on failure shows the tail and dies.
run_logged() {
  local log=$1
  shift
  "$@" >"$log" 2>&1 || { tail -20 "$log" >&2; die "failed: $* (log: $log)"; }
}
echo "== hh_ace: $BUDGET simulations on $RANKS ranks, ACE ($CONFIG), beta $BETAS -> $OUT ($SIMBI)"

# 1. simulate
t=$(now)
run_logged "$OUT/simulate.log" "${MPI[@]}" "$SIMBI" simulate --task hh_ace --budget "$BUDGET" --seed "$SEED" \
  --out "$OUT/sims.h5" --force --progress-seconds 60
stage simulate "$t"
grep -v '^progress' "$OUT/simulate.log" | tail -3 | sed 's/^/   /'

# 2. the test observation
run_logged "$OUT/observe.log" "$MPIEXEC" -n 1 "$SIMBI" observe --task hh_ace --kind specified \
  --count "$OBS_COUNT" --seed "$OBS_SEED" --out "$OUT/observations.csv" --theta-out "$OUT/observations_theta.csv"
"$PY" - "$OUT" "$OBS_ROW" <<'PYEOF'
import csv, sys
out, row = sys.argv[1], sys.argv[2]
xs = list(csv.reader(open(f"{out}/observations.csv")))
ths = list(csv.reader(open(f"{out}/observations_theta.csv")))
if row:
    k = int(row)
    if not 1 <= k < len(xs):
        sys.exit(f"error: --observation-row {k}: {out}/observations.csv has {len(xs) - 1} observations")
else:
    # Spike count (feature 1) and std of V before the step (feature 3): a repetitively spiking,
    # otherwise quiet cell, like the paper's recordings.
    good = [k for k in range(1, len(xs)) if float(xs[k][0]) >= 5 and float(xs[k][2]) < 1.0]
    if not good:
        sys.exit("error: no observation spikes >= 5 times with a quiet pre-step; try --observation-seed or --observation-row")
    k = good[0]
for name, rows in (("observation.csv", xs), ("theta_true.csv", ths)):
    with open(f"{out}/{name}", "w", newline="") as f:
        csv.writer(f).writerows([rows[0], rows[k]])
print(f"   test observation: row {k} of {out}/observations.csv: x_o = {', '.join(xs[k])}")
print(f"   its theta ({', '.join(ths[0])}) = {', '.join(ths[k])}")
PYEOF

# 3. train
train_args=()
[ -z "$MAX_EPOCHS" ] || train_args+=(--max-epochs "$MAX_EPOCHS")
[ -z "$MAX_MINUTES" ] || train_args+=(--max-minutes "$MAX_MINUTES")
t=$(now)
run_logged "$OUT/train.log" "${MPI[@]}" "$SIMBI" train --data "$OUT/sims.h5" --config "$CONFIG" --out "$OUT/ace.pt" \
  --checkpoint-every-epochs 10 ${train_args[@]+"${train_args[@]}"}
stage train "$t"
grep '^trained' "$OUT/train.log" | sed 's/^/   /'

# 4. GBI posteriors, one call per β. The config's [sample] settings are passed as options, not with
# --config: its beta list would be sampled too (a list option from a config adds to the command line's).
read -ra sample_args <<<"$("$PY" - "$CONFIG" <<'PYEOF'
import sys, tomllib
s = tomllib.load(open(sys.argv[1], "rb")).get("sample", {})
print(" ".join(f"--{k} {v}" for k, v in s.items() if k not in ("beta", "num-samples") and not isinstance(v, (list, dict))))
PYEOF
)"
[ -z "$CHAINS" ] || sample_args+=(--chains "$CHAINS")
[ -z "$WARMUP" ] || sample_args+=(--warmup "$WARMUP")
[ -z "$THIN" ] || sample_args+=(--thin "$THIN")
for b in "${BETA_LIST[@]}"; do
  t=$(now)
  run_logged "$OUT/sample_beta$b.log" "${MPI[@]}" "$SIMBI" sample --model "$OUT/ace.pt" --observation "$OUT/observation.csv" \
    --beta "$b" --num-samples "$NUM_SAMPLES" --out "$OUT/posterior_beta$b.csv" \
    ${sample_args[@]+"${sample_args[@]}"}
  stage "sample_beta$b" "$t"
  [ -f "$OUT/posterior_beta$b.csv" ] || die "simbi sample wrote no $OUT/posterior_beta$b.csv"
  grep -iE 'r-hat|ess|warning' "$OUT/sample_beta$b.log" | head -3 | sed 's/^/   /' || true
done

# 5. posterior-predictive check (and the prior predictive as the reference)
ppc() {  # ppc NAME SAMPLES [extra args]
  local name=$1 samples=$2
  shift 2
  local t
  t=$(now)
  run_logged "$OUT/ppc_$name.log" "${MPI[@]}" "$SIMBI" ppc --task hh_ace --samples "$samples" \
    --observation "$OUT/observation.csv" --model "$OUT/ace.pt" --out "$OUT/ppc_$name.json" \
    --out-sims "$OUT/ppc_x_$name.csv" "$@"
  stage "ppc_$name" "$t"
  sed 's/^/   /' "$OUT/ppc_$name.log"
}
ppc prior "$OUT/sims.h5:/theta" --max-samples "$NUM_SAMPLES"
for b in "${BETA_LIST[@]}"; do ppc "beta$b" "$OUT/posterior_beta$b.csv"; done

# 6. plots
sims_args=()
for b in "${BETA_LIST[@]}"; do sims_args+=(--sims "β = $b" "$OUT/ppc_x_beta$b.csv" "$OUT/ppc_beta$b.json"); done
t=$(now)
"$PY" scripts/plot_ppc.py --observed "$OUT/observation.csv" --prior "$OUT/ppc_x_prior.csv" "$OUT/ppc_prior.json" \
  "${sims_args[@]}" --features "spike count,resting V mean (mV),resting V std (mV),V mean (mV),V variance (mV²),V skewness,V kurtosis" \
  --title "hh_ace: posterior-predictive check, ACE ($BUDGET simulations), GBI posteriors" --out "$OUT/ppc.png"
for b in "${BETA_LIST[@]}"; do
  loss_args=()
  [ "$b" != "${BETA_LIST[0]}" ] || loss_args=(--loss-curves "$OUT/loss.png")
  "$PY" scripts/plot_posterior.py --samples "$OUT/posterior_beta$b.csv" --true-params "$OUT/theta_true.csv" \
    --model-history "$OUT/ace.pt" --samples-label "ACE GBI, β = $b" --max-points 3000 \
    --title "hh_ace: ACE GBI posterior, β = $b ($BUDGET simulations)" --out "$OUT/corner_beta$b.png" \
    ${loss_args[@]+"${loss_args[@]}"}
done
if [ "${#BETA_LIST[@]}" -gt 1 ]; then  # the largest β against the smallest
  lo=${BETA_LIST[0]} hi=${BETA_LIST[${#BETA_LIST[@]}-1]}
  "$PY" scripts/plot_posterior.py --samples "$OUT/posterior_beta$hi.csv" --reference "$OUT/posterior_beta$lo.csv" \
    --true-params "$OUT/theta_true.csv" --model-history "$OUT/ace.pt" --samples-label "β = $hi" \
    --reference-label "β = $lo" --max-points 1500 --dpi 80 \
    --title "hh_ace: ACE GBI posteriors, β = $hi vs β = $lo ($BUDGET simulations)" --out "$OUT/corner.png"
fi
stage plots "$t"

# summary
"$PY" - "$OUT" "$BUDGET" "$RANKS" "${BETA_LIST[@]}" <<'PYEOF'
import csv, json, subprocess, os, sys
out, budget, ranks, betas = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
times = {r["stage"]: float(r["seconds"]) for r in csv.DictReader(open(f"{out}/times.csv"))}
meta = json.loads(subprocess.run([os.environ["SIMBI"], "inspect", "--json", f"{out}/ace.pt"], check=True,
                                 capture_output=True, text=True).stdout)
h = meta.get("history", {})
best, best_val = h.get("best_epoch", 0), h.get("best_val_loss", float("nan"))  # best_epoch is 1-based
lines = [f"# hh_ace: {budget} simulations, {ranks} ranks", "",
         "| stage | wall s |", "|---|---:|"]
lines += [f"| {k} | {v:.1f} |" for k, v in times.items()]
lines += ["", f"training: {meta.get('epochs')} epochs ({h.get('stop_reason', '?')}), best epoch {best}, "
          f"validation loss {best_val:.4f}, {meta.get('train_seconds', 0):.1f} s in the trainer, "
          f"{meta.get('data', {}).get('rows')} rows ({meta.get('data', {}).get('dropped_rows')} dropped)", "",
          "| posterior | ppc distance (z-scored MAE to x_o) | ± sem | failed simulations |", "|---|---:|---:|---:|"]
for name in ["prior"] + [f"beta{b}" for b in betas]:
    r = json.load(open(f"{out}/ppc_{name}.json"))
    label = "prior predictive" if name == "prior" else f"β = {name[4:]}"
    lines.append(f"| {label} | {r['ppc_distance_mean']:.4f} | {r['ppc_distance_sem']:.4f} | {r['failed_simulations']} |")
text = "\n".join(lines) + "\n"
open(f"{out}/summary.md", "w").write(text)
print(text)
PYEOF
echo "plots: $OUT/ppc.png $OUT/corner.png $(for b in "${BETA_LIST[@]}"; do printf '%s ' "$OUT/corner_beta$b.png"; done)$OUT/loss.png"
