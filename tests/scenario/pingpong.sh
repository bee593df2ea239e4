#!/usr/bin/env bash
# The ping-pong scenario end to end: exits 0, every round trip checked by
# the guests, all eight hops per round in the CSV, Trace Event JSON valid
# with flow events linking each round's hops, the summary has a row per
# span kind including the notify, delivery, switch and grant spans.
source "$(dirname "$0")/lib.bash"
rounds=20
"$HOPSIM" run "$SRC/workloads/scenarios/pingpong.lua" --set rounds=$rounds \
  --trace-json "$WORK/t.json" --trace-csv "$WORK/t.csv" >"$WORK/out.txt" 2>"$WORK/err.txt"
rc=$?
check "exit 0 (got $rc): $(cat "$WORK/err.txt")" [ "$rc" -eq 0 ]
check "guest checks all passed" grep -Eq "guest checks: [1-9][0-9]* passed, 0 failed" "$WORK/out.txt"
for kind in hypercall evtchn_send event_delivery world_switch grant_map grant_unmap; do
  check "summary row for $kind" grep -Eq "^ *$kind " "$WORK/out.txt"
done
# CSV: every request has its hops in order; ping-pong has no device, so no H5
check "CSV hops in order" awk -F, 'NR > 1 && $3 == "hop" {
    seq[$1] = seq[$1] substr($2, 2)
  } END {
    n = 0
    for (r in seq) { n++; if (seq[r] != "1234678") { print "request " r ": " seq[r] > "/dev/stderr"; exit 1 } }
    exit n == 0
  }' "$WORK/t.csv"
nreq=$(awk -F, 'NR > 1 && $3 == "hop" && $2 == "H1" {print $1}' "$WORK/t.csv" | sort -u | wc -l)
check "one request per round ($nreq)" [ "$nreq" -eq "$rounds" ]
# JSON: valid, flows s/t/f per request
check "JSON parses" jq -e '.traceEvents | length > 0' "$WORK/t.json" >/dev/null
flows=$(jq '[.traceEvents[] | select(.ph == "s")] | length' "$WORK/t.json")
ends=$(jq '[.traceEvents[] | select(.ph == "f")] | length' "$WORK/t.json")
steps=$(jq '[.traceEvents[] | select(.ph == "t")] | length' "$WORK/t.json")
check "a flow start per round ($flows)" [ "$flows" -eq "$rounds" ]
check "a flow end per round ($ends)" [ "$ends" -eq "$rounds" ]
check "five flow steps per round ($steps)" [ "$steps" -eq $((rounds * 5)) ]
finish
