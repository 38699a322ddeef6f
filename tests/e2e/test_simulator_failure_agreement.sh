#!/usr/bin/env bash
# An external simulator failing on rank 1 while rank 0 is mid-batch (its calls take ~1 s per row): the
# error is agreed on every rank (rank 0 prints rank 1's message, once) and the job exits within 5 s of
# the failure instead of after rank 0's 20 s batch; no simulator process outlives the job.
source "$(dirname "$0")/lib.sh"
SIM=simbi_failagree_$$.sh
cat >"$SIM" <<'SH'
#!/bin/sh
# Open MPI exports the rank to the children. Rank 1: fail at once (stamping the time of the failure);
# rank 0: one row per second.
if [ "${OMPI_COMM_WORLD_RANK:-0}" = 1 ]; then
  cat >/dev/null
  date +%s.%N >failed_at.txt
  echo "rank 1 simulator gives up" >&2
  exit 3
fi
while read -r seed a b; do
  sleep 1
  echo "$a $b"
done
SH
chmod +x "$SIM"
command_simulator_config agree_toy "./$SIM" >agree.toml

start=$(date +%s.%N)
expect_error "a simulator failing on rank 1 while rank 0 is mid-batch" \
  "external simulator.*exited with status 3 on a batch of 20 rows.*rank 1 simulator gives up" \
  "${MPI2[@]}" "$SIMBI" simulate --simulator-config agree.toml --budget 80 --chunk-rows 20 --out agree.h5
ended=$(date +%s.%N)
[ -f failed_at.txt ] || fail "rank 1's simulator never ran (no failed_at.txt)"
took=$(awk -v a="$(cat failed_at.txt)" -v b="$ended" 'BEGIN { printf "%.2f", b - a }')
echo "job exited $took s after the failure on rank 1 (whole run $(awk -v a="$start" -v b="$ended" 'BEGIN { printf "%.1f", b - a }') s)"
awk -v t="$took" 'BEGIN { exit !(t < 5.0) }' || fail "the job took $took s after the failure to exit (expected < 5 s)"
sleep 0.5
if pgrep -f "$SIM" >/dev/null; then
  pgrep -af "$SIM" >&2
  fail "simulator processes outlived the job"
fi
echo "ok: no $SIM process left after the error exit"
