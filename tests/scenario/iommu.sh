#!/usr/bin/env bash
# The IOMMU (machine.iommu / --set iommu=true): a driver domain's device
# reaches its own memory and what it maps by grant, every grant unmap waits
# for a page-selective IOTLB invalidation, and a rogue driver's DMA into a
# frontend's memory lands without the IOMMU and faults with it (the fault
# recorded and reported); dom0's device reaches every domain either way.
source "$(dirname "$0")/lib.bash"
cd "$WORK"
set +e
run() { # run OUT ARGS...: blk-randread on an SSD
  local out=$1; shift
  "$HOPSIM" run "$SRC/workloads/scenarios/blk-randread.lua" --set requests=20 --set disk_type=ssd \
    --set disk="$WORK/d.img" "$@" >"$WORK/$out" 2>"$WORK/$out.err"
}
run idd --set arch=xen-idd --set iommu=true --trace-csv "$WORK/idd.csv"
check "xen-idd + IOMMU exits 0: $(tail -2 "$WORK/idd.err")" [ $? -eq 0 ]
check "translations with hits and misses, no fault" \
  grep -Eq '^iommu: [1-9][0-9]* translations, [1-9][0-9]* IOTLB hits, [1-9][0-9]* misses; invalidations 21 page, .* 0 DMA faults$' "$WORK/idd"
n=$(awk -F, 'NR > 1 && $3 == "iotlb_flush"' "$WORK/idd.csv" | wc -l)
check "one iotlb_flush span per grant unmap: 20 data pages + the ring ($n)" [ "$n" -eq 21 ]
bad_order=$(awk -F, 'NR > 1 && $3 == "hop" { s[$1] = s[$1] substr($2, 2) }
  END { for (r in s) if (s[r] != "12345678") bad++; print bad + 0 }' "$WORK/idd.csv")
check "every request H1..H8 in order ($bad_order not)" [ "$bad_order" -eq 0 ]

run rogue-off --set arch=xen-idd --set rogue_after=5
check "rogue IDD, no IOMMU: run ok" [ $? -eq 0 ]
check "rogue IDD, no IOMMU: the write lands in domu1's memory" \
  grep -Eq '^platform: DMA write by 00:04.0 \(owner idd\) into domu1 frame 0x[0-9a-f]+, not granted to idd$' "$WORK/rogue-off"
check "rogue IDD, no IOMMU: counted" grep -q '^dma: 1 DMA writes landed' "$WORK/rogue-off"
check "rogue IDD, no IOMMU: the HBA says ok" grep -q 'blkback: rogue DMA into bus address 0x[0-9a-f]*: ok' "$WORK/rogue-off"

run rogue-on --set arch=xen-idd --set rogue_after=5 --set iommu=true
check "rogue IDD, IOMMU: run ok" [ $? -eq 0 ]
check "rogue IDD, IOMMU: nothing lands" bash -c "! grep -q '^dma: ' '$WORK/rogue-on'"
check "rogue IDD, IOMMU: fault logged as Xen does" \
  grep -Eq '^\(XEN\) \[VT-D\]DMAR:\[DMA Write\] Request device \[0000:00:04.0\] fault addr [0-9a-f]+ \(owner idd d1\)$' "$WORK/rogue-on"
check "rogue IDD, IOMMU: fault record, reason 05h" \
  grep -Eq '^iommu: fault 0: device 00:04.0 write at 0x[0-9a-f]+: reason 05h' "$WORK/rogue-on"
check "rogue IDD, IOMMU: 1 fault counted" grep -q ' 1 DMA faults$' "$WORK/rogue-on"
check "rogue IDD, IOMMU: the HBA reports a DMA error" grep -q 'rogue DMA into bus address 0x[0-9a-f]*: DMA error' "$WORK/rogue-on"
check "rogue IDD, IOMMU: the frontend's I/O is intact" grep -q 'guest checks: 20 passed, 0 failed' "$WORK/rogue-on"

run rogue-dom0 --set arch=xen-dom0 --set rogue_after=5 --set iommu=true
check "rogue dom0, IOMMU: run ok" [ $? -eq 0 ]
check "rogue dom0, IOMMU: lands anyway (hardware domain maps all RAM)" \
  grep -q '^dma: 1 DMA writes landed' "$WORK/rogue-dom0"
check "rogue dom0, IOMMU: no fault" grep -q ' 0 DMA faults$' "$WORK/rogue-dom0"

"$HOPSIM" run "$SRC/workloads/scenarios/net-rr.lua" --set arch=xen-idd --set iommu=true --set count=10 \
  >"$WORK/net" 2>"$WORK/net.err"
check "net xen-idd + IOMMU exits 0" [ $? -eq 0 ]
check "net: no fault, no bad answer" bash -c "grep -q ' 0 DMA faults\$' '$WORK/net' && grep -q '0 bad answers' '$WORK/net'"
for i in 1 2; do
  rm -f "$WORK/d.img"
  run det$i --set arch=xen-idd --set iommu=true --set rogue_after=5 --quiet \
    --trace-json "$WORK/det$i.json" --trace-csv "$WORK/det$i.csv"
done
check "IOMMU run deterministic: JSON" cmp -s "$WORK/det1.json" "$WORK/det2.json"
check "IOMMU run deterministic: CSV" cmp -s "$WORK/det1.csv" "$WORK/det2.csv"
"$HOPSIM" run "$SRC/workloads/scenarios/blk-randread.lua" --set iommu=maybe >/dev/null 2>"$WORK/bad"
check "iommu=maybe is refused (exit 2)" [ $? -eq 2 ]
finish
