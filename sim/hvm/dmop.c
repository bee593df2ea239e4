/*
 * The device model's interface to the hypervisor (see hvm.h): dm_op
 * (Xen: arch/x86/hvm/dm.c, common/ioreq.c), the ioreq page through
 * XENMEM_acquire_resource, the guest's RAM through
 * XENMEM_add_to_physmap_batch(XENMAPSPACE_gmfn_foreign) (Linux privcmd's
 * path for a translated dom0), and the guest's INTx lines
 * (XEN_DMOP_set_pci_intx_level) delivered to the pirq the guest bound
 * (Xen's hvm_pci_intx_assert -> assert_gsi -> send_guest_pirq for a
 * guest using XENFEAT_hvm_pirqs).
 *
 * One ioreq server per HVM domain (id 0), synchronous ioreqs only (no
 * buffered ring: create refuses handle_bufioreq). Errors are Xen's:
 * -EPERM for an unprivileged caller, -ESRCH no such domain, -EINVAL a bad
 * argument or a domain that is not HVM, -ENOENT no such server or range,
 * -EEXIST a second server, -ENOSPC too many ranges, -EFAULT a buffer
 * outside the caller's RAM, -EOPNOTSUPP what hopsim does not implement
 * (the legacy gfn-mapped ioreq pages: use XENMEM_acquire_resource).
 */
#include "hvm.h"

#include <errno.h>
#include <string.h>

#include <xen/hvm/dm_op.h>
#include <xen/memory.h>

static struct domain *target(struct vcpu *v, uint64_t domid, long *err)
{
    struct domain *d = machine_domain(v->d->m, (int)domid);
    *err = 0;
    if (!v->d->privileged)
        *err = -EPERM;
    else if (!d || d->dead)
        *err = -ESRCH;
    else if (!d->hvm || !d->hvmd)
        *err = -EINVAL;
    return *err ? NULL : d;
}

static long create_server(struct vcpu *v, struct domain *d, xen_dm_op_create_ioreq_server_t *c)
{
    struct hvm_domain *h = d->hvmd;
    struct machine *m = d->m;
    if (c->handle_bufioreq)
        return -EOPNOTSUPP;
    if (h->server)
        return -EEXIST;
    h->page_mfn = machine_alloc_mfns(m, 1);
    if (h->page_mfn == UINT64_MAX)
        return -ENOMEM;
    h->page = machine_frame(m, h->page_mfn);
    memset(h->page, 0, PAGE_SIZE);
    for (int i = 0; i < d->nvcpus; i++) {
        /* alloc_unbound_xen_event_channel(): the far end binds it; the hypervisor consumes it */
        uint32_t p = 0;
        for (uint32_t q = 1; q < EVTCHN_NR && !p; q++)
            if (d->evtchn[q].state == ECS_FREE)
                p = q;
        if (!p)
            return -ENOSPC;
        d->evtchn[p] = (struct evtchn){.state = ECS_UNBOUND,
                                       .remote_dom = v->d->domid,
                                       .consumer = EVTCHN_CONSUMER_IOREQ,
                                       .notify_vcpu = (uint8_t)i};
        h->port[i] = p;
        h->page->vcpu_ioreq[i].vp_eport = p;
    }
    h->server = true;
    h->dm = v->d->domid;
    v->d->device_model = true;
    c->id = 0;
    return 0;
}

static long add_range(struct hvm_domain *h, const xen_dm_op_ioreq_server_range_t *r)
{
    if (r->type > XEN_DMOP_IO_RANGE_PCI || r->end < r->start)
        return -EINVAL;
    for (int i = 0; i < h->nranges; i++)
        if (h->ranges[i].type == r->type && r->start <= h->ranges[i].end &&
            h->ranges[i].start <= r->end)
            return -EEXIST;
    if (h->nranges == HVM_MAX_RANGES)
        return -ENOSPC;
    h->ranges[h->nranges++] = (struct hvm_range){.type = r->type, .start = r->start, .end = r->end};
    return 0;
}

static long del_range(struct hvm_domain *h, const xen_dm_op_ioreq_server_range_t *r)
{
    for (int i = 0; i < h->nranges; i++)
        if (h->ranges[i].type == r->type && h->ranges[i].start == r->start &&
            h->ranges[i].end == r->end) {
            h->ranges[i] = h->ranges[--h->nranges];
            return 0;
        }
    return -ENOENT;
}

int hvm_intx_level(struct domain *d, unsigned dev, unsigned intx, unsigned level)
{
    struct hvm_domain *h = d->hvmd;
    if (!h || dev > 31 || intx > 3 || level > 1)
        return -EINVAL;
    uint8_t bit = (uint8_t)(1u << intx), was = h->intx[dev] & bit;
    h->intx[dev] = level ? (h->intx[dev] | bit) : (h->intx[dev] & ~bit);
    return level && !was;
}

void hvm_intx_raise(struct domain *d, unsigned dev, unsigned intx, simtime_t now, uint64_t req)
{
    int gsi = hvm_pci_intx_gsi(dev, intx);
    for (int p = 0; p < NR_PIRQS; p++)
        if (d->pirqs[p].used && !d->pirqs[p].msi && d->pirqs[p].gsi == gsi && d->pirqs[p].port) {
            evtchn_set_pending(d, d->pirqs[p].port, now, req);
            return;
        }
    /* nobody bound the line: the edge is lost, as on an unmasked-but-unrouted pin */
}

/* An INTx level change: a rising edge raises the pirq the guest mapped for that GSI. */
static long set_intx(struct vcpu *v, struct domain *d, const xen_dm_op_set_pci_intx_level_t *l,
                     simtime_t now)
{
    struct machine *m = d->m;
    if (l->domain || l->bus)
        return -EINVAL;
    int edge = hvm_intx_level(d, l->device, l->intx, l->level);
    if (edge <= 0)
        return edge;
    /* the device model's completed requests now travel through the hypervisor to the guest */
    /* the device model's completed requests of this guest now travel through the hypervisor to
     * it: those its emulation posted (a device model serving several guests posts each on
     * its guest's ring) */
    trace_hop_advance_posted(m->tr, v->d->place, HOP_H6, HOP_H7, m->pcpus[v->pcpu].place, now,
                             HOPSIM_HVM_RING(d->domid));
    hvm_intx_raise(d, l->device, l->intx, now, trace_last_advanced(m->tr));
    return 0;
}

long hvm_dm_op(struct vcpu *v, uint64_t domid, uint64_t nr_bufs, uint64_t bufs, simtime_t now)
{
    long err;
    struct domain *d = target(v, domid, &err);
    if (!d)
        return err;
    if (nr_bufs < 1)
        return -EINVAL;
    struct xen_dm_op_buf *b = guest_ram(v->d, bufs, sizeof(*b));
    if (!b)
        return -EFAULT;
    struct xen_dm_op *op =
        b->size >= sizeof(*op) ? guest_ram(v->d, (uint64_t)(uintptr_t)b->h.p, sizeof(*op)) : NULL;
    if (!op)
        return -EFAULT;
    struct hvm_domain *h = d->hvmd;
    if (op->pad)
        return -EINVAL;
    switch (op->op) {
    case XEN_DMOP_create_ioreq_server:
        return create_server(v, d, &op->u.create_ioreq_server);
    case XEN_DMOP_get_ioreq_server_info: {
        xen_dm_op_get_ioreq_server_info_t *gi = &op->u.get_ioreq_server_info;
        if (!h->server || gi->id != 0 || h->dm != v->d->domid)
            return -ENOENT;
        if (!(gi->flags & XEN_DMOP_no_gfns))
            return -EOPNOTSUPP;
        gi->bufioreq_port = 0;
        return 0;
    }
    case XEN_DMOP_map_io_range_to_ioreq_server:
    case XEN_DMOP_unmap_io_range_from_ioreq_server: {
        xen_dm_op_ioreq_server_range_t *r = &op->u.map_io_range_to_ioreq_server;
        if (!h->server || r->id != 0 || h->dm != v->d->domid)
            return -ENOENT;
        return op->op == XEN_DMOP_map_io_range_to_ioreq_server ? add_range(h, r) : del_range(h, r);
    }
    case XEN_DMOP_set_ioreq_server_state: {
        xen_dm_op_set_ioreq_server_state_t *s = &op->u.set_ioreq_server_state;
        if (!h->server || s->id != 0 || h->dm != v->d->domid)
            return -ENOENT;
        h->enabled = s->enabled != 0;
        /* the toolstack starts a paused HVM guest once its device model is running */
        if (h->enabled)
            hvm_unpause(d, now);
        return 0;
    }
    case XEN_DMOP_destroy_ioreq_server:
        if (!h->server || op->u.destroy_ioreq_server.id != 0 || h->dm != v->d->domid)
            return -ENOENT;
        h->server = h->enabled = false;
        h->nranges = 0;
        return 0;
    case XEN_DMOP_set_pci_intx_level:
        return set_intx(v, d, &op->u.set_pci_intx_level, now);
    case XEN_DMOP_remote_shutdown: {
        uint32_t reason = op->u.remote_shutdown.reason;
        if (reason > SHUTDOWN_watchdog)
            return -EINVAL;
        domain_kill(d, (int)reason, "its device model shut it down (XEN_DMOP_remote_shutdown)");
        return 0;
    }
    default:
        return -EOPNOTSUPP;
    }
}

static bool gfn_free(struct domain *d, uint64_t gfn)
{
    return gfn >= d->nr_pages && gfn < (HOPSIM_MMIO_BASE >> PAGE_SHIFT);
}

long hvm_acquire_resource(struct vcpu *v, uint64_t arg)
{
    struct xen_mem_acquire_resource *r = guest_ram(v->d, arg, sizeof(*r));
    if (!r)
        return -EFAULT;
    long err;
    struct domain *d = target(v, r->domid, &err);
    if (!d)
        return err;
    struct hvm_domain *h = d->hvmd;
    if (r->type != XENMEM_resource_ioreq_server || r->id != 0 || !h->server || h->dm != v->d->domid)
        return -ENOENT;
    /* frame 0 is the buffered-ioreq ring (not offered), frame 1 the synchronous ioreq page */
    if (r->frame != 1 || r->nr_frames != 1 || r->pad)
        return -EINVAL;
    uint64_t *gfn = guest_ram(v->d, (uint64_t)(uintptr_t)r->frame_list.p, sizeof(*gfn));
    if (!gfn)
        return -EFAULT;
    if (!gfn_free(v->d, *gfn) || h->page_gfn[0])
        return -EINVAL;
    for (int i = 0; i < v->d->nvcpus; i++)
        if (vcpu_map(v->d->vcpus[i], *gfn << PAGE_SHIFT, PAGE_SIZE, h->page, true) < 0)
            return -EINVAL;
    h->page_gfn[0] = *gfn;
    return 0;
}

/* Contiguous runs (idx, gpfn both +1) map as one region: Unicorn regions are costly. */
long hvm_foreign_map(struct vcpu *v, uint64_t arg)
{
    struct xen_add_to_physmap_batch *b = guest_ram(v->d, arg, sizeof(*b));
    if (!b)
        return -EFAULT;
    if (b->space != XENMAPSPACE_gmfn_foreign)
        return -EOPNOTSUPP;
    if (b->domid != DOMID_SELF && b->domid != v->d->domid)
        return -EPERM;
    if (!v->d->privileged)
        return -EPERM;
    struct domain *fd = machine_domain(v->d->m, b->u.foreign_domid);
    if (!fd || fd->dead || fd == v->d)
        return -ESRCH;
    uint64_t *idx = guest_ram(v->d, (uint64_t)(uintptr_t)b->idxs.p, (uint64_t)b->size * 8);
    uint64_t *gpfn = guest_ram(v->d, (uint64_t)(uintptr_t)b->gpfns.p, (uint64_t)b->size * 8);
    int *errs = guest_ram(v->d, (uint64_t)(uintptr_t)b->errs.p, (uint64_t)b->size * sizeof(int));
    if (b->size && (!idx || !gpfn || !errs))
        return -EFAULT;
    for (unsigned i = 0; i < b->size; i++)
        errs[i] = domain_gpfn_present(fd, idx[i]) && gfn_free(v->d, gpfn[i]) ? 0 : -EINVAL;
    for (unsigned i = 0; i < b->size;) {
        unsigned n = 1;
        if (errs[i]) {
            i++;
            continue;
        }
        while (i + n < b->size && !errs[i + n] && idx[i + n] == idx[i] + n &&
               gpfn[i + n] == gpfn[i] + n)
            n++;
        for (int k = 0; k < v->d->nvcpus; k++)
            if (vcpu_map(v->d->vcpus[k], gpfn[i] << PAGE_SHIFT, (uint64_t)n << PAGE_SHIFT,
                         fd->ram + (idx[i] << PAGE_SHIFT), true) < 0)
                for (unsigned j = i; j < i + n; j++)
                    errs[j] = -EINVAL;
        i += n;
    }
    return 0;
}

long hvm_map_pirq(struct domain *d, struct physdev_map_pirq *mp)
{
    if (mp->domid != DOMID_SELF && mp->domid != d->domid)
        return -EPERM;
    /* the emulated functions offer INTx only: MSI is refused and the driver falls back */
    if (mp->type != MAP_PIRQ_TYPE_GSI)
        return -EINVAL;
    if (mp->index < 16 || mp->index >= 48)
        return -EINVAL;
    for (int p = 16; p < NR_PIRQS; p++)
        if (!d->pirqs[p].used) {
            d->pirqs[p] = (struct pirq){.used = true, .msi = false, .gsi = mp->index};
            mp->pirq = p;
            return 0;
        }
    return -ENOSPC;
}
