#!/usr/bin/env bash
# README's main command (after set-up): scripts/run_example.sh runs the whole pipeline on two_moons with
# 2 ranks — simulate, train a CP-VAE, sample, evaluate, plot. The C2ST against the exact reference
# posterior must be below 0.80: a correct CP-VAE reaches about 0.6 here, while samples that ignore the
# observation (the prior) score about 1.0 and a decoder that returns its mean instead of a draw collapses
# onto a curve and scores far above 0.8. The same metric on prior draws must be near 1 (the bound can fail).
source "$(dirname "$0")/lib.sh"
SIMBI_OUT_DIR="$WORK/out" SIMBI_BUILD_DIR="$SIMBI_BUILD" bash "$SIMBI_SOURCE/scripts/run_example.sh" 2 >run.txt 2>&1 ||
  { cat run.txt; fail "run_example.sh failed"; }
grep -vE '^\[simbi\] (epoch|c2st fold)' run.txt
grep -q "on 2 rank(s)" run.txt || fail "not a 2-rank run"
grep -q "completed     10000 / 10000 (100.0%)" run.txt || fail "inspect does not show a complete store"
[ -s "$WORK/out/corner.png" ] || fail "no corner plot"
# `simbi run` ends with its report: stage times, outputs, the C2ST and the plots it made.
[ -s "$WORK/out/run_report.md" ] || fail "no run_report.md"
grep -q "^# simbi run report" run.txt || fail "the run report is not printed"
grep -qE "^\| evaluate \| [0-9.]+ \|" "$WORK/out/run_report.md" || fail "run_report.md has no evaluate time"
grep -qE "^- metrics: .*C2ST 0\.[0-9]{4}" "$WORK/out/run_report.md" || fail "run_report.md has no C2ST"
grep -q "^- loss curves: .*loss.png" "$WORK/out/run_report.md" || fail "run_report.md lists no loss curves"
[ "$(wc -l <"$WORK/out/samples.csv")" -eq 10001 ] || fail "samples.csv does not hold 10000 samples"
c2st=$("$PY" -c "import json; print(json.load(open('$WORK/out/metrics.json'))['c2st'])")
echo "C2ST of the README example: $c2st"
"$PY" -c "import sys; sys.exit(0 if $c2st <= 0.80 else 1)" || fail "C2ST $c2st > 0.80"

# Control: prior draws evaluated the same way must be told apart from the posterior.
"$PY" -c "
import numpy as np
r = np.random.default_rng(0).uniform(-1, 1, size=(10000, 2))
np.savetxt('prior.csv', r, delimiter=',', header='parameter_1,parameter_2', comments='')"
"${MPI2[@]}" "$SIMBI" evaluate --samples prior.csv --reference "$SIMBI_SOURCE/examples/data/two_moons/obs1/reference_posterior_samples.csv" \
  --out prior_metrics.json >prior.txt 2>&1 || { cat prior.txt; fail "evaluate failed"; }
c2st_prior=$("$PY" -c "import json; print(json.load(open('prior_metrics.json'))['c2st'])")
echo "C2ST of prior draws: $c2st_prior"
"$PY" -c "import sys; sys.exit(0 if $c2st_prior >= 0.95 else 1)" || fail "prior draws scored only $c2st_prior"
echo "ok: README example (C2ST $c2st, prior control $c2st_prior)"
