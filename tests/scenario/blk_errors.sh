#!/usr/bin/env bash
# Bad block-path input fails at start with a clear message and exit 2:
# a missing disk image, a truncated one, an unknown architecture.
source "$(dirname "$0")/lib.bash"
cd "$WORK"
cat >"$WORK/s.lua" <<'LUA'
local blk = import "lib/blk.lua"
local arch = param("arch", "xen-dom0")
local create = param("create", false)
local rw = param("rw", "randread")
machine { cpus = 2, memory_mb = 128 }
blk.place { arch = arch, disk = { type = "ssd", image = "d.img", size_mb = 8, create = create },
            fio = { rw = rw, requests = 4, verify = 1 } }
LUA
expect2() { # expect2 WHAT PATTERN ARGS...
  local what=$1 pat=$2; shift 2
  set +e
  "$HOPSIM" run "$WORK/s.lua" --quiet "$@" >/dev/null 2>"$WORK/e"
  local rc=$?
  set -e
  check "$what exits 2 (got $rc)" [ "$rc" -eq 2 ]
  check "$what message: $(cat "$WORK/e")" grep -q "$pat" "$WORK/e"
}
# the scenario's disk image lies in the run's output directory (hopsim-out/ by default)
rm -rf hopsim-out
expect2 "missing image" "hopsim-out/d.img"
mkdir -p hopsim-out
head -c 1000 /dev/zero >hopsim-out/d.img
expect2 "truncated image" "truncated or corrupt"
# a disk the scenario did not create is read-only: the guest's writes fail, the file is unchanged
rm -f hopsim-out/d.img
"$HOPSIM" run "$WORK/s.lua" --quiet --set create=true --set rw=randwrite >/dev/null 2>"$WORK/e"
check "created disk written: $(cat "$WORK/e")" [ -s hopsim-out/d.img ]
cp hopsim-out/d.img "$WORK/before.img"
set +e
"$HOPSIM" run "$WORK/s.lua" --quiet --set rw=randwrite --set arch=native >"$WORK/o" 2>"$WORK/e"
rc=$?
set -e
check "writes to a read-only disk fail the run (got $rc)" [ "$rc" -eq 1 ]
check "read-only disk unchanged" cmp -s hopsim-out/d.img "$WORK/before.img"
"$HOPSIM" run "$WORK/s.lua" --quiet --set rw=randwrite --rw-disk >/dev/null 2>"$WORK/e"
check "--rw-disk: writes succeed: $(cat "$WORK/e")" [ $? -eq 0 ]
# --out moves the scenario's files; a scenario path leaving it is refused
"$HOPSIM" run "$WORK/s.lua" --quiet --set create=true --out "$WORK/o2" >/dev/null 2>"$WORK/e"
check "--out DIR holds the created disk" [ -s "$WORK/o2/d.img" ]
cat >"$WORK/esc.lua" <<'LUA'
machine { cpus = 1, memory_mb = 64 }
domain { name = "a", image = "pingpong.elf", memory_mb = 8, args = { role = "back" } }
output { trace_json = "../../../../../../../tmp/hopsim-escape.json" }
LUA
set +e
"$HOPSIM" run "$WORK/esc.lua" --quiet >/dev/null 2>"$WORK/e"
rc=$?
set -e
check "escaping output path exits 2 (got $rc)" [ "$rc" -eq 2 ]
check "escaping output path message: $(cat "$WORK/e")" \
  grep -q "esc.lua:3: trace_json: '../../../../../../../tmp/hopsim-escape.json': a path with '..'" "$WORK/e"
expect2 "unknown arch" "s.lua:6: arch: unknown architecture 'vax'" --set arch=vax
# values that broke time or memory (issue 10): clear errors at load, exit 2
R=$SRC/workloads/scenarios/blk-randread.lua
expect_val() { # expect_val WHAT PATTERN ARGS...
  local what=$1 pat=$2; shift 2
  set +e
  "$HOPSIM" run "$R" --quiet --out "$WORK/v" "$@" >/dev/null 2>"$WORK/e"
  local rc=$?
  set -e
  check "$what exits 2 (got $rc)" [ "$rc" -eq 2 ]
  check "$what message: $(cat "$WORK/e")" grep -q "$pat" "$WORK/e"
}
expect_val "domus=0" "blk-randread.lua:[0-9]*: domus: expected an integer from 1 to 64, got 0" --set domus=0
expect_val "domus=-1" "domus: expected an integer from 1 to 64, got -1" --set domus=-1
expect_val "clock_ghz=1e-20" "machine.clock_ghz: 1e-20 is out of range (0.1..10)" \
  --set machine.clock_ghz=1e-20
expect_val "time_limit_ms=1e-300" "time_limit_ms: 1e-300 is below the 1 ps resolution" \
  --set scenario.time_limit_ms=1e-300
# impossible protected-range layouts and unknown flash parts are refused at start
pr_case() { # pr_case WHAT PATTERN FLASH-FIELDS
  cat >"$WORK/f.lua" <<LUA
machine { cpus = 1, memory_mb = 64 }
flash { $3 }
domain { name = "rt", runtime_image = "hopsim-rt", mode = "rt", privileged = true }
LUA
  set +e
  "$HOPSIM" run "$WORK/f.lua" --quiet >/dev/null 2>"$WORK/e"
  local rc=$?
  set -e
  check "$1 exits 2 (got $rc)" [ "$rc" -eq 2 ]
  check "$1 message: $(cat "$WORK/e")" grep -q "$2" "$WORK/e"
}
pr_case "PR base > limit" "f.lua:2: protect: range 1: base 0x900000 > limit 0x8fffff" \
  "protect = { { base = 0x900000, limit = 0x8fffff } }"
pr_case "PR unaligned" "f.lua:2: protect: range 1: base must be 4 KiB aligned" \
  "protect = { { base = 0x800100, limit = 0xffffff } }"
pr_case "PR beyond the flash" "f.lua:2: flash: protect: " \
  "protect = { { base = 0x800000, limit = 0x1ffffff } }"
pr_case "six PRs" "protect: 6 ranges: the controller has PR0-PR4 only" \
  "protect = { {base=0,limit=0xfff},{base=0,limit=0xfff},{base=0,limit=0xfff},{base=0,limit=0xfff},{base=0,limit=0xfff},{base=0,limit=0xfff} }"
pr_case "unknown part" "W25Q999" "part = 'W25Q999'"
finish
