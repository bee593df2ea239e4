#!/usr/bin/env bash
# The labs of docs/labs/ pass as shipped (every expectation prints pass, exit
# 0), in every variant their pages ask for; and a lab whose expectation fails
# exits 1 and prints the failing expectation with its measured value.
source "$(dirname "$0")/lib.bash"
HOPSIM=$(realpath "$HOPSIM")
L=$SRC/docs/labs
cd "$WORK"
lab() { # lab NAME LUA [--set ...]: must pass
  local name=$1 lua=$2
  shift 2
  local rc=0
  "$HOPSIM" run "$L/$lua" --quiet "$@" >"$name.out" 2>"$name.err" || rc=$?
  check "$name: exit 0 (got $rc): $(grep -h 'FAIL\|hopsim:' "$name.out" "$name.err" | head -3)" [ "$rc" -eq 0 ]
  check "$name: expectations printed, all pass" \
    bash -c "grep -q '^expect: .*: pass$' '$name.out' && ! grep -q ': FAIL$' '$name.out'"
}
lab lab1 lab1-eight-hops.lua
lab lab2-map lab2-grants.lua --set grants=map
lab lab2-copy lab2-grants.lua --set grants=copy
lab lab2-persistent lab2-grants.lua --set grants=persistent
lab lab3-dom0 lab3-runtime-service.lua --set arch=xen-dom0
lab lab3-rt lab3-runtime-service.lua
lab lab3-notifying lab3-runtime-service.lua --set rt_cpu=notifying
lab lab3-setvariable lab3-runtime-service.lua --set setvariable_ms=2

# a failing expectation: lab 1 cut short by a time limit
rc=0
"$HOPSIM" run "$L/lab1-eight-hops.lua" --quiet --set scenario.time_limit_us=500 >cut.out 2>cut.err || rc=$?
check "cut-short lab: exit 1 (got $rc)" [ "$rc" -eq 1 ]
check "cut-short lab: the failing expectation with its measured value" \
  grep -Eq "^expect: .*lab1-eight-hops.lua:[0-9]+: requests == 20: measured [0-9]+: FAIL$" cut.out
check "cut-short lab: says how many failed" grep -Eq "[0-9]+ of [0-9]+ expectation\(s\) not met" cut.err
finish
