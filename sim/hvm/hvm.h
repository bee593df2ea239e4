/*
 * HVM domains (`mode = "hvm"`): an unmodified kernel whose accesses to
 * device registers exit to the hypervisor and are emulated by a device
 * model in another domain, through Xen's ioreq-server protocol
 * (xen/hvm/ioreq.h, xen/hvm/dm_op.h). docs/hvm-emul.md describes it.
 *
 *  - Exits (hvm.c): an MMIO access to an address no memory backs faults in
 *    Unicorn before the instruction executes (RIP exact, see
 *    vcpu_hvm_setup); an IN/OUT stops at a code hook placed on every
 *    port-I/O instruction of the image at build time. Each exit is charged
 *    `vmexit_roundtrip` + `vmexit_handling` and traced as a `vmexit` span.
 *  - Port 0xCF8 is Xen's own (hvm_access_cf8); 0xCFC-0xCFF become
 *    IOREQ_TYPE_PCI_CONFIG for the server that claimed the function.
 *    Anything no server claims is the null handler: reads all ones,
 *    writes dropped.
 *  - A claimed access is written into the vCPU's slot of the shared ioreq
 *    page (STATE_IOREQ_READY) and its event channel raised in the device
 *    model's domain; the vCPU waits. The device model answers
 *    (STATE_IORESP_READY) and notifies; the hypervisor completes the
 *    instruction (the read value into its destination register, RIP past
 *    it), and the vCPU resumes. The round trip is an `ioreq` span.
 *  - dm_op (dmop.c): create / info / map and unmap ranges / enable /
 *    destroy an ioreq server; set_pci_intx_level. XENMEM_acquire_resource
 *    maps the ioreq page; XENMEM_add_to_physmap_batch with
 *    XENMAPSPACE_gmfn_foreign maps the guest's RAM into the device model.
 */
#ifndef HOPSIM_HVM_H
#define HOPSIM_HVM_H

#include "machine.h"

#include <xen/hvm/dm_op.h>
#include <xen/hvm/ioreq.h>
#include <xen/physdev.h>

#define HVM_MAX_RANGES 16

struct hvm_range {
    uint32_t type;       /* XEN_DMOP_IO_RANGE_* */
    uint64_t start, end; /* inclusive */
};

struct hvm_pio_site {
    uint64_t addr;
    uint8_t len, size;
    bool in;
    int port; /* the immediate port, or -1: %dx */
};

struct hvm_domain {
    struct domain *d;
    struct hvm_pio_site *sites;
    size_t nsites;
    bool paused; /* created paused; the toolstack unpauses it once its device model is up */
    /* the ioreq server (one per domain, id 0) */
    bool server, enabled;
    domid_t dm;
    uint64_t page_mfn;
    shared_iopage_t *page;
    uint64_t page_gfn[MAX_VCPUS]; /* where the device model mapped it (0: not) */
    uint32_t port[MAX_VCPUS];     /* per vCPU, in this domain; consumer: the hypervisor */
    struct hvm_range ranges[HVM_MAX_RANGES];
    int nranges;
    uint8_t intx[32]; /* asserted INTx lines, per device */
    uint64_t exits, ioreqs, null_accesses;
};

/* hvm.c */
int hvm_domain_init(struct domain *d, char *err, size_t errlen);
void hvm_domain_fini(struct domain *d);
/* The engine's callbacks (vcpu.c): fill v->io; true if the access exits. */
bool hvm_pio_exit(struct vcpu *v, uint64_t rip);
bool hvm_mmio_exit(struct vcpu *v, uint64_t addr, int size, bool write, uint64_t value);
/* TRAP_IO: emulate inline or send the ioreq; *cost gets the hypervisor time. */
enum hc_action hvm_exit(struct vcpu *v, simtime_t now, simtime_t *cost);
/* The device model notified port `port` of HVM domain d (a hypervisor-consumed channel). */
void hvm_ioreq_notify(struct domain *d, uint32_t port, simtime_t when);
/* Finish an exited instruction with `val` (reads): 0, or -1 (the domain crashed). */
int hvm_complete_io(struct vcpu *v, uint64_t val);
const char *hvm_io_name(const struct hvm_io *io);
/* Drive INTx pin `intx` of device `dev`: 1 on a rising edge, 0 otherwise, -EINVAL. */
int hvm_intx_level(struct domain *d, unsigned dev, unsigned intx, unsigned level);
/* A rising edge: raise the pirq the guest bound to that pin's GSI (lost if none). */
void hvm_intx_raise(struct domain *d, unsigned dev, unsigned intx, simtime_t now, uint64_t req);
/* Start the domain's vCPUs once the toolstack unpauses it. */
void hvm_unpause(struct domain *d, simtime_t when);

/* dmop.c */
long hvm_dm_op(struct vcpu *v, uint64_t domid, uint64_t nr_bufs, uint64_t bufs, simtime_t now);
long hvm_acquire_resource(struct vcpu *v, uint64_t arg);
long hvm_foreign_map(struct vcpu *v, uint64_t arg);
long hvm_map_pirq(struct domain *d, struct physdev_map_pirq *mp);
/* Xen's hvm_pci_intx_gsi(): the GSI a PCI device's INTx pin is wired to. */
static inline int hvm_pci_intx_gsi(unsigned dev, unsigned intx)
{
    return (int)((((dev << 2) + (dev >> 3) + intx) & 31) + 16);
}

#endif
