#!/usr/bin/env bash
# scripts/bench_vector_field.sh end to end at a toy size: the training table has one row per width,
# batch and rank count with positive ms/step and samples/s, the sampling table one row per solver and
# rank count with positive draws/s; bad sizes are one error line.
source "$(dirname "$0")/lib.sh"
SIMBI_BUILD_DIR=$(cd "$(dirname "$SIMBI")" && pwd)
export SIMBI_BUILD_DIR
bash "$SIMBI_SOURCE/scripts/bench_vector_field.sh" --rows 1200 --batches 128 --widths "16 32" --blocks 1 \
  --draws 300 >bench.txt 2>&1 || { cat bench.txt >&2; fail "bench_vector_field.sh failed"; }
cat bench.txt
"$PY" - bench.txt <<'PYEOF'
import sys
lines = open(sys.argv[1]).read().splitlines()
train = [l.split() for l in lines if l.split()[:1] in (["16"], ["32"])]
assert sorted((r[0], r[1], r[2]) for r in train) == sorted(
    (w, b, k) for w in ("16", "32") for b in ("128",) for k in ("1", "2")), train
assert all(float(r[3]) > 0 and float(r[4]) > 0 for r in train), train
sample = [l.split() for l in lines if l.split()[:1] in (["fmpe"], ["npse"])]
assert len(sample) == 10, sample  # 5 solver settings x 2 rank counts
assert all(float(r[-1]) > 0 for r in sample), sample
print("ok: 4 training rows, 10 sampling rows")
PYEOF
expect_error "a width of 0" "positive integers" bash "$SIMBI_SOURCE/scripts/bench_vector_field.sh" --widths 0
expect_error "an unknown device" "--device must be cpu or cuda" bash "$SIMBI_SOURCE/scripts/bench_vector_field.sh" \
  --device tpu
echo "PASS"
