#!/usr/bin/env bash
# Multi-queue netif over a multi-vCPU backend, negotiated through xenstore as
# Linux does: netback offers multi-queue-max-queues (one per vCPU) and, when
# asked, feature-split-event-channels; netfront asks for min(that, queues)
# and writes multi-queue-num-queues with queue-N/tx-ring-ref, rx-ring-ref and
# event-channel (or event-channel-tx / -rx), or the single-queue keys in its
# own directory when one queue is all it gets. Each flow's frames take the
# queue its hash selects; netback binds each queue's channel(s) to the next
# vCPU, so the TX work spreads over queues and vCPUs; payloads stay checked
# and the run is deterministic. A frontend that knows nothing of multi-queue
# (the hand-driven malicious one) still gets one queue.
source "$(dirname "$0")/lib.bash"
ST="$SRC/workloads/scenarios/net-stream.lua"
RR="$SRC/workloads/scenarios/net-rr.lua"
MQ=(--set backend_vcpus=4 --set cpus=6 --set domus=2)
run() { # run NAME ARGS...: exit status in $WORK/NAME.rc, output in $WORK/NAME.out
  local name=$1; shift
  set +e
  "$HOPSIM" run "$@" >"$WORK/$name.out" 2>&1
  echo $? >"$WORK/$name.rc"
  set -e
}
rc() { cat "$WORK/$1.rc"; }

run st "$ST" "${MQ[@]}" --set queues=4 --set flows=8 --set split_evtchn=true --set count=100 \
  --trace-csv "$WORK/st.csv"
check "stream, 4 split queues: exit 0 ($(rc st))" [ "$(rc st)" -eq 0 ]
for d in 1 2; do
  check "stream: dom$d's keys read from queue-N, split channels" grep -qF \
    "netback: dom$d vif 0: multi-queue-num-queues=4 of 4: queue-0..queue-3/{tx-ring-ref,rx-ring-ref,event-channel-tx,event-channel-rx}" "$WORK/st.out"
  check "stream: dom$d's queues bound to vCPUs 1,2,3,0" grep -q "netback: dom$d vif 0 connected: .*4 queues on vCPU 1,2,3,0" "$WORK/st.out"
  check "stream: dom$d's frames on every queue" \
    grep -Eq "netback: dom$d vif 0 closed: tx 200 packets, 0 errors; .*per queue [1-9][0-9]*,[1-9][0-9]*,[1-9][0-9]*,[1-9][0-9]*$" "$WORK/st.out"
done
check "stream: netfront negotiated 4 split queues" grep -q "netfront: vif0: .*4 queues, split event channels" "$WORK/st.out"
check "stream: every payload checked" grep -Eq "guest checks: [1-9][0-9]* passed, 0 failed" "$WORK/st.out"
check "stream: 400 requests done" grep -q "^requests: 400 done, 0 in flight" "$WORK/st.out"
for c in cpu1 cpu2 cpu3; do
  n=$(awk -F, -v c="$c" '$3=="hypercall" && $4=="grant_table_op" && $5==c' "$WORK/st.csv" | wc -l)
  check "stream: TX grant work on the backend's $c ($n)" [ "$n" -gt 50 ]
done
run st2 "$ST" "${MQ[@]}" --set queues=4 --set flows=8 --set split_evtchn=true --set count=100 \
  --trace-csv "$WORK/st2.csv"
check "stream, 4 queues: same seed, same trace" cmp -s "$WORK/st.csv" "$WORK/st2.csv"

run rr "$RR" "${MQ[@]}" --set queues=4 --set flows=4 --set depth=4 --set count=40
check "rr, 4 shared-channel queues: exit 0 ($(rc rr))" [ "$(rc rr)" -eq 0 ]
check "rr: one event-channel per queue" grep -qF \
  "netback: dom1 vif 0: multi-queue-num-queues=4 of 4: queue-0..queue-3/{tx-ring-ref,rx-ring-ref,event-channel}" "$WORK/rr.out"
check "rr: every answer intact" grep -Eq "guest checks: [1-9][0-9]* passed, 0 failed" "$WORK/rr.out"
check "rr: answers come back on the flow's queue (netfront counts them there)" \
  grep -Eq "netfront: vif0 closed .*4 queues \(frames per queue [0-9]+,[0-9]+,[0-9]+,[0-9]+\)" "$WORK/rr.out"
check "rr: 240 requests done" grep -q "^requests: 240 done, 0 in flight" "$WORK/rr.out"

run one "$RR" "${MQ[@]}" --set queues=1 --set count=20
check "frontend asks 1 of 4: exit 0 ($(rc one))" [ "$(rc one)" -eq 0 ]
check "frontend asks 1: the single-queue keys" grep -qF \
  "netback: dom1 vif 0: one queue: {tx-ring-ref,rx-ring-ref,event-channel}" "$WORK/one.out"
check "frontend asks 1: two vifs on two vCPUs" grep -q "netback: dom2 vif 0 connected: .*1 queue on vCPU 2" "$WORK/one.out"

run old "$RR" --set queues=4 --set count=20
check "backend with 1 vCPU offers 1: exit 0 ($(rc old))" [ "$(rc old)" -eq 0 ]
check "backend with 1 vCPU: the frontend falls back to one queue" grep -q "netfront: vif0: .*, 1 queue$" "$WORK/old.out"

run evil "$SRC/workloads/scenarios/net-malicious.lua" --set backend_vcpus=2 --set queues=2 --set split_evtchn=true
check "malicious single-queue frontend beside 2-queue ones: exit 0 ($(rc evil))" [ "$(rc evil)" -eq 0 ]
check "malicious: the evil vif got the single-queue layout" grep -qF \
  "netback: dom3 vif 0: one queue: {tx-ring-ref,rx-ring-ref,event-channel-tx,event-channel-rx}" "$WORK/evil.out"
check "malicious: the good vifs got 2 queues" grep -qF \
  "netback: dom1 vif 0: multi-queue-num-queues=2 of 2" "$WORK/evil.out"
check "malicious: guest checks passed" grep -Eq "guest checks: [1-9][0-9]* passed, 0 failed" "$WORK/evil.out"
finish
