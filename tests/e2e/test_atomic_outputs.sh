#!/usr/bin/env bash
# Outputs are published whole or not at all, and a cut-short CSV is never read: `sample` and `evaluate`
# writing into a nearly full 8 MB tmpfs fail with one error line saying there is no space, and leave
# neither a file under the final name nor a temp file (skipped where mounting is not permitted); a CSV
# cut mid-number (no final newline) is refused by `evaluate` and by `sample --observation` with one error
# line naming the file; a successful write leaves no temp file. All under `mpiexec -n 2`.
source "$(dirname "$0")/lib.sh"
DATA=$SIMBI_TEST_DATA/metrics
mpirun2 "$SIMBI" -q simulate --task two_moons --budget 300 --seed 1 --out sims.h5 >/dev/null
mpirun2 "$SIMBI" -q train --data sims.h5 --method npe --out npe.pt --max-epochs 1 --checkpoint-every-epochs 0 \
  >/dev/null 2>&1 || fail "training the small model failed"
printf 'data_1,data_2\n0.1,0.2\n' >x_o.csv

# ---- a truncated CSV is refused, naming the file ----
mpirun2 "$SIMBI" -q sample --model npe.pt --observation x_o.csv --num-samples 500 --seed 2 --out s.csv ||
  fail "sampling failed"
[ "$(ls | grep -c '\.tmp')" -eq 0 ] || fail "a successful sample left a temp file"
head -c -4 s.csv >cut.csv  # the last number cut short, no final newline
[ "$(tail -c 1 cut.csv | od -An -c | tr -d ' ')" != '\n' ] || fail "test setup: cut.csv still ends with a newline"
expect_error "evaluate: truncated samples" "cut.csv: line 501: last line is incomplete \(file truncated\?\)" \
  "${MPI2[@]}" "$SIMBI" evaluate --samples cut.csv --reference "$DATA/banana_2d_reference.csv" --out m.json
[ ! -e m.json ] || fail "evaluate wrote metrics for a truncated input"
printf 'data_1,data_2\n0.1,0.2\n0.3,0.4' >x_cut.csv
expect_error "sample: truncated observation" "x_cut.csv: line 3: last line is incomplete \(file truncated\?\)" \
  "${MPI2[@]}" "$SIMBI" sample --model npe.pt --observation x_cut.csv --out s2.csv
printf 'data_1,data_2\n0.1,0.2\n0.3\n' >x_short.csv  # a last row with a field missing
expect_error "sample: short last line" "x_short.csv: line 3 has 1 fields, expected 2.*last line is incomplete" \
  "${MPI2[@]}" "$SIMBI" sample --model npe.pt --observation x_short.csv --out s2.csv

# ---- a full disk: no file under the final name, no temp left ----
mkdir full
if ! mount -t tmpfs -o size=8m tmpfs full 2>/dev/null; then
  echo "SKIP: cannot mount a tmpfs here (needs root / CAP_SYS_ADMIN); the full-disk checks were not run"
  exit 0
fi
trap 'umount "$WORK/full" 2>/dev/null || true; rm -rf "$WORK"' EXIT
# Nearly full: 64 KB left, far less than 200000 samples need (about 4 MB).
dd if=/dev/zero of=full/filler bs=1k count=$((8 * 1024 - 64)) status=none 2>/dev/null || true
expect_error "sample on a full disk" "full/s.csv: cannot write \(No space left on device\)" \
  "${MPI2[@]}" "$SIMBI" sample --model npe.pt --observation x_o.csv --num-samples 200000 --out full/s.csv
[ ! -e full/s.csv ] || fail "sample left a partial full/s.csv"
# Completely full: even the small metrics JSON cannot be written.
dd if=/dev/zero of=full/filler2 bs=1k count=1024 status=none 2>/dev/null || true
expect_error "evaluate on a full disk" "full/m.json: cannot write \(No space left on device\)" \
  "${MPI2[@]}" "$SIMBI" evaluate --samples "$DATA/banana_2d_samples.csv" --reference "$DATA/banana_2d_reference.csv" \
  --max-samples 200 --folds 2 --out full/m.json
[ ! -e full/m.json ] || fail "evaluate left a metrics JSON (empty or partial) on a full disk"
leftover=$(ls full | grep -v '^filler' || true)
[ -z "$leftover" ] || fail "temp files left on the full disk: $leftover"
echo "ok: no partial output under its final name"
