#!/usr/bin/env bash
# Bad block-path input fails at start with a clear message and exit 2:
# a missing disk image, a truncated one, an unknown architecture.
source "$(dirname "$0")/lib.bash"
cd "$WORK"
cat >"$WORK/s.lua" <<'LUA'
local blk = import "lib/blk.lua"
local arch = param("arch", "xen-dom0")
local create = param("create", false)
machine { cpus = 2, memory_mb = 128 }
blk.place { arch = arch, disk = { type = "ssd", image = "d.img", size_mb = 8, create = create },
            fio = { rw = "randread", requests = 4 } }
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
rm -f d.img
expect2 "missing image" "d.img"
head -c 1000 /dev/zero >d.img
expect2 "truncated image" "truncated or corrupt"
expect2 "unknown arch" "s.lua:5: arch: unknown architecture 'vax'" --set arch=vax
finish
