#!/usr/bin/env bash
# `simbi sbc` beyond direct samplers (docs/sbc.md): an E&E model (exact rejection per test, on each rank's
# own tests) and the rejection-ABC baseline on a store (the L nearest stored simulations). For both: the
# same ranks and posterior means on 1 and 2 ranks; the reported posterior-mean errors and 90% coverage
# agree with the per-test values the JSON lists; and both posteriors carry information about theta* (the
# posterior means' RMSE well below the prior's sd — a sampler that ignored x* would not get there).
source "$(dirname "$0")/lib.sh"
mpirun2 "$SIMBI" -q simulate --task gaussian_mixture --budget 3000 --seed 5 --out sims.h5 >/dev/null
mpirun2 "$SIMBI" -q train --data sims.h5 --method ene --tau 0.1 --batch-size 128 --lr 1e-3 --max-epochs 25 \
  --checkpoint-every-epochs 0 --out ene.pt >/dev/null

for what in ene abc; do
  if [ "$what" = ene ]; then src=(--model ene.pt); else src=(--abc-data sims.h5); fi
  "$MPIEXEC" -n 1 "$SIMBI" sbc "${src[@]}" --num-tests 40 --num-posterior-samples 100 --seed 2 --out "${what}1.json" \
    >"${what}1.txt"
  mpirun2 "$SIMBI" sbc "${src[@]}" --num-tests 40 --num-posterior-samples 100 --seed 2 --out "${what}2.json" >"${what}2.txt"
  cat "${what}2.txt"
  grep -q "Posterior mean vs theta\* (MAPE / median APE / RMSE) and 90% central-interval coverage: parameter_1" \
    "${what}2.txt" || fail "$what: no posterior-mean line in the summary"
  "$PY" - "$what" <<'PYEOF'
import json, math, sys
what = sys.argv[1]
a, b = json.load(open(what + "1.json")), json.load(open(what + "2.json"))
assert b["method"] == what and b["mpi_ranks"] == 2, (b["method"], b["mpi_ranks"])
if what == "abc":
    assert b["abc"]["distance"] == "zmae" and b["abc"]["stored_simulations"] == 3000 and b["model"] is None, b["abc"]
for x, y in zip(a["dimensions"] + [a["joint"]], b["dimensions"] + [b["joint"]]):
    assert x["ranks"] == y["ranks"], f"{what} {x['name']}: ranks differ between 1 and 2 ranks"
assert a["tests"] == b["tests"], f"{what}: theta* or posterior means differ between 1 and 2 ranks"
ts, ms = b["tests"]["theta_star"], b["tests"]["posterior_mean"]
M, L = b["num_valid_tests"], b["num_posterior_samples"]
assert len(ts) == len(ms) == M == 40
prior_sd = 20 / math.sqrt(12)  # gaussian_mixture: theta ~ U(-10, 10)^2
for k, dim in enumerate(b["dimensions"]):
    e = dim["posterior_mean_errors"]
    err = [m[k] - t[k] for t, m in zip(ts, ms)]
    rmse = math.sqrt(sum(v * v for v in err) / M)
    assert abs(e["rmse"] - rmse) < 1e-9 and abs(e["mae"] - sum(map(abs, err)) / M) < 1e-9, (e, rmse)
    ape = [abs(v) / abs(t[k]) for v, t in zip(err, ts) if t[k] != 0]
    assert abs(e["mape"] - sum(ape) / len(ape)) < 1e-9 and e["ape_tests"] == len(ape)
    # 90% central coverage from the ranks: each rank cell [r, r + 1)/(L + 1) counts with its share in [0.05, 0.95]
    cov = sum(max(0.0, min((r + 1) / (L + 1), 0.95) - max(r / (L + 1), 0.05)) * (L + 1) for r in dim["ranks"]) / M
    assert abs(dim["coverage_90"] - cov) < 1e-9, (dim["coverage_90"], cov)
    # information about theta*: with 40 tests, the RMSE of an uninformed (prior-mean) guess is the prior sd ± 11%
    assert rmse < 0.5 * prior_sd, f"{what} {dim['name']}: posterior-mean RMSE {rmse:.3f} vs prior sd {prior_sd:.3f}"
    print(f"ok: {what} {dim['name']}: RMSE {rmse:.3f} (prior sd {prior_sd:.3f}), 90% coverage {cov:.2f}")
print(f"ok: {what}: same ranks and means on 1 and 2 ranks; errors and coverage consistent with the per-test values")
PYEOF
done
echo "ok: sbc of E&E and of rejection ABC"
