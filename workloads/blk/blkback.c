/*
 * blkback: the Xen block backend (io/blkif.h) over the native SAS driver,
 * for the xen-dom0 architecture (dom0 owns the HBA).
 *
 * Arguments (start_info cmd_line):
 *   target=N            the HBA target (disk) every vbd is served from (0)
 *   grants=map|copy|persistent
 *                       map: map each segment's grant per request
 *                       (GNTMAP_host_map | GNTMAP_device_map, read-only
 *                       for a WRITE) and unmap after the completion;
 *                       copy: GNTTABOP_copy into / out of bounce pages of
 *                       our own; persistent: advertise feature-persistent
 *                       and keep grants mapped by gref for the connection's
 *                       lifetime (map mode if the frontend does not agree)
 *   vbd<D>_start=S vbd<D>_sectors=N
 *                       the window of the disk frontend domain D sees, in
 *                       512-byte sectors (default: the whole disk). Several
 *                       frontends may share the disk; give them disjoint
 *                       windows, or let their test programs use disjoint
 *                       regions (fio's offset/size).
 *   sas_qsize=N         HBA queue entries (256)
 *   fault_after=N       fault on taking the N-th request (security scenarios)
 *   rogue_after=N       a rogue driver (security scenarios): with its N-th
 *                       read, also program the HBA to read one 4 KiB block
 *                       into the machine frame after the request's first
 *                       granted page -- the frontend's memory, not granted
 *
 * Handshake, per vbd (the toolstack wrote /local/domain/<self>/backend/
 * vbd/<fe>/<devid> with frontend, frontend-id, online=1, state=1): write
 * sectors, sector-size, physical-sector-size, info, feature-flush-cache,
 * feature-persistent (if grants=persistent), max-ring-page-order = 0, then
 * InitWait. When the frontend is Initialised: read ring-ref,
 * event-channel, protocol (must be x86_64-abi if present),
 * feature-persistent; map the ring, bind the event channel, Connected. The
 * frontend's Closing -> we disconnect (wait for its I/O in flight, unmap
 * everything) and go Closing; its Closed -> Closed. When every vbd is
 * Closed the domain powers off.
 *
 * Requests (event handler, upcall context): consume every available
 * request, issue each to the HBA, ring the doorbell once, then
 * RING_FINAL_CHECK_FOR_REQUESTS. Each request is copied out of the shared
 * ring field by field, once, before it is checked (the frontend may change
 * the slot under us). Rules:
 *   operation READ, WRITE, FLUSH_DISKCACHE; anything else -> EOPNOTSUPP;
 *   READ/WRITE: 1..11 segments, first_sect <= last_sect <= 7 each,
 *   sector_number + sectors within the window, aligned to the disk's block,
 *   every grant mapped (or copied) -> else BLKIF_RSP_ERROR, and nothing
 *   reaches the disk. A req_prod more than RING_SIZE ahead of our
 *   responses (RING_REQUEST_PROD_OVERFLOW) disconnects that frontend
 *   (Closing; later requests are ignored) and no other.
 * A request is taken off the ring only when a request slot of its vbd and
 * an HBA command slot are free; otherwise the vbd stalls and is resumed
 * when completions free slots.
 *
 * Completions (HBA interrupt, upcall context): copy out (copy mode READ),
 * unmap (map mode), write the response, mark H6. Responses are pushed
 * with RING_PUSH_RESPONSES_AND_CHECK_NOTIFY once per interrupt per vbd;
 * a push that needs no notify skips the hypervisor hop H7 (the protocol's
 * own batching).
 *
 * Memory ordering (io/ring.h, x86 TSO): req_prod is read before the
 * requests (read barrier); responses are written before the push's write
 * barrier publishes rsp_prod, whose full barrier orders it before the
 * rsp_event read. RING_FINAL_CHECK_FOR_REQUESTS writes req_event, then a
 * full barrier, then re-reads req_prod.
 *
 * Hops: H4 when a request is taken off the ring (the hypervisor moved it
 * H2 -> H3 on the notify), the device marks H5, H6 at the response.
 */
#include "blkback.h"
#include "blkif_check.h"

#include <xen/io/protocols.h>

#include "../back/backend.h"
#include "blkfront.h"
#include "dma.h"
#include "sas.h"

#define MAX_VBDS 128 /* frontends one backend serves (the bench runs 64 domUs) */
#define SEGS BLKIF_MAX_SEGMENTS_PER_REQUEST
#define PG_SLOTS 1024 /* persistent grants per vbd: open addressing, insert-only */
#define PG_MAX 512
#define SECTS_PER_PAGE (PAGE_SIZE / 512)

enum grant_mode { GM_MAP, GM_COPY, GM_PERSISTENT };
enum vbd_state { VBD_NEW, VBD_CONNECTED, VBD_CLOSING, VBD_CLOSED };

struct bb_seg {
    grant_ref_t gref;
    uint8_t first, last;
    uint8_t mapped; /* mapped for this request only: unmap at completion */
    grant_handle_t handle;
    void *addr;   /* our mapping (grant window) */
    uint64_t bus; /* bus address of the segment's first sector */
};

struct bb_req {
    struct vbd *v;
    uint64_t id;
    uint64_t sector; /* within the vbd's window */
    uint32_t nsect;
    uint8_t op;
    uint8_t nseg; /* as the frontend gave it (may exceed SEGS: rejected) */
    uint8_t index;
    struct bb_seg seg[SEGS];
    void *bounce[SEGS]; /* copy mode: our pages, allocated on first use, kept */
};

struct pgnt {
    uint64_t key; /* gref + 1; 0 = empty */
    uint64_t bus; /* of the page */
    grant_handle_t handle;
    void *addr;
};

struct vbd {
    enum vbd_state state;
    domid_t fe;
    int devid;
    char nodename[128]; /* our backend directory */
    char fepath[128];   /* the frontend's directory */
    uint64_t start, sectors;
    blkif_back_ring_t ring;
    void *ring_addr;
    grant_handle_t ring_handle;
    evtchn_port_t port;
    int persistent;
    struct pgnt *pg; /* PG_SLOTS entries when persistent */
    unsigned npg;
    struct bb_req req[BLKIF_RING_SIZE];
    uint32_t free_mask; /* free entries of req[] */
    unsigned inflight;  /* at the HBA */
    int unpushed;       /* responses written since the last push */
    int stalled;        /* stopped taking requests for want of a slot */
    int broken;         /* ring overflow: disconnect from program context */
    unsigned long served, failed;
};

static struct vbd vbds[MAX_VBDS];
static int nvbds;
static struct sas_hba *hba;
static const struct sas_target_info *disk;
static uint8_t target, blk_shift;
static enum grant_mode mode;

/* ---- request slots of a vbd ---- */

static struct bb_req *req_alloc(struct vbd *v)
{
    unsigned i = ctz_ulong(v->free_mask);
    v->free_mask &= ~(1u << i);
    return &v->req[i];
}

static void req_free(struct vbd *v, struct bb_req *p)
{
    v->free_mask |= 1u << p->index;
}

/* ---- grants ---- */

static void unmap_segs(struct vbd *v, struct bb_req *p)
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
static struct pgnt *pg_slot(struct vbd *v, grant_ref_t gref)
{
    uint64_t key = (uint64_t)gref + 1;
    unsigned i = pg_hash(key);
    while (v->pg[i].key && v->pg[i].key != key)
        i = (i + 1) & (PG_SLOTS - 1);
    return &v->pg[i];
}

/* Keep this request's fresh mappings for good while the table has room. */
static void pg_keep(struct vbd *v, struct bb_req *p)
{
    for (unsigned i = 0; i < p->nseg && v->npg < PG_MAX; i++) {
        struct bb_seg *s = &p->seg[i];
        struct pgnt *e = s->mapped ? pg_slot(v, s->gref) : NULL;
        if (!e || e->key)
            continue; /* not fresh, or the same gref twice in one request */
        *e = (struct pgnt){.key = (uint64_t)s->gref + 1,
                           .bus = s->bus - (uint64_t)s->first * 512,
                           .handle = s->handle,
                           .addr = s->addr};
        v->npg++;
        s->mapped = 0;
    }
}

static int map_persistent(struct vbd *v, struct bb_req *p)
{
    uint8_t miss[SEGS];
    unsigned n = 0;
    for (unsigned i = 0; i < p->nseg; i++) {
        struct bb_seg *s = &p->seg[i];
        const struct pgnt *e = pg_slot(v, s->gref);
        if (e->key)
            s->bus = e->bus + (uint64_t)s->first * 512;
        else
            miss[n++] = (uint8_t)i;
    }
    /* Persistent grants are granted read-write by the frontend: map them so. */
    if (n && map_segs(v, p, miss, n, GNTMAP_host_map | GNTMAP_device_map))
        return -1;
    pg_keep(v, p);
    return 0;
}

static void pg_release(struct vbd *v)
{
    for (unsigned i = 0; v->pg && i < PG_SLOTS; i++) {
        struct pgnt *e = &v->pg[i];
        if (!e->key)
            continue;
        int st = gnttab_unmap_at((uint64_t)e->addr, e->handle);
        if (st == GNTST_okay)
            gnttab_slot_free(e->addr);
        else
            printf("blkback: dom%u: unmap of persistent gref %llu failed: %d\n", v->fe,
                   (unsigned long long)(e->key - 1), st);
    }
    if (v->pg)
        page_free(v->pg, PG_SLOTS * sizeof(struct pgnt) / PAGE_SIZE);
    v->pg = NULL;
    v->npg = 0;
}

/* GNTTABOP_copy between the frontend's segments and our bounce pages, one hypercall. */
static int copy_segs(struct vbd *v, struct bb_req *p, int to_frontend)
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

static void bounce_release(struct bb_req *p)
{
    for (unsigned i = 0; i < SEGS; i++)
        if (p->bounce[i]) {
            page_free(p->bounce[i], 1);
            p->bounce[i] = NULL;
        }
}

/* Make the data reachable by the device: 0, or -1 (the request fails, nothing mapped). */
static int grants_get(struct vbd *v, struct bb_req *p)
{
    for (unsigned i = 0; i < p->nseg; i++)
        p->seg[i].mapped = 0;
    if (mode == GM_COPY)
        return bounce_in(v, p);
    return v->persistent ? map_persistent(v, p) : map_all(v, p);
}

/* ---- responses ---- */

static void respond(struct vbd *v, struct bb_req *p, int16_t status)
{
    if (v->state == VBD_CONNECTED && !v->broken) {
        trace_hop(HOP_H6, p->id);
        trace_begin(SPAN_RING_PUT, p->id);
        blkif_response_t *rsp = RING_GET_RESPONSE(&v->ring, v->ring.rsp_prod_pvt);
        rsp->id = p->id;
        rsp->operation = p->op;
        rsp->status = status;
        v->ring.rsp_prod_pvt++;
        v->unpushed = 1;
        trace_end(SPAN_RING_PUT, p->id);
    }
    v->served++;
    if (status != BLKIF_RSP_OKAY)
        v->failed++;
    req_free(v, p);
}

static void push_responses(struct vbd *v)
{
    int notify = 0;
    if (!v->unpushed || v->state != VBD_CONNECTED || v->broken)
        return;
    RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&v->ring, notify);
    v->unpushed = 0;
    if (notify)
        evtchn_send(v->port);
}

/* HBA completion (upcall context). */
static void bb_done(struct sas_cmd *c, int status)
{
    struct bb_req *p = c->arg;
    struct vbd *v = p->v;
    int16_t st = status == SAS_ST_OK           ? BLKIF_RSP_OKAY
                 : status == SAS_ST_BAD_OPCODE ? BLKIF_RSP_EOPNOTSUPP
                                               : BLKIF_RSP_ERROR;
    if (st == BLKIF_RSP_OKAY && mode == GM_COPY && p->op == BLKIF_OP_READ &&
        v->state == VBD_CONNECTED && !v->broken && copy_segs(v, p, 1))
        st = BLKIF_RSP_ERROR;
    unmap_segs(v, p);
    v->inflight--;
    respond(v, p, st);
}

/* ---- requests ---- */

/* Copy the request out of the shared slot, each field read once. */
static void copy_request(struct bb_req *p, const blkif_request_t *src)
{
    p->op = READ_ONCE(src->operation);
    p->nseg = READ_ONCE(src->nr_segments);
    p->id = READ_ONCE(src->id);
    p->sector = READ_ONCE(src->sector_number);
    unsigned n = p->op == BLKIF_OP_READ || p->op == BLKIF_OP_WRITE ? MIN(p->nseg, SEGS) : 0;
    for (unsigned i = 0; i < n; i++) {
        struct blkif_request_segment s = src->seg[i];
        p->seg[i].gref = s.gref;
        p->seg[i].first = s.first_sect;
        p->seg[i].last = s.last_sect;
    }
}

/* Check p against io/blkif.h and the window: NULL if valid, else why not. */
static const char *check_rw(const struct vbd *v, struct bb_req *p)
{
    uint8_t first[SEGS], last[SEGS];
    unsigned n = MIN(p->nseg, SEGS);
    for (unsigned i = 0; i < n; i++) {
        first[i] = p->seg[i].first;
        last[i] = p->seg[i].last;
    }
    return blkif_check_rw(p->nseg, first, last, p->sector, v->start, v->sectors, blk_shift,
                          &p->nsect);
}

static int16_t check(struct vbd *v, struct bb_req *p)
{
    const char *why = NULL;
    int16_t st = BLKIF_RSP_ERROR;
    trace_begin(SPAN_CHECK, p->id);
    if (p->op == BLKIF_OP_FLUSH_DISKCACHE) {
        st = BLKIF_RSP_OKAY;
    } else if (p->op != BLKIF_OP_READ && p->op != BLKIF_OP_WRITE) {
        why = "unsupported operation";
        st = BLKIF_RSP_EOPNOTSUPP;
    } else if (!(why = check_rw(v, p))) {
        st = BLKIF_RSP_OKAY;
    }
    trace_end(SPAN_CHECK, p->id);
    if (why)
        printf("blkback: dom%u: request 0x%llx (op %u, %u segs, sector %llu): %s\n", v->fe,
               (unsigned long long)p->id, p->op, p->nseg, (unsigned long long)p->sector, why);
    return st;
}

static long rogue_after, issued;

static void rogue_done(struct sas_cmd *c, int status)
{
    printf("blkback: rogue DMA into bus address 0x%llx: %s\n", (unsigned long long)c->sg[0].addr,
           sas_status_name(status));
}

/*
 * The rogue driver's attack: the HBA is the driver domain's, so it can aim
 * the device's DMA anywhere on the bus; whether that lands is the
 * platform's (IOMMU's) business, not the driver's.
 */
static void rogue_dma(const struct bb_req *p)
{
    struct sas_cmd *c = sas_cmd_alloc(hba);
    if (!c)
        return;
    uint64_t victim = (p->seg[0].bus & ~(uint64_t)(PAGE_SIZE - 1)) + PAGE_SIZE;
    c->tag = HOPSIM_NOREQ; /* no request of any frontend */
    c->target = target;
    c->done = rogue_done;
    c->arg = NULL;
    c->lba = 0;
    c->nblocks = (uint32_t)(PAGE_SIZE / disk->blksz);
    c->opcode = SAS_OP_READ;
    sas_sg_set(&c->sg[0], victim, PAGE_SIZE);
    c->nsg = 1;
    printf("blkback: rogue: programming the HBA to write bus address 0x%llx\n",
           (unsigned long long)victim);
    if (sas_cmd_submit(hba, c))
        sas_cmd_free(hba, c);
}

/* Build and queue the HBA command: 0, or -1 (grants already released). */
static int issue(struct vbd *v, struct bb_req *p)
{
    struct sas_cmd *c = sas_cmd_alloc(hba);
    if (!c) { /* not reached: a slot was free when the request was taken */
        unmap_segs(v, p);
        return -1;
    }
    c->tag = p->id;
    c->target = target;
    c->done = bb_done;
    c->arg = p;
    c->nsg = 0;
    c->lba = (v->start + p->sector) >> blk_shift;
    c->nblocks = p->nsect >> blk_shift;
    c->opcode = p->op == BLKIF_OP_READ ? SAS_OP_READ : SAS_OP_WRITE;
    if (p->op == BLKIF_OP_FLUSH_DISKCACHE) {
        c->opcode = SAS_OP_FLUSH;
        c->lba = c->nblocks = 0;
    }
    for (unsigned i = 0; c->opcode != SAS_OP_FLUSH && i < p->nseg; i++)
        sas_sg_set(&c->sg[i], p->seg[i].bus, (p->seg[i].last - p->seg[i].first + 1u) * 512);
    if (c->opcode != SAS_OP_FLUSH)
        c->nsg = p->nseg;
    int rc = sas_cmd_submit(hba, c);
    if (rc) {
        printf("blkback: dom%u: request 0x%llx refused by the driver: %d\n", v->fe,
               (unsigned long long)p->id, rc);
        unmap_segs(v, p);
        return -1;
    }
    v->inflight++;
    if (rogue_after > 0 && c->opcode == SAS_OP_READ && ++issued == rogue_after)
        rogue_dma(p);
    return 0;
}

static void dispatch(struct vbd *v, struct bb_req *p)
{
    int16_t st = check(v, p);
    if (st == BLKIF_RSP_OKAY && p->op != BLKIF_OP_FLUSH_DISKCACHE && grants_get(v, p))
        st = BLKIF_RSP_ERROR;
    if (st == BLKIF_RSP_OKAY && issue(v, p))
        st = BLKIF_RSP_ERROR;
    if (st != BLKIF_RSP_OKAY)
        respond(v, p, st);
}

/*
 * Fault injection for the security scenarios (arg fault_after=N): the
 * backend executes an invalid instruction on taking its N-th request, as a
 * bug in the driver would. Under uefi-rt that is a fault inside a runtime
 * service; under xen-dom0 a dom0 crash.
 */
static long fault_after, taken;

static void take_request(struct vbd *v)
{
    if (fault_after > 0 && ++taken == fault_after) {
        printf("blkback: injected fault on request %ld\n", taken);
        console_flush();
        __asm__ volatile("ud2");
    }
    const blkif_request_t *src = RING_GET_REQUEST(&v->ring, v->ring.req_cons);
    struct bb_req *p = req_alloc(v);
    uint64_t id = READ_ONCE(src->id);
    trace_ctx(id);
    trace_hop(HOP_H4, id);
    trace_begin(SPAN_RING_GET, id);
    copy_request(p, src);
    p->id = id; /* the id we traced, whatever the slot says now */
    v->ring.req_cons++;
    trace_end(SPAN_RING_GET, id);
    dispatch(v, p);
    trace_ctx(HOPSIM_NOREQ);
}

/* The frontend overran the ring: stop serving it; program context disconnects it. */
static void ring_overflow(struct vbd *v, RING_IDX rp)
{
    printf("blkback: dom%u vbd %d: req_prod %u is %u ahead of our responses (ring of %u): "
           "disconnecting\n",
           v->fe, v->devid, rp, rp - v->ring.rsp_prod_pvt, RING_SIZE(&v->ring));
    v->broken = 1;
    evtchn_mask(v->port);
    backend_wake = 1;
}

/* Take every request we have room for (upcall context). */
static void vbd_process(struct vbd *v)
{
    blkif_back_ring_t *ring = &v->ring;
    int more;
    v->stalled = 0;
    do {
        RING_IDX rp = READ_ONCE(ring->sring->req_prod);
        rmb(); /* requests after req_prod */
        if (RING_REQUEST_PROD_OVERFLOW(ring, rp)) {
            ring_overflow(v, rp);
            return;
        }
        while (ring->req_cons != rp) {
            /* No free request slot <=> RING_REQUEST_CONS_OVERFLOW: RING_SIZE unanswered. */
            if (!v->free_mask || !sas_free_slots(hba)) {
                v->stalled = 1;
                return;
            }
            take_request(v);
        }
        RING_FINAL_CHECK_FOR_REQUESTS(ring, more);
    } while (more);
}

static int vbd_live(const struct vbd *v)
{
    return v->state == VBD_CONNECTED && !v->broken;
}

static void vbd_event(evtchn_port_t port, void *data)
{
    (void)port;
    struct vbd *v = data;
    if (!vbd_live(v))
        return;
    vbd_process(v);
    push_responses(v);
    sas_kick(hba);
}

/* After each HBA interrupt: push responses, resume stalled vbds, one doorbell. */
static void bb_batch(void *arg)
{
    (void)arg;
    static int next;
    for (int i = 0; i < nvbds; i++)
        push_responses(&vbds[i]);
    for (int k = 0; k < nvbds; k++) {
        struct vbd *v = &vbds[(next + k) % nvbds];
        if (vbd_live(v) && v->stalled) {
            vbd_process(v);
            push_responses(v);
        }
    }
    if (nvbds)
        next = (next + 1) % nvbds;
    sas_kick(hba);
}

/* ---- xenstore, program context ---- */

static int write_key(const struct vbd *v, const char *key, unsigned long long val)
{
    char path[192];
    snprintf(path, sizeof(path), "%s/%s", v->nodename, key);
    return xs_printf(XBT_NIL, path, "%llu", val);
}

static int advertise(const struct vbd *v)
{
    int rc = write_key(v, "sectors", v->sectors);
    rc = rc ? rc : write_key(v, "sector-size", disk->blksz);
    rc = rc ? rc : write_key(v, "physical-sector-size", disk->blksz);
    rc = rc ? rc : write_key(v, "info", 0);
    rc = rc ? rc : write_key(v, "feature-flush-cache", 1);
    if (mode == GM_PERSISTENT)
        rc = rc ? rc : write_key(v, "feature-persistent", 1);
    rc = rc ? rc : write_key(v, "max-ring-page-order", 0);
    return rc ? rc : xenbus_switch_state(v->nodename, XenbusStateInitWait);
}

static int protocol_ok(const struct vbd *v)
{
    char path[192], proto[32];
    snprintf(path, sizeof(path), "%s/protocol", v->fepath);
    int n = xs_read(XBT_NIL, path, proto, sizeof(proto));
    if (n == -XEN_ENOENT || (n >= 0 && !strcmp(proto, XEN_IO_PROTO_ABI_X86_64)))
        return 1;
    printf("blkback: dom%u: unsupported protocol '%s'\n", v->fe, n >= 0 ? proto : "?");
    return 0;
}

static int map_ring(struct vbd *v, long ref)
{
    int st, f = irq_save();
    v->ring_addr = gnttab_map(v->fe, (grant_ref_t)ref, 0, &v->ring_handle, &st);
    if (v->ring_addr && mode == GM_PERSISTENT && v->persistent) {
        v->pg = page_zalloc(PG_SLOTS * sizeof(struct pgnt) / PAGE_SIZE);
        v->npg = 0;
        if (!v->pg)
            v->persistent = 0;
    }
    irq_restore(f);
    if (!v->ring_addr) {
        printf("blkback: dom%u: map of ring-ref %ld failed: %d\n", v->fe, ref, st);
        return -1;
    }
    BACK_RING_INIT(&v->ring, (blkif_sring_t *)v->ring_addr, PAGE_SIZE);
    return 0;
}

static int connect(struct vbd *v)
{
    long ref = xs_read_long(v->fepath, "ring-ref", -1);
    long evtchn = xs_read_long(v->fepath, "event-channel", -1);
    if (ref < 0 || evtchn < 0 || !protocol_ok(v)) {
        printf("blkback: dom%u: ring-ref / event-channel / protocol unusable\n", v->fe);
        return -1;
    }
    v->persistent = mode == GM_PERSISTENT && xs_read_long(v->fepath, "feature-persistent", 0) == 1;
    if (map_ring(v, ref))
        return -1;
    int rc = evtchn_bind_interdomain(v->fe, (evtchn_port_t)evtchn, &v->port);
    if (rc) {
        printf("blkback: dom%u: bind_interdomain(port %ld) failed: %d\n", v->fe, evtchn, rc);
        return -1; /* disconnect() unmaps the ring */
    }
    v->free_mask = (uint32_t)((1ull << BLKIF_RING_SIZE) - 1);
    v->inflight = 0;
    v->unpushed = v->stalled = v->broken = 0;
    v->state = VBD_CONNECTED;
    evtchn_attach(v->port, vbd_event, v);
    printf("blkback: dom%u vbd %d connected: sectors [%llu, +%llu), grants %s\n", v->fe, v->devid,
           (unsigned long long)v->start, (unsigned long long)v->sectors,
           mode == GM_COPY ? "copy"
           : v->persistent ? "persistent"
                           : "map");
    return xenbus_switch_state(v->nodename, XenbusStateConnected);
}

/* Unmap the ring and every persistent grant, free the bounce pages. Nothing in flight. */
static void release(struct vbd *v)
{
    int f = irq_save();
    if (v->ring_addr && gnttab_unmap(v->ring_addr, v->ring_handle))
        printf("blkback: dom%u: ring unmap failed\n", v->fe);
    v->ring_addr = NULL;
    pg_release(v);
    for (unsigned i = 0; i < BLKIF_RING_SIZE; i++)
        bounce_release(&v->req[i]);
    irq_restore(f);
}

/* Stop serving, let the HBA finish what it holds, unmap everything, Closing. */
static void disconnect(struct vbd *v)
{
    if (v->state == VBD_CONNECTED) {
        int f = irq_save();
        v->state = VBD_CLOSING; /* completions from now on write no response */
        irq_restore(f);
        evtchn_unbind(v->port);
        WAIT_UNTIL(v->inflight == 0);
    }
    release(v);
    v->state = VBD_CLOSING;
    xenbus_switch_state(v->nodename, XenbusStateClosing);
}

static void step(struct vbd *v)
{
    int fe = xenbus_read_state(v->fepath);
    if (fe == XenbusStateUnknown)
        fe = XenbusStateClosed; /* frontend gone */
    if (v->state == VBD_NEW && (fe == XenbusStateInitialised || fe == XenbusStateConnected) &&
        connect(v))
        disconnect(v);
    if ((v->state == VBD_NEW || v->state == VBD_CONNECTED) &&
        (fe == XenbusStateClosing || fe == XenbusStateClosed || v->broken))
        disconnect(v);
    if (v->state == VBD_CLOSING && fe == XenbusStateClosed) {
        xenbus_switch_state(v->nodename, XenbusStateClosed);
        v->state = VBD_CLOSED;
        printf("blkback: dom%u vbd %d closed: %lu requests, %lu failed\n", v->fe, v->devid,
               v->served, v->failed);
    }
}

/* The vbd<fe>_start / vbd<fe>_sectors window: 0, or -1 if it does not fit the disk. */
static int window(struct vbd *v)
{
    char key[32];
    uint64_t total = disk->blocks << blk_shift;
    snprintf(key, sizeof(key), "vbd%u_start", v->fe);
    v->start = (uint64_t)arg_int(key, 0);
    snprintf(key, sizeof(key), "vbd%u_sectors", v->fe);
    v->sectors = (uint64_t)arg_int(key, (long)(total - MIN(v->start, total)));
    uint64_t mask = (1u << blk_shift) - 1;
    if (v->start >= total || v->sectors > total - v->start || !v->sectors ||
        ((v->start | v->sectors) & mask)) {
        printf("blkback: dom%u: window [%llu, +%llu) does not fit the disk (%llu sectors)\n", v->fe,
               (unsigned long long)v->start, (unsigned long long)v->sectors,
               (unsigned long long)total);
        return -1;
    }
    return 0;
}

static struct vbd *find_vbd(long fe, long devid)
{
    for (int i = 0; i < nvbds; i++)
        if (vbds[i].fe == fe && vbds[i].devid == devid)
            return &vbds[i];
    return NULL;
}

static void add_vbd(const char *base, long fe, long devid)
{
    if (find_vbd(fe, devid))
        return;
    if (nvbds == MAX_VBDS) {
        char node[160], why[48];
        snprintf(node, sizeof(node), "%s/%ld/%ld", base, fe, devid);
        snprintf(why, sizeof(why), "too many frontends (max %d)", MAX_VBDS);
        xenbus_backend_refuse(node, "blkback", why);
        return;
    }
    struct vbd *v = &vbds[nvbds];
    v->state = VBD_NEW; /* the rest of vbds[] is zero (bss) or set at connect */
    v->fe = (domid_t)fe;
    v->devid = (int)devid;
    for (unsigned i = 0; i < BLKIF_RING_SIZE; i++) {
        v->req[i].v = v;
        v->req[i].index = (uint8_t)i;
    }
    snprintf(v->nodename, sizeof(v->nodename), "%s/%ld/%ld", base, fe, devid);
    if (xenbus_backend_frontend(v->nodename, fe, v->fepath, sizeof(v->fepath)))
        return; /* not complete yet: a later scan picks it up */
    nvbds++;
    char path[192];
    snprintf(path, sizeof(path), "%s/state", v->fepath);
    xs_watch(path, "fe");
    if (window(v) || advertise(v)) {
        v->state = VBD_CLOSING;
        xenbus_switch_state(v->nodename, XenbusStateClosing);
    }
}

static void scan_one(const char *base, long fe, long devid, void *ctx)
{
    (void)ctx;
    add_vbd(base, fe, devid);
}

static void scan(const char *base)
{
    xenbus_backend_scan(base, scan_one, NULL);
}

ARG_ENUM(grants, "map|copy|persistent", "how the backend reaches the frontend's pages");
ARG_INT(target, 0, 255, "the disk (SAS target) to serve");
ARG_INT(sas_qsize, 1, 65536, "SAS HBA queue entries (clamped to the HBA's maximum)");
ARG_INT(fault_after, 0, INT64_MAX, "fault on the N-th request (0: never)");
ARG_INT(rogue_after, 0, INT64_MAX,
        "rogue DMA into the frontend's memory with the N-th read (0: never)");
ARG_NAMED_INT(vbd_start, "vbd#_start", 0, INT64_MAX, 0, "first sector of dom#'s window");
ARG_NAMED_INT(vbd_sectors, "vbd#_sectors", 1, INT64_MAX, 0, "sectors in dom#'s window");

static int parse_mode(void)
{
    const char *g = arg_str("grants", "map");
    if (!strcmp(g, "map"))
        mode = GM_MAP;
    else if (!strcmp(g, "copy"))
        mode = GM_COPY;
    else if (!strcmp(g, "persistent"))
        mode = GM_PERSISTENT;
    else {
        printf("blkback: grants=%s: expected map, copy or persistent\n", g);
        return -1;
    }
    return 0;
}

static int setup_disk(void)
{
    long t = arg_int("target", 0);
    int rc = sas_probe((unsigned)arg_int("sas_qsize", SAS_DEFAULT_QSIZE), &hba);
    if (rc == -XEN_ENODEV) {
        printf("blkback: no SAS HBA in this domain: block backend off\n");
        return 1;
    }
    if (rc) {
        printf("blkback: no usable SAS HBA: %d\n", rc);
        return -1;
    }
    disk = t >= 0 ? sas_target(hba, (unsigned)t) : NULL;
    if (!disk || (disk->blksz != 512 && disk->blksz != 4096)) {
        printf("blkback: target=%ld: no such disk\n", t);
        return -1;
    }
    target = (uint8_t)t;
    blk_shift = disk->blksz == 4096 ? 3 : 0;
    sas_set_batch_hook(hba, bb_batch, NULL);
    return 0;
}

static char base[96];

int blkback_init(void)
{
    fault_after = arg_int("fault_after", 0);
    rogue_after = arg_int("rogue_after", 0);
    if (parse_mode())
        return -1;
    int rc = setup_disk();
    if (rc)
        return rc;
    snprintf(base, sizeof(base), "/local/domain/%u/backend/vbd", xen_domid);
    rc = xs_watch(base, "be");
    if (rc < 0) {
        printf("blkback: cannot watch %s: %d\n", base, rc);
        return -1;
    }
    return 0;
}

void blkback_poll(void)
{
    scan(base);
    for (int i = 0; i < nvbds; i++)
        step(&vbds[i]);
}

int blkback_vbds(int *closed)
{
    int n = 0;
    for (int i = 0; i < nvbds; i++)
        n += vbds[i].state == VBD_CLOSED;
    *closed = n;
    return nvbds;
}

void blkback_fini(void)
{
    xs_unwatch(base, "be");
    sas_shutdown(hba);
}
