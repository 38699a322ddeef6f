#!/usr/bin/env bash
# A sequential run on a real one-node Slurm, two ways: jobs/pipeline.sh --rounds 2 (one dependent job
# per stage of each round: r1-simulate, r1-train, r2-propose, r2-simulate, r2-train, then sample and
# evaluate), and jobs/run.sbatch running both rounds in one allocation. Both complete, each job starting
# only after the one before it ended, and both write the same store (every dataset and attribute but
# the creation time), samples and metrics.
source "$(dirname "$0")/lib.sh"
cat >tsnpe.toml <<'TOML'
task = "two_moons"
method = "npe"
seed = 4
[simulate]
budget = 500
[train]
batch-size = 100
max-epochs = 10
[sample]
num-samples = 1000
reject-outside-prior = true
[run]
sequential = "tsnpe"
TOML
OBS=$SIMBI_TEST_DATA/sbibm/two_moons/obs1/observation.csv
REF=$SIMBI_TEST_DATA/sbibm/two_moons/obs1/reference_posterior_samples.csv

t0=$SECONDS
WORKDIR=$WORK/chain CONFIG=tsnpe.toml OBSERVATION=$OBS REFERENCE=$REF SIM_TIME=00:05:00 TRAIN_TIME=00:05:00 \
  SAMPLE_TIME=00:05:00 bash "$SIMBI_SOURCE/jobs/pipeline.sh" --rounds 2 >submitted.txt || fail "jobs/pipeline.sh --rounds 2 failed"
cat submitted.txt
stages="r1-simulate r1-train r2-propose r2-simulate r2-train sample"
[ "$(awk '{print $1}' submitted.txt | xargs)" = "$stages" ] || fail "expected the jobs $stages, got: $(cat submitted.txt)"
id_of() { awk -v s="$1" '$1 == s {print $2}' submitted.txt; }

# The same run in one allocation, submitted at the same time (the one-node cluster runs them side by side).
mkdir -p single
single=$(sbatch --parsable --chdir="$WORK/single" --ntasks=2 --time=00:10:00 --output="$WORK/single/run-%j.log" \
  --export=ALL,CONFIG="$WORK/tsnpe.toml",OBSERVATION="$OBS",REFERENCE="$REF",ROUNDS=2 "$SIMBI_SOURCE/jobs/run.sbatch")
single=${single%%;*}

wait_job "$(id_of sample)" 400 >/dev/null
prev_end=""
for s in $stages; do
  id=$(id_of "$s")
  echo "== $s (job $id): $(job_field "$id" JobState), $(job_field "$id" StartTime) .. $(job_field "$id" EndTime)"
  expect_state "$id" COMPLETED "chain/logs/$s-$id.log"
  start=$(date -d "$(job_field "$id" StartTime)" +%s)
  [ -z "$prev_end" ] || [ "$start" -ge "$prev_end" ] || fail "$s started before the previous stage ended"
  prev_end=$(date -d "$(job_field "$id" EndTime)" +%s)
done
grep -q "stopping after stage round 2: propose (--until 2:propose)" "chain/logs/r2-propose-$(id_of r2-propose).log" ||
  fail "the r2-propose job did not stop after round 2's proposal"
echo "chained jobs finished in $((SECONDS - t0)) s"
[ "$(wait_job "$single" 300)" = COMPLETED ] || { cat single/run-*.log >&2; fail "the single-allocation job did not complete"; }
tail -n 3 single/run-*.log

[ "$(inspect_field chain/sims.h5 completed)" = 1000 ] || fail "the chained run's store is incomplete"
same_store chain/sims.h5 single/sims.h5
cmp chain/samples.csv single/samples.csv || fail "the chained and the single-allocation runs drew other samples"
"$PY" - chain/metrics.json single/metrics.json <<'PYEOF' || fail "metrics differ or are implausible"
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:])
print("c2st", a["c2st"], b["c2st"])
assert a["c2st"] == b["c2st"] and 0.5 <= a["c2st"] <= 1.0
PYEOF
grep -qx done chain/stages_done.txt && grep -qx done single/stages_done.txt || fail "a run did not record its end"
echo "ok: 2 rounds as 6 dependent jobs and as one job: the same store, samples and metrics"
