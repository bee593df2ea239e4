#!/usr/bin/env bash
# hopsim compare on the random-read scenario: the table prints, the
# xen-dom0 run has all eight hops in order for every request in the CSV
# and the JSON, the native run has its four (H1 H4 H5 H8).
source "$(dirname "$0")/lib.bash"
cd "$WORK"
"$HOPSIM" compare "$SRC/workloads/scenarios/blk-randread.lua" --arch native,xen-dom0 \
  --set requests=40 --trace-dir "$WORK/tr" --csv "$WORK/cmp.csv" >"$WORK/out" 2>"$WORK/err"
rc=$?
check "compare exits 0 (got $rc): $(tail -3 "$WORK/err")" [ "$rc" -eq 0 ]
for row in "H1 p50" "H3 p50" "H5 p50" "H8 p50" "latency p99" "IOPS" "overhead vs first"; do
  check "table row '$row'" grep -q "^$row" "$WORK/out"
done
check "dom0's boot reads its kernel from disk" grep -Eq "^boot: dom0: kernel image [0-9]+ bytes read from its disk in [0-9.]+ us" "$WORK/out"
check "guest checks passed in both runs" [ "$(grep -Ec 'guest checks: [1-9][0-9]* passed, 0 failed' "$WORK/out")" -eq 2 ]
hops() { awk -F, 'NR > 1 && $3 == "hop" { s[$1] = s[$1] substr($2, 2) }
                  END { for (r in s) print s[r] }' "$1" | sort | uniq -c; }
check "xen-dom0: every request H1..H8 in order" \
  bash -c "[ \"\$(awk -F, 'NR > 1 && \$3 == \"hop\" { s[\$1] = s[\$1] substr(\$2, 2) } END { for (r in s) if (s[r] != \"12345678\") bad++; print bad + 0 }' '$WORK/tr/blk-randread-xen-dom0.csv')\" = 0 ]"
check "native: every request H1 H4 H5 H8" \
  bash -c "[ \"\$(awk -F, 'NR > 1 && \$3 == \"hop\" { s[\$1] = s[\$1] substr(\$2, 2) } END { for (r in s) if (s[r] != \"1458\") bad++; print bad + 0 }' '$WORK/tr/blk-randread-native.csv')\" = 0 ]"
n=$(awk -F, 'NR > 1 && $3 == "hop" && $2 == "H1"' "$WORK/tr/blk-randread-xen-dom0.csv" | wc -l)
check "xen-dom0 traced 40 requests ($n)" [ "$n" -eq 40 ]
# JSON: one flow start and end per request, hop slices in time order per request
check "JSON valid" jq -e '.traceEvents | length > 0' "$WORK/tr/blk-randread-xen-dom0.json" >/dev/null
s=$(jq '[.traceEvents[] | select(.ph == "s")] | length' "$WORK/tr/blk-randread-xen-dom0.json")
f=$(jq '[.traceEvents[] | select(.ph == "f")] | length' "$WORK/tr/blk-randread-xen-dom0.json")
check "flow start/end per request ($s/$f)" [ "$s" -eq 40 ] && [ "$f" -eq 40 ]
ordered=$(jq '[.traceEvents[] | select(.cat == "hop") | {r: .args.req, h: .name, ts}]
  | group_by(.r) | map(sort_by(.ts) | map(.h) | join("")) | map(select(. != "H1H2H3H4H5H6H7H8")) | length' \
  "$WORK/tr/blk-randread-xen-dom0.json")
check "JSON hops in time order ($ordered out of order)" [ "$ordered" -eq 0 ]
check "CSV table written" grep -q "^xen-dom0,latency" "$WORK/cmp.csv"
finish
