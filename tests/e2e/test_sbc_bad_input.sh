#!/usr/bin/env bash
# `simbi sbc` plumbing on a small model (quick; the calibration itself is tested by test_sbc_calibration.sh):
# the result does not depend on the rank count (same ranks on 1 and 2 ranks), the JSON holds what
# docs/sbc.md lists, plot_sbc.py draws it, failed simulations of a user simulator are skipped and counted,
# and bad input (M < 2, L < 2, an ACE model without a direct sampler, a missing model, a bad --bins, a
# user simulator's model without its simulator) is one "error:" line and a non-zero exit on every rank,
# no hang.
source "$(dirname "$0")/lib.sh"
mpirun2 "$SIMBI" -q simulate --task two_moons --budget 500 --seed 3 --out sims.h5 >/dev/null
mpirun2 "$SIMBI" -q train --data sims.h5 --method cpvae --out vae.pt --max-epochs 1 --checkpoint-every-epochs 0 >/dev/null

# Rank-count invariance: test j's theta*, x* and draws come from streams keyed by (seed, j) only.
"$MPIEXEC" -n 1 "$SIMBI" sbc --model vae.pt --num-tests 40 --num-posterior-samples 50 --seed 4 --out sbc1.json >sbc1.txt
mpirun2 "$SIMBI" sbc --model vae.pt --num-tests 40 --num-posterior-samples 50 --seed 4 --out sbc2.json >sbc2.txt
cat sbc2.txt
grep -q "^SBC of vae.pt (cpvae on two_moons): 40 test pairs" sbc2.txt || fail "no summary paragraph on stdout"
[ "$(grep -c 'SBC of' sbc2.txt)" -eq 1 ] || fail "the summary is printed more than once (rank 0 only)"
"$PY" - <<'PYEOF'
import json
a, b = json.load(open("sbc1.json")), json.load(open("sbc2.json"))
assert a["mpi_ranks"] == 1 and b["mpi_ranks"] == 2, (a["mpi_ranks"], b["mpi_ranks"])
for k in ("dimensions", "joint", "uniformity_test", "coverage"):
    assert k in b, k
assert b["num_tests"] == 40 and b["num_posterior_samples"] == 50 and b["seed"] == 4
assert len(b["dimensions"]) == 2 and [d["name"] for d in b["dimensions"]] == ["parameter_1", "parameter_2"]
for x, y in zip(a["dimensions"] + [a["joint"]], b["dimensions"] + [b["joint"]]):
    assert x["ranks"] == y["ranks"], f"{x['name']}: ranks differ between 1 and 2 ranks"
    assert len(y["ranks"]) == b["num_valid_tests"] and all(0 <= r <= 50 for r in y["ranks"])
    assert sum(y["histogram"]["counts"]) == b["num_valid_tests"]
    assert len(y["coverage"]) == len(b["coverage"]["levels"]) == 19
    assert 0.0 <= y["p_value"] <= 1.0
u = b["uniformity_test"]
# M = 40, L = 50 (51 rank values): 8 bins would put 6 values in the smallest, 40·6/51 < 5 expected; 7 hold >= 7
assert u["name"] == "chi-square" and u["bins"] == 7 and u["tests"] == 3, u
assert abs(u["adjusted_p_value"] - min(1.0, 3 * u["min_p_value"])) < 1e-12, u
for k in ("total", "simulate", "sample_and_rank", "statistics"):
    assert b["seconds"][k] >= 0
print("ok: same ranks on 1 and 2 ranks; JSON fields")
PYEOF

"$PY" "$SIMBI_SOURCE/scripts/plot_sbc.py" --sbc sbc2.json --out sbc.png || fail "plot_sbc.py failed"
[ "$(stat -c %s sbc.png)" -gt 10000 ] || fail "sbc.png missing or suspiciously small"
[ "$(head -c 8 sbc.png | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ] || fail "sbc.png is not a PNG"
echo '{"c2st": 0.5}' >other.json
expect_error "plot_sbc.py on a JSON that is not sbc's" "not the output of .simbi sbc --out." \
  "$PY" "$SIMBI_SOURCE/scripts/plot_sbc.py" --sbc other.json --out bad.png

expect_error "M < 2" "--num-tests must be at least 2, got 1" \
  "${MPI2[@]}" "$SIMBI" sbc --model vae.pt --num-tests 1 --num-posterior-samples 50
expect_error "L < 2" "--num-posterior-samples must be at least 2, got 1" \
  "${MPI2[@]}" "$SIMBI" sbc --model vae.pt --num-tests 50 --num-posterior-samples 1
expect_error "L = 0" "--num-posterior-samples must be at least 2, got 0" \
  "${MPI2[@]}" "$SIMBI" sbc --model vae.pt --num-tests 50 --num-posterior-samples 0
expect_error "--bins beyond the rank values" "--bins must be 0 \(automatic\) or 2..11" \
  "${MPI2[@]}" "$SIMBI" sbc --model vae.pt --num-tests 50 --num-posterior-samples 10 --bins 12
expect_error "a missing model" "no_such.pt" \
  "${MPI2[@]}" "$SIMBI" sbc --model no_such.pt --num-tests 50 --num-posterior-samples 10
mpirun2 "$SIMBI" -q train --data sims.h5 --method ace --out ace.pt --max-epochs 1 --checkpoint-every-epochs 0 >/dev/null
expect_error "an ACE model" "--model ace.pt \\(method ace\\) is not calibrated by sbc: it needs a CP-VAE, UP-VAE or E&E model" \
  "${MPI2[@]}" "$SIMBI" sbc --model ace.pt --num-tests 50 --num-posterior-samples 10
expect_error "both a model and an ABC store" "give exactly one of --model .a trained model. and --abc-data" \
  "${MPI2[@]}" "$SIMBI" sbc --model vae.pt --abc-data sims.h5 --num-tests 50 --num-posterior-samples 10
expect_error "neither a model nor an ABC store" "give exactly one of --model .a trained model. and --abc-data" \
  "${MPI2[@]}" "$SIMBI" sbc --num-tests 50 --num-posterior-samples 10
expect_error "ABC asked for more draws than the store has rows" \
  "--abc-data sims.h5: 500 usable simulations, fewer than the 600 nearest ones --num-posterior-samples asks ABC to accept" \
  "${MPI2[@]}" "$SIMBI" sbc --abc-data sims.h5 --num-tests 50 --num-posterior-samples 600
expect_error "ABC with an unknown distance" "unknown distance 'l7'" \
  "${MPI2[@]}" "$SIMBI" sbc --abc-data sims.h5 --distance l7 --num-tests 50 --num-posterior-samples 10

# A user simulator (command) that fails for theta > 0.8: those tests are skipped and counted; a model of a
# user simulator needs its simulator named again.
cat >toy.toml <<'TOML'
name = "toy_nan"
theta_dim = 1
x_dim = 2
[prior]
type = "uniform"
low = [0.0]
high = [1.0]
TOML
CMD="awk '{ if (\$2 > 0.8) print \"nan nan\"; else print \$2, \$2 * \$2 }'"
mpirun2 "$SIMBI" -q simulate --simulator-cmd "$CMD" --simulator-config toy.toml --budget 300 --out toy.h5 >/dev/null
mpirun2 "$SIMBI" -q train --data toy.h5 --method cpvae --out toy.pt --max-epochs 1 --checkpoint-every-epochs 0 >/dev/null
expect_error "a user simulator's model without its simulator" "--model toy.pt comes from 'toy_nan', not a built-in task: give its simulator" \
  "${MPI2[@]}" "$SIMBI" sbc --model toy.pt --num-tests 50 --num-posterior-samples 10
mpirun2 "$SIMBI" sbc --model toy.pt --simulator-cmd "$CMD" --simulator-config toy.toml --num-tests 100 \
  --num-posterior-samples 20 --out toy.json >toy.txt
"$PY" - <<'PYEOF'
import json
d = json.load(open("toy.json"))
failed, valid = d["failed_simulations"], d["num_valid_tests"]
# theta* ~ U(0, 1): about 20 of 100 fail (binomial sd 4)
assert failed + valid == 100 and 5 <= failed <= 40, (failed, valid)
assert len(d["joint"]["ranks"]) == valid and d["task"] == "toy_nan"
print(f"ok: {failed} failed simulations skipped and counted, {valid} tests used")
PYEOF
grep -q "test pairs from the prior predictive ([0-9]* failed simulations skipped)" toy.txt || fail "summary without the failed count"
echo "ok: sbc plumbing and bad input"
