#!/usr/bin/env bash
# `simbi train --resume` with a checkpoint that does not fit, under `mpiexec -n 2`: another
# architecture, method, option or data loading (memory vs stream), a store changed since the
# checkpoint, a damaged checkpoint — each one `error:` line naming the checkpoint and what differs, a
# non-zero exit, no hang, and the checkpoint left as it was.
source "$(dirname "$0")/lib.sh"
source "$SIMBI_SOURCE/tests/e2e/train_helpers.sh"
make_store sims.h5
start_training first.log "${TRAIN[@]}" --max-epochs 100000 --out m.pt
wait_for_file m.pt.ckpt
kill -USR1 "$TRAIN_PID"
wait "$TRAIN_PID" || { cat first.log; fail "the signalled run did not exit 0"; }
cp m.pt.ckpt saved.ckpt
R=("${MPI2[@]}" "$SIMBI" "${TRAIN[@]}" --max-epochs 5 --out m.pt --resume)

expect_error "other architecture" \
  "checkpoint m.pt.ckpt was written for cpvae with encoder_hidden = \[16,16\], not cpvae with encoder_hidden = \[32,32\]" \
  "${R[@]}" --encoder-hidden 32,32
expect_error "other method" "checkpoint m.pt.ckpt was written for cpvae.*, not upvae" "${R[@]}" --method upvae
expect_error "other option" "checkpoint m.pt.ckpt was written for cpvae with lr = 0.002, not cpvae with lr = 0.001" \
  "${R[@]}" --lr 1e-3
expect_error "other data loading" "checkpoint m.pt.ckpt was written with --data-loading memory, not stream" \
  "${R[@]}" --data-loading stream
cmp m.pt.ckpt saved.ckpt || fail "a refused resume changed the checkpoint"
[ ! -e m.pt ] || fail "a refused resume wrote a model"

"$MPIEXEC" -n 1 "$SIMBI" -q simulate --task two_moons --budget 5000 --seed 9 --out sims.h5 --force
expect_error "store changed" \
  "store sims.h5 changed since checkpoint m.pt.ckpt was written \(5000 usable rows then, 5000 now; different contents\)" \
  "${R[@]}"
cmp m.pt.ckpt saved.ckpt || fail "a refused resume changed the checkpoint"

head -c 2000 saved.ckpt >m.pt.ckpt
expect_error "truncated checkpoint" "m.pt.ckpt: not a simbi training checkpoint" "${R[@]}"
echo "ok: every mismatched checkpoint refused with one clear line"
