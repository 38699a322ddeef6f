#!/usr/bin/env bash
# A CSV that starts with a UTF-8 byte order mark (spreadsheet exports) keeps all its rows: a headerless
# observation file with a BOM gives byte-identical samples to the same file without it (the first row is
# observation 1, not a header), `import` of headerless BOM files keeps the first simulation, and a BOM
# before a header row is not part of the first column's name. Which was decided is logged.
source "$(dirname "$0")/lib.sh"
mpirun2 "$SIMBI" -q simulate --task two_moons --budget 300 --seed 1 --out sims.h5 >/dev/null
mpirun2 "$SIMBI" -q train --data sims.h5 --method npe --out npe.pt --max-epochs 1 --checkpoint-every-epochs 0 \
  >/dev/null 2>&1 || fail "training the small model failed"

printf '0.1,0.2\n-0.3,0.4\n' >plain.csv
printf '\xef\xbb\xbf0.1,0.2\n-0.3,0.4\n' >bom.csv
S=(sample --model npe.pt --num-samples 300 --seed 7)
mpirun2 "$SIMBI" "${S[@]}" --observation plain.csv --out plain_s.csv >/dev/null 2>plain.log ||
  { cat plain.log; fail "sampling (no BOM) failed"; }
mpirun2 "$SIMBI" "${S[@]}" --observation bom.csv --out bom_s.csv >/dev/null 2>bom.log ||
  { cat bom.log; fail "sampling (BOM) failed"; }
grep -q 'bom.csv: no header row, 2 rows of 2 numbers' bom.log || { cat bom.log; fail "no header decision logged"; }
for k in 1 2; do
  [ -f "bom_s_obs$k.csv" ] || fail "the BOM file did not give observation $k (a row was taken for a header)"
  cmp -s "plain_s_obs$k.csv" "bom_s_obs$k.csv" || fail "observation $k: samples differ with and without a BOM"
done
echo "ok: a headerless BOM observation file gives the same samples"

printf '\xef\xbb\xbf0.5,0.5\n0.1,0.2\n0.3,0.4\n' >theta.csv
printf '\xef\xbb\xbf1.5,2.5\n1.1,1.2\n1.3,1.4\n' >x.csv
mpirun2 "$SIMBI" -q import --theta theta.csv --x x.csv --out imported.h5 >/dev/null
"$PY" - <<'PYEOF' || fail "import dropped or changed rows of a BOM CSV"
import h5py, numpy as np
with h5py.File("imported.h5", "r") as f:
    theta, x = np.asarray(f["theta"]), np.asarray(f["x"])
assert theta.shape == (3, 2) and x.shape == (3, 2), (theta.shape, x.shape)
assert np.allclose(theta[0], [0.5, 0.5]) and np.allclose(x[0], [1.5, 2.5]), (theta[0], x[0])
PYEOF
echo "ok: import keeps the first row of a headerless BOM CSV"

printf '\xef\xbb\xbfalpha,beta\n0.5,0.5\n0.1,0.2\n' >theta_h.csv
printf '1,2\n3,4\n' >x_h.csv
mpirun2 "$SIMBI" import --theta theta_h.csv --x x_h.csv --out imported_h.h5 >/dev/null 2>import_h.log ||
  { cat import_h.log; fail "import with a header failed"; }
grep -q 'theta_h.csv: header row (alpha,beta), 2 rows of 2 numbers' import_h.log ||
  { cat import_h.log; fail "the BOM stayed in the header"; }
echo "ok: a BOM before a header row is dropped"
