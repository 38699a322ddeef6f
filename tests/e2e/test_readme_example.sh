#!/usr/bin/env bash
# README's main command (after set-up) works: scripts/run_example.sh simulates with 2 ranks and the
# inspect summary reports a complete store.
source "$(dirname "$0")/lib.sh"
SIMBI_OUT_DIR="$WORK/out" SIMBI_BUILD_DIR="$SIMBI_BUILD" bash "$SIMBI_SOURCE/scripts/run_example.sh" 2 5000 >run.txt 2>&1 ||
  { cat run.txt; fail "run_example.sh failed"; }
cat run.txt
grep -q "on 2 rank(s)" run.txt || fail "not a 2-rank run"
grep -q "completed     5000 / 5000 (100.0%)" run.txt || fail "inspect does not show a complete store"
echo "ok: README example"
