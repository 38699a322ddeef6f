#!/usr/bin/env bash
# Model files of format 1 (the prior as JSON text), written by the code before the posterior module and
# the typed model metadata (tests/data/models/make_v1_fixtures.sh), still load, and `simbi sample` under
# `mpiexec -n 2` draws from them exactly the samples that code drew (same seed, same rank count): a
# CP-VAE with rejection to the prior's support, an ACE model at two β (MCMC), and an E&E model by exact
# rejection and by MCMC. The CSVs are compared byte for byte; on a machine whose BLAS rounds differently
# from the one that made them, within 1e-5 relative to |value| + the column's standard deviation (and the
# difference is reported).
source "$(dirname "$0")/lib.sh"
D="$SIMBI_TEST_DATA/models"
OBS="$SIMBI_SOURCE/examples/data/two_moons/obs1/observation.csv"
for m in cpvae ace ene; do
  [ "$(inspect_field "$D/${m}_v1.pt" format_version)" = 1 ] || fail "$m fixture is not a format-1 model file"
done
mpirun2 "$SIMBI" sample --model "$D/cpvae_v1.pt" --observation "$OBS" --num-samples 500 --seed 3 \
  --reject-outside-prior --out cpvae.csv
mpirun2 "$SIMBI" sample --model "$D/ace_v1.pt" --observation "$OBS" --num-samples 400 --seed 3 --beta 10,100 \
  --chains 8 --warmup 30 --thin 2 --init-candidates 200 --out ace.csv
mpirun2 "$SIMBI" sample --model "$D/ene_v1.pt" --observation "$OBS" --num-samples 300 --seed 3 --min-acceptance 1e-4 \
  --out ene.csv
mpirun2 "$SIMBI" sample --model "$D/ene_v1.pt" --observation "$OBS" --num-samples 300 --seed 3 \
  --sampler slice --chains 6 --warmup 30 --thin 2 --out ene_mcmc.csv
same() {  # same NEW OLD
  cmp -s "$1" "$2" && { echo "ok: $1 is byte-identical to $(basename "$2")"; return; }
  "$PY" - "$1" "$2" <<'PYEOF' || fail "$1 differs from $(basename "$2")"
import sys
import numpy as np
a, b = (np.loadtxt(f, delimiter=",", skiprows=1, ndmin=2) for f in sys.argv[1:3])
assert a.shape == b.shape, f"shapes {a.shape} vs {b.shape}"
# Rounding differences are relative to the magnitudes in the computation, i.e. to each column's spread,
# not to a draw that happens to lie near 0.
err = float(np.max(np.abs(a - b) / (1e-6 + np.abs(b) + b.std(axis=0))))
print(f"note: {sys.argv[1]} not byte-identical; largest difference {err:.2e} relative to |value| + column std")
assert err < 1e-5, "samples differ"
PYEOF
}
same cpvae.csv "$D/cpvae_v1_samples.csv"
same ace_beta10.csv "$D/ace_v1_samples_beta10.csv"
same ace_beta100.csv "$D/ace_v1_samples_beta100.csv"
same ene.csv "$D/ene_v1_samples.csv"
same ene_mcmc.csv "$D/ene_v1_mcmc_samples.csv"
# The prior of a format-1 file is read as a JSON object (format 2 writes it so).
"$SIMBI" inspect --json "$D/cpvae_v1.pt" | "$PY" -c "import json,sys; j=json.load(sys.stdin); assert j['prior']['type'] == 'uniform', j" ||
  fail "the format-1 prior was not read as a JSON object"
echo "PASS"
