#!/usr/bin/env bash
# `simbi evaluate`: the summary line and the JSON (every figure), truncation to --max-samples, --metrics,
# and bad input (one "error:" line naming the file and the expectation; serial and under 2 ranks).
source "$(dirname "$0")/lib.sh"
DATA=$SIMBI_TEST_DATA/metrics
REF=$DATA/banana_2d_reference.csv SMP=$DATA/banana_2d_samples.csv

"$SIMBI" evaluate --reference "$REF" --samples "$SMP" --max-samples 500 --out m.json >line.txt 2>log.txt ||
  { cat log.txt; fail "evaluate failed"; }
cat line.txt
grep -Eq '^c2st 0\.[0-9]{4} \(folds( [01]\.[0-9]{4}){5}\)  mmd [-0-9.e]+  \[500 vs 500 samples, 2-D, [0-9.]+ s\]$' line.txt ||
  fail "unexpected summary line"
grep -q '^\[simbi\] c2st fold 5/5: accuracy' log.txt || fail "no per-fold progress on stderr"
"$PY" - m.json <<'PYEOF' || fail "metrics JSON"
import json, math, sys
j = json.load(open(sys.argv[1]))
assert j["n_samples"] == 500 and j["n_reference"] == 500 and j["dim"] == 2, j
assert len(j["c2st_folds"]) == 5 and abs(sum(j["c2st_folds"]) / 5 - j["c2st"]) < 1e-12
assert all(e > 10 for e in j["c2st_fold_epochs"]) and all(j["c2st_fold_converged"])
assert j["c2st_settings"]["hidden"] == [20, 20] and j["c2st_settings"]["precision"] == "float32"
assert 0.6 < j["c2st"] < 0.9, j["c2st"]
assert math.isfinite(j["mmd"]) and j["mmd"] > 0 and j["mmd_bandwidth"] > 0
PYEOF
"$SIMBI" -q evaluate --reference "$REF" --samples "$SMP" --metrics mmd --out mmd.json >mmd.txt
grep -Eq '^mmd [-0-9.e]+  \[10000 vs 10000 samples, 2-D' mmd.txt || { cat mmd.txt; fail "mmd-only line"; }
"$PY" -c "import json; j = json.load(open('mmd.json')); assert 'c2st' not in j and j['mmd'] > 0" || fail "mmd-only JSON"
echo "ok: summary line and JSON"

{ echo "a,b"; for i in 1 2 3 4 5 6 7; do echo "$i,$((i * 2))"; done; } >seven.csv
expect_error "too few rows" "seven.csv: 7 rows, expected at least 10 \(2 x 5 C2ST folds\)" \
  "$SIMBI" evaluate --reference "$REF" --samples seven.csv
"$PY" -c "
import numpy as np
m = np.random.default_rng(1).normal(size=(40, 2)); m[2, 1] = np.nan
np.savetxt('nan.csv', m, delimiter=',', header='x,y', comments='')
m[2, 1] = np.inf
np.savetxt('inf.csv', m, delimiter=',', header='x,y', comments='')
np.savetxt('three.csv', np.zeros((40, 3)), delimiter=',', header='x,y,z', comments='')
m[:, 1] = 2.5
np.savetxt('constant.csv', m, delimiter=',', header='x,y', comments='')"
expect_error "NaN in the samples" "nan.csv: row 3, column 2 is nan; evaluate needs finite samples" \
  "$SIMBI" evaluate --reference "$REF" --samples nan.csv
expect_error "inf in the reference (2 ranks)" "inf.csv: row 3, column 2 is inf" \
  "${MPI2[@]}" "$SIMBI" evaluate --reference inf.csv --samples "$SMP"
expect_error "dimensions differ" "three.csv has 3 columns but .*banana_2d_reference.csv has 2" \
  "$SIMBI" evaluate --reference "$REF" --samples three.csv
expect_error "constant reference column" "banana_2d_samples.csv vs constant.csv: c2st: reference column 2 has zero spread" \
  "$SIMBI" evaluate --reference constant.csv --samples "$SMP"
expect_error "missing file" "no_such.csv" "$SIMBI" evaluate --reference "$REF" --samples no_such.csv
expect_error "unknown metric" "--metrics: unknown metric 'c2sst' \(expected c2st, mmd\)" \
  "$SIMBI" evaluate --reference "$REF" --samples "$SMP" --metrics c2sst
expect_error "max-samples below 2 x folds" "--max-samples 5 is too small" \
  "$SIMBI" evaluate --reference "$REF" --samples "$SMP" --max-samples 5
echo "ok: evaluate"
