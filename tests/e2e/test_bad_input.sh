#!/usr/bin/env bash
# Bad input under `mpiexec -n 2`: each case exits non-zero within 60 s with exactly one clear
# "error:" line naming the file/field, and loses nothing that was already written.
source "$(dirname "$0")/lib.sh"
S=("$SIMBI")

expect_error "unknown task" "unknown task 'no_such_task'.*known tasks: two_moons" \
  "${MPI2[@]}" "${S[@]}" simulate --task no_such_task --budget 10 --out a.h5
expect_error "budget 0" "--budget must be a positive" "${MPI2[@]}" "${S[@]}" simulate --task two_moons --budget 0 --out a.h5
expect_error "budget -5" "--budget: expected an integer in \[0, 1000000000000\], got -5" "${MPI2[@]}" "${S[@]}" simulate --task two_moons --budget -5 --out a.h5
[ ! -e a.h5 ] || fail "a failed run left an output file"

mpirun2 "${S[@]}" -q simulate --task two_moons --budget 1000 --seed 1 --out done.h5
cp done.h5 done_copy.h5
expect_error "output exists" "done.h5: output exists; pass --resume.*--force" \
  "${MPI2[@]}" "${S[@]}" simulate --task two_moons --budget 1000 --seed 1 --out done.h5
expect_error "resume, other task" "cannot resume: the store has task = 'two_moons'" \
  "${MPI2[@]}" "${S[@]}" simulate --task gaussian_mixture --budget 1000 --seed 1 --out done.h5 --resume
expect_error "resume, other seed" "cannot resume: the store has seed = 1 but this run asks for 2" \
  "${MPI2[@]}" "${S[@]}" simulate --task two_moons --budget 1000 --seed 2 --out done.h5 --resume
expect_error "resume, other dims" "cannot resume: the store has task = 'two_moons'.*'slcp'" \
  "${MPI2[@]}" "${S[@]}" simulate --task slcp --budget 1000 --seed 1 --out done.h5 --resume
expect_error "resume, other budget" "cannot resume: the store has budget = 1000 but this run asks for 2000" \
  "${MPI2[@]}" "${S[@]}" simulate --task two_moons --budget 2000 --seed 1 --out done.h5 --resume
same_datasets done.h5 done_copy.h5  # the refused runs changed nothing
echo "ok: the existing store is unchanged"

head -c 3000 done.h5 >truncated.h5
expect_error "truncated HDF5 (resume)" "truncated.h5: HDF5 file is truncated or damaged" \
  "${MPI2[@]}" "${S[@]}" simulate --task two_moons --budget 1000 --seed 1 --out truncated.h5 --resume
expect_error "truncated HDF5 (inspect)" "truncated.h5: HDF5 file is truncated or damaged" "${S[@]}" inspect truncated.h5
echo "not hdf5 at all" >text.h5
expect_error "not an HDF5 file" "text.h5: not an HDF5 file" \
  "${MPI2[@]}" "${S[@]}" simulate --task two_moons --budget 1000 --out text.h5 --resume
"$PY" -c "
import h5py, numpy as np
with h5py.File('foreign.h5', 'w') as f:
    f['theta'] = np.zeros((10, 2), 'f4'); f['x'] = np.zeros((10, 2), 'f4')
"
expect_error "foreign HDF5 (resume)" "foreign.h5: not a simbi simulation store.*'format' is missing" \
  "${MPI2[@]}" "${S[@]}" simulate --task two_moons --budget 10 --out foreign.h5 --resume
expect_error "foreign HDF5 (inspect)" "foreign.h5: not a simbi simulation store" "${S[@]}" inspect foreign.h5
expect_error "missing file (inspect)" "nothing.h5: no such file" "${S[@]}" inspect nothing.h5

expect_error "output directory missing" "no/such/dir/a.h5: directory .* does not exist" \
  "${MPI2[@]}" "${S[@]}" simulate --task two_moons --budget 10 --out no/such/dir/a.h5
expect_error "unwritable output" "/proc/simbi.h5: cannot create the file" \
  "${MPI2[@]}" "${S[@]}" simulate --task two_moons --budget 10 --out /proc/simbi.h5
expect_error "output is a directory" "is a directory" \
  "${MPI2[@]}" "${S[@]}" simulate --task two_moons --budget 10 --out "$WORK" --force

printf 'parameter_1,parameter_2\n0.1,0.2\n0.3\n' >ragged.csv
printf 'data_1,data_2\n1,2\n3,4\n' >x.csv
expect_error "malformed CSV" "ragged.csv: line 3 has 1 fields, expected 2" \
  "${MPI2[@]}" "${S[@]}" import --theta ragged.csv --x x.csv --out imp.h5
printf 'parameter_1,parameter_2\n0.1,abc\n0.3,0.4\n' >nonnum.csv
expect_error "non-numeric CSV" "nonnum.csv: line 2, column 'parameter_2': 'abc' is not a number" \
  "${MPI2[@]}" "${S[@]}" import --theta nonnum.csv --x x.csv --out imp.h5
printf 'parameter_1\n0.1\n0.3\n' >theta1.csv
expect_error "import dims vs task" "task 'two_moons' has 2 and 2" \
  "${MPI2[@]}" "${S[@]}" import --theta theta1.csv --x x.csv --task two_moons --out imp.h5
[ ! -e imp.h5 ] || fail "a failed import left an output file"
# ---- user simulators ----
PLUGINS="$SIMBI_BUILD/tests/plugins"
cat >toy.toml <<'TOML'
name = "toy"
theta_dim = 2
x_dim = 3
[prior]
type = "uniform"
low = [0.0, 0.0]
high = [1.0, 1.0]
TOML
expect_error "plugin missing symbols" "libmissing_symbol.so.*simbi_plugin_simulate" \
  "${MPI2[@]}" "${S[@]}" simulate --simulator-lib "$PLUGINS/libmissing_symbol.so" --simulator-config toy.toml --budget 10 --out p.h5
expect_error "plugin wrong ABI version" "libwrong_abi.so.*ABI version" \
  "${MPI2[@]}" "${S[@]}" simulate --simulator-lib "$PLUGINS/libwrong_abi.so" --simulator-config toy.toml --budget 10 --out p.h5
expect_error "plugin not a library" "toy.toml" \
  "${MPI2[@]}" "${S[@]}" simulate --simulator-lib toy.toml --simulator-config toy.toml --budget 10 --out p.h5
sed 's/low = \[0.0, 0.0\]/low = [-0.05, 0.0]/' toy.toml >toy_fails.toml  # theta_0 < 0: the scripted plugin fails the batch
expect_error "plugin fails a batch mid-run (one rank)" "returned 7" \
  "${MPI2[@]}" "${S[@]}" simulate --simulator-lib "$PLUGINS/libscripted.so" --simulator-config toy_fails.toml --budget 20000 --chunk-rows 64 --out p.h5
expect_error "command exits non-zero" "exit.* 3.*boom" \
  "${MPI2[@]}" "${S[@]}" simulate --simulator-cmd "sh -c 'cat >/dev/null; echo boom >&2; exit 3'" --simulator-config toy.toml --budget 10 --out c.h5 --force
expect_error "command prints the wrong number of values" "stdout line 1 has 2 values, expected x_dim = 3" \
  "${MPI2[@]}" "${S[@]}" simulate --simulator-cmd "awk '{print 1, 2}'" --simulator-config toy.toml --budget 10 --out c.h5 --force
expect_error "command prints too few lines" "lines" \
  "${MPI2[@]}" "${S[@]}" simulate --simulator-cmd "sh -c 'head -n 1 | awk \"{print 1, 2, 3}\"; cat >/dev/null'" --simulator-config toy.toml --budget 10 --out c.h5 --force
expect_error "command not found" "no_such_program_xyz" \
  "${MPI2[@]}" "${S[@]}" simulate --simulator-cmd "no_such_program_xyz" --simulator-config toy.toml --budget 10 --out c.h5 --force

# Resume a user simulator's store with other dims.
"${MPI2[@]}" "${S[@]}" -q simulate --simulator-cmd "awk '{print 1, 2, 3}'" --simulator-config toy.toml --budget 100 --out toy.h5
sed 's/x_dim = 3/x_dim = 4/' toy.toml >toy4.toml
expect_error "resume, other dims" "cannot resume: the store has x_dim = 3 but this run asks for 4" \
  "${MPI2[@]}" "${S[@]}" simulate --simulator-cmd "awk '{print 1, 2, 3, 4}'" --simulator-config toy4.toml --budget 100 --out toy.h5 --resume

# NaN/inf rows are recorded as failed (status 2) and counted; nothing else is lost.
"${MPI2[@]}" "${S[@]}" simulate --simulator-lib "$SIMBI_BUILD/examples/libexample_simulator.so" \
  --simulator-config "$SIMBI_SOURCE/examples/plugin/example_simulator.toml" --budget 5000 --out nan.h5 >nan.txt
failed=$(inspect_field nan.h5 failed); ok=$(inspect_field nan.h5 ok)
[ "$failed" -gt 0 ] || fail "the example plugin's NaN rows were not recorded as failed"
[ $((failed + ok)) -eq 5000 ] || fail "rows lost: ok $ok + failed $failed != 5000"
grep -q "failed $failed" nan.txt || fail "the summary does not report the $failed failed rows"
"$PY" - <<PYEOF || fail "status 2 rows are not exactly the non-finite rows"
import h5py, numpy as np
with h5py.File("nan.h5", "r") as f:
    x, status = f["x"][:], f["status"][:]
bad = ~np.isfinite(x).all(axis=1)
assert ((status == 2) == bad).all() and ((status == 1) == ~bad).all(), "status/NaN mismatch"
PYEOF
echo "ok: $failed NaN rows recorded as failed (status 2), $ok ok, none lost"
echo "all bad-input cases passed"
