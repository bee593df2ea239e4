#!/usr/bin/env bash
# Frontends connect while vCPU 0 of the backend is saturated: the backend's
# xenbus work (Linux's xenwatch kthread) runs before the ring and interrupt
# work its vCPU's handlers have pending (workloads/lib/events.h,
# events_program_priority), and each watch event is handled by what its path
# names. Eight blkfronts with 1000 reads each, copy grants, one backend vCPU,
# the RAM disk: the first frontends saturate vCPU 0 before the last ones have
# connected. Every frontend must connect and have requests in flight while
# the others do -- all eight at once, from the trace -- and the last one's first
# request must come within a bounded time of the first one's, not after the
# first frontends have finished (the waves of docs/load-study.md before this).
# The same for eight netfronts on one netback vCPU.
source "$(dirname "$0")/lib.bash"
RR="$SRC/workloads/scenarios/blk-randread.lua"
N=8
ARGS=(--set disk_type=ram --set disk="$WORK/d.img" --set domus=$N --set cpus=$((N + 1))
      --set backend_vcpus=1 --set grants=copy --set iodepth=4 --set requests=1000)
set +e
"$HOPSIM" run "$RR" "${ARGS[@]}" --trace-csv "$WORK/a.csv" >"$WORK/a.out" 2>&1
rc=$?
set -e
check "8 frontends: exit 0 ($rc)" [ "$rc" -eq 0 ]
check "8 frontends: all 8000 requests done" grep -q "^requests: 8000 done, 0 in flight" "$WORK/a.out"
conn=$(grep -c "blkback: dom[0-9]* vbd 51712 connected" "$WORK/a.out" || true)
check "8 frontends: every vbd connected ($conn)" [ "$conn" -eq $N ]

# Frontends with a request in flight (H1 start .. H8 end), swept over time: the most at once.
awk -F, '$3 == "hop" && $2 == "H1" { print $6, 1, $5 } $3 == "hop" && $2 == "H8" { print $7, 0, $5 }' \
  "$WORK/a.csv" | sort -k1,1n -k2,2n >"$WORK/ev"
peak=$(awk '{ if ($2) { if (!n[$3]++) busy++ } else if (!--n[$3]) busy--; if (busy > peak) peak = busy }
            END { print peak + 0 }' "$WORK/ev")
check "8 frontends: all 8 have requests in flight at once (peak $peak)" [ "$peak" -eq $N ]
# The last frontend's first request, against the first frontend's first and last.
read -r first_start last_first first_end < <(awk -F, '
  $3 == "hop" && $2 == "H1" { if (!($5 in fs) || $6 < fs[$5]) fs[$5] = $6 }
  $3 == "hop" && $2 == "H8" { if ($7 > le[$5]) le[$5] = $7 }
  END { a = -1; b = -1; c = -1
        for (d in fs) { if (a < 0 || fs[d] < a) a = fs[d]; if (fs[d] > b) b = fs[d] }
        for (d in le) if (c < 0 || le[d] < c) c = le[d]
        printf "%d %d %d\n", a / 1e6, b / 1e6, c / 1e6 }' "$WORK/a.csv")
spread=$((last_first - first_start))
echo "first request ${first_start} us, last frontend's first ${last_first} us, first frontend done ${first_end} us"
check "8 frontends: the last starts within 5 ms of the first (${spread} us)" [ "$spread" -lt 5000 ]
check "8 frontends: the last starts before any has finished" [ "$last_first" -lt "$first_end" ]
# The mechanism was exercised: vCPU 0 had handler work pending when xenwatch ran.
deferred=$(sed -n 's/.*backend: xenwatch: woken [0-9]* times, \([0-9]*\) handler runs deferred.*/\1/p' \
  "$WORK/a.out" | head -1)
check "8 frontends: ring/interrupt work deferred behind xenwatch (${deferred:-none})" \
  [ "${deferred:-0}" -gt 0 ]

"$HOPSIM" run "$RR" "${ARGS[@]}" --trace-csv "$WORK/b.csv" >/dev/null 2>&1 || true
check "8 frontends: same seed, byte-identical trace" cmp -s "$WORK/a.csv" "$WORK/b.csv"

# netback shares the loop: eight netfronts streaming through one backend vCPU at 10 GbE.
set +e
"$HOPSIM" run "$SRC/workloads/scenarios/net-stream.lua" --set domus=$N --set cpus=$((N + 1)) \
  --set gbps=10 --set count=500 --trace-csv "$WORK/n.csv" >"$WORK/n.out" 2>&1
rc=$?
set -e
check "8 netfronts: exit 0 ($rc)" [ "$rc" -eq 0 ]
conn=$(grep -c "netback: dom[0-9]* vif 0 connected" "$WORK/n.out" || true)
check "8 netfronts: every vif connected ($conn)" [ "$conn" -eq $N ]
peak=$(awk -F, '$3 == "hop" && $2 == "H1" { print $6, 1, $5 } $3 == "hop" && $2 == "H8" { print $7, 0, $5 }' \
  "$WORK/n.csv" | sort -k1,1n -k2,2n |
  awk '{ if ($2) { if (!n[$3]++) busy++ } else if (!--n[$3]) busy--; if (busy > peak) peak = busy }
       END { print peak + 0 }')
check "8 netfronts: all 8 have frames in flight at once (peak $peak)" [ "$peak" -eq $N ]
finish
