#!/usr/bin/env bash
# A throw-away one-node Slurm cluster on this machine, for the `slurm` tests (and for trying jobs/ by
# hand): its own munged (key and socket under DIR), slurmctld and slurmd, all state, spool and logs under
# DIR, free TCP ports, no cgroups. Needs root (SlurmUser=root, as in CI) and Debian's
# slurmctld slurmd slurm-client munge (scripts/setup.sh installs them).
#
#   bash tests/slurm/slurm_cluster.sh start DIR   # prints `export SLURM_CONF=DIR/slurm.conf`; waits until idle
#   bash tests/slurm/slurm_cluster.sh stop DIR    # stops the daemons started by `start DIR` (by their pids)
#
# Sourced, it defines slurm_cluster_start DIR / slurm_cluster_stop DIR (the tests use these with a trap).
# Client commands (sbatch, squeue, scontrol, srun) find the cluster through SLURM_CONF, which
# slurm_cluster_start exports. SLURM_CLUSTER_CPUS sets the node's CPUs (default 2).

_slurm_cluster_die() {
  echo "error: slurm_cluster: $*" >&2
  return 1
}

# Two free TCP ports (slurmctld, slurmd), so that a cluster left by someone else does not collide.
_slurm_cluster_ports() {
  /usr/bin/python3 - <<'EOF'
import socket
socks = [socket.socket() for _ in range(2)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}

slurm_cluster_start() {
  local dir=${1:?usage: slurm_cluster_start DIR}
  local cmd
  [ "$(id -u)" -eq 0 ] || { _slurm_cluster_die "must run as root (SlurmUser=root)"; return 1; }
  for cmd in munged slurmctld slurmd sbatch sinfo; do
    command -v "$cmd" >/dev/null || PATH=$PATH:/usr/sbin command -v "$cmd" >/dev/null ||
      { _slurm_cluster_die "$cmd not found: install slurmctld slurmd slurm-client munge (scripts/setup.sh)"; return 1; }
  done
  PATH=$PATH:/usr/sbin
  mkdir -p "$dir"/{munge,state,spool,log}
  dir=$(cd "$dir" && pwd)
  # munged refuses group/world-writable key and socket directories.
  chmod 700 "$dir" "$dir/munge"
  dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
  chmod 400 "$dir/munge/munge.key"
  munged --force --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.socket" \
    --pid-file="$dir/munge/munged.pid" --log-file="$dir/log/munged.log" \
    --seed-file="$dir/munge/munged.seed" --num-threads=2 ||
    { _slurm_cluster_die "munged did not start: $(tail -n 3 "$dir/log/munged.log" 2>/dev/null)"; return 1; }

  local host ports ctld_port slurmd_port cpus=${SLURM_CLUSTER_CPUS:-2}
  host=$(hostname -s)
  ports=$(_slurm_cluster_ports)
  ctld_port=${ports% *} slurmd_port=${ports#* }
  cat >"$dir/slurm.conf" <<EOF
# Written by tests/slurm/slurm_cluster.sh: one node, no cgroups, no accounting database.
ClusterName=simbitest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/munge.socket
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
# No cgroups here (containers, CI): track processes by parent pid, no task binding.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
# Debian's Open MPI talks PMIx (srun --mpi=pmix); pmi2 does not work with it.
MpiDefault=pmix
SchedulerType=sched/backfill
# Start jobs as soon as they are submitted or eligible (defaults wait up to 3 s to batch them up).
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
# A node that went down (e.g. slurmd restarted) comes back by itself.
ReturnToService=2
# Keep finished jobs in scontrol show job for 10 minutes (there is no sacct without a database).
MinJobAge=600
# Seconds between SIGTERM and SIGKILL at a time limit or scancel.
KillWait=30
InactiveLimit=0
SlurmctldTimeout=60
SlurmdTimeout=60
# The controller checks time limits and --signal deadlines on its background timer, about every 30 s.
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=1000 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
  export SLURM_CONF=$dir/slurm.conf
  # -D keeps them in the foreground of their own background jobs: their pids are ours to stop.
  setsid slurmctld -D -i -f "$SLURM_CONF" >"$dir/log/slurmctld.out" 2>&1 </dev/null &
  echo $! >"$dir/slurmctld.daemon.pid"
  setsid slurmd -D -f "$SLURM_CONF" -N "$host" >"$dir/log/slurmd.out" 2>&1 </dev/null &
  echo $! >"$dir/slurmd.daemon.pid"

  local state=""
  for _ in $(seq 1 120); do
    state=$(sinfo -h -N -o '%T' 2>/dev/null | head -n 1 || true)
    [ "$state" = idle ] && break
    sleep 0.5
  done
  if [ "$state" != idle ]; then
    tail -n 20 "$dir/log/slurmctld.log" "$dir/log/slurmd.log" "$dir/log/"*.out >&2 2>/dev/null || true
    _slurm_cluster_die "node not idle after 60 s (state '${state:-none}'); logs in $dir/log"
    return 1
  fi
  echo "slurm_cluster: node $host idle ($cpus CPUs), SLURM_CONF=$SLURM_CONF" >&2
}

slurm_cluster_stop() {
  local dir=${1:?usage: slurm_cluster_stop DIR}
  local f pid
  [ -d "$dir" ] || return 0
  dir=$(cd "$dir" && pwd)
  # Cancel what is left and let the daemons end the jobs (up to 15 s), so that no slurmstepd or rank
  # outlives the cluster.
  if [ -f "$dir/slurm.conf" ] && [ -f "$dir/slurmctld.daemon.pid" ]; then
    SLURM_CONF=$dir/slurm.conf scancel --user=root >/dev/null 2>&1 || true
    for _ in $(seq 1 30); do
      # squeue lists only jobs that are pending, running or completing.
      [ -z "$(SLURM_CONF=$dir/slurm.conf squeue -h 2>/dev/null)" ] && break
      sleep 0.5
    done
  fi
  for f in slurmd slurmctld; do
    [ -f "$dir/$f.daemon.pid" ] || continue
    pid=$(cat "$dir/$f.daemon.pid")
    kill -TERM "$pid" 2>/dev/null || true
  done
  for f in slurmd slurmctld; do
    [ -f "$dir/$f.daemon.pid" ] || continue
    pid=$(cat "$dir/$f.daemon.pid")
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    rm -f "$dir/$f.daemon.pid"
  done
  # A slurmstepd left behind all the same (its slurmd was gone before the job ended) still writes to
  # this cluster's slurmd log: end it by its pid.
  local fd
  for pid in $(pgrep -x slurmstepd || true); do
    for fd in /proc/"$pid"/fd/*; do
      if [ "$(readlink "$fd" 2>/dev/null)" = "$dir/log/slurmd.log" ]; then
        kill -KILL "$pid" 2>/dev/null || true
        break
      fi
    done
  done
  if [ -f "$dir/munge/munged.pid" ]; then
    pid=$(cat "$dir/munge/munged.pid")
    kill -TERM "$pid" 2>/dev/null || true
    rm -f "$dir/munge/munged.pid"
  fi
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  case "${1:-}" in
    start)
      slurm_cluster_start "${2:?usage: $0 start DIR}"
      echo "export SLURM_CONF=$(cd "$2" && pwd)/slurm.conf"
      ;;
    stop) slurm_cluster_stop "${2:?usage: $0 stop DIR}" ;;
    *)
      echo "error: usage: $0 start|stop DIR" >&2
      exit 2
      ;;
  esac
fi
