# Shared helpers for the e2e tests (sourced). CTest sets SIMBI (the binary), SIMBI_SOURCE, SIMBI_BUILD,
# SIMBI_TEST_DATA and MPIEXEC; run by hand, they default to the usual build layout.
set -euo pipefail
SIMBI_SOURCE=${SIMBI_SOURCE:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
SIMBI_BUILD=${SIMBI_BUILD:-$SIMBI_SOURCE/build}
SIMBI=${SIMBI:-$SIMBI_BUILD/simbi}
SIMBI_TEST_DATA=${SIMBI_TEST_DATA:-$SIMBI_SOURCE/tests/data}
MPIEXEC=${MPIEXEC:-mpiexec}
source "$SIMBI_SOURCE/scripts/mpi_env.sh"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/simbi_e2e.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"

# The distribution's python3 (with numpy/h5py from scripts/setup.sh), not a user-installed one first on PATH.
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

fail() { echo "FAIL: $*" >&2; exit 1; }
MPI2=("$MPIEXEC" --oversubscribe -n 2)
mpirun2() { "${MPI2[@]}" "$@"; }

# expect_error "what" PATTERN cmd...: the command must exit non-zero within 60 s (no hang), print
# exactly one "error:" line on stderr, and that line must match PATTERN (grep -E).
expect_error() {
  local what=$1 pattern=$2
  shift 2
  local rc=0
  timeout 60 "$@" >"$WORK/out.txt" 2>"$WORK/err.txt" || rc=$?
  [ "$rc" -ne 0 ] || fail "$what: exit status 0, expected an error"
  [ "$rc" -ne 124 ] || fail "$what: hung (killed after 60 s)"
  local n
  n=$(grep -c '^error: ' "$WORK/err.txt" || true)
  [ "$n" -eq 1 ] || { cat "$WORK/err.txt" >&2; fail "$what: $n 'error:' lines, expected exactly 1"; }
  grep -E "^error: .*$pattern" "$WORK/err.txt" >/dev/null ||
    { cat "$WORK/err.txt" >&2; fail "$what: error line does not match /$pattern/"; }
  echo "ok: $what -> $(grep '^error: ' "$WORK/err.txt")"
}

# same_datasets a.h5 b.h5: /theta, /x and /status identical (h5diff reports no difference).
same_datasets() {
  for d in /theta /x /status; do
    h5diff -q "$1" "$2" "$d" "$d" || fail "$d differs between $1 and $2"
  done
}

# same_store a.h5 b.h5: every dataset and attribute identical (h5diff -c), but the creation time.
same_store() {
  local out
  out=$(h5diff -c "$1" "$2" 2>&1 || true)
  out=$(printf '%s\n' "$out" | grep -v -e '^attribute: <created of </>> and <created of </>>$' \
    -e '^[0-9]* differences found$' -e '^$' || true)
  [ -z "$out" ] || { printf '%s\n' "$out" >&2; fail "$1 and $2 differ"; }
}

# rows_text FILE DATASET FIRST COUNT: rows [FIRST, FIRST + COUNT) of a dataset as text, to compare.
rows_text() {
  local cols
  cols=$(h5dump -H -d "$2" "$1" | sed -nE 's/.*DATASPACE +SIMPLE \{ \( [0-9]+, ([0-9]+) \).*/\1/p')
  if [ -n "$cols" ]; then
    h5dump -m %.9g -y -w 0 -d "$2" -s "$3,0" -c "$4,$cols" "$1" | sed -n '/DATA {/,/}/p'
  else
    h5dump -y -w 0 -d "$2" -s "$3" -c "$4" "$1" | sed -n '/DATA {/,/}/p'
  fi
}

inspect_field() {  # inspect_field FILE FIELD: a field of `simbi inspect --json`
  "$SIMBI" inspect --json "$1" | "$PY" -c "import json,sys; print(json.load(sys.stdin)['$2'])"
}

# command_simulator_config NAME COMMAND [KEY = VALUE LINES]: prints a user-simulator config
# (docs/user_simulators.md) for a command simulator with 2-D θ and x, a uniform prior on [0, 1]² and
# the given extra top-level keys.
command_simulator_config() {
  printf 'name = "%s"\ntheta_dim = 2\nx_dim = 2\ncommand = "%s"\n' "$1" "$2"
  [ -z "${3:-}" ] || printf '%s\n' "$3"
  printf '[prior]\ntype = "uniform"\nlow = [0.0, 0.0]\nhigh = [1.0, 1.0]\n'
}
