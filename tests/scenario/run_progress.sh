#!/usr/bin/env bash
# `hopsim run`'s progress line: --progress shows it on a non-terminal; with
# a known end (the domains' requests=N) each line carries a percentage and
# an ETA, the percentage never falls and the last line says 100%; without
# --progress a pipe gets no progress line; a run whose end is not known
# (pingpong: it ends when its domains shut down) shows no percentage.
source "$(dirname "$0")/lib.bash"
HOPSIM=$(realpath "$HOPSIM")
S=$SRC/workloads/scenarios
cd "$WORK"

# long enough for several lines at one per half second of host time
rc=0
"$HOPSIM" run "$S/blk-randread.lua" --quiet --progress --set disk_type=ssd \
  --set requests=20000 --out o >out.txt 2>err.txt || rc=$?
check "run --progress exits 0 (got $rc)" [ "$rc" -eq 0 ]
tr '\r' '\n' <err.txt | grep '^hopsim: t=' >lines.txt || true
n=$(wc -l <lines.txt)
check "several progress lines ($n)" [ "$n" -ge 2 ]
check "every line has a percentage and an ETA" \
  bash -c "! grep -Ev ' requests=[0-9]+ of 20000  [0-9]+%  ETA [0-9]+ s' lines.txt"
sed -E 's/.*  ([0-9]+)%  ETA.*/\1/' lines.txt >pct.txt
check "the percentage never falls: $(tr '\n' ' ' <pct.txt)" sort -n -c pct.txt
check "the requests done never fall" bash -c \
  "sed -E 's/.* requests=([0-9]+) of.*/\1/' lines.txt | sort -n -c"
check "the last line is 100% with every request done" \
  bash -c "tail -1 lines.txt | grep -q 'requests=20000 of 20000  100%  ETA 0 s'"
check "it rises: the first line below 100%" bash -c "[ \$(head -1 pct.txt) -lt 100 ]"
check "the line is cleared at the end" bash -c "tail -c 2 err.txt | od -An -c | grep -q '\\\\r'"

# not a terminal and no --progress: no progress line
"$HOPSIM" run "$S/blk-randread.lua" --set disk_type=ssd --set requests=50 --out o \
  >out.txt 2>err.txt
check "no progress line on a pipe by default" bash -c "! grep -q 'hopsim: t=' err.txt"

# an end that is not known: virtual time, events and requests, no percentage
"$HOPSIM" run "$S/pingpong.lua" --quiet --progress --set rounds=10 >out.txt 2>err.txt
tr '\r' '\n' <err.txt | grep '^hopsim: t=' >lines.txt || true
check "pingpong: a final progress line" [ "$(wc -l <lines.txt)" -ge 1 ]
check "pingpong: no percentage, no ETA" bash -c "! grep -q '%\\|ETA' lines.txt"
finish
