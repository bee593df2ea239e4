#!/usr/bin/env bash
# A PV guest kernel's privileged instructions (workloads/tests/privop.c): each
# of cli, sti, wrmsr, rdmsr, mov to cr0 / cr3 and swapgs crashes the domain
# with a reason naming the instruction (#GP in ring 3, no trap table) and the
# run exits 1; self-modifying code (op=smc) faults on the read-only code page
# (W^X: Unicorn's self-modifying-code path, which leaks, is never entered);
# without one (op=none) the guest runs to its end and exits 0. With trap=true
# the guest registers a #GP handler (HYPERVISOR_set_trap_table) first: Xen
# bounces each fault to it, and the guest's checks (handler ran once, at the
# instruction, error code 0, kernel CS, the block's earlier instructions run)
# report through the simulator; the run exits 0 and the trace shows the #GP.
source "$(dirname "$0")/lib.bash"
cd "$WORK"
for op in cli sti wrmsr rdmsr cr0 cr3 swapgs; do
  set +e
  "$HOPSIM" run "$SRC/workloads/scenarios/privop.lua" --set op=$op >"$WORK/$op.out" 2>"$WORK/$op.err"
  rc=$?
  set -e
  want=$op
  case $op in cr0|cr3) want="mov $op" ;; esac
  check "$op: run exits 1 (got $rc)" [ "$rc" -eq 1 ]
  check "$op: the crash names the instruction: $(tail -1 "$WORK/$op.err")" \
    grep -q "crash: privileged instruction '$want.*#GP in a PV kernel" "$WORK/$op.err"
  check "$op: the instruction never ran" bash -c "! grep -q 'guest check FAILED' '$WORK/$op.out'"
done
set +e
"$HOPSIM" run "$SRC/workloads/scenarios/privop.lua" --set op=smc >"$WORK/smc.out" 2>"$WORK/smc.err"
rc=$?
set -e
check "smc: run exits 1 (got $rc)" [ "$rc" -eq 1 ]
check "smc: the store to the code page faults: $(tail -1 "$WORK/smc.err")" \
  grep -q "crash: write to read-only page" "$WORK/smc.err"
set +e
"$HOPSIM" run "$SRC/workloads/scenarios/privop.lua" --set op=none >"$WORK/none.out" 2>"$WORK/none.err"
rc=$?
set -e
check "op=none exits 0 (got $rc): $(tail -1 "$WORK/none.err")" [ "$rc" -eq 0 ]
check "op=none: the guest check passed" grep -q "guest checks: 1 passed, 0 failed" "$WORK/none.out"
for op in cli sti wrmsr rdmsr cr0 cr3 swapgs; do
  set +e
  "$HOPSIM" run "$SRC/workloads/scenarios/privop.lua" --set op=$op --set trap=true \
    --trace-csv "$WORK/trap-$op.csv" >"$WORK/trap-$op.out" 2>"$WORK/trap-$op.err"
  rc=$?
  set -e
  check "trap=true $op: run exits 0 (got $rc): $(tail -1 "$WORK/trap-$op.err")" [ "$rc" -eq 0 ]
  check "trap=true $op: the handler's checks passed" \
    grep -q "guest checks: 6 passed, 0 failed" "$WORK/trap-$op.out"
  check "trap=true $op: the handler ran once" grep -q "#GP handler ran 1 time" "$WORK/trap-$op.out"
  check "trap=true $op: one #GP delivery in the trace" \
    [ "$(grep -c ',event_delivery,#GP,' "$WORK/trap-$op.csv")" -eq 1 ]
done
finish
