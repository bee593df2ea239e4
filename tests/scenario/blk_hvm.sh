#!/usr/bin/env bash
# hvm-emul and hosted: the unmodified native block image as a hardware-
# virtualized guest whose SAS HBA is emulated by a device model -- in dom0
# over Xen's ioreq protocol (hvm-emul), or in the host OS that owns the
# devices, world-switching with the VM (hosted). Data are verified end to end
# (reads of written sectors, the final pass, the disk image); every request
# passes H1..H8 in order; exits and ioreq round trips are spans; the same seed
# gives byte-identical traces.
source "$(dirname "$0")/lib.bash"
cd "$WORK"
for arch in hvm-emul hosted; do
  for i in 1 2; do
    rm -f "$WORK/d.img"
    set +e
    "$HOPSIM" run "$SRC/workloads/scenarios/blk-randrw-verify.lua" --set arch=$arch \
      --set disk="$WORK/d.img" --trace-json "$WORK/t$i.json" --trace-csv "$WORK/t$i.csv" \
      >"$WORK/o$i.raw" 2>"$WORK/e$i"
    rc=$?
    set -e
    grep -v "host [0-9.]* s" "$WORK/o$i.raw" >"$WORK/o$i"
    cp "$WORK/d.img" "$WORK/d$i.img"
  done
  check "$arch exits 0 (got $rc): $(tail -2 "$WORK/e1")" [ "$rc" -eq 0 ]
  check "$arch: guest checks passed" grep -Eq "guest checks: [1-9][0-9]* passed, 0 failed" "$WORK/o1"
  check "$arch: the guest's native driver found the emulated HBA (INTx)" \
    grep -Eq "\[(hvm|vm)\] sas: HBA in slot 4, regs at 0xc8400000, .* INTx pirq" "$WORK/o1"
  check "$arch: the device model carried every command" \
    grep -Eq "emu_sas: ([0-9]+) commands issued to the real HBA, \1 completed to the guest" "$WORK/o1"
  check "$arch: the device model left when the guest was gone" \
    grep -q "devmodel: d1 is gone after" "$WORK/o1"
  "$HOPSIM" disk-check "$WORK/d1.img" >"$WORK/dc" 2>&1
  check "$arch: disk image consistent: $(cat "$WORK/dc")" [ $? -eq 0 ]
  check "$arch: every request's hops are H1..H8 in order" \
    bash -c "[ \"\$(awk -F, 'NR > 1 && \$3 == \"hop\" { s[\$1] = s[\$1] substr(\$2, 2) } END { for (r in s) if (s[r] != \"12345678\") bad++; print bad + 0 }' '$WORK/t1.csv')\" = 0 ]"
  check "$arch: VM exits are spans" grep -Eq "^vmexit +[1-9]" "$WORK/o1"
  check "$arch: ioreq round trips are spans" grep -Eq "^ioreq +[1-9]" "$WORK/o1"
  check "$arch: JSON identical" cmp -s "$WORK/t1.json" "$WORK/t2.json"
  check "$arch: CSV identical" cmp -s "$WORK/t1.csv" "$WORK/t2.csv"
  check "$arch: report identical" cmp -s "$WORK/o1" "$WORK/o2"
  check "$arch: disk images identical" cmp -s "$WORK/d1.img" "$WORK/d2.img"
done
check "hosted: the VM and the host share a CPU: world switches" grep -Eq "^world_switch +[1-9]" "$WORK/o1"
# two guests: an emulation (ioreq server, emulated HBA) each, one partition of the disk each
for a in hvm-emul hosted; do
  set +e
  "$HOPSIM" run "$SRC/workloads/scenarios/blk-randread.lua" --set arch=$a --set domus=2 \
    --set disk_type=ssd --set requests=30 --set disk="$WORK/two.img" >"$WORK/two-$a" 2>&1
  rc=$?
  set -e
  check "$a, two guests: exit 0 (got $rc)" [ "$rc" -eq 0 ]
  check "$a, two guests: 60 requests done" grep -q "requests: 60 done, 0 in flight" "$WORK/two-$a"
  check "$a, two guests: one server per guest" \
    bash -c "grep -q 'devmodel: serving d1' '$WORK/two-$a' && grep -q 'devmodel: serving d2' '$WORK/two-$a'"
  check "$a, two guests: each emulation carried its guest's commands" \
    bash -c "[ \$(grep -Ec 'emu_sas: guest [12]: 30 commands issued to the real HBA, 30 completed' '$WORK/two-$a') = 2 ]"
  # both guests write and read back their own data at once: partitions that overlapped would
  # fail the guests' checks
  rm -f "$WORK/twov.img"
  set +e
  "$HOPSIM" run "$SRC/workloads/scenarios/blk-randrw-verify.lua" --set arch=$a --set domus=2 \
    --set requests=100 --set disk="$WORK/twov.img" >"$WORK/twov-$a" 2>&1
  rc=$?
  set -e
  check "$a, two guests verified: exit 0 (got $rc)" [ "$rc" -eq 0 ]
  check "$a, two guests verified: every guest check passed" \
    grep -Eq "guest checks: [1-9][0-9]* passed, 0 failed" "$WORK/twov-$a"
  # the image afterwards: each guest's sectors at their place in its own half
  set +e
  "$HOPSIM" disk-check "$WORK/twov.img" --partitions 2 >"$WORK/twodc" 2>&1
  rc=$?
  "$HOPSIM" disk-check "$WORK/twov.img" >"$WORK/twodc1" 2>&1
  rc1=$?
  set -e
  check "$a, two guests verified: disk-check --partitions 2 passes: $(cat "$WORK/twodc")" \
    bash -c "[ $rc -eq 0 ] && grep -Eq ': 131072 sectors, [1-9][0-9]* written .*, 0 inconsistent, 0 from rejected requests, .*\(2 partitions of 65536 sectors\)' '$WORK/twodc'"
  check "$a, two guests verified: read as one disk, the second guest's sectors are out of place (rc $rc1)" \
    bash -c "[ $rc1 -eq 1 ] && grep -Eq ', [1-9][0-9]* inconsistent, ' '$WORK/twodc1'"
done
finish
