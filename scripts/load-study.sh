#!/usr/bin/env bash
# The load study of docs/load-study.md: block I/O through xen-dom0 on the
# RAM-backed disk, so that CPU-side costs decide the results, over
#   frontends (domUs)   1 2 4 8 16
#   grants              map copy persistent
#   backend vCPUs       1 4
# Each domU runs the fio-like program (4 KiB random reads, iodepth DEPTH,
# REQ requests) on its own pCPU; the backend's vCPUs have pCPUs of their own.
# Every run writes its span CSV; the table is computed from it:
#   iops          done requests / (first request start .. last completion),
#                 the window `hopsim compare` uses
#   iops_all      completions per second while every frontend is running:
#                 from the last frontend's first request to the first
#                 frontend's last completion (0 if they never all overlap)
#   fe_peak       the most frontends with a request in flight (H1 start ..
#                 H8 end) at one instant: the concurrency the row measures
#   p50_us p99_us end-to-end latency (H1 start .. H8 end) percentiles
#   hv_us_req     hypervisor time per request from the trace: hypercalls
#                 (with the grant, event and flush work inside them), event
#                 deliveries, world switches, IPIs other than wake-ups (a
#                 wake's latency is idle time) and remote flush IPI
#                 handlers on the physical CPUs
#   fe_cpu_us be_cpu_us hv_cpu_us
#                 CPU time per request from the simulator's CPU accounting
#                 (sim/machine/acct.c, the run's "cpu per request" line): the
#                 frontend domains' guest time, the backend domain's guest
#                 time and the hypervisor's (busy minus guest), over the
#                 request window
#   map_req       grant maps per request, copy_req grant copies per
#                 request, memcpy_req frontend memcpy spans per request
#   spin_yields   backend spinlock contention: yields (sched_op hypercalls
#                 made by a vCPU waiting for a lock)
#   ipi_req       remote TLB-flush IPIs per request (`flush IPI` spans on
#                 other CPUs: sim/xen/flush.c)
#   lockwait_us_req  time spent spinning for Xen's locks per request
#                 (`lock_wait` spans: sim/xen/lock.c, efi_rs_lock)
#   refill_us_req cache/TLB refill penalties per request (`refill` spans:
#                 sim/xen/refill.c)
# Usage: scripts/load-study.sh [OUTDIR]   (env: HOPSIM, REQ (1000), DEPTH (4),
#   STORE: hba (default: the RAM-backed disk behind the SAS HBA) or brd (blkback
#   serves a RAM disk in dom0's own memory, as Linux's brd: no device, each request
#   completed on its ring's vCPU))
set -euo pipefail
cd "$(dirname "$0")/.."
HOPSIM=${HOPSIM:-build/hopsim}
OUT=${1:-out/load-study}
REQ=${REQ:-1000}
DEPTH=${DEPTH:-4}
STORE=${STORE:-hba}
case "$STORE" in hba | brd) ;; *) echo "load-study.sh: STORE=$STORE: expected hba or brd" >&2; exit 2 ;; esac
mkdir -p "$OUT"
table="$OUT/table.csv"
echo "frontends,grants,backend_vcpus,requests,iops,iops_all,fe_peak,p50_us,p99_us,hv_us_req,map_req,copy_req,memcpy_req,spin_yields,ipi_req,lockwait_us_req,refill_us_req,fe_cpu_us,be_cpu_us,hv_cpu_us" >"$table"

summarise() { # summarise TRACE.csv -> the table's measured columns (POSIX awk + sort)
  awk -F, -v lat="$1.lat" '
    $3 == "hop" && $2 == "H1" { start[$1] = $6; if (!($5 in fs) || $6 < fs[$5]) fs[$5] = $6 }
    $3 == "hop" && $2 == "H8" { end[$1] = $7; fe = $5; if ($7 > le[fe]) le[fe] = $7 }
    $5 ~ /^cpu[0-9]+$/ && ($3 == "hypercall" || $3 == "event_delivery" || $3 == "world_switch" ||
                           ($3 == "ipi" && $4 != "wake") || $3 == "rs_enter" || $3 == "rs_leave" ||
                           ($3 == "tlb_flush" && $4 == "flush IPI")) { hv += $8 }
    $3 == "grant_map" { maps++ }
    $3 == "grant_copy" { copies++ }
    $3 == "memcpy" { memcpys++ }
    $3 == "hypercall" && $4 == "sched_op" && $9 == 0 { yields++ }
    $3 == "tlb_flush" && $4 == "flush IPI" { ipis++ }
    $3 == "lock_wait" { lw += $8 }
    $3 == "refill" { rf += $8 }
    END {
      n = 0; first = -1; last = 0
      for (r in end) if (r in start) {
        printf "%.3f\n", (end[r] - start[r]) / 1e6 > lat
        n++
        if (first < 0 || start[r] < first) first = start[r]
        if (end[r] > last) last = end[r]
      }
      if (n == 0) { print "0,0,0,0,0,0,0,0,0,0,0"; exit }
      # all frontends active: from the last one'"'"'s first request to the first one'"'"'s last completion
      a = -1; b = -1
      for (d in fs) if (a < 0 || fs[d] > a) a = fs[d]
      for (d in le) if (b < 0 || le[d] < b) b = le[d]
      k = 0
      if (b > a) for (r in end) if (end[r] > a && end[r] <= b) k++
      printf "%d,%.0f,%.0f,%.2f,%.2f,%.2f,%.2f,%d,%.2f,%.3f,%.3f\n", n, n / ((last - first) / 1e12),
             (b > a ? k / ((b - a) / 1e12) : 0), hv / 1e6 / n, maps / n, copies / n, memcpys / n,
             yields + 0, ipis / n, lw / 1e6 / n, rf / 1e6 / n
    }' "$1" >"$1.sum"
  IFS=, read -r n iops iops_all hv maps copies memcpys yields ipis lw rf <"$1.sum"
  local p50=0 p99=0
  if [ "$n" -gt 0 ]; then
    p50=$(sort -n "$1.lat" | awk -v k=$(( (n - 1) * 50 / 100 + 1 )) 'NR == k')
    p99=$(sort -n "$1.lat" | awk -v k=$(( (n - 1) * 99 / 100 + 1 )) 'NR == k')
  fi
  # frontends with a request in flight, swept over time: the most at once
  local peak
  peak=$(awk -F, '$3 == "hop" && $2 == "H1" { print $6, 1, $5 } $3 == "hop" && $2 == "H8" { print $7, 0, $5 }' "$1" |
    sort -k1,1n -k2,2n |
    awk '{ if ($2) { if (!n[$3]++) busy++ } else if (!--n[$3]) busy--; if (busy > peak) peak = busy }
         END { print peak + 0 }')
  rm -f "$1.sum" "$1.lat"
  echo "$n,$iops,$iops_all,$peak,$p50,$p99,$hv,$maps,$copies,$memcpys,$yields,$ipis,$lw,$rf"
}

for bv in 1 4; do
  for g in map copy persistent; do
    for n in 1 2 4 8 16; do
      t="$OUT/trace-$n-$g-$bv.csv"
      "$HOPSIM" run workloads/scenarios/blk-randread.lua --quiet \
        --set disk_type=ram --set store="$STORE" --set disk="$OUT/disk.img" --set domus="$n" --set cpus=$((bv + n)) \
        --set backend_vcpus="$bv" --set grants="$g" --set iodepth="$DEPTH" --set requests="$REQ" \
        --trace-csv "$t" >"$OUT/run-$n-$g-$bv.out"
      cpu=$(sed -n 's/^cpu per request .*: frontend \([0-9.]*\) us, backend \([0-9.]*\) us, hypervisor \([0-9.]*\) us.*/\1,\2,\3/p' \
        "$OUT/run-$n-$g-$bv.out")
      echo "$n,$g,$bv,$(summarise "$t"),${cpu:-0,0,0}" | tee -a "$table"
      rm -f "$t"
    done
  done
done
echo "table: $table"
