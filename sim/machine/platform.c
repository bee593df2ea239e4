/*
 * The platform: the PCI bus and its devices, wired to the domains.
 *
 *  - Configuration space: mechanism #1 on ports 0xCF8/0xCFC. Each domain
 *    has its own CONFIG_ADDRESS latch and sees only the functions it owns
 *    (others read all ones), as with Xen's per-domain PCI access control.
 *  - BARs: firmware (pci_bus_assign_bars) places them at boot; a BAR is
 *    mapped with uc_mmio_map into every vCPU of its owner. BAR changes made
 *    by a guest are applied at the next trap, never from inside the OUT hook
 *    that made them (Unicorn must not be remapped from a hook).
 *  - MMIO access time: `mmio_read` / `mmio_write` charged to the accessing
 *    vCPU's slice, traced as `mmio` spans.
 *  - DMA: bus address = machine address (no IOMMU): any machine frame; with
 *    the scenario's IOMMU on, every access is translated (sim/xen/vtd.c,
 *    models/iommu.c) and a refused one fails the device's transfer.
 *  - Interrupts: MSI or INTx reach the owner as a physical IRQ (pirq) bound
 *    to an event channel, Xen's PHYSDEVOP_map_pirq + EVTCHNOP_bind_pirq; the
 *    MSI data word is the pirq. Edge semantics for both (a raise is one
 *    delivery; PHYSDEVOP_eoi is accepted).
 *
 * The platform SPI flash, its controller and SetVariable are
 * platform_flash.c's.
 */
#include "machine.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xen/physdev.h>

#include "disk.h"
#include "hvm.h"
#include "e1000.h"
#include "link.h"
#include "pcap.h"
#include "pci.h"
#include "peer.h"
#include "sas_hba.h"
#include "spi_ctrl.h"
#include "spi_flash.h"
#include "vtd.h"

#define MSI_ADDR_BASE 0xfee00000u
#define FIRST_PIRQ 16

/* ---- DMA and interrupts ---- */

static void *plat_dma_map(void *opaque, uint64_t bus, uint64_t len, bool write)
{
    struct plat_dev *pd = opaque;
    if (len == 0 || len > PAGE_SIZE || (bus & (PAGE_SIZE - 1)) + len > PAGE_SIZE)
        return NULL;
    return vtd_dma(pd, bus, len, write);
}

static simtime_t plat_dma_stall(void *opaque)
{
    struct plat_dev *pd = opaque;
    simtime_t t = pd->dma_stall;
    pd->dma_stall = 0;
    return t;
}

static int pirq_of_irq(struct plat_dev *pd)
{
    uint32_t data = 0;
    if (pci_msi(pd->f, NULL, &data))
        return data < NR_PIRQS ? (int)data : -1;
    if (pci_intx_disabled(pd->f))
        return -1;
    struct domain *d = pd->owner;
    for (int p = FIRST_PIRQ; p < NR_PIRQS; p++)
        if (d->pirqs[p].used && !d->pirqs[p].msi && d->pirqs[p].gsi == pci_func_gsi(pd->f))
            return p;
    return -1;
}

static void irq_deliver(void *opaque, simtime_t now)
{
    struct plat_dev *pd = opaque;
    struct domain *d = pd->owner;
    int pirq = pirq_of_irq(pd);
    if (d->dead || pirq < 0 || !d->pirqs[pirq].port) {
        pd->lost_irqs++;
        return;
    }
    uint64_t req = pd->irq_req;
    pd->irq_req = HOPSIM_NOREQ;
    pd->m->in_device_irq = true;
    evtchn_set_pending(d, d->pirqs[pirq].port, now, req);
    pd->m->in_device_irq = false;
}

static void plat_irq_raise(void *opaque, simtime_t when)
{
    struct plat_dev *pd = opaque;
    simtime_t now = evq_now(&pd->m->q);
    evq_schedule(&pd->m->q, when > now ? when : now, irq_deliver, pd);
}

static void plat_irq_lower(void *opaque, simtime_t when)
{
    (void)opaque;
    (void)when;
}

/*
 * A request's completion reached the host: it leaves the device (H5) for
 * its driver's completion handling in the owner, H6 in a backend, H8 in a
 * native kernel (which hands it straight to the application).
 */
/*
 * Request `req`'s completion interrupt arrives (or its entry landed while
 * masked). Its flight is traced on the device's track as the request's last
 * H5 span -- or, when the driver found the completion in memory first
 * (while handling an earlier one: sas.c marks it H6), as an interrupt that
 * no longer serves it.
 */
static void hop_complete(struct plat_dev *pd, uint64_t req, simtime_t raised, simtime_t when,
                         const char *irq, int64_t arg)
{
    struct machine *m = pd->m;
    bool in_dev = trace_req_hop(m->tr, req) == HOP_H5;
    if (irq) {
        struct trace_span s = {.req = in_dev ? req : HOPSIM_NOREQ,
                               .hop = in_dev ? HOP_H5 : HOP_NONE,
                               .kind = SPAN_IRQ,
                               .place = pd->place,
                               .start = raised,
                               .end = when,
                               .name = irq,
                               .arg = arg};
        trace_span(m->tr, &s);
    }
    if (!in_dev)
        return;
    /* a native kernel's own request ends here; a backend -- or a hosted VMM's host OS serving a
     * VM's device model, or a driver server on the microkernel -- still has to hand it back */
    bool own = pd->owner->native && !pd->owner->device_model && !pd->owner->l4;
    trace_hop(m->tr, req, own ? HOP_H8 : HOP_H6, pd->owner->place, when);
}

/* The interrupt that completes the earliest due request arrives. */
static void hop_due(void *opaque, simtime_t now)
{
    struct plat_dev *pd = opaque;
    int first = -1;
    for (int i = 0; i < pd->nhop_due; i++)
        if (first < 0 || pd->hop_due[i].when < pd->hop_due[first].when)
            first = i;
    if (first < 0)
        return;
    struct plat_hop_due e = pd->hop_due[first];
    pd->hop_due[first] = pd->hop_due[--pd->nhop_due];
    hop_complete(pd, e.req, e.raised, now, e.irq, e.arg);
}

/*
 * The device posted request `req`'s completion at `raised`; its interrupt
 * reaches the CPU at `when`. The request leaves the device then -- unless a
 * driver already handling an earlier completion finds it in memory first
 * (its completion mark moves it, sas.c) -- so the hop change and the
 * interrupt's span wait for `when` in virtual time instead of being
 * recorded ahead of the guest's marks.
 */
static void plat_irq_complete(void *opaque, uint64_t req, simtime_t raised, simtime_t when,
                              const char *irq, int64_t arg)
{
    struct plat_dev *pd = opaque;
    struct machine *m = pd->m;
    if (trace_req_hop(m->tr, req) != HOP_H5)
        return;
    if (pd->irq_req == HOPSIM_NOREQ) /* the interrupt's delivery serves its first request */
        pd->irq_req = req;
    simtime_t now = evq_now(&m->q);
    if (when <= now || pd->nhop_due == PLAT_HOP_DUE) {
        hop_complete(pd, req, raised, when > now ? when : now, irq, arg);
        return;
    }
    pd->hop_due[pd->nhop_due].req = req;
    pd->hop_due[pd->nhop_due].raised = raised;
    pd->hop_due[pd->nhop_due].when = when;
    pd->hop_due[pd->nhop_due].irq = irq;
    pd->hop_due[pd->nhop_due++].arg = arg;
    evq_schedule(&m->q, when, hop_due, pd);
}

/*
 * A passed-through function goes back to pciback when its domain dies
 * (Xen's pci_release_devices; pcistub resets it, __pci_reset_function, and
 * clears Bus Master): the device's own reset -- the HBA's CTRL.RESET, the
 * NIC's CTRL.RST -- aborts what it holds, so nothing the dead driver
 * started DMAs or interrupts afterwards.
 */
void platform_release_devices(struct domain *d, simtime_t now)
{
    struct machine *m = d->m;
    for (int i = 0; i < m->ndevs; i++) {
        struct plat_dev *pd = &m->devs[i];
        if (pd->owner != d || !pd->passthrough)
            continue;
        void *opaque = NULL;
        const struct mmio_ops *ops = pci_bar_mmio(pd->f, 0, &opaque);
        if (ops && pd->hba)
            ops->write(opaque, SAS_REG_CTRL, SAS_CTRL_RESET, 4, now);
        else if (ops && pd->nic)
            ops->write(opaque, E1000_CTRL, E1000_CTRL_RST, 4, now);
        uint32_t cmd = pci_cfg_read(pd->f, PCI_COMMAND, 2);
        pci_cfg_write(pd->f, PCI_COMMAND, 2, cmd & ~(uint32_t)PCI_COMMAND_MASTER);
    }
}

/* ---- BARs ---- */

static void bar_update(void *opaque, struct pci_func *f, int bar, uint64_t addr, uint64_t size,
                       bool enabled)
{
    struct machine *m = opaque;
    (void)f;
    (void)bar;
    (void)addr;
    (void)size;
    (void)enabled;
    m->bars_dirty = true;
}

static void unmap_bar(struct plat_dev *pd, int bar)
{
    struct domain *d = pd->owner;
    for (int i = 0; i < d->nvcpus; i++)
        vcpu_unmap(d->vcpus[i], pd->mapped_addr[bar], pd->mapped_size[bar]);
    pd->mapped_size[bar] = 0;
}

static void map_bar(struct plat_dev *pd, int bar, uint64_t addr, uint64_t size)
{
    struct domain *d = pd->owner;
    void *dev_opaque = NULL;
    const struct mmio_ops *ops = pci_bar_mmio(pd->f, bar, &dev_opaque);
    if (!ops || addr < HOPSIM_MMIO_BASE || addr + size > HOPSIM_GNT_WINDOW_BASE)
        return; /* outside the MMIO hole: firmware never does this; a guest gets nothing */
    for (int i = 0; i < d->nvcpus; i++)
        vcpu_mmio_map(d->vcpus[i], addr, size, ops, dev_opaque, pd->place);
    pd->mapped_addr[bar] = addr;
    pd->mapped_size[bar] = size;
}

/* Bring every BAR mapping in line with the functions' configuration. */
void platform_sync_bars(struct machine *m)
{
    if (!m->bars_dirty)
        return;
    m->bars_dirty = false;
    for (int i = 0; i < m->ndevs; i++) {
        struct plat_dev *pd = &m->devs[i];
        for (int bar = 0; bar < 6; bar++) {
            uint64_t size = pci_bar_size(pd->f, bar);
            uint64_t addr = pci_mem_enabled(pd->f) ? pci_bar_addr(pd->f, bar) : 0;
            if (pd->mapped_size[bar] && (pd->mapped_addr[bar] != addr || !addr))
                unmap_bar(pd, bar);
            if (size && addr && !pd->mapped_size[bar])
                map_bar(pd, bar, addr, size);
        }
    }
}

/* ---- configuration space ---- */

static uint32_t ones(int size)
{
    return size >= 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
}

static struct pci_func *cfg_target(struct domain *d)
{
    uint32_t a = d->pci_cf8;
    if (!d->m->pci || !(a & 0x80000000u) || ((a >> 16) & 0xff) || ((a >> 8) & 7))
        return NULL;
    struct pci_func *f = pci_bus_func(d->m->pci, (a >> 11) & 31);
    return f && pci_func_user(f) == d ? f : NULL;
}

uint32_t platform_port_read(struct vcpu *v, uint16_t port, int size)
{
    struct domain *d = v->d;
    if (port == 0xcf8 && size == 4)
        return d->pci_cf8;
    if (port < 0xcfc || port > 0xcff)
        return ones(size); /* nothing decodes this port */
    unsigned off = (d->pci_cf8 & 0xfc) + (port - 0xcfc);
    struct pci_func *f = cfg_target(d);
    if (!f || off % (unsigned)size)
        return ones(size);
    return pci_cfg_read(f, off, (unsigned)size);
}

void platform_port_write(struct vcpu *v, uint16_t port, int size, uint32_t value)
{
    struct domain *d = v->d;
    if (port == 0xcf8 && size == 4) {
        d->pci_cf8 = value;
        return;
    }
    if (port < 0xcfc || port > 0xcff)
        return;
    unsigned off = (d->pci_cf8 & 0xfc) + (port - 0xcfc);
    struct pci_func *f = cfg_target(d);
    if (f && off % (unsigned)size == 0)
        pci_cfg_write(f, off, (unsigned)size, value);
}

/* ---- MMIO access cost ---- */

uint64_t platform_mmio(struct vcpu *v, const struct mmio_ops *ops, void *opaque, uint16_t place,
                       uint64_t off, unsigned size, uint64_t value, bool write)
{
    struct machine *m = v->d->m;
    simtime_t t = vcpu_now(v);
    simtime_t cost = machine_cost(m, write ? C_MMIO_WRITE : C_MMIO_READ);
    if (write)
        ops->write(opaque, off, value, size, t);
    else
        value = ops->read(opaque, off, size, t);
    v->slice_mcycles += (uint64_t)((double)cost * m->hz / 1e9);
    struct trace_span s = {.req = vcpu_trace_req(v),
                           .kind = SPAN_MMIO,
                           .place = v->d->place,
                           .start = t,
                           .end = t + cost,
                           .name = write ? "write" : "read",
                           .arg = (int64_t)off};
    trace_span(m->tr, &s);
    (void)place;
    return value;
}

/* ---- physdev_op and pirqs ---- */

static int pirq_alloc(struct domain *d)
{
    for (int p = FIRST_PIRQ; p < NR_PIRQS; p++)
        if (!d->pirqs[p].used)
            return p;
    return -ENOSPC;
}

static struct plat_dev *owned_dev_by_slot(struct domain *d, unsigned slot)
{
    for (int i = 0; i < d->m->ndevs; i++)
        if (d->m->devs[i].owner == d && pci_func_slot(d->m->devs[i].f) == slot)
            return &d->m->devs[i];
    return NULL;
}

static struct plat_dev *owned_dev_by_gsi(struct domain *d, int gsi)
{
    for (int i = 0; i < d->m->ndevs; i++)
        if (d->m->devs[i].owner == d && pci_func_gsi(d->m->devs[i].f) == gsi)
            return &d->m->devs[i];
    return NULL;
}

static void msi_program(struct pci_func *f, int pirq)
{
    unsigned cap = PCI_MSI_CAP_OFFSET;
    pci_cfg_write(f, cap + PCI_MSI_ADDR_LO, 4, MSI_ADDR_BASE);
    pci_cfg_write(f, cap + PCI_MSI_ADDR_HI, 4, 0);
    pci_cfg_write(f, cap + PCI_MSI_DATA, 2, (uint32_t)pirq);
    uint32_t flags = pci_cfg_read(f, cap + PCI_MSI_FLAGS, 2);
    pci_cfg_write(f, cap + PCI_MSI_FLAGS, 2, flags | PCI_MSI_FLAGS_ENABLE);
}

static long map_pirq(struct domain *d, struct physdev_map_pirq *mp)
{
    if (d->hvm)
        return hvm_map_pirq(d, mp);
    if (mp->domid != DOMID_SELF && mp->domid != d->domid)
        return -EPERM;
    struct plat_dev *pd;
    if (mp->type == MAP_PIRQ_TYPE_MSI) {
        if (mp->bus != 0 || !(pd = owned_dev_by_slot(d, (unsigned)mp->devfn >> 3)))
            return -ENODEV;
        if (pci_cfg_read(pd->f, PCI_MSI_CAP_OFFSET, 1) != PCI_CAP_ID_MSI)
            return -EINVAL;
    } else if (mp->type == MAP_PIRQ_TYPE_GSI) {
        if (!(pd = owned_dev_by_gsi(d, mp->index)))
            return -EPERM;
    } else {
        return -EINVAL;
    }
    int p = pirq_alloc(d);
    if (p < 0)
        return p;
    d->pirqs[p] = (struct pirq){.used = true,
                                .msi = mp->type == MAP_PIRQ_TYPE_MSI,
                                .gsi = mp->type == MAP_PIRQ_TYPE_GSI ? mp->index : -1};
    if (mp->type == MAP_PIRQ_TYPE_MSI)
        msi_program(pd->f, p);
    mp->pirq = p;
    return 0;
}

#define ARG(type, name)                                                                            \
    type *name = guest_ram(v->d, arg, sizeof(type));                                               \
    if (!name)                                                                                     \
        return -EFAULT;

long physdev_op(struct vcpu *v, int cmd, uint64_t arg)
{
    struct domain *d = v->d;
    switch (cmd) {
    case PHYSDEVOP_map_pirq: {
        ARG(struct physdev_map_pirq, mp);
        return map_pirq(d, mp);
    }
    case PHYSDEVOP_unmap_pirq: {
        ARG(struct physdev_unmap_pirq, up);
        if (up->pirq < FIRST_PIRQ || up->pirq >= NR_PIRQS || !d->pirqs[up->pirq].used)
            return -EINVAL;
        if (d->pirqs[up->pirq].port)
            d->evtchn[d->pirqs[up->pirq].port] = (struct evtchn){0};
        d->pirqs[up->pirq] = (struct pirq){0};
        return 0;
    }
    case PHYSDEVOP_eoi: {
        ARG(struct physdev_eoi, eoi);
        return eoi->irq < NR_PIRQS && d->pirqs[eoi->irq].used ? 0 : -EINVAL;
    }
    case PHYSDEVOP_irq_status_query: {
        ARG(struct physdev_irq_status_query, q);
        if (q->irq >= NR_PIRQS || !d->pirqs[q->irq].used)
            return -EINVAL;
        q->flags = d->pirqs[q->irq].msi ? 0 : XENIRQSTAT_needs_eoi;
        return 0;
    }
    default:
        return -ENOSYS;
    }
}

/* ---- creation ---- */

static int open_disks(struct machine *m, const struct sc_device *sd, struct plat_dev *pd, char *err,
                      size_t errlen)
{
    struct sas_hba *hba = pd->hba;
    for (int k = 0; k < sd->ndisks; k++) {
        const struct sc_disk *sk = &sd->disks[k];
        struct disk_params p;
        char derr[512];
        disk_params_from_cost(&p, (enum disk_type)sk->type, sk->block_size, m->cost);
        p.read_only = sk->read_only;
        /* its own service-time stream: dev<device index>.disk<k> of the scenario's seed */
        p.seed = m->sc->seed;
        snprintf(p.stream, sizeof p.stream, "dev%d.disk%d", (int)(sd - m->sc->devices), k);
        struct disk *dk = disk_open(&p, sk->image, sk->size_bytes, sk->create, derr, sizeof(derr));
        if (!dk) {
            snprintf(err, errlen, "%s:%d: disks: %s", m->sc->path, sd->line, derr);
            return -1;
        }
        if (k == 0)
            pd->disk0 = dk;
        if (sas_hba_attach(hba, dk) < 0) {
            disk_close(dk);
            snprintf(err, errlen, "%s:%d: disks: too many disks on one HBA", m->sc->path, sd->line);
            return -1;
        }
    }
    return 0;
}

/* The NIC's transmit: on the wire; the frame has left the NIC when its serialisation ends. */
static simtime_t nic_tx(void *opaque, const uint8_t *frame, size_t len, simtime_t when)
{
    struct plat_dev *pd = opaque;
    if (link_send(pd->link, 0, frame, len, when) == SIMTIME_NEVER)
        return when;
    return link_busy_until(pd->link, 0);
}

static void nic_rx(void *opaque, const uint8_t *frame, size_t len, simtime_t when)
{
    struct plat_dev *pd = opaque;
    e1000_receive(pd->nic, frame, len, when);
}

/* The NIC, its wire (side 0 at the NIC) and the peer host on side 1. */
static int create_nic(struct machine *m, const struct sc_device *sd, struct plat_dev *pd,
                      const struct dev_env *env, char *err, size_t errlen)
{
    static const enum peer_mode modes[] = {[SC_PEER_ECHO] = PEER_ECHO,
                                           [SC_PEER_SINK] = PEER_SINK,
                                           [SC_PEER_REQRESP] = PEER_REQRESP,
                                           [SC_PEER_SOURCE] = PEER_SOURCE};
    char nerr[512], name[48];
    pd->nic = e1000_create(env, m->pci, (unsigned)sd->slot, (uint8_t)(16 + sd->slot), sd->mac,
                           nic_tx, pd, nerr, sizeof(nerr));
    if (!pd->nic) {
        snprintf(err, errlen, "%s:%d: device: %s", m->sc->path, sd->line, nerr);
        return -1;
    }
    snprintf(name, sizeof(name), "wire.%d", sd->slot);
    struct link_params lp = {.speed_bps = sd->link_bps, .propagation = sd->propagation_ps};
    pd->link = link_create(&m->q, m->tr, trace_place(m->tr, PLACE_LINK, sd->slot, name), &lp);
    struct peer_params pp = {.mode = modes[sd->peer],
                             .service_time = sd->peer_service_ps,
                             .resp_len = sd->peer_resp_len,
                             .count = sd->peer_count,
                             .len = sd->peer_len,
                             .gap = sd->peer_gap_ps,
                             .start = sd->peer_start_ps};
    memcpy(pp.dst, sd->peer_dst, 6);
    pd->peer = pd->link ? peer_create(&m->q, pd->link, 1, &pp) : NULL;
    if (!pd->peer) {
        snprintf(err, errlen, "%s:%d: device: cannot create the link and peer", m->sc->path,
                 sd->line);
        return -1;
    }
    link_attach(pd->link, 0, (struct link_port){.opaque = pd, .deliver = nic_rx});
    m->drain_wire = true;
    if (m->pcap) /* opened by platform_create */
        link_set_tap(pd->link, pcap_tap, m->pcap);
    return 0;
}

static int create_device(struct machine *m, int i, char *err, size_t errlen)
{
    const struct sc_device *sd = &m->sc->devices[i];
    struct plat_dev *pd = &m->devs[m->ndevs];
    char name[48];
    struct domain *owner = m->doms[sd->owner];
    *pd = (struct plat_dev){
        .m = m, .owner = owner, .passthrough = !owner->privileged && !owner->native && !owner->rt};
    snprintf(name, sizeof(name), "%s.%d", sd->kind, sd->slot);
    pd->place = trace_place(m->tr, PLACE_DEVICE, sd->slot, name);
    struct dev_env env = {.q = &m->q,
                          .tr = m->tr,
                          .place = pd->place,
                          .cost = m->cost,
                          .hz = m->hz,
                          .dma = {.opaque = pd, .map = plat_dma_map, .stall = plat_dma_stall},
                          .irq = {.opaque = pd,
                                  .raise = plat_irq_raise,
                                  .lower = plat_irq_lower,
                                  .complete = plat_irq_complete}};
    if (!strcmp(sd->kind, "e1000")) {
        m->ndevs++;
        if (create_nic(m, sd, pd, &env, err, errlen) < 0)
            return -1;
        pd->f = e1000_pci(pd->nic);
        pci_func_set_user(pd->f, pd->owner);
        if (!sd->msi)
            pci_func_disable_msi_cap(pd->f);
        return 0;
    }
    char herr[512];
    pd->hba = sas_hba_create(&env, m->pci, (unsigned)sd->slot, (uint8_t)(16 + sd->slot), herr,
                             sizeof(herr));
    if (!pd->hba) {
        snprintf(err, errlen, "%s:%d: device: %s", m->sc->path, sd->line, herr);
        return -1;
    }
    m->ndevs++;
    pd->f = sas_hba_pci(pd->hba);
    pci_func_set_user(pd->f, pd->owner);
    if (!sd->msi)
        pci_func_disable_msi_cap(pd->f);
    return open_disks(m, sd, pd, err, errlen);
}

/*
 * A kernel loaded from disk (dom0 under xen-dom0, the native kernel): the
 * boot loader reads the image from the disk its domain owns, sequentially
 * from the start of the disk, at the disk model's speed; the domain starts
 * when the read is done. The contrast to uefi-rt's read out of SPI flash. A
 * driver domain (xen-idd) is built by dom0's toolstack from dom0's files:
 * its kernel is not read from the disk passed through to it.
 */
static void boot_from_disk(struct machine *m)
{
    for (int i = 0; i < m->ndevs; i++) {
        struct plat_dev *pd = &m->devs[i];
        struct domain *d = pd->owner;
        const struct sc_domain *sd = &m->sc->domains[d->idx];
        if (!pd->disk0 || d->rt || d->booted_from_disk || !sd->image[0] || d->l4 ||
            !(d->privileged || d->native))
            continue;
        FILE *f = fopen(sd->image, "rb");
        long size = f && fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
        if (f)
            fclose(f);
        if (size <= 0)
            continue;
        uint32_t bs = disk_block_size(pd->disk0);
        uint32_t n = (uint32_t)(((uint64_t)size + bs - 1) / bs);
        d->boot = (struct fwboot_result){.length = (uint32_t)size};
        d->boot.done = disk_schedule(pd->disk0, 0, false, 0, n);
        d->booted_from_disk = true;
    }
}

int platform_create(struct machine *m, char *err, size_t errlen)
{
    /* the capture asked for exists even when no wire does (then it holds no frame) */
    if (m->sc->output.pcap[0] && !m->pcap) {
        char perr[512];
        m->pcap = pcap_open(m->sc->output.pcap, perr, sizeof(perr));
        if (!m->pcap) {
            snprintf(err, errlen, "pcap: %s", perr);
            return -1;
        }
    }
    if (m->sc->ndevices == 0)
        return 0;
    m->pci = pci_bus_create(bar_update, m);
    if (!m->pci) {
        snprintf(err, errlen, "cannot create the PCI bus");
        return -1;
    }
    for (int i = 0; i < m->sc->ndevices; i++)
        if (create_device(m, i, err, errlen) < 0)
            return -1;
    if (pci_bus_assign_bars(m->pci, HOPSIM_MMIO_BASE, HOPSIM_GNT_WINDOW_BASE) < 0) {
        snprintf(err, errlen, "the devices' BARs do not fit the MMIO hole");
        return -1;
    }
    m->bars_dirty = true;
    platform_sync_bars(m);
    boot_from_disk(m);
    return 0;
}

void platform_destroy(struct machine *m)
{
    if (m->spi)
        spictrl_destroy(m->spi);
    if (m->flash)
        spiflash_close(m->flash);
    m->spi = NULL;
    m->flash = NULL;
    for (int i = 0; i < m->ndevs; i++) {
        struct plat_dev *pd = &m->devs[i];
        if (pd->hba)
            sas_hba_destroy(pd->hba);
        peer_destroy(pd->peer);
        if (pd->nic)
            e1000_destroy(pd->nic);
        if (pd->link)
            link_destroy(pd->link);
    }
    if (m->pcap) {
        char err[512];
        if (platform_pcap_close(m, err, sizeof(err)) < 0)
            fprintf(stderr, "hopsim: %s\n", err);
    }
    m->ndevs = 0;
    if (m->pci)
        pci_bus_destroy(m->pci);
    m->pci = NULL;
}

/* ---- network report ---- */

void platform_net_stats(const struct machine *m, struct platform_net_stats *s)
{
    *s = (struct platform_net_stats){0};
    for (int i = 0; i < m->ndevs; i++) {
        const struct plat_dev *pd = &m->devs[i];
        if (!pd->nic)
            continue;
        s->nics++;
        for (int side = 0; side < 2; side++) {
            struct link_stats ls = link_stats(pd->link, side);
            s->wire_frames[side] += ls.frames;
            s->wire_bytes[side] += ls.bytes;
        }
        s->peer_bad_payload += peer_stats(pd->peer).bad_payload;
    }
}

void platform_net_report(const struct machine *m, FILE *out)
{
    for (int i = 0; i < m->ndevs; i++) {
        const struct plat_dev *pd = &m->devs[i];
        if (!pd->nic)
            continue;
        struct e1000_counters c;
        e1000_get_counters(pd->nic, &c);
        struct link_stats l0 = link_stats(pd->link, 0), l1 = link_stats(pd->link, 1);
        struct peer_stats ps = peer_stats(pd->peer);
        unsigned slot = pci_func_slot(pd->f);
        fprintf(out,
                "net: e1000.%u: tx %llu frames (%llu errors), rx %llu frames, %llu dropped, "
                "%llu malformed, %llu interrupts (%llu deferred by ITR)\n",
                slot, (unsigned long long)c.tx_frames, (unsigned long long)c.tx_errors,
                (unsigned long long)c.rx_frames, (unsigned long long)c.rx_dropped,
                (unsigned long long)c.rx_malformed, (unsigned long long)c.interrupts,
                (unsigned long long)c.deferred);
        fprintf(
            out,
            "net: wire.%u: nic->peer %llu frames %llu bytes, peer->nic %llu frames %llu bytes\n",
            slot, (unsigned long long)l0.frames, (unsigned long long)l0.bytes,
            (unsigned long long)l1.frames, (unsigned long long)l1.bytes);
        fprintf(out,
                "net: peer.%u: received %llu frames (%llu test frames, %llu with a bad payload), "
                "sent %llu\n",
                slot, (unsigned long long)ps.rx_frames, (unsigned long long)ps.test_frames,
                (unsigned long long)ps.bad_payload, (unsigned long long)ps.tx_frames);
    }
    if (m->pcap)
        fprintf(out, "net: pcap %s: %llu frames\n", m->sc->output.pcap,
                (unsigned long long)pcap_records(m->pcap));
}

int platform_pcap_close(struct machine *m, char *err, size_t errlen)
{
    if (!m->pcap)
        return 0;
    for (int i = 0; i < m->ndevs; i++)
        if (m->devs[i].link)
            link_set_tap(m->devs[i].link, NULL, NULL);
    char perr[400];
    int rc = pcap_close(m->pcap, perr, sizeof(perr));
    m->pcap = NULL;
    if (rc < 0)
        snprintf(err, errlen, "pcap: %s", perr);
    return rc;
}
