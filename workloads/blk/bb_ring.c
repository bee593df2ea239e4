/*
 * blkback's data path (see blkback.c for the rules it follows): rings and
 * their workers, taking requests off a ring, checking them and issuing
 * them to the HBA, completions and responses, and the attention list the
 * HBA interrupt's batch hook drains. Runs in upcall context: a ring's
 * worker on the vCPU its event channel is bound to, completions on the
 * interrupt's vCPU. blkback.c keeps the handshake and a vbd's lifetime.
 */
#include "blkif_check.h"

#include "../back/backend.h"
#include "bb.h"
#include "bb_probe.h"
#include "dma.h"
#include "sas.h"
#include "smp.h"

/* ---- rings that need the batch hook: responses to push, or stalled ---- */

static struct bb_ring *attn[MAX_VBDS * MAX_QUEUES], *attn_drain[MAX_VBDS * MAX_QUEUES];
static unsigned nattn;
static spinlock_t attn_lock; /* taken inside a ring's lock, never around it */

/* With r->lock held: bb_batch visits r after the next interrupt. */
static void ring_attend(struct bb_ring *r)
{
    int f = spin_lock_irqsave(&attn_lock);
    if (!r->attn) {
        r->attn = 1;
        attn[nattn++] = r;
    }
    spin_unlock_irqrestore(&attn_lock, f);
}

/* r is going away (release()): off the list. */
void ring_forget(struct bb_ring *r)
{
    int f = spin_lock_irqsave(&attn_lock);
    for (unsigned i = 0; r->attn && i < nattn; i++)
        if (attn[i] == r) {
            memmove(&attn[i], &attn[i + 1], (nattn - i - 1) * sizeof(attn[0]));
            nattn--;
            r->attn = 0;
        }
    spin_unlock_irqrestore(&attn_lock, f);
}

/* ---- request slots of a vbd ---- */

static struct bb_req *req_alloc(struct bb_ring *r)
{
    unsigned i = ctz_ulong(r->free_mask);
    r->free_mask &= ~(1u << i);
    return &r->req[i];
}

static void req_free(struct bb_ring *r, struct bb_req *p)
{
    r->free_mask |= 1u << p->index;
}

/* ---- responses ---- */

/* With r->lock held. */
static void respond(struct bb_ring *r, struct bb_req *p, int16_t status)
{
    struct vbd *v = r->v;
    if (v->state == VBD_CONNECTED && !v->broken) {
        trace_hop_ring(HOP_H6, p->id, r->port);
        trace_begin(SPAN_RING_PUT, p->id);
        blkif_response_t *rsp = RING_GET_RESPONSE(&r->ring, r->ring.rsp_prod_pvt);
        rsp->id = p->id;
        rsp->operation = p->op;
        rsp->status = status;
        r->ring.rsp_prod_pvt++;
        r->unpushed = 1;
        ring_attend(r);
        trace_end(SPAN_RING_PUT, p->id);
    }
    r->served++;
    if (status != BLKIF_RSP_OKAY)
        r->failed++;
    req_free(r, p);
}

/* With r->lock held. */
static void push_responses(struct bb_ring *r)
{
    int notify = 0;
    if (!r->unpushed || r->v->state != VBD_CONNECTED || r->v->broken)
        return;
    RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&r->ring, notify);
    r->unpushed = 0;
    if (notify)
        evtchn_send(r->port);
}

/* HBA completion (upcall context, the interrupt's vCPU). */
static void bb_done(struct sas_cmd *c, int status)
{
    struct bb_req *p = c->arg;
    struct bb_ring *r = p->r;
    struct vbd *v = r->v;
    int16_t st = status == SAS_ST_OK           ? BLKIF_RSP_OKAY
                 : status == SAS_ST_BAD_OPCODE ? BLKIF_RSP_EOPNOTSUPP
                                               : BLKIF_RSP_ERROR;
    int f = spin_lock_irqsave(&r->lock);
    if (st == BLKIF_RSP_OKAY && bb_mode == GM_COPY && p->op == BLKIF_OP_READ &&
        v->state == VBD_CONNECTED && !v->broken && copy_segs(v, p, 1))
        st = BLKIF_RSP_ERROR;
    unmap_segs(v, p);
    r->inflight--;
    respond(r, p, st);
    /* decided under the lock: once it is dropped, disconnect() on vCPU 0 may free the ring */
    int last = v->state == VBD_CLOSING && !r->inflight;
    spin_unlock_irqrestore(&r->lock, f);
    if (last)
        backend_kick(); /* disconnect() on vCPU 0 waits for this */
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
    return blkif_check_rw(p->nseg, first, last, p->sector, v->start, v->sectors, bb_blk_shift,
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

static long issued, reads;

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
void bb_rogue_dma(uint64_t victim)
{
    struct sas_cmd *c = sas_cmd_alloc(bb_hba);
    if (!c)
        return;
    c->tag = HOPSIM_NOREQ; /* no request of any frontend */
    c->target = bb_target;
    c->done = rogue_done;
    c->arg = NULL;
    c->lba = 0;
    c->nblocks = (uint32_t)(PAGE_SIZE / bb_disk->blksz);
    c->opcode = SAS_OP_READ;
    sas_sg_set(&c->sg[0], victim, PAGE_SIZE);
    c->nsg = 1;
    printf("blkback: rogue: programming the HBA to write bus address 0x%llx\n",
           (unsigned long long)victim);
    if (sas_cmd_submit(bb_hba, c))
        sas_cmd_free(bb_hba, c);
}

/* The page after the request's first segment: the frontend's, never granted to us. */
static uint64_t next_page(const struct bb_req *p)
{
    return (p->seg[0].bus & ~(uint64_t)(PAGE_SIZE - 1)) + PAGE_SIZE;
}

/* Build and queue the HBA command: 0, or -1 (grants already released). */
static int issue(struct bb_ring *r, struct bb_req *p)
{
    struct vbd *v = r->v;
    struct sas_cmd *c = sas_cmd_alloc(bb_hba);
    if (!c) { /* not reached: a slot was free when the request was taken */
        unmap_segs(v, p);
        return -1;
    }
    c->tag = p->id;
    c->target = bb_target;
    c->done = bb_done;
    c->done_hop = HOP_H6;
    c->arg = p;
    c->nsg = 0;
    c->lba = (v->start + p->sector) >> bb_blk_shift;
    c->nblocks = p->nsect >> bb_blk_shift;
    c->opcode = p->op == BLKIF_OP_READ ? SAS_OP_READ : SAS_OP_WRITE;
    if (p->op == BLKIF_OP_FLUSH_DISKCACHE) {
        c->opcode = SAS_OP_FLUSH;
        c->lba = c->nblocks = 0;
    }
    for (unsigned i = 0; c->opcode != SAS_OP_FLUSH && i < p->nseg; i++)
        sas_sg_set(&c->sg[i], p->seg[i].bus, (p->seg[i].last - p->seg[i].first + 1u) * 512);
    if (c->opcode != SAS_OP_FLUSH)
        c->nsg = p->nseg;
    int rc = sas_cmd_submit(bb_hba, c);
    if (rc) {
        printf("blkback: dom%u: request 0x%llx refused by the driver: %d\n", v->fe,
               (unsigned long long)p->id, rc);
        unmap_segs(v, p);
        return -1;
    }
    r->inflight++;
    if (bb_rogue_after > 0 && c->opcode == SAS_OP_READ && ++issued == bb_rogue_after)
        bb_rogue_dma(next_page(p));
    if (bb_compromise_after > 0 && c->opcode == SAS_OP_READ && ++reads == bb_compromise_after)
        bb_probe(bb_hba, bb_target, bb_disk, bb_other_frontend(v->fe), (uint64_t)bb_victim_sector,
                 next_page(p));
    return 0;
}

/* store=brd: the bio ends in the submitter's context (brd_submit_bio), so the completion --
 * __end_block_io_op's unmap and response -- runs here, on the ring's vCPU, under r->lock. */
static void serve_brd(struct bb_ring *r, struct bb_req *p)
{
    struct vbd *v = r->v;
    int16_t st = brd_serve(v, p);
    unmap_segs(v, p);
    respond(r, p, st);
}

static void dispatch(struct bb_ring *r, struct bb_req *p)
{
    int16_t st = check(r->v, p);
    if (st == BLKIF_RSP_OKAY && p->op != BLKIF_OP_FLUSH_DISKCACHE && grants_get(r, p))
        st = BLKIF_RSP_ERROR;
    if (st == BLKIF_RSP_OKAY && bb_store == STORE_BRD) {
        serve_brd(r, p);
        return;
    }
    if (st == BLKIF_RSP_OKAY && issue(r, p))
        st = BLKIF_RSP_ERROR;
    if (st != BLKIF_RSP_OKAY)
        respond(r, p, st);
}

/*
 * Fault injection for the security scenarios (arg fault_after=N): the
 * backend executes an invalid instruction on taking its N-th request, as a
 * bug in the driver would. Under uefi-rt that is a fault inside a runtime
 * service; under xen-dom0 a dom0 crash.
 */
static volatile long taken;

static void take_request(struct bb_ring *r)
{
    if (bb_fault_after > 0 && __atomic_add_fetch(&taken, 1, __ATOMIC_SEQ_CST) == bb_fault_after) {
        printf("blkback: injected fault on request %ld\n", taken);
        console_flush();
        __asm__ volatile("ud2");
    }
    const blkif_request_t *src = RING_GET_REQUEST(&r->ring, r->ring.req_cons);
    struct bb_req *p = req_alloc(r);
    uint64_t id = READ_ONCE(src->id);
    trace_ctx(id);
    trace_hop(HOP_H4, id);
    trace_begin(SPAN_RING_GET, id);
    copy_request(p, src);
    p->id = id; /* the id we traced, whatever the slot says now */
    r->ring.req_cons++;
    trace_end(SPAN_RING_GET, id);
    dispatch(r, p);
    trace_ctx(HOPSIM_NOREQ);
}

/* The frontend overran the ring: stop serving it; program context disconnects it. */
static void ring_overflow(struct bb_ring *r, RING_IDX rp)
{
    struct vbd *v = r->v;
    printf("blkback: dom%u vbd %d queue %u: req_prod %u is %u ahead of our responses (ring of "
           "%u): disconnecting\n",
           v->fe, v->devid, r->q, rp, rp - r->ring.rsp_prod_pvt, RING_SIZE(&r->ring));
    v->broken = 1;
    for (unsigned q = 0; q < v->nrings; q++)
        evtchn_mask(v->rings[q].port);
    backend_kick();
}

/* Take every request we have room for (upcall context, r->lock held). */
static void ring_process(struct bb_ring *r)
{
    blkif_back_ring_t *ring = &r->ring;
    int more;
    r->stalled = 0;
    do {
        RING_IDX rp = READ_ONCE(ring->sring->req_prod);
        rmb(); /* requests after req_prod */
        if (RING_REQUEST_PROD_OVERFLOW(ring, rp)) {
            ring_overflow(r, rp);
            return;
        }
        while (ring->req_cons != rp) {
            /* No free request slot <=> RING_REQUEST_CONS_OVERFLOW: RING_SIZE unanswered. */
            if (!r->free_mask || (bb_store == STORE_HBA && !sas_free_slots(bb_hba))) {
                r->stalled = 1;
                ring_attend(r);
                return;
            }
            take_request(r);
        }
        RING_FINAL_CHECK_FOR_REQUESTS(ring, more);
    } while (more);
}

int vbd_live(const struct vbd *v)
{
    return v->state == VBD_CONNECTED && !v->broken;
}

/* A ring's event (upcall context, on the vCPU the ring is bound to). */
void ring_event(evtchn_port_t port, void *data)
{
    (void)port;
    struct bb_ring *r = data;
    if (!vbd_live(r->v))
        return;
    int f = spin_lock_irqsave(&r->lock);
    if (vbd_live(r->v)) { /* again under the lock: disconnect() changes the state under it */
        ring_process(r);
        push_responses(r);
    }
    spin_unlock_irqrestore(&r->lock, f);
    sas_kick(bb_hba);
}

/*
 * After each HBA interrupt: push responses, resume stalled rings, one
 * doorbell. Visits the rings on the attention list in the order they
 * joined it (the HBA interrupt is bound to one vCPU: one drain at a time);
 * a ring that stalls again joins the next list.
 */
void bb_batch(void *arg)
{
    (void)arg;
    int f = spin_lock_irqsave(&attn_lock);
    unsigned n = nattn;
    memcpy(attn_drain, attn, n * sizeof(attn[0]));
    for (unsigned i = 0; i < n; i++) {
        attn_drain[i]->attn = 0;
        attn_drain[i]->draining = 1; /* release() waits until we are done with it */
    }
    nattn = 0;
    spin_unlock_irqrestore(&attn_lock, f);
    for (unsigned i = 0; i < n; i++) {
        struct bb_ring *r = attn_drain[i];
        struct vbd *v = r->v;
        f = spin_lock_irqsave(&r->lock);
        if (vbd_live(v)) {
            push_responses(r);
            if (r->stalled) {
                ring_process(r);
                push_responses(r);
            }
        }
        spin_unlock_irqrestore(&r->lock, f);
        __atomic_store_n(&r->draining, 0, __ATOMIC_RELEASE); /* r may go away from here on */
    }
    sas_kick(bb_hba);
}
