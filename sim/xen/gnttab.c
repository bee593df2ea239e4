/*
 * Grant tables, v1: entries live in frames the hypervisor owns and shares
 * with the granting guest (mapped into it by XENMEM_add_to_physmap).
 *
 * map_grant_ref follows Xen's __gnttab_map_grant_ref: flags must ask for a
 * host mapping (else GNTST_bad_gntref), the domain must exist
 * (GNTST_bad_domain), the ref must be inside the table (GNTST_bad_gntref),
 * the entry must be GTF_permit_access for the mapper's domid and not
 * read-only for a writable map (GNTST_general_error), the maptrack must have
 * room (GNTST_no_device_space). On success GTF_reading/GTF_writing are set in
 * the shared entry and the granter's frame is really mapped at host_addr
 * in the mapping domain's grant window (domain.c: a host mmap of the frame,
 * read-only for read-only grants; the engines' TLB fill hook refuses slots
 * with nothing mapped). host_addr must be a free page of the grant window
 * (hopsim/abi.h); anything else is GNTST_general_error, as Xen's
 * create_grant_host_mapping failure is.
 *
 * unmap: unknown handle -> GNTST_bad_handle; host_addr mismatch ->
 * GNTST_general_error. As Xen's gnttab_unmap_grant_ref, the TLB is flushed
 * once per batch of GNTTAB_UNMAP_BATCH_SIZE (32) operations, whatever their
 * status, on every CPU of the domain's dirty mask (flush.c: the shootdown
 * that makes persistent grants worthwhile). copy: offset+len beyond a page ->
 * GNTST_bad_copy_arg (checked first, as Xen does), then per side the same
 * domain/ref/permission checks; a local frame outside RAM -> GNTST_bad_page.
 * The copy itself is a host memcpy charged at memcpy bandwidth.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "machine.h"
#include "vtd.h"

#define GT_ENTRIES (GNT_MAX_FRAMES * GNT_ENTRIES_PER_FRAME)
/* xen/common/grant_table.c: unmap operations done between two TLB flushes */
#define GNTTAB_UNMAP_BATCH_SIZE 32

int gnttab_init(struct domain *d)
{
    struct gnttab *gt = &d->gt;
    gt->first_mfn = machine_alloc_mfns(d->m, GNT_MAX_FRAMES);
    if (gt->first_mfn == UINT64_MAX)
        return -1;
    gt->shared = machine_frame(d->m, gt->first_mfn); /* fresh frames: already zero */
    gt->nr_frames = 1;
    gt->active = calloc(GT_ENTRIES, sizeof(*gt->active));
    d->maptrack = calloc(MAPTRACK_MAX, sizeof(*d->maptrack));
    d->gnt_slot = calloc(HOPSIM_GNT_WINDOW_PAGES, 1);
    d->gnt_tlb = calloc(HOPSIM_GNT_WINDOW_PAGES, 1);
    d->gnt_mfn = calloc(HOPSIM_GNT_WINDOW_PAGES, sizeof(*d->gnt_mfn));
    return gt->active && d->maptrack && d->gnt_slot && d->gnt_tlb && d->gnt_mfn ? 0 : -1;
}

void gnttab_fini(struct domain *d)
{
    free(d->gt.active);
    free(d->maptrack);
    free(d->gnt_slot);
    free(d->gnt_tlb);
    free(d->gnt_mfn);
    d->gnt_tlb = NULL;
    d->gnt_mfn = NULL;
    d->gt.active = NULL;
    d->maptrack = NULL;
    d->gnt_slot = NULL;
}

static uint32_t nr_entries(const struct domain *d)
{
    return d->gt.nr_frames * GNT_ENTRIES_PER_FRAME;
}

/* Map grant-table frame idx of d at gpfn (XENMAPSPACE_grant_table); grows the table. */
int gnttab_map_frame_gpfn(struct domain *d, uint32_t idx, uint64_t gpfn)
{
    if (idx >= GNT_MAX_FRAMES)
        return -EINVAL;
    void *host = machine_frame(d->m, d->gt.first_mfn + idx);
    for (int i = 0; i < d->nvcpus; i++) {
        if (d->gt.frame_gpfn[idx])
            vcpu_unmap(d->vcpus[i], d->gt.frame_gpfn[idx] << PAGE_SHIFT, PAGE_SIZE);
        if (vcpu_map(d->vcpus[i], gpfn << PAGE_SHIFT, PAGE_SIZE, host, true) < 0)
            return -EINVAL;
    }
    d->gt.frame_gpfn[idx] = gpfn;
    if (idx + 1 > d->gt.nr_frames)
        d->gt.nr_frames = idx + 1;
    return 0;
}

static struct domain *dom_lookup(struct domain *self, domid_t id)
{
    if (id == DOMID_SELF)
        return self;
    return machine_domain(self->m, id);
}

static uint64_t slot_index(uint64_t host_addr)
{
    return (host_addr - HOPSIM_GNT_WINDOW_BASE) >> PAGE_SHIFT;
}

static bool window_slot_ok(struct domain *d, uint64_t addr)
{
    if (addr & (PAGE_SIZE - 1))
        return false;
    if (addr < HOPSIM_GNT_WINDOW_BASE ||
        addr >= HOPSIM_GNT_WINDOW_BASE + HOPSIM_GNT_WINDOW_PAGES * PAGE_SIZE)
        return false;
    return d->gnt_slot[slot_index(addr)] == GNT_SLOT_NONE;
}

static int16_t check_entry(struct domain *rd, uint32_t ref, domid_t who, bool readonly)
{
    if (ref >= nr_entries(rd))
        return GNTST_bad_gntref;
    grant_entry_v1_t *e = &rd->gt.shared[ref];
    uint16_t flags = __atomic_load_n(&e->flags, __ATOMIC_SEQ_CST);
    if ((flags & GTF_type_mask) != GTF_permit_access || e->domid != who)
        return GNTST_general_error;
    if (!readonly && (flags & GTF_readonly))
        return GNTST_general_error;
    if (!domain_gpfn_present(rd, e->frame)) /* outside RAM, or ballooned out */
        return GNTST_general_error;
    return GNTST_okay;
}

static void pin_update(struct domain *rd, uint32_t ref)
{
    struct active_grant *a = &rd->gt.active[ref];
    grant_entry_v1_t *e = &rd->gt.shared[ref];
    uint16_t set = (a->readers || a->writers ? GTF_reading : 0) | (a->writers ? GTF_writing : 0);
    uint16_t flags = __atomic_load_n(&e->flags, __ATOMIC_SEQ_CST);
    flags = (uint16_t)((flags & ~(GTF_reading | GTF_writing)) | set);
    __atomic_store_n(&e->flags, flags, __ATOMIC_SEQ_CST);
}

static int16_t do_map(struct vcpu *v, struct gnttab_map_grant_ref *op)
{
    struct domain *d = v->d;
    bool ro = (op->flags & GNTMAP_readonly) != 0;
    if (!(op->flags & GNTMAP_host_map))
        return GNTST_bad_gntref;
    if (!window_slot_ok(d, op->host_addr))
        return GNTST_general_error;
    struct domain *rd = dom_lookup(d, op->dom);
    if (!rd || rd->dead)
        return GNTST_bad_domain;
    int16_t st = check_entry(rd, op->ref, d->domid, ro);
    if (st != GNTST_okay)
        return st;
    uint32_t h = 0;
    while (h < MAPTRACK_MAX && d->maptrack[h].in_use)
        h++;
    if (h == MAPTRACK_MAX)
        return GNTST_no_device_space;
    uint64_t mfn = domain_gpfn_to_mfn(rd, rd->gt.shared[op->ref].frame);
    if (domain_window_map(d, op->host_addr, mfn, ro) < 0)
        return GNTST_general_error;
    d->maptrack[h] = (struct maptrack){.in_use = true,
                                       .vcpu = (uint8_t)v->id,
                                       .readonly = ro,
                                       .granter = rd->domid,
                                       .ref = op->ref,
                                       .host_addr = op->host_addr,
                                       .mfn = mfn};
    d->gnt_slot[slot_index(op->host_addr)] = ro ? GNT_SLOT_RO : GNT_SLOT_RW;
    d->m->frame_maps[mfn]++; /* keeps the frame allocated if its owner gives it back */
    vtd_grant_map(d, mfn, !ro);
    if (ro)
        rd->gt.active[op->ref].readers++;
    else
        rd->gt.active[op->ref].writers++;
    pin_update(rd, op->ref);
    op->handle = h;
    op->dev_bus_addr = mfn << PAGE_SHIFT;
    return GNTST_okay;
}

/* Returns the IOMMU invalidation time the unmap waited for. */
static simtime_t release_mapping(struct domain *d, uint32_t h)
{
    struct maptrack *mt = &d->maptrack[h];
    simtime_t inval = vtd_grant_unmap(d, mt->mfn);
    if (d->m->frame_maps[mt->mfn])
        d->m->frame_maps[mt->mfn]--;
    d->gnt_slot[slot_index(mt->host_addr)] = GNT_SLOT_NONE;
    domain_window_unmap(d, mt->host_addr);
    struct domain *rd = machine_domain(d->m, mt->granter);
    if (rd && mt->ref < GT_ENTRIES) {
        struct active_grant *a = &rd->gt.active[mt->ref];
        if (mt->readonly && a->readers)
            a->readers--;
        else if (!mt->readonly && a->writers)
            a->writers--;
        pin_update(rd, mt->ref);
    }
    *mt = (struct maptrack){0};
    return inval;
}

static int16_t do_unmap(struct vcpu *v, struct gnttab_unmap_grant_ref *op, simtime_t *inval)
{
    struct domain *d = v->d;
    if (op->handle >= MAPTRACK_MAX || !d->maptrack[op->handle].in_use)
        return GNTST_bad_handle;
    if (op->host_addr && op->host_addr != d->maptrack[op->handle].host_addr)
        return GNTST_general_error;
    *inval = release_mapping(d, op->handle);
    return GNTST_okay;
}

/* One side of a copy: resolve to a host pointer, with Xen's checks. */
static int16_t copy_side(struct vcpu *v, bool is_gref, domid_t dom, uint64_t refmfn,
                         uint16_t offset, uint16_t len, bool write, uint8_t **out)
{
    struct domain *d = v->d;
    struct domain *od = dom_lookup(d, dom);
    if (!od || od->dead)
        return GNTST_bad_domain;
    uint64_t gpfn;
    if (is_gref) {
        int16_t st = check_entry(od, (uint32_t)refmfn, d->domid, !write);
        if (st != GNTST_okay)
            return st;
        gpfn = od->gt.shared[refmfn].frame;
    } else {
        if (od != d && !d->privileged)
            return GNTST_permission_denied;
        if (!domain_gpfn_present(od, refmfn))
            return GNTST_bad_page;
        gpfn = refmfn;
    }
    *out = guest_ram(od, gpfn << PAGE_SHIFT, PAGE_SIZE);
    if (!*out)
        return GNTST_bad_page;
    *out += offset;
    (void)len;
    return GNTST_okay;
}

static int16_t do_copy(struct vcpu *v, struct gnttab_copy *op, simtime_t *cost)
{
    if ((uint32_t)op->source.offset + op->len > PAGE_SIZE ||
        (uint32_t)op->dest.offset + op->len > PAGE_SIZE)
        return GNTST_bad_copy_arg;
    uint8_t *src = NULL, *dst = NULL;
    int16_t st = copy_side(v, op->flags & GNTCOPY_source_gref, op->source.domid,
                           (op->flags & GNTCOPY_source_gref) ? op->source.u.ref : op->source.u.gmfn,
                           op->source.offset, op->len, false, &src);
    if (st != GNTST_okay)
        return st;
    st = copy_side(v, op->flags & GNTCOPY_dest_gref, op->dest.domid,
                   (op->flags & GNTCOPY_dest_gref) ? op->dest.u.ref : op->dest.u.gmfn,
                   op->dest.offset, op->len, true, &dst);
    if (st != GNTST_okay)
        return st;
    memmove(dst, src, op->len);
    *cost += cost_bytes_ps(v->d->m->cost, C_MEMCPY_BW, op->len);
    return GNTST_okay;
}

static long op_setup_table(struct vcpu *v, struct gnttab_setup_table *op)
{
    struct domain *d = dom_lookup(v->d, op->dom);
    if (!d || (d != v->d && !v->d->privileged)) {
        op->status = GNTST_bad_domain;
        return 0;
    }
    if (op->nr_frames > GNT_MAX_FRAMES) {
        op->status = GNTST_general_error;
        return 0;
    }
    if (op->nr_frames > d->gt.nr_frames)
        d->gt.nr_frames = op->nr_frames;
    xen_pfn_t *list =
        guest_ram(v->d, (uint64_t)(uintptr_t)op->frame_list.p, op->nr_frames * sizeof(xen_pfn_t));
    if (op->nr_frames && !list)
        return -EFAULT;
    /* a translated guest gets the guest frame where each table frame is mapped
       (Xen's gnttab_shared_gfn), INVALID_GFN for one not mapped yet: never a
       machine frame, which it could not use */
    for (uint32_t i = 0; i < op->nr_frames; i++)
        list[i] = d->gt.frame_gpfn[i] ? d->gt.frame_gpfn[i] : ~(xen_pfn_t)0;
    op->status = GNTST_okay;
    return 0;
}

static long op_query_size(struct vcpu *v, struct gnttab_query_size *op)
{
    struct domain *d = dom_lookup(v->d, op->dom);
    if (!d || (d != v->d && !v->d->privileged)) {
        op->status = GNTST_bad_domain;
        return 0;
    }
    op->nr_frames = d->gt.nr_frames;
    op->max_nr_frames = GNT_MAX_FRAMES;
    op->status = GNTST_okay;
    return 0;
}

static const char *gntst_name(int16_t st)
{
    static const char *const names[] = GNTTABOP_error_msgs;
    int i = -st;
    return i >= 0 && i < (int)(sizeof(names) / sizeof(names[0])) ? names[i] : "unknown";
}

/* Every grant op leaves a span; a failed one also a guest_error record with Xen's status. */
static void gnt_span(struct vcpu *v, uint16_t kind, simtime_t now, simtime_t *cost, simtime_t dur,
                     int16_t status)
{
    span_cpu(v->d->m, v->pcpu, kind, vcpu_trace_req(v), now + *cost, now + *cost + dur, v->d->name,
             status);
    if (status != GNTST_okay) {
        v->d->guest_errors++;
        span_cpu(v->d->m, v->pcpu, SPAN_GUEST_ERROR, vcpu_trace_req(v), now + *cost,
                 now + *cost + dur, gntst_name(status), status);
    }
    *cost += dur;
}

/*
 * The locks of one grant operation (lock.c), taken before its work as Xen
 * takes them: `hold` is the operation's modelled work.
 */
static void map_locks(struct vcpu *v, const struct gnttab_map_grant_ref *op, simtime_t now,
                      simtime_t *cost)
{
    struct machine *m = v->d->m;
    struct domain *rd = dom_lookup(v->d, op->dom);
    /* get_maptrack_handle: this vCPU's free list */
    *cost += xen_lock(v, &v->maptrack_lock, false, "maptrack", now + *cost,
                      machine_cost(m, C_MAPTRACK_LOCK));
    /* grant_read_lock(rgt) for the checks and the active entry */
    if (rd && !rd->dead)
        *cost +=
            xen_lock(v, &rd->gt_lock, true, "gt->lock", now + *cost, machine_cost(m, C_GNT_MAP));
}

/* After a successful map by a domain with IOMMU mappings: double_gt_lock(lgt, rgt). */
static void iommu_locks(struct vcpu *v, struct domain *rd, simtime_t hold, simtime_t now,
                        simtime_t *cost)
{
    struct domain *d = v->d;
    if (!d->m->iommu || !d->vtd_pgd || !d->vtd_strict)
        return;
    *cost += xen_lock(v, &d->gt_lock, false, "gt->lock", now + *cost, hold);
    if (rd && rd != d)
        *cost += xen_lock(v, &rd->gt_lock, false, "gt->lock", now + *cost, hold);
}

static void unmap_locks(struct vcpu *v, const struct gnttab_unmap_grant_ref *op, simtime_t now,
                        simtime_t *cost, struct domain **rdp)
{
    struct domain *d = v->d;
    struct machine *m = d->m;
    *rdp = NULL;
    if (op->handle >= MAPTRACK_MAX || !d->maptrack[op->handle].in_use)
        return;
    const struct maptrack *mt = &d->maptrack[op->handle];
    struct domain *rd = machine_domain(m, mt->granter);
    *rdp = rd;
    /* grant_read_lock(rgt) for the checks and the active entry */
    if (rd)
        *cost +=
            xen_lock(v, &rd->gt_lock, true, "gt->lock", now + *cost, machine_cost(m, C_GNT_UNMAP));
    /* put_maptrack_handle: onto the free list of the vCPU that made the mapping */
    if (mt->vcpu < d->nvcpus)
        *cost += xen_lock(v, &d->vcpus[mt->vcpu]->maptrack_lock, false, "maptrack", now + *cost,
                          machine_cost(m, C_MAPTRACK_LOCK));
}

/* gnttab_flush_tlb(current->domain) after a batch of unmaps */
static void unmap_batch_flush(struct vcpu *v, simtime_t now, simtime_t *cost)
{
    *cost += flush_tlb_domain(v, vcpu_trace_req(v), now + *cost);
}

long gnttab_op(struct vcpu *v, int cmd, uint64_t arg, uint32_t count, simtime_t now,
               simtime_t *cost)
{
    struct machine *m = v->d->m;
    if (count > 512)
        return -EINVAL;
    for (uint32_t i = 0; i < count; i++) {
        if (cmd == GNTTABOP_unmap_grant_ref && i && i % GNTTAB_UNMAP_BATCH_SIZE == 0)
            unmap_batch_flush(v, now, cost);
        switch (cmd) {
        case GNTTABOP_map_grant_ref: {
            struct gnttab_map_grant_ref *op = guest_ram(v->d, arg + i * sizeof(*op), sizeof(*op));
            if (!op)
                return -EFAULT;
            map_locks(v, op, now, cost);
            op->status = do_map(v, op);
            gnt_span(v, SPAN_GNT_MAP, now, cost, machine_cost(m, C_GNT_MAP), op->status);
            if (op->status == GNTST_okay)
                iommu_locks(v, dom_lookup(v->d, op->dom), 0, now, cost);
            break;
        }
        case GNTTABOP_unmap_grant_ref: {
            struct gnttab_unmap_grant_ref *op = guest_ram(v->d, arg + i * sizeof(*op), sizeof(*op));
            if (!op) {
                if (i % GNTTAB_UNMAP_BATCH_SIZE)
                    unmap_batch_flush(v, now, cost); /* Xen flushes what it did before -EFAULT */
                return -EFAULT;
            }
            simtime_t inval = 0;
            struct domain *rd;
            unmap_locks(v, op, now, cost, &rd);
            op->status = do_unmap(v, op, &inval);
            gnt_span(v, SPAN_GNT_UNMAP, now, cost, machine_cost(m, C_GNT_UNMAP), op->status);
            if (op->status == GNTST_okay)
                iommu_locks(v, rd, inval, now, cost); /* the invalidation is waited for inside */
            if (inval)
                gnt_span(v, SPAN_IOTLB_FLUSH, now, cost, inval, 0);
            break;
        }
        case GNTTABOP_copy: {
            struct gnttab_copy *op = guest_ram(v->d, arg + i * sizeof(*op), sizeof(*op));
            if (!op)
                return -EFAULT;
            simtime_t c = machine_cost(m, C_GNT_COPY_OP);
            /* acquire_grant_for_copy: grant_read_lock of each granting side's table */
            struct domain *sd = (op->flags & GNTCOPY_source_gref)
                                    ? dom_lookup(v->d, op->source.domid)
                                    : NULL,
                          *dd = (op->flags & GNTCOPY_dest_gref) ? dom_lookup(v->d, op->dest.domid)
                                                                : NULL;
            if (sd)
                *cost += xen_lock(v, &sd->gt_lock, true, "gt->lock", now + *cost, c);
            if (dd)
                *cost += xen_lock(v, &dd->gt_lock, true, "gt->lock", now + *cost, c);
            op->status = do_copy(v, op, &c);
            gnt_span(v, SPAN_GNT_COPY, now, cost, c, op->status);
            break;
        }
        case GNTTABOP_setup_table: {
            struct gnttab_setup_table *op = guest_ram(v->d, arg + i * sizeof(*op), sizeof(*op));
            if (!op)
                return -EFAULT;
            struct domain *td = dom_lookup(v->d, op->dom);
            if (td) /* grant_write_lock: waits for every operation in its table to leave */
                *cost += xen_lock(v, &td->gt_lock, false, "gt->lock", now + *cost, 0);
            long r = op_setup_table(v, op);
            if (r)
                return r;
            break;
        }
        case GNTTABOP_query_size: {
            struct gnttab_query_size *op = guest_ram(v->d, arg + i * sizeof(*op), sizeof(*op));
            if (!op)
                return -EFAULT;
            op_query_size(v, op);
            break;
        }
        default:
            return -ENOSYS;
        }
    }
    if (cmd == GNTTABOP_unmap_grant_ref && count)
        unmap_batch_flush(v, now, cost);
    return 0;
}

/* A dying domain's mappings of others' grants are released. */
void gnttab_domain_dead(struct domain *d)
{
    for (uint32_t h = 0; h < MAPTRACK_MAX; h++)
        if (d->maptrack[h].in_use)
            release_mapping(d, h);
}
