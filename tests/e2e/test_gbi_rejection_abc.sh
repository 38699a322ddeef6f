#!/usr/bin/env bash
# The exact GBI posterior by rejection (`simbi gbi-reference --method rejection|auto`) and rejection ABC
# (`simbi abc`) on gbi_uniform_1d under `mpiexec -n 2`: both give byte-identical files on 1 and 2 ranks;
# the rejection draws match the exact posterior computed by quadrature (Kolmogorov–Smirnov, p > 1e-3);
# auto picks rejection when the draw cap suffices and falls back to MCMC when it does not; ABC's accepted
# counts match the expected acceptance Σ exp(−β·d(x_i, x_o)) of the stored simulations, and its files are
# named as `simbi sample` names them.
source "$(dirname "$0")/lib.sh"
MPI1=("$MPIEXEC" -n 1)
mpirun2 "$SIMBI" -q simulate --task gbi_uniform_1d --budget 3000 --seed 1 --out sims.h5 >/dev/null
mpirun2 "$SIMBI" -q observe --task gbi_uniform_1d --kind specified --count 2 --seed 7 --out obs.csv

# ---- exact GBI posterior by rejection ----
mpirun2 "$SIMBI" gbi-reference --task gbi_uniform_1d --observation obs.csv --beta 4,100 --num-samples 4000 \
  --method rejection --out r2.csv | tee ref2.log
"${MPI1[@]}" "$SIMBI" -q gbi-reference --task gbi_uniform_1d --observation obs.csv --beta 4,100 --num-samples 4000 \
  --method rejection --out r1.csv >/dev/null
for k in 1 2; do
  for b in 4 100; do
    cmp -s "r2_obs${k}_beta$b.csv" "r1_obs${k}_beta$b.csv" ||
      fail "rejection: observation $k, beta $b differs between 1 and 2 ranks"
  done
done
echo "ok: rejection samples identical on 1 and 2 ranks"
[ "$(grep -c 'draws by rejection in .* s (acceptance rate .*prior draws' ref2.log)" -eq 4 ] ||
  fail "gbi-reference does not report method, acceptance rate and draws on each line"
"$PY" - obs.csv r2_obs1_beta4.csv r2_obs1_beta100.csv r2_obs2_beta100.csv <<'PYEOF'
import csv, sys
import numpy as np
from scipy import stats
c = [0.1627, 0.9073, -1.2197, -1.4639, 1.4381]
read = lambda p: np.array([[float(v) for v in r] for r in list(csv.reader(open(p)))[1:]])
obs = read(sys.argv[1])[:, 0]
grid = np.linspace(-1.5, 1.5, 300001)
f = sum(ci * (0.8 * (grid + 0.25)) ** i for i, ci in enumerate(c))
for path, k, beta in ((sys.argv[2], 0, 4.0), (sys.argv[3], 0, 100.0), (sys.argv[4], 1, 100.0)):
    cost = (f - obs[k]) ** 2 + 0.25 ** 2 / 3.0
    dens = np.exp(-beta * (cost - cost.min()))
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (dens[1:] + dens[:-1]) * np.diff(grid))])
    cdf /= cdf[-1]
    s = read(path)[:, 0]
    p = stats.kstest(s, lambda t: np.interp(t, grid, cdf)).pvalue
    print(f"{path}: {len(s)} draws, KS p = {p:.3g} against the quadrature of the exact GBI posterior")
    assert len(s) == 4000 and p > 1e-3, f"{path} does not match the exact GBI posterior"
PYEOF

# ---- auto: rejection when --max-draws suffices, MCMC otherwise ----
mpirun2 "$SIMBI" gbi-reference --task gbi_uniform_1d --observation obs.csv --beta 100 --num-samples 1000 \
  --out auto.csv | tee auto.log
[ "$(grep -c 'by rejection .*auto: estimated acceptance rate .* within half of --max-draws' auto.log)" -eq 2 ] ||
  fail "auto did not choose rejection with the default cap"
mpirun2 "$SIMBI" gbi-reference --task gbi_uniform_1d --observation obs.csv --beta 100 --num-samples 1000 \
  --max-draws 2000 --chains 10 --warmup 50 --thin 2 --out auto_mcmc.csv 2>&1 | tee auto_mcmc.log
[ "$(grep -c 'by mcmc .*auto: .*more than half of --max-draws 2000' auto_mcmc.log)" -eq 2 ] ||
  fail "auto did not fall back to MCMC with a small cap"
[ "$(wc -l <auto_mcmc_obs1_beta100.csv)" -eq 1001 ] || fail "auto (mcmc) did not write 1000 draws"

# ---- rejection ABC on the stored simulations ----
mpirun2 "$SIMBI" abc --data sims.h5 --observation obs.csv --beta 4,100 --out abc2.csv | tee abc.log
"${MPI1[@]}" "$SIMBI" -q abc --data sims.h5 --observation obs.csv --beta 4,100 --out abc1.csv >/dev/null
for k in 1 2; do
  for b in 4 100; do
    [ -f "abc2_obs${k}_beta$b.csv" ] || fail "abc: abc2_obs${k}_beta$b.csv not written (naming as simbi sample)"
    cmp -s "abc2_obs${k}_beta$b.csv" "abc1_obs${k}_beta$b.csv" || fail "abc: observation $k, beta $b differs between 1 and 2 ranks"
  done
done
echo "ok: ABC samples identical on 1 and 2 ranks"
[ "$(grep -c '^ABC for observation .* accepted [0-9]* of 3000 simulations (acceptance rate' abc.log)" -eq 4 ] ||
  fail "abc does not print one line per observation and beta"
"$PY" - sims.h5 obs.csv abc.log <<'PYEOF'
import csv, re, sys
import h5py
import numpy as np
with h5py.File(sys.argv[1], "r") as f:
    theta, x = f["theta"][:, 0].astype(np.float64), f["x"][:, 0].astype(np.float64)
obs = np.array([[float(v) for v in r] for r in list(csv.reader(open(sys.argv[2])))[1:]])[:, 0]
for line in open(sys.argv[3]):
    m = re.match(r"ABC for observation (\d+) at beta (\S+): accepted (\d+) of", line)
    if not m:
        continue
    k, beta, accepted = int(m[1]), float(m[2]), int(m[3])
    p = np.exp(-beta * (x - obs[k - 1]) ** 2)  # mse of 1-D x
    mean, sd = p.sum(), np.sqrt((p * (1 - p)).sum())
    print(f"observation {k}, beta {beta:g}: accepted {accepted}, expected {mean:.1f} ± {sd:.1f}")
    assert abs(accepted - mean) < 4.5 * sd + 1, "ABC's acceptance does not match exp(-beta d)"
    s = np.array([float(r[0]) for r in list(csv.reader(open(f"abc2_obs{k}_beta{beta:g}.csv")))[1:]])
    assert len(s) == accepted and np.isin(s.astype(np.float32), theta.astype(np.float32)).all(), \
        "ABC wrote draws that are not stored parameters"
PYEOF
head -2 obs.csv >obs1.csv
mpirun2 "$SIMBI" -q abc --data sims.h5 --observation obs1.csv --beta 10 --out single.csv >/dev/null
[ -f single.csv ] || fail "abc with one observation and one beta did not write --out itself"
mpirun2 "$SIMBI" -q ppc --task gbi_uniform_1d --samples abc2_obs1_beta4.csv --observation obs.csv --out ppc_abc.json \
  >/dev/null || fail "ppc of ABC samples failed"
echo "ok: exact GBI rejection sampler and rejection ABC"
