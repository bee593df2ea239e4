#!/usr/bin/env bash
# Same scenario and seed: byte-identical traces and summary.
source "$(dirname "$0")/lib.bash"
for i in 1 2; do
  "$HOPSIM" run "$SRC/workloads/scenarios/pingpong.lua" --set rounds=10 --seed 7 --quiet \
    --trace-json "$WORK/t$i.json" --trace-csv "$WORK/t$i.csv" | grep -v "host [0-9.]* s" >"$WORK/s$i.txt"
done
check "JSON identical" cmp -s "$WORK/t1.json" "$WORK/t2.json"
check "CSV identical" cmp -s "$WORK/t1.csv" "$WORK/t2.csv"
check "summary identical" cmp -s "$WORK/s1.txt" "$WORK/s2.txt"
check "trace not empty" [ -s "$WORK/t1.csv" ]
finish
