#!/usr/bin/env bash
# Training under `mpiexec -n 2` killed with SIGKILL (mpiexec and both ranks) after a checkpoint, then
# continued with --resume on 2 ranks and on 1 rank: it does not start over (the log names the epoch
# it continues from, the earlier epochs' history is kept), and it ends with the same epoch count, the
# same number of optimizer steps, and the final validation loss of an uninterrupted run: within 1% on 2
# ranks; on 1 rank within 1% or twice the gap between uninterrupted 1-rank and 2-rank runs, whichever is
# larger (the data order and the reparameterisation noise are keyed by global batch position, not by
# rank, so only float summation order differs — but over 13 epochs at this learning rate an NPE's
# trajectory amplifies that: on some CPUs its uninterrupted 1- and 2-rank runs end 7% apart). For a
# CP-VAE, NPE and FMPE.
source "$(dirname "$0")/lib.sh"
source "$SIMBI_SOURCE/tests/e2e/train_helpers.sh"
EPOCHS=15
make_store sims.h5

kill_and_resume() {  # kill_and_resume NAME: TRAIN as set by the caller
  local name=$1
  mpirun2 "$SIMBI" -q "${TRAIN[@]}" --max-epochs $EPOCHS --out ${name}_reference.pt
  ref_loss=$(json_field ${name}_reference.pt "j['history']['val_loss'][-1]")
  ref_epochs=$(json_field ${name}_reference.pt "j['epochs']")
  [ "$ref_epochs" = $EPOCHS ] || fail "the reference run stopped after $ref_epochs epochs"
  "$MPIEXEC" -n 1 "$SIMBI" -q "${TRAIN[@]}" --max-epochs $EPOCHS --out ${name}_reference1.pt
  ref1_loss=$(json_field ${name}_reference1.pt "j['history']['val_loss'][-1]")

  for ranks in 2 1; do
    out=${name}_killed$ranks.pt
    start_training ${name}_kill$ranks.log "${TRAIN[@]}" --max-epochs $EPOCHS --out $out
    wait_for_file $out.ckpt
    # Open MPI puts each rank in its own process group: kill mpiexec's group and the ranks.
    kill -KILL -- -"$TRAIN_PID" $(rank_pids) 2>/dev/null || true
    wait "$TRAIN_PID" 2>/dev/null || true
    [ ! -e $out ] || fail "the run finished before the kill; make it longer"
    done_epochs=$(json_field $out.ckpt "j['epochs']")
    [ "$done_epochs" -ge 1 ] && [ "$done_epochs" -lt $EPOCHS ] || fail "checkpoint after $done_epochs epochs"
    echo "killed after $done_epochs of $EPOCHS epochs"

    "$MPIEXEC" --oversubscribe -n $ranks "$SIMBI" "${TRAIN[@]}" --max-epochs $EPOCHS --out $out --resume \
      >${name}_resume$ranks.log 2>&1 || { cat ${name}_resume$ranks.log; fail "resume on $ranks rank(s) failed"; }
    grep -E "resuming from checkpoint $out.ckpt: epoch $((done_epochs + 1)) \($done_epochs epochs done.*written by 2 rank\(s\), now $ranks\)" \
      ${name}_resume$ranks.log >/dev/null || { cat ${name}_resume$ranks.log; fail "no resume message naming epoch $((done_epochs + 1))"; }
    [ ! -e $out.ckpt ] || fail "the checkpoint of the finished run was not removed"
    epochs=$(json_field $out "j['epochs']")
    loss=$(json_field $out "j['history']['val_loss'][-1]")
    resumed_at=$(json_field $out "[r['epoch'] for r in j['history']['resumes']]")
    steps=$(json_field $out "j['history']['steps']")
    ref_steps=$(json_field ${name}_reference.pt "j['history']['steps']")
    echo "$ranks rank(s): $epochs epochs, final validation loss $loss (uninterrupted: $ref_epochs, $ref_loss); resumed at $resumed_at"
    [ "$epochs" = "$ref_epochs" ] || fail "$epochs epochs after resuming, $ref_epochs uninterrupted"
    [ "$resumed_at" = "[$((done_epochs + 1))]" ] || fail "history.resumes is $resumed_at"
    [ "$steps" = "$ref_steps" ] || fail "$steps optimizer steps in all, $ref_steps uninterrupted (work redone or lost)"
    tol=$("$PY" -c "b, g = $ref_loss, abs($ref1_loss - $ref_loss); print(max(0.01 * abs(b), 2 * g if $ranks == 1 else 0))")
    "$PY" -c "import sys; a, b = $loss, $ref_loss; sys.exit(0 if abs(a - b) <= $tol else 1)" ||
      fail "final validation loss $loss vs $ref_loss uninterrupted (more than $tol apart; uninterrupted on 1 rank: $ref1_loss)"
    # The epochs before the kill are the uninterrupted run's (same data order, same noise).
    same=$(json_field $out "j['history']['val_loss'][:$done_epochs] == $(json_field ${name}_reference.pt "j['history']['val_loss'][:$done_epochs]")")
    [ "$same" = True ] || fail "the history before the kill differs from the uninterrupted run"
  done
  echo "ok: $name: killed runs resumed on 2 and 1 ranks match the uninterrupted run"
}

kill_and_resume cpvae
# NPE: a spline flow (its loss has no noise at all), small so that an epoch stays short.
TRAIN=(train --data sims.h5 --method npe --seed 2 --flow-transforms 2 --flow-hidden 16 --flow-blocks 1
       --batch-size 64 --lr 2e-3 --patience 1000 --threads 1)
kill_and_resume npe
# FMPE: its times and base draws are noise keyed by global batch position, as the VAEs'.
TRAIN=(train --data sims.h5 --method fmpe --seed 2 --field-width 32 --field-blocks 1 --batch-size 64 --lr 2e-3
       --patience 1000 --threads 1)
kill_and_resume fmpe
