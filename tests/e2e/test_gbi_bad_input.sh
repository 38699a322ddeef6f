#!/usr/bin/env bash
# Bad input for GBI sampling at the CLI, under `mpiexec -n 2`: each case exits non-zero within 60 s with
# exactly one "error:" line naming the field (tests/e2e/lib.sh expect_error); ACE's training options too. Cases that
# tests/e2e/test_ace.sh already covers (β = 0, --beta on a VAE, an ACE model without --beta, one chain
# with R-hat, a 2-value observation) are not repeated. An ACE model whose weights are NaN is refused on
# load; a potential returning NaN (finite weights whose cost overflows everywhere) ends with one error
# line on every rank, not a hang; one that is NaN on part of the
# space samples, reports the NaN evaluations in a warning, and writes only finite draws outside that part.
source "$(dirname "$0")/lib.sh"
POISON=${SIMBI_POISON_MODEL:-$SIMBI_BUILD/tests/simbi_poison_model}
mpirun2 "$SIMBI" -q simulate --task gbi_uniform_1d --budget 600 --seed 1 --out sims.h5 >/dev/null
mpirun2 "$SIMBI" -q observe --task gbi_uniform_1d --kind specified --count 1 --seed 7 --out obs.csv
mpirun2 "$SIMBI" -q train --data sims.h5 --method ace --out ace.pt --max-epochs 3 --patience 3 \
  --checkpoint-every-epochs 0 >/dev/null
S=("${MPI2[@]}" "$SIMBI")

# ---- simbi train --method ace: the cost network's options ----
TRAIN=(train --data sims.h5 --method ace --out bad.pt --max-epochs 1 --checkpoint-every-epochs 0)
expect_error "unknown activation" "'activation': expected relu or silu, got 'tanh'" "${S[@]}" "${TRAIN[@]}" --activation tanh
expect_error "no targets per theta" "'train_targets' must be positive, got 0" "${S[@]}" "${TRAIN[@]}" --ace-train-targets 0
expect_error "negative noise targets" "--ace-noise-targets: expected an integer in \[0, 1000000000\], got -1" "${S[@]}" "${TRAIN[@]}" --ace-noise-targets -1
expect_error "unknown cost output" "ACE config: 'output': expected linear or softplus, got 'exp'" "${S[@]}" "${TRAIN[@]}" --ace-output exp
expect_error "unknown cost head" "ACE config: 'head': expected network or moments, got 'mean'" "${S[@]}" "${TRAIN[@]}" --ace-head mean
expect_error "moments head with a non-mse distance" "'head' = moments needs the mse distance on vector x, got the zmae distance" \
  "${S[@]}" "${TRAIN[@]}" --ace-head moments --distance zmae
[ ! -e bad.pt ] || fail "a refused training wrote bad.pt"

SAMPLE=(sample --model ace.pt --num-samples 100 --chains 4 --warmup 10 --thin 1 --out x.csv)

# ---- simbi sample --beta ----
expect_error "beta < 0" "--beta must be positive, got -1" "${S[@]}" "${SAMPLE[@]}" --observation obs.csv --beta -1
expect_error "beta nan" "--beta must be positive, got nan" "${S[@]}" "${SAMPLE[@]}" --observation obs.csv --beta nan
expect_error "one bad beta in a list" "--beta must be positive, got -5" \
  "${S[@]}" "${SAMPLE[@]}" --observation obs.csv --beta 10,-5
printf 'data_1\nnan\n' >nan_obs.csv
expect_error "non-finite observation" "nan_obs.csv: observations must be finite numbers" \
  "${S[@]}" "${SAMPLE[@]}" --observation nan_obs.csv --beta 10
"$PY" -c "
import h5py, numpy as np
with h5py.File('obs3.h5', 'w') as f: f['x'] = np.zeros((2, 3), 'f4')
"
expect_error "observation of the wrong shape (HDF5)" "obs3.h5: an observation has 3 values.*expects 1" \
  "${S[@]}" "${SAMPLE[@]}" --observation obs3.h5 --beta 10
expect_error "no chains" "the number of chains must be at least 1, got 0" \
  "${S[@]}" "${SAMPLE[@]}" --observation obs.csv --beta 10 --chains 0
expect_error "unknown sampler" "unknown MCMC sampler 'hmc'" \
  "${S[@]}" "${SAMPLE[@]}" --observation obs.csv --beta 10 --sampler hmc
rm -f x.csv

# ---- a potential returning NaN ----
"$POISON" --in ace.pt --out nan.pt --mode nan
expect_error "ACE model with NaN weights (refused on load)" "nan.pt: parameter '[^']+' has [0-9]+ non-finite value" \
  "${S[@]}" sample --model nan.pt --observation obs.csv --beta 10 --num-samples 100 --chains 4 --warmup 10 \
  --out nan_samples.csv
"$POISON" --in ace.pt --out huge.pt --mode huge
expect_error "ACE model with finite weights whose cost overflows everywhere" \
  "potential is -inf or NaN at all .* prior candidates" \
  "${S[@]}" sample --model huge.pt --observation obs.csv --beta 10 --num-samples 100 --chains 4 --warmup 10 \
  --out nan_samples.csv
[ ! -e nan_samples.csv ] || fail "a failed sampling wrote an output file"
"$POISON" --in ace.pt --out overflow.pt --mode overflow
mpirun2 "$SIMBI" sample --model overflow.pt --observation obs.csv --beta 10 --num-samples 400 --chains 4 \
  --warmup 20 --thin 1 --out part.csv >part.log 2>&1 || { cat part.log; fail "sampling with NaN on part of the space failed"; }
cat part.log
grep -qE "warning: MCMC: the potential returned NaN or \+inf at [1-9][0-9]* " part.log ||
  fail "the NaN evaluations are not reported"
[ "$(grep -c 'warning: MCMC: the potential returned NaN' part.log)" -eq 1 ] || fail "the NaN warning is not printed once"
"$PY" - part.csv sims.h5 <<'PYEOF'
import csv, sys
import h5py
import numpy as np
s = np.array([float(r[0]) for r in list(csv.reader(open(sys.argv[1])))[1:]])
with h5py.File(sys.argv[2], "r") as f:
    theta = f["theta"][:, 0].astype(np.float64)
assert len(s) == 400 and np.isfinite(s).all(), "non-finite or missing draws"
# The NaN region starts ~1.13 above the training mean of θ (the overflow threshold of the poisoned unit).
print(f"draws in [{s.min():.3f}, {s.max():.3f}]; NaN region above ~{theta.mean() + 1.13:.2f}")
assert s.max() < theta.mean() + 1.2, "draws inside the NaN region"
PYEOF

# ---- simbi gbi-reference ----
R=("${S[@]}" gbi-reference --task gbi_uniform_1d --observation obs.csv --num-samples 100 --out ref.csv)
expect_error "gbi-reference: beta <= 0" "--beta must be positive, got 0" "${R[@]}" --beta 0
expect_error "gbi-reference: unknown method" "--method must be rejection, mcmc or auto, got 'exact'" \
  "${R[@]}" --beta 10 --method exact
expect_error "gbi-reference: max-draws 0" "--max-draws must be between 1 and 1e18, got 0" "${R[@]}" --beta 10 --max-draws 0
expect_error "gbi-reference: rejection beyond its cap" \
  "--max-draws 1000: rejection accepted only [0-9]+ of 100000 draws in .*use --method mcmc" \
  "${S[@]}" gbi-reference --task gbi_uniform_1d --observation obs.csv --num-samples 100000 --out ref.csv --beta 100 \
  --method rejection --max-draws 1000
expect_error "gbi-reference: task without an exact cost" "gbi_gaussian_mixture" \
  "${S[@]}" gbi-reference --task gbi_gaussian_mixture --observation obs.csv --beta 10 --out ref.csv

# ---- simbi abc ----
A=("${S[@]}" abc --data sims.h5 --out abc.csv)
expect_error "abc: beta <= 0" "--beta must be positive, got -2" "${A[@]}" --observation obs.csv --beta -2
expect_error "abc: observation of the wrong shape" "obs3.h5: an observation has 3 values, but sims.h5" \
  "${A[@]}" --observation obs3.h5 --beta 10
expect_error "abc: missing store" "missing.h5" "${S[@]}" abc --data missing.h5 --observation obs.csv --beta 10 --out abc.csv
expect_error "abc: unknown distance" "unknown distance 'l1'" "${A[@]}" --observation obs.csv --beta 10 --distance l1
[ ! -e abc.csv ] || fail "a refused abc run wrote an output file"
echo "ok: bad input for GBI sampling refused with one error line; NaN potentials reported, never a hang"
