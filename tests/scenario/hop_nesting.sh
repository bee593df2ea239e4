#!/usr/bin/env bash
# The hop nesting rule (traces/FORMAT.md) in the JSON trace of every
# architecture: each request passes through its architecture's hops in
# order with no gap, and every sub-span tagged with a hop lies inside that
# hop. The device's hop ends with its completion interrupt: the backend's
# completion work (driver, grant unmap, TLB flush) is H6. hvm-emul and
# hosted too: the unmodified guest's exits and ioreqs, the device model's
# real submission and its completion work each lie inside their hop.
source "$(dirname "$0")/lib.bash"
cd "$WORK"
hops_of() { [ "$1" = native ] && echo 1,4,5,8 || echo 1,2,3,4,5,6,7,8; }
nest_ok() { # nest_ok TRACE HOPS
  local out
  out=$(jq -r --arg hops "$2" -f "$SRC/tests/scenario/hop_nesting.jq" "$1") || return 1
  [ -z "$out" ] || { echo "$out" | head -5 >&2; return 1; }
}
count() { jq "[.traceEvents[] | select(.ph == \"X\" and $2)] | length" "$1"; }
# Known limit (traces/FORMAT.md), with the SSD's service times varying: when
# the backend serves two frontends at iodepth 4 or more, its completion
# handler can reap a second command's CQ entry before that command's MSI
# reaches the CPU; that completion work (grant unmap, TLB flush) then starts
# inside H5. Those backend runs use one frontend (its commands still overlap).
domus_for() {
  case "$1" in xen-dom0 | xen-idd | uefi-rt) [ "$2" -ge 4 ] && echo 1 || echo 2 ;; *) echo 2 ;; esac
}
for arch in native xen-dom0 xen-idd uefi-rt hvm-emul hosted; do
  for depth in 1 4 16; do
    t="$WORK/blk-$arch-$depth.json"
    check "$arch iodepth $depth: blk run" "$HOPSIM" run "$SRC/workloads/scenarios/blk-randread.lua" \
      --quiet --set arch=$arch --set disk_type=ssd --set requests=40 --set iodepth=$depth \
      --set domus="$(domus_for $arch $depth)" --set disk="$WORK/d.img" --trace-json "$t" >/dev/null
    check "$arch iodepth $depth: blk hops nest" nest_ok "$t" "$(hops_of $arch)"
    check "$arch iodepth $depth: sub-spans carry hops" \
      test "$(count "$t" '.cat != "hop" and .args.hop != null')" -gt 200
    check "$arch iodepth $depth: the completion interrupt is the device's last span" \
      test "$(count "$t" '.cat == "irq" and .args.hop == "H5"')" -gt 0
  done
  for depth in 1 8; do
    t="$WORK/net-$arch-$depth.json"
    check "$arch depth $depth: net run" "$HOPSIM" run "$SRC/workloads/scenarios/net-rr.lua" \
      --quiet --set arch=$arch --set count=10 --set depth=$depth --trace-json "$t" >/dev/null
    check "$arch depth $depth: net hops nest" nest_ok "$t" "$(hops_of $arch)"
  done
done
for arch in hvm-emul hosted; do
  for t in "$WORK/blk-$arch-16.json" "$WORK/net-$arch-8.json"; do
    check "$arch $(basename "$t"): exits in hops" \
      test "$(count "$t" '.cat == "vmexit" and .args.hop != null')" -gt 0
    check "$arch $(basename "$t"): ioreq round trips in hops" \
      test "$(count "$t" '.cat == "ioreq" and .args.hop != null')" -gt 0
  done
done
# l4-vmm: two VMs, a VMM each, one driver server; and its network path
for depth in 1 4; do
  t="$WORK/blk-l4-vmm-$depth.json"
  check "l4-vmm iodepth $depth: blk run" "$HOPSIM" run "$SRC/workloads/scenarios/blk-randread.lua" \
    --quiet --set arch=l4-vmm --set disk_type=ssd --set requests=40 --set iodepth=$depth \
    --set domus=2 --set disk="$WORK/d.img" --trace-json "$t" >/dev/null
  check "l4-vmm iodepth $depth: blk hops nest" nest_ok "$t" 1,2,3,4,5,6,7,8
  check "l4-vmm iodepth $depth: IPC spans carry hops" \
    test "$(count "$t" '.cat == "ipc" and .args.hop != null')" -gt 100
done
for depth in 1 8; do
  t="$WORK/net-l4-vmm-$depth.json"
  check "l4-vmm depth $depth: net run" "$HOPSIM" run "$SRC/workloads/scenarios/net-rr.lua" --quiet \
    --set arch=l4-vmm --set count=10 --set depth=$depth --trace-json "$t" >/dev/null
  check "l4-vmm depth $depth: net hops nest" nest_ok "$t" 1,2,3,4,5,6,7,8
done
for arch in xen-dom0 xen-idd uefi-rt; do
  t="$WORK/blk-$arch-4.json"
  check "$arch: grant unmaps and TLB flushes are H6" \
    test "$(count "$t" '(.cat == "grant_unmap" or .cat == "tlb_flush") and .args.hop != null and .args.hop != "H6"')" -eq 0
  check "$arch: the backend's completion driver work is H6" \
    test "$(count "$t" '.cat == "driver" and .args.hop == "H6"')" -gt 0
  check "$arch: ring_put of a request is H2" \
    test "$(count "$t" '.cat == "ring_put" and .args.hop == "H1"')" -eq 0
done
finish
