/*
 * The ioreq server and the emulated PCI functions (see ioserv.h).
 *
 * Assumptions: one vCPU per guest (one ioreq slot, one event channel); ioreqs
 * are synchronous (no buffered ring); every ioreq is one access
 * (count 1, data_is_ptr 0), as the hypervisor sends for MOV and IN/OUT.
 * An ioreq for nothing the server claims (a stale BAR) reads all ones.
 */
#include "ioserv.h"

#include <xen/hvm/dm_op.h>
#include <xen/hvm/ioreq.h>

#include "guest.h"
#include "pci.h"

#define MAX_FNS 4
#define MAX_SERVERS 4
/* where hvmloader would put BARs: high in the guest's MMIO hole */
#define BAR_BASE 0xc8000000u

HC_DEFINE_(dm_op, __HYPERVISOR_dm_op)

struct srv {
    domid_t guest;
    shared_iopage_t *page;
    evtchn_port_t port;
    uint8_t *ram;
    unsigned long pages;
    struct emu_fn *fns[MAX_FNS];
    unsigned nfns;
    unsigned long served;
};

/* servers[nstarted] collects the functions of the next start */
static struct srv servers[MAX_SERVERS];
static unsigned nstarted;

static int dm_op(struct srv *s, struct xen_dm_op *op)
{
    struct xen_dm_op_buf buf = {.size = sizeof(*op)};
    set_xen_guest_handle(buf.h, op);
    return (int)hc_dm_op(s->guest, 1, (unsigned long)&buf, 0, 0);
}

int ioserv_add(struct emu_fn *f)
{
    if (nstarted == MAX_SERVERS)
        return -XEN_ENOSPC;
    struct srv *s = &servers[nstarted];
    if (s->nfns == MAX_FNS || f->slot > 31 || f->bar_size < 4096 ||
        (f->bar_size & (f->bar_size - 1)))
        return -XEN_EINVAL;
    s->fns[s->nfns++] = f;
    f->srv = s;
    return 0;
}

void *ioserv_guest(struct emu_fn *f, uint64_t gpa, uint64_t len)
{
    struct srv *s = f->srv;
    uint64_t end = (uint64_t)s->pages << PAGE_SHIFT;
    if (!s->ram || len > end || gpa > end - len)
        return NULL;
    return s->ram + gpa;
}

static int alive(struct srv *s)
{
    struct xen_dm_op op = {.op = XEN_DMOP_get_ioreq_server_info};
    op.u.get_ioreq_server_info.flags = XEN_DMOP_no_gfns;
    return dm_op(s, &op) != -XEN_ESRCH;
}

int ioserv_guest_alive(void)
{
    for (unsigned i = 0; i < nstarted; i++)
        if (alive(&servers[i]))
            return 1;
    return 0;
}

void ioserv_kill_guest(struct emu_fn *f)
{
    struct xen_dm_op op = {.op = XEN_DMOP_remote_shutdown};
    op.u.remote_shutdown.reason = SHUTDOWN_crash;
    int rc = dm_op(f->srv, &op);
    if (rc)
        printf("ioserv: remote_shutdown: %d\n", rc);
}

uint32_t ioserv_ring(struct emu_fn *f)
{
    return HOPSIM_HVM_RING(((struct srv *)f->srv)->guest);
}

unsigned long ioserv_count(void)
{
    unsigned long n = 0;
    for (unsigned i = 0; i < nstarted; i++)
        n += servers[i].served;
    return n;
}

void ioserv_set_intx(struct emu_fn *f, int level)
{
    if (f->intx == level)
        return;
    f->intx = level;
    struct xen_dm_op op = {.op = XEN_DMOP_set_pci_intx_level};
    op.u.set_pci_intx_level = (xen_dm_op_set_pci_intx_level_t){
        .device = (uint8_t)f->slot, .intx = 0, .level = (uint8_t)level};
    int rc = dm_op(f->srv, &op);
    if (rc)
        printf("ioserv: set_pci_intx_level(%u, %d): %d\n", f->slot, level, rc);
}

/* ---- configuration space ---- */

static void cfg_put(uint8_t *c, unsigned off, unsigned size, uint32_t v)
{
    for (unsigned i = 0; i < size; i++)
        c[off + i] = (uint8_t)(v >> (8 * i));
}

static uint32_t cfg_get(const uint8_t *c, unsigned off, unsigned size)
{
    uint32_t v = 0;
    for (unsigned i = 0; i < size; i++)
        v |= (uint32_t)c[off + i] << (8 * i);
    return v;
}

static int claim(struct srv *s, uint32_t type, uint64_t start, uint64_t end, int map)
{
    struct xen_dm_op op = {.op = map ? XEN_DMOP_map_io_range_to_ioreq_server
                                     : XEN_DMOP_unmap_io_range_from_ioreq_server};
    op.u.map_io_range_to_ioreq_server =
        (xen_dm_op_ioreq_server_range_t){.id = 0, .type = type, .start = start, .end = end};
    return dm_op(s, &op);
}

static void cfg_init(struct emu_fn *f)
{
    uint8_t *c = f->cfg;
    cfg_put(c, PCI_CFG_VENDOR, 2, f->vendor);
    cfg_put(c, PCI_CFG_DEVICE, 2, f->device);
    cfg_put(c, 0x08, 4, f->class_code << 8); /* revision 0 */
    cfg_put(c, 0x0e, 1, 0);                  /* header type 0, single function */
    f->bar = BAR_BASE + f->slot * 0x100000u;
    cfg_put(c, PCI_CFG_BAR0, 4, f->bar);
    cfg_put(c, PCI_CFG_INTERRUPT_LINE, 1,
            (uint32_t)((((f->slot << 2) + (f->slot >> 3)) & 31) + 16));
    cfg_put(c, 0x3d, 1, 1); /* INTA# */
}

static void bar_write(struct emu_fn *f, uint32_t v)
{
    uint32_t addr = v & ~(f->bar_size - 1) & ~0xfu;
    if (f->bar)
        claim(f->srv, XEN_DMOP_IO_RANGE_MEMORY, f->bar, f->bar + f->bar_size - 1, 0);
    f->bar = addr;
    cfg_put(f->cfg, PCI_CFG_BAR0, 4, addr);
    /* a sizing write (all ones) reads back the size mask; it is not an address to claim */
    if (addr && addr != (~(f->bar_size - 1) & ~0xfu))
        claim(f->srv, XEN_DMOP_IO_RANGE_MEMORY, addr, addr + f->bar_size - 1, 1);
}

static void cfg_write(struct emu_fn *f, unsigned off, unsigned size, uint32_t v)
{
    if (off + size > sizeof(f->cfg))
        return;
    if (off == PCI_CFG_COMMAND && size >= 2) {
        cfg_put(f->cfg, off, 2, v & (PCI_CMD_MEMORY | PCI_CMD_MASTER | PCI_CMD_INTX_DISABLE));
    } else if (off == PCI_CFG_BAR0 && size == 4) {
        bar_write(f, v);
    } else if (off == PCI_CFG_INTERRUPT_LINE && size == 1) {
        f->cfg[off] = (uint8_t)v;
    } /* everything else is read-only */
}

/* ---- serving ioreqs ---- */

static struct emu_fn *fn_by_sbdf(struct srv *s, uint32_t sbdf)
{
    for (unsigned i = 0; i < s->nfns; i++)
        if (sbdf == (s->fns[i]->slot << 3))
            return s->fns[i];
    return NULL;
}

static struct emu_fn *fn_by_addr(struct srv *s, uint64_t a)
{
    for (unsigned i = 0; i < s->nfns; i++) {
        struct emu_fn *f = s->fns[i];
        if (f->bar && a >= f->bar && a - f->bar < f->bar_size)
            return f;
    }
    return NULL;
}

static uint64_t serve(struct srv *s, ioreq_t *p)
{
    unsigned size = p->size;
    if (p->type == IOREQ_TYPE_PCI_CONFIG) {
        struct emu_fn *f = fn_by_sbdf(s, (uint32_t)(p->addr >> 32));
        unsigned off = (unsigned)(p->addr & 0xfff);
        if (!f || off + size > sizeof(f->cfg))
            return ~0ull;
        if (p->dir == IOREQ_WRITE) {
            cfg_write(f, off, size, (uint32_t)p->data);
            return 0;
        }
        return cfg_get(f->cfg, off, size);
    }
    if (p->type == IOREQ_TYPE_COPY) {
        struct emu_fn *f = fn_by_addr(s, p->addr);
        if (!f)
            return ~0ull;
        if (p->dir == IOREQ_WRITE) {
            f->ops->write(f, p->addr - f->bar, size, p->data);
            return 0;
        }
        return f->ops->read(f, p->addr - f->bar, size);
    }
    return ~0ull;
}

static void ioreq_event(evtchn_port_t port, void *data)
{
    (void)port;
    struct srv *s = data;
    ioreq_t *p = &s->page->vcpu_ioreq[0];
    barrier(); /* the state is a bit-field: no READ_ONCE; the compiler barrier orders it */
    if (p->state != STATE_IOREQ_READY)
        return;
    rmb(); /* the request's fields after its state */
    p->state = STATE_IOREQ_INPROCESS;
    uint64_t v = serve(s, p);
    if (p->dir == IOREQ_READ)
        p->data = v;
    s->served++;
    wmb(); /* the answer before its state */
    p->state = STATE_IORESP_READY;
    evtchn_send(s->port);
}

/* ---- start-up ---- */

static int acquire_ioreq_page(struct srv *s)
{
    xen_pfn_t gfn = physmap_hole_alloc(1);
    struct xen_mem_acquire_resource r = {.domid = s->guest,
                                         .type = XENMEM_resource_ioreq_server,
                                         .id = 0,
                                         .nr_frames = 1,
                                         .frame = 1};
    set_xen_guest_handle(r.frame_list, &gfn);
    int rc = HYPERVISOR_memory_op(XENMEM_acquire_resource, &r);
    if (!rc)
        s->page = pfn_to_virt(gfn);
    return rc;
}

/* The guest's RAM, in batches of one page table's worth of frames. */
static int map_guest_ram(struct srv *s)
{
    enum { BATCH = 512 };
    static xen_ulong_t idx[BATCH];
    static xen_pfn_t gpfn[BATCH];
    static int errs[BATCH];
    unsigned long base = physmap_hole_alloc(s->pages);
    for (unsigned long done = 0; done < s->pages;) {
        unsigned n = s->pages - done < BATCH ? (unsigned)(s->pages - done) : BATCH;
        for (unsigned i = 0; i < n; i++) {
            idx[i] = done + i;
            gpfn[i] = base + done + i;
        }
        struct xen_add_to_physmap_batch b = {.domid = DOMID_SELF,
                                             .space = XENMAPSPACE_gmfn_foreign,
                                             .size = (uint16_t)n,
                                             .u.foreign_domid = s->guest};
        set_xen_guest_handle(b.idxs, idx);
        set_xen_guest_handle(b.gpfns, gpfn);
        set_xen_guest_handle(b.errs, errs);
        int rc = HYPERVISOR_memory_op(XENMEM_add_to_physmap_batch, &b);
        for (unsigned i = 0; !rc && i < n; i++)
            rc = errs[i];
        if (rc)
            return rc;
        done += n;
    }
    s->ram = pfn_to_virt(base);
    return 0;
}

static int step(const char *what, int rc)
{
    if (rc)
        printf("ioserv: %s failed: %d\n", what, rc);
    return rc;
}

int ioserv_start(domid_t guest, unsigned long guest_pages)
{
    if (nstarted == MAX_SERVERS)
        return -XEN_ENOSPC;
    struct srv *s = &servers[nstarted++];
    s->guest = guest;
    s->pages = guest_pages;
    struct xen_dm_op op = {.op = XEN_DMOP_create_ioreq_server};
    int rc = step("create_ioreq_server", dm_op(s, &op));
    if (!rc) {
        op = (struct xen_dm_op){.op = XEN_DMOP_get_ioreq_server_info};
        op.u.get_ioreq_server_info.flags = XEN_DMOP_no_gfns;
        rc = step("get_ioreq_server_info", dm_op(s, &op));
    }
    if (!rc)
        rc = step("acquire_resource(ioreq page)", acquire_ioreq_page(s));
    if (!rc)
        rc = step("mapping the guest's RAM", map_guest_ram(s));
    if (!rc)
        rc = step("binding the ioreq channel",
                  evtchn_bind_interdomain(guest, s->page->vcpu_ioreq[0].vp_eport, &s->port));
    if (!rc)
        rc = step("attaching the ioreq channel", evtchn_attach(s->port, ioreq_event, s));
    for (unsigned i = 0; !rc && i < s->nfns; i++) {
        struct emu_fn *f = s->fns[i];
        cfg_init(f);
        uint32_t sbdf = f->slot << 3;
        rc = step("claiming configuration space", claim(s, XEN_DMOP_IO_RANGE_PCI, sbdf, sbdf, 1));
        if (!rc)
            rc = step("claiming BAR0",
                      claim(s, XEN_DMOP_IO_RANGE_MEMORY, f->bar, f->bar + f->bar_size - 1, 1));
        if (!rc)
            printf("ioserv: %s emulated in slot %u, BAR0 0x%x, INTx GSI %u\n", f->name, f->slot,
                   f->bar, f->cfg[PCI_CFG_INTERRUPT_LINE]);
    }
    if (!rc) {
        op = (struct xen_dm_op){.op = XEN_DMOP_set_ioreq_server_state};
        op.u.set_ioreq_server_state.enabled = 1;
        rc = step("enabling the server", dm_op(s, &op));
    }
    return rc;
}
