#!/usr/bin/env bash
# hvm-emul and hosted on the network path: the unmodified net_native.elf
# (netperf, the native network layer, the native e1000 driver) as a
# hardware-virtualized guest whose e1000 is emulated by the device model --
# in dom0 over Xen's ioreq protocol (hvm-emul), or in the host OS that owns
# the NIC (hosted) -- and carried by the real e1000 driver on the real NIC.
# Every answer is checked byte for byte by the guest; every request passes
# H1..H8 in order; exits and ioreq round trips are spans; the same seed
# gives byte-identical traces. Then the five-column comparisons the issues
# ask for, with per-hop rows.
source "$(dirname "$0")/lib.bash"
cd "$WORK"
for arch in hvm-emul hosted; do
  for i in 1 2; do
    set +e
    "$HOPSIM" run "$SRC/workloads/scenarios/net-rr.lua" --set arch=$arch --set count=10 \
      --trace-json "$WORK/t$i.json" --trace-csv "$WORK/t$i.csv" --pcap "$WORK/w$i.pcap" \
      >"$WORK/o$i.raw" 2>"$WORK/e$i"
    rc=$?
    set -e
    grep -v -e "host [0-9.]* s" -e "^net: pcap " "$WORK/o$i.raw" >"$WORK/o$i"
  done
  check "$arch exits 0 (got $rc): $(tail -2 "$WORK/e1")" [ "$rc" -eq 0 ]
  check "$arch: guest checks passed" grep -Eq "guest checks: [1-9][0-9]* passed, 0 failed" "$WORK/o1"
  check "$arch: every answer intact, none lost" \
    grep -Eq "netperf: 30 requests, 0 transmit failures, 0 bad answers, 0 lost, 0 unexpected frames" "$WORK/o1"
  check "$arch: the peer saw every payload intact" \
    grep -q "received 30 frames (30 test frames, 0 with a bad payload), sent 30" "$WORK/o1"
  check "$arch: the guest's native driver found the emulated NIC (INTx)" \
    grep -Eq "\[(hvm|vm)\] e1000: NIC in slot 3, regs at 0xc8300000, MAC 00:16:3e:00:00:01, .* INTx pirq" "$WORK/o1"
  check "$arch: the real driver owns the real NIC in the device model" \
    grep -Eq "\[(dom0|host)\] e1000: NIC in slot [0-9]+, regs at 0xc0000000, .* MSI pirq" "$WORK/o1"
  check "$arch: the device model carried every frame both ways" \
    grep -q "dm_e1000: 30 frames carried to the real NIC (0 failed, 0 dropped), 30 received for the guest (0 dropped, 0 not addressed to it)" "$WORK/o1"
  check "$arch: the device model left when the guest was gone" \
    grep -q "devmodel: d1 is gone after" "$WORK/o1"
  check "$arch: every request's hops are H1..H8 in order" \
    bash -c "[ \"\$(awk -F, 'NR > 1 && \$3 == \"hop\" { s[\$1] = s[\$1] substr(\$2, 2) } END { for (r in s) if (s[r] != \"12345678\") bad++; print bad + 0 }' '$WORK/t1.csv')\" = 0 ]"
  check "$arch: 30 requests traced" [ "$(awk -F, 'NR > 1 && $3 == "hop" && $2 == "H1"' "$WORK/t1.csv" | wc -l)" -eq 30 ]
  check "$arch: VM exits are spans" grep -Eq "^vmexit +[1-9]" "$WORK/o1"
  check "$arch: ioreq round trips are spans" grep -Eq "^ioreq +[1-9]" "$WORK/o1"
  check "$arch: the ioreq of the guest's ICR read is in H7" grep -q ",H7,ioreq,mmio read," "$WORK/t1.csv"
  check "$arch: the wire carried 60 frames" [ "$(tshark -r "$WORK/w1.pcap" 2>/dev/null | wc -l)" -eq 60 ]
  check "$arch: JSON identical" cmp -s "$WORK/t1.json" "$WORK/t2.json"
  check "$arch: CSV identical" cmp -s "$WORK/t1.csv" "$WORK/t2.csv"
  check "$arch: report identical" cmp -s "$WORK/o1" "$WORK/o2"
  check "$arch: pcap identical" cmp -s "$WORK/w1.pcap" "$WORK/w2.pcap"
done
check "hosted: the VM and the host share a CPU: world switches" grep -Eq "^world_switch +[1-9]" "$WORK/o1"
set +e
"$HOPSIM" run "$SRC/workloads/scenarios/net-malicious.lua" --set arch=hvm-emul >"$WORK/m.out" 2>"$WORK/m.err"
rc=$?
set -e
check "net-malicious refuses hvm-emul, exit 2 (got $rc)" [ "$rc" -eq 2 ]
check "net-malicious says why" grep -q "arch: 'hvm-emul' runs one unmodified guest" "$WORK/m.err"
for archs in native,xen-dom0,xen-idd,hvm-emul,uefi-rt native,hosted,xen-dom0,uefi-rt; do
  set +e
  "$HOPSIM" compare "$SRC/workloads/scenarios/net-rr.lua" --arch $archs --set count=10 \
    --set sizes=64 >"$WORK/c.out" 2>"$WORK/c.err"
  rc=$?
  set -e
  check "compare $archs exits 0 (got $rc): $(tail -2 "$WORK/c.err")" [ "$rc" -eq 0 ]
  n=$(echo "$archs" | tr ',' '\n' | wc -l)
  hdr=$(grep -m1 -E "^ +native " "$WORK/c.out" || true)
  for a in $(echo "$archs" | tr ',' ' '); do
    check "compare $archs: a '$a' column" bash -c "echo '$hdr' | grep -qw -- '$a'"
  done
  for h in H1 H2 H3 H4 H5 H6 H7 H8; do
    check "compare $archs: an $h p50 row" grep -q "^$h p50" "$WORK/c.out"
  done
  check "compare $archs: guest checks passed in all $n runs" \
    [ "$(grep -Ec 'guest checks: [1-9][0-9]* passed, 0 failed' "$WORK/c.out")" -eq "$n" ]
done
finish
