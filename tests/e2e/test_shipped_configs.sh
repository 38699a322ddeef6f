#!/usr/bin/env bash
# Every shipped config parses cleanly: for configs/**/*.toml (command configs), `simbi train --config F
# --help` (and `simbi sample` for files with a [sample] section) — the config check covers the whole file
# (every section's keys and values, whichever command reads it), CLI11 then parses F's options for that
# command, and --help stops before any work. A config with a mistake fails the same dry parse (the check is not vacuous).
# examples/**/*.toml are user-simulator configs (docs/user_simulators.md): each is imported with data of
# its dims, which parses it. jobs/ has no configs.
source "$(dirname "$0")/lib.sh"
cd "$SIMBI_SOURCE"

dry_parse() {  # dry_parse COMMAND FILE
  "$SIMBI" "$1" --config "$2" --help >"$WORK/help.txt" 2>"$WORK/err.txt" ||
    { cat "$WORK/err.txt" >&2; fail "$2 does not parse for simbi $1"; }
  ! grep -q '^error: ' "$WORK/err.txt" || { cat "$WORK/err.txt" >&2; fail "$2: an error for simbi $1"; }
}

n=0
while IFS= read -r f; do
  # Any command checks the whole file; train and sample also parse the options it gives them.
  dry_parse train "$f"
  if grep -q '^\[sample\]' "$f"; then dry_parse sample "$f"; fi
  n=$((n + 1))
done < <(find configs -name '*.toml' | sort)
[ "$n" -ge 50 ] || fail "only $n configs found under configs/"
echo "ok: $n configs under configs/ parse (every section checked; train and sample options parsed)"

printf 'method = "cpvae"\n[train]\nmax-epochs = -1\n' >"$WORK/bad.toml"
if "$SIMBI" train --config "$WORK/bad.toml" --help >/dev/null 2>"$WORK/err.txt"; then
  fail "the dry parse accepted a config with max-epochs = -1"
fi
grep -q '^error: config .*bad.toml: max-epochs: expected an integer' "$WORK/err.txt" ||
  { cat "$WORK/err.txt" >&2; fail "the dry parse of a bad config did not name the mistake"; }
echo "ok: the same dry parse refuses a bad config"

m=0
while IFS= read -r f; do
  read -r theta_dim x_dim < <("$PY" -c "import sys, tomllib; c = tomllib.load(open(sys.argv[1], 'rb')); print(c['theta_dim'], c['x_dim'])" "$f")
  "$PY" -c "
import numpy as np, sys
t, x = int(sys.argv[1]), int(sys.argv[2])
np.savetxt('$WORK/theta.csv', np.full((3, t), 0.5), delimiter=',', header=','.join(f'p{i}' for i in range(t)), comments='')
np.savetxt('$WORK/x.csv', np.zeros((3, x)), delimiter=',', header=','.join(f'x{i}' for i in range(x)), comments='')
" "$theta_dim" "$x_dim"
  "$SIMBI" -q import --theta "$WORK/theta.csv" --x "$WORK/x.csv" --simulator-config "$f" --out "$WORK/imp.h5" --force \
    >/dev/null 2>"$WORK/err.txt" || { cat "$WORK/err.txt" >&2; fail "$f does not parse as a user-simulator config"; }
  m=$((m + 1))
done < <(find examples -name '*.toml' | sort)
[ "$m" -ge 2 ] || fail "only $m configs found under examples/"
echo "ok: $m user-simulator configs under examples/ parse"
[ ! -d jobs ] || [ -z "$(find jobs -name '*.toml')" ] || fail "jobs/ has configs this test does not check"
echo "all shipped configs parse"
