#!/usr/bin/env bash
# hopsim attack-matrix: each verdict is what the models measured -- the SPI
# controller refusing or accepting the attacker's cycles, measured boot's
# PCR0 -- on private copies of the build's platform flash.
source "$(dirname "$0")/lib.bash"
"$HOPSIM" attack-matrix "$BUILD/platform.fd" "$BUILD/guest/backend-rt.elf" >"$WORK/m" 2>"$WORK/e"
check "attack-matrix exits 0: $(cat "$WORK/e")" [ $? -eq 0 ]
row() { grep -F "$1" "$WORK/m"; }
check "dom0 on disk: compromised" bash -c "grep -F 'rewrites backend.elf on disk' '$WORK/m' | grep -q ' compromised '"
check "protections on: blocked" bash -c "grep -F 'protections on' '$WORK/m' | grep -q ' blocked .*refused (SMM_BWP\|refused (PR'"
check "BLE + SMM_BWP: blocked" bash -c "grep -F 'BLE + SMM_BWP only' '$WORK/m' | grep -q ' blocked '"
check "SetVariable stalls I/O" bash -c "grep -F 'SetVariable erases flash' '$WORK/m' | grep -q ' stalled '"
check "Speed Racer: writes land, PCR0 differs" bash -c "grep -F 'Speed Racer' '$WORK/m' | grep -q ' detected .*SMIs raced.*PCR0 .* != golden'"
check "protections off: detected by PCR0" bash -c "grep -F 'protections off' '$WORK/m' | grep -q ' detected .*!= golden'"
check "a backend fault loses I/O under both" [ "$(grep -F 'fault inside the backend' "$WORK/m" | grep -c ' I/O lost .*29 of 100')" -eq 2 ]
check "malicious frontend blocked under both" [ "$(grep -F 'malicious frontend' "$WORK/m" | grep -c ' blocked .* 0 failed')" -eq 2 ]
rogue() { grep -F "rogue driver DMAs into a domU's memory (IOMMU $2)" "$WORK/m" | grep "^$1 "; }
check "rogue dom0, IOMMU off: compromised" bash -c "$(declare -f rogue); WORK=$WORK; rogue xen-dom0 off | grep -q ' compromised .*1 DMA write(s) landed'"
check "rogue dom0, IOMMU on: compromised" bash -c "$(declare -f rogue); WORK=$WORK; rogue xen-dom0 on | grep -q ' compromised .*1 DMA write(s) landed.*map all RAM'"
check "rogue IDD, IOMMU off: compromised" bash -c "$(declare -f rogue); WORK=$WORK; rogue xen-idd off | grep -q ' compromised .*1 DMA write(s) landed.* 0 IOMMU fault'"
check "rogue IDD, IOMMU on: blocked, fault recorded" bash -c "$(declare -f rogue); WORK=$WORK; rogue xen-idd on | grep -q ' blocked .*0 DMA write(s) landed.* 1 IOMMU fault(s) recorded'"
check "rogue uefi-rt, IOMMU on: compromised" bash -c "$(declare -f rogue); WORK=$WORK; rogue uefi-rt on | grep -q ' compromised '"
check "device-emulation fault, hvm-emul: dom0 and every guest's I/O lost" bash -c "grep -F 'fault in the device emulation' '$WORK/m' | grep '^hvm-emul ' | grep -q ' I/O lost .*29 of 100.*dom0 crashed'"
check "VMM fault, l4-vmm: that VM only, the other VM, its VMM and the driver server run on" bash -c "grep '^l4-vmm ' '$WORK/m' | grep -F 'VMM emulation' | grep -q ' VM lost .*129 of 200.*crashed: vmm1, vm1; ran to the end: drv, vmm2, vm2'"
check "device-emulation fault, hosted: that VM only, the host runs on" bash -c "grep -F 'fault in the device emulation' '$WORK/m' | grep '^hosted ' | grep -q ' VM lost .*29 of 100.*host OS and its other processes run on'"
check "IDD fault without restart: I/O lost, only the IDD crashed" bash -c "grep -F \"fault inside the IDD's backend (request 70)\" '$WORK/m' | grep -q ' I/O lost .*1 IDD crashed, no other domain'"
check "IDD fault with restart: recovered, 120 of 120" bash -c "grep -F 'on_crash=restart' '$WORK/m' | grep -q ' recovered .*120 of 120 requests completed'"
# device-emulation compromise: what hostile code where the emulation runs reached, per design
comp() { grep -E "^$1 +compromised (backend|VMM)" "$WORK/m"; }
check "compromise, native: no emulation" bash -c "grep -E '^native +device-emulation compromise +n/a ' '$WORK/m'"
check "compromise, xen-dom0: memory, disk data and DMA reached, hypervisor refused" bash -c "$(declare -f comp); WORK=$WORK; comp xen-dom0 | grep -q ' compromised  other guest.s memory: read+write reached; its disk data: read+write reached; hypervisor: refused (-3); DMA: 1 write(s) landed.*60 of 60'"
check "compromise, xen-idd: memory refused (not privileged), disk data reached, DMA faulted" bash -c "$(declare -f comp); WORK=$WORK; comp xen-idd | grep -q ' compromised  other guest.s memory: refused (-1); its disk data: read+write reached; hypervisor: refused (-1); DMA: 0 write(s) landed, 1 IOMMU fault(s); 60 of 60'"
check "compromise, uefi-rt: memory, disk data and DMA reached" bash -c "$(declare -f comp); WORK=$WORK; comp uefi-rt | grep -q ' compromised  other guest.s memory: read+write reached; its disk data: read+write reached; .*DMA: 1 write(s) landed.*60 of 60'"
l4line=$(comp l4-vmm || true)
check "compromise, l4-vmm: contained" grep -Eq '^l4-vmm .* contained +other' <<<"$l4line"
check "compromise, l4-vmm: every attempt refused, both VMs complete" grep -qF "memory: refused (-2); its disk data: refused (-13); microkernel: refused (-2); DMA: refused (-14); 60 of 60" <<<"$l4line"
comp_dm() { grep -E "^$1 +compromised (device model|VMM process) of $2" "$WORK/m"; }
hvmline=$(comp_dm hvm-emul "guest 1 \\(root" || true)
check "compromise, hvm-emul (QEMU as root in dom0): memory and disk data reached, hypervisor refused" \
  grep -qF " compromised  other guest's memory: read+write reached; its disk data: read+write reached; hypervisor: refused (-3); DMA: 0 write(s) landed, 1 IOMMU fault(s)" <<<"$hvmline"
rline=$(comp_dm hvm-emul "guest 1, dm_restrict" || true)
check "compromise, hvm-emul with dm_restrict: contained, privcmd and file permissions refuse" \
  grep -qF " contained    other guest's memory: refused (-1); its disk data: refused (-13); hypervisor: refused (-1); DMA: refused (-13); 60 of 60" <<<"$rline"
hline=$(comp_dm hosted "VM 1" || true)
check "compromise, hosted (the VM's process, same user): memory (ptrace) and disk image reached, host kernel and DMA refused" \
  grep -qF " compromised  other guest's memory: read+write reached; its disk data: read+write reached; host kernel: refused (-1); DMA: refused (-13); 60 of 60" <<<"$hline"
# the answers come from the models: the console of one run per placement
for a in hvm-emul hosted; do
  rm -f "$WORK/c.img"
  "$HOPSIM" run "$SRC/workloads/scenarios/blk-randread.lua" --set arch=$a --set disk_type=ssd \
    --set requests=30 --set domus=2 --set compromise_after=10 --set iommu=true --set disk="$WORK/c.img" \
    >"$WORK/c-$a" 2>&1
  check "$a compromised run: exit 0, 60 requests" grep -q "requests: 60 done, 0 in flight" "$WORK/c-$a"
done
check "hvm-emul: the hypervisor mapped the other guest's frame to the root device model" \
  grep -qF "emu: compromised: privcmd mapping of a frame of d2: 0" "$WORK/c-hvm-emul"
check "hvm-emul: the hypervisor refused its own frame (ESRCH)" \
  grep -qF "privcmd mapping of a hypervisor frame (DOMID_XEN): -3" "$WORK/c-hvm-emul"
check "hvm-emul: the other guest's partition read and written back through the real HBA" \
  bash -c "grep -q 'read of block 1048576, the other VM.s disk: ok' '$WORK/c-hvm-emul' && grep -q 'write of block 1048576, the other VM.s disk: ok' '$WORK/c-hvm-emul'"
check "hosted: ptrace of the other VM's process (same uid) allowed, /dev/mem and init_module refused" \
  bash -c "grep -qF 'PTRACE_ATTACH to the VM process of d2: 0' '$WORK/c-hosted' && grep -qF 'open(/dev/mem): -13; init_module: -1' '$WORK/c-hosted'"
check "hvm-emul: the root device model programs the HBA; the IOMMU refuses the frame it aimed at" \
  grep -qF "Request device [0000:00:04.0] fault addr 2000000 (owner dom0 d0)" "$WORK/c-hvm-emul"
check "hosted: no DMA from user space (sysfs resource0 is root's)" \
  grep -qF "open(/sys/bus/pci/devices/0000:00:04.0/resource0, O_RDWR): -13" "$WORK/c-hosted"
check "the build's flash is untouched" "$HOPSIM" flash inspect "$BUILD/platform.fd"
finish
