#!/usr/bin/env bash
# xen-idd: the backend image in a driver domain that is not dom0. The
# toolstack assigns the device to the IDD (dom0 no longer sees it in config
# space), the backend directories name the IDD's domid, the frontends
# connect to it, every request has its eight hops in order, and the run
# ends with dom0 powering off after the others are released.
source "$(dirname "$0")/lib.bash"
cd "$WORK"
"$HOPSIM" compare "$SRC/workloads/scenarios/blk-randread.lua" --arch native,xen-dom0,xen-idd,uefi-rt \
  --set requests=10 --set disk_type=ssd >"$WORK/cmp" 2>"$WORK/err"
rc=$?
check "blk compare exits 0 (got $rc): $(tail -3 "$WORK/err")" [ "$rc" -eq 0 ]
check "four columns" grep -Eq '^ +native +xen-dom0 +xen-idd +uefi-rt$' "$WORK/cmp"
set +e
"$HOPSIM" run "$SRC/workloads/scenarios/blk-randread.lua" --set arch=xen-idd --set requests=30 \
  --set disk_type=ssd --trace-csv "$WORK/blk.csv" >"$WORK/out" 2>"$WORK/err"
rc=$?
set -e
check "blk run exits 0 (got $rc): $(tail -3 "$WORK/err")" [ "$rc" -eq 0 ]
check "toolstack assigns the HBA to the IDD" \
  grep -Eq '^toolstack: pci-assignable-add 0000:00:[0-9a-f]{2}\.0 \(sas_hba\); pci-attach to idd \(d1\)$' "$WORK/out"
check "dom0 sees no PCI function" grep -q '^\[dom0\] dom0: 0 PCI functions visible on bus 0' "$WORK/out"
check "blkfront's backend is the IDD (dom1)" grep -q '^\[domu1\] blkfront: .*backend dom1,' "$WORK/out"
check "the IDD's blkback serves dom2" grep -q '^\[idd\] blkback: dom2 vbd 51712 connected' "$WORK/out"
check "the IDD's kernel is not read from the passed-through disk" \
  bash -c "! grep -q '^boot: idd:' '$WORK/out'"
check "dom0 powers off last" grep -q '^\[dom0\] dom0: every other domain has been released' "$WORK/out"
check "every domain of the xen-idd run powered off" \
  [ "$(grep -Ec '^  d[0-9]+ +[a-z0-9]+ +poweroff' "$WORK/out")" -eq 3 ]
bad_order=$(awk -F, 'NR > 1 && $3 == "hop" { s[$1] = s[$1] substr($2, 2) }
  END { for (r in s) if (s[r] != "12345678") bad++; print bad + 0 }' "$WORK/blk.csv")
check "xen-idd: every request H1..H8 in order ($bad_order not)" [ "$bad_order" -eq 0 ]
n=$(awk -F, 'NR > 1 && $3 == "hop" && $2 == "H1"' "$WORK/blk.csv" | wc -l)
check "xen-idd traced 30 requests ($n)" [ "$n" -eq 30 ]

"$HOPSIM" compare "$SRC/workloads/scenarios/net-rr.lua" --arch native,xen-dom0,xen-idd,uefi-rt \
  --set count=5 >"$WORK/ncmp" 2>"$WORK/nerr"
rc=$?
check "net compare exits 0 (got $rc): $(tail -3 "$WORK/nerr")" [ "$rc" -eq 0 ]
check "net: four columns" grep -Eq '^ +native +xen-dom0 +xen-idd +uefi-rt$' "$WORK/ncmp"
set +e
"$HOPSIM" run "$SRC/workloads/scenarios/net-rr.lua" --set arch=xen-idd --set count=10 \
  --trace-csv "$WORK/net.csv" >"$WORK/nout" 2>"$WORK/nerr"
rc=$?
set -e
check "net run exits 0 (got $rc): $(tail -3 "$WORK/nerr")" [ "$rc" -eq 0 ]
check "toolstack assigns the NIC to the IDD" \
  grep -Eq '^toolstack: pci-assignable-add 0000:00:[0-9a-f]{2}\.0 \(e1000\); pci-attach to idd \(d1\)$' "$WORK/nout"
check "netfront's backend is the IDD" grep -q '^\[domu1\] netfront: vif0: .*backend dom1,' "$WORK/nout"
check "no bad answers" grep -q '0 bad answers, 0 lost' "$WORK/nout"
bad_order=$(awk -F, 'NR > 1 && $3 == "hop" { s[$1] = s[$1] substr($2, 2) }
  END { for (r in s) if (s[r] != "12345678") bad++; print bad + 0 }' "$WORK/net.csv")
check "net xen-idd: every request H1..H8 in order ($bad_order not)" [ "$bad_order" -eq 0 ]
"$HOPSIM" size-report "$BUILD/guest" >"$WORK/sz"
idd=$(awk '$1 == "xen-idd" { print $2, $3 }' "$WORK/sz")
dom0=$(awk '$1 == "xen-dom0" { print $3 }' "$WORK/sz")
check "size-report: xen-idd's privileged image is dom0.elf ($idd)" [ "${idd%% *}" = dom0.elf ]
check "size-report: less privileged code than xen-dom0 (${idd#* } < $dom0)" [ "${idd#* }" -lt "$dom0" ]
finish
