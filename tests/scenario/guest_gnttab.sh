#!/usr/bin/env bash
# Guest-side grant-table and event-channel error tests: run inside the
# simulator, report through trace marks; every check must pass, the bad
# grant reference must come back as GNTST_bad_gntref, and the run completes.
source "$(dirname "$0")/lib.bash"
set +e
"$HOPSIM" run "$SRC/workloads/scenarios/gnttab-errors.lua" --trace-csv "$WORK/t.csv" >"$WORK/out" 2>"$WORK/err"
rc=$?
set -e
check "exit 0 (got $rc): $(tail -3 "$WORK/err")" [ "$rc" -eq 0 ]
check "checks passed, none failed" grep -Eq "guest checks: [1-9][0-9]* passed, 0 failed" "$WORK/out"
check "both domains powered off" [ "$(grep -c poweroff "$WORK/out")" -ge 2 ]
check "bad gntref traced" grep -q "invalid grant reference" "$WORK/t.csv"
finish
