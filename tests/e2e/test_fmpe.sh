#!/usr/bin/env bash
# Flow matching (FMPE) and score-based (NPSE) posterior estimation end to end under `mpiexec -n 2`:
# simulate two_moons, train each (the global batch split over the ranks; NPSE on the VP SDE, and on the
# VE SDE with a weight average), draw observation 1's posterior by integrating the ODE (RK4 at the
# model's default steps; FMPE also with Dormand-Prince; NPSE also with the predictor-corrector SDE
# sampler) and compare it with sbibm's reference posterior: C2ST well below the prior's. Bad input: an
# unknown solver, steps <= 0, a tolerance <= 0, sigma_min outside (0, 1), a VE schedule with
# sigma_max <= sigma_min, an unknown SDE, pc for a model without a score, --solver for a model without an
# ODE — one error line each.
source "$(dirname "$0")/lib.sh"
REF="$SIMBI_TEST_DATA/sbibm/two_moons/obs1"
mpirun2 "$SIMBI" -q simulate --task two_moons --budget 4000 --seed 1 --out sims.h5 >/dev/null
head -n 2001 "$REF/reference_posterior_samples.csv" >ref2000.csv
c2st() { mpirun2 "$SIMBI" evaluate --samples "$1" --reference ref2000.csv --out m.json >/dev/null 2>&1 &&
  "$PY" -c "import json; print('%.4f' % json.load(open('m.json'))['c2st'])"; }
for m in fmpe npse npse_ve; do
  extra=(--max-epochs 40 --patience 40)
  # The VE SDE spreads its training over noise levels 0.01..50: it needs more steps than the VP one.
  [ $m = npse_ve ] && extra=(--sde ve --ema-decay 0.99 --max-epochs 80 --patience 80)
  mpirun2 "$SIMBI" train --data sims.h5 --method ${m%_ve} --out $m.pt --batch-size 128 --lr 1e-3 \
    --lr-schedule cosine --checkpoint-every-epochs 0 "${extra[@]}" >$m.log 2>&1 ||
    { cat $m.log; fail "$m training failed"; }
  tail -n 2 $m.log
  mpirun2 "$SIMBI" sample --model $m.pt --observation "$REF/observation.csv" --num-samples 2000 --out $m.csv \
    >${m}_sample.log 2>&1 || { cat ${m}_sample.log; fail "$m sampling failed"; }
  cat ${m}_sample.log
  c=$(c2st $m.csv)
  echo "$m: C2ST vs reference $c"
  # Prior draws score ~0.99; these small models (4,000 simulations, 40 epochs) score well below.
  "$PY" -c "import sys; sys.exit(0 if $c < 0.9 else 1)" || fail "$m posterior too far from the reference"
done
# The same FMPE model sampled with the adaptive solver: close to its RK4 draws.
mpirun2 "$SIMBI" sample --model fmpe.pt --observation "$REF/observation.csv" --num-samples 2000 --solver dopri5 \
  --rtol 1e-4 --atol 1e-4 --out dopri.csv >dopri.log 2>&1 || { cat dopri.log; fail "dopri5 sampling failed"; }
c=$(c2st dopri.csv)
echo "fmpe with dopri5: C2ST vs reference $c"
"$PY" -c "import sys; sys.exit(0 if $c < 0.9 else 1)" || fail "fmpe with dopri5 too far from the reference"
# The VP score model sampled by the predictor-corrector SDE sampler.
mpirun2 "$SIMBI" sample --model npse.pt --observation "$REF/observation.csv" --num-samples 2000 --solver pc \
  --ode-steps 200 --out pc.csv >pc.log 2>&1 || { cat pc.log; fail "pc sampling failed"; }
c=$(c2st pc.csv)
echo "npse with the predictor-corrector sampler: C2ST vs reference $c"
"$PY" -c "import sys; sys.exit(0 if $c < 0.9 else 1)" || fail "npse with pc too far from the reference"
expect_error "pc for a flow-matching model" "solver 'pc'" "${MPI2[@]}" "$SIMBI" \
  sample --model fmpe.pt --observation "$REF/observation.csv" --out x.csv --solver pc
mpirun2 "$SIMBI" -q train --data sims.h5 --method cpvae --out vae.pt --max-epochs 1 --checkpoint-every-epochs 0 >/dev/null
expect_error "--solver on a model without an ODE" "for models sampled by an ODE" "${MPI2[@]}" "$SIMBI" \
  sample --model vae.pt --observation "$REF/observation.csv" --out x.csv --solver rk4

bad() { expect_error "$1" "$2" "${MPI2[@]}" "$SIMBI" train --data sims.h5 --out bad.pt --max-epochs 1 "${@:3}"; }
bad "unknown solver" "solver" --method fmpe --solver euler
bad "steps 0" "steps" --method fmpe --ode-steps 0
bad "rtol 0" "rtol" --method npse --solver dopri5 --rtol 0
bad "sigma_min 1" "sigma_min" --method fmpe --sigma-min 1
bad "VE sigma_max <= sigma_min" "sigma_max" --method npse --sde ve --sigma-min 0.1 --sigma-max 0.1
bad "unknown SDE" "sde" --method npse --sde subvp
bad "pc for fmpe" "solver 'pc'" --method fmpe --solver pc
bad "snr 0" "snr" --method npse --solver pc --snr 0
echo "PASS"
