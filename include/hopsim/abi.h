/*
 * hopsim guest <-> simulator conventions that Xen does not define.
 *
 * Everything Xen defines (hypercalls, start_info, shared_info, event
 * channels, grant tables, rings, xenstore wire) comes from Xen's public
 * headers. This header holds only what is hopsim's own:
 *
 *  - the trace-mark port: a guest marks span and hop boundaries with one
 *    `outl %eax, $HOPSIM_TRACE_PORT`; %eax holds the mark code, %rdi the
 *    request id, %rsi a small argument. The simulator hooks the OUT
 *    instruction synchronously; it never stops or switches the vCPU there.
 *  - the guest-physical layout of a domain (PVH-like: paging is identity,
 *    guest virtual == pseudo-physical).
 *  - span kinds and hop numbers shared by guest marks and host traces.
 *
 * Included by host C and freestanding guest C alike: no libc, no Unicorn.
 */
#ifndef HOPSIM_ABI_H
#define HOPSIM_ABI_H

#include <stdint.h>

/* ---- trace marks ------------------------------------------------------ */

#define HOPSIM_TRACE_PORT 0xE4

/* mark code layout in %eax: op (bits 0-7) | hop (bits 8-15) | kind (16-31) */
#define HOPSIM_MARK(op, hop, kind)                                                                 \
    ((uint32_t)(op) | ((uint32_t)(hop) << 8) | ((uint32_t)(kind) << 16))
#define HOPSIM_MARK_OP(code) ((code)&0xffu)
#define HOPSIM_MARK_HOPNR(code) (((code) >> 8) & 0xffu)
#define HOPSIM_MARK_KIND(code) ((code) >> 16)

enum hopsim_mark_op {
    HOPSIM_OP_HOP = 1,   /* request %rdi enters hop `hop` now (kind: HOPSIM_HOP_*) */
    HOPSIM_OP_BEGIN = 2, /* sub-span `kind` begins on this vCPU for request %rdi */
    HOPSIM_OP_END = 3,   /* sub-span `kind` ends (innermost open one of that kind) */
    HOPSIM_OP_DONE = 4,  /* request %rdi is complete (ends its last hop) */
    HOPSIM_OP_CTX = 5,   /* this vCPU now works for request %rdi (0: none) */
    HOPSIM_OP_TEST = 6,  /* guest test assertion: %rsi != 0 passed, %rdi = source line */
    HOPSIM_OP_VALUE = 7, /* a named measurement: kind = counter id, %rdi = value */
    HOPSIM_OP_PROBE = 8, /* a hostile component's attempt (attack-matrix): kind = target
                            (enum hopsim_probe), hop field = access (1 read, 2 write),
                            %rdi = what the model answered: 0 reached, < 0 its refusal */
};

/* %rsi of a HOPSIM_OP_HOP mark: the ring's event channel (the marking domain's port) the
 * request was put on, 0 if not said, or HOPSIM_HOP_MOVE: a move only, nothing put on a ring
 * (a driver taking a completion off its device) */
#define HOPSIM_HOP_MOVE 0xffffffffu
/* The "ring" an HVM guest's emulated device posts its completions on: the guest's INTx edge
 * (XEN_DMOP_set_pci_intx_level) carries those, not another guest's (sim/hvm/dmop.c). */
#define HOPSIM_HVM_RING(domid) (0x40000000u | (uint32_t)(domid))

/* What a compromised device-emulation component tries to reach (HOPSIM_OP_PROBE). */
enum hopsim_probe {
    PROBE_MEM = 1,    /* another guest's memory */
    PROBE_DISK = 2,   /* another guest's disk data */
    PROBE_KERNEL = 3, /* the hypervisor / microkernel */
    PROBE_DMA = 4,    /* the device's DMA aimed at memory not granted to the component */
    PROBE_TARGETS = 5
};
#define PROBE_READ 1u
#define PROBE_WRITE 2u

/* Request ids are global: (frontend domid << 32) | per-frontend sequence. */
#define HOPSIM_REQ(domid, seq) (((uint64_t)(domid) << 32) | (uint32_t)(seq))
#define HOPSIM_NOREQ 0ull

/* ---- hops (docs/architecture.md) -------------------------------------- */

enum hopsim_hop {
    HOP_NONE = 0,
    HOP_H1 = 1, /* app -> frontend */
    HOP_H2 = 2, /* frontend -> hypervisor */
    HOP_H3 = 3, /* hypervisor -> backend */
    HOP_H4 = 4, /* backend -> device */
    HOP_H5 = 5, /* device -> backend */
    HOP_H6 = 6, /* backend -> hypervisor */
    HOP_H7 = 7, /* hypervisor -> frontend */
    HOP_H8 = 8, /* frontend -> app */
    HOP_COUNT = 9
};

/* ---- span kinds ------------------------------------------------------- */

/*
 * X-macro: id, short name used in CSV/JSON/summary. Values are stable
 * (traces are compared byte for byte); append only.
 */
#define HOPSIM_SPAN_KINDS(X)                                                                       \
    X(SPAN_HOP, "hop")                                                                             \
    X(SPAN_HYPERCALL, "hypercall")                                                                 \
    X(SPAN_EVTCHN_SEND, "evtchn_send")                                                             \
    X(SPAN_EVENT_DELIVERY, "event_delivery")                                                       \
    X(SPAN_WORLD_SWITCH, "world_switch")                                                           \
    X(SPAN_GNT_MAP, "grant_map")                                                                   \
    X(SPAN_GNT_UNMAP, "grant_unmap")                                                               \
    X(SPAN_GNT_COPY, "grant_copy")                                                                 \
    X(SPAN_TLB_FLUSH, "tlb_flush")                                                                 \
    X(SPAN_XENSTORE, "xenstore")                                                                   \
    X(SPAN_SCHED, "sched_op")                                                                      \
    X(SPAN_APP, "app")                                                                             \
    X(SPAN_RING_PUT, "ring_put")                                                                   \
    X(SPAN_RING_GET, "ring_get")                                                                   \
    X(SPAN_CHECK, "check")                                                                         \
    X(SPAN_GUEST_ERROR, "guest_error")                                                             \
    X(SPAN_MMIO, "mmio")                                                                           \
    X(SPAN_DMA, "dma")                                                                             \
    X(SPAN_IRQ, "irq")                                                                             \
    X(SPAN_MEDIA, "media")                                                                         \
    X(SPAN_RS_CALL, "rs_call")                                                                     \
    X(SPAN_RS_ENTER, "rs_enter")                                                                   \
    X(SPAN_RS_LEAVE, "rs_leave")                                                                   \
    X(SPAN_FLASH, "flash")                                                                         \
    X(SPAN_DRIVER, "driver")                                                                       \
    X(SPAN_IDLE, "idle")                                                                           \
    X(SPAN_IPI, "ipi")                                                                             \
    X(SPAN_IOTLB_FLUSH, "iotlb_flush")                                                             \
    X(SPAN_VMEXIT, "vmexit")                                                                       \
    X(SPAN_IOREQ, "ioreq")                                                                         \
    X(SPAN_MEMCPY, "memcpy")                                                                       \
    X(SPAN_IPC, "ipc")                                                                             \
    X(SPAN_MAP, "map")                                                                             \
    X(SPAN_INJECT, "inject")                                                                       \
    X(SPAN_VMM_EXIT, "vmm_exit")                                                                   \
    X(SPAN_LOCK_WAIT, "lock_wait")                                                                 \
    X(SPAN_REFILL, "refill")                                                                       \
    X(SPAN_WAKE, "wake")

#define HOPSIM_SPAN_ENUM_(id, name) id,
enum hopsim_span_kind { HOPSIM_SPAN_KINDS(HOPSIM_SPAN_ENUM_) SPAN_KIND_COUNT };
#undef HOPSIM_SPAN_ENUM_

/* ---- guest-physical layout of a domain -------------------------------- */

/*
 * [0, nr_pages*4K)                 RAM; the image is loaded at its ELF
 *                                  physical addresses (0x100000 by default)
 * after the image                  start_info, xenstore ring, console ring,
 *                                  then the boot stack (HOPSIM_BOOT_STACK)
 * [nr_pages*4K, MMIO_BASE)        physmap hole: XENMEM_add_to_physmap puts
 *                                  shared_info and grant-table frames here
 * [MMIO_BASE, GNT_WINDOW_BASE)     device BARs (models/)
 * [GNT_WINDOW_BASE, +PAGES*4K)     grant window: host_addr of
 *                                  GNTTABOP_map_grant_ref must lie here
 */
#define HOPSIM_PAGE_SIZE 4096ull
#define HOPSIM_BOOT_STACK (64ull * 1024)
#define HOPSIM_GNT_WINDOW_BASE 0x100000000ull
#define HOPSIM_GNT_WINDOW_PAGES 16384ull
#define HOPSIM_MMIO_BASE 0xC0000000ull

#endif
