#!/usr/bin/env bash
# randrw with verify under both architectures and each grant mode: every
# read of a written sector matches, the final verify pass matches, and the
# bytes in the disk image afterwards are the bytes written.
source "$(dirname "$0")/lib.bash"
cd "$WORK"
run() { # run NAME ARGS...
  local name=$1; shift
  rm -f "$WORK/$name.img"
  set +e
  "$HOPSIM" run "$SRC/workloads/scenarios/blk-randrw-verify.lua" ${QUIET---quiet} \
    --set disk="$WORK/$name.img" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err"
  local rc=$?
  set -e
  check "$name exits 0 (got $rc): $(tail -2 "$WORK/$name.err")" [ "$rc" -eq 0 ]
  check "$name: checks passed" grep -Eq "guest checks: [1-9][0-9]* passed, 0 failed" "$WORK/$name.out"
  "$HOPSIM" disk-check "$WORK/$name.img" >"$WORK/$name.dc" 2>&1
  check "$name: disk image consistent: $(cat "$WORK/$name.dc")" [ $? -eq 0 ]
  check "$name: disk holds written sectors" grep -Eq ", [1-9][0-9]* written by the test program" "$WORK/$name.dc"
}
run native --set arch=native
run dom0-map --set arch=xen-dom0 --set grants=map
run dom0-copy --set arch=xen-dom0 --set grants=copy
run dom0-persistent --set arch=xen-dom0 --set grants=persistent
run dom0-two --set arch=xen-dom0 --set domus=2
# INTx: without MSI the SAS driver falls back to the Interrupt Line's GSI
QUIET= run native-intx --set arch=native --set msi=false --set requests=60
QUIET= run dom0-intx --set arch=xen-dom0 --set msi=false --set requests=60
for n in native-intx dom0-intx; do
  check "$n: the driver uses INTx" grep -q "sas: .*INTx pirq" "$WORK/$n.out"
done
finish
