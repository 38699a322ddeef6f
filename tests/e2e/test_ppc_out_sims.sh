#!/usr/bin/env bash
# `simbi ppc --out-sims` and `--model` (the posterior-predictive check of scripts/hh_ace.sh) on hh_ace:
# the re-simulated x come back in sample order from every rank (ppc on a store's θ with the store's seed
# reproduces the store's x exactly, on 1 and on 2 ranks), the z-scored MAE taken from an ACE model file
# (its fitted scales) gives the mean the JSON reports, and bad input is refused: hh_ace's zmae without
# --model, --model with --distance, --model naming a non-ACE model.
source "$(dirname "$0")/lib.sh"
mpirun2 "$SIMBI" -q simulate --task hh_ace --budget 600 --seed 3 --out sims.h5 >/dev/null
mpirun2 "$SIMBI" -q observe --task hh_ace --kind specified --count 1 --seed 5 --out obs.csv >/dev/null
mpirun2 "$SIMBI" -q train --data sims.h5 --method ace --out ace.pt --batch-size 100 --max-epochs 2 \
  --checkpoint-every-epochs 0 >/dev/null
"$MPIEXEC" -n 1 "$SIMBI" ppc --task hh_ace --samples sims.h5 --max-samples 250 --seed 3 --observation obs.csv \
  --model ace.pt --out ppc1.json --out-sims x1.csv
mpirun2 "$SIMBI" ppc --task hh_ace --samples sims.h5 --max-samples 250 --seed 3 --observation obs.csv \
  --model ace.pt --out ppc2.json --out-sims x2.csv
cmp -s x1.csv x2.csv || fail "--out-sims differs between 1 and 2 ranks"
"$SIMBI" inspect --json ace.pt >model.json
"$PY" - <<'PYEOF'
import csv, json
import h5py
import numpy as np
rows = list(csv.reader(open("x2.csv")))
assert rows[0] == [f"data_{k}" for k in range(1, 8)], f"header {rows[0]}"
x = np.array([[float(v) for v in r] for r in rows[1:]])
assert x.shape == (250, 7), f"--out-sims holds {x.shape}, expected 250 rows of 7"
with h5py.File("sims.h5", "r") as f:
    stored = np.asarray(f["x"][:250], dtype=np.float32)
x32 = x.astype(np.float32)  # the CSV holds each float32 to max_digits10: it reads back exactly
assert np.array_equal(x32, stored, equal_nan=True), \
    "ppc's simulations of the store's theta (same seed) are not the store's x, row for row"
scales = np.array(json.load(open("model.json"))["estimator"]["distance"]["scales"])
xo = np.array([float(v) for v in list(csv.reader(open("obs.csv")))[1]])
d = np.mean(np.abs(x - xo) / scales, axis=1)
d = d[np.isfinite(d)]
for path in ("ppc1.json", "ppc2.json"):
    r = json.load(open(path))
    assert r["distance"]["name"] == "zmae", r["distance"]
    assert abs(r["ppc_distance_mean"] - d.mean()) <= 1e-4 * d.mean(), (r["ppc_distance_mean"], d.mean())
    assert r["samples"] == 250 and r["failed_simulations"] == 250 - len(d), r
print(f"ok: --out-sims = the store's x in order on 1 and 2 ranks; zmae from the model: {d.mean():.4f}")
PYEOF
expect_error "hh_ace's zmae without --model" "needs scales fitted on training data; give the ACE model's distance with --model" \
  "${MPI2[@]}" "$SIMBI" ppc --task hh_ace --samples sims.h5 --max-samples 10 --observation obs.csv
expect_error "--model with --distance" "excludes" \
  "${MPI2[@]}" "$SIMBI" ppc --task hh_ace --samples sims.h5 --observation obs.csv --model ace.pt --distance mse
"$MPIEXEC" -n 1 "$SIMBI" -q train --data sims.h5 --method cpvae --out vae.pt --max-epochs 1 >/dev/null
expect_error "--model of a VAE" "--model vae.pt: not an ACE model \(cpvae\)" \
  "${MPI2[@]}" "$SIMBI" ppc --task hh_ace --samples sims.h5 --max-samples 10 --observation obs.csv --model vae.pt
echo "ok: ppc --out-sims and --model"
