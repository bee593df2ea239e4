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
count() { jq "[.traceEvents[] | select((.ph == \"X\" or .ph == \"i\") and $2)] | length" "$1"; }
# Each architecture under three loads: one request at a time from two
# frontends; three frontends at depth 8 on a backend with four vCPUs and
# four queues per frontend (rings and channels spread over the vCPUs,
# completions on the interrupt's vCPU, four flows on the network); and two
# frontends at depth 16 on one queue each, served by a four-vCPU backend.
# native runs one kernel (one frontend, no backend), hvm-emul and hosted
# one guest per frontend, l4-vmm a VM per frontend on one driver server.
loads="1:2:1:1 8:3:4:4 16:2:4:1" # depth:frontends:backend vCPUs:queues
for arch in native xen-dom0 xen-idd uefi-rt hvm-emul hosted l4-vmm; do
  for load in $loads; do
    IFS=: read -r depth domus bv q <<<"$load"
    t="$WORK/blk-$arch-$depth.json"
    check "$arch iodepth $depth: blk run" "$HOPSIM" run "$SRC/workloads/scenarios/blk-randread.lua" \
      --quiet --set arch=$arch --set disk_type=ssd --set requests=40 --set iodepth=$depth \
      --set domus=$domus --set backend_vcpus=$bv --set queues=$q --set cpus=4 \
      --set disk="$WORK/d.img" --trace-json "$t" >/dev/null
    check "$arch iodepth $depth: blk hops nest" nest_ok "$t" "$(hops_of $arch)"
    check "$arch iodepth $depth: sub-spans carry hops" \
      test "$(count "$t" '.cat != "hop" and .args.hop != null')" -gt 200
    check "$arch iodepth $depth: the completion interrupt is the device's last span" \
      test "$(count "$t" '.cat == "irq" and .args.hop == "H5"')" -gt 0
  done
  for load in 1:2:1:1 8:3:4:4; do
    IFS=: read -r depth domus bv q <<<"$load"
    t="$WORK/net-$arch-$depth.json"
    check "$arch depth $depth: net run" "$HOPSIM" run "$SRC/workloads/scenarios/net-rr.lua" \
      --quiet --set arch=$arch --set count=10 --set depth=$depth --set domus=$domus \
      --set backend_vcpus=$bv --set queues=$q --set flows=4 --set cpus=4 --trace-json "$t" >/dev/null
    check "$arch depth $depth: net hops nest" nest_ok "$t" "$(hops_of $arch)"
  done
done
# the loaded runs did spread: the backend mapped grants on several CPUs
for arch in xen-dom0 xen-idd uefi-rt; do
  check "$arch: depth 8 took requests on several of the backend's CPUs" \
    test "$(jq '[.traceEvents[] | select(.ph == "X" and .cat == "grant_map" and .args.hop == "H4") | .pid] | unique | length' "$WORK/blk-$arch-8.json")" -ge 2
done
for arch in hvm-emul hosted; do
  for t in "$WORK/blk-$arch-16.json" "$WORK/net-$arch-8.json"; do
    check "$arch $(basename "$t"): exits in hops" \
      test "$(count "$t" '.cat == "vmexit" and .args.hop != null')" -gt 0
    check "$arch $(basename "$t"): ioreq round trips in hops" \
      test "$(count "$t" '.cat == "ioreq" and .args.hop != null')" -gt 0
  done
done
for arch in xen-dom0 xen-idd uefi-rt; do
  t="$WORK/blk-$arch-8.json"
  check "$arch: grant unmaps and TLB flushes are H6" \
    test "$(count "$t" '(.cat == "grant_unmap" or .cat == "tlb_flush") and .args.hop != null and .args.hop != "H6"')" -eq 0
  check "$arch: the backend's completion driver work is H6" \
    test "$(count "$t" '.cat == "driver" and .args.hop == "H6"')" -gt 0
  check "$arch: ring_put of a request is H2" \
    test "$(count "$t" '.cat == "ring_put" and .args.hop == "H1"')" -eq 0
done
finish
