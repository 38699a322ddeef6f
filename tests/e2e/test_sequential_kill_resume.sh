#!/usr/bin/env bash
# A 4-round sequential run (TSNPE, 2 ranks, an external simulator taking 0.3 s per batch) killed with
# SIGKILL in round 2's simulation, resumed, killed again in round 3's training, and resumed again,
# finishes with the same store as an uninterrupted run (round 4's proposal comes from round 3's model,
# so the store also shows that the resumed training ended where the uninterrupted one did) and draws
# the same samples. The resumed runs draw no recorded proposal again and simulate no finished round again.
source "$(dirname "$0")/lib.sh"
SIM=simbi_seqsim_$$.sh
cat >"$SIM" <<'SH'
#!/bin/sh
# x = θ plus small noise keyed by the row's seed; 0.3 s per batch.
sleep 0.3
awk '{ s = $1 % 1000003; printf "%.7g %.7g\n", $2 + 0.1 * (s / 1000003 - 0.5), $3 + 0.1 * ((s % 997) / 997 - 0.5) }'
SH
chmod +x "$SIM"
command_simulator_config seq_toy "./$SIM" >sim.toml
cat >run.toml <<'TOML'
seed = 5
[simulate]
simulator-config = "sim.toml"
budget = 200
progress-seconds = 0.1
[train]
method = "npe"
batch-size = 50
max-epochs = 40
patience = 40
[sample]
num-samples = 300
[run]
sequential = "tsnpe"
rounds = 4
TOML
printf "x1,x2\n0.4,0.6\n" >obs.csv
RUN=(run --config run.toml --observation obs.csv --no-plots)

mpirun2 "$SIMBI" "${RUN[@]}" --workdir ref >ref.log 2>&1 || { tail -n 30 ref.log; fail "uninterrupted run failed"; }

# wait_for PATTERN FILE: until the file has a line matching PATTERN (60 s at most).
wait_for() {
  for _ in $(seq 1 1200); do
    grep -qE "$1" "$2" 2>/dev/null && return 0
    sleep 0.05
  done
  fail "no line /$1/ in $2 within 60 s"
}
# run_until NAME CONDITION...: a run in the background, SIGKILLed (mpiexec and every rank) once CONDITION holds.
run_until() {
  local name=$1
  shift
  setsid "${MPI2[@]}" "$SIMBI" "${RUN[@]}" --workdir killed >$name.log 2>&1 &
  local pid=$!
  "$@"
  kill -KILL -- -"$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  sleep 0.5
}

# 1. Killed in round 2's simulation, after its first rows.
round2_started() {
  wait_for "stage round 2: simulate" first.log
  for _ in $(seq 1 1200); do
    sed -n '/stage round 2: simulate/,$p' first.log | grep -qE "simulate: [0-9]+/200 rows" && return 0
    sleep 0.05
  done
}
run_until first round2_started
done=$(inspect_field killed/sims.h5 completed)
echo "killed in round 2's simulation with $done of 800 rows"
[ "$done" -gt 200 ] && [ "$done" -lt 400 ] || fail "the kill did not land inside round 2's simulation ($done rows)"

# 2. Resumed, and killed in round 3's training once it has checkpointed.
round3_checkpointed() { wait_for "stage round 3: train" second.log; until [ -f killed/model_round3.pt.ckpt ]; do sleep 0.05; done; }
run_until second round3_checkpointed
grep -q "round 2: proposal already in" second.log || fail "the resumed run drew round 2's proposal again"
grep -qE "resuming killed/sims.h5: [1-9][0-9]* of 16 chunks" second.log || fail "round 2's simulation was not resumed"
[ ! -f killed/model_round3.pt ] || fail "round 3's training finished before the kill"
echo "killed in round 3's training with checkpoint killed/model_round3.pt.ckpt"

# 3. Resumed to the end.
mpirun2 "$SIMBI" "${RUN[@]}" --workdir killed >third.log 2>&1 || { tail -n 30 third.log; fail "second resume failed"; }
grep -q "resuming from checkpoint killed/model_round3.pt.ckpt" third.log || fail "round 3's training did not resume"
grep -q "round 3: proposal already in" third.log || fail "round 3's proposal was drawn again"
same_store ref/sims.h5 killed/sims.h5
cmp ref/samples.csv killed/samples.csv || fail "the resumed run drew other samples than the uninterrupted one"
echo "ok: killed in round 2's simulation and round 3's training, resumed: the same store and samples"
