#!/usr/bin/env bash
# Multi-vCPU PV guests: smp_test.elf brings up its vCPUs (VCPUOP_initialise /
# VCPUOP_up), moves event channels between them (EVTCHNOP_bind_vcpu) and
# contends for a spinlock; every guest check must pass, each vCPU must have run
# on its own physical CPU, and the run is deterministic.
source "$(dirname "$0")/lib.bash"
set +e
"$HOPSIM" run "$SRC/workloads/scenarios/smp.lua" --trace-csv "$WORK/t.csv" >"$WORK/out" 2>"$WORK/err"
rc=$?
"$HOPSIM" run "$SRC/workloads/scenarios/smp.lua" --trace-csv "$WORK/t2.csv" >/dev/null 2>&1
"$HOPSIM" run "$SRC/workloads/scenarios/smp.lua" --set vcpus=2 >"$WORK/out2" 2>&1
rc2=$?
set -e
check "exit 0 (got $rc): $(tail -3 "$WORK/err")" [ "$rc" -eq 0 ]
check "checks passed, none failed" grep -Eq "guest checks: [1-9][0-9]* passed, 0 failed" "$WORK/out"
check "powered off" grep -q "poweroff" "$WORK/out"
check "the lock was contended" grep -Eq "3 vCPUs added 600 under one lock, [1-9][0-9]* contended" "$WORK/err" "$WORK/out"
for c in cpu0 cpu1 cpu2 cpu3; do
  check "work traced on $c" grep -q ",$c," "$WORK/t.csv"
done
check "same seed, same trace" cmp -s "$WORK/t.csv" "$WORK/t2.csv"
check "vcpus=2 passes too (rc $rc2)" grep -Eq "guest checks: [1-9][0-9]* passed, 0 failed" "$WORK/out2"
finish
