#!/usr/bin/env bash
# scripts/plot_posterior.py: a corner plot (samples vs reference, true parameter, LaTeX labels, loss-curve
# inset) and a loss-curve figure are non-empty PNGs; bad input (dimension mismatch, missing file) is one
# "error:" line and exit status 1. Needs only the distribution's python3 with numpy and matplotlib.
source "$(dirname "$0")/lib.sh"
PLOT=("$PY" "$SIMBI_SOURCE/scripts/plot_posterior.py")

"$PY" - <<'PYEOF'
import json
import numpy as np
rng = np.random.default_rng(3)
cov = [[1.0, 0.6, 0.0], [0.6, 1.0, -0.3], [0.0, -0.3, 0.5]]
ref = rng.multivariate_normal([0.0, 1.0, -1.0], cov, size=3000)
smp = ref[rng.permutation(len(ref))] * 1.2 + 0.2
header = r"$\alpha$,$\beta_{1}$,gamma"
np.savetxt("reference.csv", ref, delimiter=",", header=header, comments="", fmt="%.6g")
np.savetxt("samples.csv", smp, delimiter=",", header=header, comments="", fmt="%.6g")
np.savetxt("true.csv", [[0.1, 0.9, -1.1]], delimiter=",", header=header, comments="", fmt="%.6g")
np.savetxt("two_columns.csv", ref[:, :2], delimiter=",", header="a,b", comments="", fmt="%.6g")
n = 60
train = (2.0 * np.exp(-np.arange(n) / 10) + 0.02 * rng.normal(size=n)).tolist()
val = (2.1 * np.exp(-np.arange(n) / 10) + 0.05 * rng.normal(size=n)).tolist()
json.dump({"method": "cpvae", "task": "fixture", "train_seconds": 12.5, "epochs": n,
           "history": {"train_loss": train, "val_loss": val, "epoch_seconds": [0.2] * n,
                       "best_epoch": int(np.argmin(val)) + 1}}, open("inspect.json", "w"))
PYEOF

is_png() {  # is_png FILE: exists, > 10 kB, PNG signature
  [ -s "$1" ] || fail "$1 missing or empty"
  [ "$(stat -c %s "$1")" -gt 10000 ] || fail "$1 is suspiciously small ($(stat -c %s "$1") bytes)"
  [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ] || fail "$1 is not a PNG"
}

"${PLOT[@]}" --samples samples.csv --reference reference.csv --true-params true.csv \
  --model-history inspect.json --out corner.png --loss-curves loss.png --title "fixture" >plot.txt 2>&1 ||
  { cat plot.txt; fail "plot_posterior.py failed"; }
cat plot.txt
grep -q "^error:" plot.txt && fail "unexpected error line"
is_png corner.png
is_png loss.png
echo "ok: corner plot and loss curves written"

# just the history object (not the whole inspect JSON), samples only
"$PY" -c "import json; json.dump(json.load(open('inspect.json'))['history'], open('history.json', 'w'))"
"${PLOT[@]}" --samples samples.csv --model-history history.json --out corner_only.png --max-points 500 >/dev/null ||
  fail "plot with a bare history object failed"
is_png corner_only.png
echo "ok: bare history object, samples only"

expect_error "dimension mismatch" "dimension mismatch" \
  "${PLOT[@]}" --samples samples.csv --reference two_columns.csv --out bad.png
[ ! -e bad.png ] || fail "a PNG was written despite the error"
expect_error "true-parameter mismatch" "dimension mismatch" \
  "${PLOT[@]}" --samples samples.csv --true-params two_columns.csv --out bad.png
expect_error "missing samples file" "not found" \
  "${PLOT[@]}" --samples no_such_file.csv --out bad.png
echo "ok: plot_posterior.py"
