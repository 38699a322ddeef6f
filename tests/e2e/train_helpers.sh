# Helpers for the training checkpoint tests (sourced after lib.sh): a small two_moons store and a
# small, fast CP-VAE training command, started in the background in its own process group.
make_store() {  # make_store FILE [SEED]
  "$MPIEXEC" -n 1 "$SIMBI" -q simulate --task two_moons --budget 5000 --seed "${2:-1}" --out "$1"
}
# Small networks and batches: about 0.1-0.3 s per epoch on one core.
TRAIN=(train --data sims.h5 --method cpvae --seed 2 --latent-dim 2 --encoder-hidden 16,16 --prior-hidden 16,16
       --decoder-hidden 16,16 --batch-size 64 --lr 2e-3 --patience 1000 --threads 1)

# start_training LOG ARGS...: `mpiexec -n 2 simbi ARGS` in the background as a new process group;
# sets TRAIN_PID (mpiexec's pid = the group id).
start_training() {
  local log=$1
  shift
  setsid "$MPIEXEC" --oversubscribe -n 2 "$SIMBI" "$@" >"$log" 2>&1 &
  TRAIN_PID=$!
}

# wait_for_file FILE [SECONDS]: until FILE exists (fails after the timeout, default 60 s).
wait_for_file() {
  local i
  for i in $(seq 1 $((${2:-60} * 20))); do
    [ -e "$1" ] && return 0
    sleep 0.05
  done
  fail "$1 did not appear"
}

# The ranks: simbi processes that are children of mpiexec (Open MPI starts them directly on one node).
rank_pids() { pgrep -P "$TRAIN_PID" -x simbi || true; }

json_field() {  # json_field FILE EXPR: a Python expression on j = `simbi inspect --json FILE`
  "$SIMBI" inspect --json "$1" | "$PY" -c "import json,sys; j=json.load(sys.stdin); print($2)"
}
