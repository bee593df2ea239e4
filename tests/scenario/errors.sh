#!/usr/bin/env bash
# Usage and scenario errors exit 2 with a message naming file:line:key;
# a guest that fails a check makes the run exit 1.
source "$(dirname "$0")/lib.bash"
cat >"$WORK/typo.lua" <<'LUA'
machine { cpus = 2, clock_ghz = 3.0, memory_mb = 64 }
domain { name = "a", image = "pingpong.elf", memroy_mb = 4 }
LUA
set +e
"$HOPSIM" run "$WORK/typo.lua" >/dev/null 2>"$WORK/e1"; rc=$?
set -e
check "typo exits 2 (got $rc)" [ "$rc" -eq 2 ]
check "typo names file:line:key" grep -q "typo.lua:2: .*memroy_mb" "$WORK/e1"
set +e
"$HOPSIM" run "$SRC/workloads/scenarios/pingpong.lua" --set no_such_param=1 >/dev/null 2>"$WORK/e2"; rc=$?
set -e
check "unknown --set exits 2" [ "$rc" -eq 2 ]
check "unknown --set is named" grep -q "no_such_param" "$WORK/e2"
set +e
"$HOPSIM" frobnicate >/dev/null 2>&1; rc=$?
set -e
check "unknown command exits 2" [ "$rc" -eq 2 ]
set +e
"$HOPSIM" run >/dev/null 2>&1; rc=$?
set -e
check "missing scenario exits 2" [ "$rc" -eq 2 ]
check "--help exits 0" "$HOPSIM" --help >/dev/null
check "run --help exits 0" "$HOPSIM" run --help >/dev/null
cat >"$WORK/badimg.lua" <<'LUA'
machine { cpus = 1, memory_mb = 64 }
domain { name = "a", image = "notes.txt" }
LUA
echo "not an elf" >"$WORK/notes.txt"
set +e
"$HOPSIM" run "$WORK/badimg.lua" >/dev/null 2>"$WORK/e3"; rc=$?
set -e
check "non-ELF image exits 2" [ "$rc" -eq 2 ]
check "non-ELF image named" grep -q "notes.txt: not an ELF file" "$WORK/e3"
set +e
"$HOPSIM" run "$SRC/workloads/scenarios/pingpong.lua" --trace-json /nonexistent/dir/t.json >/dev/null 2>"$WORK/e4"; rc=$?
set -e
check "unwritable trace exits 2" [ "$rc" -eq 2 ]
"$HOPSIM" size-report "$BUILD/guest" >"$WORK/sz"
check "size-report lists native (block, network), xen-dom0 and uefi-rt" [ "$(grep -Ec '^(native|xen-dom0|uefi-rt) ' "$WORK/sz")" -eq 4 ]
check "size-report counts l4-vmm's microkernel by its sourced size" \
  grep -Eq '^l4-vmm +kernel \(sourced\) +- +- +microkernel .*: 9300 source lines \(8700 C \+ 600 assembly' "$WORK/sz"
check "size-report measures l4-vmm's VMM and driver server" [ "$(grep -Ec '^l4-vmm +(vmm|drvsrv)\.elf +[1-9][0-9]* ' "$WORK/sz")" -eq 2 ]
set +e
"$HOPSIM" size-report /nonexistent >/dev/null 2>&1; rc=$?
set -e
check "size-report on a missing dir exits 1" [ "$rc" -eq 1 ]
finish
