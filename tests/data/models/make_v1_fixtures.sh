#!/usr/bin/env bash
# Regenerates the format-1 model files and the samples drawn from them (tests/e2e/test_model_v1_samples.sh)
# with a simbi binary built from a commit that writes model format 1 (git ccf0d47). Usage:
#   bash tests/data/models/make_v1_fixtures.sh path/to/old/simbi
# Each model is tiny (two_moons, 1000 simulations, 2 epochs): what matters is that its file and its draws
# were made by the old code, not the model's quality.
set -euo pipefail
SIMBI=$(realpath "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
OBS=$(realpath "$HERE/../../../examples/data/two_moons/obs1/observation.csv")
source "$HERE/../../../scripts/mpi_env.sh"
M2=(mpiexec --oversubscribe -n 2)
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
cd "$W"
"${M2[@]}" "$SIMBI" -q simulate --task two_moons --budget 1000 --seed 1 --out sims.h5 >/dev/null
common=(--data sims.h5 --max-epochs 2 --checkpoint-every-epochs 0 --batch-size 100)
"${M2[@]}" "$SIMBI" -q train "${common[@]}" --method cpvae --out "$HERE/cpvae_v1.pt" >/dev/null
"${M2[@]}" "$SIMBI" -q train "${common[@]}" --method ace --out "$HERE/ace_v1.pt" >/dev/null
"${M2[@]}" "$SIMBI" -q train "${common[@]}" --method ene --embed-dim 8 --encoder-hidden 16 --emulator-width 16 \
  --emulator-blocks 1 --out "$HERE/ene_v1.pt" >/dev/null
"${M2[@]}" "$SIMBI" sample --model "$HERE/cpvae_v1.pt" --observation "$OBS" --num-samples 500 --seed 3 \
  --reject-outside-prior --out "$HERE/cpvae_v1_samples.csv"
"${M2[@]}" "$SIMBI" sample --model "$HERE/ace_v1.pt" --observation "$OBS" --num-samples 400 --seed 3 --beta 10,100 \
  --chains 8 --warmup 30 --thin 2 --init-candidates 200 --out "$HERE/ace_v1_samples.csv"
"${M2[@]}" "$SIMBI" sample --model "$HERE/ene_v1.pt" --observation "$OBS" --num-samples 300 --seed 3 \
  --min-acceptance 1e-4 --out "$HERE/ene_v1_samples.csv"
"${M2[@]}" "$SIMBI" sample --model "$HERE/ene_v1.pt" --observation "$OBS" --num-samples 300 --seed 3 \
  --sampler slice --chains 6 --warmup 30 --thin 2 --out "$HERE/ene_v1_mcmc_samples.csv"
