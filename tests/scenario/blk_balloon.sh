#!/usr/bin/env bash
# Ballooning under I/O (blk-balloon.lua, docs/balloon.md): the toolstack
# lowers domu1's target, raises domu2's, then moves the memory back, while
# both read through blkback. Each balloon driver reaches each target; domu2
# grows only by what domu1 gave back (the host's RAM is exactly what the
# domains start with: its free memory never goes below zero and no domain
# passes max_mem when it grows); all I/O completes; the table and the CSV
# show it; the same seed gives byte-identical traces and reservation CSVs.
source "$(dirname "$0")/lib.bash"
S=$SRC/workloads/scenarios/blk-balloon.lua
cd "$WORK"
for i in 1 2; do
  set +e
  "$HOPSIM" run "$S" --set requests=400 --out "$WORK/o$i" --trace-csv "$WORK/t$i.csv" \
    >"$WORK/out$i" 2>"$WORK/err$i"
  rc=$?
  set -e
  check "run $i: exit 0 (got $rc): $(tail -3 "$WORK/err$i")" [ "$rc" -eq 0 ]
done
O=$WORK/out1
C=$WORK/o1/reservation.csv
check "all requests done" grep -q "requests: 800 done, 0 in flight" "$O"
check "domu1 took its target and reached it" grep -q "\[domu1\] balloon: at target, holds 16384 KiB" "$O"
check "domu2 reached 32 MiB" grep -q "\[domu2\] balloon: at target, holds 32768 KiB" "$O"
check "both back at 24 MiB" [ "$(grep -c "reservation: domu[12]: holds 24576 KiB" "$O")" -eq 2 ]
check "pages given back and populated" grep -q "reservation: domu2: .*2048 pages given back, 2048 populated" "$O"
check "the table is printed" grep -q "^reservation (MiB each domain holds" "$O"
check "the table shows domu1 at 16 MiB while domu2 holds 32" grep -Eq "^ +[0-9.]+ +16\.00 \(16\.00\) +32\.00 \(32\.00\) +0\.00$" "$O"
check "CSV written" [ -s "$C" ]
check "CSV header" grep -q "^time_us,domain,domid,tot_pages,tot_kb,max_kb,target_kb$" "$C"
# never more held than the host has (72 MiB), and a domain that grew stayed within max_mem
bad=$(awk -F, 'NR > 1 { held[$2] = $5; s = 0; for (d in held) s += held[d]; if (s > 73728) print "over the host: " $0;
  if ($5 > prev[$2] && prev[$2] != "" && $5 > $6) print "above max_mem: " $0; prev[$2] = $5 }' "$C")
check "reservations within the host and max_mem ($bad)" [ -z "$bad" ]
check "domu2 at 8192 pages in the CSV" grep -q ",domu2,2,8192,32768," "$C"
check "the memory_op hypercalls are traced" grep -q "memory_op" "$WORK/t1.csv"
check "same seed: traces identical" cmp -s "$WORK/t1.csv" "$WORK/t2.csv"
check "same seed: reservation CSVs identical" cmp -s "$C" "$WORK/o2/reservation.csv"
# a target above maxmem is refused at load, as xl refuses one above static-max
sed 's/target_mb = MEM + move_mb }/target_mb = MEM + move_mb + 1 }/' "$S" >"$WORK/over.lua"
set +e
"$HOPSIM" run "$WORK/over.lua" >"$WORK/oout" 2>"$WORK/oerr"
rc=$?
set -e
check "target above maxmem: exit 2 (got $rc)" [ "$rc" -eq 2 ]
check "target above maxmem: file:line: key ($(cat "$WORK/oerr"))" \
  grep -q "over.lua:[0-9]*: target_mb: 33792 KiB is above domu2's maxmem (32768 KiB)" "$WORK/oerr"
finish
