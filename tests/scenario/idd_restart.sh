#!/usr/bin/env bash
# A failed driver domain restarted under I/O (blk-idd-restart.lua): the IDD's
# blkback faults, the IDD crashes and nothing else does; the toolstack
# (on_crash=restart) rebuilds it with a new domid and re-adds the vbds;
# every blkfront reconnects and resubmits what was in flight, and every
# request completes exactly once. Without a restart the domUs' I/O stops
# (an honest deadlock) while dom0 and the domUs live on.
source "$(dirname "$0")/lib.bash"
cd "$WORK"
set +e
run() { # run OUT ARGS...
  local out=$1; shift
  rm -f "$WORK/d.img"
  "$HOPSIM" run "$SRC/workloads/scenarios/blk-idd-restart.lua" --set disk="$WORK/d.img" "$@" \
    >"$WORK/$out" 2>"$WORK/$out.err"
}
run r --trace-csv "$WORK/r.csv"
check "restart run exits 0: $(tail -2 "$WORK/r.err")" [ $? -eq 0 ]
check "the IDD crashed once" grep -Eq '^  d1 +idd +crashed' "$WORK/r"
check "the new IDD (d4) ran and powered off" grep -Eq '^  d4 +idd +poweroff' "$WORK/r"
check "dom0 and both domUs powered off" \
  [ "$(grep -Ec '^  d[0-3] +(dom0|domu1|domu2) +poweroff' "$WORK/r")" -eq 3 ]
check "toolstack restarted it" grep -q '^toolstack: idd restarted as d4 at t=' "$WORK/r"
check "toolstack passed the HBA to the new IDD" \
  grep -q '^toolstack: pci-attach 0000:00:04.0 (sas_hba) to idd (d4)$' "$WORK/r"
for fe in domu1 domu2; do
  gone=$(sed -n "s/^\[$fe\] blkfront: vbd 51712: backend dom1 gone (state 6) with \([0-9]*\) requests in flight$/\1/p" "$WORK/r")
  again=$(sed -n "s/^\[$fe\] blkfront: vbd 51712: reconnected to backend dom4 (was dom1): \([0-9]*\) requests resubmitted$/\1/p" "$WORK/r")
  check "$fe: lost its backend with requests in flight (${gone:-none})" [ "${gone:-0}" -gt 0 ]
  check "$fe: reconnected and resubmitted every one (${again:-none} of ${gone:-none})" [ "${again:--1}" = "${gone:--2}" ]
  check "$fe: all 60 requests completed, none failed" \
    grep -q "^\[$fe\] fio: job: 60 requests (60 reads, 0 writes, 0 failed)" "$WORK/r"
  check "$fe: closed with 1 reconnect" grep -q "^\[$fe\] blkfront: vbd 51712 closed (backend state 6): 1 reconnects" "$WORK/r"
done
check "trace: 120 requests done, none in flight" grep -q '^requests: 120 done, 0 in flight, 0 unknown done' "$WORK/r"
check "guest checks all pass" grep -q '^guest checks: 120 passed, 0 failed' "$WORK/r"
check "nothing DMAed outside its owner's reach" bash -c "! grep -q '^dma: ' '$WORK/r'"
n=$(awk -F, 'NR > 1 && $3 == "hop" && $2 == "H8"' "$WORK/r.csv" | cut -d, -f1 | sort | uniq -d | wc -l)
check "no request completed twice ($n)" [ "$n" -eq 0 ]

run d1 --quiet --trace-csv "$WORK/d1.csv"
run d2 --quiet --trace-csv "$WORK/d2.csv"
check "restart run deterministic" cmp -s "$WORK/d1.csv" "$WORK/d2.csv"

run i --set iommu=true
check "restart with the IOMMU exits 0" [ $? -eq 0 ]
check "restart with the IOMMU: no fault" grep -q ' 0 DMA faults$' "$WORK/i"

run x --set on_crash=destroy
check "no restart: the run fails (exit 1)" [ $? -eq 1 ]
check "no restart: an honest deadlock, the domUs wait on the dead IDD" \
  grep -q 'deadlock at t=.*domu1 vcpu0 is blocked' "$WORK/x.err"
check "no restart: only the IDD crashed" [ "$(grep -Ec '^  d[0-9]+ +[a-z0-9]+ +crashed' "$WORK/x")" -eq 1 ]
check "no restart: dom0 and the domUs still running" \
  [ "$(grep -Ec '^  d[0-9]+ +(dom0|domu1|domu2) +running' "$WORK/x")" -eq 3 ]
finish
