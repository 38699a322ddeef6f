#!/usr/bin/env bash
# ACE benchmark (the ACE authors' protocol, docs/ace.md): per task, simulate --budget rows, train ACE with
# configs/<task>/ace.toml, make --observations specified and misspecified ("unknown") observations, and
# for each β of the authors' grid draw ACE's GBI posterior (MCMC on the learned cost), the rejection-ABC
# baseline on the same simulations (simbi abc: θ_i accepted with probability exp(−β·d(x_i, x_o))) and, for
# tasks with an exact cost, the exact GBI posterior (simbi gbi-reference --method auto: rejection from the
# prior where --max-draws suffices, else MCMC on the exact cost; the method is in gt_<kind>.log). Figures
# per (task, kind, β), means over observations:
#   ppc_ace / ppc_abc / ppc_gt  posterior-predictive distance of ACE / ABC / the exact posterior (simbi ppc;
#                     ABC's is left out for an observation where it accepted no simulation: abc_accepted)
#   c2st              C2ST of ACE's draws against the exact posterior's (simbi evaluate)
#   r                 Pearson r of learned vs exact cost at 1000 prior draws (simbi cost-check)
# next to the authors' dist_samples_mean (algorithm GBI, ABC and GT, unknown observations) and c2st from
# ../shared/reference_results/ace_neuralgbi_10k/. Writes <out>/results.csv and <out>/results.md.
# Usage:
#   bash scripts/benchmark_ace.sh [--tasks "gbi_uniform_1d two_moons gbi_linear_gaussian gbi_gaussian_mixture"]
#       [--observations 10] [--kinds "specified misspecified"] [--budget 10000] [--ranks 2]
#       [--num-samples 10000] [--reference-dir ../shared/reference_results/ace_neuralgbi_10k] [--out DIR]
#       [--keep-reference]   (re-score a new ACE: reuse <out>/<task>/sims.h5 and the exact posteriors gt_*.csv
#                             of an earlier run into the same --out; they are deterministic but slow to redo)
#       [--observation-targets yes|no]   (yes, the authors' protocol: as many "known" observations per kind,
#       other than the evaluated "unknown" ones, join ACE's training targets with --ace-targets)
#       [--observation-set DIR]   (use DIR/<task>/{known,unknown}_<kind>.csv instead of `simbi observe` where
#       DIR/<task> exists: configs/gbi_authors_observations holds the authors' own observations, regenerated
#       by scripts/dev/authors_gbi_observations.py, for like-for-like rows against their per-observation figures)
# Environment: SIMBI_BUILD_DIR (default build), MPIEXEC (default mpiexec).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"
# shellcheck source=scripts/lib.sh
source "$REPO/scripts/lib.sh"  # mpi_env, PY, die, need_value, usage
TASKS="gbi_uniform_1d two_moons gbi_linear_gaussian gbi_gaussian_mixture"
OBSERVATIONS=10
KINDS="specified misspecified"
BUDGET=10000
RANKS=2
NUM_SAMPLES=10000
REFERENCE_DIR="$REPO/../shared/reference_results/ace_neuralgbi_10k"
OUT="results/ace"
OBSERVATION_TARGETS=yes
OBSERVATION_SET=""
KEEP_REFERENCE=no
BUILD_DIR=${SIMBI_BUILD_DIR:-build}
MPIEXEC=${MPIEXEC:-mpiexec}
while [ $# -gt 0 ]; do
  case "$1" in
    --tasks) need_value "$@"; TASKS=$2; shift 2 ;;
    --observations) need_value "$@"; OBSERVATIONS=$2; shift 2 ;;
    --kinds) need_value "$@"; KINDS=$2; shift 2 ;;
    --budget) need_value "$@"; BUDGET=$2; shift 2 ;;
    --ranks) need_value "$@"; RANKS=$2; shift 2 ;;
    --num-samples) need_value "$@"; NUM_SAMPLES=$2; shift 2 ;;
    --reference-dir) need_value "$@"; REFERENCE_DIR=$2; shift 2 ;;
    --out) need_value "$@"; OUT=$2; shift 2 ;;
    --observation-targets) need_value "$@"; OBSERVATION_TARGETS=$2; shift 2 ;;
    --observation-set) need_value "$@"; OBSERVATION_SET=$2; shift 2 ;;
    --keep-reference) KEEP_REFERENCE=yes; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done
SIMBI="$BUILD_DIR/simbi"
[ -x "$SIMBI" ] || die "$SIMBI not found: build simbi first (bash scripts/setup.sh), or set SIMBI_BUILD_DIR"
MPI=("$MPIEXEC" -n "$RANKS")
case "$OBSERVATION_TARGETS" in yes|no) ;; *) die "--observation-targets must be yes or no, got $OBSERVATION_TARGETS" ;; esac
[ -z "$OBSERVATION_SET" ] || [ -d "$OBSERVATION_SET" ] || die "--observation-set $OBSERVATION_SET is not a folder"
mkdir -p "$OUT"
ROWS="$OUT/rows.csv"
echo "task,kind,source,observation,beta,ppc_ace,ppc_abc,abc_accepted,ppc_gt,c2st,r,train_seconds,sample_seconds" >"$ROWS"
json() { "$PY" -c "import json,sys; print(json.load(open('$1'))$2)"; }
# make_observations TASK KIND SEED OUT NAME: the file NAME (known/unknown) of --observation-set where the
# current task's observations come from it (obs_source=set), else --observations draws of `simbi observe`.
make_observations() {
  if [ "$obs_source" = set ]; then
    local set_file="$OBSERVATION_SET/$1/$5_$2.csv" count
    [ -f "$set_file" ] || die "$set_file not found (--observation-set)"
    count=$(($(wc -l <"$set_file") - 1))
    [ "$count" -eq "$OBSERVATIONS" ] ||
      die "$set_file: expected $OBSERVATIONS observations (--observations), found $count"
    cp "$set_file" "$4"
  else
    "${MPI[@]}" "$SIMBI" -q observe --task "$1" --kind "$2" --count "$OBSERVATIONS" --seed "$3" --out "$4" >/dev/null
  fi
}

for task in $TASKS; do
  cfg="configs/$task/ace.toml"
  [ -f "$cfg" ] || die "$cfg not found"
  betas=$("$PY" -c "import tomllib; print(','.join(str(b) for b in tomllib.load(open('$cfg','rb'))['sample']['beta']))")
  dir="$OUT/$task"
  mkdir -p "$dir"
  obs_source=simbi  # where this task's observations come from (the rows' source column)
  [ -z "$OBSERVATION_SET" ] || [ ! -d "$OBSERVATION_SET/$task" ] || obs_source=set
  echo "== $task: simulate $BUDGET, train ACE ($cfg), beta $betas"
  if [ "$KEEP_REFERENCE" = yes ] && [ -f "$dir/sims.h5" ]; then
    echo "   (keeping $dir/sims.h5)"
  else
    "${MPI[@]}" "$SIMBI" -q simulate --task "$task" --budget "$BUDGET" --seed 1 --out "$dir/sims.h5" --force >/dev/null
  fi
  # The authors' protocol (docs/tasks_gbi.md): per kind, --observations "known" observations join ACE's
  # training targets (docs/methods.md §2), and the figures are over as many other, "unknown" ones (never seen
  # in training), compared with the authors' unknown rows.
  targets=()
  if [ "$OBSERVATION_TARGETS" = yes ]; then
    first=1
    for kind in $KINDS; do
      make_observations "$task" "$kind" 12 "$dir/known_$kind.csv" known
      if [ "$first" -eq 1 ]; then cat "$dir/known_$kind.csv"; else tail -n +2 "$dir/known_$kind.csv"; fi
      first=0
    done >"$dir/known_targets.csv"
    targets=(--ace-targets "$dir/known_targets.csv")
  fi
  start=$(date +%s.%N)
  "${MPI[@]}" "$SIMBI" train --data "$dir/sims.h5" --config "$cfg" "${targets[@]}" --out "$dir/ace.pt" \
    >"$dir/train.log" 2>&1 || { tail -5 "$dir/train.log"; die "training ACE on $task failed"; }
  train_seconds=$("$PY" -c "import time; print('%.1f' % (time.time() - $start))")
  exact=1
  case "$task" in gbi_uniform_1d|two_moons|gbi_linear_gaussian) ;; *) exact=0 ;; esac
  for kind in $KINDS; do
    obs="$dir/obs_$kind.csv"
    make_observations "$task" "$kind" 11 "$obs" unknown
    [ "$exact" -eq 0 ] || "${MPI[@]}" "$SIMBI" cost-check --model "$dir/ace.pt" --observation "$obs" \
      --out "$dir/check_$kind.json" >"$dir/check_$kind.log"
    start=$(date +%s.%N)
    "${MPI[@]}" "$SIMBI" sample --model "$dir/ace.pt" --observation "$obs" --config "$cfg" \
      --num-samples "$NUM_SAMPLES" --out "$dir/ace_$kind.csv" >"$dir/sample_$kind.log" 2>&1 ||
      { tail -5 "$dir/sample_$kind.log"; die "GBI sampling on $task failed"; }
    sample_seconds=$("$PY" -c "import time; print('%.1f' % (time.time() - $start))")
    keep_gt=no
    [ "$KEEP_REFERENCE" = no ] || ! ls "$dir/gt_${kind}"_obs*.csv >/dev/null 2>&1 || keep_gt=yes
    if [ "$exact" -eq 1 ] && [ "$keep_gt" = no ]; then
      "${MPI[@]}" "$SIMBI" gbi-reference --task "$task" --observation "$obs" --beta "$betas" \
        --num-samples "$NUM_SAMPLES" --out "$dir/gt_$kind.csv" >"$dir/gt_$kind.log" 2>&1 ||
        { tail -5 "$dir/gt_$kind.log"; die "the exact GBI posterior on $task failed"; }
    fi
    "${MPI[@]}" "$SIMBI" abc --data "$dir/sims.h5" --observation "$obs" --beta "$betas" --out "$dir/abc_$kind.csv" \
      >"$dir/abc_$kind.log" 2>&1 || { tail -5 "$dir/abc_$kind.log"; die "rejection ABC on $task failed"; }
    IFS=, read -ra beta_list <<<"$betas"
    for k in $(seq 1 "$OBSERVATIONS"); do
      for beta in "${beta_list[@]}"; do
        b=$("$PY" -c "print('%g' % $beta)")
        ace="$dir/ace_${kind}_obs${k}_beta$b.csv"
        [ "$OBSERVATIONS" -gt 1 ] || ace="$dir/ace_${kind}_beta$b.csv"
        "${MPI[@]}" "$SIMBI" -q ppc --task "$task" --samples "$ace" --observation "$obs" --observation-row "$k" \
          --out "$dir/ppc_ace.json" >/dev/null
        ppc_ace=$(json "$dir/ppc_ace.json" "['ppc_distance_mean']")
        abc="$dir/abc_${kind}_obs${k}_beta$b.csv"
        [ "$OBSERVATIONS" -gt 1 ] || abc="$dir/abc_${kind}_beta$b.csv"
        abc_accepted=$(($(wc -l <"$abc") - 1)) ppc_abc=""
        if [ "$abc_accepted" -gt 0 ]; then
          "${MPI[@]}" "$SIMBI" -q ppc --task "$task" --samples "$abc" --observation "$obs" --observation-row "$k" \
            --out "$dir/ppc_abc.json" >/dev/null
          ppc_abc=$(json "$dir/ppc_abc.json" "['ppc_distance_mean']")
        fi
        ppc_gt="" c2st="" r=""
        if [ "$exact" -eq 1 ]; then
          gt="$dir/gt_${kind}_obs${k}_beta$b.csv"
          "${MPI[@]}" "$SIMBI" -q ppc --task "$task" --samples "$gt" --observation "$obs" --observation-row "$k" \
            --out "$dir/ppc_gt.json" >/dev/null
          ppc_gt=$(json "$dir/ppc_gt.json" "['ppc_distance_mean']")
          "${MPI[@]}" "$SIMBI" -q evaluate --samples "$ace" --reference "$gt" --metrics c2st \
            --out "$dir/c2st.json" >/dev/null 2>&1 && c2st=$(json "$dir/c2st.json" "['c2st']")
          r=$(json "$dir/check_$kind.json" "[$((k - 1))]['pearson_r']")
        fi
        echo "$task,$kind,$obs_source,$k,$b,$ppc_ace,$ppc_abc,$abc_accepted,$ppc_gt,$c2st,$r,$train_seconds,$sample_seconds" >>"$ROWS"
      done
    done
  done
done

"$PY" - "$ROWS" "$REFERENCE_DIR" "$OUT" <<'PYEOF'
import csv, os, statistics, sys
rows_path, ref_dir, out = sys.argv[1:]
rows = list(csv.DictReader(open(rows_path)))
names = {"gbi_uniform_1d": "uniform_1d", "two_moons": "two_moons", "gbi_linear_gaussian": "linear_gaussian",
         "gbi_gaussian_mixture": "gaussian_mixture"}
def mean(vals):
    vals = [float(v) for v in vals if v not in ("", None)]
    return statistics.mean(vals) if vals else float("nan")
ref = {}
for task, name in names.items():
    path = os.path.join(ref_dir, name + ".csv")
    if not os.path.exists(path):
        continue
    for r in csv.DictReader(open(path)):
        if r["xo_known"] != "unknown":
            continue
        key = (task, r["xo_specified"], "%g" % float(r["beta"]), r["algorithm"])
        ref.setdefault(key, {"dist": [], "c2st": []})
        ref[key]["dist"].append(r["dist_samples_mean"])
        ref[key]["c2st"].append(r["c2st"])
groups = {}
for r in rows:
    groups.setdefault((r["task"], r["kind"], r["source"], r["beta"]), []).append(r)
lines = ["| task | observations | β | ppc ACE (simbi) | ppc ABC (simbi) | ABC accepted (mean) | ppc exact GBI (simbi) | "
         "ACE / exact | authors' ACE | authors' ABC | authors' exact | ACE ≤ authors' ACE × 1.1 | "
         "C2ST vs exact (simbi) | authors' c2st | r (simbi) |",
         "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|"]
for (task, kind, source, beta), rs in groups.items():
    ace, gt = mean(r["ppc_ace"] for r in rs), mean(r["ppc_gt"] for r in rs)
    a = ref.get((task, kind, beta, "GBI"), {"dist": [], "c2st": []})
    g = ref.get((task, kind, beta, "GT"), {"dist": [], "c2st": []})
    b = ref.get((task, kind, beta, "ABC"), {"dist": [], "c2st": []})
    abc = mean(r["ppc_abc"] for r in rs)
    abc_n = sum(1 for r in rs if r["ppc_abc"] not in ("", None))
    abc_cell = f"{abc:.4g}" + ("" if abc_n == len(rs) else f" ({abc_n} of {len(rs)})")
    a_dist, g_dist, a_c2st = mean(a["dist"]), mean(g["dist"]), mean(a["c2st"])
    ok = "✓" if ace == ace and a_dist == a_dist and ace <= 1.1 * a_dist else ("–" if a_dist != a_dist else "✗")
    origin = "" if source == "simbi" else ", the set's"
    lines.append(f"| {task} | {kind} ({len(rs)}{origin}) | {beta} | {ace:.4g} | {abc_cell} | {mean(r['abc_accepted'] for r in rs):.0f} | "
                 f"{gt:.4g} | {ace / gt if gt == gt else float('nan'):.2f} | "
                 f"{a_dist:.4g} | {mean(b['dist']):.4g} | {g_dist:.4g} | {ok} | {mean(r['c2st'] for r in rs):.3f} | {a_c2st:.3f} | "
                 f"{mean(r['r'] for r in rs):.4f} |")
open(os.path.join(out, "results.md"), "w").write("\n".join(lines) + "\n")
os.replace(rows_path, os.path.join(out, "results.csv"))
print("\n".join(lines))
PYEOF
