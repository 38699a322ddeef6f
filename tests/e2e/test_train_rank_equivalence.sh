#!/usr/bin/env bash
# Data-parallel training is exact: train::fit with global batch B on 2 ranks (B/2 rows each, gradients
# summed by the fused allreduce) gives the same parameters as 1 rank with batch B, to 1e-5 — after one
# optimizer step and after a whole epoch — for a deterministic loss (regression), for a CP-VAE,
# whose reparameterisation noise is keyed by global batch position, not by rank, and for E&E, whose
# contrastive loss takes its negatives from the whole global batch (gathered across the ranks), for NPE (a
# spline flow) and NLE (a spline flow over x), and for FMPE and NPSE, whose times and base draws are noise
# keyed by global batch position.
# Control: a different
# global batch on 1 rank must differ, so the comparison can fail.
source "$(dirname "$0")/lib.sh"
TOOL=${SIMBI_TRAIN_RANK_EQUIVALENCE:-$SIMBI_BUILD/tests/simbi_train_rank_equivalence}
[ -x "$TOOL" ] || fail "$TOOL not built"

max_abs_diff() {
  "$PY" -c 'import sys, numpy as np
a, b = np.loadtxt(sys.argv[1]), np.loadtxt(sys.argv[2])
assert a.shape == b.shape and a.size > 1000, (a.shape, b.shape)
print("%.3g" % np.abs(a - b).max())' "$1" "$2"
}
within() { "$PY" -c "import sys; sys.exit(0 if float('$1') <= float('$2') else 1)"; }

for model in regression cpvae ene npe fmpe npse nle; do
  # One optimizer step: the global batch is every training row (900 of 1000).
  "$MPIEXEC" -n 1 "$TOOL" --model $model --batch 900 --epochs 1 --out ${model}_step_1.txt
  mpirun2 "$TOOL" --model $model --batch 900 --epochs 1 --out ${model}_step_2.txt
  d=$(max_abs_diff ${model}_step_1.txt ${model}_step_2.txt)
  within "$d" 1e-5 || fail "$model, one step: 1 vs 2 ranks differ by $d (> 1e-5)"
  echo "ok: $model, one step, batch 900: 1 vs 2 ranks max |Δparameter| = $d"

  # A whole epoch of 15 steps with batch 64 (the last step has 4 rows: 2 per rank).
  "$MPIEXEC" -n 1 "$TOOL" --model $model --batch 64 --epochs 1 --out ${model}_epoch_1.txt
  mpirun2 "$TOOL" --model $model --batch 64 --epochs 1 --out ${model}_epoch_2.txt
  d=$(max_abs_diff ${model}_epoch_1.txt ${model}_epoch_2.txt)
  within "$d" 1e-5 || fail "$model, one epoch: 1 vs 2 ranks differ by $d (> 1e-5)"
  echo "ok: $model, one epoch, batch 64: 1 vs 2 ranks max |Δparameter| = $d"

  # Control: 1 rank with half the global batch takes different steps.
  "$MPIEXEC" -n 1 "$TOOL" --model $model --batch 32 --epochs 1 --out ${model}_control.txt
  d=$(max_abs_diff ${model}_epoch_1.txt ${model}_control.txt)
  within 1e-3 "$d" || fail "$model, control: batch 32 vs 64 differ by only $d; the comparison cannot tell runs apart"
  echo "ok: $model, control, batch 32 vs 64 on 1 rank: max |Δparameter| = $d"
done
