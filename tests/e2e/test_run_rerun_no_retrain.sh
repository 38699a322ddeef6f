#!/usr/bin/env bash
# A finished model is never trained again by a resumed run, under `mpiexec -n 2`:
# - `simbi run` killed after training (in sample/evaluate) and run again skips the train stage: model.pt
#   keeps its bytes, the output says training was skipped, and the run still ends with samples, the
#   metric and a report that says the model is the earlier run's;
# - `simbi train --resume` on a finished model of the same training trains nothing (same bytes); on a
#   finished model of another training (another option, --max-epochs or store) it refuses with one
#   error line and leaves the model as it was.
source "$(dirname "$0")/lib.sh"
source "$SIMBI_SOURCE/tests/e2e/train_helpers.sh"
DATA="$SIMBI_SOURCE/examples/data/two_moons/obs1"
cat >run.toml <<'TOML'
task = "two_moons"
method = "cpvae"
seed = 1
[simulate]
budget = 500
[train]
max-epochs = 2
batch-size = 128
encoder-hidden = "16,16"
prior-hidden = "16,16"
decoder-hidden = "16,16"
[sample]
num-samples = 1000
TOML
RUN=(run --config run.toml --workdir wd --observation "$DATA/observation.csv"
     --reference "$DATA/reference_posterior_samples.csv" --no-plots)

# Kill the whole job (mpiexec's group and the ranks) as soon as the model is written.
start_training first.log "${RUN[@]}"
wait_for_file wd/model.pt 120
kill -KILL -- -"$TRAIN_PID" $(rank_pids) 2>/dev/null || true
wait "$TRAIN_PID" 2>/dev/null || true
grep -q "^run complete" first.log && echo "note: the first run completed before the kill"
sha_before=$(sha256sum <wd/model.pt)
rm -f wd/samples.csv wd/metrics.json  # what the interrupted stages had not written yet

sleep 1.1  # a rewritten model.pt would get a newer mtime than this run's start
mpirun2 "$SIMBI" "${RUN[@]}" >rerun.log 2>&1 || { cat rerun.log; fail "the re-run failed"; }
cat rerun.log
[ "$(sha256sum <wd/model.pt)" = "$sha_before" ] || fail "the re-run rewrote wd/model.pt (retrained)"
grep -q "^training skipped: wd/model.pt is already the finished model of this training (cpvae, 2 epochs" rerun.log ||
  fail "the re-run does not say that training was skipped"
grep -qE "training from the start|^trained " rerun.log && fail "the re-run trained"
grep -qE "^run complete: .*samples wd/samples.csv, C2ST 0\.[0-9]{4}" rerun.log ||
  fail "the re-run did not end with the metric"
[ "$(($(wc -l <wd/samples.csv) - 1))" = 1000 ] || fail "the re-run did not write the samples"
grep -q "^- model: wd/model.pt — cpvae on two_moons, 2 epochs.*; trained by an earlier run, kept$" wd/run_report.md ||
  { cat wd/run_report.md; fail "the report does not say the model is the earlier run's"; }
echo "ok: simbi run re-run after a kill past training kept model.pt and finished"

# train --resume on the finished model of the same training: nothing trained.
T=("${TRAIN[@]/sims.h5/wd/sims.h5}")
mpirun2 "$SIMBI" -q "${T[@]}" --max-epochs 3 --out m.pt >train.log 2>&1 || { cat train.log; fail "train failed"; }
sha_m=$(sha256sum <m.pt)
mpirun2 "$SIMBI" "${T[@]}" --max-epochs 3 --out m.pt --resume >resume.log 2>&1 || { cat resume.log; fail "resume failed"; }
cat resume.log
grep -q "^training skipped: m.pt is already the finished model of this training (cpvae, 3 epochs (max epochs reached))" \
  resume.log || fail "train --resume on a finished model does not say it skipped training"
[ "$(sha256sum <m.pt)" = "$sha_m" ] || fail "train --resume rewrote a finished model"
[ ! -e m.pt.ckpt ] || fail "train --resume on a finished model left a checkpoint"

# ... of another training: one error line, the model kept.
R=("${MPI2[@]}" "$SIMBI" "${T[@]}" --max-epochs 3 --out m.pt --resume)
expect_error "other option" "model file m.pt was written for cpvae with lr = 0.002, not cpvae with lr = 0.001.*delete it" \
  "${R[@]}" --lr 1e-3
expect_error "other max epochs" "model file m.pt finished 3 epochs with --max-epochs 3 \(max epochs reached\), not --max-epochs 5" \
  "${R[@]}" --max-epochs 5
"$MPIEXEC" -n 1 "$SIMBI" -q simulate --task two_moons --budget 500 --seed 9 --out other.h5
expect_error "other store" "store other.h5 changed since model file m.pt was written" "${R[@]}" --data other.h5
[ "$(sha256sum <m.pt)" = "$sha_m" ] || fail "a refused resume changed the model"
echo "ok: train --resume keeps a finished model: skips training for the same request, refuses another"
