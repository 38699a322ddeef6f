#!/usr/bin/env bash
# Sequential rounds in `simbi run` (docs/methods.md §11): a 3-round TSNPE, SNLE and SNPE-C run under
# mpiexec -n 2, each repeated, give identical stores (every dataset and attribute but the
# creation time); round 1, drawn from the prior, is identical to a 1-rank run's; the store records every
# row's round and each round's proposal; later rounds' θ come from the proposal, not the prior.
source "$(dirname "$0")/lib.sh"
OBS=$SIMBI_TEST_DATA/sbibm/two_moons/obs1/observation.csv
cat >tsnpe.toml <<'TOML'
task = "two_moons"
method = "npe"
seed = 3
[simulate]
budget = 400
[train]
batch-size = 100
max-epochs = 20
patience = 10
[sample]
num-samples = 500
reject-outside-prior = true
[run]
sequential = "tsnpe"
rounds = 3
TOML
cat >snle.toml <<'TOML'
task = "two_moons"
method = "nle"
seed = 3
[simulate]
budget = 400
[train]
batch-size = 100
max-epochs = 15
patience = 10
[sample]
num-samples = 500
sampler = "slice"
chains = 10
warmup = 30
[run]
sequential = "snle"
rounds = 3
TOML

sed 's/^sequential = "tsnpe"/sequential = "snpe"/' tsnpe.toml >snpe.toml

for m in tsnpe snle snpe; do
  for w in ${m}_a ${m}_b; do
    mpirun2 "$SIMBI" run --config $m.toml --workdir $w --observation "$OBS" --no-plots >$w.log 2>&1 ||
      { tail -n 30 $w.log; fail "$m run $w failed"; }
  done
  same_store ${m}_a/sims.h5 ${m}_b/sims.h5
  cmp ${m}_a/samples.csv ${m}_b/samples.csv || fail "$m: the repeated run drew other samples"
  for r in 1 2 3; do grep -q "round $r: train" ${m}_a.log || fail "$m: no round $r training stage"; done
  [ -f ${m}_a/model_round1.pt ] && [ -f ${m}_a/model_round2.pt ] && [ -f ${m}_a/model.pt ] ||
    fail "$m: a round's model file is missing"
  echo "ok: $m, 3 rounds of 400 on 2 ranks, repeated: identical stores and samples"
done

# The store is the run's record: /round, the rounds and each round's proposal.
rows_text tsnpe_a/sims.h5 /round 398 4 | tr -d ' \n' | grep -q '1,1,2,2' || fail "/round does not mark rows 398..401 as rounds 1,1,2,2"
h5dump -a round_1_proposal tsnpe_a/sims.h5 | grep -q '"kind":"prior"' || fail "round 1's proposal is not the prior"
h5dump -a round_2_proposal tsnpe_a/sims.h5 | grep -q '"kind":"truncated_prior".*"model":"model_round1.pt"' ||
  fail "round 2's proposal is not the truncated prior of round 1's model"
h5dump -a round_3_proposal snle_a/sims.h5 | grep -q '"kind":"posterior".*"model":"model_round2.pt"' ||
  fail "snle round 3's proposal is not round 2's posterior"
# SNPE-C trains rounds 2 and 3 with the atomic loss, each warm-started from the round before.
"$SIMBI" inspect --json snpe_a/model.pt | "$PY" -c '
import json, sys
t = json.load(sys.stdin)["training"]
assert t.get("atoms") == 10 and t.get("warm_start", "").startswith("model_round2.pt"), t' ||
  fail "snpe's last round is not the atomic loss warm-started from round 2"
"$SIMBI" inspect --json snpe_a/model_round1.pt | "$PY" -c '
import json, sys
t = json.load(sys.stdin)["training"]
assert "atoms" not in t and "warm_start" not in t, t' || fail "snpe's round 1 is not the plain NPE loss from scratch"
[ "$(inspect_field tsnpe_a/sims.h5 completed)" = 1200 ] || fail "the store does not hold 3 x 400 rows"
# Later rounds are not prior draws: a plain 1200-row store of the same seed differs from row 400 on.
"$SIMBI" -q simulate --task two_moons --budget 1200 --seed 3 --out prior.h5
[ "$(rows_text prior.h5 /theta 0 400)" = "$(rows_text tsnpe_a/sims.h5 /theta 0 400)" ] ||
  fail "round 1's θ are not the prior draws of the seed"
[ "$(rows_text prior.h5 /theta 400 400)" != "$(rows_text tsnpe_a/sims.h5 /theta 400 400)" ] ||
  fail "round 2's θ are the prior's, not the proposal's"

# Round 1 is the same on one rank.
"$MPIEXEC" -n 1 "$SIMBI" run --config tsnpe.toml --workdir one --observation "$OBS" --no-plots >one.log 2>&1 ||
  { tail -n 30 one.log; fail "1-rank run failed"; }
for d in /theta /x /status; do
  [ "$(rows_text one/sims.h5 $d 0 400)" = "$(rows_text tsnpe_a/sims.h5 $d 0 400)" ] ||
    fail "round 1's $d differs between 1 and 2 ranks"
done
echo "ok: round 1 identical on 1 and 2 ranks; /round and the proposals recorded"

# The truncated proposal does not depend on the rank count: round 2's θ drawn again on 2 ranks, from the
# same round-1 model, after removing the 1-rank run's record of them, are the same.
before=$(rows_text one/sims.h5 /theta 400 400)
"$PY" -c "import h5py; f = h5py.File('one/sims.h5', 'r+'); del f.attrs['round_2_proposal']; f.close()"
mpirun2 "$SIMBI" run --config tsnpe.toml --workdir one --observation "$OBS" --until 2:propose >again.log 2>&1 ||
  { tail -n 30 again.log; fail "drawing round 2's proposal again on 2 ranks failed"; }
grep -q "round 2: proposal {" again.log || fail "round 2's proposal was not drawn again"
[ "$(rows_text one/sims.h5 /theta 400 400)" = "$before" ] || fail "round 2's proposal differs between 1 and 2 ranks"
echo "ok: round 2's truncated proposal is the same drawn on 1 or 2 ranks"
