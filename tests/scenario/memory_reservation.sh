#!/usr/bin/env bash
# Reservations (sim/xen/memory.c) from inside a guest
# (workloads/tests/balloon_test.c, memory-reservation.lua): every check
# passes -- current/maximum reservation, the memory map, decrease and
# populate (scrubbed frames), ballooning to max_pages and no further,
# hostile requests (bad extent_order, huge nr_extents, bad handles, another
# or no domain) answered with Xen's results -- and the run reports the
# reservation it ended with. With touch=true the guest reads a page it gave
# back and crashes on that access, naming it; the other domain runs on.
source "$(dirname "$0")/lib.bash"
S=$SRC/workloads/scenarios/memory-reservation.lua
cd "$WORK"
set +e
"$HOPSIM" run "$S" --out "$WORK/o" --trace-csv "$WORK/t.csv" >"$WORK/out" 2>"$WORK/err"
rc=$?
set -e
check "exit 0 (got $rc): $(tail -3 "$WORK/err")" [ "$rc" -eq 0 ]
check "checks passed, none failed" grep -Eq "guest checks: (4[0-9]|[5-9][0-9]) passed, 0 failed" "$WORK/out"
check "ballooned to max_pages" grep -q "holds 3072 pages of 3072" "$WORK/out"
check "reservation line: 12 MiB held" grep -q "reservation: bt: holds 12288 KiB" "$WORK/out"
check "the refused ops are traced as guest errors" grep -q "guest_error" "$WORK/t.csv"
set +e
"$HOPSIM" run "$S" --set touch=true --quiet >"$WORK/tout" 2>"$WORK/terr"
rc=$?
set -e
check "touch: exit 1 (got $rc)" [ "$rc" -eq 1 ]
check "touch: crash on the page given back: $(grep crash "$WORK/terr" | head -1)" \
  grep -q "domain bt (d1) crash at .*: read of unpopulated RAM page" "$WORK/terr"
check "touch: the checks before it passed" grep -Eq "guest checks: [1-9][0-9]* passed, 0 failed" "$WORK/tout"
check "touch: the other domain powered off" grep -Eq "d2 +other +poweroff" "$WORK/tout"
finish
