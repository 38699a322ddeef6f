#!/usr/bin/env bash
# `simbi evaluate` agrees with scikit-learn's MLPClassifier recipe (sbibm's C2ST) within ±0.01 on the
# fixed sample files of tests/data/metrics (made by scripts/dev/make_metrics_fixtures.py). scikit-learn's
# values are computed here, by scripts/dev/sklearn_c2st.py; the test is skipped only when scikit-learn
# cannot be imported. Also: 2 ranks give exactly the 1-rank fold results.
source "$(dirname "$0")/lib.sh"
if ! "$PY" -c "import sklearn, numpy" 2>/dev/null; then
  echo "SKIP: scikit-learn is not importable by $PY (install python3-sklearn); nothing compared"
  exit 0
fi
DATA=$SIMBI_TEST_DATA/metrics
TOL=0.01
status=0
printf '%-10s %8s %8s %8s   %s\n' fixture simbi sklearn diff "seconds (simbi / sklearn)"
for f in same_2d shift_3d banana_2d; do
  ref=$DATA/${f}_reference.csv smp=$DATA/${f}_samples.csv
  [ -f "$ref" ] && [ -f "$smp" ] || fail "missing fixture $f (run scripts/dev/make_metrics_fixtures.py)"
  t0=$(date +%s.%N)
  "$SIMBI" -q evaluate --metrics c2st --reference "$ref" --samples "$smp" --out "$f.json" >"$f.simbi.txt" ||
    { cat "$f.simbi.txt"; fail "simbi evaluate failed on $f"; }
  t1=$(date +%s.%N)
  "$PY" "$SIMBI_SOURCE/scripts/dev/sklearn_c2st.py" --reference "$ref" --samples "$smp" >"$f.sklearn.txt" ||
    fail "sklearn_c2st.py failed on $f"
  t2=$(date +%s.%N)
  line=$("$PY" - "$f" "$f.json" "$f.sklearn.txt" "$t0" "$t1" "$t2" "$TOL" <<'PYEOF'
import json, sys
name, js, sk, t0, t1, t2, tol = sys.argv[1:]
a = json.load(open(js))["c2st"]
b = float(open(sk).read().split()[0])
d = a - b
ok = abs(d) <= float(tol)
print(f"{name:<10} {a:8.4f} {b:8.4f} {d:+8.4f}   {float(t1) - float(t0):.1f} / {float(t2) - float(t1):.1f}"
      + ("" if ok else f"   <-- |diff| > {tol}"))
sys.exit(0 if ok else 1)
PYEOF
  ) || status=1
  echo "$line"
done
[ "$status" -eq 0 ] || fail "simbi's C2ST differs from scikit-learn's by more than $TOL"

# Folds split over 2 ranks: the same fold accuracies and epochs as on 1 rank.
mpirun2 "$SIMBI" -q evaluate --metrics c2st,mmd --reference "$DATA/shift_3d_reference.csv" \
  --samples "$DATA/shift_3d_samples.csv" --out two_ranks.json >two_ranks.txt || { cat two_ranks.txt; fail "2-rank evaluate"; }
cat two_ranks.txt
"$PY" - shift_3d.json two_ranks.json <<'PYEOF' || fail "2 ranks differ from 1 rank"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
assert b["ranks"] == 2, b["ranks"]
for k in ("c2st", "c2st_folds", "c2st_fold_epochs"):
    assert a[k] == b[k], (k, a[k], b[k])
assert b["mmd"] is not None and b["mmd_bandwidth"] > 0
PYEOF
echo "ok: C2ST agrees with scikit-learn within $TOL on every fixture; 2 ranks = 1 rank"
