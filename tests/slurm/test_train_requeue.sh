#!/usr/bin/env bash
# jobs/train.sbatch under a real time limit: `--time=00:01:00 --signal=B:USR1@50`. Slurm sends SIGUSR1
# to the batch script 10-40 s into the run (the controller checks deadlines every 30 s); the script
# forwards it to the ranks, simbi writes its checkpoint and exits 0, the script requeues the job, and
# the next run continues from the checkpoint. The training is bounded by --max-minutes 0.7 per run
# (42 s of training, more than any first run gets before the warning, however fast the machine), and
# the requeued run is given a longer limit, as a longer next allocation, so that it trains to the end.
source "$(dirname "$0")/lib.sh"
"$MPIEXEC" -n 1 "$SIMBI" -q simulate --task two_moons --budget 2000 --seed 1 --out sims.h5 >/dev/null

t0=$SECONDS
id=$(DATA=sims.h5 OUT=model.pt CONFIG=$SIMBI_SOURCE/configs/examples/two_moons_quick.toml \
  EXTRA="--max-minutes 0.7 --max-epochs 100000 --patience 100000 --batch-size 32" \
  sbatch --parsable --time=00:01:00 --signal=B:USR1@50 --output=train.log "$SIMBI_SOURCE/jobs/train.sbatch")
wait_job "$id" 300 release TimeLimit=00:05:00 >/dev/null
cat train.log
expect_state "$id" COMPLETED train.log
restarts=$(job_field "$id" Restarts)
echo "job $id: COMPLETED after $restarts requeue(s) in $((SECONDS - t0)) s"
[ "$restarts" = 1 ] || fail "expected exactly one requeue, got $restarts"

# The first run was stopped by the warning, checkpointed and requeued itself; the second resumed.
grep -q '^simbi-train: received SIGUSR1 at .*; forwarding SIGUSR1 to the ranks' train.log ||
  fail "the batch script did not get Slurm's warning signal"
grep -q '^received SIGUSR1: checkpoint written to model.pt.ckpt' train.log || fail "simbi did not checkpoint on SIGUSR1"
grep -q "^simbi-train: not finished; requeueing job $id (restart 1)" train.log || fail "the job did not requeue itself"
grep -q 'no checkpoint model.pt.ckpt yet; training from the start' train.log || fail "the first run did not start fresh"
"$PY" - train.log <<'EOF' || fail "the second run did not continue from the first run's checkpoint"
import re, sys
log = open(sys.argv[1]).read()
stopped = [int(m) for m in re.findall(r"checkpoint written to model.pt.ckpt after (\d+) epochs", log)]
resumed = [int(m) for m in re.findall(r"resuming from checkpoint model.pt.ckpt: epoch (\d+)", log)]
print("first run stopped after", stopped, "epochs; second run resumed at epoch", resumed)
assert len(stopped) == 1 and resumed == [stopped[0] + 1], (stopped, resumed)
EOF
stopped=$(sed -nE 's/.*checkpoint written to model.pt.ckpt after ([0-9]+) epochs.*/\1/p' train.log)
epochs=$(inspect_field model.pt epochs)
[ "$epochs" -gt "$stopped" ] || fail "model.pt has $epochs epochs, not more than the $stopped before the requeue"
[ ! -e model.pt.ckpt ] || fail "checkpoint left after the training finished"
echo "ok: stopped by the time-limit warning after $stopped epochs, requeued, resumed, $epochs epochs in all"
