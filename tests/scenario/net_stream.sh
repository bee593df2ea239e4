#!/usr/bin/env bash
# Stream throughput: frames to a sink that checks every payload, for each
# architecture; two domUs share one NIC under xen-dom0; netback's TX copy
# mode works too; the same seed gives byte-identical traces and pcaps.
source "$(dirname "$0")/lib.bash"
cd "$WORK"
SCN=$SRC/workloads/scenarios/net-stream.lua
run() { # run NAME ARGS...: exit code in $WORK/NAME.rc
  local name=$1; shift
  set +e
  "$HOPSIM" run "$SCN" --quiet "$@" >"$WORK/$name.out" 2>"$WORK/$name.err"
  echo $? >"$WORK/$name.rc"
  set -e
}
for a in native xen-dom0 uefi-rt; do
  run "$a" --set arch="$a" --set count=40
  check "$a: exits 0: $(tail -2 "$WORK/$a.err")" [ "$(cat "$WORK/$a.rc")" -eq 0 ]
  check "$a: guest checks passed" grep -Eq "guest checks: [1-9][0-9]* passed, 0 failed" "$WORK/$a.out"
  check "$a: the sink got 80 test frames, none bad" grep -q "(80 test frames, 0 with a bad payload)" "$WORK/$a.out"
done
run two --set domus=2 --set count=30
check "two domUs: exits 0" [ "$(cat "$WORK/two.rc")" -eq 0 ]
check "two domUs: the sink got 120 test frames" grep -q "(120 test frames, 0 with a bad payload)" "$WORK/two.out"
run copy --set grants=copy --set count=20
check "grants=copy: exits 0" [ "$(cat "$WORK/copy.rc")" -eq 0 ]
check "grants=copy: 40 test frames, none bad" grep -q "(40 test frames, 0 with a bad payload)" "$WORK/copy.out"
for i in 1 2; do
  run "det$i" --set count=20 --trace-json "$WORK/t$i.json" --trace-csv "$WORK/t$i.csv" --pcap "$WORK/p$i.pcap"
done
check "determinism: JSON identical" cmp -s "$WORK/t1.json" "$WORK/t2.json"
check "determinism: CSV identical" cmp -s "$WORK/t1.csv" "$WORK/t2.csv"
check "determinism: pcap identical" cmp -s "$WORK/p1.pcap" "$WORK/p2.pcap"
finish
