#!/usr/bin/env bash
# Corrupted files are refused, never used, under `mpiexec -n 2`: a model or a training checkpoint with one
# flipped byte in its payload (the middle of its largest tensor record) fails its checksum with one error
# line naming the file; a model with NaN weights is refused on load naming the parameter; a model whose
# finite weights give non-finite draws is an error naming the model and the count, with no samples file;
# `inspect --verify` says ok for good stores, models and checkpoints and fails on each damaged kind
# (a store row marked ok with a NaN x, a row marked done after a pending one, a bad status value); and
# `inspect` on a CSV, a JSON file or an empty .pt names what the file is.
source "$(dirname "$0")/lib.sh"
source "$SIMBI_SOURCE/tests/e2e/train_helpers.sh"
POISON=${SIMBI_POISON_MODEL:-$SIMBI_BUILD/tests/simbi_poison_model}
S=("${MPI2[@]}" "$SIMBI")
mpirun2 "$SIMBI" -q simulate --task two_moons --budget 1000 --seed 1 --out sims.h5 >/dev/null
mpirun2 "$SIMBI" -q train --data sims.h5 --method npe --out npe.pt --max-epochs 2 --checkpoint-every-epochs 0 >/dev/null
"$SIMBI" -q observe --task two_moons --kind specified --count 1 --seed 7 --out obs.csv

flip() {  # flip IN OUT: OUT = IN with one byte flipped in the middle of its largest zip record's data
  "$PY" - "$1" "$2" <<'PYEOF'
import struct, sys, zipfile
data = bytearray(open(sys.argv[1], "rb").read())
info = max(zipfile.ZipFile(sys.argv[1]).infolist(), key=lambda i: i.file_size)
name_len, extra_len = struct.unpack("<HH", data[info.header_offset + 26:info.header_offset + 30])
at = info.header_offset + 30 + name_len + extra_len + info.file_size // 2
data[at] ^= 0x10
open(sys.argv[2], "wb").write(data)
print(f"flipped byte {at} of {len(data)} ({info.filename})")
PYEOF
}

# ---- models ----
"$SIMBI" inspect --verify npe.pt | tee verify.txt
grep -q "checksum (XXH3-64 of the content) matches" verify.txt && tail -1 verify.txt | grep -qx ok ||
  fail "inspect --verify did not report a good model ok"
flip npe.pt flipped.pt
SAMPLE=(sample --observation obs.csv --num-samples 200 --out samples.csv)
expect_error "sample: model with a flipped byte" "flipped.pt: checksum mismatch \(file corrupted\): stored [0-9a-f]{16}, computed [0-9a-f]{16}" \
  "${S[@]}" "${SAMPLE[@]}" --model flipped.pt
expect_error "inspect --verify: model with a flipped byte" "flipped.pt: checksum mismatch" "${S[@]}" inspect --verify flipped.pt
"$POISON" --in npe.pt --out nan.pt --mode nan
expect_error "sample: model with NaN weights" "nan.pt: parameter '[^']+' has [0-9]+ non-finite value" \
  "${S[@]}" "${SAMPLE[@]}" --model nan.pt
expect_error "inspect --verify: model with NaN weights" "nan.pt: parameter '[^']+' has [0-9]+ non-finite" \
  "${S[@]}" inspect --verify nan.pt
"$POISON" --in npe.pt --out huge.pt --mode huge
expect_error "sample: finite weights, non-finite draws" "huge.pt: [1-9][0-9]* of 200 posterior draws are not finite" \
  "${S[@]}" "${SAMPLE[@]}" --model huge.pt
[ ! -e samples.csv ] || fail "a failed sampling wrote samples.csv"

# ---- checkpoints: one written on SIGTERM ----
start_training train.log train --data sims.h5 --method npe --out ck.pt --max-epochs 100000 --checkpoint-every-epochs 1
wait_for_file ck.pt.ckpt
sleep 0.5
kill -TERM $(rank_pids)
timeout 60 tail --pid="$TRAIN_PID" -f /dev/null || fail "training did not stop on SIGTERM"
wait "$TRAIN_PID" || { cat train.log; fail "training stopped by SIGTERM exited non-zero"; }
"$SIMBI" inspect --verify ck.pt.ckpt | tee verify.txt
tail -1 verify.txt | grep -qx ok || fail "inspect --verify did not report a good checkpoint ok"
cp ck.pt.ckpt good.ckpt
flip good.ckpt ck.pt.ckpt
RESUME=(train --data sims.h5 --method npe --out ck.pt --max-epochs 100000 --checkpoint-every-epochs 1 --resume)
expect_error "train --resume: checkpoint with a flipped byte" "ck.pt.ckpt: checksum mismatch \(file corrupted\)" \
  "${S[@]}" "${RESUME[@]}"
expect_error "inspect --verify: checkpoint with a flipped byte" "ck.pt.ckpt: checksum mismatch" \
  "${S[@]}" inspect --verify ck.pt.ckpt

# ---- stores ----
"$SIMBI" inspect --verify sims.h5 | tee verify.txt
tail -1 verify.txt | grep -qx ok || fail "inspect --verify did not report a good store ok"
damage() {  # damage OUT PYTHON: a copy of sims.h5 changed by PYTHON (f is the open file)
  cp sims.h5 "$1"
  "$PY" -c "import h5py, numpy as np
with h5py.File('$1', 'r+') as f: $2"
}
damage nan_x.h5 "f['x'][5, 0] = np.nan"
expect_error "store: ok row with a NaN x" "nan_x.h5: chunk 0 \(rows 0\.\.[0-9]+\): row 5 is marked ok but its x is not finite" \
  "${S[@]}" inspect --verify nan_x.h5
damage hole.h5 "f['status'][3] = 0"
expect_error "store: done after pending" "hole.h5: chunk 0 .*: row 4 is marked done after row 3 is marked not simulated" \
  "${S[@]}" inspect --verify hole.h5
damage badstatus.h5 "f['status'][7] = 9"
expect_error "store: unknown status value" "badstatus.h5: chunk 0 .*: row 7 has status 9" "${S[@]}" inspect --verify badstatus.h5

# ---- inspect on files it does not read ----
printf 'theta_1,theta_2\n0.1,0.2\n' >samples.csv
printf '{"c2st": 0.5}\n' >metrics.json
: >empty.pt
expect_error "inspect: CSV" "samples.csv: a text file \(CSV\?\), not a file inspect reads" "${S[@]}" inspect samples.csv
expect_error "inspect: JSON" "metrics.json: a JSON file, not a file inspect reads" "${S[@]}" inspect metrics.json
expect_error "inspect: empty .pt" "empty.pt: an empty file \(0 bytes" "${S[@]}" inspect empty.pt
expect_error "inspect --verify: empty .pt" "empty.pt: an empty file \(0 bytes" "${S[@]}" inspect --verify empty.pt
echo "PASS"
