#!/usr/bin/env bash
# Submits simbi's whole pipeline — simulate, train, sample, evaluate — as Slurm jobs that depend on each
# other (`sbatch --parsable`, `--dependency=afterok:<previous>`, `--kill-on-invalid-dep=yes`: a stage
# that fails cancels the stages after it). Run it on a login node, not with sbatch. Each stage is one of
# jobs/<stage>.sbatch and survives time limits on its own (warning signal, checkpoint, requeue: a
# requeued job keeps its id, so the next stage keeps waiting). Every file and log goes to WORKDIR.
# Prints one "<stage> <job id>" line per submitted job on stdout. docs/slurm.md has the details.
#
# Usage: [VAR=value ...] bash jobs/pipeline.sh [--rounds R], e.g.
#   TASK=sir CONFIG=configs/sir/cpvae.toml BUDGET=100000 SIM_NTASKS=64 TRAIN_GPUS=4 \
#     OBSERVATION=obs.csv REFERENCE=ref.csv SBATCH_ARGS="--account=myproj" bash jobs/pipeline.sh
#
# With --rounds R (or ROUNDS=R): a sequential run (`simbi run --sequential`, docs/methods.md) of R rounds
# of the config's [simulate] budget each, as dependent jobs of jobs/run.sbatch, one per stage of each
# round: round r's proposal (r >= 2, SAMPLE_NTASKS ranks), simulation (SIM_NTASKS), training
# (TRAIN_NTASKS), then one job that samples and evaluates (SAMPLE_NTASKS); SEQUENTIAL (tsnpe | snle) or the config's [run] sequential
# says which method. Each job runs `simbi run --until <stage>` on the shared WORKDIR, so it skips the
# stages before it (done) and resumes its own after a requeue. STAGES, BUDGET, NUM_SAMPLES and the
# *_EXTRA variables are for the one-round pipeline only.
#
# Variables (all optional but OBSERVATION for sample and REFERENCE for evaluate, which default to
# the benchmark's observation 1 where examples/data/<task>/obs1 has it):
#   WORKDIR       directory for the store, model, samples, metrics and the job logs  [runs/<TASK>]
#   TASK          built-in task (`simbi tasks`)                                       [two_moons]
#   CONFIG        TOML run config: method, hyperparameters, [simulate] budget, [sample] options
#                                                                            [configs/<TASK>/cpvae.toml]
#   BUDGET        simulations (else the config's [simulate] budget)                   []
#   SEED          seed of every stage                                                 [1]
#   OBSERVATION   observation CSV to sample the posterior for     [examples/data/<TASK>/obs1/observation.csv]
#   REFERENCE     reference posterior samples for evaluate
#                                           [examples/data/<TASK>/obs1/reference_posterior_samples.csv]
#   NUM_SAMPLES   posterior samples (else the config's [sample] num-samples, else 10000)  []
#   STAGES        the stages to submit, in pipeline order          ["simulate train sample evaluate"]
#   AFTER         a job id the first submitted stage waits for (afterok)              []
#   SIM_NTASKS, TRAIN_NTASKS, SAMPLE_NTASKS, EVAL_NTASKS   CPU ranks per stage     [2, 2, 2, 2]
#   TRAIN_GPUS    GPUs per node for training: one rank per GPU, NCCL (0: CPU ranks)   [0]
#   TRAIN_NODES   nodes for GPU training                                              [1]
#   SIM_TIME, TRAIN_TIME, SAMPLE_TIME, EVAL_TIME   time limit per job (per requeue)
#                                                  [01:00:00, 04:00:00, 01:00:00, 00:30:00]
#   SIM_EXTRA, TRAIN_EXTRA, SAMPLE_EXTRA, EVAL_EXTRA   further simbi options per stage     []
#   SBATCH_ARGS   further sbatch options for every job, e.g. "--partition=cpu --account=X"  []
#   TRAIN_SBATCH_ARGS  further sbatch options for the training job, e.g. "--partition=gpu"  []
#   SIMBI_HOME    simbi's source directory (jobs/, scripts/, configs/)    [this script's parent]
#   SIMBI         the simbi binary                                        [$SIMBI_HOME/build/simbi]
#   LAUNCHER, SRUN_MPI, MAX_REQUEUES: passed to the jobs (jobs/lib.sh)
set -euo pipefail

die() {
  echo "error: jobs/pipeline.sh: $*" >&2
  exit 2
}
# Absolute path of an existing file (the jobs run in WORKDIR, not here).
existing() {
  [ -f "$2" ] || die "$1 '$2' not found"
  echo "$(cd "$(dirname "$2")" && pwd)/$(basename "$2")"
}

ROUNDS=${ROUNDS:-}
while [ $# -gt 0 ]; do
  case $1 in
  --rounds) [ $# -ge 2 ] || die "--rounds needs a number of rounds"; ROUNDS=$2; shift 2 ;;
  --rounds=*) ROUNDS=${1#--rounds=}; shift ;;
  *) die "unknown argument '$1' (the settings are environment variables; see the comment at the top)" ;;
  esac
done
[ -z "$ROUNDS" ] || [[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || die "--rounds '$ROUNDS': expected a number of rounds >= 1"
command -v sbatch >/dev/null || die "sbatch not found: run this on a Slurm login node"
SIMBI_HOME=$(cd "${SIMBI_HOME:-$(dirname "$0")/..}" && pwd)
SIMBI=$(existing SIMBI "${SIMBI:-$SIMBI_HOME/build/simbi}")
TASK=${TASK:-two_moons}
CONFIG=$(existing CONFIG "${CONFIG:-$SIMBI_HOME/configs/$TASK/cpvae.toml}")
STAGES=${STAGES:-simulate train sample evaluate}
SEED=${SEED:-1}
TRAIN_GPUS=${TRAIN_GPUS:-0}
obs_dir=$SIMBI_HOME/examples/data/$TASK/obs1

# Stages must be known and in pipeline order (each depends on the one before it).
order="simulate train sample evaluate"
last=-1
for s in $STAGES; do
  i=0 found=-1
  for o in $order; do
    [ "$s" = "$o" ] && found=$i
    i=$((i + 1))
  done
  [ "$found" -ge 0 ] || die "STAGES: unknown stage '$s' (expected some of: $order)"
  [ "$found" -gt "$last" ] || die "STAGES: '$STAGES' is not in pipeline order ($order)"
  last=$found
done
has_stage() { [[ " $STAGES " == *" $1 "* ]]; }
has_stage sample && OBSERVATION=$(existing OBSERVATION "${OBSERVATION:-$obs_dir/observation.csv}")
has_stage evaluate && REFERENCE=$(existing REFERENCE "${REFERENCE:-$obs_dir/reference_posterior_samples.csv}")
[[ "$TRAIN_GPUS" =~ ^[0-9]+$ ]] || die "TRAIN_GPUS='$TRAIN_GPUS': expected a number of GPUs per node"

WORKDIR=${WORKDIR:-runs/$TASK}
mkdir -p "$WORKDIR/logs"
WORKDIR=$(cd "$WORKDIR" && pwd)

# shellcheck disable=SC2206  # option lists
COMMON=(--parsable --chdir="$WORKDIR" --kill-on-invalid-dep=yes ${SBATCH_ARGS:-})
previous=${AFTER:-}

# submit STAGE "SBATCH OPTIONS" VAR=VALUE...: submits jobs/STAGE.sbatch after the previous stage with
# the stage's variables in its environment (sbatch exports the submitting environment by default;
# `env` rather than --export=ALL,VAR=... because values may contain commas, e.g. "--beta 10,100").
# SCRIPT=<name> submits jobs/<name>.sbatch under the name STAGE instead.
submit() {
  local stage=$1 options=$2 script=${SCRIPT:-$1}
  shift 2
  local dep=()
  [ -z "$previous" ] || dep=(--dependency="afterok:$previous")
  local id
  # shellcheck disable=SC2086  # options is a list
  if ! id=$(env SIMBI_HOME="$SIMBI_HOME" SIMBI="$SIMBI" SEED="$SEED" "$@" \
    sbatch "${COMMON[@]}" "${dep[@]}" --job-name="simbi-$stage" --output="$WORKDIR/logs/$stage-%j.log" \
    $options "$SIMBI_HOME/jobs/$script.sbatch"); then
    # No half pipeline: the stages already submitted would run for nothing.
    [ -z "$submitted" ] || scancel $submitted || true
    die "sbatch refused the $stage job (see its message above)${submitted:+; cancelled the jobs already submitted:$submitted}"
  fi
  id=${id%%;*}  # --parsable prints "id" or "id;cluster"
  echo "$stage $id"
  previous=$id
  submitted="$submitted $id"
}
submitted=""

if [ -n "$ROUNDS" ]; then
  # One jobs/run.sbatch per stage of each round, each `simbi run --until <stage>` in WORKDIR.
  if [ "$TRAIN_GPUS" -gt 0 ]; then
    train_resources="--nodes=${TRAIN_NODES:-1} --ntasks-per-node=$TRAIN_GPUS --gres=gpu:$TRAIN_GPUS"
  else
    train_resources="--ntasks=${TRAIN_NTASKS:-2} --cpus-per-task=1"
  fi
  run_vars=(CONFIG="$CONFIG" WORKDIR=. OBSERVATION="$OBSERVATION" ROUNDS="$ROUNDS" SEQUENTIAL="${SEQUENTIAL:-}")
  for r in $(seq 1 "$ROUNDS"); do
    if [ "$r" -gt 1 ]; then
      SCRIPT=run submit "r$r-propose" "--ntasks=${SAMPLE_NTASKS:-2} --cpus-per-task=1 --time=${SAMPLE_TIME:-01:00:00}" \
        "${run_vars[@]}" UNTIL="$r:propose"
    fi
    SCRIPT=run submit "r$r-simulate" "--ntasks=${SIM_NTASKS:-2} --cpus-per-task=1 --time=${SIM_TIME:-01:00:00}" \
      "${run_vars[@]}" UNTIL="$r:simulate"
    SCRIPT=run submit "r$r-train" "$train_resources --time=${TRAIN_TIME:-04:00:00} ${TRAIN_SBATCH_ARGS:-}" \
      "${run_vars[@]}" UNTIL="$r:train"
  done
  # The last model's samples and, with a reference, their evaluation: one job to the end of the run.
  reference_var=()
  has_stage evaluate && reference_var=(REFERENCE="$REFERENCE")
  SCRIPT=run submit sample "--ntasks=${SAMPLE_NTASKS:-2} --cpus-per-task=1 --time=${SAMPLE_TIME:-01:00:00}" \
    "${run_vars[@]}" "${reference_var[@]}" UNTIL=
  echo "jobs/pipeline.sh: submitted $ROUNDS rounds; outputs and logs in $WORKDIR (squeue -u ${USER:-$(id -un)} to follow)" >&2
  exit 0
fi

budget_var=()
[ -z "${BUDGET:-}" ] || budget_var=(BUDGET="$BUDGET")
samples_var=()
[ -z "${NUM_SAMPLES:-}" ] || samples_var=(NUM_SAMPLES="$NUM_SAMPLES")

if has_stage simulate; then
  submit simulate "--ntasks=${SIM_NTASKS:-2} --cpus-per-task=1 --time=${SIM_TIME:-01:00:00}" \
    TASK="$TASK" CONFIG="$CONFIG" OUT=sims.h5 EXTRA="${SIM_EXTRA:-}" "${budget_var[@]}"
fi
if has_stage train; then
  if [ "$TRAIN_GPUS" -gt 0 ]; then
    # One rank per GPU: NCCL gradient sync (train.sbatch switches to cuda/nccl when the job has GPUs).
    resources="--nodes=${TRAIN_NODES:-1} --ntasks-per-node=$TRAIN_GPUS --gres=gpu:$TRAIN_GPUS"
  else
    resources="--ntasks=${TRAIN_NTASKS:-2} --cpus-per-task=1"
  fi
  submit train "$resources --time=${TRAIN_TIME:-04:00:00} ${TRAIN_SBATCH_ARGS:-}" \
    DATA=sims.h5 CONFIG="$CONFIG" OUT=model.pt EXTRA="${TRAIN_EXTRA:-}"
fi
if has_stage sample; then
  submit sample "--ntasks=${SAMPLE_NTASKS:-2} --cpus-per-task=1 --time=${SAMPLE_TIME:-01:00:00}" \
    MODEL=model.pt OBSERVATION="$OBSERVATION" CONFIG="$CONFIG" OUT=samples.csv EXTRA="${SAMPLE_EXTRA:-}" \
    "${samples_var[@]}"
fi
if has_stage evaluate; then
  submit evaluate "--ntasks=${EVAL_NTASKS:-2} --cpus-per-task=1 --time=${EVAL_TIME:-00:30:00}" \
    SAMPLES=samples.csv REFERENCE="$REFERENCE" OUT=metrics.json EXTRA="${EVAL_EXTRA:-}"
fi
echo "jobs/pipeline.sh: submitted; outputs and logs in $WORKDIR (squeue -u ${USER:-$(id -un)} to follow)" >&2
