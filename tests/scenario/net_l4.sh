#!/usr/bin/env bash
# l4-vmm on the network path: the unmodified net_native.elf (netperf, the
# native network layer, the native e1000 driver) in a VM on the microkernel;
# its e1000 register accesses exit as IPC to its user-level VMM, which
# emulates the e1000 (the same unit as hvm-emul's device model) and carries
# the frames through the network driver server (the real e1000 driver) by
# IPC, its transmit and receive pages mapped to the server by flexpage.
# Every answer is checked byte for byte by the guest and by the peer; every
# request passes H1..H8 in order, nested; the same seed gives byte-identical
# traces; the five-column comparison has per-hop rows.
source "$(dirname "$0")/lib.bash"
cd "$WORK"
for i in 1 2; do
  set +e
  "$HOPSIM" run "$SRC/workloads/scenarios/net-rr.lua" --set arch=l4-vmm --set count=10 \
    --trace-json "$WORK/t$i.json" --trace-csv "$WORK/t$i.csv" --pcap "$WORK/w$i.pcap" \
    >"$WORK/o$i.raw" 2>"$WORK/e$i"
  rc=$?
  set -e
  grep -v -e "host [0-9.]* s" -e "^net: pcap " "$WORK/o$i.raw" >"$WORK/o$i"
done
check "exits 0 (got $rc): $(tail -2 "$WORK/e1")" [ "$rc" -eq 0 ]
check "guest checks passed" grep -Eq "guest checks: [1-9][0-9]* passed, 0 failed" "$WORK/o1"
check "every answer intact, none lost" \
  grep -Eq "netperf: 30 requests, 0 transmit failures, 0 bad answers, 0 lost, 0 unexpected frames" "$WORK/o1"
check "the peer saw every payload intact" \
  grep -q "received 30 frames (30 test frames, 0 with a bad payload), sent 30" "$WORK/o1"
check "the VM's native driver found the emulated NIC (INTx)" \
  grep -Eq "\[vm1\] e1000: NIC in slot 3, regs at 0xc8300000, MAC 00:16:3e:00:00:01, .* INTx pirq" "$WORK/o1"
check "the network server owns the real NIC and takes its interrupt as IPC" \
  grep -Eq "\[drv\] netsrv: serving the e1000 \(interrupt [0-9]+ as IPC\)" "$WORK/o1"
check "the VMM carried every frame both ways" \
  grep -Eq "vmm_e1000: 30 frames carried to the server \(0 failed, 0 dropped\), 30 received for the guest \(0 dropped, 0 not addressed to it\), [1-9][0-9]* pages mapped" "$WORK/o1"
check "the server sent and received them for its client" \
  grep -q "netsrv: client 0: 30 frames sent, 30 received, 0 dropped" "$WORK/o1"
check "every request's hops are H1..H8 in order" \
  bash -c "[ \"\$(awk -F, 'NR > 1 && \$3 == \"hop\" { s[\$1] = s[\$1] substr(\$2, 2) } END { for (r in s) if (s[r] != \"12345678\") bad++; print bad + 0 }' '$WORK/t1.csv')\" = 0 ]"
check "30 requests traced" [ "$(awk -F, 'NR > 1 && $3 == "hop" && $2 == "H1"' "$WORK/t1.csv" | wc -l)" -eq 30 ]
check "hops nest (sub-spans inside their hop)" \
  bash -c "[ -z \"\$(jq -r --arg hops 1,2,3,4,5,6,7,8 -f '$SRC/tests/scenario/hop_nesting.jq' '$WORK/t1.json')\" ]"
for kind in vmexit ipc map inject vmm_exit; do
  check "$kind spans" grep -Eq "^$kind +[1-9]" "$WORK/o1"
done
check "the wire carried 60 frames" [ "$(tshark -r "$WORK/w1.pcap" 2>/dev/null | wc -l)" -eq 60 ]
check "JSON identical" cmp -s "$WORK/t1.json" "$WORK/t2.json"
check "CSV identical" cmp -s "$WORK/t1.csv" "$WORK/t2.csv"
check "report identical" cmp -s "$WORK/o1" "$WORK/o2"
check "pcap identical" cmp -s "$WORK/w1.pcap" "$WORK/w2.pcap"
for s in net-stream net-rx; do
  set +e
  "$HOPSIM" run "$SRC/workloads/scenarios/$s.lua" --set arch=l4-vmm --set count=20 >"$WORK/s.out" 2>"$WORK/s.err"
  rc=$?
  set -e
  check "$s under l4-vmm exits 0 (got $rc): $(tail -2 "$WORK/s.err")" [ "$rc" -eq 0 ]
  check "$s under l4-vmm: guest checks passed" grep -Eq "guest checks: [1-9][0-9]* passed, 0 failed" "$WORK/s.out"
done
archs=native,hosted,xen-dom0,l4-vmm,uefi-rt
set +e
"$HOPSIM" compare "$SRC/workloads/scenarios/net-rr.lua" --arch $archs --set count=10 \
  --set sizes=64 >"$WORK/c.out" 2>"$WORK/c.err"
rc=$?
set -e
check "compare $archs exits 0 (got $rc): $(tail -2 "$WORK/c.err")" [ "$rc" -eq 0 ]
hdr=$(grep -m1 -E "^ +native " "$WORK/c.out" || true)
for a in $(echo "$archs" | tr ',' ' '); do
  check "compare: a '$a' column" bash -c "echo '$hdr' | grep -qw -- '$a'"
done
for h in H1 H2 H3 H4 H5 H6 H7 H8; do
  check "compare: an $h p50 row" grep -q "^$h p50" "$WORK/c.out"
done
check "compare: guest checks passed in all 5 runs" \
  [ "$(grep -Ec 'guest checks: [1-9][0-9]* passed, 0 failed' "$WORK/c.out")" -eq 5 ]
finish
