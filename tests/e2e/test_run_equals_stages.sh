#!/usr/bin/env bash
# `simbi run` is its stages: for a CP-VAE, an ACE and an E&E config, `simbi run` under `mpiexec -n 2`
# writes the same store rows, the same samples (byte-identical CSV) and the same metrics as `simbi
# simulate`, `train`, `sample` and `evaluate` run one after the other with the same config and seed on
# the same number of ranks — the invariant that says run's library calls behave as the commands do.
source "$(dirname "$0")/lib.sh"
DATA="$SIMBI_SOURCE/examples/data/two_moons/obs1"
head -n 1001 "$DATA/reference_posterior_samples.csv" >ref.csv
top() { printf 'task = "two_moons"\nseed = 3\nmethod = "%s"\n[simulate]\nbudget = 600\n[evaluate]\nmax-samples = 1000\n' "$1"; }
{ top cpvae; printf '[train]\nmax-epochs = 2\nbatch-size = 128\n[sample]\nnum-samples = 1000\n'; } >cpvae.toml
{ top ace; printf '[train]\nmax-epochs = 2\n[sample]\nbeta = [10]\nnum-samples = 400\nchains = 8\nwarmup = 20\nthin = 1\n'; } >ace.toml
{ top ene; printf '[train]\nmax-epochs = 2\nbatch-size = 128\n[sample]\nnum-samples = 400\n'; } >ene.toml
for method in cpvae ace ene; do
  mpirun2 "$SIMBI" -q run --config $method.toml --workdir run_$method --observation "$DATA/observation.csv" \
    --reference ref.csv --no-plots >run_$method.log 2>&1 || { cat run_$method.log; fail "$method: run failed"; }
  mkdir -p stages_$method
  (
    cd stages_$method
    mpirun2 "$SIMBI" -q simulate --config ../$method.toml --out sims.h5 &&
      mpirun2 "$SIMBI" -q train --config ../$method.toml --data sims.h5 --out model.pt &&
      mpirun2 "$SIMBI" -q sample --config ../$method.toml --model model.pt --observation "$DATA/observation.csv" \
        --out samples.csv &&
      mpirun2 "$SIMBI" -q evaluate --config ../$method.toml --samples samples.csv --reference ../ref.csv \
        --out metrics.json
  ) >stages_$method.log 2>&1 || { cat stages_$method.log; fail "$method: the stages failed"; }
  same_datasets run_$method/sims.h5 stages_$method/sims.h5 /theta /x || fail "$method: the stores differ"
  cmp run_$method/samples.csv stages_$method/samples.csv || fail "$method: run's samples differ from the stages'"
  c_run=$("$PY" -c "import json; print(json.load(open('run_$method/metrics.json'))['c2st'])")
  c_stages=$("$PY" -c "import json; print(json.load(open('stages_$method/metrics.json'))['c2st'])")
  [ "$c_run" = "$c_stages" ] || fail "$method: C2ST $c_run (run) vs $c_stages (stages)"
  grep -qE "^run complete: .*C2ST 0\.[0-9]{4}" run_$method.log || fail "$method: no 'run complete' line with the C2ST"
  echo "ok: $method: run = stages (store, $(wc -l <run_$method/samples.csv) sample lines byte-identical, C2ST $c_run)"
done
echo "PASS"
