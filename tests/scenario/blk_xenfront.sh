#!/usr/bin/env bash
# A block frontend written only from Xen's public headers (no hopsim guest
# runtime: workloads/xenfront) against the shipped blkback in every placement
# and grant mode: it must find the memory model through XENVER_get_features
# (auto-translated physmap), connect by the xenbus handshake, read back what
# it wrote, see bad requests refused, close, and power off with every guest
# check passed.
source "$(dirname "$0")/lib.bash"
cd "$WORK"
run() { # run NAME ARGS...
  local name=$1; shift
  set +e
  "$HOPSIM" run "$SRC/workloads/scenarios/blk-xenfront.lua" --set disk="$WORK/$name.img" "$@" \
    >"$WORK/$name.out" 2>"$WORK/$name.err"
  local rc=$?
  set -e
  check "$name exits 0 (got $rc): $(tail -2 "$WORK/$name.err")" [ "$rc" -eq 0 ]
  check "$name: every check passed" grep -Eq "guest checks: (6[0-9]|[7-9][0-9]|[1-9][0-9]{2}) passed, 0 failed" "$WORK/$name.out"
  check "$name: auto-translated physmap advertised" grep -q "xenfront: features [0-9a-f]*: auto-translated" "$WORK/$name.out"
  check "$name: frontend powered off" grep -q "\[xenfront\] shut down (poweroff)" "$WORK/$name.out"
  check "$name: backend closed the vbd" grep -Eq "blkback: dom[0-9]+ vbd 51712 closed" "$WORK/$name.out"
}
run dom0-map --set arch=xen-dom0 --set grants=map
run dom0-copy --set arch=xen-dom0 --set grants=copy
run idd-persistent --set arch=xen-idd --set grants=persistent
run rt-map --set arch=uefi-rt
finish
