#!/usr/bin/env bash
# A block scenario with the same seed gives byte-identical traces; another
# seed gives another trace (the SSD's service times and fio's offsets are
# drawn from streams of the scenario's seed).
source "$(dirname "$0")/lib.bash"
cd "$WORK"
for arch in xen-dom0 xen-idd uefi-rt; do
  for i in 1 2; do
    rm -f "$WORK/d.img"
    "$HOPSIM" run "$SRC/workloads/scenarios/blk-randrw-verify.lua" --quiet --set requests=60 \
      --set arch=$arch --set disk="$WORK/d.img" --trace-json "$WORK/t$i.json" \
      --trace-csv "$WORK/t$i.csv" | grep -v "host [0-9.]* s" >"$WORK/o$i"
    cp "$WORK/d.img" "$WORK/d$i.img"
  done
  check "$arch: JSON identical" cmp -s "$WORK/t1.json" "$WORK/t2.json"
  check "$arch: CSV identical" cmp -s "$WORK/t1.csv" "$WORK/t2.csv"
  check "$arch: report identical" cmp -s "$WORK/o1" "$WORK/o2"
  check "$arch: disk images identical" cmp -s "$WORK/d1.img" "$WORK/d2.img"
  rm -f "$WORK/d.img"
  "$HOPSIM" run "$SRC/workloads/scenarios/blk-randrw-verify.lua" --quiet --set requests=60 \
    --set arch=$arch --set disk="$WORK/d.img" --seed 2 --trace-json "$WORK/t3.json" >/dev/null
  check "$arch: another seed, another trace" bash -c "! cmp -s '$WORK/t1.json' '$WORK/t3.json'"
done
finish
