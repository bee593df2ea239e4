/*
 * blkback's grant handling (see blkback.c's header for the modes): map
 * each segment per request and unmap after the completion; keep the
 * mappings of a persistent-grant connection in a per-ring table; or copy
 * with GNTTABOP_copy through bounce pages of our own. Called with the
 * ring's lock held.
 */
#include "bb.h"
#include "dma.h"

void unmap_segs(struct vbd *v, struct bb_req *p)
{
    struct gnttab_unmap_grant_ref ops[SEGS];
    unsigned n = 0;
    for (unsigned i = 0; i < p->nseg && i < SEGS; i++) {
        struct bb_seg *s = &p->seg[i];
        if (!s->mapped)
            continue;
        ops[n++] = (struct gnttab_unmap_grant_ref){
            .host_addr = (uint64_t)s->addr,
            .dev_bus_addr = s->bus & ~(uint64_t)(PAGE_SIZE - 1),
            .handle = s->handle,
        };
    }
    if (!n)
        return;
    int rc = HYPERVISOR_grant_table_op(GNTTABOP_unmap_grant_ref, ops, n);
    for (unsigned i = 0, k = 0; i < p->nseg && i < SEGS; i++) {
        struct bb_seg *s = &p->seg[i];
        if (!s->mapped)
            continue;
        if (!rc && ops[k].status == GNTST_okay)
            gnttab_slot_free(s->addr);
        else
            printf("blkback: dom%u: unmap of gref %u failed: %d/%d\n", v->fe, s->gref, rc,
                   ops[k].status);
        s->mapped = 0;
        k++;
    }
}

/*
 * Map segments idx[0..n) of p with `flags` into fresh window slots, in one
 * hypercall. On any failure every mapping made here is undone: -1.
 */
static int map_segs(struct vbd *v, struct bb_req *p, const uint8_t *idx, unsigned n, uint32_t flags)
{
    struct gnttab_map_grant_ref ops[SEGS];
    for (unsigned k = 0; k < n; k++) {
        void *slot = gnttab_slot_alloc();
        ops[k] = (struct gnttab_map_grant_ref){.host_addr = (uint64_t)slot,
                                               .flags = flags,
                                               .ref = p->seg[idx[k]].gref,
                                               .dom = v->fe,
                                               .status = GNTST_no_space};
    }
    int rc = HYPERVISOR_grant_table_op(GNTTABOP_map_grant_ref, ops, n);
    int bad = 0;
    for (unsigned k = 0; k < n; k++) {
        struct bb_seg *s = &p->seg[idx[k]];
        if (ops[k].host_addr && ops[k].status == GNTST_okay) {
            s->mapped = 1;
            s->addr = (void *)ops[k].host_addr;
            s->handle = ops[k].handle;
            s->bus = ops[k].dev_bus_addr + (uint64_t)s->first * 512;
            continue;
        }
        gnttab_slot_free((void *)ops[k].host_addr);
        if (!bad++)
            printf("blkback: dom%u: request 0x%llx: map of gref %u failed: %d/%d\n", v->fe,
                   (unsigned long long)p->id, s->gref, rc, ops[k].status);
    }
    if (bad)
        unmap_segs(v, p);
    return bad ? -1 : 0;
}

static int map_all(struct vbd *v, struct bb_req *p)
{
    uint8_t idx[SEGS];
    for (unsigned i = 0; i < p->nseg; i++)
        idx[i] = (uint8_t)i;
    uint32_t flags = GNTMAP_host_map | GNTMAP_device_map;
    if (p->op == BLKIF_OP_WRITE)
        flags |= GNTMAP_readonly; /* the device only reads a WRITE's data */
    return map_segs(v, p, idx, p->nseg, flags);
}

static unsigned pg_hash(uint64_t key)
{
    return (unsigned)((key * 0x9e3779b97f4a7c15ull) >> 54) & (PG_SLOTS - 1);
}

/* The entry for gref, or the empty entry where it would go. */
static struct pgnt *pg_slot(struct bb_ring *r, grant_ref_t gref)
{
    uint64_t key = (uint64_t)gref + 1;
    unsigned i = pg_hash(key);
    while (r->pg[i].key && r->pg[i].key != key)
        i = (i + 1) & (PG_SLOTS - 1);
    return &r->pg[i];
}

/* Keep this request's fresh mappings for good while the table has room. */
static void pg_keep(struct bb_ring *r, struct bb_req *p)
{
    for (unsigned i = 0; i < p->nseg && r->npg < PG_MAX; i++) {
        struct bb_seg *s = &p->seg[i];
        struct pgnt *e = s->mapped ? pg_slot(r, s->gref) : NULL;
        if (!e || e->key)
            continue; /* not fresh, or the same gref twice in one request */
        *e = (struct pgnt){.key = (uint64_t)s->gref + 1,
                           .bus = s->bus - (uint64_t)s->first * 512,
                           .handle = s->handle,
                           .addr = s->addr};
        r->npg++;
        s->mapped = 0;
    }
}

static int map_persistent(struct bb_ring *r, struct bb_req *p)
{
    struct vbd *v = r->v;
    uint8_t miss[SEGS];
    unsigned n = 0;
    for (unsigned i = 0; i < p->nseg; i++) {
        struct bb_seg *s = &p->seg[i];
        const struct pgnt *e = pg_slot(r, s->gref);
        if (e->key) {
            s->bus = e->bus + (uint64_t)s->first * 512;
            s->addr = e->addr;
        } else
            miss[n++] = (uint8_t)i;
    }
    /* Persistent grants are granted read-write by the frontend: map them so. */
    if (n && map_segs(v, p, miss, n, GNTMAP_host_map | GNTMAP_device_map))
        return -1;
    pg_keep(r, p);
    return 0;
}

void pg_release(struct bb_ring *r)
{
    struct vbd *v = r->v;
    for (unsigned i = 0; r->pg && i < PG_SLOTS; i++) {
        struct pgnt *e = &r->pg[i];
        if (!e->key)
            continue;
        int st = gnttab_unmap_at((uint64_t)e->addr, e->handle);
        if (st == GNTST_okay)
            gnttab_slot_free(e->addr);
        else
            printf("blkback: dom%u: unmap of persistent gref %llu failed: %d\n", v->fe,
                   (unsigned long long)(e->key - 1), st);
    }
    if (r->pg)
        page_free(r->pg, PG_SLOTS * sizeof(struct pgnt) / PAGE_SIZE);
    r->pg = NULL;
    r->npg = 0;
}

/* GNTTABOP_copy between the frontend's segments and our bounce pages, one hypercall. */
int copy_segs(struct vbd *v, struct bb_req *p, int to_frontend)
{
    struct gnttab_copy ops[SEGS];
    for (unsigned i = 0; i < p->nseg; i++) {
        const struct bb_seg *s = &p->seg[i];
        uint16_t off = (uint16_t)(s->first * 512);
        struct gnttab_copy_ptr theirs = {.u.ref = s->gref, .domid = v->fe, .offset = off};
        struct gnttab_copy_ptr ours = {
            .u.gmfn = virt_to_pfn(p->bounce[i]), .domid = DOMID_SELF, .offset = off};
        ops[i] = (struct gnttab_copy){
            .source = to_frontend ? ours : theirs,
            .dest = to_frontend ? theirs : ours,
            .len = (uint16_t)((s->last - s->first + 1) * 512),
            .flags = to_frontend ? GNTCOPY_dest_gref : GNTCOPY_source_gref,
            .status = GNTST_general_error,
        };
    }
    int rc = gnttab_copy_ops(ops, p->nseg);
    for (unsigned i = 0; i < p->nseg; i++)
        if (rc || ops[i].status != GNTST_okay) {
            printf("blkback: dom%u: request 0x%llx: copy %s gref %u failed: %d/%d\n", v->fe,
                   (unsigned long long)p->id, to_frontend ? "to" : "from", p->seg[i].gref, rc,
                   ops[i].status);
            return -1;
        }
    return 0;
}

static int bounce_in(struct vbd *v, struct bb_req *p)
{
    for (unsigned i = 0; i < p->nseg; i++) {
        if (!p->bounce[i] && !(p->bounce[i] = page_alloc(1))) {
            printf("blkback: out of bounce pages\n");
            return -1;
        }
        p->seg[i].bus = virt_to_bus(p->bounce[i]) + (uint64_t)p->seg[i].first * 512;
    }
    return p->op == BLKIF_OP_WRITE ? copy_segs(v, p, 0) : 0;
}

void bounce_release(struct bb_req *p)
{
    for (unsigned i = 0; i < SEGS; i++)
        if (p->bounce[i]) {
            page_free(p->bounce[i], 1);
            p->bounce[i] = NULL;
        }
}

/* Make the data reachable by the device: 0, or -1 (the request fails, nothing mapped). */
int grants_get(struct bb_ring *r, struct bb_req *p)
{
    for (unsigned i = 0; i < p->nseg; i++)
        p->seg[i].mapped = 0;
    if (bb_mode == GM_COPY)
        return bounce_in(r->v, p);
    return r->v->persistent && r->pg ? map_persistent(r, p) : map_all(r->v, p);
}
