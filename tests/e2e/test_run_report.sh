#!/usr/bin/env bash
# `simbi run` ends with run_report.md (stages and their times, what each wrote, metrics, plots) and prints
# it: a CP-VAE run gets loss curves and a corner plot, an ACE run (MCMC) a trace plot as well; plots that
# cannot be made (no python with matplotlib, a failing plot script) are warnings in the report and on
# stderr, never a failed run. Small runs: 1000 simulations, 3 epochs.
source "$(dirname "$0")/lib.sh"
DATA="$SIMBI_SOURCE/examples/data/two_moons/obs1"
cat >vae.toml <<'TOML'
task = "two_moons"
method = "cpvae"
seed = 1
[simulate]
budget = 1000
[train]
max-epochs = 3
batch-size = 128
[sample]
num-samples = 500
TOML
mpirun2 "$SIMBI" -q run --config vae.toml --workdir vae --observation "$DATA/observation.csv" \
  --reference "$DATA/reference_posterior_samples.csv" >vae.txt 2>vae.err || { cat vae.txt vae.err; fail "run failed"; }
[ -s vae/run_report.md ] || fail "no vae/run_report.md"
grep -q "^# simbi run report" vae.txt || fail "the report is not printed"
[ "$(grep -c '^# simbi run report' vae.txt)" -eq 1 ] || fail "the report is printed more than once"
cat vae/run_report.md
for stage in simulate train sample evaluate plots total; do
  grep -qE "^\| (\*\*)?$stage(\*\*)? \| [0-9]+\.[0-9]+ \|" vae/run_report.md || fail "no time for stage $stage"
done
grep -q "^- store: vae/sims.h5 — two_moons, 1000 of 1000 rows simulated" vae/run_report.md || fail "store line"
grep -q "^- model: vae/model.pt — cpvae on two_moons, 3 epochs" vae/run_report.md || fail "model line"
grep -q "^- samples: vae/samples.csv — 500 draws" vae/run_report.md || fail "samples line"
grep -qE "^- metrics: vae/metrics.json — C2ST 0\.[0-9]{4}, MMD" vae/run_report.md || fail "metrics line"
grep -q "^- loss curves: vae/loss.png" vae/run_report.md || fail "no loss curves listed"
grep -q "^- corner plot: vae/corner.png" vae/run_report.md || fail "no corner plot listed"
for png in vae/loss.png vae/corner.png; do
  [ "$(head -c 8 "$png" | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ] || fail "$png is not a PNG"
done
grep -q "warning" vae/run_report.md && fail "unexpected warning in the report"
echo "ok: CP-VAE run report with loss curves and corner plot"

# MCMC (ACE, one beta): traces too. `simbi sample` writes draws of 8 chains draw-major; the trace plot
# is told the chain count from the config.
cat >ace.toml <<'TOML'
task = "two_moons"
method = "ace"
seed = 1
[simulate]
budget = 1000
[train]
max-epochs = 3
[sample]
beta = [10]
num-samples = 400
chains = 8
warmup = 20
thin = 1
TOML
mpirun2 "$SIMBI" -q run --config ace.toml --workdir ace --observation "$DATA/observation.csv" >ace.txt 2>&1 ||
  { cat ace.txt; fail "ACE run failed"; }
grep -q "^- trace plot: ace/trace.png" ace/run_report.md || { cat ace/run_report.md; fail "no trace plot listed"; }
[ "$(head -c 8 ace/trace.png | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ] || fail "trace.png is not a PNG"
echo "ok: ACE run report with trace plot"

# No usable python: the run succeeds, the report says why there are no plots.
SIMBI_PYTHON=/nonexistent/python3 mpirun2 "$SIMBI" -q run --config vae.toml --workdir nopy \
  --observation "$DATA/observation.csv" >nopy.txt 2>nopy.err || { cat nopy.txt nopy.err; fail "run without python failed"; }
grep -q "^- warning: plots skipped: /nonexistent/python3 with numpy and matplotlib is not available" nopy/run_report.md ||
  { cat nopy/run_report.md; fail "no warning about the missing python"; }
grep -q "warning: plots skipped" nopy.err || fail "the warning is not on stderr"
# A plot script that fails: a warning naming the plot and the script's own error line.
mkdir broken
printf 'import sys\nprint("error: boom", file=sys.stderr)\nsys.exit(1)\n' >broken/plot_posterior.py
cp broken/plot_posterior.py broken/plot_loss.py
SIMBI_SCRIPTS_DIR="$WORK/broken" mpirun2 "$SIMBI" -q run --config vae.toml --workdir broken_run \
  --observation "$DATA/observation.csv" >broken.txt 2>&1 || { cat broken.txt; fail "run with a failing plot script failed"; }
grep -q "^- warning: corner plot failed (exit status 1: boom; see broken_run/plots.log)" broken_run/run_report.md ||
  { cat broken_run/run_report.md; fail "no warning about the failing corner plot"; }
grep -q "^- warning: loss curves failed" broken_run/run_report.md || fail "no warning about the failing loss curves"
echo "ok: run report"
