# shellcheck shell=bash
# Shared by the jobs/*.sbatch scripts (sourced, never run): refusing to run outside Slurm, finding the
# simbi binary, launching the MPI ranks, forwarding Slurm's time-limit warning to them, and requeueing
# the job when a stage was stopped before it finished. docs/slurm.md explains the whole workflow.
#
# Each batch script starts with the same three lines (Slurm runs a copy of the script from its spool
# directory, so the script cannot find this file next to itself; it looks in SIMBI_HOME, by default
# the directory sbatch was run from, and outside Slurm next to the script):
#   SIMBI_HOME=${SIMBI_HOME:-${SLURM_SUBMIT_DIR:-$(dirname "$0")/..}}
#   [ -f "$SIMBI_HOME/jobs/lib.sh" ] || { echo "error: ..." >&2; exit 2; }
#   source "$SIMBI_HOME/jobs/lib.sh"; simbi_job_init STAGE
#
# Variables every script reads (all optional):
#   SIMBI_HOME  simbi's source directory (jobs/, scripts/)              [sbatch's working directory]
#   SIMBI       the simbi binary                                          [$SIMBI_HOME/build/simbi]
#   LAUNCHER    how ranks are started: srun | mpiexec | auto. auto: `srun --mpi=pmix` where this Slurm
#               has the PMIx plugin (Debian's Open MPI needs PMIx; pmi2 fails), else Open MPI's mpiexec,
#               which detects the allocation and starts one rank per Slurm task.               [auto]
#   SRUN_MPI    the --mpi plugin for LAUNCHER=srun                                            [pmix]
#   MAX_REQUEUES  stop requeueing after this many restarts (guards against a loop)            [20]

# --- refuse to run outside Slurm ---------------------------------------------------------------------
simbi_job_init() {
  SIMBI_STAGE=$1
  if [ -z "${SLURM_JOB_ID:-}" ]; then
    echo "error: jobs/$SIMBI_STAGE.sbatch is a Slurm batch script; submit it with sbatch (SLURM_JOB_ID is not set)" >&2
    exit 2
  fi
  set -euo pipefail
  SIMBI_JOB_SIGNAL="" _simbi_launch_pid="" _simbi_trapped=0
  trap '_simbi_on_signal USR1' USR1
  trap '_simbi_on_signal TERM' TERM
  SIMBI_HOME=$(cd "$SIMBI_HOME" && pwd)
  SIMBI=${SIMBI:-$SIMBI_HOME/build/simbi}
  [ -x "$SIMBI" ] || simbi_job_die "simbi binary '$SIMBI' not found or not executable (set SIMBI or SIMBI_HOME)"
  # Open MPI as root (containers, CI) and its portable defaults; harmless for normal users.
  source "$SIMBI_HOME/scripts/mpi_env.sh"
  # Slurm's CPUs per task are the threads per rank (simbi's --threads and BLAS/OpenMP pools must match,
  # or ranks oversubscribe the cores).
  SIMBI_THREADS=${SLURM_CPUS_PER_TASK:-1}
  export OMP_NUM_THREADS=$SIMBI_THREADS OPENBLAS_NUM_THREADS=$SIMBI_THREADS
  _simbi_pick_launcher
  echo "simbi-$SIMBI_STAGE: job $SLURM_JOB_ID (restart ${SLURM_RESTART_COUNT:-0}) on ${SLURM_NTASKS:-1} ranks" \
    "x $SIMBI_THREADS threads, launcher: ${SIMBI_LAUNCH[*]}"
}

simbi_job_die() {
  echo "error: simbi-${SIMBI_STAGE:-job}: $*" >&2
  exit 2
}

# --- launching the ranks -----------------------------------------------------------------------------
_simbi_pick_launcher() {
  local launcher=${LAUNCHER:-auto}
  if [ "$launcher" = auto ]; then
    local plugins
    plugins=$(srun --mpi=list 2>&1 || true)
    launcher=mpiexec
    if grep -qw -- "${SRUN_MPI:-pmix}" <<<"$plugins"; then launcher=srun; fi
  fi
  case "$launcher" in
    # Since Slurm 22.05 srun no longer inherits --cpus-per-task from the batch job: pass it on.
    srun) SIMBI_LAUNCH=(srun --mpi="${SRUN_MPI:-pmix}" --cpus-per-task="$SIMBI_THREADS") ;;
    # Open MPI's mpiexec reads the allocation from Slurm and starts its daemons with srun. It binds each
    # rank to one core by default: with several threads per rank, leave the binding to the OS.
    mpiexec)
      SIMBI_LAUNCH=(mpiexec -n "${SLURM_NTASKS:-1}")
      [ "$SIMBI_THREADS" = 1 ] || SIMBI_LAUNCH+=(--bind-to none)
      ;;
    *) simbi_job_die "LAUNCHER='$launcher': expected srun, mpiexec or auto" ;;
  esac
}

# simbi_launch ARGS...: runs `$SIMBI ARGS...` on every rank of the job and returns its exit status.
#
# Why not just `srun simbi ...`: the scripts ask for `--signal=B:USR1@<secs>`, which Slurm sends to this
# batch shell only, and bash runs a trap only after the foreground command ends. So the launcher runs in
# the background, the shell waits, and the trap forwards the signal to the launcher (srun and mpiexec
# both pass SIGUSR1 on to every rank). simbi train checkpoints and exits 0 on it; simbi simulate dies,
# and its store keeps every finished chunk. SIMBI_JOB_SIGNAL says which signal came (empty: none).
# SIGTERM (scancel, the hard time limit) is forwarded as SIGUSR1 too: srun would pass SIGTERM on as
# well, but mpiexec treats SIGTERM as an abort of its own; simbi reacts to both the same way.
simbi_launch() {
  if [ -n "$SIMBI_JOB_SIGNAL" ]; then
    echo "simbi-$SIMBI_STAGE: SIG$SIMBI_JOB_SIGNAL came before the ranks started; not starting them"
    return 1
  fi
  "${SIMBI_LAUNCH[@]}" "$SIMBI" "$@" &
  _simbi_launch_pid=$!
  local rc
  while :; do
    _simbi_trapped=0
    rc=0
    wait "$_simbi_launch_pid" || rc=$?
    # A trap interrupts `wait` (status 128+signal) while the launcher still runs: wait again. Once
    # the launcher has ended, `wait` returns its real status.
    [ "$_simbi_trapped" = 1 ] || break
  done
  _simbi_launch_pid=""
  return "$rc"
}

# Installed by simbi_job_init for the whole script, so that the warning never kills the batch shell
# itself (bash's default for SIGUSR1), also when it comes before or after the ranks run.
_simbi_on_signal() {
  _simbi_trapped=1
  [ -n "$SIMBI_JOB_SIGNAL" ] || SIMBI_JOB_SIGNAL=$1
  if [ -n "$_simbi_launch_pid" ]; then
    echo "simbi-$SIMBI_STAGE: received SIG$1 at $(date +%T); forwarding SIGUSR1 to the ranks"
    kill -USR1 "$_simbi_launch_pid" 2>/dev/null || true
  elif [ "$1" = TERM ]; then
    echo "simbi-$SIMBI_STAGE: received SIGTERM at $(date +%T) with no ranks running; stopping"
    exit 143
  else
    echo "simbi-$SIMBI_STAGE: received SIG$1 at $(date +%T) with no ranks running"
  fi
}

# --- ending: done, requeue, or fail ------------------------------------------------------------------
# simbi_finish RC DONE_CMD...: RC is simbi_launch's status; DONE_CMD succeeds when the stage's output is
# complete. Complete: return 0. Stopped by Slurm's warning signal, or a clean exit without a complete
# output (simbi train checkpointed because its ranks got the signal directly): requeue this job, which
# continues from what is on disk. Otherwise the stage failed: exit with its status.
simbi_finish() {
  local rc=$1
  shift
  if "$@"; then
    return 0
  fi
  if [ "$SIMBI_JOB_SIGNAL" = USR1 ] || { [ "$rc" = 0 ] && [ -z "$SIMBI_JOB_SIGNAL" ]; }; then
    simbi_requeue
  fi
  if [ -n "$SIMBI_JOB_SIGNAL" ]; then
    # SIGTERM: scancel or the hard time limit; Slurm ends the job, resubmit to continue.
    echo "simbi-$SIMBI_STAGE: stopped by SIG$SIMBI_JOB_SIGNAL before the end; resubmit the job to continue" >&2
    exit 143
  fi
  [ "$rc" != 0 ] || rc=1
  # simbi printed the reason (one `error:` line); this line only says what ended the job.
  echo "simbi-$SIMBI_STAGE: failed (exit status $rc)" >&2
  exit "$rc"
}

simbi_requeue() {
  local restarts=${SLURM_RESTART_COUNT:-0} max=${MAX_REQUEUES:-20}
  if [ "$restarts" -ge "$max" ]; then
    simbi_job_die "not finished after $restarts restarts (MAX_REQUEUES=$max); not requeueing again"
  fi
  echo "simbi-$SIMBI_STAGE: not finished; requeueing job $SLURM_JOB_ID (restart $((restarts + 1))) to continue from the files on disk"
  # Slurm holds a requeued job for about two minutes (BeginTime) before it may start again; the job
  # keeps its id, so jobs depending on it (afterok) keep waiting. This shell is killed by the requeue.
  scontrol requeue "$SLURM_JOB_ID"
  exit 0
}

# simbi_store_complete FILE: the simulation store exists and every row is simulated (`completed` counts
# ok and failed rows).
simbi_store_complete() {
  [ -f "$1" ] || return 1
  "$SIMBI" inspect --json "$1" 2>/dev/null | /usr/bin/python3 -c \
    'import json, sys; j = json.load(sys.stdin); sys.exit(0 if j["completed"] >= j["budget"] else 1)'
}
