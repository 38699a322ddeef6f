# shellcheck shell=bash
# Shared by the slurm tests (sourced): the e2e helpers (SIMBI, WORK, fail, expect_error, same_datasets,
# inspect_field) plus a one-node Slurm cluster of its own under $WORK/cluster, stopped at exit, and
# helpers to follow jobs. Jobs are followed with `scontrol show job` every 0.5 s, not `sbatch --wait`
# (which polls at 2, 8, 32 s), and every wait has a timeout.
source "$(dirname "${BASH_SOURCE[0]}")/../e2e/lib.sh"
source "$SIMBI_SOURCE/tests/slurm/slurm_cluster.sh"

if [ "$(id -u)" -ne 0 ]; then
  echo "SKIP: the slurm tests start slurmctld/slurmd with SlurmUser=root and must run as root" >&2
  exit 77
fi
CLUSTER=$WORK/cluster
trap 'slurm_cluster_stop "$CLUSTER"; rm -rf "$WORK"' EXIT
slurm_cluster_start "$CLUSTER" || fail "could not start the one-node Slurm cluster"
# The jobs find jobs/lib.sh and the binary under test through these (sbatch passes the environment on).
export SIMBI_HOME=$SIMBI_SOURCE SIMBI

# job_field ID FIELD: one field of `scontrol show job ID` (JobState, Reason, Restarts, StartTime, ...).
job_field() {
  scontrol -o show job "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n 1
}

# wait_job ID TIMEOUT_S [release [UPDATE...]]: waits until the job has ended and prints its final state.
# With `release`, a requeued job is started again at once (with the `scontrol update` settings UPDATE,
# e.g. TimeLimit=5): Slurm holds a requeued job for about two minutes (Reason=BeginTime) before it may
# run again, which a test need not wait out.
wait_job() {
  local id=$1 timeout=$2 release=${3:-} state reason t0=$SECONDS
  local update=("${@:4}")
  while :; do
    state=$(job_field "$id" JobState)
    case "$state" in
      COMPLETED | FAILED | CANCELLED | TIMEOUT | OUT_OF_MEMORY | NODE_FAIL | BOOT_FAIL | DEADLINE | PREEMPTED)
        echo "$state"
        return 0
        ;;
    esac
    if [ -n "$release" ] && [ "$state" = PENDING ]; then
      reason=$(job_field "$id" Reason)
      if [ "$reason" = BeginTime ]; then
        # Not in the same second as the requeue: slurmd refuses ("Job N already killed, do not launch
        # batch job") a launch whose credential is not newer, in whole seconds, than the job's kill.
        sleep 2
        echo "job $id requeued (restart $(job_field "$id" Restarts)); releasing it now ${update[*]}" >&2
        scontrol update JobId="$id" StartTime=now "${update[@]}"
      fi
    fi
    if [ $((SECONDS - t0)) -ge "$timeout" ]; then
      scontrol show job "$id" >&2 || true
      squeue >&2 || true
      fail "job $id not finished after $timeout s (state $state)"
    fi
    sleep 0.5
  done
}

# expect_state ID STATE LOG: the job ended in STATE, else print its log and fail.
expect_state() {
  local got
  got=$(job_field "$1" JobState)
  [ "$got" = "$2" ] || { cat "$3" >&2 || true; fail "job $1 ended $got, expected $2 (log $3)"; }
}
