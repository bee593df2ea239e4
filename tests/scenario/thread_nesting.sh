#!/usr/bin/env bash
# Exact nesting in the JSON trace (traces/FORMAT.md, "Processes and
# threads"): on every thread of every place, complete events are disjoint or
# nested, so call-stack viewers (speedscope) show them as they are. Sub-spans
# that would overlap on a place's lane 0 (a wake-up IPI outliving the
# hypercall that sent it, two domains' xenstore requests) go to extra
# sub-span lanes instead. Checked for the block and network paths under
# every architecture, with several domUs.
source "$(dirname "$0")/lib.bash"
cd "$WORK"
nest_ok() { # nest_ok TRACE
  local out
  out=$(jq -r -f "$SRC/tests/scenario/thread_nesting.jq" "$1") || return 1
  [ -z "$out" ] || { echo "$out" | head -5 >&2; return 1; }
}
for arch in native xen-dom0 xen-idd uefi-rt; do
  t="$WORK/blk-$arch.json"
  check "$arch: blk run" "$HOPSIM" run "$SRC/workloads/scenarios/blk-randread.lua" --quiet \
    --set arch=$arch --set disk_type=ssd --set requests=60 --set iodepth=4 --set domus=3 \
    --set disk="$WORK/d.img" --trace-json "$t" >/dev/null
  check "$arch: blk threads nest" nest_ok "$t"
  t="$WORK/net-$arch.json"
  check "$arch: net run" "$HOPSIM" run "$SRC/workloads/scenarios/net-rr.lua" --quiet \
    --set arch=$arch --set count=20 --set domus=2 --trace-json "$t" >/dev/null
  check "$arch: net threads nest" nest_ok "$t"
done
t="$WORK/mal.json"
check "blk-malicious run" "$HOPSIM" run "$SRC/workloads/scenarios/blk-malicious.lua" --quiet \
  --trace-json "$t" >/dev/null
check "blk-malicious threads nest" nest_ok "$t"
check "overlapping sub-spans have lanes of their own" \
  test "$(jq '[.traceEvents[] | select(.ph == "X" and (.tid % 10000) > 5000)] | length' "$t")" -gt 0
finish
