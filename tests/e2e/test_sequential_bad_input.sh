#!/usr/bin/env bash
# Bad settings of a sequential run (`simbi run --sequential`) under mpiexec -n 2: one clear error line,
# a non-zero exit, no hang, and the store untouched (no store made; an existing one byte-identical).
source "$(dirname "$0")/lib.sh"
OBS=$SIMBI_TEST_DATA/sbibm/two_moons/obs1/observation.csv
OBS2=$SIMBI_TEST_DATA/sbibm/two_moons/obs2/observation.csv
config() {  # config METHOD SEQUENTIAL BUDGET: a two_moons config
  printf 'task = "two_moons"\nmethod = "%s"\nseed = 2\n[simulate]\nbudget = %s\n' "$1" "$3"
  printf '[train]\nbatch-size = 100\nmax-epochs = 5\n[sample]\nnum-samples = 200\n'
  printf '[run]\nsequential = "%s"\nrounds = 2\n' "$2"
}
config npe tsnpe 200 >tsnpe.toml
config nle snle 200 >snle.toml
config npe tsnpe 50 >small.toml
RUN=("${MPI2[@]}" "$SIMBI" run --no-plots)

no_store() { [ ! -e "$1/sims.h5" ] || fail "$1/sims.h5 was written despite the error"; }
expect_error "--rounds 0" "--rounds must be at least 1" "${RUN[@]}" --config tsnpe.toml --rounds 0 --workdir w0 --observation "$OBS"
no_store w0
expect_error "--rounds without --sequential" "--rounds is for a sequential run" \
  "${RUN[@]}" --config tsnpe.toml --sequential "" --workdir w0 --observation "$OBS"
expect_error "an unknown sequential method" "--sequential must be tsnpe, snpe or snle, got 'snpe-b'" \
  "${RUN[@]}" --config tsnpe.toml --sequential snpe-b --workdir w0 --observation "$OBS"
expect_error "snle with an npe estimator" "--sequential snle trains an nle estimator, but \[train\] method is 'npe'" \
  "${RUN[@]}" --config tsnpe.toml --sequential snle --workdir w0 --observation "$OBS"
expect_error "snpe with one atom" "--atoms must be at least 2 for snpe, got 1" \
  "${RUN[@]}" --config tsnpe.toml --sequential snpe --atoms 1 --workdir w0 --observation "$OBS"
expect_error "a per-round budget below the training batch" \
  "\[simulate\] budget 50 is each round's budget .* at least the training batch \(--batch-size 100\)" \
  "${RUN[@]}" --config small.toml --workdir w0 --observation "$OBS"
expect_error "an snle run without an observation" "a sequential run draws each round for one observation: pass --observation" \
  "${RUN[@]}" --config snle.toml --workdir w0
cat "$OBS" >two.csv
tail -n 1 "$OBS2" >>two.csv
expect_error "a tsnpe run given two observations" "two.csv: 2 observation rows, but a sequential tsnpe run is for one observation" \
  "${RUN[@]}" --config tsnpe.toml --workdir w0 --observation two.csv
no_store w0

# A finished run, resumed with another method or another observation: refused, the store untouched.
"${RUN[@]}" --config tsnpe.toml --workdir w --observation "$OBS" >w.log 2>&1 || { tail -n 20 w.log; fail "the tsnpe run failed"; }
cp w/sims.h5 before.h5
expect_error "resuming with another method" "cannot resume: the store holds a sequential run by method tsnpe, but this run asks for snle" \
  "${RUN[@]}" --config snle.toml --workdir w --observation "$OBS"
expect_error "resuming for another observation" "cannot resume: the store holds a sequential run for another observation" \
  "${RUN[@]}" --config tsnpe.toml --workdir w --observation "$OBS2"
expect_error "resuming with more rounds" "cannot resume: the store holds 2 rounds of 200 simulations, but this run asks for 3 rounds of 200" \
  "${RUN[@]}" --config tsnpe.toml --rounds 3 --workdir w --observation "$OBS"
cmp before.h5 w/sims.h5 || fail "a refused resume changed the store"
expect_error "the atomic loss for an nle" "--atoms \(SNPE-C's atomic loss\) is for --method npe, not nle" \
  "${MPI2[@]}" "$SIMBI" train --data w/sims.h5 --method nle --max-epochs 1 --atoms 5 --out nle.pt
expect_error "a warm start from a model of another estimator" \
  "--init-from w/model.pt: a npe model of another configuration than this training's" \
  "${MPI2[@]}" "$SIMBI" train --data w/sims.h5 --method nle --max-epochs 1 --init-from w/model.pt --out nle.pt
echo "ok: every bad sequential setting refused with one line, the store untouched"
