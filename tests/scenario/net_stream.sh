#!/usr/bin/env bash
# Stream throughput: frames to a sink that checks every payload, for each
# architecture; two domUs share one NIC under xen-dom0; netback's TX copy
# mode works too; a receive stream from the far host, each frame's request
# starting at the NIC; the same seed gives byte-identical traces and pcaps.
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
# receive stream: the far host's frames start their requests at the NIC
RX=$SRC/workloads/scenarios/net-rx.lua
for a in native xen-dom0 uefi-rt; do
  set +e
  "$HOPSIM" run "$RX" --quiet --set arch="$a" --set count=30 --trace-csv "$WORK/rx-$a.csv" \
    >"$WORK/rx-$a.out" 2>"$WORK/rx-$a.err"
  rc=$?
  set -e
  check "rx $a: exits 0 (got $rc): $(tail -2 "$WORK/rx-$a.err")" [ "$rc" -eq 0 ]
  check "rx $a: 30 frames checked" grep -Eq "guest checks: [1-9][0-9]* passed, 0 failed" "$WORK/rx-$a.out"
  want=5678
  [ "$a" = native ] && want=58
  n=$(awk -F, -v want="$want" 'NR > 1 && $3 == "hop" { s[$1] = s[$1] substr($2, 2) }
    END { for (r in s) if (s[r] == want) n++; print n + 0 }' "$WORK/rx-$a.csv")
  check "rx $a: 30 requests H$want, starting at the NIC ($n)" [ "$n" -eq 30 ]
done
# INTx: without MSI the e1000 driver falls back to the Interrupt Line's GSI
for a in native xen-dom0; do
  set +e
  "$HOPSIM" run "$SRC/workloads/scenarios/net-rr.lua" --set arch="$a" --set msi=false \
    --set count=10 >"$WORK/intx-$a.out" 2>&1
  rc=$?
  set -e
  check "INTx $a: exits 0 (got $rc)" [ "$rc" -eq 0 ]
  check "INTx $a: the driver uses INTx" grep -q "e1000: .*INTx pirq" "$WORK/intx-$a.out"
  check "INTx $a: checks passed" grep -Eq "guest checks: [1-9][0-9]* passed, 0 failed" "$WORK/intx-$a.out"
done
for a in xen-dom0 uefi-rt; do
  for i in 1 2; do
    run "det$i" --set arch="$a" --set count=20 --trace-json "$WORK/t$i.json" \
      --trace-csv "$WORK/t$i.csv" --pcap "$WORK/p$i.pcap"
  done
  check "$a determinism: JSON identical" cmp -s "$WORK/t1.json" "$WORK/t2.json"
  check "$a determinism: CSV identical" cmp -s "$WORK/t1.csv" "$WORK/t2.csv"
  check "$a determinism: pcap identical" cmp -s "$WORK/p1.pcap" "$WORK/p2.pcap"
  check "$a determinism: the pcap is not empty" [ -s "$WORK/p1.pcap" ]
done
finish
