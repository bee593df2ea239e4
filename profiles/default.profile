# hopsim default cost profile: an Intel Haswell/Sandy Bridge class x86-64
# server running Xen. Format (see docs/cost-profiles.md):
#
#   NAME  VALUE  UNIT  SOURCE...
#
# "(est.)" marks an estimate; the docs say what each one is based on.
# Per-instruction-class costs are charged per instruction, summed per basic
# block, with no overlap modelled, so they lean to latency, not throughput.

# --- guest instruction classes ---
insn_alu          1      cycles  Agner Fog instruction tables, Haswell: ALU/MOV latency 1 (est.: charged at latency)
insn_load         2      cycles  Agner Fog, Haswell: L1 load latency 4, 2 loads/cycle; 2 taken for overlap (est.)
insn_store        1      cycles  Agner Fog, Haswell: one store port, 1 store/cycle (est.)
insn_branch       1      cycles  Agner Fog, Haswell: predicted taken jump/call/ret 1-2 cycles (est.)
insn_mul          3      cycles  Agner Fog, Haswell: IMUL r64 latency 3
insn_div          32     cycles  Agner Fog, Haswell: DIV r32 22-29, DIV r64 32-96 cycles; low end of r64 (est.)
insn_simd         2      cycles  Agner Fog, Haswell: SSE integer 1, FP add/mul 3-5 latency (est.)
insn_string       1      cycles  Agner Fog, Haswell: REP MOVS/STOS ~1 iteration/cycle for short counts (est.)

# --- virtualization transitions ---
hypercall         1230   cycles  Dall et al., ISCA 2016, Table III: Xen x86 hypercall, Haswell Xeon E3-1281v3 (est.: verify)
vmexit_roundtrip  784    cycles  Agesen et al., USENIX ATC 2012, Table 1: VMX exit+entry, Sandy Bridge
l4_ipc            301    cycles  seL4 comparative IPC table: one-way IPC, Haswell i7-4770 (NOVA i7-920 288; L4Re Xeon 8352S 934 cross-AS)
l4_map_page       500    cycles  (est.) mapping-database insert + page-table write per page (Fiasco map); no published per-page figure found
vmexit_handling   2216   cycles  (est.) Agesen et al., ATC 2012: exit service ~3000 cycles hardware+software, less the 784 hardware
evtchn_send       300    cycles  (est.) Xen evtchn_send: event lock, port lookup, set pending + upcall bits; no published figure
virq_inject       1460   cycles  Dall et al., ISCA 2016, Table III: Xen x86 virtual IRQ completion, Haswell (est.: verify)
world_switch      10500  cycles  Dall et al., ISCA 2016, Table III: Xen x86 VM switch, Haswell (est.: verify)
wake_ipi          3      us      (est.) IPI ~1 us (secondary estimate) + C1 exit 2 us (Linux intel_idle hsw_cstates exit_latency)
idle_exit         2      us      Linux drivers/idle/intel_idle.c, hsw_cstates: C1 exit_latency = 2 us (a device MSI waking a halted CPU; no IPI)

# --- grant tables ---
grant_map         1000   cycles  (est.) Xen map_grant_ref: active entry, maptrack handle, PTE update; below a hypercall
grant_unmap       800    cycles  (est.) Xen unmap_grant_ref checks + PTE clear; the batch's TLB flush is charged as tlb_flush (+ IPIs)
tlb_flush         0.067  us      (est.) Xen flush_area_local: MOV to CR3 ~200 cycles (Agner Fog) at 3 GHz; the re-walks after it are page_walk x tlb_refill_pages
grant_copy_op     500    cycles  (est.) xen-netback gref mapping patch (J. Martins): copy ~0.49 us/64 B pkt more than map, E5-2699v3
memcpy_bw         8      GB/s    (est.) McCalpin: 1 core, 10 L1D misses x 64 B / 79 ns = 8.1 GB/s, Xeon E5-2680 (Sandy Bridge EP)

# --- control plane and services ---
xenstore_request  25     us      (est.) ring write + evtchn + wake user-space xenstored + reply; LightVM (SOSP 2017): XenStore is slow
console_io        2000   cycles  (est.) copy of a short line into Xen's console ring + serial tx buffer; ~1.5 hypercalls of work
sched_slice       50     us      (est.) simulation quantum, not Xen credit's 30 ms tslice: small enough to interleave vCPUs per I/O

# --- PCIe devices and interrupts ---
mmio_read         850    ns      PCIe device round trip ~850 ns: public FPGA measurement on Gen3 x8 (est.)
mmio_write        100    ns      (est.) posted MMIO write: one TLP leaves the core; 50-300 ns per TLP reported (vendor forum)
dma_latency       500    ns      Neugebauer et al., "Understanding PCIe performance for end host networking", SIGCOMM 2018: DMA read ~0.5 us (est.)
pcie_bw           7.2    GB/s    (est.) PCIe 3.0 x8 HBA (LSI SAS 9207-8i class): 8 GT/s x 8 x 128/130 = 7.88 GB/s, less ~9% TLP overhead at 256 B payload
msi_latency       1      us      (est.) upstream posted MSI write ~0.4 us (half the PCIe round trip) + remapping and LAPIC delivery, rounded up
iotlb_miss        330    ns      Neugebauer et al., "Understanding PCIe performance for end host networking", SIGCOMM 2018, sec. 6.4: ~330 ns per IOTLB miss, Xeon E5 (est.: verify)
iotlb_inval       2100   cycles  (est.) Malka et al., "rIOMMU", ASPLOS 2015: invalidating an IOTLB entry ~2,000 cycles, Sandy Bridge (verify)
iotlb_entries     64     x       Neugebauer et al., SIGCOMM 2018, sec. 6.4: IOTLB of 64 entries inferred on Xeon E5 (est.: verify)
irq_native        1000   cycles  (est.) native interrupt: IDT delivery + iretq ~300 cycles, kernel entry/exit and x2APIC EOI write; no direct figure found
hba_cmd_overhead  3      us      (est.) IT-mode SAS HBA firmware per command: a few hundred thousand IOPS per controller core means a few us each

# --- disks behind the HBA ---
hdd_rpm           15000  x       Seagate Cheetah 15K.7 SAS product manual (100516226): 15,000 rpm, average rotational latency 2.0 ms
hdd_seek_track    0.2    ms      (est.) single-track read seek of a 15K SAS drive; Cheetah 15K.7 manual lists average seek only
hdd_seek_avg      3.4    ms      Seagate Cheetah 15K.7 SAS product manual (100516226): average read seek 3.4 ms (Hitachi Ultrastar 15K450: 3.3 ms)
hdd_seek_full     6.5    ms      (est.) full stroke ~2x average seek; cf. Seagate Savvio 10K.4 manual: full stroke 7.8 ms at 3.8 ms average
hdd_rate_outer    204    MB/s    Seagate Cheetah 15K.7 SAS product manual, 4.2.3: sustainable disk transfer rate maximum 204 MB/s
hdd_rate_inner    122    MB/s    Seagate Cheetah 15K.7 SAS product manual, 4.2.3: sustainable disk transfer rate minimum 122 MB/s
hdd_cylinders     115000 x       (est.) 600 GB / (8 heads x ~650 KB per track at 163 MB/s x 4 ms) ~ 115,000 cylinders
ssd_read_latency  90     us      (est.) SAS SSD 4 KiB read ~100-200 us (vendor class figure): 90 us + 4 KiB at ssd_bw ~ 94 us
ssd_write_latency 30     us      (est.) SAS SSD write into power-loss-protected DRAM cache, acknowledged before flash programming
ssd_bw            1000   MB/s    (est.) 12 Gb/s SAS port: 8b/10b gives 1.2 GB/s raw, ~1.0-1.1 GB/s payload (Seagate 1200.2 SSD class)
ssd_channels      8      x       (est.) flash channels serving commands at once: 8 x 94 us ~ 85K 4 KiB IOPS at high queue depth
nvme_read_latency 8      us      (est.) Intel Optane SSD DC P4800X product brief: 4 KiB read latency < 10 us at QD1 (KVM Forum 2020: ~10 us); 8 us + 4 KiB at nvme_bw ~ 9.7 us
nvme_write_latency 8     us      (est.) Intel Optane SSD DC P4800X product brief: 4 KiB write latency < 10 us at QD1
nvme_bw           2400   MB/s    Intel Optane SSD DC P4800X product brief: sequential read up to 2400 MB/s
nvme_channels     6      x       (est.) P4800X rated 550K random 4 KiB read IOPS x 9.7 us per command ~ 5.3 commands served at once
# Service-time tails (models/disk.c): latency drawn per command from a lognormal through the median
# (*_read_latency / *_write_latency) and the datasheet QoS figure at *_tail_quantile; the lognormal shape is an estimate.
ssd_read_tail     500    us      Intel SSD DC S3700 product spec: QoS read/write 500 us at 99.9%, 4 KiB random QD1 (a guaranteed bound taken as the percentile)
ssd_write_tail    500    us      Intel SSD DC S3700 product spec: QoS read/write 500 us at 99.9%, 4 KiB random QD1 (same bound for writes)
ssd_tail_quantile 99.9   x       Intel SSD DC S3700 product spec: the QoS figures are 99.9th percentiles (percent)
nvme_read_tail    60     us      Intel Optane SSD DC P4800X spec (AnandTech table): random 4 KiB read 99.999% latency 60 us at QD1
nvme_write_tail   100    us      Intel Optane SSD DC P4800X spec (AnandTech table): random 4 KiB write 99.999% latency 100 us at QD1
nvme_tail_quantile 99.999 x      Intel Optane SSD DC P4800X spec: the QoS figures are 99.999th percentiles (percent)
ramdisk_latency   0.1    us      (est.) Linux brd (drivers/block/brd.c) looks the page up in its xarray before the copy: a few cache misses
ramdisk_bw        8      GB/s    (est.) brd copies with memcpy (copy_to_brd/copy_from_brd): one core's copy bandwidth, as memcpy_bw
ramdisk_channels  64     x       (est.) a RAM disk serves every command at once (each on its submitter's CPU in Linux); 64 is the model's maximum

# --- SPI flash and the PCH SPI controller (models/spi_flash.c, models/spi_ctrl.c; docs/spi-flash.md) ---
spi_clock          33000000 x   (est.) PCH SPI clock in Hz; 8-series PCH descriptor offers 20/33/50 MHz; 33 MHz: a 64 B memory-mapped line read with 03h takes 8+24+512 clocks ~16.5 us
spi_tpp            0.4    ms    Winbond W25Q128JV datasheet, AC characteristics: page program tPP typ 0.4 ms (max 3 ms)
spi_tse            45     ms    Winbond W25Q128JV datasheet: 4 KiB sector erase tSE typ 45 ms (max 400 ms)
spi_tbe32          120    ms    Winbond W25Q128JV datasheet: 32 KiB block erase tBE1 typ 120 ms (max 1600 ms) (est.: verify)
spi_tbe64          150    ms    Winbond W25Q128JV datasheet: 64 KiB block erase tBE2 typ 150 ms (max 2000 ms)
spi_tce            40     s     Winbond W25Q128JV datasheet: chip erase tCE typ 40 s (max 200 s); scaled by size for smaller parts
spi_tw             10     ms    (est.) write status register tW typ 10 ms (max 15 ms): Winbond W25X40 datasheet figure
smi_latency        50     us    (est.) SMI to handler clearing BIOSWE: SMM entry + all-core rendezvous, tens to hundreds of us (Delgado & Karavanic, IISWC 2013)
spi_cycle_overhead 1      us    (est.) PCH hardware-sequencing cycle setup: FADDR/HSFC programming, CS# deselect, FDONE poll; no published figure

# --- UEFI runtime-service call path (uefi-rt): Xen's efi_rs_enter / efi_rs_leave ---
efi_rs_lock        100    cycles  (est.) uncontended spin_lock/unlock of efi_rs_lock: one locked RMW (~20-40 cycles) + fences; Agner Fog
fpu_save           300    cycles  (est.) XSAVE of x87/SSE/AVX state, Haswell: ~100-300 cycles (Agner Fog tables; larger with AVX-512)
fpu_restore        300    cycles  (est.) XRSTOR, same state size as fpu_save (Agner Fog tables)
cr3_switch         200    cycles  (est.) MOV to CR3 ~200 cycles (Agner Fog); the refill of the entries it drops is page_walk x tlb_refill_pages

# --- TLB shootdown IPIs (sim/xen/flush.c): Xen's flush_area_mask -> send_IPI_mask, smp_invalidate_interrupt ---
tlb_ipi_latency    1      us    (est.) IPI from the APIC ICR write to the remote handler ~1 us (secondary), as wake_ipi's IPI part
tlb_ipi_handler    1200   cycles  (est.) remote interrupt entry + EOI + iret as irq_native (1000 cycles) + flush_area_local's CR3 write (~200 cycles)

# --- lock hold times not covered by an operation's cost (sim/xen/lock.c) ---
maptrack_lock      60     cycles  (est.) Xen _get/put_maptrack_handle under v->maptrack_freelist_lock: two cmpxchg on shared lines, ~20-30 cycles each (Agner Fog)
# --- memory reservations (ballooning): Xen's memory_op ---
memop_page         800    cycles  (est.) Xen alloc_domheap_pages/free_domheap_pages + one p2m entry set/clear per 4 KiB page; cf. grant_map's PTE update

# --- cache/TLB refill penalties (sim/xen/refill.c): after a world switch, a CR3 switch, a runtime-service entry, a flush ---
page_walk          30     cycles  (est.) PTE load with upper levels in the paging-structure caches (Intel SDM 3A 4.10.3): L2 hit 12 cycles (Intel opt. manual, Haswell) + miss handling
tlb_refill_pages   32     x       (est.) 4 KiB pages (code, stack, ring, request, MMIO) a driver or handler path touches per activation; half of Haswell's 64-entry L1 DTLB
cache_refill       3500   cycles  (est.) FlexSC (Soares & Stumm, OSDI 2010) sec. 2.3: user IPC ~halves after a mode switch, ~14K cycles to recover: 0.5 x 0.5 x 14K; drawn in [0, 2x]
