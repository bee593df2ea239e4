#!/usr/bin/env bash
# A malicious netfront against netback (xen-dom0 and uefi-rt): every
# malformed TX request gets XEN_NETIF_RSP_ERROR (checked inside the evil
# guest), the RX flood costs only that vif, the fatal attacks (a fragment
# chain that never ends, ring indices out of range) disconnect that vif
# alone, and the well-behaved domUs' traffic completes with intact payloads.
source "$(dirname "$0")/lib.bash"
cd "$WORK"
SCN=$SRC/workloads/scenarios/net-malicious.lua
for a in xen-dom0 uefi-rt; do
  for attack in chain overflow; do
    n=$a-$attack
    set +e
    "$HOPSIM" run "$SCN" --set arch="$a" --set attack="$attack" >"$WORK/$n.out" 2>"$WORK/$n.err"
    rc=$?
    set -e
    check "$n: exits 0 (got $rc): $(tail -2 "$WORK/$n.err")" [ "$rc" -eq 0 ]
    check "$n: guest checks passed" grep -Eq "guest checks: [1-9][0-9]* passed, 0 failed" "$WORK/$n.out"
    check "$n: both good domUs finished" [ "$(grep -Ec '^  d[0-9]+ +domu[12] +poweroff' "$WORK/$n.out")" -eq 2 ]
    check "$n: the evil guest finished" grep -Eq '^  d[0-9]+ +evil +poweroff' "$WORK/$n.out"
    check "$n: the backend survived" grep -Eq '^  d0 +(dom0|rt) +poweroff' "$WORK/$n.out"
    check "$n: the backend disconnected the evil vif" grep -Eiq "netback: .*(disconnect|too many slots|overflow|ahead)" "$WORK/$n.out"
  done
done
finish
