#!/usr/bin/env bash
# Waking a halted CPU is latency, not CPU work (sim/xen/sched.c, sched_wake):
# a device interrupt routed to the CPU costs its C-state exit (`idle_exit`),
# a wake from another CPU an IPI and the exit (`wake_ipi`); neither is busy
# time in the CPU accounting, as neither Xen (the idle vCPU runs until
# schedule() switches) nor Linux (idle time stops at irq_enter) counts it.
source "$(dirname "$0")/lib.bash"
cd "$WORK"
run() { # NAME ARCH [--set ...]: one request at a time, so the CPUs idle between requests
  local name=$1 arch=$2
  shift 2
  "$HOPSIM" run "$SRC/workloads/scenarios/blk-randread.lua" --set arch="$arch" --set disk_type=ssd \
    --set requests=50 --set disk="$WORK/d.img" --quiet --trace-csv "$WORK/$name.csv" "$@" \
    >"$WORK/$name.out"
}
cpu_line() { grep '^cpu per request' "$WORK/$1.out" | sed 's/.*: //'; }
h() { awk -v h=$2 '$1 == h { print $3 }' "$WORK/$1.out"; } # a hop's mean (us)
spans() { awk -F, -v k=$2 -v n="$3" '$3 == k && $4 == n { c++ } END { print c + 0 }' "$WORK/$1.csv"; }

# native: the disk's completion MSI wakes the halted CPU
run n2 native
run n7 native --set "cost.idle_exit=7 us"
check "native: device wakes are traced as 'idle exit' wake spans ($(spans n2 wake 'idle exit'))" \
  test "$(spans n2 wake 'idle exit')" -ge 50
req_ipis=$(awk -F, '$1 != "" && $3 == "ipi"' "$WORK/n2.csv" | wc -l) # boot's one wake carries none
check "native: no request's CPU is woken by an IPI (the MSI goes to the CPU)" test "$req_ipis" = 0
check "native: idle_exit 2 -> 7 us leaves CPU per request unchanged ($(cpu_line n2))" \
  test "$(cpu_line n2)" = "$(cpu_line n7)"
check "native: and adds 5 us to the completion hop H8 ($(h n2 H8) -> $(h n7 H8) us)" \
  awk -v a="$(h n2 H8)" -v b="$(h n7 H8)" 'BEGIN { d = b - a - 5; exit !(d > -0.01 && d < 0.01) }'
# each 'idle exit' span lies inside an idle span of its CPU (start_ps, end_ps: fields 6, 7)
check "native: every 'idle exit' lies inside an idle span of its CPU" awk -F, '
  $3 == "idle" { s[$5] = s[$5] " " $6 ":" $7 }
  $3 == "wake" && $4 == "idle exit" { x[++n] = $5 " " $6 " " $7 }
  END { for (i = 1; i <= n; i++) { split(x[i], a, " "); k = split(s[a[1]], iv, " "); ok = 0
          for (j = 1; j <= k; j++) { split(iv[j], b, ":"); if (b[1] + 0 <= a[2] + 0 && a[3] + 0 <= b[2] + 0) ok = 1 }
          if (!ok) exit 1 }
        exit !(n > 0) }' "$WORK/n2.csv"

# xen-dom0: dom0's event to the frontend wakes the domU's CPU with an IPI
run x3 xen-dom0
run x9 xen-dom0 --set "cost.wake_ipi=9 us"
check "xen-dom0: CPU-to-CPU wakes are traced as 'wake' IPIs ($(spans x3 ipi wake))" \
  test "$(spans x3 ipi wake)" -ge 50
check "xen-dom0: wake_ipi 3 -> 9 us leaves CPU per request unchanged ($(cpu_line x3))" \
  test "$(cpu_line x3)" = "$(cpu_line x9)"
check "xen-dom0: and makes the requests slower ($(h x3 request) -> $(h x9 request) us)" \
  awk -v a="$(h x3 request)" -v b="$(h x9 request)" 'BEGIN { exit !(b > a + 5) }'
finish
