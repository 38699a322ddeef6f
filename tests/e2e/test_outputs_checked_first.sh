#!/usr/bin/env bash
# Every command checks that its outputs can be written before it starts work: a missing directory, a
# regular file used as a directory and a path that is a directory are refused with one error line naming
# the option and the path, within seconds (train with 100000 epochs, sample with 10^7 draws and evaluate of
# 10000 vs 10000 rows would each take far longer), under `mpiexec -n 2`, and nothing is left behind.
source "$(dirname "$0")/lib.sh"
mpirun2 "$SIMBI" -q simulate --task two_moons --budget 300 --seed 1 --out sims.h5 >/dev/null
mpirun2 "$SIMBI" -q train --data sims.h5 --method npe --out npe.pt --max-epochs 1 --checkpoint-every-epochs 0 \
  >/dev/null 2>&1 || fail "training the small model failed"
printf 'data_1,data_2\n0.1,0.2\n' >x_o.csv
touch afile
mkdir adir
DATA=$SIMBI_TEST_DATA/metrics

# timed WHAT PATTERN cmd...: expect_error, and the refusal must come quickly (the measured time is printed).
timed() {
  local what=$1 pattern=$2 t0 t1
  shift 2
  t0=$(date +%s.%N)
  expect_error "$what" "$pattern" "$@"
  t1=$(date +%s.%N)
  "$PY" -c "import sys; s = $t1 - $t0; print('  measured %.2f s' % s); sys.exit(0 if s < 10 else 1)" ||
    fail "$what: the refusal took 10 s or more (work was done before the output check)"
}
missing='directory no/such/dir does not exist'
component='a component of afile/sub is a file, not a directory'

TRAIN=("${MPI2[@]}" "$SIMBI" train --data sims.h5 --method npe --max-epochs 100000 --patience 100000
  --checkpoint-every-epochs 0)
timed "train: missing directory" "--out no/such/dir/m.pt: $missing" "${TRAIN[@]}" --out no/such/dir/m.pt
timed "train: a file as a directory" "--out afile/m.pt: afile is a file, not a directory" \
  "${TRAIN[@]}" --out afile/m.pt
timed "train: output is a directory" "--out adir: is a directory" "${TRAIN[@]}" --out adir

SAMPLE=("${MPI2[@]}" "$SIMBI" sample --model npe.pt --observation x_o.csv --num-samples 10000000)
timed "sample: missing directory" "--out no/such/dir/s.csv: $missing" "${SAMPLE[@]}" --out no/such/dir/s.csv
timed "sample: a file as a directory" "--out afile/sub/s.csv: $component" "${SAMPLE[@]}" --out afile/sub/s.csv
timed "sample: output is a directory" "--out adir: is a directory" "${SAMPLE[@]}" --out adir

EVAL=("${MPI2[@]}" "$SIMBI" evaluate --samples "$DATA/banana_2d_samples.csv" --reference "$DATA/banana_2d_reference.csv")
timed "evaluate: missing directory" "--out no/such/dir/m.json: $missing" "${EVAL[@]}" --out no/such/dir/m.json
timed "evaluate: a file as a directory" "--out afile/m.json: afile is a file" "${EVAL[@]}" --out afile/m.json
timed "evaluate: output is a directory" "--out adir: is a directory" "${EVAL[@]}" --out adir

# The other commands that write files: the same check, the same one line.
expect_error "log-prob" "--out no/such/dir/lp.csv: $missing" "${MPI2[@]}" "$SIMBI" log-prob --model npe.pt \
  --observation x_o.csv --theta x_o.csv --out no/such/dir/lp.csv
expect_error "observe --out" "--out adir: is a directory" "${MPI2[@]}" "$SIMBI" observe --task two_moons \
  --kind specified --out adir
expect_error "observe --theta-out" "--theta-out no/such/dir/t.csv: $missing" "${MPI2[@]}" "$SIMBI" observe \
  --task two_moons --kind specified --out obs.csv --theta-out no/such/dir/t.csv
expect_error "abc" "--out afile/a.csv: afile is a file" "${MPI2[@]}" "$SIMBI" abc --data sims.h5 --observation x_o.csv \
  --beta 10 --out afile/a.csv
expect_error "gbi-reference" "--out no/such/dir/r.csv: $missing" "${MPI2[@]}" "$SIMBI" gbi-reference \
  --task two_moons --observation x_o.csv --beta 10 --out no/such/dir/r.csv
expect_error "sbc" "--out adir: is a directory" "${MPI2[@]}" "$SIMBI" sbc --model npe.pt --num-tests 4 --out adir
expect_error "ppc --out-sims" "--out-sims no/such/dir/x.csv: $missing" "${MPI2[@]}" "$SIMBI" ppc --task two_moons \
  --samples x_o.csv --observation x_o.csv --out-sims no/such/dir/x.csv
expect_error "import" "--out no/such/dir/i.h5: $missing" "${MPI2[@]}" "$SIMBI" import --theta x_o.csv --x x_o.csv \
  --out no/such/dir/i.h5
expect_error "run --workdir" "--workdir afile/sub/run_report.md: $component" "${MPI2[@]}" "$SIMBI" run \
  --config "$SIMBI_SOURCE/configs/examples/two_moons_quick.toml" --workdir afile/sub

[ ! -e no ] || fail "a refused command created its output directory"
leftover=$(find . -name '*.probe.*' -o -name '*.tmp' | head -n 1)
[ -z "$leftover" ] || fail "a probe or temp file was left behind: $leftover"
echo "ok: every output is checked before work starts"
