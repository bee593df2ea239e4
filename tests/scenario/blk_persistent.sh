#!/usr/bin/env bash
# Persistent grants as Linux's blkfront does them: the frontend grants pages of
# its own once, copies each write's data into them and each read's data out of
# them (a memcpy span in H2 for writes, in H8 for reads), data verified end to
# end; without feature-persistent nothing is copied.
source "$(dirname "$0")/lib.bash"
VF="$SRC/workloads/scenarios/blk-randrw-verify.lua"
set +e
"$HOPSIM" run "$VF" --set grants=persistent --set disk="$WORK/v.img" --trace-csv "$WORK/p.csv" >"$WORK/p.out" 2>&1
rc=$?
"$HOPSIM" run "$VF" --set grants=map --set disk="$WORK/m.img" --trace-csv "$WORK/m.csv" >"$WORK/m.out" 2>&1
rcm=$?
set -e
check "persistent: exit 0 ($rc)" [ "$rc" -eq 0 ]
check "persistent: data verified" grep -Eq "guest checks: [1-9][0-9]* passed, 0 failed" "$WORK/p.out"
check "persistent: negotiated" grep -q "persistent grants on" "$WORK/p.out"
check "persistent: a small pool, data copied through it" \
  grep -Eq "blkfront: [1-9][0-9]? persistent grants, [1-9][0-9]{5,} bytes copied through them" "$WORK/p.out"
w=$(awk -F, '$3=="memcpy" && $2=="H2"' "$WORK/p.csv" | wc -l)
r=$(awk -F, '$3=="memcpy" && $2=="H8"' "$WORK/p.csv" | wc -l)
check "persistent: write copies in H2 ($w)" [ "$w" -gt 50 ]
check "persistent: read copies in H8 ($r)" [ "$r" -gt 50 ]
check "persistent: the backend maps each grant once" \
  [ "$(awk -F, '$3=="grant_map"' "$WORK/p.csv" | wc -l)" -lt 20 ]
check "map: exit 0 ($rcm)" [ "$rcm" -eq 0 ]
check "map: no copies" [ "$(awk -F, '$3=="memcpy"' "$WORK/m.csv" | wc -l)" -eq 0 ]
finish
