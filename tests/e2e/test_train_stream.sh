#!/usr/bin/env bash
# Training streamed from the store (--data-loading stream) under `mpiexec -n 2`: it says so, learns as
# well as the in-memory path, and a SIGKILL after a checkpoint resumed on the same 2 ranks ends exactly
# where the uninterrupted streamed run ends (same chunk order, windows and noise); resumed on 1 rank it
# finishes the run.
source "$(dirname "$0")/lib.sh"
source "$SIMBI_SOURCE/tests/e2e/train_helpers.sh"
EPOCHS=12
# 80 chunks of 250 rows; a 0.05 MB window holds 13 chunks, so each rank's epoch spans several windows.
"$MPIEXEC" -n 1 "$SIMBI" -q simulate --task two_moons --budget 20000 --seed 1 --chunk-rows 250 --out sims.h5
STREAM=("${TRAIN[@]}" --max-epochs $EPOCHS --data-loading stream --stream-buffer-mb 0.05)

mpirun2 "$SIMBI" "${STREAM[@]}" --out stream.pt >stream.log 2>&1 || { cat stream.log; fail "streamed training failed"; }
grep -E "20000 rows of sims.h5, streamed \(0.05 MB window per rank\)" stream.log >/dev/null ||
  { cat stream.log; fail "the log does not say the rows are streamed"; }
mpirun2 "$SIMBI" -q "${TRAIN[@]}" --max-epochs $EPOCHS --data-loading memory --out memory.pt
stream_loss=$(json_field stream.pt "j['history']['val_loss'][-1]")
memory_loss=$(json_field memory.pt "j['history']['val_loss'][-1]")
[ "$(json_field stream.pt "j['data']['loading']")" = stream ] || fail "model metadata does not record streaming"
echo "final validation loss: streamed $stream_loss, in memory $memory_loss"
# Different splits (chunks vs rows) and orders: the losses agree to sampling noise, not exactly.
"$PY" -c "import sys; s, m = $stream_loss, $memory_loss; sys.exit(0 if abs(s - m) <= 0.1 * abs(m) else 1)" ||
  fail "streamed training ends at $stream_loss, in-memory at $memory_loss (more than 10% apart)"

start_training kill.log "${STREAM[@]}" --out killed.pt
wait_for_file killed.pt.ckpt
kill -KILL -- -"$TRAIN_PID" $(rank_pids) 2>/dev/null || true
wait "$TRAIN_PID" 2>/dev/null || true
[ ! -e killed.pt ] || fail "the run finished before the kill; make it longer"
cp killed.pt.ckpt saved.ckpt
mpirun2 "$SIMBI" "${STREAM[@]}" --out killed.pt --resume >resume.log 2>&1 || { cat resume.log; fail "resume failed"; }
grep -E "resuming from checkpoint killed.pt.ckpt: epoch [0-9]+" resume.log >/dev/null || { cat resume.log; fail "no resume message"; }
resumed_loss=$(json_field killed.pt "j['history']['val_loss'][-1]")
[ "$(json_field killed.pt "j['epochs']")" = $EPOCHS ] || fail "the resumed run did not reach $EPOCHS epochs"
echo "killed and resumed on 2 ranks: $resumed_loss (uninterrupted: $stream_loss)"
"$PY" -c "import sys; a, b = $resumed_loss, $stream_loss; sys.exit(0 if abs(a - b) <= 1e-5 * abs(b) else 1)" ||
  fail "resumed streamed run ends at $resumed_loss, uninterrupted at $stream_loss"

cp saved.ckpt one.pt.ckpt
"$MPIEXEC" -n 1 "$SIMBI" "${STREAM[@]}" --out one.pt --resume >one.log 2>&1 || { cat one.log; fail "resume on 1 rank failed"; }
grep -E "written by 2 rank\(s\), now 1" one.log >/dev/null || { cat one.log; fail "no resume message on 1 rank"; }
[ "$(json_field one.pt "j['epochs']")" = $EPOCHS ] || fail "the 1-rank resume did not reach $EPOCHS epochs"
echo "ok: streamed training, exact resume on 2 ranks, resume on 1 rank ($(json_field one.pt "j['history']['val_loss'][-1]"))"
