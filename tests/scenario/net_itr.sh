#!/usr/bin/env bash
# e1000 interrupt throttling (ITR, 8254x SDM: register 0x000C4, interval in
# 256 ns units), programmed by the native e1000 driver (workloads/net/
# e1000drv.c) from the scenario's itr_ns and honoured by models/e1000.c: at
# most one interrupt per interval, a cause inside it waits for its end while
# the cause bits accumulate in ICR.
#  - under a stream, interrupts per request fall with ITR on;
#  - request/response at depth 1: latency rises, by at most the interval, at
#    every percentile;
#  - where the NIC's driver takes no parameters, itr_ns is refused by name.
source "$(dirname "$0")/lib.bash"
ITR=51200 # 200 x 256 ns: about 19,500 interrupts/s (Linux e1000 InterruptThrottleRate 4000-20000)
irqs() { sed -n 's/^net: e1000\.[0-9]*: .* \([0-9]*\) interrupts (\([0-9]*\) deferred by ITR)$/\1 \2/p' "$1"; }
lat() { # lat OUT COLUMN: the end-to-end row's mean (3), p50 (4), p99 (5), max (6), us
  awk -v c="$2" '$1 == "end-to-end" { print $c }' "$1"
}
for a in native xen-dom0; do
  for i in 0 $ITR; do
    check "$a stream itr_ns=$i: run" "$HOPSIM" run "$SRC/workloads/scenarios/net-stream.lua" \
      --set arch=$a --set itr_ns=$i --set count=200 >"$WORK/s-$a-$i.out" 2>&1
    check "$a rr itr_ns=$i: run" "$HOPSIM" run "$SRC/workloads/scenarios/net-rr.lua" \
      --set arch=$a --set itr_ns=$i --set count=30 --set depth=1 >"$WORK/r-$a-$i.out" 2>&1
  done
  check "$a: the driver programs ITR" grep -q "ITR $ITR ns" "$WORK/s-$a-$ITR.out"
  read -r off off_d <<<"$(irqs "$WORK/s-$a-0.out")"
  read -r on on_d <<<"$(irqs "$WORK/s-$a-$ITR.out")"
  echo "$a stream: $off interrupts for 400 frames with ITR off, $on ($on_d deferred) with $ITR ns"
  check "$a stream: ITR off, one interrupt per frame ($off)" [ "$off" -eq 400 ]
  check "$a stream: ITR off defers nothing" [ "$off_d" -eq 0 ]
  check "$a stream: interrupts per request fall by more than half ($on)" [ $((on * 2)) -lt "$off" ]
  check "$a stream: ITR held interrupts back ($on_d)" [ "$on_d" -gt 0 ]
  for col in 3 4 5 6; do
    o=$(lat "$WORK/r-$a-0.out" $col)
    n=$(lat "$WORK/r-$a-$ITR.out" $col)
    echo "$a rr column $col: $o us -> $n us"
    check "$a rr: latency (column $col) rises ($o -> $n us)" awk -v o="$o" -v n="$n" 'BEGIN { exit !(n > o) }'
    check "$a rr: by at most the interval ($o -> $n us)" \
      awk -v o="$o" -v n="$n" -v i=$ITR 'BEGIN { exit !(n - o <= i / 1000) }'
  done
done
set +e
"$HOPSIM" run "$SRC/workloads/scenarios/net-rr.lua" --set arch=hvm-emul --set itr_ns=$ITR \
  --set count=5 >"$WORK/hvm.out" 2>&1
rc=$?
set -e
check "hvm-emul: itr_ns refused (rc $rc)" [ "$rc" -ne 0 ]
check "hvm-emul: the error names the key" grep -q "itr_ns: not for arch 'hvm-emul'" "$WORK/hvm.out"
finish
