#!/usr/bin/env bash
# Multi-queue blkif over a multi-vCPU backend, negotiated through xenstore as
# Linux does: blkback offers multi-queue-max-queues (one per vCPU), blkfront
# asks for min(that, queues) and writes multi-queue-num-queues with
# queue-N/ring-ref and queue-N/event-channel, or the single-ring keys when one
# ring is all it gets. blkback binds each ring's event channel to the next vCPU,
# so the requests spread over queues and vCPUs; data stays verified with every
# grant mode, and the run is deterministic.
source "$(dirname "$0")/lib.bash"
RR="$SRC/workloads/scenarios/blk-randread.lua"
VF="$SRC/workloads/scenarios/blk-randrw-verify.lua"
MQ=(--set disk_type=ssd --set backend_vcpus=4 --set cpus=6 --set domus=2 --set iodepth=8
    --set requests=200 --set disk="$WORK/d.img")
run() { # run NAME ARGS...: exit status in $WORK/NAME.rc, output in $WORK/NAME.out
  local name=$1; shift
  set +e
  "$HOPSIM" run "$@" >"$WORK/$name.out" 2>&1
  echo $? >"$WORK/$name.rc"
  set -e
}
rc() { cat "$WORK/$1.rc"; }

run mq "$RR" "${MQ[@]}" --set queues=4 --trace-csv "$WORK/mq.csv"
check "4 queues: exit 0 ($(rc mq))" [ "$(rc mq)" -eq 0 ]
check "4 queues: frontend keys read from queue-N" \
  grep -q "multi-queue-num-queues=4 of 4: rings from queue-0..queue-3/{ring-ref,event-channel}" "$WORK/mq.out"
check "4 queues: rings bound to vCPUs 1,2,3,0" grep -q "4 queues on vCPU 1,2,3,0" "$WORK/mq.out"
check "4 queues: every queue served requests" \
  grep -Eq "dom1 vbd 51712 closed: 200 requests \(per queue [1-9][0-9]*,[1-9][0-9]*,[1-9][0-9]*,[1-9][0-9]*\)" "$WORK/mq.out"
for c in cpu0 cpu1 cpu2 cpu3; do
  n=$(awk -F, -v c="$c" '$3=="hypercall" && $4=="grant_table_op" && $5==c' "$WORK/mq.csv" | wc -l)
  check "4 queues: grant work on $c ($n)" [ "$n" -gt 50 ]
done
run mq2 "$RR" "${MQ[@]}" --set queues=4 --trace-csv "$WORK/mq2.csv"
check "4 queues: same seed, same trace" cmp -s "$WORK/mq.csv" "$WORK/mq2.csv"

run one "$RR" "${MQ[@]}" --set queues=1
check "frontend asks 1: exit 0 ($(rc one))" [ "$(rc one)" -eq 0 ]
check "frontend asks 1: single-ring keys" grep -q "dom1 vbd 51712: one ring (ring-ref, event-channel)" "$WORK/one.out"
check "frontend asks 1: two vbds on two vCPUs" grep -q "dom2 vbd 51712 connected.*1 queue on vCPU 2" "$WORK/one.out"

run old "$RR" --set disk_type=ssd --set domus=1 --set requests=50 --set queues=4 --set disk="$WORK/d.img"
check "backend with 1 vCPU offers 1: exit 0 ($(rc old))" [ "$(rc old)" -eq 0 ]
check "backend with 1 vCPU offers 1: frontend falls back" grep -q "persistent grants off, 1 queue$" "$WORK/old.out"

for g in map copy persistent; do
  run "v$g" "$VF" --set grants=$g --set backend_vcpus=4 --set cpus=6 --set domus=2 --set queues=4 \
    --set requests=150 --set disk="$WORK/v.img"
  check "verify grants=$g over 4 queues: exit 0 ($(rc "v$g"))" [ "$(rc "v$g")" -eq 0 ]
  check "verify grants=$g: checks passed" grep -Eq "guest checks: [1-9][0-9]* passed, 0 failed" "$WORK/v$g.out"
done
finish
