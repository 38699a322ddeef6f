#!/usr/bin/env bash
# scripts/benchmark_lorenz96.sh end to end at a toy size (the full run is documented in docs/lorenz96.md):
# it simulates both Lorenz 96 configurations on 2 ranks, trains E&E on each, evaluates E&E and rejection
# ABC on the same held-out tests and writes results.md with one row per method; --resume redoes nothing;
# bad arguments are one error line.
source "$(dirname "$0")/lib.sh"
SIMBI_BUILD_DIR=$(cd "$(dirname "$SIMBI")" && pwd)
export SIMBI_BUILD_DIR
run_bench() { bash "$SIMBI_SOURCE/scripts/benchmark_lorenz96.sh" --budget 160 --tests 6 --samples 20 --timing-rows 16 \
  --max-epochs 1 --rejection-pilot 4096 --out "$WORK/bench" "$@"; }
run_bench >bench.txt 2>&1 || { cat bench.txt >&2; fail "benchmark_lorenz96.sh failed"; }
cat bench.txt
R="$WORK/bench/results.md"
[ -f "$R" ] || fail "no results.md"
grep -q "^# Lorenz 96: E&E vs rejection ABC at 160 simulations" "$R" || fail "results.md title"
for row in "E&E, time series (lorenz96_short" "E&E, summary statistics (lorenz96_stats" "rejection ABC, summary statistics"; do
  grep -qF "| $row" "$R" || fail "results.md lacks the row '$row'"
done
# every method row has 4 parameter cells "a% / b% / c, d" and was evaluated on the same tests (6, minus failures)
"$PY" - "$R" <<'PYEOF'
import re, sys
rows = [l for l in open(sys.argv[1]) if l.startswith("| E&E") or l.startswith("| rejection")]
assert len(rows) == 3, rows
for l in rows:
    cells = [c.strip() for c in l.strip().strip("|").split("|")]
    params = [c for c in cells if re.fullmatch(r"\d+% / \d+% / [0-9.]+, [01]\.\d\d", c)]
    assert len(params) == 4, (l, params)
    assert 1 <= int(cells[1]) <= 6, cells[1]
print("ok: results.md has 3 methods x 4 parameters")
PYEOF
grep -q "speed-up [0-9.]*x" "$R" || fail "results.md lacks the 1 vs 2 rank simulation speed-up"
run_bench --resume >resume.txt 2>&1 || { cat resume.txt >&2; fail "--resume failed"; }
[ "$(grep -c ': kept ' resume.txt)" -ge 7 ] || { cat resume.txt >&2; fail "--resume redid finished stages"; }
echo "ok: --resume keeps finished stages"
rc=0
bash "$SIMBI_SOURCE/scripts/benchmark_lorenz96.sh" --tests 0 --out "$WORK/x" 2>err.txt || rc=$?
[ "$rc" -ne 0 ] && grep -q "^error: --tests must be a positive integer, got '0'" err.txt || { cat err.txt >&2; fail "--tests 0 accepted"; }
echo "ok: bad argument -> $(cat err.txt)"
