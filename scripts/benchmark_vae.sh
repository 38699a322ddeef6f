#!/usr/bin/env bash
# Accuracy / time benchmark of simbi's amortized estimators on the sbibm tasks, the sbibm protocol
# (docs/results_vae.md, docs/results_flows.md): CP-VAE, UP-VAE, E&E (ene), NPE (neural spline flow),
# FMPE (flow matching), NPSE (score matching) and NLE (likelihood flow sampled by MCMC). For each task x budget simulate once (shared by all
# methods); for each method train with configs/<task>/<method>.toml (timed); for each observation k draw
# 10,000 posterior samples (timed) and compute C2ST and MMD against sbibm's reference posterior of that
# observation. Then write
#   <out>/results.csv  one row per task, method, budget, observation
#   <out>/results.md   C2ST mean ± std over observations next to the paper's CP-VAE / UP-VAE figures
#                      (Table 1), training minutes next to the paper's (Table 3, NVIDIA T4); E&E next
#                      to sbibm's NRE at 10⁴ (main_paper.csv, the same observations); NPE / FMPE / NPSE
#                      in a table of their own next to sbibm's NPE at the same budget and the best of
#                      sbibm's amortized NPE / NLE / NRE (mean ± std over the same observations, read
#                      from --sbibm-results; sbibm has budgets 10³, 10⁴, 10⁵ only)
# NPE / FMPE / NPSE: `simbi sample` also reads the config (its [sample] section: reject-outside-prior,
# solver settings); the old methods sample without it, as before. NPSE needs configs/<task>/npse.toml,
# shipped for five tasks (FMPE's keys sigma-min and time-prior-exponent do not all mean the same for
# NPSE, so an fmpe.toml is not one).
# Usage:
#   bash scripts/benchmark_vae.sh [--tasks "two_moons slcp ..."] [--methods "cpvae upvae ene npe fmpe npse nle"]
#       [--budgets "10000 20000"] [--observations "1 2 3 4 5"] [--ranks 2] [--sbibm-dir ../shared/sbibm]
#       [--sbibm-results ../shared/reference_results/sbibm/main_paper.csv]
#       [--out results/vae] [--max-epochs N] [--seed S] [--num-samples N] [--plots] [--resume]
#       [--fail-fast] [--report-only] [--dry-run]
#   --methods      default "cpvae upvae"; cpvae_nsf / upvae_nsf: the VAEs with the NSF decoder
#                  (configs/<task>/cpvae_nsf.toml); npe_tuned: NPE with the settings chosen by validation
#                  loss (configs/<task>/npe_tuned.toml; npe is sbibm's own NPE configuration)
#   --resume       reuse finished stages in --out (same config, seed, ranks, max-epochs); default: redo all
#   --plots        also a corner plot per observation and the loss curves (scripts/plot_posterior.py)
#   --report-only  rebuild results.csv / results.md from what --out holds; run nothing
#   --dry-run      print the commands instead of running them
# A failed stage is logged (its log's tail is printed) and the benchmark goes on; the exit status is 1 if
# anything failed (--fail-fast: stop at the first failure). Results are written to temporary files and
# moved into place, so an interrupted run never leaves half-written results.
# Environment: SIMBI_BUILD_DIR (default build), MPIEXEC (default mpiexec).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"
# shellcheck source=scripts/lib.sh
source "$REPO/scripts/lib.sh"  # mpi_env, PY, die, need_value, usage

ALL_TASKS="two_moons gaussian_linear gaussian_linear_uniform slcp slcp_distractors bernoulli_glm bernoulli_glm_raw gaussian_mixture sir lotka_volterra"
TASKS=$ALL_TASKS
METHODS="cpvae upvae"
BUDGETS="10000"
OBSERVATIONS="1 2 3 4 5"
RANKS=2
SBIBM_DIR="$REPO/../shared/sbibm"
SBIBM_RESULTS="$REPO/../shared/reference_results/sbibm/main_paper.csv"
OUT="results/vae"
MAX_EPOCHS=""
SEED=1
NUM_SAMPLES=10000
PLOTS=0
RESUME=0
FAIL_FAST=0
REPORT_ONLY=0
DRY_RUN=0
BUILD_DIR=${SIMBI_BUILD_DIR:-build}
MPIEXEC=${MPIEXEC:-mpiexec}

while [ $# -gt 0 ]; do
  case "$1" in
    --tasks) need_value "$@"; TASKS=$2; shift 2 ;;
    --methods) need_value "$@"; METHODS=$2; shift 2 ;;
    --budgets) need_value "$@"; BUDGETS=$2; shift 2 ;;
    --observations) need_value "$@"; OBSERVATIONS=$2; shift 2 ;;
    --ranks) need_value "$@"; RANKS=$2; shift 2 ;;
    --sbibm-dir) need_value "$@"; SBIBM_DIR=$2; shift 2 ;;
    --sbibm-results) need_value "$@"; SBIBM_RESULTS=$2; shift 2 ;;
    --out) need_value "$@"; OUT=$2; shift 2 ;;
    --max-epochs) need_value "$@"; MAX_EPOCHS=$2; shift 2 ;;
    --seed) need_value "$@"; SEED=$2; shift 2 ;;
    --num-samples) need_value "$@"; NUM_SAMPLES=$2; shift 2 ;;
    --plots) PLOTS=1; shift ;;
    --resume) RESUME=1; shift ;;
    --fail-fast) FAIL_FAST=1; shift ;;
    --report-only) REPORT_ONLY=1; shift ;;
    --dry-run) DRY_RUN=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
[ "$TASKS" = "all" ] && TASKS=$ALL_TASKS

# ---- validate everything before spending hours ----------------------------------------------------
is_uint() { [[ $1 =~ ^[0-9]+$ ]]; }
at_least() { is_uint "$1" && [ "$1" -ge "$2" ]; }  # at_least VALUE MIN: an integer >= MIN
at_least "$RANKS" 1 || die "--ranks must be a positive integer, got '$RANKS'"
is_uint "$SEED" || die "--seed must be a non-negative integer, got '$SEED'"
at_least "$NUM_SAMPLES" 1 || die "--num-samples must be a positive integer"
[ -z "$MAX_EPOCHS" ] || at_least "$MAX_EPOCHS" 1 || die "--max-epochs must be a positive integer, got '$MAX_EPOCHS'"
for b in $BUDGETS; do at_least "$b" 10 || die "bad budget '$b'"; done
for k in $OBSERVATIONS; do is_uint "$k" || die "bad observation number '$k'"; done
for v in "$TASKS" "$METHODS" "$BUDGETS" "$OBSERVATIONS"; do
  [ -n "${v// /}" ] || die "--tasks, --methods, --budgets and --observations must not be empty"
done
for m in $METHODS; do
  case "$m" in
    cpvae | upvae | cpvae_nsf | upvae_nsf | ene | npe | npe_tuned | fmpe | npse | nle) ;;
    *) die "unknown method '$m' (cpvae | upvae | cpvae_nsf | upvae_nsf | ene | npe | npe_tuned | fmpe | npse | nle)" ;;
  esac
done
is_flow_method() { case "$1" in npe | npe_tuned | fmpe | npse | nle) return 0 ;; *) return 1 ;; esac; }
[ -d "$SBIBM_DIR" ] || die "sbibm folder not found: $SBIBM_DIR (give --sbibm-dir)"
SBIBM_DIR=$(cd "$SBIBM_DIR" && pwd)
SBIBM_RESULTS_NOTE=""
for m in $METHODS; do
  if is_flow_method "$m" && [ ! -f "$SBIBM_RESULTS" ]; then
    SBIBM_RESULTS_NOTE="sbibm's results not found: $SBIBM_RESULTS (give --sbibm-results); no sbibm columns"
    echo "note: $SBIBM_RESULTS_NOTE" >&2
    break
  fi
done
for t in $TASKS; do
  case " $ALL_TASKS " in *" $t "*) ;; *) die "unknown task '$t' (one of: $ALL_TASKS)" ;; esac
  for m in $METHODS; do
    [ -f "configs/$t/$m.toml" ] || die "missing config configs/$t/$m.toml$([ "$m" != npse ] ||
      echo " (NPSE configs ship for $(ls configs/*/npse.toml | cut -d/ -f2 | tr '\n' ' ')- write one, or benchmark fmpe)")"
  done
  for k in $OBSERVATIONS; do
    for f in observation.csv reference_posterior_samples.csv; do
      [ -f "$SBIBM_DIR/$t/obs$k/$f" ] || die "missing $SBIBM_DIR/$t/obs$k/$f"
    done
  done
done

SIMBI="$BUILD_DIR/simbi"
if [ "$REPORT_ONLY" -eq 0 ]; then
  if [ ! -x "$SIMBI" ]; then
    [ "$DRY_RUN" -eq 1 ] || die "$SIMBI not found: build simbi first (bash scripts/setup.sh), or set SIMBI_BUILD_DIR"
    echo "note: $SIMBI not found (dry run: continuing)" >&2
  else
    for cmd in simulate train sample evaluate inspect; do
      if ! "$SIMBI" "$cmd" --help >/dev/null 2>&1; then
        [ "$DRY_RUN" -eq 1 ] || die "$SIMBI has no working '$cmd' command (is the build up to date?)"
        echo "note: $SIMBI has no '$cmd' command yet (dry run: continuing)" >&2
      fi
    done
  fi
  command -v "$MPIEXEC" >/dev/null || [ "$DRY_RUN" -eq 1 ] || die "$MPIEXEC not found (set MPIEXEC)"
fi

# ---- helpers -------------------------------------------------------------------------------------
FAILED=0
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
show() {  # a command line as one would type it: plain words bare, others in single quotes
  local a out=""
  for a in "$@"; do
    if [[ $a =~ ^[A-Za-z0-9_./:=,+@%-]+$ ]]; then out+="$a "; else out+="'${a//\'/\'\\\'\'}' "; fi
  done
  printf '%s' "${out% }"
}

# run LOG CMD...: run CMD with stdout+stderr to LOG (in a dry run: print it). On failure print LOG's tail.
run() {
  local log=$1
  shift
  if [ "$DRY_RUN" -eq 1 ]; then
    echo "  \$ $(show "$@")"
    return 0
  fi
  local rc=0
  "$@" >"$log" 2>&1 || rc=$?
  if [ "$rc" -ne 0 ]; then
    echo "  FAILED (exit $rc): $(show "$@")" >&2
    tail -n 15 "$log" | sed 's/^/    | /' >&2
  fi
  return "$rc"
}

failed() {  # record a failure; stop at once with --fail-fast
  FAILED=$((FAILED + 1))
  [ "$FAIL_FAST" -eq 0 ] || die "stopping at the first failure (--fail-fast): $*"
}

# write_atomic FILE VALUE: FILE holds VALUE, never half of it
write_atomic() { printf '%s\n' "$2" >"$1.partial" && mv -f "$1.partial" "$1"; }

read -r -a MPI <<<"$MPIEXEC -n $RANKS"  # MPIEXEC may carry options ("mpiexec --bind-to none")

# stage_done DIR STAMP: with --resume, is the stage in DIR finished with the same settings?
stage_done() { [ "$RESUME" -eq 1 ] && [ -f "$1/.done" ] && [ "$(cat "$1/.done")" = "$2" ]; }

config_hash() { sha256sum "$1" | cut -c1-16; }

# ---- the runs ------------------------------------------------------------------------------------
if [ "$REPORT_ONLY" -eq 0 ]; then
  [ "$DRY_RUN" -eq 1 ] || mkdir -p "$OUT/sims"
  echo "benchmark: tasks [$TASKS] methods [$METHODS] budgets [$BUDGETS] observations [$OBSERVATIONS]" \
    "ranks $RANKS seed $SEED${MAX_EPOCHS:+ max-epochs $MAX_EPOCHS} -> $OUT"
  for task in $TASKS; do
    for budget in $BUDGETS; do
      sims="$OUT/sims/${task}_n${budget}_s${SEED}.h5"
      sim_stamp="simulate $task $budget $SEED"
      echo "== $task, budget $budget: simulate"
      if [ -f "$sims" ] && stage_done "$OUT/sims/${task}_n${budget}_s${SEED}" "$sim_stamp"; then
        echo "  (resume: $sims)"
      else
        [ "$DRY_RUN" -eq 1 ] || mkdir -p "$OUT/sims/${task}_n${budget}_s${SEED}"
        partial="${sims%.h5}.partial.h5"
        t0=$(now)
        if run "$OUT/sims/${task}_n${budget}_s${SEED}/simulate.log" "${MPI[@]}" "$SIMBI" simulate --task "$task" \
          --budget "$budget" --seed "$SEED" --out "$partial" --force; then
          if [ "$DRY_RUN" -eq 0 ]; then
            mv -f "$partial" "$sims"
            write_atomic "$OUT/sims/${task}_n${budget}_s${SEED}/simulate_wall_seconds" "$(elapsed "$t0" "$(now)")"
            write_atomic "$OUT/sims/${task}_n${budget}_s${SEED}/.done" "$sim_stamp"
          else
            echo "  \$ mv $(show "$partial" "$sims")"
          fi
        else
          failed "simulate $task $budget"
          continue
        fi
      fi
      for method in $METHODS; do
        cfg="configs/$task/$method.toml"
        case "$method" in
          cpvae) name=CP-VAE ;; upvae) name=UP-VAE ;; ene) name="E&E" ;;
          cpvae_nsf) name="CP-VAE (NSF decoder)" ;; upvae_nsf) name="UP-VAE (NSF decoder)" ;;
          npe) name="NPE (NSF)" ;; npe_tuned) name="NPE (NSF, tuned)" ;; fmpe) name=FMPE ;; npse) name=NPSE ;; nle) name=NLE ;;
        esac
        sample_cfg=()  # NPE / FMPE / NPSE: the config's [sample] section (reject-outside-prior, solver)
        if is_flow_method "$method"; then sample_cfg=(--config "$cfg"); fi
        dir="$OUT/$task/$method/n$budget"
        train_stamp="train $(config_hash "$cfg") seed $SEED ranks $RANKS max-epochs ${MAX_EPOCHS:-config} sims $sim_stamp"
        echo "== $task, $method, budget $budget: train ($cfg)"
        [ "$DRY_RUN" -eq 1 ] || mkdir -p "$dir"
        if [ -f "$dir/model.pt" ] && stage_done "$dir" "$train_stamp"; then
          echo "  (resume: $dir/model.pt)"
        else
          rm -f "$dir/.done"
          extra=()
          [ -z "$MAX_EPOCHS" ] || extra=(--max-epochs "$MAX_EPOCHS")
          t0=$(now)
          if run "$dir/train.log" "${MPI[@]}" "$SIMBI" train --data "$sims" --config "$cfg" --out "$dir/model.partial.pt" \
            --seed "$SEED" "${extra[@]}"; then
            t1=$(now)
            if [ "$DRY_RUN" -eq 0 ]; then
              mv -f "$dir/model.partial.pt" "$dir/model.pt"
              write_atomic "$dir/train_wall_seconds" "$(elapsed "$t0" "$t1")"
            else
              echo "  \$ mv $(show "$dir/model.partial.pt" "$dir/model.pt")"
            fi
            if run "$dir/inspect.log" "$SIMBI" inspect --json "$dir/model.pt"; then
              if [ "$DRY_RUN" -eq 0 ]; then
                if "$PY" -c 'import json, sys; json.load(open(sys.argv[1]))' "$dir/inspect.log" 2>/dev/null; then
                  cp "$dir/inspect.log" "$dir/inspect.json.partial" && mv -f "$dir/inspect.json.partial" "$dir/inspect.json"
                  write_atomic "$dir/.done" "$train_stamp"
                  echo "  trained in $(cat "$dir/train_wall_seconds") s (wall)"
                else
                  echo "  FAILED: simbi inspect --json did not print JSON (see $dir/inspect.log)" >&2
                  failed "inspect $task $method $budget"
                  continue
                fi
              fi
            else
              failed "inspect $task $method $budget"
              continue
            fi
          else
            failed "train $task $method $budget"
            continue
          fi
        fi
        for k in $OBSERVATIONS; do
          odir="$dir/obs$k"
          obs="$SBIBM_DIR/$task/obs$k/observation.csv"
          ref="$SBIBM_DIR/$task/obs$k/reference_posterior_samples.csv"
          obs_stamp="obs $k samples $NUM_SAMPLES after $train_stamp"
          [ "$DRY_RUN" -eq 1 ] || mkdir -p "$odir"
          if [ -f "$odir/metrics.json" ] && stage_done "$odir" "$obs_stamp"; then
            echo "  obs $k: (resume)"
            continue
          fi
          rm -f "$odir/.done"
          [ "$DRY_RUN" -eq 1 ] || echo "  obs $k: sample + evaluate"
          t0=$(now)
          if ! run "$odir/sample.log" "${MPI[@]}" "$SIMBI" sample --model "$dir/model.pt" --observation "$obs" \
            --num-samples "$NUM_SAMPLES" --out "$odir/samples.partial.csv" --seed "$SEED" "${sample_cfg[@]}"; then
            failed "sample $task $method $budget obs $k"
            continue
          fi
          t1=$(now)
          if [ "$DRY_RUN" -eq 0 ]; then
            mv -f "$odir/samples.partial.csv" "$odir/samples.csv"
            write_atomic "$odir/sample_wall_seconds" "$(elapsed "$t0" "$t1")"
          else
            echo "  \$ mv $(show "$odir/samples.partial.csv" "$odir/samples.csv")"
          fi
          if ! run "$odir/evaluate.log" "${MPI[@]}" "$SIMBI" evaluate --samples "$odir/samples.csv" --reference "$ref" \
            --out "$odir/metrics.partial.json"; then
            failed "evaluate $task $method $budget obs $k"
            continue
          fi
          if [ "$DRY_RUN" -eq 0 ]; then
            mv -f "$odir/metrics.partial.json" "$odir/metrics.json"
            write_atomic "$odir/.done" "$obs_stamp"
            "$PY" -c 'import json, sys; d = json.load(open(sys.argv[1])); print("    c2st %.4f  mmd %.4g" % (d["c2st"], d.get("mmd", float("nan"))))' \
              "$odir/metrics.json" || true
          else
            echo "  \$ mv $(show "$odir/metrics.partial.json" "$odir/metrics.json")"
          fi
          if [ "$PLOTS" -eq 1 ]; then
            truth="$SBIBM_DIR/$task/obs$k/true_parameters.csv"
            plot=("$PY" scripts/plot_posterior.py --samples "$odir/samples.csv" --reference "$ref"
              --model-history "$dir/inspect.json" --out "$odir/corner.png"
              --title "$name on $task, budget $budget, observation $k" --samples-label "$name")
            [ ! -f "$truth" ] || plot+=(--true-params "$truth")
            [ "$k" != "$(echo "$OBSERVATIONS" | awk '{print $1}')" ] ||
              plot+=(--loss-curves "$dir/loss.png" --loss-title "$name on $task, budget $budget")
            run "$odir/plot.log" "${plot[@]}" || echo "  (plot failed; see $odir/plot.log)" >&2
          fi
        done
      done
    done
  done
fi

if [ "$DRY_RUN" -eq 1 ]; then
  echo "== report: $OUT/results.csv, $OUT/results.md (written from the files above)"
  exit 0
fi

# ---- report --------------------------------------------------------------------------------------
[ -d "$OUT" ] || die "no results folder $OUT"
if GIT_REV=$(git rev-parse --short HEAD 2>/dev/null); then
  git diff --quiet HEAD -- 2>/dev/null || GIT_REV="$GIT_REV+dirty"
else
  GIT_REV=unknown
fi
CPU=$(lscpu 2>/dev/null | sed -nE 's/^Model name: *//p' | head -1)
"$PY" - "$OUT" "$TASKS" "$METHODS" "$BUDGETS" "$OBSERVATIONS" "$RANKS" "$SEED" "${MAX_EPOCHS:-}" \
  "$GIT_REV" "${CPU:-unknown CPU}" "$(nproc)" "$SBIBM_RESULTS" "$NUM_SAMPLES" <<'PYEOF'
import csv, datetime, json, math, os, re, sys

out, tasks, methods, budgets, observations, ranks, seed, max_epochs, git_rev, cpu, ncpu, sbibm_results, num_samples = sys.argv[1:14]
tasks, methods = tasks.split(), methods.split()
budgets, observations = [int(b) for b in budgets.split()], [int(k) for k in observations.split()]

# Nautiyal et al. (arXiv 2411.14511), Table 1: C2ST mean, std over 5 runs, at 10k / 20k / 30k simulations.
PAPER_C2ST = {
    "cpvae": {
        "two_moons": [(0.6443, 0.0288), (0.6072, 0.0108), (0.6346, 0.0303)],
        "gaussian_linear": [(0.6309, 0.0357), (0.6003, 0.0165), (0.5851, 0.0355)],
        "gaussian_linear_uniform": [(0.7854, 0.0269), (0.7169, 0.0332), (0.6886, 0.0637)],
        "slcp": [(0.9279, 0.0040), (0.8987, 0.0164), (0.8582, 0.0148)],
        "slcp_distractors": [(0.9956, 0.0037), (0.9880, 0.0057), (0.9746, 0.0075)],
        "bernoulli_glm": [(0.6955, 0.0239), (0.6697, 0.0361), (0.6427, 0.0177)],
        "bernoulli_glm_raw": [(0.9491, 0.0078), (0.9171, 0.0258), (0.9307, 0.0000)],
        "gaussian_mixture": [(0.7328, 0.0347), (0.7492, 0.0496), (0.7482, 0.0228)],
        "sir": [(0.8524, 0.0719), (0.8976, 0.0121), (0.8857, 0.0330)],
        "lotka_volterra": [(0.9999, 0.0001), (0.9999, 0.0001), (0.9999, 0.0001)],
    },
    "upvae": {
        "two_moons": [(0.6510, 0.0310), (0.6565, 0.0364), (0.6212, 0.0252)],
        "gaussian_linear": [(0.7704, 0.0461), (0.6037, 0.0318), (0.7530, 0.0060)],
        "gaussian_linear_uniform": [(0.8024, 0.0156), (0.7898, 0.0137), (0.7549, 0.0276)],
        "slcp": [(0.9578, 0.0168), (0.9417, 0.0114), (0.9409, 0.0162)],
        "slcp_distractors": [(0.9838, 0.0036), (0.9798, 0.0023), (0.9840, 0.0053)],
        "bernoulli_glm": [(0.8270, 0.0249), (0.8311, 0.0216), (0.7819, 0.0692)],
        "bernoulli_glm_raw": [(0.8674, 0.0493), (0.8790, 0.0363), (0.8536, 0.0460)],
        "gaussian_mixture": [(0.7977, 0.0390), (0.8134, 0.0395), (0.8032, 0.0418)],
        "sir": [(0.8390, 0.0378), (0.8731, 0.0482), (0.8893, 0.0317)],
        "lotka_volterra": [(0.9999, 0.0001), (0.9999, 0.0001), (0.9999, 0.0001)],
    },
}
# Table 3: training minutes on an NVIDIA T4, mean, std, at 10k / 20k / 30k.
PAPER_MINUTES = {
    "cpvae": {
        "two_moons": [(2.23, 0.81), (3.75, 0.80), (4.99, 0.83)],
        "gaussian_linear": [(3.11, 0.58), (5.25, 0.63), (6.49, 1.38)],
        "gaussian_linear_uniform": [(3.36, 0.59), (7.48, 1.65), (8.45, 2.47)],
        "slcp": [(3.85, 0.62), (11.38, 1.97), (19.53, 2.99)],
        "slcp_distractors": [(1.54, 0.34), (3.62, 0.76), (4.63, 1.52)],
        "bernoulli_glm": [(1.76, 0.27), (3.64, 0.14), (4.93, 0.47)],
        "bernoulli_glm_raw": [(6.04, 0.99), (14.50, 0.18), (10.36, 0.20)],
        "gaussian_mixture": [(2.37, 0.81), (4.67, 1.10), (5.19, 0.91)],
        "sir": [(2.77, 0.40), (6.06, 1.09), (8.68, 0.83)],
        "lotka_volterra": [(7.22, 3.25), (14.61, 1.92), (22.87, 1.84)],
    },
    "upvae": {
        "two_moons": [(1.98, 0.33), (3.27, 0.58), (5.35, 1.82)],
        "gaussian_linear": [(5.75, 1.16), (9.15, 1.03), (9.16, 1.74)],
        "gaussian_linear_uniform": [(7.41, 1.85), (14.08, 1.55), (18.64, 6.57)],
        "slcp": [(5.49, 0.65), (12.59, 1.17), (22.69, 3.23)],
        "slcp_distractors": [(1.89, 0.15), (2.85, 0.39), (4.25, 0.52)],
        "bernoulli_glm": [(2.10, 0.50), (4.43, 0.61), (6.57, 1.04)],
        "bernoulli_glm_raw": [(3.42, 0.49), (8.64, 2.80), (14.21, 7.27)],
        "gaussian_mixture": [(5.61, 1.20), (6.30, 1.29), (12.96, 1.41)],
        "sir": [(4.44, 0.88), (6.71, 1.97), (9.60, 1.66)],
        "lotka_volterra": [(2.89, 0.52), (4.93, 0.10), (7.16, 1.26)],
    },
}
# Numbers to beat at 10k: best other method in the paper's Table 1, and sbibm's NPE.
BEST_OTHER_10K = {
    "two_moons": (0.519, "APT"), "gaussian_linear": (0.537, "APT"), "gaussian_linear_uniform": (0.540, "APT"),
    "slcp": (0.766, "Simformer"), "slcp_distractors": (0.920, "Simformer"), "bernoulli_glm": (0.658, "Simformer"),
    "bernoulli_glm_raw": (0.846, "APT"), "gaussian_mixture": (0.517, "Simformer"), "sir": (0.838, "NPE"),
    "lotka_volterra": (1.000, "all"),
}
# sbibm's NPE at 10⁴, mean over observations 1-10 (main_paper.csv; over 1-5 the means differ by up to
# 0.06: sir 0.737, slcp 0.889). The flows' table below reads the csv for the same observations instead.
SBIBM_NPE_10K = {
    "two_moons": 0.606, "gaussian_linear": 0.552, "gaussian_linear_uniform": 0.553, "slcp": 0.901,
    "slcp_distractors": 0.970, "bernoulli_glm": 0.678, "bernoulli_glm_raw": 0.765, "gaussian_mixture": 0.661,
    "sir": 0.680, "lotka_volterra": 0.997,
}
NAMES = {"cpvae": "CP-VAE", "upvae": "UP-VAE", "cpvae_nsf": "CP-VAE (NSF decoder)", "upvae_nsf": "UP-VAE (NSF decoder)",
         "ene": "E&E", "npe": "NPE (NSF)", "npe_tuned": "NPE (NSF, tuned)", "fmpe": "FMPE", "npse": "NPSE", "nle": "NLE"}
# Compared with the paper's Table 1 (E&E: sbibm's NRE; a VAE with the NSF decoder: the paper's VAE).
OLD_METHODS = ("cpvae", "upvae", "cpvae_nsf", "upvae_nsf", "ene")
FLOW_METHODS = ("npe", "npe_tuned", "fmpe", "npse", "nle")  # compared with sbibm's NPE (NLE: its NLE) and best amortized
SBIBM_SAME_KIND = {"nle": "NLE"}  # the sbibm algorithm a method is compared with (default NPE)
AMORTIZED = ("NPE", "NLE", "NRE")  # sbibm's single-round (amortizable) neural methods


def read_sbibm(path):
    """main_paper.csv as {(task, budget, algorithm): {observation: C2ST}}; {} when it cannot be read.
    num_simulations is written 10³ / 10⁴ / 10⁵ there."""
    budget_of = {"10³": 1000, "10⁴": 10000, "10⁵": 100000}
    table = {}
    try:
        with open(path, newline="") as f:
            for r in csv.DictReader(f):
                b = budget_of.get(r.get("num_simulations", "").strip())
                c = num(r.get("C2ST"))
                if b is None or c is None:
                    continue
                table.setdefault((r["task"], b, r["algorithm"]), {})[int(r["num_observation"])] = c
    except (OSError, ValueError, KeyError):
        return {}
    return table

# E&E's reference: sbibm's NRE at 10⁴ simulations (main_paper.csv), mean ± std over observations 1-5.
SBIBM_NRE_10K = {
    "two_moons": [0.71165, 0.71545, 0.77465, 0.7663, 0.7691],
    "gaussian_linear": [0.54445, 0.5551, 0.5586, 0.5587, 0.5585],
    "slcp": [0.96095, 0.93955, 0.96135, 0.96725, 0.95445],
    "sir": [0.6229, 0.8640, 0.7707, 0.81345, 0.7715],
}
for _task, _v in SBIBM_NRE_10K.items():
    _m = sum(_v) / len(_v)
    _s = math.sqrt(sum((x - _m) ** 2 for x in _v) / (len(_v) - 1))
    PAPER_C2ST.setdefault("ene", {})[_task] = [(_m, _s), None, None]
BUDGET_INDEX = {10000: 0, 20000: 1, 30000: 2}


def read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def read_number(path):
    try:
        with open(path) as f:
            return float(f.read().strip())
    except (OSError, ValueError):
        return None


def num(v):
    try:
        v = float(v)
        return v if math.isfinite(v) else None
    except (TypeError, ValueError):
        return None


def paper(table, method, task, budget):
    i = BUDGET_INDEX.get(budget)
    # A VAE with the NSF decoder (cpvae_nsf) is compared with the paper's VAE of the same kind.
    return None if i is None else table.get(method.split("_")[0], {}).get(task, [None] * 3)[i]


def best_epoch_1based(hist):
    """simbi's history may count best_epoch from 0 or 1: take the reading that points at the lowest
    validation loss (as scripts/plot_posterior.py does); report it 1-based, as the training log does."""
    k = hist.get("best_epoch")
    val = hist.get("val_loss")
    if not isinstance(k, int):
        return None
    if isinstance(val, list) and val:
        finite = [(v, i) for i, v in enumerate(val) if num(v) is not None]
        if finite:
            m = min(finite)[1]
            if m == k:
                return k + 1
            if m == k - 1:
                return k
    return k


def sample_compute_seconds(log):
    """The sampling time simbi reports itself ("sampled N draws ... in T s (...samples/s...)"), without
    MPI start-up and file writing; None when the log has no such line."""
    try:
        with open(log) as f:
            text = f.read()
    except OSError:
        return None
    found = re.findall(r"\bin ([0-9.]+(?:e[-+]?[0-9]+)?) s\b[^\n]*samples/s", text)
    return sum(float(x) for x in found) if found else None


def mean_std(values):
    v = [x for x in values if x is not None]
    if not v:
        return None, None, 0
    m = sum(v) / len(v)
    s = math.sqrt(sum((x - m) ** 2 for x in v) / (len(v) - 1)) if len(v) > 1 else 0.0
    return m, s, len(v)


SBIBM = read_sbibm(sbibm_results) if any(m in FLOW_METHODS for m in methods) else {}


def sbibm_c2st(task, budget, algorithm):
    """sbibm's C2ST mean, std, n over this benchmark's observations; None when it has none of them."""
    per_obs = SBIBM.get((task, budget, algorithm), {})
    m, s, n = mean_std([per_obs.get(k) for k in observations])
    return None if m is None else (m, s, n)


rows = []
for task in tasks:
    for method in methods:
        for budget in budgets:
            d = os.path.join(out, task, method, f"n{budget}")
            insp = read_json(os.path.join(d, "inspect.json")) or {}
            hist = insp.get("history", {}) if isinstance(insp.get("history"), dict) else {}
            train_wall = read_number(os.path.join(d, "train_wall_seconds"))
            training = insp.get("training") if isinstance(insp.get("training"), dict) else {}
            epochs = insp.get("epochs")
            if epochs is None and isinstance(hist.get("train_loss"), list):
                epochs = len(hist["train_loss"])
            for k in observations:
                od = os.path.join(d, f"obs{k}")
                met = read_json(os.path.join(od, "metrics.json"))
                status = "ok" if isinstance(met, dict) and num(met.get("c2st")) is not None else (
                    "no model" if not os.path.exists(os.path.join(d, "model.pt")) else "missing")
                met = met if isinstance(met, dict) else {}
                rows.append(dict(
                    task=task, method=method, budget=budget, observation=k,
                    c2st=num(met.get("c2st")), mmd=num(met.get("mmd")),
                    train_seconds=num(insp.get("train_seconds")), train_wall_seconds=train_wall,
                    epochs=epochs, best_epoch=best_epoch_1based(hist),
                    sample_seconds=read_number(os.path.join(od, "sample_wall_seconds")),
                    sample_compute_seconds=sample_compute_seconds(os.path.join(od, "sample.log")),
                    max_epochs=training.get("max_epochs"), train_ranks=insp.get("ranks"),
                    status=status))


def fmt(v, spec):
    return "" if v is None else format(v, spec)


fields = ["task", "method", "budget", "observation", "c2st", "mmd", "train_seconds", "train_wall_seconds",
          "epochs", "best_epoch", "max_epochs", "train_ranks", "sample_seconds", "sample_compute_seconds", "status"]
tmp = os.path.join(out, ".results.csv.partial")
with open(tmp, "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(fields)
    for r in rows:
        w.writerow([r["task"], r["method"], r["budget"], r["observation"], fmt(r["c2st"], ".4f"),
                    fmt(r["mmd"], ".5g"), fmt(r["train_seconds"], ".2f"), fmt(r["train_wall_seconds"], ".2f"),
                    "" if r["epochs"] is None else r["epochs"], "" if r["best_epoch"] is None else r["best_epoch"],
                    "" if r["max_epochs"] is None else r["max_epochs"],
                    "" if r["train_ranks"] is None else r["train_ranks"],
                    fmt(r["sample_seconds"], ".3f"), fmt(r["sample_compute_seconds"], ".4f"), r["status"]])
os.replace(tmp, os.path.join(out, "results.csv"))


def pm(m, s, digits=3):
    return "–" if m is None else f"{m:.{digits}f} ± {s:.{digits}f}"


old_methods = [m for m in methods if m in OLD_METHODS]
flow_methods = [m for m in methods if m in FLOW_METHODS]
md = []
if flow_methods:
    md.append(f"# {' / '.join(NAMES.get(m, m) for m in methods)} benchmark (simbi)\n")
else:
    md.append("# CP-VAE / UP-VAE / E&E benchmark (simbi)\n")
short = sorted({r["max_epochs"] for r in rows
                if r["method"] in OLD_METHODS and r["max_epochs"] is not None and r["max_epochs"] != 1000})
if old_methods and max_epochs and int(max_epochs) not in short and int(max_epochs) != 1000:
    short.append(int(max_epochs))
md.append(f"{datetime.datetime.now().strftime('%Y-%m-%d %H:%M')} · simbi {git_rev} · {cpu}, {ncpu} cores · "
          f"{ranks} MPI rank(s) · seed {seed}"
          + (f" · **max-epochs {', '.join(map(str, short))}** (not the paper's 1000)" if short else "")
          + (f" · **max-epochs {max_epochs}** for {' / '.join(NAMES[m] for m in flow_methods)} (not the configs')"
             if flow_methods and max_epochs else "") + "\n")
if old_methods:
    md.append("Protocol (sbibm; docs/results_vae.md): C2ST / MMD of 10,000 samples against sbibm's reference posterior, mean ± std over "
              f"observations {', '.join(map(str, observations))}. Paper: Nautiyal et al. (arXiv 2411.14511), Table 1 "
              "(C2ST, mean ± std over 5 runs) and Table 3 (training minutes, NVIDIA T4); for E&E the 'paper' column is "
              "sbibm's NRE at 10⁴ (main_paper.csv, observations 1-5). C2ST 0.5 is perfect; "
              "'≤ paper' means simbi's mean is at or below the paper's. Train min: simbi's training loop (from the "
              "model's metadata; wall time of the whole `simbi train` call in brackets). Sample s: 10,000 draws as "
              "simbi reports them (wall time of the `simbi sample` call, MPI start-up included, in brackets), "
              "mean over observations.\n")
    md.append("| task | method | budget | C2ST simbi | C2ST paper | Δ | ≤ paper | MMD simbi | train min simbi | "
              "train min paper (T4) | epochs | sample s |")
    md.append("|---|---|---|---|---|---|---|---|---|---|---|---|")
    summary = {}
    best_of_task = {}
    for task in tasks:
        for method in old_methods:
            for budget in budgets:
                rs = [r for r in rows if r["task"] == task and r["method"] == method and r["budget"] == budget]
                c_m, c_s, n = mean_std([r["c2st"] for r in rs])
                m_m, m_s, _ = mean_std([r["mmd"] for r in rs])
                p = paper(PAPER_C2ST, method, task, budget)
                pt = paper(PAPER_MINUTES, method, task, budget)
                ts = rs[0]["train_seconds"] if rs else None
                tw = rs[0]["train_wall_seconds"] if rs else None
                s_m, _, _ = mean_std([r["sample_seconds"] for r in rs])
                sc_m, _, _ = mean_std([r["sample_compute_seconds"] for r in rs])
                samp = "" if s_m is None else (f"{sc_m:.3f} ({s_m:.1f})" if sc_m is not None else f"({s_m:.1f})")
                delta = "" if c_m is None or p is None else f"{c_m - p[0]:+.3f}"
                ok = "" if c_m is None or p is None else ("✓" if c_m <= p[0] else "✗")
                if ok:
                    summary.setdefault((method, budget), []).append(ok == "✓")
                if c_m is not None and budget == 10000 and method in ("cpvae", "upvae", "cpvae_nsf", "upvae_nsf"):
                    if task not in best_of_task or c_m < best_of_task[task][0]:
                        best_of_task[task] = (c_m, c_s, method)
                c2st = "–" if c_m is None else pm(c_m, c_s) + (f" (n={n})" if n != len(observations) else "")
                tmin = "–" if ts is None and tw is None else (
                    (f"{ts / 60:.2f}" if ts is not None else "?") + (f" ({tw / 60:.2f})" if tw is not None else ""))
                md.append(f"| {task} | {NAMES.get(method, method)} | {budget:,} | {c2st} | "
                          f"{'–' if p is None else pm(*p)} | {delta} | {ok} | {pm(m_m, m_s, 4)} | {tmin} | "
                          f"{'–' if pt is None else f'{pt[0]:.2f} ± {pt[1]:.2f}'} | "
                          f"{'' if not rs or rs[0]['epochs'] is None else rs[0]['epochs']} | {samp} |")
    md.append("")
    for (method, budget), oks in sorted(summary.items()):
        md.append(f"- {NAMES.get(method, method)} at {budget:,}: at or below the paper on {sum(oks)} of {len(oks)} tasks.")
    if best_of_task:
        md.append("\n## Best simbi VAE per task at 10,000 simulations vs the best in the paper and sbibm NPE\n")
        md.append("| task | best simbi (method) | best other in the paper | sbibm NPE 10⁴ (obs 1–10) |")
        md.append("|---|---|---|---|")
        for task in tasks:
            if task in best_of_task:
                c_m, c_s, method = best_of_task[task]
                b, who = BEST_OTHER_10K[task]
                md.append(f"| {task} | {pm(c_m, c_s)} ({NAMES.get(method, method)}) | {b:.3f} ({who}) | "
                          f"{SBIBM_NPE_10K[task]:.3f} |")
if flow_methods:
    obs_txt = ", ".join(map(str, observations))
    md.append(f"{chr(10) if old_methods else ''}## {' / '.join(NAMES[m] for m in flow_methods)} vs sbibm\n")
    md.append(f"Protocol (sbibm; docs/results_flows.md): C2ST / MMD of {int(num_samples):,} samples against sbibm's reference "
              f"posterior, mean ± std over observations {obs_txt}. sbibm NPE: sbibm's NPE (sbi's NSF, its "
              "benchmark configuration = configs/<task>/npe.toml) at the same budget on the same observations "
              "(main_paper.csv; sbibm ran 10³, 10⁴ and 10⁵ simulations only, other budgets show –). "
              "NLE is compared with sbibm's NLE (sbi's MAF likelihood, slice MCMC) in the same columns. "
              "'≤ sbibm NPE' means simbi's mean is at or below sbibm's. Best amortized: the lowest mean of sbibm's "
              "NPE, NLE and NRE there (single-round methods; the sequential SNPE / SNLE / SNRE are left out). "
              "C2ST 0.5 is perfect. Train min: simbi's training loop (wall time of `simbi train` in brackets); "
              f"epochs (best): epochs run (the epoch whose weights were kept). Sample s: {int(num_samples):,} draws as simbi reports "
              "them (wall time of `simbi sample` in brackets), mean over observations.\n")
    if not SBIBM:
        md.append(f"(sbibm's results could not be read from {sbibm_results}: no sbibm columns.)\n")
    md.append("| task | method | budget | C2ST simbi | C2ST sbibm NPE (NLE: NLE) | Δ | ≤ sbibm | best amortized (sbibm) | "
              "MMD simbi | train min simbi | epochs (best) | sample s |")
    md.append("|---|---|---|---|---|---|---|---|---|---|---|---|")
    flow_summary = {}
    for task in tasks:
        for method in flow_methods:
            for budget in budgets:
                rs = [r for r in rows if r["task"] == task and r["method"] == method and r["budget"] == budget]
                c_m, c_s, n = mean_std([r["c2st"] for r in rs])
                m_m, m_s, _ = mean_std([r["mmd"] for r in rs])
                ref = sbibm_c2st(task, budget, SBIBM_SAME_KIND.get(method, "NPE"))
                best = None
                for alg in AMORTIZED:
                    v = sbibm_c2st(task, budget, alg)
                    if v is not None and (best is None or v[0] < best[0][0]):
                        best = (v, alg)
                ts = rs[0]["train_seconds"] if rs else None
                tw = rs[0]["train_wall_seconds"] if rs else None
                s_m, _, _ = mean_std([r["sample_seconds"] for r in rs])
                sc_m, _, _ = mean_std([r["sample_compute_seconds"] for r in rs])
                samp = "" if s_m is None else (f"{sc_m:.3f} ({s_m:.1f})" if sc_m is not None else f"({s_m:.1f})")
                delta = "" if c_m is None or ref is None else f"{c_m - ref[0]:+.3f}"
                ok = "" if c_m is None or ref is None else ("✓" if c_m <= ref[0] else "✗")
                if ok:
                    flow_summary.setdefault((method, budget), []).append(ok == "✓")
                c2st = "–" if c_m is None else pm(c_m, c_s) + (f" (n={n})" if n != len(observations) else "")
                ref_txt = "–" if ref is None else pm(ref[0], ref[1]) + (f" (n={ref[2]})" if ref[2] != len(observations) else "")
                best_txt = "–" if best is None else f"{pm(best[0][0], best[0][1])} ({best[1]})"
                tmin = "–" if ts is None and tw is None else (
                    (f"{ts / 60:.2f}" if ts is not None else "?") + (f" ({tw / 60:.2f})" if tw is not None else ""))
                ep = "" if not rs or rs[0]["epochs"] is None else str(rs[0]["epochs"])
                if ep and rs[0]["best_epoch"] is not None:
                    ep += f" ({rs[0]['best_epoch']})"
                md.append(f"| {task} | {NAMES.get(method, method)} | {budget:,} | {c2st} | {ref_txt} | {delta} | {ok} | "
                          f"{best_txt} | {pm(m_m, m_s, 4)} | {tmin} | {ep} | {samp} |")
    md.append("")
    for (method, budget), oks in sorted(flow_summary.items()):
        md.append(f"- {NAMES.get(method, method)} at {budget:,}: at or below sbibm's "
                  f"{SBIBM_SAME_KIND.get(method, 'NPE')} on {sum(oks)} of {len(oks)} tasks.")
missing = [r for r in rows if r["status"] != "ok"]
if missing:
    md.append(f"\n{len(missing)} of {len(rows)} task/method/budget/observation runs have no result "
              "(status column of results.csv).")
tmp = os.path.join(out, ".results.md.partial")
with open(tmp, "w") as f:
    f.write("\n".join(md) + "\n")
os.replace(tmp, os.path.join(out, "results.md"))
print(f"wrote {os.path.join(out, 'results.csv')} ({len(rows)} rows, {len(rows) - len(missing)} with results) "
      f"and {os.path.join(out, 'results.md')}")
PYEOF

cat "$OUT/results.md"
if [ "$FAILED" -gt 0 ]; then
  echo "error: $FAILED stage(s) failed; see the logs under $OUT" >&2
  exit 1
fi
