#!/usr/bin/env bash
# Hyperparameter selection by validation loss — never by C2ST or any reference posterior, which a user
# does not have. Trains one model per variant on the same simulations and the same validation split,
# prints each variant's best validation loss and marks the lowest. A variant is a name and `simbi train`
# options added after the config (the command line wins over the config's keys), e.g.
#   bash scripts/select_by_validation.sh --task slcp --method npe \
#       --variant "sbibm=" --variant "transform=--support-transform auto" \
#       --variant "batch256=--batch-size 256" --out results/select/slcp_npe
# Usage:
#   bash scripts/select_by_validation.sh --task TASK --method METHOD --variant NAME=OPTIONS [--variant ...]
#       [--config configs/<task>/<method>.toml] [--data sims.h5 | --budget 10000 --seed 1] [--ranks 2]
#       [--out results/select/<task>_<method>] [--resume]
#   --data     the simulations to train on (default: simulated once into <out>/sims.h5 with --budget/--seed)
#   --out      relative to the repository root, as in the other scripts
#   --resume   keep variants whose model.pt exists in --out (a killed training resumes from its checkpoint)
# Every variant is measured on one validation split: a variant may not set --validation-fraction, --seed
# or --data (refused). The criterion: where every variant's model records a held-out posterior density
# (NPE, FMPE, NPSE: the mean log q(θ | x) over the validation rows, in θ's own units, measured by
# `simbi train` with the kept weights), the highest one — it compares across methods, widths, batch
# sizes and support transforms; otherwise the lowest best validation loss (NLE's is a negative
# log-density of x; a VAE's or ACE's loss compares only within one method).
# Writes <out>/<name>/{model.pt,train.log} per variant and <out>/selection.csv (variant, options, best
# validation loss, held-out log density, best epoch, epochs, training seconds, chosen) and prints the
# table. Environment:
# SIMBI_BUILD_DIR (default build), MPIEXEC (default mpiexec).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"
# shellcheck source=scripts/lib.sh
source "$REPO/scripts/lib.sh"  # mpi_env, PY, die, need_value, usage, model_field

TASK=""
METHOD=""
CONFIG=""
DATA=""
BUDGET=10000
SEED=1
RANKS=2
OUT=""
RESUME=0
VARIANTS=()
while [ $# -gt 0 ]; do
  case $1 in
  --task) need_value "$@"; TASK=$2; shift 2 ;;
  --method) need_value "$@"; METHOD=$2; shift 2 ;;
  --config) need_value "$@"; CONFIG=$2; shift 2 ;;
  --data) need_value "$@"; DATA=$2; shift 2 ;;
  --budget) need_value "$@"; BUDGET=$2; shift 2 ;;
  --seed) need_value "$@"; SEED=$2; shift 2 ;;
  --ranks) need_value "$@"; RANKS=$2; shift 2 ;;
  --out) need_value "$@"; OUT=$2; shift 2 ;;
  --variant) need_value "$@"; VARIANTS+=("$2"); shift 2 ;;
  --resume) RESUME=1; shift ;;
  -h | --help) usage; exit 0 ;;
  *) die "unknown argument '$1' (see --help)" ;;
  esac
done
[ -n "$TASK" ] || die "--task is required"
[ -n "$METHOD" ] || die "--method is required"
[ ${#VARIANTS[@]} -ge 1 ] || die "at least one --variant NAME=OPTIONS is required"
[[ "$RANKS" =~ ^[1-9][0-9]*$ ]] || die "--ranks must be a positive integer, got '$RANKS'"
CONFIG=${CONFIG:-configs/$TASK/$METHOD.toml}
[ -f "$CONFIG" ] || die "--config $CONFIG not found"
OUT=${OUT:-results/select/${TASK}_$METHOD}
SIMBI=${SIMBI_BUILD_DIR:-build}/simbi
[ -x "$SIMBI" ] || die "$SIMBI not found: build simbi first (bash scripts/setup.sh)"
MPIEXEC=${MPIEXEC:-mpiexec}

names=()
for v in "${VARIANTS[@]}"; do
  name=${v%%=*}
  [[ "$v" == *=* ]] || die "--variant '$v': expected NAME=OPTIONS (OPTIONS may be empty: the config as it is)"
  [[ "$name" =~ ^[A-Za-z0-9_.-]+$ ]] || die "--variant '$v': the name must be letters, digits, '_', '.' or '-'"
  for forbidden in --validation-fraction --seed --data --out; do
    [[ " ${v#*=} " != *" $forbidden "* ]] ||
      die "--variant '$v': $forbidden would change what the validation loss is measured on"
  done
  for n in "${names[@]}"; do [ "$n" != "$name" ] || die "--variant name '$name' given twice"; done
  names+=("$name")
done

mkdir -p "$OUT"
if [ -z "$DATA" ]; then
  DATA=$OUT/sims.h5
  existing=()  # a new store; --resume finishes an interrupted one; otherwise it is made anew
  if [ -f "$DATA" ]; then [ "$RESUME" = 1 ] && existing=(--resume) || existing=(--force); fi
  echo "== simulate $TASK: $BUDGET rows, seed $SEED -> $DATA"
  "$MPIEXEC" -n "$RANKS" "$SIMBI" -q simulate --task "$TASK" --budget "$BUDGET" --seed "$SEED" --out "$DATA" \
    "${existing[@]}" >"$OUT/simulate.log" 2>&1 || { tail -n 5 "$OUT/simulate.log" >&2; die "simulation failed"; }
fi
[ -f "$DATA" ] || die "--data $DATA not found"

failed=0
for v in "${VARIANTS[@]}"; do
  name=${v%%=*}
  read -r -a opts <<<"${v#*=}"
  dir=$OUT/$name
  mkdir -p "$dir"
  if [ "$RESUME" = 1 ] && [ -f "$dir/model.pt" ]; then continue; fi
  echo "== $TASK $METHOD, variant $name: ${v#*=}"
  if ! "$MPIEXEC" -n "$RANKS" "$SIMBI" train --data "$DATA" --config "$CONFIG" "${opts[@]}" --out "$dir/model.pt" \
    $([ "$RESUME" = 1 ] && echo --resume) >"$dir/train.log" 2>&1; then
    echo "FAILED: variant $name (log $dir/train.log):" >&2
    tail -n 5 "$dir/train.log" >&2
    failed=1
  fi
  grep '^trained ' "$dir/train.log" || true
done

rows=$OUT/selection.csv.tmp
echo "variant,options,best_val_loss,val_log_prob,best_epoch,epochs,train_seconds" >"$rows"
for v in "${VARIANTS[@]}"; do
  name=${v%%=*}
  model=$OUT/$name/model.pt
  [ -f "$model" ] || continue
  fields=$(model_field "$model" "'{},{},{},{},{:.1f}'.format(j['history']['best_val_loss'], '' if j['history'].get('val_log_prob') is None else j['history']['val_log_prob'], j['history']['best_epoch'], j['epochs'], j['train_seconds'])")
  echo "$name,\"${v#*=}\",$fields" >>"$rows"
done
"$PY" - "$rows" "$OUT/selection.csv" <<'PYEOF'
import csv, os, sys
src, dst = sys.argv[1], sys.argv[2]
rows = list(csv.DictReader(open(src)))
os.remove(src)
if not rows:
    sys.exit("no variant has a model: nothing to select")
by_density = all(r["val_log_prob"] != "" for r in rows)
if by_density:
    best = max(rows, key=lambda r: float(r["val_log_prob"]))
    criterion = "the highest held-out log q(θ | x)"
else:
    best = min(rows, key=lambda r: float(r["best_val_loss"]))
    criterion = "the lowest best validation loss (not every model records a held-out density)"
for r in rows:
    r["chosen"] = "yes" if r is best else ""
tmp = dst + ".tmp"
with open(tmp, "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
    w.writeheader()
    w.writerows(rows)
os.replace(tmp, dst)
print(f"{'variant':<16} {'best val loss':>14} {'val log q':>10} {'best epoch':>10} {'epochs':>7} {'train s':>8}  options")
for r in rows:
    mark = "  <- chosen" if r is best else ""
    lq = f"{float(r['val_log_prob']):>10.4f}" if r["val_log_prob"] != "" else f"{'–':>10}"
    print(f"{r['variant']:<16} {float(r['best_val_loss']):>14.4f} {lq} {r['best_epoch']:>10} {r['epochs']:>7} "
          f"{r['train_seconds']:>8}  {r['options'] or '(the config)'}{mark}")
print(f"chosen by {criterion}: {best['variant']}")
print(f"wrote {dst}")
PYEOF
exit $failed
