#!/usr/bin/env bash
# The network path end to end: hopsim compare on net-rr across native,
# xen-dom0 and uefi-rt prints the table with packet and bit rates; every
# guest check (payload byte for byte) passes; every virtualized request
# shows H1..H8 in order (native: H1 H4 H5 H8) in the CSV and the JSON; the
# pcap of each run lists exactly the frames the run reports, with the
# sizes of the sweep, when read back by tshark.
source "$(dirname "$0")/lib.bash"
cd "$WORK"
set +e
"$HOPSIM" compare "$SRC/workloads/scenarios/net-rr.lua" --arch native,xen-dom0,uefi-rt \
  --set count=10 --set sizes=64,1514 --trace-dir "$WORK/tr" --csv "$WORK/cmp.csv" \
  >"$WORK/out" 2>"$WORK/err"
rc=$?
set -e
check "compare exits 0 (got $rc): $(tail -3 "$WORK/err")" [ "$rc" -eq 0 ]
for row in "H1 p50" "H3 p50" "H5 p50" "H8 p50" "latency p99" "requests/s" "packets/s (wire)" \
  "Mbit/s out (wire)" "Mbit/s in (wire)" "overhead vs first"; do
  check "table row '$row'" grep -q "^$row" "$WORK/out"
done
check "guest checks passed in all three runs" \
  [ "$(grep -Ec 'guest checks: [1-9][0-9]* passed, 0 failed' "$WORK/out")" -eq 3 ]
check "every peer payload intact" bash -c "! grep -E 'with a bad payload' '$WORK/out' | grep -vq ' 0 with a bad payload'"
order() { # order CSV WANT: requests whose hop sequence differs from WANT
  awk -F, -v want="$2" 'NR > 1 && $3 == "hop" { s[$1] = s[$1] substr($2, 2) }
    END { for (r in s) if (s[r] != want) bad++; print bad + 0 }' "$1"
}
count_req() { awk -F, 'NR > 1 && $3 == "hop" && $2 == "H1"' "$1" | wc -l; }
for a in xen-dom0 uefi-rt; do
  check "$a: every request H1..H8 in order" [ "$(order "$WORK/tr/net-rr-$a.csv" 12345678)" = 0 ]
  check "$a: 20 requests traced" [ "$(count_req "$WORK/tr/net-rr-$a.csv")" -eq 20 ]
  ordered=$(jq '[.traceEvents[] | select(.cat == "hop") | {r: .args.req, h: .name, ts}]
    | group_by(.r) | map(sort_by(.ts) | map(.h) | join("")) | map(select(. != "H1H2H3H4H5H6H7H8")) | length' \
    "$WORK/tr/net-rr-$a.json")
  check "$a: JSON hops in time order ($ordered out of order)" [ "$ordered" -eq 0 ]
done
check "native: every request H1 H4 H5 H8" [ "$(order "$WORK/tr/net-rr-native.csv" 1458)" = 0 ]
check "uefi-rt: runtime-service calls in H3" grep -q ",H3,rs_enter," "$WORK/tr/net-rr-uefi-rt.csv"
# pcap: the wire's frames as the run counted them, readable by tshark
for a in native xen-dom0 uefi-rt; do
  p=$WORK/tr/net-rr-$a.pcap
  check "$a: pcap written" [ -s "$p" ]
  reported=$(sed -n "/^== $a\$/,/^== /s/^net: pcap .*: \([0-9]*\) frames/\1/p" "$WORK/out")
  n=$(tshark -r "$p" 2>/dev/null | wc -l)
  check "$a: tshark lists $n frames = reported $reported = 40" [ "$n" = "$reported" ] && [ "$n" -eq 40 ]
  sizes=$(tshark -r "$p" -T fields -e frame.len 2>/dev/null | sort -n | uniq -c | awk '{ print $1 "x" $2 }' | tr '\n' ' ')
  check "$a: 20 frames of 64 and 20 of 1514 bytes ($sizes)" [ "$sizes" = "20x64 20x1514 " ]
  check "$a: EtherType 0x88b5" [ "$(tshark -r "$p" -T fields -e eth.type 2>/dev/null | sort -u)" = "0x88b5" ]
done
check "CSV has the wire rates" grep -q "^xen-dom0,mbps_out" "$WORK/cmp.csv"
finish
