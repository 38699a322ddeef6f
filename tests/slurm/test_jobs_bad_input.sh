#!/usr/bin/env bash
# The Slurm scripts on bad input: each jobs/*.sbatch run outside Slurm, jobs/pipeline.sh with bad
# variables or without sbatch, and jobs whose variables are wrong fail with one `error:` line and a
# non-zero status (a job: FAILED, the line in its log), never by hanging or running the wrong thing.
source "$(dirname "$0")/lib.sh"
JOBS=$SIMBI_SOURCE/jobs

for stage in simulate train sample evaluate; do
  expect_error "$stage.sbatch outside Slurm" "jobs/$stage.sbatch is a Slurm batch script; submit it with sbatch" \
    env -u SLURM_JOB_ID bash "$JOBS/$stage.sbatch"
done

expect_error "pipeline without sbatch" "sbatch not found" env PATH=/nonexistent /bin/bash "$JOBS/pipeline.sh"
expect_error "unknown stage" "STAGES: unknown stage 'simulation'" env STAGES="simulation train" bash "$JOBS/pipeline.sh"
expect_error "stages out of order" "STAGES: 'train simulate' is not in pipeline order" \
  env STAGES="train simulate" bash "$JOBS/pipeline.sh"
expect_error "missing observation" "OBSERVATION '/nonexistent/obs.csv' not found" \
  env OBSERVATION=/nonexistent/obs.csv WORKDIR=run bash "$JOBS/pipeline.sh"
expect_error "no observation for the task" "OBSERVATION '.*examples/data/hh_ace/obs1/observation.csv' not found" \
  env TASK=hh_ace CONFIG="$SIMBI_SOURCE/configs/two_moons/cpvae.toml" WORKDIR=run bash "$JOBS/pipeline.sh"
expect_error "bad GPU count" "TRAIN_GPUS='two'" env TRAIN_GPUS=two WORKDIR=run bash "$JOBS/pipeline.sh"

# This cluster has no GPUs (no GresTypes): sbatch refuses the training job's --gres=gpu:1, and the
# simulate job submitted before it is cancelled, not left to run for nothing.
expect_error "GPUs the cluster does not have" "sbatch refused the train job .*; cancelled the jobs already submitted: [0-9]+$" \
  env TRAIN_GPUS=1 WORKDIR=run bash "$JOBS/pipeline.sh"
grep -q "sbatch: error: .*gres" "$WORK/err.txt" || fail "sbatch's own message is missing: $(cat "$WORK/err.txt")"
[ -z "$(squeue -h)" ] || fail "the refused pipeline left jobs behind: $(squeue)"

# run_job NAME VAR=VALUE...: submits jobs/NAME.sbatch with the variables and waits for its end (JOB_ID).
run_job() {
  local name=$1 id
  shift
  id=$(env "$@" sbatch --parsable --output="$name.log" "$JOBS/$name.sbatch")
  wait_job "$id" 60 >/dev/null
  JOB_ID=$id
}
# expect_job_error NAME PATTERN VAR=VALUE...: the job ends FAILED with exactly one error line, matching.
expect_job_error() {
  local name=$1 pattern=$2
  shift 2
  rm -f "$name.log"
  run_job "$name" "$@"
  expect_state "$JOB_ID" FAILED "$name.log"
  [ "$(grep -c '^error: ' "$name.log")" = 1 ] || { cat "$name.log"; fail "$name: expected exactly one error line"; }
  grep -E "^error: .*$pattern" "$name.log" >/dev/null || { cat "$name.log"; fail "$name: error line does not match /$pattern/"; }
  echo "ok: $name job $JOB_ID FAILED -> $(grep '^error: ' "$name.log")"
}
expect_job_error sample "OBSERVATION is not set" MODEL=model.pt
expect_job_error evaluate "REFERENCE is not set" SAMPLES=samples.csv
expect_job_error simulate "LAUNCHER='pbs': expected srun, mpiexec or auto" LAUNCHER=pbs
expect_job_error train "simbi binary '/nonexistent/simbi' not found" SIMBI=/nonexistent/simbi
# simbi's own error, from the ranks: a store to train on that is not there.
expect_job_error train "nonexistent.h5" DATA=nonexistent.h5
# A job with GPUs trains on them with NCCL; where this simbi or LibTorch cannot, one error line. (A CPU
# machine has no GPUs to give a job: SLURM_GPUS_ON_NODE, which Slurm sets in jobs with GPUs, is set by
# hand here, and sbatch passes it on.)
if ! nvidia-smi -L >/dev/null 2>&1; then  # no GPU here: the cuda/nccl training must be refused
  "$MPIEXEC" -n 1 "$SIMBI" -q simulate --task two_moons --budget 1000 --out sims.h5 >/dev/null
  expect_job_error train "(--device cuda: no usable GPU|--backend nccl)" SLURM_GPUS_ON_NODE=1 DATA=sims.h5
  grep -q "^simbi-train: --device cuda --backend nccl$" train.log || fail "a job with GPUs did not choose cuda/nccl"
fi
# Both launchers start the ranks (auto picked srun with PMIx above; mpiexec reads the allocation).
rm -f simulate.log
run_job simulate LAUNCHER=mpiexec TASK=two_moons BUDGET=3000 OUT=mpiexec.h5
cat simulate.log
expect_state "$JOB_ID" COMPLETED simulate.log
grep -q "launcher: mpiexec -n 2" simulate.log || fail "LAUNCHER=mpiexec not used"
grep -q "on 2 rank(s)" simulate.log || fail "mpiexec did not start 2 ranks"
[ "$(inspect_field mpiexec.h5 completed)" = 3000 ] || fail "mpiexec.h5 incomplete"
echo "ok: bad input gives one error line everywhere; LAUNCHER=mpiexec works inside the allocation"
