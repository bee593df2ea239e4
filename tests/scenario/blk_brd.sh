#!/usr/bin/env bash
# store=brd: blkback serves its vbds from a RAM disk in its own memory, as a
# dom0 exporting Linux's brd (workloads/blk/bb_brd.c): no device, no
# interrupt, the request served and completed at once on the ring's vCPU.
source "$(dirname "$0")/lib.bash"
cd "$WORK"
rr() { # rr NAME [--set ...]: blk-randread on brd
  local name=$1
  shift
  "$HOPSIM" run "$SRC/workloads/scenarios/blk-randread.lua" --quiet --set store=brd \
    --set requests=100 --set iodepth=4 --set disk="$WORK/d.img" --out "$WORK/o" "$@" \
    --trace-csv "$WORK/$name.csv" >"$WORK/$name.out" 2>&1
}
hops() { awk -F, '$3 == "hop" { h[$2] = 1 } END { for (k in h) printf "%s ", k }' "$1" | tr ' ' '\n' |
  sort | tr '\n' ' '; }
hba_completions() { sed -n 's/^blk: sas_hba\.[0-9]*: \([0-9]*\) completions.*/\1/p' "$1"; }

for g in map copy persistent; do
  check "xen-dom0 $g: runs" rr "dom0-$g" --set arch=xen-dom0 --set grants=$g
  check "xen-dom0 $g: every read checked" grep -q "^guest checks: 100 passed, 0 failed" \
    "$WORK/dom0-$g.out"
  # no device: the request goes from the backend's driver hop (H4) to its completion (H6)
  check "xen-dom0 $g: hops H1-H4, H6-H8, no H5 ($(hops "$WORK/dom0-$g.csv"))" \
    test "$(hops "$WORK/dom0-$g.csv")" = "H1 H2 H3 H4 H6 H7 H8 "
  check "xen-dom0 $g: the copy is dom0's own (a memcpy span per request)" test \
    "$(awk -F, '$3 == "memcpy" && $5 ~ / dom0$/ && $1 != ""' "$WORK/dom0-$g.csv" | wc -l)" -ge 100
done
# the HBA carries dom0's boot reads only: as many completions with 100 requests as with 200
rr more --set arch=xen-dom0 --set requests=200
check "the HBA sees none of the vbd's requests ($(hba_completions "$WORK/dom0-map.out"), \
$(hba_completions "$WORK/more.out"))" test "$(hba_completions "$WORK/dom0-map.out")" = \
  "$(hba_completions "$WORK/more.out")"

# data: written pages read back, unwritten ones read as zeros (fio's unwritten sectors)
for a in xen-dom0:map uefi-rt:persistent xen-idd:copy; do
  check "${a%%:*} ${a#*:}: randrw with verification on brd" "$HOPSIM" run \
    "$SRC/workloads/scenarios/blk-randrw-verify.lua" --quiet --set arch="${a%%:*}" \
    --set grants="${a#*:}" --set store=brd --set domus=2 --set cpus=3 --set disk="$WORK/v.img" \
    --out "$WORK/o" --quiet >"$WORK/v.out"
done

# the mechanism: behind the HBA every completion (and its unmap and flush) runs on the
# interrupt's vCPU; on brd each ring's vCPU unmaps its own requests, so with four rings on
# four vCPUs the flushes run concurrently and wait for Xen's flush_lock
flush_cpus() { awk -F, '$3 == "tlb_flush" && $4 == "local" { c[$5] = 1 } END { print length(c) }' "$1"; }
flush_waits() { awk -F, '$3 == "lock_wait" && $4 == "flush_lock"' "$1" | wc -l; }
rr mq --set arch=xen-dom0 --set domus=4 --set backend_vcpus=5 --set cpus=9
"$HOPSIM" run "$SRC/workloads/scenarios/blk-randread.lua" --quiet --set arch=xen-dom0 \
  --set disk_type=ram --set domus=4 --set backend_vcpus=5 --set cpus=9 --set requests=100 \
  --set iodepth=4 --set disk="$WORK/d.img" --out "$WORK/o" --trace-csv "$WORK/hba.csv" >/dev/null
check "brd: unmap flushes on each ring's vCPU ($(flush_cpus "$WORK/mq.csv") CPUs)" \
  test "$(flush_cpus "$WORK/mq.csv")" -ge 4
check "brd: concurrent flushes wait for flush_lock ($(flush_waits "$WORK/mq.csv") waits)" \
  test "$(flush_waits "$WORK/mq.csv")" -gt 0
check "hba: every unmap flush on the interrupt's vCPU ($(flush_cpus "$WORK/hba.csv") CPU)" \
  test "$(flush_cpus "$WORK/hba.csv")" = 1
check "hba: so no flush_lock waits ($(flush_waits "$WORK/hba.csv"))" \
  test "$(flush_waits "$WORK/hba.csv")" = 0

# hops in order and sub-spans inside them, with several rings
"$HOPSIM" run "$SRC/workloads/scenarios/blk-randread.lua" --quiet --set arch=xen-dom0 \
  --set store=brd --set domus=2 --set backend_vcpus=3 --set cpus=5 --set requests=100 \
  --set iodepth=8 --set disk="$WORK/d.img" --out "$WORK/o" --trace-json "$WORK/n.json" >/dev/null
out=$(jq -r --arg hops 1,2,3,4,6,7,8 -f "$SRC/tests/scenario/hop_nesting.jq" "$WORK/n.json")
check "hops in order, sub-spans inside (${out:0:200})" [ -z "$out" ]

# iops_all_active: the frontends start one after another, so with several the whole-window rate
# mixes the ramp in; while all of them run the rate is the steady state
rate() { jq ".results.$2.value" "$WORK/$1.json"; }
for n in 1 8; do
  "$HOPSIM" run "$SRC/workloads/scenarios/blk-randread.lua" --quiet --set arch=xen-dom0 \
    --set store=brd --set grants=persistent --set domus=$n --set backend_vcpus=2 \
    --set cpus=$((n + 2)) --set requests=300 --set disk="$WORK/d.img" --out "$WORK/o" \
    --stats "$WORK/s$n.json" >/dev/null
done
check "1 frontend: all-active rate = whole-run rate ($(rate s1 iops_all_active), $(rate s1 iops))" \
  awk -v a="$(rate s1 iops_all_active)" -v b="$(rate s1 iops)" 'BEGIN { exit !(a > 0.97 * b && a < 1.03 * b) }'
check "8 frontends: all-active rate above the whole-run rate ($(rate s8 iops_all_active), $(rate s8 iops))" \
  awk -v a="$(rate s8 iops_all_active)" -v b="$(rate s8 iops)" 'BEGIN { exit !(a > 1.2 * b) }'
"$HOPSIM" compare "$SRC/workloads/scenarios/blk-randread.lua" --arch xen-dom0 --quiet \
  --set store=brd --set domus=2 --set cpus=3 --set requests=100 --set disk="$WORK/d.img" \
  --out "$WORK/o" --csv "$WORK/c.csv" >"$WORK/cmp.out"
check "compare prints the all-active rate" grep -q "^IOPS, all active" "$WORK/cmp.out"
check "compare's CSV has it" grep -q "^xen-dom0,iops_all_active," "$WORK/c.csv"

# same seed, same trace
rr again --set arch=xen-dom0 --set grants=map
check "same seed: byte-identical trace" cmp -s "$WORK/dom0-map.csv" "$WORK/again.csv"

# blkback's store only
rc=0
"$HOPSIM" run "$SRC/workloads/scenarios/blk-randread.lua" --set arch=native --set store=brd \
  --set disk="$WORK/d.img" --out "$WORK/o" >"$WORK/bad.out" 2>&1 || rc=$?
check "native: store=brd refused (exit 2, got $rc)" test $rc -eq 2
check "native: the error names the scenario line and store ($(head -c 160 "$WORK/bad.out"))" \
  grep -q "store=brd: not for arch 'native'.*called from .*blk-randread.lua:[0-9]" "$WORK/bad.out"
rc=0
"$HOPSIM" run "$SRC/workloads/scenarios/blk-randread.lua" --set store=tape \
  --set disk="$WORK/d.img" --out "$WORK/o" >"$WORK/bad2.out" 2>&1 || rc=$?
check "store=tape refused (exit 2, got $rc)" test $rc -eq 2
check "store=tape: the error names store ($(head -c 160 "$WORK/bad2.out"))" \
  grep -q "store: expected hba or brd, got 'tape'.*called from .*blk-randread.lua:[0-9]" "$WORK/bad2.out"
finish
