#!/usr/bin/env bash
# Honest endings: a deadlock (with or without a time limit) exits 1 naming
# who waits on what; the time limit reached with work unfinished exits 1
# unless the scenario declares it the normal end; a frontend that powers off
# without closing its vbd is cleaned up by the toolstack (@releaseDomain),
# its backend unmaps its grants, and the run ends with a failure naming it.
source "$(dirname "$0")/lib.bash"
cd "$WORK"
run() { # run OUT ARGS...: the exit status in $WORK/OUT.rc, stdout+stderr in $WORK/OUT
  local out=$1; shift
  set +e
  "$HOPSIM" run "$@" >"$WORK/$out" 2>&1
  echo $? >"$WORK/$out.rc"
  set -e
}
rc() { cat "$WORK/$1.rc"; }
has() { grep -q -- "$2" "$WORK/$1"; }

# Two frontends, each waiting for the other to act as its backend: nothing can wake them.
deadlock() { # deadlock FILE LIMIT_KEY
  cat >"$1" <<LUA
scenario { name = "deadlock", seed = 1 $2 }
machine { cpus = 1, clock_ghz = 3.0, memory_mb = 64 }
domain { name = "pong", image = "pingpong.elf", memory_mb = 8, cpu = 0, privileged = true,
         args = { role = "front", devid = 7 } }
domain { name = "ping", image = "pingpong.elf", memory_mb = 8, cpu = 0, args = { role = "front" } }
connect { kind = "pingpong", frontend = "ping", backend = "pong", devid = 0 }
LUA
}
deadlock dl-limit.lua ", time_limit_ms = 50"
deadlock dl-nolimit.lua ""
for f in dl-limit dl-nolimit; do
  run $f "$WORK/$f.lua" --quiet
  check "$f: exits 1" test "$(rc $f)" = 1
  check "$f: says deadlock" has $f "run failed: deadlock at t="
  check "$f: names ping and what it waits on" has $f "ping vcpu0 is blocked waiting for an event on port 1 (xenstore)"
  check "$f: names pong" has $f "pong vcpu0 is blocked"
  check "$f: not reported as the time limit" bash -c "! grep -q 'time limit' '$WORK/$f'"
done

# A ping-pong that needs far more than its time limit.
limit() { # limit FILE END
  cat >"$1" <<LUA
scenario { name = "limit", seed = 1, time_limit_ms = 1 $2 }
machine { cpus = 2, clock_ghz = 3.0, memory_mb = 64 }
domain { name = "pong", image = "pingpong.elf", memory_mb = 8, cpu = 1, privileged = true,
         args = { role = "back" } }
domain { name = "ping", image = "pingpong.elf", memory_mb = 8, cpu = 0,
         args = { role = "front", rounds = 100000 } }
connect { kind = "pingpong", frontend = "ping", backend = "pong", devid = 0 }
LUA
}
limit unfinished.lua ""
run unfinished "$WORK/unfinished.lua" --quiet
check "unfinished: exits 1" test "$(rc unfinished)" = 1
check "unfinished: says why" has unfinished "time limit (1.000 ms) reached with work unfinished: still running: pong, ping"
check "unfinished: counts the requests in flight" has unfinished "request(s) in flight"
limit declared.lua ', ends_at = "time_limit"'
run declared "$WORK/declared.lua" --quiet
check "ends_at = time_limit: exits 0" test "$(rc declared)" = 0
limit bad.lua ', ends_at = "whenever"'
run bad "$WORK/bad.lua" --quiet
check "bad ends_at: exits 2" test "$(rc bad)" = 2
check "bad ends_at: names file:line: key" has bad "bad.lua:1: ends_at"
limit nolimit.lua ''
sed -i 's/time_limit_ms = 1 /ends_at = "time_limit" /' "$WORK/nolimit.lua"
run nolimit "$WORK/nolimit.lua" --quiet
check "ends_at = time_limit without a limit: exits 2" test "$(rc nolimit)" = 2

# A frontend that powers off with its vbd connected.
for arch in xen-dom0 xen-idd uefi-rt; do
  o=vanish-$arch
  run $o "$SRC/workloads/scenarios/blk-randread.lua" --set arch=$arch --set vanish=true \
    --set disk_type=ssd --set requests=20 --set disk="$WORK/d.img" --trace-csv "$WORK/$o.csv"
  check "$arch vanish: exits 1" test "$(rc $o)" = 1
  check "$arch vanish: names the domain and the device" \
    has $o "run failed: domain domu1 shut down without closing vbd 51712 (frontend state Connected)"
  check "$arch vanish: the toolstack saw it through @releaseDomain" has $o "toolstack: @releaseDomain: domu1"
  check "$arch vanish: the backend closed the vbd" has $o "blkback: dom[0-9] vbd 51712 closed: 20 requests"
  maps=$(awk -F, '$3 == "grant_map" && $9 == 0' "$WORK/$o.csv" | wc -l)
  unmaps=$(awk -F, '$3 == "grant_unmap" && $9 == 0' "$WORK/$o.csv" | wc -l)
  check "$arch vanish: every grant mapped was unmapped ($maps maps, $unmaps unmaps)" \
    test "$maps" -gt 20 -a "$maps" = "$unmaps"
  check "$arch vanish: the run did not wait for its time limit" bash -c "! grep -q 'time limit' '$WORK/$o'"
done
finish
