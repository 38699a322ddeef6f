#!/usr/bin/env bash
# A 2-rank simulation killed with SIGKILL (all ranks at once) part-way, then continued with --resume,
# ends byte-identical to an uninterrupted run, and the resumed run does not start over.
source "$(dirname "$0")/lib.sh"
BUDGET=400000
ARGS=(simulate --task sir --budget $BUDGET --seed 3 --chunk-rows 1000)

"$MPIEXEC" -n 1 "$SIMBI" -q "${ARGS[@]}" --out reference.h5

# --progress-seconds 0.1: rank 0 reports the rows written so far ten times a second; watching that line
# (not polling the store with `simbi inspect`, whose start-up is slow on a loaded machine) lets the
# kill land within ~0.1 s of the first 5000 rows.
setsid "$MPIEXEC" --oversubscribe -n 2 "$SIMBI" "${ARGS[@]}" --progress-seconds 0.1 --out killed.h5 >run1.log 2>&1 &
pid=$!
for _ in $(seq 1 1200); do
  sleep 0.05
  pct=$(sed -nE 's/.*simulate: .* rows \(([0-9.]+)%\).*/\1/p' run1.log | tail -n 1)
  [ -n "$pct" ] && awk -v p="$pct" 'BEGIN { exit !(p >= 1.25) }' && break
done
kill -KILL -- -"$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
sleep 0.5
completed=$(inspect_field killed.h5 completed)
echo "killed with $completed of $BUDGET rows complete"
[ "$completed" -ge 5000 ] || fail "the run did not get going before the kill"
[ "$completed" -lt "$BUDGET" ] || fail "the run finished before the kill; make the budget larger"

mpirun2 "$SIMBI" "${ARGS[@]}" --out killed.h5 --resume >run2.log 2>&1 || { cat run2.log; fail "resume failed"; }
cat run2.log
grep -E "resuming killed.h5: [0-9]+ of 400 chunks" run2.log >/dev/null || fail "no resume message"
todo=$(sed -nE 's/.*resuming killed.h5: ([0-9]+) of 400 chunks.*/\1/p' run2.log)
[ "$todo" -lt 400 ] || fail "resume started over ($todo of 400 chunks)"
[ "$(inspect_field killed.h5 completed)" = $BUDGET ] || fail "resumed store is incomplete"
same_datasets reference.h5 killed.h5
echo "ok: killed at $completed rows, resumed $todo chunks, identical to the uninterrupted run"
