#!/usr/bin/env bash
# Accuracy / time benchmark of simbi's sequential runs on the sbibm tasks (docs/results_sequential.md):
# for each task x method (tsnpe, snpe, snle) x observation, one `simbi run --sequential METHOD --rounds R`
# (R rounds of BUDGET / R simulations, each round's training warm-started from the previous round's,
# docs/methods.md §11) on RANKS ranks, timed, with C2ST and MMD of its 10,000 samples against sbibm's
# reference posterior of that observation. The run config is the task's own: configs/<task>/npe.toml for
# tsnpe and snpe, configs/<task>/nle.toml for snle, with [simulate] budget set to a round's budget and the training
# batch capped at a fifth of it (so every round has at least five steps per epoch). Then it writes
#   <out>/results.csv  one row per task, method, observation: C2ST, MMD, seconds, and the seconds spent
#                      proposing, simulating and training over all rounds (from each run's report)
#   <out>/results.md   C2ST mean ± std over the observations next to sbibm's SNPE and SNLE and the best
#                      published figure of any algorithm (main_paper.csv, the same observations and
#                      budget), and the median wall time next to sbibm's median runtime (RT, minutes
#                      on one thread) of the same algorithm (SNPE for tsnpe and snpe, SNLE for snle)
# Usage:
#   bash scripts/benchmark_sequential.sh [--tasks "two_moons slcp ..."] [--methods "tsnpe snle"]
#       [--rounds 10] [--budget 10000] [--observations "1 2 3 4 5"] [--ranks 2]
#       [--sbibm-dir ../shared/sbibm] [--sbibm-results ../shared/reference_results/sbibm/main_paper.csv]
#       [--out results/sequential] [--resume] [--report-only]
#   --resume       keep runs whose metrics.json exists in --out (a `simbi run` also resumes a killed one)
#   --report-only  rebuild results.csv / results.md from what --out holds; run nothing
# A failed run is logged (its log's tail is printed) and the benchmark goes on; the exit status is 1 if
# anything failed. Environment: SIMBI_BUILD_DIR (default build), MPIEXEC (default mpiexec).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"
# shellcheck source=scripts/lib.sh
source "$REPO/scripts/lib.sh"  # mpi_env, PY, die, need_value, usage

TASKS="two_moons slcp"
METHODS="tsnpe snle"
ROUNDS=10
BUDGET=10000
OBSERVATIONS="1 2 3 4 5"
RANKS=2
SBIBM_DIR=$REPO/../shared/sbibm
SBIBM_RESULTS=$REPO/../shared/reference_results/sbibm/main_paper.csv
OUT=results/sequential
RESUME=0
REPORT_ONLY=0
while [ $# -gt 0 ]; do
  case $1 in
  --tasks) need_value "$@"; TASKS=$2; shift 2 ;;
  --methods) need_value "$@"; METHODS=$2; shift 2 ;;
  --rounds) need_value "$@"; ROUNDS=$2; shift 2 ;;
  --budget) need_value "$@"; BUDGET=$2; shift 2 ;;
  --observations) need_value "$@"; OBSERVATIONS=$2; shift 2 ;;
  --ranks) need_value "$@"; RANKS=$2; shift 2 ;;
  --sbibm-dir) need_value "$@"; SBIBM_DIR=$2; shift 2 ;;
  --sbibm-results) need_value "$@"; SBIBM_RESULTS=$2; shift 2 ;;
  --out) need_value "$@"; OUT=$2; shift 2 ;;
  --resume) RESUME=1; shift ;;
  --report-only) REPORT_ONLY=1; shift ;;
  -h | --help) usage; exit 0 ;;
  *) die "unknown argument '$1' (see --help)" ;;
  esac
done
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || die "--rounds must be a positive integer, got '$ROUNDS'"
[[ "$BUDGET" =~ ^[1-9][0-9]*$ ]] || die "--budget must be a positive integer, got '$BUDGET'"
[ $((BUDGET % ROUNDS)) -eq 0 ] || die "--budget $BUDGET is not a multiple of --rounds $ROUNDS"
PER_ROUND=$((BUDGET / ROUNDS))
SIMBI=${SIMBI_BUILD_DIR:-build}/simbi
[ "$REPORT_ONLY" = 1 ] || [ -x "$SIMBI" ] || die "$SIMBI not found: build simbi first (bash scripts/setup.sh)"
MPIEXEC=${MPIEXEC:-mpiexec}
mkdir -p "$OUT"

base_config() {  # base_config TASK METHOD: the task's config the method's run starts from
  case $2 in
  tsnpe | snpe) echo "configs/$1/npe.toml" ;;
  snle) echo "configs/$1/nle.toml" ;;
  *) die "--methods: unknown method '$2' (tsnpe, snpe, snle)" ;;
  esac
}

failed=0
if [ "$REPORT_ONLY" = 0 ]; then
  for task in $TASKS; do
    for method in $METHODS; do
      base=$(base_config "$task" "$method")
      [ -f "$base" ] || die "$base not found (--tasks: a task without a $method base config)"
      dir=$OUT/$task/$method
      mkdir -p "$dir"
      # The round's budget, and a batch of at most a fifth of it.
      "$PY" - "$base" "$PER_ROUND" >"$dir/run.toml" <<'PYEOF'
import re, sys
text, per_round = open(sys.argv[1]).read(), int(sys.argv[2])
text = re.sub(r"(?m)^budget *= *\d+.*$", f"budget = {per_round}", text)
def cap(m):
    return f"batch-size = {min(int(m.group(1)), max(1, per_round // 5))}"
text = re.sub(r"(?m)^batch-size *= *(\d+).*$", cap, text)
print(text)
PYEOF
      for k in $OBSERVATIONS; do
        obs=$SBIBM_DIR/$task/obs$k
        work=$dir/obs$k
        if [ "$RESUME" = 1 ] && [ -f "$work/metrics.json" ]; then continue; fi
        [ "$RESUME" = 1 ] || rm -rf "$work"
        echo "== $task $method observation $k: $ROUNDS rounds of $PER_ROUND on $RANKS rank(s)"
        t0=$(date +%s.%N)
        if "$MPIEXEC" -n "$RANKS" "$SIMBI" run --config "$dir/run.toml" --workdir "$work" --sequential "$method" \
          --rounds "$ROUNDS" --observation "$obs/observation.csv" --reference "$obs/reference_posterior_samples.csv" \
          --no-plots >"$dir/obs$k.log" 2>&1; then
          awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f\n", b - a }' >"$work/seconds.txt"
          grep '^c2st ' "$dir/obs$k.log" || true
        else
          echo "FAILED: $task $method observation $k (log $dir/obs$k.log):" >&2
          tail -n 5 "$dir/obs$k.log" >&2
          failed=1
        fi
      done
    done
  done
fi

"$PY" - "$OUT" "$SBIBM_RESULTS" "$ROUNDS" "$PER_ROUND" "$BUDGET" <<'PYEOF'
import csv, glob, json, os, re, statistics, sys
out, sbibm_csv, rounds, per_round, budget = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
rows = []
for metrics in sorted(glob.glob(os.path.join(out, "*", "*", "obs*", "metrics.json"))):
    work = os.path.dirname(metrics)
    task, method, obs = work.split(os.sep)[-3], work.split(os.sep)[-2], int(work.split(os.sep)[-1][3:])
    m = json.load(open(metrics))
    stages = {"propose": 0.0, "simulate": 0.0, "train": 0.0, "sample": 0.0}
    report = os.path.join(work, "run_report.md")
    for line in open(report) if os.path.exists(report) else []:
        r = re.match(r"\| (?:round \d+: )?(propose|simulate|train|sample) \| ([0-9.]+) \|", line)
        if r:
            stages[r.group(1)] += float(r.group(2))
    secs = os.path.join(work, "seconds.txt")
    rows.append({"task": task, "method": method, "observation": obs, "c2st": m["c2st"], "mmd": m.get("mmd", ""),
                 "seconds": float(open(secs).read()) if os.path.exists(secs) else "",
                 **{f"{k}_seconds": round(v, 2) for k, v in stages.items()}})
fields = ["task", "method", "observation", "c2st", "mmd", "seconds", "propose_seconds", "simulate_seconds",
          "train_seconds", "sample_seconds"]
tmp = os.path.join(out, "results.csv.tmp")
with open(tmp, "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=fields)
    w.writeheader()
    w.writerows(rows)
os.replace(tmp, os.path.join(out, "results.csv"))

label = {10**3: "10³", 10**4: "10⁴", 10**5: "10⁵"}.get(budget)
published = {}
if label and os.path.exists(sbibm_csv):
    for r in csv.DictReader(open(sbibm_csv)):
        if r["num_simulations"] == label and r["C2ST"]:
            published.setdefault((r["task"], r["algorithm"]), {})[int(r["num_observation"])] = (float(r["C2ST"]), float(r["RT"] or "nan"))
def ms(v):
    return f"{statistics.mean(v):.3f} ± {statistics.stdev(v):.3f}" if len(v) > 1 else (f"{v[0]:.3f}" if v else "–")
lines = [f"| task | method | observations | C2ST | sbibm SNPE | sbibm SNLE | best published (algorithm) | wall time (median, min) | sbibm RT (median, min) |",
         "|---|---|---|---|---|---|---|---|---|"]
for (task, method) in sorted({(r["task"], r["method"]) for r in rows}):
    mine = sorted((r for r in rows if r["task"] == task and r["method"] == method), key=lambda r: r["observation"])
    obs = [r["observation"] for r in mine]
    def pub(alg):
        d = published.get((task, alg), {})
        return [d[k][0] for k in obs if k in d]
    best = None
    for (t, alg), d in published.items():
        v = [d[k][0] for k in obs if k in d]
        if t == task and len(v) == len(obs) and (best is None or statistics.mean(v) < best[0]):
            best = (statistics.mean(v), alg, v)
    ref_alg = "SNLE" if method == "snle" else "SNPE"
    rt = [published.get((task, ref_alg), {}).get(k, (None, float("nan")))[1] for k in obs]
    rt = [v for v in rt if v == v]  # main_paper.csv lacks some runtimes
    secs = [r["seconds"] for r in mine if r["seconds"] != ""]
    lines.append(f"| {task} | {method} | {','.join(map(str, obs))} | {ms([r['c2st'] for r in mine])} | {ms(pub('SNPE'))} | "
                 f"{ms(pub('SNLE'))} | {ms(best[2]) + ' (' + best[1] + ')' if best else '–'} | "
                 f"{statistics.median(secs) / 60:.2f} | {f'{statistics.median(rt):.1f}' if rt else '–'} |")
text = (f"# Sequential runs: {rounds} rounds of {per_round} simulations\n\n" + "\n".join(lines) + "\n")
tmp = os.path.join(out, "results.md.tmp")
open(tmp, "w").write(text)
os.replace(tmp, os.path.join(out, "results.md"))
print(text)
PYEOF
exit "$failed"
