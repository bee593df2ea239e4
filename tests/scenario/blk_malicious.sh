#!/usr/bin/env bash
# A malicious frontend against blkback while two well-behaved domUs run
# verified I/O: every malformed request is refused (checked inside the evil
# guest), no rejected write reaches the disk, every well-formed request of
# the others completes, and the simulator does not crash.
source "$(dirname "$0")/lib.bash"
cd "$WORK"
for arch in xen-dom0 uefi-rt; do
  set +e
  "$HOPSIM" run "$SRC/workloads/scenarios/blk-malicious.lua" --quiet --set arch=$arch \
    --set disk="$WORK/m-$arch.img" >"$WORK/out" 2>"$WORK/err"
  rc=$?
  set -e
  check "$arch: exit 0 (got $rc): $(tail -3 "$WORK/err")" [ "$rc" -eq 0 ]
  check "$arch: all guest checks passed" grep -Eq "guest checks: [1-9][0-9]* passed, 0 failed" "$WORK/out"
  check "$arch: well-behaved domUs powered off" [ "$(grep -Ec 'domu[12] +poweroff' "$WORK/out")" -eq 2 ]
  "$HOPSIM" disk-check "$WORK/m-$arch.img" >"$WORK/dc" 2>&1
  check "$arch: no rejected write on disk: $(cat "$WORK/dc")" grep -q ", 0 inconsistent, 0 from rejected requests" "$WORK/dc"
done
finish
