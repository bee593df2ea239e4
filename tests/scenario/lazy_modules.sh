#!/usr/bin/env bash
# The live view (SDL2) and the charts (cairo) are modules hopsim loads only
# for the commands that need them (sim/cli/plugin.h): a plain run starts
# without them, `hopsim view` and a chart load theirs and work.
source "$(dirname "$0")/lib.bash"
loaded() { # loaded LOG: the shared objects ld.so opened (LD_DEBUG=files)
  grep -o 'file=[^ ]*' "$1" | sed 's/file=//' | sort -u
}
export -f loaded
check "hopsim links no SDL2" bash -c "! ldd '$HOPSIM' | grep -q libSDL2"
check "hopsim links no cairo" bash -c "! ldd '$HOPSIM' | grep -q libcairo"
check "view module built" [ -f "$BUILD/hopsim-view.so" ]
check "chart module built" [ -f "$BUILD/hopsim-chart.so" ]

rc=0
LD_DEBUG=files "$HOPSIM" run "$SRC/workloads/scenarios/pingpong.lua" --set rounds=5 --quiet \
  --trace-json "$WORK/t.json" --trace-csv "$WORK/t.csv" >"$WORK/run.out" 2>"$WORK/run.ld" || rc=$?
check "run: exits 0" [ $rc -eq 0 ]
loaded "$WORK/run.ld" >"$WORK/run.libs"
check "run: loads no SDL2 or cairo ($(wc -l <"$WORK/run.libs") objects)" \
  bash -c "! grep -qE 'SDL2|cairo|hopsim-' '$WORK/run.libs'"

rc=0
LD_DEBUG=files SDL_VIDEODRIVER=dummy "$HOPSIM" view "$WORK/t.json" --screenshot "$WORK/v.png" \
  --at-sim 1us >"$WORK/view.out" 2>"$WORK/view.ld" || rc=$?
check "view: exits 0" [ $rc -eq 0 ]
check "view: PNG written" [ "$(head -c 8 "$WORK/v.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]
check "view: its module and SDL2 loaded" bash -c "loaded '$WORK/view.ld' | grep -q hopsim-view.so &&
  loaded '$WORK/view.ld' | grep -q libSDL2"

rc=0
LD_DEBUG=files "$HOPSIM" follow "$WORK/t.csv" first --svg "$WORK/f.svg" >"$WORK/follow.out" \
  2>"$WORK/follow.ld" || rc=$?
check "follow: exits 0" [ $rc -eq 0 ]
check "follow: SVG written" grep -q "<svg" "$WORK/f.svg"
check "follow: the chart module and cairo loaded" bash -c "loaded '$WORK/follow.ld' |
  grep -q hopsim-chart.so && loaded '$WORK/follow.ld' | grep -q libcairo"
check "follow: no SDL2" bash -c "! loaded '$WORK/follow.ld' | grep -q SDL2"
finish
