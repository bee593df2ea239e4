#!/usr/bin/env bash
# A block scenario with the same seed gives byte-identical traces.
source "$(dirname "$0")/lib.bash"
cd "$WORK"
for i in 1 2; do
  rm -f "$WORK/d.img"
  "$HOPSIM" run "$SRC/workloads/scenarios/blk-randrw-verify.lua" --quiet --set requests=60 \
    --set disk="$WORK/d.img" --trace-json "$WORK/t$i.json" --trace-csv "$WORK/t$i.csv" >/dev/null
  cp "$WORK/d.img" "$WORK/d$i.img"
done
check "JSON identical" cmp -s "$WORK/t1.json" "$WORK/t2.json"
check "CSV identical" cmp -s "$WORK/t1.csv" "$WORK/t2.csv"
check "disk images identical" cmp -s "$WORK/d1.img" "$WORK/d2.img"
finish
