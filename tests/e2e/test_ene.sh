#!/usr/bin/env bash
# E&E end to end under `mpiexec -n 2`: simulate two_moons, train the contrastive encoder/emulator (the
# global batch split over the ranks), sample observation 1 by exact rejection (--sampler auto reports the
# acceptance rate) and by MCMC on the same potential, and compare both with sbibm's reference posterior:
# C2ST well below that of the prior (~1.0), and the two samplers agree with each other. Bad input: an
# embedding dimension ≤ 0, τ ≤ 0, an ensemble of 0 critics, a conv encoder whose channels do not divide the
# store's x, --sampler on a model with a direct sampler, --series-channels against a store's recorded row shape.
source "$(dirname "$0")/lib.sh"
REF="$SIMBI_TEST_DATA/sbibm/two_moons/obs1"
[ -f "$REF/reference_posterior_samples.csv" ] || fail "no two_moons reference posterior in $REF"
mpirun2 "$SIMBI" -q simulate --task two_moons --budget 4000 --seed 1 --out sims.h5 >/dev/null
mpirun2 "$SIMBI" train --data sims.h5 --method ene --out ene.pt --embed-dim 32 --encoder-hidden 64,64 \
  --emulator-width 64 --emulator-blocks 2 --batch-size 256 --lr 2e-3 --weight-decay 1e-4 --lr-schedule cosine \
  --lr-warmup-epochs 3 --max-epochs 40 --patience 40 --clip-norm 0 --checkpoint-every-epochs 0 >train.log 2>&1 ||
  { cat train.log; fail "E&E training failed"; }
tail -n 2 train.log
mpirun2 "$SIMBI" sample --model ene.pt --observation "$REF/observation.csv" --num-samples 2000 --out rej.csv \
  >rej.log 2>&1 || { cat rej.log; fail "E&E rejection sampling failed"; }
cat rej.log
grep -q "exact rejection, acceptance" rej.log || fail "sample did not report the rejection acceptance rate"
mpirun2 "$SIMBI" sample --model ene.pt --observation "$REF/observation.csv" --num-samples 2000 --sampler slice \
  --chains 20 --warmup 100 --thin 2 --out mcmc.csv >mcmc.log 2>&1 || { cat mcmc.log; fail "E&E MCMC sampling failed"; }
cat mcmc.log
for f in rej.csv mcmc.csv; do [ "$(wc -l <$f)" -eq 2001 ] || fail "$f does not hold 2000 draws"; done
"$PY" - "$REF/reference_posterior_samples.csv" >ref2000.csv <<'PYEOF'
import sys
lines = open(sys.argv[1]).read().splitlines()
print("\n".join(lines[:2001]))
PYEOF
c2st() { mpirun2 "$SIMBI" evaluate --samples "$1" --reference "$2" --out m.json >/dev/null 2>&1 &&
  "$PY" -c "import json; print('%.4f' % json.load(open('m.json'))['c2st'])"; }
c_rej=$(c2st rej.csv ref2000.csv)
c_mcmc=$(c2st mcmc.csv ref2000.csv)
c_pair=$(c2st mcmc.csv rej.csv)
echo "C2ST vs reference: rejection $c_rej, MCMC $c_mcmc; MCMC vs rejection $c_pair"
# Prior draws score ~0.99 against this posterior (it covers ~2% of the prior); this small E&E (4,000
# simulations, 40 epochs) scores ~0.89, a broken critic or sampler ~0.99.
"$PY" -c "import sys; sys.exit(0 if $c_rej < 0.95 and $c_mcmc < 0.95 else 1)" || fail "E&E posterior too far from the reference"
"$PY" -c "import sys; sys.exit(0 if $c_pair < 0.7 else 1)" || fail "rejection and MCMC disagree on the same potential"

expect_error "embedding dimension 0" "embedding dimension" "${MPI2[@]}" "$SIMBI" train --data sims.h5 --method ene \
  --out bad.pt --embed-dim 0
expect_error "tau 0" "tau" "${MPI2[@]}" "$SIMBI" train --data sims.h5 --method ene --out bad.pt --tau 0
expect_error "ensemble 0" "ensemble" "${MPI2[@]}" "$SIMBI" train --data sims.h5 --method ene --out bad.pt --ensemble 0
expect_error "conv channels not dividing x" "series_channels" "${MPI2[@]}" "$SIMBI" train --data sims.h5 --method ene \
  --out bad.pt --encoder conv --series-channels 3
mpirun2 "$SIMBI" -q train --data sims.h5 --method cpvae --out vae.pt --max-epochs 1 --checkpoint-every-epochs 0 >/dev/null
expect_error "--sampler on a VAE" "--sampler is for" "${MPI2[@]}" "$SIMBI" sample --model vae.pt \
  --observation "$REF/observation.csv" --out x.csv --sampler slice
# A time-series store records its row shape (lorenz96_x: 36 channels x 100 steps); a conv encoder that
# disagrees with it is refused.
mpirun2 "$SIMBI" -q simulate --task lorenz96_x --budget 4 --seed 1 --out l96.h5 >/dev/null
expect_error "conv channels vs the store's x_shape" "does not match the store" "${MPI2[@]}" "$SIMBI" train \
  --data l96.h5 --method ene --out bad.pt --encoder conv --series-channels 4
