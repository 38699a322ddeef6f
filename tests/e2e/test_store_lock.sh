#!/usr/bin/env bash
# The store's lock (<store>.lock) under `mpiexec -n 2`: a second writer (--force or --resume) of a store
# that another simulate is writing is refused with one error line naming the holder, and the first run
# still ends identical to an uninterrupted one; a lock left by a dead process on this host is taken over
# with a warning; a lock held elsewhere is refused until --break-lock; SIGTERM stops a run, releases the
# lock, and --resume finishes the store.
source "$(dirname "$0")/lib.sh"
BUDGET=100000
ARGS=(simulate --task sir --budget $BUDGET --seed 5 --chunk-rows 1000)
HOST=$(hostname)

"$MPIEXEC" -n 1 "$SIMBI" -q "${ARGS[@]}" --out reference.h5

# start_run LOG OUT: a 2-rank run in its own process group, watched through its progress lines.
start_run() {
  setsid "$MPIEXEC" --oversubscribe -n 2 "$SIMBI" "${ARGS[@]}" --progress-seconds 0.1 --out "$2" >"$1" 2>&1 &
  RUN_PID=$!
}
rank_pids() { pgrep -P "$RUN_PID" -x simbi || true; }
# wait_progress LOG: until the run has reported some rows written (fails if it ends first).
wait_progress() {
  for _ in $(seq 1 1200); do
    grep -qE 'simulate: [0-9.]+k?/' "$1" && return 0
    kill -0 "$RUN_PID" 2>/dev/null || { cat "$1"; fail "the run ended before it reported progress"; }
    sleep 0.05
  done
  fail "no progress line in $1"
}

# 1. Second writers while the first holds the lock. Its ranks are paused (SIGSTOP) while the others
#    try, so the attempts certainly fall within its run; then it continues to the end.
start_run first.log busy.h5
wait_progress first.log
[ -e busy.h5.lock ] || fail "no lock file while the store is being written"
pids=$(rank_pids)
[ "$(echo $pids | wc -w)" = 2 ] || fail "expected 2 rank processes under mpiexec, found '$pids'"
kill -STOP $pids
holder=$(sed -n 's/^pid=//p' busy.h5.lock)
expect_error "second writer, --force" "busy.h5: locked by another writer \(host $HOST, pid $holder[,;]" \
  "${MPI2[@]}" "$SIMBI" "${ARGS[@]}" --out busy.h5 --force
expect_error "second writer, --resume" "busy.h5: locked by another writer \(host $HOST, pid $holder[,;]" \
  "${MPI2[@]}" "$SIMBI" "${ARGS[@]}" --out busy.h5 --resume
kill -CONT $pids
wait "$RUN_PID" || { cat first.log; fail "the first run failed after the refused writers"; }
[ ! -e busy.h5.lock ] || fail "lock file left after the run finished"
[ "$(inspect_field busy.h5 completed)" = $BUDGET ] || fail "first run's store is incomplete"
same_datasets reference.h5 busy.h5
echo "ok: second writers refused while pid $holder wrote busy.h5; its store equals the uninterrupted run"

# 2. A lock left by a process that is gone (same host): taken over with a warning.
sleep 0 &
dead=$!
wait $dead
printf 'host=%s\npid=%s\nslurm_job=\nsince=2026-01-01T00:00:00Z\n' "$HOST" "$dead" >stale.h5.lock
mpirun2 "$SIMBI" simulate --task two_moons --budget 500 --seed 1 --out stale.h5 >stale.log 2>&1 ||
  { cat stale.log; fail "a stale lock was not taken over"; }
grep -q "warning: taking over the stale lock of stale.h5 (host $HOST, pid $dead" stale.log ||
  { cat stale.log; fail "no warning about the stale lock"; }
[ ! -e stale.h5.lock ] || fail "lock file left after the run finished"
[ "$(inspect_field stale.h5 completed)" = 500 ] || fail "store written after taking over a stale lock is incomplete"
echo "ok: stale lock of pid $dead taken over"

# 3. A lock held on another host: refused (its pid cannot be checked from here) until --break-lock.
printf 'host=other-node.example\npid=4242\nslurm_job=777\nsince=2026-01-01T00:00:00Z\n' >elsewhere.h5.lock
expect_error "lock held on another host" \
  "elsewhere.h5: locked by another writer \(host other-node.example, pid 4242, Slurm job 777, .*--break-lock" \
  "${MPI2[@]}" "$SIMBI" simulate --task two_moons --budget 500 --seed 1 --out elsewhere.h5
[ ! -e elsewhere.h5 ] || fail "a refused writer created the store"
mpirun2 "$SIMBI" simulate --task two_moons --budget 500 --seed 1 --out elsewhere.h5 --break-lock >break.log 2>&1 ||
  { cat break.log; fail "--break-lock did not take the lock"; }
grep -q "warning: --break-lock: removed the lock of elsewhere.h5 (host other-node.example" break.log ||
  { cat break.log; fail "no warning about the broken lock"; }
[ ! -e elsewhere.h5.lock ] || fail "lock file left after the run finished"
[ "$(inspect_field elsewhere.h5 completed)" = 500 ] || fail "store written with --break-lock is incomplete"
echo "ok: lock held elsewhere refused, then broken with --break-lock"

# 4. SIGTERM to the ranks: the run stops after its chunks in progress, exits 0 and releases the lock;
#    --resume finishes the store, identical to the uninterrupted run.
start_run term.log stopped.h5
wait_progress term.log
kill -TERM $(rank_pids)
rc=0
wait "$RUN_PID" || rc=$?
cat term.log
[ "$rc" = 0 ] || fail "SIGTERM: exit status $rc, expected 0"
grep -qE "^received SIGTERM: stopped with [0-9]+/$BUDGET rows of stopped.h5 complete; finish it with --resume" term.log ||
  fail "SIGTERM: no message saying how to finish the store"
[ ! -e stopped.h5.lock ] || fail "SIGTERM: lock file left behind"
mpirun2 "$SIMBI" "${ARGS[@]}" --out stopped.h5 --resume >resume.log 2>&1 || { cat resume.log; fail "resume failed"; }
grep -q "warning:.*lock" resume.log && { cat resume.log; fail "resume after SIGTERM found a lock to take over"; }
same_datasets reference.h5 stopped.h5
echo "ok: SIGTERM released the lock; --resume completed the store"
