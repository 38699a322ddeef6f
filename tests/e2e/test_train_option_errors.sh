#!/usr/bin/env bash
# `simbi train` with a training option outside its range, under `mpiexec -n 2`: exactly one `error:`
# line naming the option, a non-zero exit, and at once — before the store is opened (the --data path
# does not exist, yet the error is about the option). And `--resume --max-epochs N` below the epochs a
# checkpoint has trained: one error line naming both numbers, the checkpoint kept.
source "$(dirname "$0")/lib.sh"
source "$SIMBI_SOURCE/tests/e2e/train_helpers.sh"
B=("${MPI2[@]}" "$SIMBI" "${TRAIN[@]/sims.h5/no_such_store.h5}" --out m.pt)

bad_option() {  # bad_option PATTERN OPTION VALUE
  local t0 t1
  t0=$(date +%s.%N)
  expect_error "$2 $3" "$1" "${B[@]}" "$2" "$3"
  t1=$(date +%s.%N)
  # Well under 2 s on an idle machine; the bound leaves room for busy CI cores.
  "$PY" -c "import sys; sys.exit(0 if $t1 - $t0 < 10 else 1)" || fail "$2 $3: the error took $("$PY" -c "print($t1 - $t0)") s"
  grep -q "no_such_store" "$WORK/err.txt" && fail "$2 $3: the store was looked at before the options were checked"
  echo "   ($("$PY" -c "print(round($t1 - $t0, 2))") s)"
}
bad_option "--lr must be a finite number > 0, got 0" --lr 0
bad_option "--lr must be a finite number > 0, got inf" --lr inf
bad_option "--lr must be a finite number > 0, got nan" --lr nan
bad_option "--batch-size: expected an integer in \[0, 1000000000\], got -5" --batch-size -5
bad_option "--batch-size must be at least 1, got 0" --batch-size 0
bad_option "--max-epochs must be at least 1, got 0" --max-epochs 0
bad_option "--patience must be at least 1" --patience 0
bad_option "--weight-decay must be a finite number >= 0, got -0.1" --weight-decay -0.1
bad_option "--validation-fraction must be in \(0, 1\), got 1" --validation-fraction 1
bad_option "--clip-norm must be 0 \(off\) or a finite number > 0, got -1" --clip-norm -1
bad_option "--lr-decay-factor must be in \(0, 1\), got 1.5" --lr-decay-factor 1.5
bad_option "--checkpoint-seconds must be 0 \(off\) or a finite number > 0, got inf" --checkpoint-seconds inf
bad_option "--max-minutes must be 0 \(no limit\) or a finite number > 0, got -1" --max-minutes -1
bad_option "--stream-buffer-mb must be a finite number > 0, got 0" --stream-buffer-mb 0
echo "ok: every bad training option refused with one line before the store is read"

# A checkpoint after at least 2 epochs, then --resume with fewer.
make_store sims.h5
start_training first.log "${TRAIN[@]}" --max-epochs 100000 --out c.pt
for i in $(seq 1 1200); do
  [ -e c.pt.ckpt ] && [ "$(json_field c.pt.ckpt "j['epochs']" 2>/dev/null || echo 0)" -ge 2 ] && break
  sleep 0.05
done
kill -USR1 "$TRAIN_PID"
wait "$TRAIN_PID" || { cat first.log; fail "the signalled run did not exit 0"; }
done_epochs=$(json_field c.pt.ckpt "j['epochs']")
[ "$done_epochs" -ge 2 ] || fail "checkpoint after $done_epochs epochs, expected at least 2"
cp c.pt.ckpt saved.ckpt
expect_error "--max-epochs below the epochs done" \
  "--max-epochs 1 is below the $done_epochs epochs checkpoint c.pt.ckpt has already trained" \
  "${MPI2[@]}" "$SIMBI" "${TRAIN[@]}" --out c.pt --resume --max-epochs 1
cmp c.pt.ckpt saved.ckpt || fail "the refused resume changed the checkpoint"
[ ! -e c.pt ] || fail "the refused resume wrote a model"
echo "ok: --resume --max-epochs below the epochs done refused, checkpoint kept"
