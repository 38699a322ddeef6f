#!/usr/bin/env bash
# jobs/simulate.sbatch cancelled with scancel part-way (hh_ace: about 1000 simulations/s per rank, so
# 8000 rows take several seconds on 2 ranks), then submitted again: the second job simulates only the
# chunks the first one did not finish, and the store ends identical to an uninterrupted job's.
source "$(dirname "$0")/lib.sh"
BUDGET=8000 CHUNKS=32
export TASK=hh_ace BUDGET SEED=3 EXTRA="--chunk-rows 250 --progress-seconds 0.2"
submit() { OUT=$1 sbatch --parsable --output="$1-%j.log" "$SIMBI_SOURCE/jobs/simulate.sbatch"; }

id=$(submit cancelled.h5)
log=cancelled.h5-$id.log
# Wait until a fifth of the rows are on disk (rank 0's progress line), then cancel the job.
pct=""
for _ in $(seq 1 1200); do
  sleep 0.1
  pct=$(sed -nE 's/.*simulate: .* rows \(([0-9.]+)%\).*/\1/p' "$log" 2>/dev/null | tail -n 1 || true)
  [ -n "$pct" ] && awk -v p="$pct" 'BEGIN { exit !(p >= 20) }' && break
done
[ -n "$pct" ] || { cat "$log" >&2; fail "the simulation did not start within 120 s"; }
scancel "$id"
[ "$(wait_job "$id" 60)" = CANCELLED ] || { cat "$log"; fail "job $id was not cancelled"; }
cat "$log"
grep -q "simbi-simulate: received SIGTERM" "$log" || fail "the batch script did not see scancel's SIGTERM"
done_rows=$(inspect_field cancelled.h5 completed)
echo "cancelled at ${pct}% (job $id): $done_rows of $BUDGET rows on disk"
{ [ "$done_rows" -gt 0 ] && [ "$done_rows" -lt $BUDGET ]; } || fail "expected a partly filled store, got $done_rows rows"

# Submit the same job again; meanwhile an uninterrupted job writes the reference (they run one after
# the other: each needs the node's 2 CPUs).
id2=$(submit cancelled.h5)
ref=$(submit reference.h5)
wait_job "$id2" 120 >/dev/null
wait_job "$ref" 120 >/dev/null
cat "cancelled.h5-$id2.log"
expect_state "$id2" COMPLETED "cancelled.h5-$id2.log"
expect_state "$ref" COMPLETED "reference.h5-$ref.log"
todo=$(sed -nE "s/.*resuming cancelled.h5: ([0-9]+) of $CHUNKS chunks still to simulate.*/\1/p" "cancelled.h5-$id2.log")
[ -n "$todo" ] || fail "the resubmitted job did not resume (no 'resuming' line)"
# The chunks left are exactly those not on disk after the cancel: it continued, not started over.
[ "$todo" -eq $(((BUDGET - done_rows + 249) / 250)) ] ||
  fail "resumed $todo chunks, but $((BUDGET - done_rows)) rows were missing"
grep -q "rows complete .*\[resumed\]" "cancelled.h5-$id2.log" || fail "no [resumed] summary"
[ "$(inspect_field cancelled.h5 completed)" = $BUDGET ] || fail "the resumed store is incomplete"
same_datasets reference.h5 cancelled.h5
echo "ok: cancelled with $done_rows/$BUDGET rows, the resubmitted job simulated the $todo missing chunks, identical to an uninterrupted job"
