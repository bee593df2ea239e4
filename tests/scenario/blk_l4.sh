#!/usr/bin/env bash
# l4-vmm: the unmodified native block image in a VM on the microkernel; its
# exits reach a user-level VMM task (IPC) that emulates the HBA and calls the
# driver-server task running the native SAS driver, with DMA pages mapped to
# it by flexpage. Data are verified end to end (reads of written sectors, the
# final pass, the disk image); every request passes H1..H8 in order; IPC,
# flexpage maps, exits' round trips and interrupt injection are spans; the
# same seed gives byte-identical traces; two VMs have a VMM each and share
# the driver server.
source "$(dirname "$0")/lib.bash"
cd "$WORK"
for i in 1 2; do
  rm -f "$WORK/d.img"
  set +e
  "$HOPSIM" run "$SRC/workloads/scenarios/blk-randrw-verify.lua" --set arch=l4-vmm \
    --set disk="$WORK/d.img" --trace-json "$WORK/t$i.json" --trace-csv "$WORK/t$i.csv" \
    >"$WORK/o$i.raw" 2>"$WORK/e$i"
  rc=$?
  set -e
  grep -v "host [0-9.]* s" "$WORK/o$i.raw" >"$WORK/o$i"
  cp "$WORK/d.img" "$WORK/d$i.img"
done
check "exits 0 (got $rc): $(tail -2 "$WORK/e1")" [ "$rc" -eq 0 ]
check "guest checks passed" grep -Eq "guest checks: [1-9][0-9]* passed, 0 failed" "$WORK/o1"
check "the VM's native driver found the emulated HBA (INTx)" \
  grep -Eq "\[vm1\] sas: HBA in slot 4, regs at 0xc8400000, .* INTx pirq" "$WORK/o1"
check "the driver server owns the real HBA and takes its interrupt as IPC" \
  grep -Eq "\[drv\] drvsrv: serving the SAS HBA \(interrupt [0-9]+ as IPC\)" "$WORK/o1"
check "the VMM's emulation carried every command" \
  grep -Eq "\[vmm1\] emu_sas: ([0-9]+) commands issued to the real HBA, \1 completed to the guest" "$WORK/o1"
check "every command went through the driver server, with pages mapped to it" \
  grep -Eq "\[vmm1\] sas_client: ([0-9]+) commands through the driver server, \1 completed, [1-9][0-9]* pages mapped" "$WORK/o1"
check "the VMM left when its VM ended, then the driver server" \
  bash -c "grep -q 'vmm: vm1 ended (reason 0)' '$WORK/o1' && grep -q 'drvsrv: every client is gone' '$WORK/o1'"
"$HOPSIM" disk-check "$WORK/d1.img" >"$WORK/dc" 2>&1
check "disk image consistent: $(cat "$WORK/dc")" [ $? -eq 0 ]
check "every request's hops are H1..H8 in order" \
  bash -c "[ \"\$(awk -F, 'NR > 1 && \$3 == \"hop\" { s[\$1] = s[\$1] substr(\$2, 2) } END { for (r in s) if (s[r] != \"12345678\") bad++; print bad + 0 }' '$WORK/t1.csv')\" = 0 ]"
check "hops nest (sub-spans inside their hop)" \
  bash -c "[ -z \"\$(jq -r --arg hops 1,2,3,4,5,6,7,8 -f '$SRC/tests/scenario/hop_nesting.jq' '$WORK/t1.json')\" ]"
for kind in vmexit ipc map inject vmm_exit; do
  check "$kind spans" grep -Eq "^$kind +[1-9]" "$WORK/o1"
done
count() { jq "[.traceEvents[] | select((.ph == \"X\" or .ph == \"i\") and $2)] | length" "$1"; }
check "exits reach the VMM as IPC inside the request's H3" \
  test "$(count "$WORK/t1.json" '.cat == "ipc" and .name == "ipc:exit" and .args.hop == "H3"')" -gt 0
check "the VMM's calls to the driver server are IPC inside H4" \
  test "$(count "$WORK/t1.json" '.cat == "ipc" and .args.hop == "H4"')" -gt 0
check "the device's interrupt reaches the driver server as IPC inside H6" \
  test "$(count "$WORK/t1.json" '.cat == "ipc" and .name == "ipc:irq" and .args.hop == "H6"')" -gt 0
check "injections are H7" \
  test "$(count "$WORK/t1.json" '.cat == "inject" and .args.hop != "H7"')" -eq 0
check "no world switches between the microkernel's tasks" bash -c "! grep -Eq '^world_switch +[1-9]' '$WORK/o1'"
check "JSON identical" cmp -s "$WORK/t1.json" "$WORK/t2.json"
check "CSV identical" cmp -s "$WORK/t1.csv" "$WORK/t2.csv"
check "report identical" cmp -s "$WORK/o1" "$WORK/o2"
check "disk images identical" cmp -s "$WORK/d1.img" "$WORK/d2.img"
# two VMs, a VMM each, one driver server
set +e
"$HOPSIM" run "$SRC/workloads/scenarios/blk-randread.lua" --set arch=l4-vmm --set domus=2 \
  --set disk_type=ssd --set requests=30 --set disk="$WORK/r.img" >"$WORK/two" 2>"$WORK/two.err"
rc=$?
set -e
check "two VMs: exit 0 (got $rc)" [ "$rc" -eq 0 ]
check "two VMs: 60 requests done" grep -q "requests: 60 done, 0 in flight" "$WORK/two"
check "two VMs: two clients of one driver server" \
  bash -c "[ \$(grep -c 'drvsrv: client [0-9] is thread' '$WORK/two') = 2 ]"
# two VMs writing and verifying their own data: each in its own eighth of the disk
set +e
"$HOPSIM" run "$SRC/workloads/scenarios/blk-randrw-verify.lua" --set arch=l4-vmm --set domus=2 \
  --set requests=100 --set disk="$WORK/twov.img" >"$WORK/twov" 2>&1
rc=$?
"$HOPSIM" disk-check "$WORK/twov.img" --partitions 8 >"$WORK/twodc" 2>&1
rc8=$?
set -e
check "two VMs verified: exit 0 (got $rc)" [ "$rc" -eq 0 ]
check "two VMs verified: every guest check passed" \
  grep -Eq "guest checks: [1-9][0-9]* passed, 0 failed" "$WORK/twov"
check "two VMs verified: disk-check --partitions 8 passes: $(cat "$WORK/twodc")" \
  bash -c "[ $rc8 -eq 0 ] && grep -Eq ', [1-9][0-9]* written .*, 0 inconsistent, 0 from rejected requests, .*\(8 partitions of ' '$WORK/twodc'"
finish
