#!/usr/bin/env bash
# Bad input under `mpiexec -n 2`: each case exits non-zero within 60 s with exactly one clear
# "error:" line naming the file/field, and loses nothing that was already written.
source "$(dirname "$0")/lib.sh"
S=("$SIMBI")

expect_error "unknown task" "unknown task 'no_such_task'.*known tasks: two_moons" \
  "${MPI2[@]}" "${S[@]}" simulate --task no_such_task --budget 10 --out a.h5
expect_error "budget 0" "--budget must be a positive" "${MPI2[@]}" "${S[@]}" simulate --task two_moons --budget 0 --out a.h5
expect_error "budget -5" "--budget must be a positive" "${MPI2[@]}" "${S[@]}" simulate --task two_moons --budget -5 --out a.h5
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
echo "all bad-input cases passed"
