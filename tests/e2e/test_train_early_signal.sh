#!/usr/bin/env bash
# SIGUSR1 (Slurm's --signal) to the ranks of `mpiexec -n 2 simbi train` in its first moments — while
# MPI and LibTorch start and the store is read — is the usual polite stop: the ranks train until the
# first step boundary, rank 0 writes the checkpoint, the job prints how to continue and exits 0 (not
# 138, death by SIGUSR1); the printed command continues it.
source "$(dirname "$0")/lib.sh"
source "$SIMBI_SOURCE/tests/e2e/train_helpers.sh"
make_store sims.h5
start_training early.log "${TRAIN[@]}" --max-epochs 100000 --out m.pt
t0=$(date +%s.%N)
pids=""
for i in $(seq 1 2000); do  # the ranks, as soon as both exist
  pids=$(rank_pids)
  [ "$(echo $pids | wc -w)" = 2 ] && break
  sleep 0.005
done
[ "$(echo $pids | wc -w)" = 2 ] || fail "expected 2 rank processes under mpiexec, found '$pids'"
# The handler is installed first thing in main; a signal before main (while the dynamic loader maps
# LibTorch: 0.4 s on an idle machine, seconds under load) keeps its default meaning. So wait until both
# ranks catch SIGUSR1 (bit 10 - 1 of SigCgt in /proc/PID/status), then signal them at once: MPI and
# LibTorch are still starting and the store is not read yet.
catches_usr1() {
  local mask
  mask=$(awk '/^SigCgt:/ {print $2}' "/proc/$1/status" 2>/dev/null) && [ -n "$mask" ] && (((16#$mask >> 9) & 1))
}
for i in $(seq 1 2000); do
  ready=1
  for p in $pids; do catches_usr1 "$p" || ready=0; done
  [ "$ready" = 1 ] && break
  sleep 0.005
done
[ "$ready" = 1 ] || fail "the ranks did not install their SIGUSR1 handler within 10 s"
kill -USR1 $pids
t1=$(date +%s.%N)
echo "SIGUSR1 sent $("$PY" -c "print(round($t1 - $t0, 2))") s after the launch"
rc=0
timeout 60 tail --pid="$TRAIN_PID" -f /dev/null || fail "the job did not stop within 60 s"
wait "$TRAIN_PID" || rc=$?
cat early.log
[ "$rc" = 0 ] || fail "exit status $rc after an early SIGUSR1, expected 0"
grep -q "^received SIGUSR1: checkpoint written to m.pt.ckpt after [0-9]* epochs ([0-9]* steps); continue with: .* --resume$" \
  early.log || fail "no message saying where the checkpoint is"
[ -e m.pt.ckpt ] || fail "no checkpoint"
[ ! -e m.pt ] || fail "a model file was written for an interrupted run"
mpirun2 "$SIMBI" -q "${TRAIN[@]}" --max-epochs 2 --out m.pt --resume >resume.log 2>&1 ||
  { cat resume.log; fail "resume after the early signal failed"; }
[ "$(json_field m.pt "j['epochs']")" = 2 ] || fail "the resumed run did not end after 2 epochs"
echo "ok: SIGUSR1 in the first moments of train stops it politely"
