#!/usr/bin/env bash
# speedscope, loaded in headless Chromium, imports every shipped scenario's
# trace without an import or stack error: each scenario (workloads/scenarios,
# short settings) writes its JSON trace (--trace-json, as it is: complete
# events on an exact time grid, traces/FORMAT.md), and
# tests/scenario/speedscope_load.cjs loads it into speedscope (the npm
# package, driven through puppeteer-core;
# both installed by scripts/setup.sh) and reports every warning speedscope's
# Chrome importer prints ("Tried to end ... when ... was on the top of the
# stack", frames left open, failed imports). A control trace with a
# misnested begin/end pair must be reported, so the checker is known to see
# what it looks for.
source "$(dirname "$0")/lib.bash"
PREFIX=${HOPSIM_SPEEDSCOPE_PREFIX:-/opt/hopsim/speedscope}
CHROMIUM=$(command -v chromium || true)
if [ -z "$CHROMIUM" ] || ! command -v node >/dev/null ||
  [ ! -f "$PREFIX/node_modules/speedscope/dist/release/index.html" ] ||
  [ ! -d "$PREFIX/node_modules/puppeteer-core" ]; then
  echo "FAIL: chromium, node or speedscope/puppeteer-core in $PREFIX missing: run scripts/setup.sh" >&2
  exit 1
fi
cd "$WORK"

# scenario -> short settings (every scenario in the folder must be listed)
declare -A SETS=(
  [blk-balloon]="--set requests=200"
  [blk-idd-restart]="--set requests=12 --set fault_after=16"
  [blk-malicious]=""
  [blk-randread]="--set requests=20"
  [blk-randrw-verify]="--set requests=20"
  [blk-xenfront]=""
  [gnttab-errors]=""
  [memory-reservation]=""
  [net-idd-restart]="--set count=30 --set fault_after=60"
  [net-malicious]=""
  [net-rr]="--set count=5"
  [net-rx]="--set count=20"
  [net-stream]="--set count=20"
  [pingpong]="--set rounds=10"
  [privop]="--set op=wrmsr --set trap=true"
  [smp]=""
)
traces=()
for s in "$SRC"/workloads/scenarios/*.lua; do
  name=$(basename "$s" .lua)
  check "$name: has short settings in speedscope.sh" [ -n "${SETS[$name]+set}" ]
  set +e
  # shellcheck disable=SC2086
  "$HOPSIM" run "$s" ${SETS[$name]:-} --quiet --out "$WORK/out-$name" \
    --trace-json "$WORK/$name.json" >"$WORK/$name.out" 2>&1
  rc=$?
  set -e
  check "$name: runs (exit $rc): $(tail -1 "$WORK/$name.out")" [ "$rc" -le 1 ]
  check "$name: wrote its trace" [ -s "$WORK/$name.json" ]
  traces+=("$WORK/$name.json")
done

# the control: "a" ends while "b" is on top of the stack
cat >"$WORK/control.json" <<'EOF'
{"traceEvents":[
{"name":"a","ph":"B","ts":0,"pid":1,"tid":1},
{"name":"b","ph":"B","ts":1,"pid":1,"tid":1},
{"name":"a","ph":"E","ts":2,"pid":1,"tid":1},
{"name":"b","ph":"E","ts":3,"pid":1,"tid":1}
]}
EOF
# the second control: what the JSON held before its time grid -- six-decimal
# microseconds. A parent and its child end at the same picosecond
# (489.215504 us), but speedscope's (ts - first ts) + dur in binary floating
# point puts the child's end after the parent's
cat >"$WORK/float.json" <<'EOF'
{"traceEvents":[
{"name":"p","ph":"X","ts":487.724655,"dur":1.490849,"pid":1,"tid":1},
{"name":"c","ph":"X","ts":488.547167,"dur":0.668337,"pid":1,"tid":1}
]}
EOF
mkdir -p "$WORK/profile"
set +e
node "$SRC/tests/scenario/speedscope_load.cjs" "$PREFIX" "$CHROMIUM" "$WORK/profile" \
  "${traces[@]}" "$WORK/control.json" "$WORK/float.json" >"$WORK/load.txt" 2>&1
rc=$?
set -e
cat "$WORK/load.txt"
check "the loader ran (exit $rc is 0 or 1)" [ "$rc" -le 1 ]
check "control: the misnested pair is reported" grep -q "^FAIL control.json:.*" "$WORK/load.txt"
check "control: as speedscope's stack error" grep -q "Tried to end \"a\" when \"b\"" "$WORK/load.txt"
check "six-decimal control: the rounded ends are reported" grep -q "^FAIL float.json:.*" "$WORK/load.txt"
for t in "${traces[@]}"; do
  n=$(basename "$t")
  check "$n: speedscope imports it without errors" grep -qx "ok $n" "$WORK/load.txt"
done
finish
