#!/usr/bin/env bash
# expect{} end to end: met expectations print "pass" and exit 0; a failing
# one prints its measured value and FAIL and the run exits 1 (a run cut
# short by its time limit with requests missing is caught); a misspelt
# metric stops at load with file:line and a suggestion (exit 2).
source "$(dirname "$0")/lib.bash"
pp() { # pp FILE EXPECT-LINE: pingpong with 20 rounds and the given expect line
  sed 's/param("rounds", 100/param("rounds", 20/' "$SRC/workloads/scenarios/pingpong.lua" >"$1"
  echo "$2" >>"$1"
}
pp "$WORK/ok.lua" 'expect { "requests == 20", "request.p99 < 1ms", "dom.ping.state == poweroff", "guest_checks.failed == 0" }'
rc=0
"$HOPSIM" run "$WORK/ok.lua" --quiet >"$WORK/out.txt" 2>"$WORK/err.txt" || rc=$?
check "met expectations: exit 0 (got $rc): $(cat "$WORK/err.txt")" [ "$rc" -eq 0 ]
check "four pass lines" [ "$(grep -c '^expect: .*: pass$' "$WORK/out.txt")" -eq 4 ]
check "measured value shown" grep -q "ok.lua:30: requests == 20: measured 20: pass" "$WORK/out.txt"

pp "$WORK/bad.lua" 'expect { "requests >= 500", "request.p99 < 1ms" }'
rc=0
"$HOPSIM" run "$WORK/bad.lua" --quiet >"$WORK/out.txt" 2>"$WORK/err.txt" || rc=$?
check "failed expectation: exit 1 (got $rc)" [ "$rc" -eq 1 ]
check "failing line with measured value" grep -q "bad.lua:30: requests >= 500: measured 20: FAIL" "$WORK/out.txt"
check "run failed message" grep -q "1 of 2 expectation(s) not met" "$WORK/err.txt"

# a time limit that cuts the run short: the requests expectation fails it
rc=0
"$HOPSIM" run "$WORK/ok.lua" --quiet --set scenario.time_limit_us=40 >"$WORK/out.txt" 2>&1 || rc=$?
check "cut short: exit 1 (got $rc)" [ "$rc" -eq 1 ]
check "cut short: requests FAIL" grep -Eq "requests == 20: measured [0-9]+: FAIL" "$WORK/out.txt"

pp "$WORK/typo.lua" 'expect { "reqeusts >= 5" }'
rc=0
"$HOPSIM" run "$WORK/typo.lua" --quiet >"$WORK/out.txt" 2>"$WORK/err.txt" || rc=$?
check "typo: exit 2 (got $rc)" [ "$rc" -eq 2 ]
check "typo: file:line and suggestion" grep -q "typo.lua:30: expect: unknown metric 'reqeusts' (did you mean 'requests'?)" "$WORK/err.txt"
finish
