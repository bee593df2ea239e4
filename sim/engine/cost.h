/*
 * Cost profiles: every parameter the timing model charges, with its unit
 * and its published source, loaded from a data file (profiles/NAME.profile).
 *
 * File format, one parameter per line ('#' starts a comment line):
 *
 *     NAME  VALUE  UNIT  SOURCE...
 *
 * UNIT must fit the parameter's dimension (cycles; a time: ps ns us ms s;
 * a bandwidth: B/s KB/s MB/s GB/s; a plain count: x). SOURCE is the rest
 * of the line and must not be empty; "(est.)" in it marks an estimate.
 * Every known parameter must appear exactly once; unknown names, bad
 * numbers, wrong units and duplicates are errors naming file:line:name.
 *
 * Values are stored in canonical units: cycles as cycles, times in ps,
 * bandwidths in bytes per second, counts as-is.
 */
#ifndef HOPSIM_COST_H
#define HOPSIM_COST_H

#include <stddef.h>
#include <stdint.h>
#include "simtime.h"

enum cost_dim { DIM_CYCLES, DIM_TIME, DIM_BANDWIDTH, DIM_COUNT };

/* X(id, "name", dimension, "what it is") -- append new parameters at the end */
#define HOPSIM_COSTS(X)                                                                            \
    X(C_INSN_ALU, "insn_alu", DIM_CYCLES, "integer ALU / move instruction")                        \
    X(C_INSN_LOAD, "insn_load", DIM_CYCLES, "instruction with a memory read operand (L1 hit)")     \
    X(C_INSN_STORE, "insn_store", DIM_CYCLES, "instruction with a memory write operand")           \
    X(C_INSN_BRANCH, "insn_branch", DIM_CYCLES, "jump, call, return (predicted)")                  \
    X(C_INSN_MUL, "insn_mul", DIM_CYCLES, "integer multiply")                                      \
    X(C_INSN_DIV, "insn_div", DIM_CYCLES, "integer divide")                                        \
    X(C_INSN_SIMD, "insn_simd", DIM_CYCLES, "SSE instruction")                                     \
    X(C_INSN_STRING, "insn_string", DIM_CYCLES, "string instruction iteration (rep movs/stos)")    \
    X(C_HYPERCALL, "hypercall", DIM_CYCLES, "PV hypercall entry + exit (syscall into Xen)")        \
    X(C_VMEXIT, "vmexit_roundtrip", DIM_CYCLES, "VM exit + entry, hardware")                       \
    X(C_VMEXIT_HANDLING, "vmexit_handling", DIM_CYCLES, "VM exit dispatch + instruction decode")   \
    X(C_L4_IPC, "l4_ipc", DIM_CYCLES, "microkernel IPC, one way, cross address space")             \
    X(C_L4_MAP_PAGE, "l4_map_page", DIM_CYCLES, "microkernel map/grant/unmap, per page")           \
    X(C_EVTCHN_SEND, "evtchn_send", DIM_CYCLES, "event channel send work inside Xen")              \
    X(C_IRQ_INJECT, "virq_inject", DIM_CYCLES, "virtual interrupt / upcall delivery to a vCPU")    \
    X(C_WORLD_SWITCH, "world_switch", DIM_CYCLES, "switch a physical CPU between domains")         \
    X(C_WAKE_IPI, "wake_ipi", DIM_TIME, "IPI to wake an idle physical CPU")                        \
    X(C_IDLE_EXIT, "idle_exit", DIM_TIME, "idle CPU's C-state exit when an interrupt wakes it")    \
    X(C_GNT_MAP, "grant_map", DIM_CYCLES, "grant map: table checks + page table update")           \
    X(C_GNT_UNMAP, "grant_unmap", DIM_CYCLES, "grant unmap: checks + page table update")           \
    X(C_TLB_FLUSH, "tlb_flush", DIM_TIME, "local TLB flush of the unmapping CPU")                  \
    X(C_GNT_COPY_OP, "grant_copy_op", DIM_CYCLES, "grant copy: per-operation checks")              \
    X(C_MEMCPY_BW, "memcpy_bw", DIM_BANDWIDTH, "in-hypervisor memory copy bandwidth")              \
    X(C_XS_REQUEST, "xenstore_request", DIM_TIME, "xenstored: one request served")                 \
    X(C_CONSOLE_IO, "console_io", DIM_CYCLES, "console_io hypercall work per call")                \
    X(C_SLICE, "sched_slice", DIM_TIME, "scheduler time slice / simulation quantum")               \
    X(C_MMIO_READ, "mmio_read", DIM_TIME, "PCIe MMIO register read round trip")                    \
    X(C_MMIO_WRITE, "mmio_write", DIM_TIME, "PCIe MMIO register write (posted)")                   \
    X(C_DMA_LATENCY, "dma_latency", DIM_TIME, "device DMA access latency (plus bytes / pcie_bw)")  \
    X(C_PCIE_BW, "pcie_bw", DIM_BANDWIDTH, "device PCIe link bandwidth for DMA")                   \
    X(C_MSI_LATENCY, "msi_latency", DIM_TIME, "device interrupt write to interrupt at the CPU")    \
    X(C_IOTLB_MISS, "iotlb_miss", DIM_TIME, "IOMMU IOTLB miss: context + 4-level page walk")       \
    X(C_IOTLB_INVAL, "iotlb_inval", DIM_CYCLES, "IOMMU IOTLB invalidation, issued and waited for") \
    X(C_IOTLB_ENTRIES, "iotlb_entries", DIM_COUNT, "IOMMU IOTLB entries")                          \
    X(C_IRQ_NATIVE, "irq_native", DIM_CYCLES, "native interrupt entry + exit (IDT, EOI, iret)")    \
    X(C_HBA_CMD, "hba_cmd_overhead", DIM_TIME, "SAS HBA firmware work per command")                \
    X(C_HDD_RPM, "hdd_rpm", DIM_COUNT, "HDD spindle speed, revolutions per minute")                \
    X(C_HDD_SEEK_TRACK, "hdd_seek_track", DIM_TIME, "HDD track-to-track seek")                     \
    X(C_HDD_SEEK_AVG, "hdd_seek_avg", DIM_TIME, "HDD average seek (1/3 stroke)")                   \
    X(C_HDD_SEEK_FULL, "hdd_seek_full", DIM_TIME, "HDD full-stroke seek")                          \
    X(C_HDD_RATE_OUTER, "hdd_rate_outer", DIM_BANDWIDTH, "HDD media rate, outer zone (LBA 0)")     \
    X(C_HDD_RATE_INNER, "hdd_rate_inner", DIM_BANDWIDTH, "HDD media rate, inner zone (last LBA)")  \
    X(C_HDD_CYLINDERS, "hdd_cylinders", DIM_COUNT, "HDD cylinders over the full stroke")           \
    X(C_SSD_READ_LAT, "ssd_read_latency", DIM_TIME, "SSD read latency before the transfer")        \
    X(C_SSD_WRITE_LAT, "ssd_write_latency", DIM_TIME, "SSD write latency besides the transfer")    \
    X(C_SSD_BW, "ssd_bw", DIM_BANDWIDTH, "SSD media transfer bandwidth per command")               \
    X(C_SSD_CHANNELS, "ssd_channels", DIM_COUNT, "SSD internal channels serving commands at once") \
    X(C_NVME_READ_LAT, "nvme_read_latency", DIM_TIME, "NVMe SSD read latency before the transfer") \
    X(C_NVME_WRITE_LAT, "nvme_write_latency", DIM_TIME, "NVMe SSD write latency besides transfer") \
    X(C_NVME_BW, "nvme_bw", DIM_BANDWIDTH, "NVMe SSD media transfer bandwidth per command")        \
    X(C_NVME_CHANNELS, "nvme_channels", DIM_COUNT, "NVMe SSD commands served at once")             \
    X(C_RAM_LAT, "ramdisk_latency", DIM_TIME, "RAM-backed disk access latency before the copy")    \
    X(C_RAM_BW, "ramdisk_bw", DIM_BANDWIDTH, "RAM-backed disk copy bandwidth per command")         \
    X(C_RAM_CHANNELS, "ramdisk_channels", DIM_COUNT, "RAM-backed disk commands served at once")    \
    X(C_SPI_CLOCK, "spi_clock", DIM_COUNT, "SPI flash serial clock, Hz")                           \
    X(C_SPI_TPP, "spi_tpp", DIM_TIME, "SPI NOR page program time (typical)")                       \
    X(C_SPI_TSE, "spi_tse", DIM_TIME, "SPI NOR 4 KiB sector erase time (typical)")                 \
    X(C_SPI_TBE32, "spi_tbe32", DIM_TIME, "SPI NOR 32 KiB block erase time (typical)")             \
    X(C_SPI_TBE64, "spi_tbe64", DIM_TIME, "SPI NOR 64 KiB block erase time (typical)")             \
    X(C_SPI_TCE, "spi_tce", DIM_TIME, "SPI NOR chip erase time (typical, 128 Mbit part)")          \
    X(C_SPI_TW, "spi_tw", DIM_TIME, "SPI NOR non-volatile status register write time")             \
    X(C_SMI_LATENCY, "smi_latency", DIM_TIME, "SMI raised to the SMI handler acting (BIOSWE)")     \
    X(C_SPI_CYCLE_OVH, "spi_cycle_overhead", DIM_TIME, "SPI controller per-cycle overhead")        \
    X(C_RS_LOCK, "efi_rs_lock", DIM_CYCLES, "take or release the global runtime-services lock")    \
    X(C_FPU_SAVE, "fpu_save", DIM_CYCLES, "save the FPU/SSE state (XSAVE) before a runtime call")  \
    X(C_FPU_RESTORE, "fpu_restore", DIM_CYCLES, "restore the FPU/SSE state (XRSTOR) after it")     \
    X(C_CR3_SWITCH, "cr3_switch", DIM_CYCLES, "write CR3 to/from the EFI page tables")             \
    X(C_SSD_READ_TAIL, "ssd_read_tail", DIM_TIME, "SSD read latency at ssd_tail_quantile")         \
    X(C_SSD_WRITE_TAIL, "ssd_write_tail", DIM_TIME, "SSD write latency at ssd_tail_quantile")      \
    X(C_SSD_TAIL_Q, "ssd_tail_quantile", DIM_COUNT, "SSD QoS percentile of the tail figures")      \
    X(C_NVME_READ_TAIL, "nvme_read_tail", DIM_TIME, "NVMe read latency at nvme_tail_quantile")     \
    X(C_NVME_WRITE_TAIL, "nvme_write_tail", DIM_TIME, "NVMe write latency at nvme_tail_quantile")  \
    X(C_NVME_TAIL_Q, "nvme_tail_quantile", DIM_COUNT, "NVMe QoS percentile of the tail figures")   \
    X(C_TLB_IPI_LATENCY, "tlb_ipi_latency", DIM_TIME, "flush IPI: send to the remote handler")     \
    X(C_TLB_IPI_HANDLER, "tlb_ipi_handler", DIM_CYCLES, "flush IPI handler: entry, flush, ack")    \
    X(C_MAPTRACK_LOCK, "maptrack_lock", DIM_CYCLES, "maptrack free-list critical section")         \
    X(C_MEMOP_PAGE, "memop_page", DIM_CYCLES,                                                      \
      "reservation op per page: heap allocator + p2m entry")                                       \
    X(C_PAGE_WALK, "page_walk", DIM_CYCLES, "TLB miss: page walk, upper levels in the PSCs")       \
    X(C_TLB_REFILL_PAGES, "tlb_refill_pages", DIM_COUNT, "pages a context re-walks when cold")     \
    X(C_CACHE_REFILL, "cache_refill", DIM_CYCLES, "cache misses after another domain ran, mean")

#define HOPSIM_COST_ENUM_(id, name, dim, desc) id,
enum cost_id { HOPSIM_COSTS(HOPSIM_COST_ENUM_) COST_COUNT };
#undef HOPSIM_COST_ENUM_

struct cost_profile {
    char name[64];
    double value[COST_COUNT]; /* canonical units */
    char unit[COST_COUNT][8]; /* unit as written in the file */
    double given[COST_COUNT]; /* value as written in the file */
    char source[COST_COUNT][160];
    int line[COST_COUNT];
};

const char *cost_name(enum cost_id id);
enum cost_dim cost_dim(enum cost_id id);
const char *cost_desc(enum cost_id id);
/* -1 if unknown */
int cost_lookup(const char *name);

/* Load a profile file. 0 on success, -1 with "file:line: name: message" in err. */
int cost_load(struct cost_profile *p, const char *path, char *err, size_t errlen);
/* Set one parameter from "VALUE UNIT" text (used by --set cost.NAME=...). */
int cost_set(struct cost_profile *p, const char *name, const char *value_unit, char *err,
             size_t errlen);

/* Conversions given the core clock in Hz. */
static inline simtime_t cost_cycles_to_ps(double cycles, double hz)
{
    return (simtime_t)(cycles * 1e12 / hz + 0.5);
}
/* Time of parameter `id` in ps (cycles converted with hz; times as stored). */
simtime_t cost_ps(const struct cost_profile *p, enum cost_id id, double hz);
/* Time to move `bytes` at bandwidth parameter `id`, in ps. */
simtime_t cost_bytes_ps(const struct cost_profile *p, enum cost_id id, uint64_t bytes);

#endif
