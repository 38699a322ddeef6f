#!/usr/bin/env bash
# A stop signal during training under `mpiexec -n 2` — SIGTERM to the ranks (as scancel and srun
# deliver it), SIGUSR1 to mpiexec (Slurm's --signal; Open MPI forwards it) or SIGTERM to mpiexec — makes every
# rank finish its step, rank 0 write the checkpoint, print how to continue, and the job exit 0. The
# printed command, run as given, continues the run to the end and removes the checkpoint.
source "$(dirname "$0")/lib.sh"
source "$SIMBI_SOURCE/tests/e2e/train_helpers.sh"
make_store sims.h5

for how in TERM:ranks USR1:mpiexec TERM:mpiexec; do
  sig=${how%%:*} target=${how##*:}
  out=${sig}_$target.pt log=${sig}_$target.log
  start_training $log "${TRAIN[@]}" --max-epochs 100000 --out $out
  wait_for_file $out.ckpt
  if [ "$target" = ranks ]; then
    pids=$(rank_pids)
    [ "$(echo $pids | wc -w)" = 2 ] || fail "expected 2 rank processes under mpiexec, found '$pids'"
    kill -$sig $pids
  else
    kill -$sig "$TRAIN_PID"
  fi
  rc=0
  timeout 60 tail --pid="$TRAIN_PID" -f /dev/null || fail "SIG$sig: the job did not stop within 60 s"
  wait "$TRAIN_PID" || rc=$?
  cat $log
  # mpiexec itself exits non-zero after a SIGTERM of its own (Open MPI counts the job as aborted), but
  # the ranks it forwarded the signal to still checkpoint and exit 0.
  [ "$rc" = 0 ] || [ "$how" = TERM:mpiexec ] || fail "SIG$sig: exit status $rc, expected 0"
  line=$(grep -E "^received SIG$sig: checkpoint written to $out.ckpt after [0-9]+ epochs \([0-9]+ steps\); continue with: .*simbi train .* --resume$" $log) ||
    fail "SIG$sig: no message saying where the checkpoint is and how to continue"
  [ "$(grep -c '^received SIG' $log)" = 1 ] || fail "SIG$sig: the message is not printed exactly once"
  [ ! -e $out ] || fail "SIG$sig: a model file was written for an interrupted run"
  done_epochs=$(json_field $out.ckpt "j['epochs']")
  # Continue with the printed command (a few more epochs instead of 100000: the last option wins).
  cmd=${line#*continue with: }
  eval "mpirun2 $cmd --max-epochs $((done_epochs + 2))" >resume_$log 2>&1 ||
    { cat resume_$log; fail "SIG$sig: the printed command did not resume"; }
  grep -E "resuming from checkpoint $out.ckpt: epoch $((done_epochs + 1))" resume_$log >/dev/null ||
    { cat resume_$log; fail "SIG$sig: did not resume from epoch $((done_epochs + 1))"; }
  [ "$(json_field $out "j['epochs']")" = $((done_epochs + 2)) ] || fail "SIG$sig: wrong epoch count after resuming"
  [ ! -e $out.ckpt ] || fail "SIG$sig: checkpoint left after the run finished"
  echo "ok: SIG$sig to $target: stopped after $done_epochs epochs (exit status $rc), resumed to $((done_epochs + 2))"
done
