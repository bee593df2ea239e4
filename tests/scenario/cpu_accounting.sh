#!/usr/bin/env bash
# CPU accounting: per pCPU busy + idle = elapsed, the trace's idle spans add
# up to the idle time, and `hopsim compare` prints CPU time per request (front-
# end, back-end, hypervisor) and each pCPU's busy share for every architecture.
source "$(dirname "$0")/lib.bash"
cd "$WORK"
for arch in native xen-dom0 uefi-rt; do
  out="$WORK/$arch.out"
  "$HOPSIM" run "$SRC/workloads/scenarios/blk-randread.lua" --set arch=$arch --set disk_type=ram \
    --set requests=100 --set disk="$WORK/d.img" --trace-json "$WORK/$arch.json" --quiet >"$out"
  check "$arch: two cpu lines" test "$(grep -c '^cpu[0-9]' "$out")" = 2
  # busy% + idle% = 100 for each pCPU (two decimals each)
  check "$arch: busy + idle = elapsed" awk '/^cpu[0-9]/ { b = $3 + 0; i = $9 + 0;
      if (b + i < 99.98 || b + i > 100.02) bad = 1 } END { exit bad }' "$out"
  # the idle spans on each CPU track add up to its idle share
  for c in 0 1; do
    pid=$((c + 1))
    traced=$(jq "[.traceEvents[] | select(.cat == \"idle\" and .pid == $pid) | .dur] | add // 0" "$WORK/$arch.json")
    expect=$(awk -v c=cpu$c '$1 == c { gsub("%", "", $9); print $9 / 100 * $11 }' "$out")
    check "$arch cpu$c: idle spans ($traced us) = idle time ($expect us)" \
      awk -v a="$traced" -v b="$expect" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= 0.001 * b + 0.01) }'
  done
  check "$arch: cpu per request line" grep -q "^cpu per request (100 requests in" "$out"
done
check "native: no hypervisor time" grep -q "backend 0.000 us, hypervisor 0.000 us" "$WORK/native.out"
check "xen-dom0: hypervisor time" bash -c "! grep -q 'hypervisor 0.000 us' '$WORK/xen-dom0.out'"
"$HOPSIM" compare "$SRC/workloads/scenarios/blk-randread.lua" --arch native,xen-dom0,uefi-rt \
  --set disk_type=ram --set requests=100 --set disk="$WORK/d.img" --quiet --csv "$WORK/c.csv" >"$WORK/cmp"
for row in "cpu us/req front" "cpu us/req back" "cpu us/req hypervisor" "cpu0 busy (%)" "cpu1 busy (%)"; do
  check "compare prints '$row' for three architectures" \
    awk -v r="$row" 'index($0, r) == 1 { n = split(substr($0, 23), f, " "); ok = (n == 3) } END { exit !ok }' "$WORK/cmp"
done
hv() { awk -F, -v a=$1 '$1 == a && $2 == "cpu_per_req" && $3 == "hypervisor" { print $5 }' "$WORK/c.csv"; }
check "csv: native spends no hypervisor time" test "$(hv native)" = 0
check "csv: uefi-rt's backend traps less than dom0's" test "$(hv uefi-rt)" -lt "$(hv xen-dom0)"
finish
