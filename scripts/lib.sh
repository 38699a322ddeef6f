# Sourced by simbi's benchmark and job scripts: the MPI environment (mpi_env.sh), the distribution's
# python3 (with numpy/h5py/matplotlib from setup.sh, not a user-installed one first on PATH), and the
# argument-parsing helpers every script uses.
# shellcheck source=scripts/mpi_env.sh
source "$(dirname "${BASH_SOURCE[0]}")/mpi_env.sh"
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
# die MESSAGE: one "error:" line on stderr, exit 1.
die() { echo "error: $*" >&2; exit 1; }
# need_value "$@" inside the option loop: the option in $1 must have a non-empty value in $2.
need_value() { [ $# -ge 2 ] && [ -n "$2" ] || die "$1 needs a value (see --help)"; }
# usage: the script's header comment (line 2 up to `set -euo`), without the comment markers.
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }
# model_field MODEL EXPR: a Python expression on j = `$SIMBI inspect --json MODEL` (the caller sets SIMBI).
model_field() { "$SIMBI" inspect --json "$1" | "$PY" -c "import json,sys; j=json.load(sys.stdin); print($2)"; }
