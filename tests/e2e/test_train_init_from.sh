#!/usr/bin/env bash
# `simbi train --init-from M` starts from M's weights and standardization: with a learning rate too
# small to move them, its first validation loss is M's best (same data, same validation rows), while a
# fresh initialisation's is far from it. The warm start is part of the training's record (and of the
# fingerprint --resume compares).
source "$(dirname "$0")/lib.sh"
"$MPIEXEC" -n 1 "$SIMBI" -q simulate --task two_moons --budget 3000 --seed 4 --out sims.h5
NPE=(train --data sims.h5 --method npe --seed 3 --flow-hidden 16 --flow-transforms 2 --batch-size 128)
mpirun2 "$SIMBI" -q "${NPE[@]}" --max-epochs 15 --out first.pt
mpirun2 "$SIMBI" -q "${NPE[@]}" --max-epochs 1 --lr 1e-12 --init-from first.pt --out warm.pt
mpirun2 "$SIMBI" -q "${NPE[@]}" --max-epochs 1 --lr 1e-12 --out fresh.pt
for f in first warm fresh; do "$SIMBI" inspect --json $f.pt >$f.json; done
"$PY" - <<'PYEOF' || fail "the warm start did not start from first.pt's weights"
import json
first, warm, fresh = (json.load(open(f + ".json")) for f in ("first", "warm", "fresh"))
best = first["history"]["best_val_loss"]
w, f = warm["history"]["val_loss"][0], fresh["history"]["val_loss"][0]
print(f"first.pt best validation loss {best:.5f}; epoch 1: warm start {w:.5f}, fresh {f:.5f}")
assert abs(w - best) < 1e-4 * max(1.0, abs(best)), (w, best)
assert abs(f - best) > 0.3, (f, best)
assert warm["training"]["warm_start"].startswith("first.pt ("), warm["training"]
assert "warm_start" not in fresh["training"]
PYEOF
echo "ok: --init-from starts where the model it names ended"
