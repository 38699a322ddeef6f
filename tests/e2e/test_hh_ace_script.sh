#!/usr/bin/env bash
# scripts/hh_ace.sh end to end at a small scale (2 ranks): simulate hh_ace, make the test observation,
# train ACE a few epochs, GBI posteriors at two β, the posterior-predictive check (re-simulated
# features, distances) and its plots. Every stage's time is recorded, every file is there, and the
# posteriors re-simulate closer to x_o than the prior predictive does. Bad options are refused.
source "$(dirname "$0")/lib.sh"
SCRIPT="$SIMBI_SOURCE/scripts/hh_ace.sh"
export SIMBI_BUILD_DIR
SIMBI_BUILD_DIR=$(cd "$(dirname "$SIMBI")" && pwd)
bash "$SCRIPT" --budget 2000 --ranks 2 --betas 25,100 --max-epochs 10 --num-samples 400 --chains 10 --warmup 50 \
  --out "$WORK/hh" >run.log 2>&1 || { cat run.log; fail "hh_ace.sh failed"; }
tail -12 run.log
for f in times.csv summary.md observation.csv theta_true.csv ace.pt posterior_beta25.csv posterior_beta100.csv \
  ppc_x_prior.csv ppc_x_beta25.csv ppc_x_beta100.csv ppc.png corner.png corner_beta25.png corner_beta100.png loss.png; do
  [ -s "$WORK/hh/$f" ] || fail "hh_ace.sh wrote no $f"
done
"$PY" - "$WORK/hh" <<'PYEOF'
import csv, json, sys
out = sys.argv[1]
stages = [r["stage"] for r in csv.DictReader(open(f"{out}/times.csv"))]
want = ["simulate", "train", "sample_beta25", "sample_beta100", "ppc_prior", "ppc_beta25", "ppc_beta100", "plots"]
assert stages == want, f"times.csv stages {stages}, expected {want}"
for name in ("beta25", "beta100"):
    rows = list(csv.reader(open(f"{out}/ppc_x_{name}.csv")))
    assert len(rows) == 401 and len(rows[0]) == 7, f"ppc_x_{name}.csv: {len(rows) - 1} rows of {len(rows[0])}"
d = {n: json.load(open(f"{out}/ppc_{n}.json"))["ppc_distance_mean"] for n in ("prior", "beta25", "beta100")}
print("ppc distances:", d)
assert d["beta100"] < d["prior"] and d["beta25"] < d["prior"], "the GBI posteriors do not beat the prior predictive"
PYEOF
out=$(bash "$SCRIPT" --budget 2>&1) && fail "--budget without a value accepted"
grep -q "error: --budget needs a value" <<<"$out" || fail "unexpected message: $out"
out=$(bash "$SCRIPT" --betas 25,-1 2>&1) && fail "a negative beta accepted"
grep -q "error: --betas: '-1' is not a positive number" <<<"$out" || fail "unexpected message: $out"
out=$(bash "$SCRIPT" --frobnicate 2>&1) && fail "an unknown option accepted"
grep -q "error: unknown option --frobnicate" <<<"$out" || fail "unexpected message: $out"
bash "$SCRIPT" --help | grep -q "Usage:" || fail "--help prints no usage"
echo "ok: hh_ace.sh end to end (small), bad options refused"
