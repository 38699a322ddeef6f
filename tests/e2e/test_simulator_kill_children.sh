#!/usr/bin/env bash
# SIGTERM to mpiexec while both ranks wait on a stuck external simulator (no timeout): simbi passes the
# signal on to the simulators' process groups before mpiexec's SIGKILL, so no simulator process is left
# (none re-parented to init), and the store keeps what was finished (resume works).
source "$(dirname "$0")/lib.sh"
SIM=simbi_orphan_$$.sh
STUCK=simbi_orphan_sleep_$$
ln -s "$(command -v sleep)" "$STUCK"
cat >"$SIM" <<SH
#!/bin/sh
read -r seed a b
echo "\$seed" >>started.txt
./$STUCK 1000
echo "\$a \$b"
SH
chmod +x "$SIM"
command_simulator_config orphan_toy "./$SIM" >orphan.toml

"${MPI2[@]}" "$SIMBI" simulate --simulator-config orphan.toml --budget 8 --chunk-rows 1 --out orphan.h5 >run.log 2>&1 &
pid=$!
for _ in $(seq 1 600); do
  [ -f started.txt ] && [ "$(wc -l <started.txt)" -ge 2 ] && break
  sleep 0.1
done
[ "$(wc -l <started.txt 2>/dev/null || echo 0)" -ge 2 ] || { cat run.log; fail "the simulators did not start on both ranks"; }
pgrep -f "simbi_orphan_[a-z_]*$$" >/dev/null || fail "no simulator process running before the kill (the check below would prove nothing)"
kill -TERM "$pid"
rc=0
timeout 30 tail --pid="$pid" -f /dev/null || fail "mpiexec did not exit within 30 s of SIGTERM"
wait "$pid" || rc=$?
cat run.log
echo "mpiexec exit status after SIGTERM: $rc"
sleep 1
if pgrep -f "simbi_orphan_[a-z_]*$$" >/dev/null; then
  pgrep -af "simbi_orphan_[a-z_]*$$" >&2
  pkill -KILL -f "simbi_orphan_[a-z_]*$$" || true
  fail "simulator processes outlived the job"
fi
echo "ok: SIGTERM to mpiexec left no simulator process"
