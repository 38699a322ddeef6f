#!/usr/bin/env bash
# scripts/select_by_validation.sh end to end at a toy size on 2 ranks: two NPE variants trained on the
# same simulations; selection.csv has one row per variant with the best validation loss and the held-out
# density each model file records (read back with `simbi inspect`); for NPE the held-out mean log q(θ | x)
# that `simbi train` measures with the kept weights is minus the best validation loss (the NPE loss is
# −log q in θ's units), an independent check of that measurement; exactly one variant chosen — the highest
# held-out density; --resume keeps the trained variants; options that would change the validation split
# are refused with one error line.
source "$(dirname "$0")/lib.sh"
SIMBI_BUILD_DIR=$(cd "$(dirname "$SIMBI")" && pwd)
export SIMBI_BUILD_DIR
select_run() {
  bash "$SIMBI_SOURCE/scripts/select_by_validation.sh" --task two_moons --method npe --budget 1000 --ranks 2 \
    --variant "full=--max-epochs 8" --variant "small=--max-epochs 8 --batch-size 64" --out "$PWD/sel" "$@"
}
select_run >select.txt 2>&1 || { cat select.txt >&2; fail "select_by_validation.sh failed"; }
cat select.txt
for v in full small; do
  "$SIMBI" inspect --json "sel/$v/model.pt" | "$PY" -c \
    "import json,sys; h = json.load(sys.stdin)['history']; print('$v', h['best_val_loss'], h['val_log_prob'])" >>recorded.txt
done
"$PY" - sel/selection.csv recorded.txt <<'PYEOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
recorded = dict((l.split()[0], float(l.split()[1])) for l in open(sys.argv[2]))
density = dict((l.split()[0], float(l.split()[2])) for l in open(sys.argv[2]))
assert [r["variant"] for r in rows] == ["full", "small"], rows
for r in rows:
    v = r["variant"]
    assert abs(float(r["best_val_loss"]) - recorded[v]) <= 1e-6 * max(1.0, abs(recorded[v])), (r, recorded)
    assert abs(float(r["val_log_prob"]) - density[v]) <= 1e-6 * max(1.0, abs(density[v])), (r, density)
    # float32 sums over ~100 rows in another order: agreement to 1e-4 relative
    assert abs(density[v] + recorded[v]) <= 1e-4 * max(1.0, abs(recorded[v])), (v, density[v], recorded[v])
chosen = [r["variant"] for r in rows if r["chosen"] == "yes"]
assert chosen == [max(density, key=density.get)], (chosen, density)
print(f"ok: losses {recorded}, held-out log q {density}, chosen {chosen[0]}")
PYEOF
before=$(stat -c %Y sel/full/model.pt)
select_run --resume >resume.txt 2>&1 || { cat resume.txt >&2; fail "--resume failed"; }
[ "$(stat -c %Y sel/full/model.pt)" = "$before" ] || fail "--resume retrained a finished variant"
grep -q "^== two_moons npe, variant" resume.txt && fail "--resume trained again: $(cat resume.txt)"
expect_error "a variant that sets the seed" "would change what the validation loss is measured on" \
  bash "$SIMBI_SOURCE/scripts/select_by_validation.sh" --task two_moons --method npe --variant "x=--seed 2"
expect_error "a variant without a name" "expected NAME=OPTIONS" \
  bash "$SIMBI_SOURCE/scripts/select_by_validation.sh" --task two_moons --method npe --variant "--lr 1e-3"
echo "PASS"
