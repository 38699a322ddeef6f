#!/usr/bin/env bash
# Integer options under `mpiexec -n 2`: a value outside the option's range (huge, negative for an
# unsigned seed, 2^64) or not a decimal integer is refused with one "error:" line giving the allowed
# range, instead of being saturated or wrapped; the range's ends are accepted and "010" is ten, not
# octal eight. A --num-samples whose draws cannot fit in memory is refused before allocating. Other
# parse errors are one line naming the option.
source "$(dirname "$0")/lib.sh"
S=("$SIMBI")
DATA="$SIMBI_SOURCE/examples/data/two_moons/obs1"
SIM=("${MPI2[@]}" "${S[@]}" simulate --task two_moons --out a.h5)

expect_error "budget beyond 10^12" "--budget: expected an integer in \[0, 1000000000000\], got 99999999999999999999" \
  "${SIM[@]}" --budget 99999999999999999999
expect_error "seed -1" "--seed: expected an integer in \[0, 18446744073709551615\], got -1" \
  "${SIM[@]}" --budget 10 --seed -1
expect_error "seed 2^64" "--seed: expected an integer in \[0, 18446744073709551615\], got 18446744073709551616" \
  "${SIM[@]}" --budget 10 --seed 18446744073709551616
expect_error "seed in hex" "--seed: expected an integer in \[0, 18446744073709551615\], got 0x10" \
  "${SIM[@]}" --budget 10 --seed 0x10
expect_error "budget not an integer" "--budget: expected an integer in \[0, 1000000000000\], got 1e3" "${SIM[@]}" --budget 1e3
[ ! -e a.h5 ] || fail "a refused simulate wrote a store"

# The ends of a range are accepted, and a leading zero does not mean octal.
"${MPI2[@]}" "${S[@]}" -q simulate --task two_moons --budget 20 --seed 18446744073709551615 --out max.h5 >/dev/null
[ "$(inspect_field max.h5 seed)" = 18446744073709551615 ] || fail "seed 2^64 - 1 was not kept as it is"
"${MPI2[@]}" "${S[@]}" -q simulate --task two_moons --budget 20 --seed 010 --out ten.h5 >/dev/null
[ "$(inspect_field ten.h5 seed)" = 10 ] || fail "--seed 010 was not read as ten"
echo "ok: seed 18446744073709551615 and seed 010 (= 10) accepted"

"${MPI2[@]}" "${S[@]}" -q simulate --task gaussian_linear --budget 300 --out gl.h5 >/dev/null
TRAIN=("${MPI2[@]}" "${S[@]}" train --data gl.h5 --method cpvae --out m.pt --checkpoint-every-epochs 0)
expect_error "negative max-epochs" "--max-epochs: expected an integer in \[0, 1000000000\], got -3" "${TRAIN[@]}" --max-epochs -3
expect_error "max-epochs not an integer" "--max-epochs: expected an integer in \[0, 1000000000\], got 1.5" \
  "${TRAIN[@]}" --max-epochs 1.5
expect_error "threads" "--threads: expected an integer in \[0, 1024\], got 99999" "${TRAIN[@]}" --threads 99999
expect_error "FMPE field width" "--field-width: expected an integer in \[0, 1000000000\], got -8" \
  "${TRAIN[@]}" --field-width -8
[ ! -e m.pt ] || fail "a refused training wrote a model"
"${MPI2[@]}" "${S[@]}" -q train --data gl.h5 --method cpvae --out m.pt --checkpoint-every-epochs 0 --max-epochs 1 \
  >/dev/null

SAMPLE=("${MPI2[@]}" "${S[@]}" sample --model m.pt --out s.csv)
printf 'data_1,data_2,data_3,data_4,data_5,data_6,data_7,data_8,data_9,data_10\n0,0,0,0,0,0,0,0,0,0\n' >obs.csv
expect_error "huge num-samples" "--num-samples: expected an integer in \[0, 1000000000\], got 10000000000" \
  "${SAMPLE[@]}" --observation obs.csv --num-samples 10000000000
expect_error "chains beyond 10^9" "--chains: expected an integer in \[0, 1000000000\], got 5000000000" \
  "${SAMPLE[@]}" --observation obs.csv --chains 5000000000
# 10^9 draws of gaussian_linear's 10 parameters take 40 GB: refused before allocating where that is more
# than the available memory.
avail_kb=$(awk '/^MemAvailable:/ {print $2}' /proc/meminfo)
if [ "$avail_kb" -lt 39000000 ]; then
  expect_error "num-samples beyond memory" \
    "--num-samples 1000000000: 1 set\(s\) of draws of 10 parameters \(4 bytes each\) need 40.0 GB, but [0-9.]+ GB of memory is available" \
    "${SAMPLE[@]}" --observation obs.csv --num-samples 1000000000
else
  echo "SKIP: num-samples beyond memory ($avail_kb kB available is more than 10^9 draws of 10 parameters take)"
fi
[ ! -e s.csv ] || fail "a refused sample wrote samples"

# Other parse errors: one line naming the option.
expect_error "missing value" "--budget" "${SIM[@]}" --budget
expect_error "a number option given text" "--lr" "${TRAIN[@]}" --lr fast
expect_error "an unexpected argument" "not expected.*stray" "${SIM[@]}" --budget 10 stray
expect_error "a required option missing" "--out is required" "${MPI2[@]}" "${S[@]}" simulate --task two_moons --budget 10
expect_error "an unknown option" "\`simbi simulate\` has no option --bugdet; did you mean --budget\?" "${SIM[@]}" --bugdet 10
echo "all integer-option cases passed"
