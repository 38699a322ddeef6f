#!/usr/bin/env bash
# ACE end to end under `mpiexec -n 2`: simulate gbi_uniform_1d, train the ACE cost network, draw GBI
# posteriors for three β by MCMC (chains split over the ranks) at a specified observation. The draws
# must concentrate with β around θ values whose simulations are near x_o: at the largest β the mean
# exact cost C(θ, x_o) of the draws is well below that of prior draws (a broken cost or sampler cannot
# pass). Bad input: --beta on a VAE, β ≤ 0, an ACE model without --beta, one chain with R-hat requested
# (--no-diagnostics allows it), an observation of the wrong shape.
source "$(dirname "$0")/lib.sh"
mpirun2 "$SIMBI" -q simulate --task gbi_uniform_1d --budget 4000 --seed 1 --out sims.h5 >/dev/null
mpirun2 "$SIMBI" -q observe --task gbi_uniform_1d --kind specified --count 1 --seed 7 --out obs.csv --theta-out theta.csv
mpirun2 "$SIMBI" -q train --data sims.h5 --method ace --out ace.pt --batch-size 200 --lr 1e-3 --weight-decay 0 \
  --clip-norm 0 --max-epochs 150 --patience 150 --checkpoint-every-epochs 0 >/dev/null
mpirun2 "$SIMBI" sample --model ace.pt --observation obs.csv --beta 4,20,100 --num-samples 2000 --chains 20 \
  --warmup 100 --thin 2 --out s.csv >sample.log 2>&1 || { cat sample.log; fail "GBI sampling failed"; }
cat sample.log
for b in 4 20 100; do
  [ "$(wc -l <s_beta$b.csv)" -eq 2001 ] || fail "s_beta$b.csv does not hold 2000 draws"
done
# Exact GBI cost of gbi_uniform_1d (docs/methods.md §7): E_ε[(x − x_o)²] with x = poly(θ) + U[−0.25, 0.25].
"$PY" - obs.csv s_beta4.csv s_beta100.csv <<'PYEOF'
import csv, sys
import numpy as np
c = [0.1627, 0.9073, -1.2197, -1.4639, 1.4381]
def cost(theta, xo):
    m = sum(ci * (0.8 * (theta + 0.25)) ** i for i, ci in enumerate(c))
    return (m - xo) ** 2 + 0.5 ** 2 / 12.0
read = lambda p: np.array([[float(v) for v in r] for r in list(csv.reader(open(p)))[1:]])
xo = read(sys.argv[1])[0, 0]
prior = np.random.default_rng(0).uniform(-1.5, 1.5, 100000)
c_prior = cost(prior, xo).mean()
c4, c100 = (cost(read(p)[:, 0], xo).mean() for p in sys.argv[2:])
print(f"mean exact cost: prior {c_prior:.4f}, beta 4 {c4:.4f}, beta 100 {c100:.4f}")
assert c100 < c4 < c_prior, "the GBI posterior does not concentrate with beta"
assert c100 < 0.5 * c_prior, "the beta-100 posterior is not much better than the prior"
PYEOF
# The learned cost against the exact one at prior draws, and the exact GBI posterior's posterior-
# predictive distance next to ACE's (the benchmark's figures, at a small budget).
mpirun2 "$SIMBI" cost-check --model ace.pt --observation obs.csv --out check.json | tee check.log
"$PY" -c "import json,sys; r = json.load(open('check.json'))[0]['pearson_r']; sys.exit(0 if r > 0.95 else 1)" ||
  fail "learned vs exact cost: Pearson r below 0.95"
mpirun2 "$SIMBI" -q gbi-reference --task gbi_uniform_1d --observation obs.csv --beta 100 --num-samples 2000 \
  --chains 20 --warmup 200 --thin 5 --out gt.csv >/dev/null
mpirun2 "$SIMBI" ppc --task gbi_uniform_1d --samples gt_obs1_beta100.csv --observation obs.csv --out ppc_gt.json
mpirun2 "$SIMBI" ppc --task gbi_uniform_1d --samples s_beta100.csv --observation obs.csv --out ppc_ace.json
"$PY" - <<'PYEOF'
import json
gt, ace = (json.load(open(f))["ppc_distance_mean"] for f in ("ppc_gt.json", "ppc_ace.json"))
print(f"posterior-predictive distance at beta 100: exact GBI {gt:.4f}, ACE {ace:.4f}")
# The exact posterior's value is the floor (above the noise variance 0.0208); a cost network or sampler
# that is off lands well above it (the prior gives ~0.1).
assert ace < 1.5 * gt, "ACE's posterior-predictive distance is more than 1.5x the exact posterior's"
PYEOF
"$MPIEXEC" -n 1 "$SIMBI" -q train --data sims.h5 --method cpvae --out vae.pt --max-epochs 1 >/dev/null
expect_error "--beta on a VAE" "--beta is for ACE models \(GBI posteriors\); vae.pt is a cpvae model" \
  "${MPI2[@]}" "$SIMBI" sample --model vae.pt --observation obs.csv --beta 4 --out x.csv
expect_error "beta <= 0" "--beta must be positive" \
  "${MPI2[@]}" "$SIMBI" sample --model ace.pt --observation obs.csv --beta 0 --out x.csv
expect_error "ACE without --beta" "is an ACE model: give the inverse temperature" \
  "${MPI2[@]}" "$SIMBI" sample --model ace.pt --observation obs.csv --out x.csv
expect_error "one chain with R-hat requested" "R-hat needs at least 2 chains, got 1" \
  "${MPI2[@]}" "$SIMBI" sample --model ace.pt --observation obs.csv --beta 4 --chains 1 --num-samples 50 --out x.csv
mpirun2 "$SIMBI" -q sample --model ace.pt --observation obs.csv --beta 4 --chains 1 --num-samples 50 --warmup 10 \
  --no-diagnostics --out one_chain.csv >/dev/null || fail "one chain without diagnostics failed"
# A list option on the command line replaces the config's (the config's β grid is 4,20,100): one file.
mpirun2 "$SIMBI" -q sample --model ace.pt --observation obs.csv --config "$SIMBI_SOURCE/configs/gbi_uniform_1d/ace.toml" \
  --beta 20 --chains 4 --num-samples 40 --warmup 10 --thin 1 --out override.csv >/dev/null || fail "sample --config --beta failed"
[ -f override.csv ] && ! ls override_beta*.csv >/dev/null 2>&1 || fail "--beta 20 did not replace the config's beta list"
printf 'data_1,data_2\n0.1,0.2\n' >wide.csv
expect_error "observation of the wrong shape" "wide.csv: an observation has 2 values" \
  "${MPI2[@]}" "$SIMBI" sample --model ace.pt --observation wide.csv --beta 4 --out x.csv
echo "ok: ACE trained, GBI posteriors concentrate with beta, bad input refused"
