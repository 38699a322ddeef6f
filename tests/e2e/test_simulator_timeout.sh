#!/usr/bin/env bash
# A stuck external simulator (rows with a > 0.7 sleep 1000 s) is killed by the config's timeout_s = 1:
# with on_timeout = "fail_row" its rows are recorded as failed (status "failed" in the store, a warning
# line each) and the run completes; with on_timeout = "stop" the run stops with one error line naming
# the timeout. Either way no simulator process outlives the job.
source "$(dirname "$0")/lib.sh"
SIM=simbi_stuck_$$.sh
STUCK=simbi_stuck_sleep_$$  # a sleep under a unique name, so that pgrep finds a survivor
ln -s "$(command -v sleep)" "$STUCK"
cat >"$SIM" <<SH
#!/bin/sh
read -r seed a b
if awk -v a="\$a" 'BEGIN { exit !(a > 0.7) }'; then
  echo "\$seed" >>stuck_rows.txt
  ./$STUCK 1000
fi
echo "\$a \$b"
SH
chmod +x "$SIM"
config() {  # config ON_TIMEOUT
  command_simulator_config stuck_toy "./$SIM" "timeout_s = 1
on_timeout = \"$1\""
}
no_survivors() {
  sleep 0.5
  if pgrep -f "simbi_stuck_[a-z_]*$$" >/dev/null; then
    pgrep -af "simbi_stuck_[a-z_]*$$" >&2
    fail "$1: simulator processes outlived the job"
  fi
  echo "ok: $1: no simulator process left"
}

# fail_row: 12 rows of one row per call; the stuck ones become failed rows.
config fail_row >fail_row.toml
rm -f stuck_rows.txt
timeout 60 "${MPI2[@]}" "$SIMBI" simulate --simulator-config fail_row.toml --budget 12 --chunk-rows 1 --seed 5 \
  --out fail_row.h5 >run1.log 2>&1 || { cat run1.log; fail "fail_row: the run did not complete"; }
cat run1.log
stuck=$(wc -l <stuck_rows.txt)
[ "$stuck" -ge 1 ] || fail "no row got stuck; change the seed"
failed=$(inspect_field fail_row.h5 failed)
completed=$(inspect_field fail_row.h5 completed)
[ "$completed" = 12 ] || fail "fail_row: $completed of 12 rows complete"
[ "$failed" = "$stuck" ] || fail "fail_row: $failed failed rows in the store, $stuck calls got stuck"
warnings=$(grep -c 'within timeout_s = 1 s and was killed; its rows are recorded as failed' run1.log || true)
[ "$warnings" = "$stuck" ] || fail "fail_row: $warnings timeout warnings for $stuck stuck calls"
grep -q '^error: ' run1.log && fail "fail_row: an error line"
echo "ok: fail_row: $stuck stuck rows recorded as failed, the run completed (12/12 rows)"
no_survivors fail_row

# stop: the first stuck call ends the run on every rank with one error line naming the timeout.
config stop >stop.toml
t0=$(date +%s)
expect_error "on_timeout = stop" 'did not finish a batch of 1 rows \(rows [0-9]+\.\.[0-9]+\) within timeout_s = 1 s and was killed \(on_timeout = "stop"\)' \
  "${MPI2[@]}" "$SIMBI" simulate --simulator-config stop.toml --budget 12 --chunk-rows 1 --seed 5 --out stop.h5
echo "stop: the job ended after $(($(date +%s) - t0)) s"
no_survivors stop

# A bad on_timeout value is reported with the file and the field (one rank: this is about the message).
config sometimes >bad.toml
expect_error "a bad on_timeout" "field 'on_timeout' must be \"stop\" or \"fail_row\", got 'sometimes'" \
  "$SIMBI" simulate --simulator-config bad.toml --budget 12 --out bad.h5
