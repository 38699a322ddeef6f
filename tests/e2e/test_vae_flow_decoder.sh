#!/usr/bin/env bash
# CP-VAE and UP-VAE with the neural spline flow decoder (`--decoder nsf`) end to end under `mpiexec -n 2`:
# train each on two_moons, draw observation 1's posterior and compare it with sbibm's reference (C2ST
# well below the prior's ~0.99); the model file records the decoder. Bad input: an unknown decoder, and
# --decoder-hidden (the Gaussian decoder's widths) with the flow decoder — one error line each.
source "$(dirname "$0")/lib.sh"
REF="$SIMBI_TEST_DATA/sbibm/two_moons/obs1"
mpirun2 "$SIMBI" -q simulate --task two_moons --budget 3000 --seed 1 --out sims.h5 >/dev/null
head -n 2001 "$REF/reference_posterior_samples.csv" >ref2000.csv
for m in cpvae upvae; do
  mpirun2 "$SIMBI" train --data sims.h5 --method $m --decoder nsf --flow-transforms 3 --out $m.pt --max-epochs 25 \
    --batch-size 100 --lr 1e-3 --checkpoint-every-epochs 0 >$m.log 2>&1 || { cat $m.log; fail "$m with the nsf decoder: training failed"; }
  tail -n 2 $m.log
  [ "$(inspect_field $m.pt estimator | "$PY" -c "import ast,sys; print(ast.literal_eval(sys.stdin.read())['decoder'])")" = nsf ] ||
    fail "$m.pt does not record decoder = nsf"
  mpirun2 "$SIMBI" sample --model $m.pt --observation "$REF/observation.csv" --num-samples 2000 --out $m.csv \
    >${m}_sample.log 2>&1 || { cat ${m}_sample.log; fail "$m sampling failed"; }
  mpirun2 "$SIMBI" evaluate --samples $m.csv --reference ref2000.csv --out m.json >/dev/null 2>&1 || fail "$m: evaluate failed"
  c=$("$PY" -c "import json; print('%.4f' % json.load(open('m.json'))['c2st'])")
  echo "$m with the nsf decoder: C2ST vs reference $c"
  "$PY" -c "import sys; sys.exit(0 if $c < 0.9 else 1)" || fail "$m posterior too far from the reference"
done
bad() { expect_error "$1" "$2" "${MPI2[@]}" "$SIMBI" train --data sims.h5 --out bad.pt --max-epochs 1 "${@:3}"; }
bad "unknown decoder" "--decoder must be gaussian or nsf, got 'mlp'" --method cpvae --decoder mlp
bad "--decoder-hidden with nsf" "the nsf decoder takes the --flow-\* options" --method upvae --decoder nsf \
  --decoder-hidden 32
echo "PASS"
