#!/usr/bin/env bash
# The SDL2 view, with no display: off-screen frames of a ping-pong and a
# block run checked against the trace they replay (lanes, requests in flight,
# the hop colours drawn where the model says), and a `--view` run under SDL's
# dummy video driver whose traces equal those of the same run without it.
source "$(dirname "$0")/lib.bash"

# hex colour of each hop, as the view draws it (docs/view.md)
declare -A HOP_RGB=([H1]=4e79a7 [H2]=f28e2b [H3]=e15759 [H4]=76b7b2 [H5]=59a14f [H6]=edc948
                    [H7]=b07aa1 [H8]=ff9da7)

# frame_checks NAME TRACE AT_PS: screenshot + --inspect at AT_PS, checked
frame_checks() {
  local name=$1 trace=$2 at=$3
  local shot="$WORK/$name.png" txt="$WORK/$name.txt"
  local rc=0
  "$HOPSIM" view "$trace" --screenshot "$shot" --at-sim "${at}ps" --inspect >"$txt" 2>"$WORK/$name.err" || rc=$?
  check "$name: view exits 0: $(cat "$WORK/$name.err")" [ $rc -eq 0 ]
  check "$name: PNG written" [ "$(head -c 8 "$shot" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]
  # lanes: one per place of the trace, in order
  jq -r '.traceEvents[] | select(.name == "process_name") | .args.name' "$trace" >"$WORK/$name.places"
  check "$name: a lane per place" [ "$(grep -c '^lane ' "$txt")" -eq "$(wc -l <"$WORK/$name.places")" ]
  while read -r p; do
    check "$name: lane named $p" grep -qE " name $p\$" "$txt"
  done <"$WORK/$name.places"
  # requests in flight at AT: the trace's hop spans covering AT (event replay)
  jq -r --argjson t "$at" '.traceEvents[] | select(.cat == "hop")
      | select((.ts * 1000000 | round) <= $t and $t < ((.ts + .dur) * 1000000 | round))
      | "\(.args.req) \(.name)"' "$trace" | sort >"$WORK/$name.want"
  awk '$1 == "req" {print $2, $3}' "$txt" | sort >"$WORK/$name.got"
  check "$name: requests in flight at $at ps match the trace" diff "$WORK/$name.want" "$WORK/$name.got"
  check "$name: some request in flight at $at ps" [ -s "$WORK/$name.want" ]
  # every marker and every probe is drawn in its hop's colour
  while read -r _ req hop _ lane _ x y _ px _ want; do
    check "$name: marker of $req ($hop, lane $lane) drawn $px, hop colour $want" [ "$px" = "$want" ]
    check "$name: $hop's colour is the documented one" [ "$want" = "${HOP_RGB[$hop]}" ]
  done < <(grep '^req ' "$txt")
  nprobe=0
  while read -r _ _ lane _ x _ y _ px _ hop want; do
    nprobe=$((nprobe + 1))
    check "$name: lane $lane at x=$x shows $hop ($want), drew $px" [ "$px" = "$want" ]
  done < <(grep '^probe ' "$txt")
  check "$name: at least one lane probed" [ "$nprobe" -gt 0 ]
}

# ping-pong: pick the middle of the 5th H3 span
rc=0
"$HOPSIM" run "$SRC/workloads/scenarios/pingpong.lua" --set rounds=10 --quiet \
  --trace-json "$WORK/pp.json" >/dev/null 2>"$WORK/pp.err" || rc=$?
check "pingpong run: $(cat "$WORK/pp.err")" [ $rc -eq 0 ]
at=$(jq '[.traceEvents[] | select(.cat == "hop" and .name == "H3" and .dur > 0)][4]
          | ((.ts + .dur / 2) * 1000000 | floor) + 1' "$WORK/pp.json")
frame_checks pingpong "$WORK/pp.json" "$at"

# block: xen-dom0 on the SSD, iodepth 4; the middle of the 20th H5 span
blk() { "$HOPSIM" run "$SRC/workloads/scenarios/blk-randread.lua" --set arch=xen-dom0 \
  --set disk_type=ssd --set iodepth=4 --set requests=60 --set disk="$WORK/d.img" --quiet "$@"; }
rc=0
blk --trace-json "$WORK/blk.json" --trace-csv "$WORK/blk.csv" >/dev/null 2>"$WORK/blk.err" || rc=$?
check "block run: $(cat "$WORK/blk.err")" [ $rc -eq 0 ]
at=$(jq '[.traceEvents[] | select(.cat == "hop" and .name == "H5")][19]
          | ((.ts + .dur / 2) * 1000000 | floor) + 1' "$WORK/blk.json")
frame_checks blk "$WORK/blk.json" "$at"

# side by side: two traces stacked, both labelled
"$HOPSIM" view "$WORK/pp.json" "$WORK/blk.json" --side-by-side --screenshot "$WORK/two.png" \
  --at 100us >/dev/null 2>&1 || true
check "side-by-side frame written" [ -s "$WORK/two.png" ]

# usage errors
rc=0
"$HOPSIM" view "$WORK/blk.json" --screenshot "$WORK/x.png" --at 5parsecs >/dev/null 2>"$WORK/e1" || rc=$?
check "a bad --at is a usage error (exit 2)" [ $rc -eq 2 ]
check "the message names the unit" grep -q "expected a time" "$WORK/e1"
echo '{"foo": 1}' >"$WORK/notrace.json"
rc=0
"$HOPSIM" view "$WORK/notrace.json" --screenshot "$WORK/x.png" >/dev/null 2>"$WORK/e2" || rc=$?
check "a non-trace file is refused (exit 2)" [ $rc -eq 2 ]
check "and named" grep -q "notrace.json: no traceEvents" "$WORK/e2"

# --view never changes the run: same traces as without it (dummy video driver)
rc=0
SDL_VIDEODRIVER=dummy blk --view --view-close --view-speed 1s --trace-json "$WORK/v.json" \
  --trace-csv "$WORK/v.csv" >/dev/null 2>"$WORK/v.err" || rc=$?
check "--view run exits 0: $(cat "$WORK/v.err")" [ $rc -eq 0 ]
check "--view JSON trace identical" cmp -s "$WORK/blk.json" "$WORK/v.json"
check "--view CSV trace identical" cmp -s "$WORK/blk.csv" "$WORK/v.csv"
finish
