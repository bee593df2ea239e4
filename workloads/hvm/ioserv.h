/*
 * The device model's side of Xen's ioreq-server protocol (xen/hvm/ioreq.h,
 * xen/hvm/dm_op.h), as QEMU's xen-hvm code uses it, and the emulated PCI
 * functions it serves (docs/hvm-emul.md).
 *
 * ioserv_start() creates the server for the guest, maps its ioreq page
 * (XENMEM_acquire_resource) and the guest's RAM (XENMAPSPACE_gmfn_foreign),
 * binds each vCPU's ioreq event channel, claims every registered
 * function's configuration space and BAR, and enables the server (the
 * toolstack then starts the guest). Each ioreq is taken READY ->
 * INPROCESS, handed to the function that claimed it, answered
 * IORESP_READY and notified, all in the event handler.
 *
 * A device model may serve several guests (QEMU's one process per HVM
 * domain): each ioserv_start() starts one server, for the guest it names,
 * with the functions ioserv_add() registered since the previous start.
 *
 * An emulated function: a type-0 header with BAR0 (32-bit memory, placed
 * as hvmloader would), INTx pin A wired to the GSI Xen's hvm_pci_intx_gsi()
 * gives its slot, no MSI capability. Its register accesses reach ops.
 */
#ifndef HVM_IOSERV_H
#define HVM_IOSERV_H

#include "xenif.h"

struct emu_fn;

struct emu_ops {
    uint64_t (*read)(struct emu_fn *f, uint64_t off, unsigned size);
    void (*write)(struct emu_fn *f, uint64_t off, unsigned size, uint64_t val);
};

struct emu_fn {
    const char *name;
    unsigned slot;
    uint16_t vendor, device;
    uint32_t class_code; /* class << 16 | subclass << 8 | prog-if */
    uint32_t bar_size;   /* BAR0, a power of two >= 4 KiB */
    const struct emu_ops *ops;
    void *opaque;
    /* the emulation's own */
    uint8_t cfg[256];
    uint32_t bar; /* BAR0 address (0: unassigned) */
    int intx;     /* the line's level as last told to the hypervisor */
    void *srv;    /* the server it belongs to (ioserv_add) */
};

/* Register a function for the next ioserv_start (at most 4 per server). */
int ioserv_add(struct emu_fn *f);
/* Start a server for `guest` with the functions added since the last start (at most 4
 * servers): 0, or a negative Xen errno from the step that failed (printed). */
int ioserv_start(domid_t guest, unsigned long guest_pages);
/* The RAM [gpa, gpa+len) of the guest f serves as the device model sees it, NULL if outside. */
void *ioserv_guest(struct emu_fn *f, uint64_t gpa, uint64_t len);
/* Drive the function's INTx pin (a change of level is one dm_op). */
void ioserv_set_intx(struct emu_fn *f, int level);
/* Whether any served guest still exists (a dm_op on a destroyed domain fails with ESRCH). */
int ioserv_guest_alive(void);
/* End the guest f serves: XEN_DMOP_remote_shutdown(SHUTDOWN_crash). */
void ioserv_kill_guest(struct emu_fn *f);
/* The ring id f's guest's completions are posted on (HOPSIM_HVM_RING; trace_hop_ring), 0
 * when the host marks the hops itself. */
uint32_t ioserv_ring(struct emu_fn *f);
/* ioreqs served so far, all servers together. */
unsigned long ioserv_count(void);

#endif
