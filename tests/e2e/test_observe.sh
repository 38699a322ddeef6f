#!/usr/bin/env bash
# `simbi observe` under `mpiexec -n 2`: specified observations with their θ (same files as 1 rank),
# misspecified ones by the box walk (every point outside the prior-predictive box) and by a task's
# misspecified simulator, the CSV format `simbi sample --observation` reads, and bad input (one
# "error:" line, non-zero exit on every rank, no hang).
source "$(dirname "$0")/lib.sh"
S=("$SIMBI")

mpirun2 "${S[@]}" observe --task gbi_linear_gaussian --kind specified --count 5 --seed 3 \
  --out spec.csv --theta-out spec_theta.csv >line.txt || fail "observe (specified, 2 ranks)"
cat line.txt
grep -q '^observe: 5 specified observations of gbi_linear_gaussian -> spec.csv, θ -> spec_theta.csv$' line.txt ||
  fail "unexpected summary line"
[ "$(grep -c '^observe:' line.txt)" -eq 1 ] || fail "summary printed by more than one rank"
"${S[@]}" -q observe --task gbi_linear_gaussian --kind specified --count 5 --seed 3 \
  --out spec1.csv --theta-out spec1_theta.csv
cmp spec.csv spec1.csv || fail "1 and 2 ranks wrote different observations"
cmp spec_theta.csv spec1_theta.csv || fail "1 and 2 ranks wrote different θ"
"$PY" - <<'PYEOF' || fail "specified CSV files"
import csv
rows = list(csv.reader(open("spec.csv")))
assert rows[0] == ["data_%d" % i for i in range(1, 11)], rows[0]
assert len(rows) == 6 and all(len(r) == 10 for r in rows[1:])
th = list(csv.reader(open("spec_theta.csv")))
assert th[0] == ["parameter_%d" % i for i in range(1, 11)], th[0]
assert len(th) == 6
# x = θ + s + noise with |s| < 1.3 and noise sd < 1.2: x − θ stays small.
for x, t in zip(rows[1:], th[1:]):
    assert all(abs(float(a) - float(b)) < 9 for a, b in zip(x, t))
PYEOF
echo "ok: specified observations and θ, rank-invariant"

mpirun2 "${S[@]}" observe --task two_moons --kind misspecified --count 4 --seed 5 --out mis.csv >line.txt ||
  fail "observe (misspecified two_moons)"
cat line.txt
grep -Eq '^observe: 4 misspecified observations of two_moons \(outside the box of 100000 prior-predictive simulations after at most [0-9]+ walk steps\) -> mis.csv$' line.txt ||
  fail "unexpected misspecified summary line"
# The box, recomputed independently: two_moons' x lies within about [-1.2, 0.4] x [-1.6, 1.6].
"$PY" - <<'PYEOF' || fail "misspecified points are not outside the prior-predictive range"
import csv
rows = list(csv.reader(open("mis.csv")))
assert rows[0] == ["data_1", "data_2"] and len(rows) == 5
for r in rows[1:]:
    x1, x2 = map(float, r)
    assert x1 < -1.1 or x1 > 0.33 or abs(x2) > 1.45, r
PYEOF
echo "ok: misspecified two_moons observations outside the box"

mpirun2 "${S[@]}" -q observe --task gbi_gaussian_mixture --kind misspecified --count 3 --out mix.csv \
  --theta-out mix_theta.csv || fail "observe (misspecified gbi_gaussian_mixture)"
"$PY" - <<'PYEOF' || fail "gaussian mixture misspecified CSV"
import csv
rows = list(csv.reader(open("mix.csv")))
assert rows[0] == ["data_%d" % i for i in range(1, 11)] and len(rows) == 4
PYEOF
echo "ok: misspecified gbi_gaussian_mixture"

expect_error "unknown task" "unknown task 'no_such_task'.*known tasks: two_moons" \
  "${MPI2[@]}" "${S[@]}" observe --task no_such_task --kind specified --out a.csv
expect_error "unknown kind" "--kind: unknown kind of observation 'sort-of' \(expected specified or misspecified\)" \
  "${MPI2[@]}" "${S[@]}" observe --task two_moons --kind sort-of --out a.csv
expect_error "count 0" "--count must be a positive number of observations, got 0" \
  "${MPI2[@]}" "${S[@]}" observe --task two_moons --kind specified --count 0 --out a.csv
expect_error "no misspecification recipe" "task 'hh_ace' has no recipe for misspecified observations \(tasks with one: two_moons" \
  "${MPI2[@]}" "${S[@]}" observe --task hh_ace --kind misspecified --count 2 --out a.csv
expect_error "unwritable output" "--out no/such/dir/a.csv: directory no/such/dir does not exist" \
  "${MPI2[@]}" "${S[@]}" observe --task two_moons --kind specified --out no/such/dir/a.csv
[ ! -e a.csv ] || fail "a refused run left an output file"
echo "ok: bad input"
