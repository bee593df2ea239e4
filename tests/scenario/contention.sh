#!/usr/bin/env bash
# Under load: TLB shootdowns reach the CPUs of the backend's dirty mask and
# only those (sim/xen/flush.c), and Xen's locks make concurrent callers wait
# (sim/xen/lock.c): a 4-vCPU dom0 serving four frontends on a RAM disk, and a
# 2-vCPU runtime service under uefi-rt whose calls serialise on efi_rs_lock.
# The traces keep the hop nesting rule and are the same for the same seed.
source "$(dirname "$0")/lib.bash"
cd "$WORK"
count() { jq "[.traceEvents[] | select((.ph == \"X\" or .ph == \"i\") and $2)] | length" "$1"; }
nest_ok() { # nest_ok TRACE HOPS
  local out
  out=$(jq -r --arg hops "$2" -f "$SRC/tests/scenario/hop_nesting.jq" "$1") || return 1
  [ -z "$out" ] || { echo "$out" | head -5 >&2; return 1; }
  out=$(jq -r -f "$SRC/tests/scenario/thread_nesting.jq" "$1") || return 1
  [ -z "$out" ] || { echo "$out" | head -5 >&2; return 1; }
}
# dom0's vCPUs on cpu0..3, the four domUs on cpu4..7 (lib/blk.lua's placement)
run_dom0() {
  "$HOPSIM" run "$SRC/workloads/scenarios/blk-randread.lua" --quiet --set arch=xen-dom0 \
    --set disk_type=ram --set disk="$WORK/d.img" --set backend_vcpus=4 --set domus=4 --set cpus=8 \
    --set iodepth=4 --set requests=50 --set grants=map --trace-json "$1" >"$1.out"
}
t="$WORK/dom0.json"
check "xen-dom0 4 vCPUs: run" run_dom0 "$t"
ipis=$(count "$t" '.cat == "tlb_flush" and (.name | endswith("flush IPI"))')
check "remote CPUs take flush IPIs ($ipis)" test "$ipis" -gt 0
check "the initiators wait for the acknowledgements" \
  test "$(count "$t" '.cat == "tlb_flush" and (.name | endswith("wait for acks"))')" -gt 0
# JSON pid = CPU + 1: the flush IPIs land on dom0's CPUs (1..4) and on more than one of them
lanes=$(jq '[.traceEvents[] | select(.ph == "X" and .cat == "tlb_flush" and (.name | endswith("flush IPI"))) | .pid] | unique | length' "$t")
check "flush IPIs on several of dom0's CPUs ($lanes)" test "$lanes" -ge 2
check "no flush IPI on a frontend's CPU (not in dom0's dirty mask)" \
  test "$(count "$t" '.cat == "tlb_flush" and (.name | endswith("flush IPI")) and .pid > 4')" -eq 0
check "remote flushes serve no request (interference, not a hop)" \
  test "$(count "$t" '.cat == "tlb_flush" and (.name | endswith("flush IPI")) and .args.req != null')" -eq 0
# dom0's completions (and so its unmaps and shootdowns) run on the vCPU the HBA interrupt is
# bound to, and map/unmap/send take the read side of Xen's rwlocks: nothing to wait for here
waits=$(count "$t" '.cat == "lock_wait"')
check "lock waits, if any, take time ($waits)" test "$(count "$t" '.cat == "lock_wait" and .dur > 0')" -eq "$waits"
check "xen-dom0 4 vCPUs: hops and threads nest" nest_ok "$t" 1,2,3,4,5,6,7,8
check "same seed: byte-identical trace" run_dom0 "$WORK/dom0-again.json"
check "same seed: same trace" cmp -s "$t" "$WORK/dom0-again.json"
# one vCPU: dom0's context lives on cpu0 only, every flush is local
"$HOPSIM" run "$SRC/workloads/scenarios/blk-randread.lua" --quiet --set arch=xen-dom0 \
  --set disk_type=ram --set disk="$WORK/d.img" --set domus=2 --set cpus=3 --set iodepth=4 \
  --set requests=30 --trace-json "$WORK/one.json" >/dev/null
check "one backend vCPU: local flushes only" \
  test "$(count "$WORK/one.json" '.cat == "tlb_flush" and (.name | endswith("local") | not)')" -eq 0
check "one backend vCPU: a local flush per unmap batch" \
  test "$(count "$WORK/one.json" '.cat == "tlb_flush"')" -eq "$(count "$WORK/one.json" '.cat == "hypercall" and (.name | endswith("grant_table_op")) and .args.arg == 1')"
# uefi-rt: the runtime service's calls on two vCPUs serialise on efi_rs_lock
t="$WORK/rt.json"
check "uefi-rt 2 vCPUs: run" "$HOPSIM" run "$SRC/workloads/scenarios/blk-randread.lua" --quiet \
  --set arch=uefi-rt --set disk_type=ram --set disk="$WORK/d.img" --set backend_vcpus=2 \
  --set domus=2 --set cpus=4 --set iodepth=4 --set requests=40 --trace-json "$t"
rtw=$(count "$t" '.cat == "lock_wait" and (.name | endswith("efi_rs_lock"))')
check "uefi-rt: calls spin for efi_rs_lock ($rtw waits)" test "$rtw" -gt 0
check "uefi-rt: the spins are on the backend's CPUs (cpu0, cpu1)" \
  test "$(count "$t" '.cat == "lock_wait" and .pid > 2')" -eq 0
# one runtime call at a time: no two rs_call spans overlap
check "uefi-rt: runtime calls never overlap" jq -e '[.traceEvents[] | select(.ph == "X" and .cat == "rs_call")] | sort_by(.ts) | . as $c | [range(1; length) | select($c[.].ts + 0.0000005 < $c[. - 1].ts + $c[. - 1].dur)] | length == 0' "$t"
check "uefi-rt: one call at a time, so its flushes are local" \
  test "$(count "$t" '.cat == "tlb_flush" and (.name | endswith("flush IPI"))')" -eq 0
check "uefi-rt 2 vCPUs: hops and threads nest" nest_ok "$t" 1,2,3,4,5,6,7,8
finish
