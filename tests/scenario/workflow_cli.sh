#!/usr/bin/env bash
# The users' workflow commands: per-command help; --stats JSON (scenario,
# every cost parameter, results, expectations); compare checks every --arch
# before running and draws per-hop bars; sweep over lists and ranges on
# local cores gives a tidy CSV, a summary and a chart, and refuses a point
# that does not load before running any; follow prints one request's spans
# and draws its timeline.
source "$(dirname "$0")/lib.bash"
HOPSIM=$(realpath "$HOPSIM")
S=$SRC/workloads/scenarios
cd "$WORK"

# help per command
for c in run compare sweep follow; do
  check "$c --help is its own" bash -c "'$HOPSIM' $c --help | head -1 | grep -q '^usage: hopsim $c'"
done

# --stats
rc=0
"$HOPSIM" run "$S/pingpong.lua" --quiet --set rounds=10 --stats st.json >out.txt 2>&1 || rc=$?
check "run with --stats exits 0 (got $rc)" [ "$rc" -eq 0 ]
ncost=$(grep -c '^ *X(C_' "$SRC/sim/engine/cost.h")
check "stats: every cost parameter ($ncost)" [ "$(jq '.cost | length' st.json)" -eq "$ncost" ]
check "stats: the resolved scenario" [ "$(jq -r '.scenario.domains[1].args.rounds' st.json)" = 10 ]
check "stats: the --set options" [ "$(jq -r '.scenario.sets.rounds' st.json)" = 10 ]
check "stats: results per hop" [ "$(jq '.results["H3.count"].value' st.json)" = 10 ]
check "stats: results per domain" [ "$(jq -r '.results["dom.ping.state"].text' st.json)" = poweroff ]
check "stats: times in ps" [ "$(jq -r '.results["request.p99"].unit' st.json)" = ps ]
check "stats: exit code" [ "$(jq '.run.exit_code' st.json)" = 0 ]

# compare: a misspelt architecture stops before anything runs
rc=0
"$HOPSIM" compare "$S/blk-randread.lua" --arch native,xen-domo >out.txt 2>err.txt || rc=$?
check "compare --arch typo: exit 2 (got $rc)" [ "$rc" -eq 2 ]
check "compare --arch typo: named" grep -q "unknown architecture 'xen-domo'" err.txt
check "compare --arch typo: native did not run first" bash -c "! grep -q '== native' out.txt"
rc=0
"$HOPSIM" compare "$S/blk-randread.lua" --arch native,xen-dom0 --set disk_type=ssd \
  --set requests=20 --csv cmp.csv --svg cmp.svg --png cmp.png >out.txt 2>&1 || rc=$?
check "compare exits 0 (got $rc)" [ "$rc" -eq 0 ]
check "compare CSV: IOPS under rate_per_s" \
  bash -c "awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[\$i] = i } \$2 == \"iops\" && \$(c[\"rate_per_s\"]) > 0 { n++ } END { exit n != 2 }' cmp.csv"
check "compare SVG" grep -q "<svg" cmp.svg
check "compare PNG" bash -c "head -c 8 cmp.png | od -An -tx1 | grep -q '89 50 4e 47'"

# sweep: lists and ranges, local cores
rc=0
"$HOPSIM" sweep "$S/blk-randread.lua" --arch native,xen-dom0 --set iodepth=1..4:*2 \
  --set requests=20 --set disk_type=ssd -j 2 --out sw --svg sw.svg --png sw.png \
  --metric request.p99 >out.txt 2>err.txt || rc=$?
check "sweep exits 0 (got $rc): $(tail -3 err.txt)" [ "$rc" -eq 0 ]
check "sweep: 2 x 3 points" [ "$(ls -d sw/point-* | wc -l)" -eq 6 ]
check "sweep CSV header" bash -c "head -1 sw/sweep.csv | grep -qx 'point,arch,iodepth,requests,disk_type,metric,value,unit'"
check "sweep CSV: iodepth 4 under xen-dom0" grep -q "^5,xen-dom0,4,20,ssd,requests,20," sw/sweep.csv
check "sweep summary row" grep -Eq "^ +5 xen-dom0 +4 +20 +ssd +20 " out.txt
check "sweep progress with percentage and ETA" grep -q "6/6 points (100%), .* ETA" err.txt
check "sweep SVG" grep -q "<svg" sw.svg
check "sweep PNG" bash -c "head -c 8 sw.png | od -An -tx1 | grep -q '89 50 4e 47'"
rc=0
"$HOPSIM" sweep "$S/blk-randread.lua" --set iodepth=4,0 --out sw0 >out.txt 2>err.txt || rc=$?
check "sweep with a bad point: exit 2 (got $rc)" [ "$rc" -eq 2 ]
check "sweep with a bad point: nothing ran" [ ! -e sw0/point-0/stats.json ]
check "sweep with a bad point: says which" grep -q "iodepth=0: out of range" err.txt

# follow one request
"$HOPSIM" run "$S/blk-randread.lua" --quiet --set requests=5 --set disk_type=ssd \
  --trace-csv t.csv >/dev/null 2>&1
rc=0
"$HOPSIM" follow t.csv first --svg f.svg --png f.png >follow.txt 2>&1 || rc=$?
check "follow exits 0 (got $rc)" [ "$rc" -eq 0 ]
for h in H1 H2 H3 H4 H5 H6 H7 H8; do
  check "follow: $h listed" grep -Eq "^ +[0-9.]+ +[0-9.]+ +$h +hop " follow.txt
done
check "follow: places" grep -q "across [3-9] places" follow.txt
check "follow SVG" grep -q "<svg" f.svg
rc=0
"$HOPSIM" follow t.csv 0xdead >/dev/null 2>err.txt || rc=$?
check "follow: unknown request: exit 2 (got $rc)" [ "$rc" -eq 2 ]
finish
