#!/usr/bin/env bash
# A full disk under `mpiexec -n 2`, on an 8 MiB tmpfs: creating a store on a full disk ends every rank
# with one error line naming the file and "no space left on device" (no crash, no damaged file under
# the store's name); a budget that cannot fit is refused before anything is written, naming the bytes
# needed and free; a disk that fills while rows are written gives the same kind of line, keeps the
# finished chunks, and --resume after freeing space completes the store as an uninterrupted run would.
source "$(dirname "$0")/lib.sh"
MNT=$WORK/mnt
mkdir -p "$MNT"
if ! mount -t tmpfs -o size=8m tmpfs "$MNT" 2>/dev/null; then
  echo "SKIP: cannot mount a tmpfs here (mount needs root or CAP_SYS_ADMIN)"
  exit 0
fi
trap 'umount "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null; rm -rf "$WORK"' EXIT

# no_crash WHAT: the last expect_error's output holds no sign of a rank killed by a signal.
no_crash() {
  if grep -qiE "segmentation|signal [0-9]+|core dumped" "$WORK/err.txt" "$WORK/out.txt"; then
    cat "$WORK/err.txt" >&2
    fail "$1: a rank crashed"
  fi
}
fill_disk() { dd if=/dev/zero of="$MNT/fill" bs=1M 2>/dev/null || true; }
free_kib() { df -k --output=avail "$MNT" | tail -n 1 | tr -d ' '; }

# 1. The disk is full before the store is created.
fill_disk
[ "$(free_kib)" -lt 8 ] || fail "the tmpfs did not fill up"
expect_error "full disk at creation" "$MNT/s.h5: .*no space left on device" \
  "${MPI2[@]}" "$SIMBI" simulate --task two_moons --budget 1000000 --out "$MNT/s.h5"
no_crash "full disk at creation"
[ ! -e "$MNT/s.h5" ] || fail "full disk at creation: a file was left under the store's name"

# 3. A budget that cannot fit: refused before writing, naming the bytes needed and free.
rm -f "$MNT/fill" "$MNT"/s.h5*
expect_error "budget larger than the disk" \
  "$MNT/big.h5: no space for it on the device: needs at least 18048576 bytes .* but only [0-9]+ bytes .* are free in $MNT" \
  "${MPI2[@]}" "$SIMBI" simulate --task two_moons --budget 1000000 --out "$MNT/big.h5"
[ -z "$(ls -A "$MNT")" ] || fail "budget larger than the disk: something was written ($(ls "$MNT"))"

# 4. The disk fills while rows are written (the ranks are paused while another file takes the space).
BUDGET=100000
ARGS=(simulate --task sir --budget $BUDGET --seed 7 --chunk-rows 1000)
"$MPIEXEC" -n 1 "$SIMBI" -q "${ARGS[@]}" --out reference.h5
setsid "$MPIEXEC" --oversubscribe -n 2 "$SIMBI" "${ARGS[@]}" --progress-seconds 0.1 --out "$MNT/mid.h5" >mid.log 2>&1 &
pid=$!
for _ in $(seq 1 1200); do
  grep -qE 'simulate: [0-9.]+k?/' mid.log && break
  kill -0 "$pid" 2>/dev/null || { cat mid.log; fail "the run ended before it reported progress"; }
  sleep 0.05
done
ranks=$(pgrep -P "$pid" -x simbi || true)
[ "$(echo $ranks | wc -w)" = 2 ] || fail "expected 2 rank processes under mpiexec, found '$ranks'"
kill -STOP $ranks
fill_disk
kill -CONT $ranks
rc=0
wait "$pid" || rc=$?
cat mid.log
[ "$rc" != 0 ] || fail "full disk mid-run: exit status 0 (the run finished before the disk filled?)"
[ "$(grep -c '^error: ' mid.log)" = 1 ] || fail "full disk mid-run: expected exactly one error line"
grep -qE "^error: $MNT/mid.h5 /(theta|x|status): writing rows [0-9]+\.\.[0-9]+ failed: no space left on device" mid.log ||
  fail "full disk mid-run: the error line does not name the file and the full disk"
grep -qiE "segmentation|signal [0-9]+|core dumped" mid.log && fail "full disk mid-run: a rank crashed"
[ ! -e "$MNT/mid.h5.lock" ] || fail "full disk mid-run: the lock was left behind"
# The rows marked simulated are exactly the reference's rows.
"$PY" - "$MNT/mid.h5" reference.h5 <<'PYEOF' || fail "full disk mid-run: finished rows differ from the reference"
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r") as a, h5py.File(sys.argv[2], "r") as b:
    done = a["/status"][:] != 0
    assert 0 < done.sum() < len(done), f"{done.sum()} rows done"
    for d in ("/theta", "/x", "/status"):
        assert np.array_equal(a[d][:][done], b[d][:][done]), d
    print(f"{done.sum()} finished rows intact")
PYEOF
rm -f "$MNT/fill"
mpirun2 "$SIMBI" "${ARGS[@]}" --out "$MNT/mid.h5" --resume >resume.log 2>&1 || { cat resume.log; fail "resume failed"; }
[ "$(inspect_field "$MNT/mid.h5" completed)" = $BUDGET ] || fail "resumed store is incomplete"
same_datasets reference.h5 "$MNT/mid.h5"
echo "ok: full disk mid-run named, finished rows kept, --resume completed the store"
