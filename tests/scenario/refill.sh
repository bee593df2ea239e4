#!/usr/bin/env bash
# Cache/TLB refill penalties (sim/xen/refill.c) per architecture, from the
# `refill` spans of a blk-randread run at iodepth 1 (name: what left the
# context cold; arg: TLB entries re-walked, 0 when only cache lines are
# refetched):
#  - native: one kernel per CPU, never switched away: only each CPU's cold start;
#  - xen-dom0: the backend re-walks after each grant unmap batch's TLB flush,
#    about once per request; with persistent grants nothing is unmapped per
#    request and nothing re-walked (only the setup's few unmaps);
#  - uefi-rt: every runtime call enters the EFI page tables cold (rs_entry);
#  - hosted: every exit the host emulates is a world switch to the host and
#    back: the host re-walks (untagged), the VM only refetches cache lines
#    (its translations are VPID-tagged);
#  - per request, uefi-rt pays more refill time than xen-dom0, native least;
#  - the cache part is drawn from the seed: same seed, same total; another
#    seed, another.
source "$(dirname "$0")/lib.bash"
run() { # run NAME ARGS...: its CSV is $WORK/NAME.csv
  local n=$1
  shift
  "$HOPSIM" run "$SRC/workloads/scenarios/blk-randread.lua" --quiet --set disk_type=ssd \
    --set requests=100 --set iodepth=1 --set domus=1 --set disk="$WORK/d.img" \
    --trace-csv "$WORK/$n.csv" "$@" >"$WORK/$n.out" 2>&1
}
# per_req CSV [NAME]: refill spans (named NAME) per request
per_req() {
  awk -F, -v k="${2:-}" '$3 == "hop" && $2 == "H1" { r++ }
    $3 == "refill" && (k == "" || $4 == k) { n++ }
    END { printf "%.2f\n", r ? n / r : -1 }' "$1"
}
us_per_req() { awk -F, '$3 == "hop" && $2 == "H1" { r++ } $3 == "refill" { s += $8 }
  END { printf "%.3f\n", r ? s / 1e6 / r : -1 }' "$1"; }
total_ps() { awk -F, '$3 == "refill" { s += $8 } END { print s + 0 }' "$1"; }
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a >= b) }'; }
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }'; }
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }

for a in native xen-dom0 uefi-rt hosted; do
  check "$a: run" run "$a" --set arch=$a
done
check "xen-dom0 persistent: run" run pers --set arch=xen-dom0 --set grants=persistent

n=$(awk -F, '$3 == "refill"' "$WORK/native.csv" | wc -l)
check "native: only the CPUs' cold starts ($n)" le "$n" 2
check "native: no world switch" [ "$(per_req "$WORK/native.csv" world_switch)" = 0.00 ]

f=$(per_req "$WORK/xen-dom0.csv" flush)
check "xen-dom0: a re-walk after each unmap batch's flush ($f/req)" \
  sh -c "awk -v f=$f 'BEGIN { exit !(f >= 0.9 && f <= 1.1) }'"
check "xen-dom0: each re-walks tlb_refill_pages (32)" \
  [ "$(awk -F, '$3 == "refill" && $4 == "flush" && $9 != 32' "$WORK/xen-dom0.csv" | wc -l)" -eq 0 ]
p=$(per_req "$WORK/pers.csv" flush)
check "xen-dom0 persistent: no per-request unmap, no flush re-walk ($p/req)" lt "$p" 0.1

e=$(per_req "$WORK/uefi-rt.csv" rs_entry)
check "uefi-rt: every runtime call enters cold ($e/req)" ge "$e" 1
check "uefi-rt: entries re-walk the EFI tables" \
  [ "$(awk -F, '$3 == "refill" && $4 == "rs_entry" && $9 == 32' "$WORK/uefi-rt.csv" | wc -l)" -gt 100 ]

w=$(per_req "$WORK/hosted.csv" world_switch)
check "hosted: world switches to the host and back ($w/req)" ge "$w" 2
check "hosted: the host re-walks" \
  [ "$(awk -F, '$3 == "refill" && $4 == "world_switch" && $9 == 32' "$WORK/hosted.csv" | wc -l)" -gt 100 ]
check "hosted: the VM's tagged entries survive (cache only)" \
  [ "$(awk -F, '$3 == "refill" && $4 == "world_switch" && $9 == 0' "$WORK/hosted.csv" | wc -l)" -gt 100 ]

un=$(us_per_req "$WORK/native.csv")
ux=$(us_per_req "$WORK/xen-dom0.csv")
ur=$(us_per_req "$WORK/uefi-rt.csv")
uh=$(us_per_req "$WORK/hosted.csv")
echo "refill us/request: native $un, xen-dom0 $ux, uefi-rt $ur, hosted $uh"
check "time per request: native < xen-dom0 < uefi-rt < hosted" \
  sh -c "awk 'BEGIN { exit !($un < $ux && $ux < $ur && $ur < $uh) }'"

check "seed 1 again: run" run hosted1 --set arch=hosted
check "seed 2: run" run hosted2 --set arch=hosted --seed 2
check "same seed: same refill time" [ "$(total_ps "$WORK/hosted.csv")" = "$(total_ps "$WORK/hosted1.csv")" ]
check "another seed: other draws" [ "$(total_ps "$WORK/hosted.csv")" != "$(total_ps "$WORK/hosted2.csv")" ]
finish
