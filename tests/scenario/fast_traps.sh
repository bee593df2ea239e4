#!/usr/bin/env bash
# Hypercalls handled inside the engine (sim/xen/sched.c, sched_fast_trap) change
# nothing in the simulation: with HOPSIM_STOP_EVERY_TRAP=1 the engine stops at
# every hypercall as before, and both runs give byte-identical traces, summaries
# and event counts -- with fewer engine starts.
source "$(dirname "$0")/lib.bash"
S="$SRC/workloads/scenarios"
run() { # run TAG SCENARIO ARGS...
  local tag=$1 sc=$2
  shift 2
  "$HOPSIM" run "$S/$sc" --quiet --seed 3 --out "$WORK/$tag" --trace-json "$WORK/$tag.json" \
    --trace-csv "$WORK/$tag.csv" --stats "$WORK/$tag.stats.json" "$@" |
    grep -v "host [0-9.]* s" >"$WORK/$tag.txt"
}
field() { jq -r "$1" "$2"; }
for case in "blk-randread.lua --set domus=4 --set requests=64" "pingpong.lua --set rounds=20" \
  "net-rr.lua" "smp.lua"; do
  set -- $case
  sc=$1
  shift
  HOPSIM_STOP_EVERY_TRAP=1 run slow "$sc" "$@"
  run fast "$sc" "$@"
  check "$sc: JSON identical" cmp -s "$WORK/slow.json" "$WORK/fast.json"
  check "$sc: CSV identical" cmp -s "$WORK/slow.csv" "$WORK/fast.csv"
  check "$sc: summary identical" cmp -s "$WORK/slow.txt" "$WORK/fast.txt"
  check "$sc: same events" [ "$(field .results.events "$WORK/slow.stats.json")" = \
    "$(field .results.events "$WORK/fast.stats.json")" ]
  check "$sc: trace not empty" [ -s "$WORK/fast.csv" ]
  check "$sc: every hypercall stopped the engine" \
    [ "$(field .host.hypercalls_in_engine "$WORK/slow.stats.json")" = 0 ]
  slow=$(field .host.engine_runs "$WORK/slow.stats.json")
  fast=$(field .host.engine_runs "$WORK/fast.stats.json")
  inengine=$(field .host.hypercalls_in_engine "$WORK/fast.stats.json")
  echo "$sc: engine runs $slow -> $fast ($inengine hypercalls handled in the engine)"
  check "$sc: fewer engine runs" [ "$fast" -lt "$slow" ]
done
finish
