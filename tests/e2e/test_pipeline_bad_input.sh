#!/usr/bin/env bash
# Bad input to train / sample / evaluate / run under `mpiexec -n 2`: one clear "error:" line naming
# the file or field, a non-zero exit, no hang.
source "$(dirname "$0")/lib.sh"
S=("$SIMBI")
DATA="$SIMBI_SOURCE/examples/data/two_moons/obs1"

"${MPI2[@]}" "${S[@]}" -q simulate --task two_moons --budget 500 --out sims.h5 >/dev/null
"${MPI2[@]}" "${S[@]}" -q train --data sims.h5 --method cpvae --out model.pt --max-epochs 1 >/dev/null

printf 'data_1,data_2,data_3\n0.1,0.2,0.3\n' >obs3.csv
expect_error "observation with the wrong number of columns" "obs3.csv: an observation has 3 values, but the model \(two_moons, x_dim 2\) expects 2" \
  "${MPI2[@]}" "${S[@]}" sample --model model.pt --observation obs3.csv --num-samples 10 --out s.csv
"$PY" -c "import numpy as np; np.savetxt('samples3.csv', np.zeros((50, 3)), delimiter=',', header='parameter_1,parameter_2,parameter_3', comments='')"
expect_error "samples of another dimension than the reference" "samples3.csv.*3.*reference_posterior_samples.csv.*2" \
  "${MPI2[@]}" "${S[@]}" evaluate --samples samples3.csv --reference "$DATA/reference_posterior_samples.csv"
echo "not a model" >fake.pt
expect_error "a model file that is not simbi's (sample)" "fake.pt: not a simbi model file" \
  "${MPI2[@]}" "${S[@]}" sample --model fake.pt --observation "$DATA/observation.csv" --num-samples 10 --out s.csv
cp sims.h5 store_as_model.pt
expect_error "an HDF5 store given as a model" "store_as_model.pt: not a simbi model file" \
  "${MPI2[@]}" "${S[@]}" sample --model store_as_model.pt --observation "$DATA/observation.csv" --num-samples 10 --out s.csv

printf 'method = "nope"\n[train]\nmax-epochs = 1\n' >unknown_method.toml
expect_error "config naming an unknown method" "unknown method 'nope' \(known methods: cpvae, upvae, ace, ene, npe, fmpe, npse, nle\)" \
  "${MPI2[@]}" "${S[@]}" train --data sims.h5 --config unknown_method.toml --out m.pt
printf '[train]\nmax-epochs = 1\n' >no_method.toml
expect_error "config missing the method key" "--method is required" \
  "${MPI2[@]}" "${S[@]}" train --data sims.h5 --config no_method.toml --out m.pt
printf 'method = "cpvae"\n[train]\nmax-epoch = 1\n' >typo.toml
expect_error "config with an unknown key" "max-epoch" \
  "${MPI2[@]}" "${S[@]}" train --data sims.h5 --config typo.toml --out m.pt
expect_error "run without a config" "--config is required" "${MPI2[@]}" "${S[@]}" run

cat >toy.toml <<'TOML'
name = "all_nan"
theta_dim = 1
x_dim = 2
[prior]
type = "uniform"
low = [0.0]
high = [1.0]
TOML
"${MPI2[@]}" "${S[@]}" -q simulate --simulator-cmd "awk '{print \"nan nan\"}'" --simulator-config toy.toml --budget 50 --out failed.h5 >/dev/null
[ "$(inspect_field failed.h5 failed)" = 50 ] || fail "the all-NaN store should have 50 failed rows"
expect_error "a store with all rows failed" "failed.h5: no usable rows to train on \(50 rows" \
  "${MPI2[@]}" "${S[@]}" train --data failed.h5 --method cpvae --out m.pt
expect_error "training data that is not a store" "obs3.csv: not an HDF5 file" \
  "${MPI2[@]}" "${S[@]}" train --data obs3.csv --method cpvae --out m.pt
expect_error "--device cuda without a GPU or CUDA LibTorch" "--device cuda: no usable GPU on rank [01]" \
  "${MPI2[@]}" "${S[@]}" train --data sims.h5 --method cpvae --out m.pt --device cuda
# Without NCCL in the build the first refusal says so; with it, the CPU device is refused.
expect_error "--backend nccl without NCCL or a GPU" \
  "--backend nccl: (this simbi was built without NCCL|NCCL syncs GPU tensors; add --device cuda)" \
  "${MPI2[@]}" "${S[@]}" train --data sims.h5 --method cpvae --out m.pt --backend nccl
expect_error "--backend nccl --device cuda without a GPU" \
  "(--backend nccl: this simbi was built without NCCL|--device cuda: no usable GPU)" \
  "${MPI2[@]}" "${S[@]}" train --data sims.h5 --method cpvae --out m.pt --backend nccl --device cuda
expect_error "an unknown backend" "--backend must be mpi or nccl, got 'gloo'" \
  "${MPI2[@]}" "${S[@]}" train --data sims.h5 --method cpvae --out m.pt --backend gloo
[ ! -e m.pt ] || fail "a failed training left a model file"
echo "all pipeline bad-input cases passed"
