/*
 * netback's TX path, frontend -> wire, per queue (see netback.c for the
 * rules): each queue's event runs on the vCPU its channel is bound to and
 * takes the packets of that queue's ring under the queue's lock -- Linux's
 * xenvif_tx_interrupt scheduling the queue's NAPI poll (xenvif_poll ->
 * xenvif_tx_action), one per queue. The NIC's transmit completion (its
 * interrupt, on the NIC's vCPU) answers the packet on its queue's ring.
 */
#include "nb.h"

#include "../back/backend.h"
#include "netif_check.h"

/* What tx_one did with the packet at req_cons. */
enum { TX_NEXT, TX_STALL, TX_WAIT, TX_FATAL };

static struct nb_tx *slot_alloc(struct nb_queue *q)
{
    return &q->slot[q->free_slot[--q->nfree]];
}

static void slot_free(struct nb_queue *q, struct nb_tx *p)
{
    q->free_slot[q->nfree++] = p->index;
}

/* ---- TX grants ---- */

/* Map the frame's page for the NIC to read: 0, or -1 (nothing mapped). */
static int tx_map(struct nb_queue *q, struct nb_tx *p, grant_ref_t gref)
{
    void *slot = gnttab_slot_alloc();
    if (!slot) {
        vif_msg(q->v, "tx request %u: no grant window slot free\n", p->id);
        return -1;
    }
    struct gnttab_map_grant_ref op = {
        .host_addr = (uint64_t)slot,
        .flags = GNTMAP_host_map | GNTMAP_device_map | GNTMAP_readonly, /* the NIC only reads */
        .ref = gref,
        .dom = q->v->fe,
        .status = GNTST_no_space,
    };
    int rc = HYPERVISOR_grant_table_op(GNTTABOP_map_grant_ref, &op, 1);
    if (rc || op.status != GNTST_okay) {
        gnttab_slot_free(slot);
        vif_msg(q->v, "tx request %u: map of gref %u failed: %d/%d\n", p->id, gref, rc, op.status);
        return -1;
    }
    p->addr = slot;
    p->handle = op.handle;
    p->page_bus = op.dev_bus_addr & ~(uint64_t)(PAGE_SIZE - 1);
    p->mapped = 1;
    return 0;
}

static void tx_unmap(struct nb_queue *q, struct nb_tx *p)
{
    if (!p->mapped)
        return;
    struct gnttab_unmap_grant_ref op = {
        .host_addr = (uint64_t)p->addr,
        .dev_bus_addr = p->page_bus,
        .handle = p->handle,
    };
    int rc = HYPERVISOR_grant_table_op(GNTTABOP_unmap_grant_ref, &op, 1);
    if (!rc && op.status == GNTST_okay)
        gnttab_slot_free(p->addr);
    else /* the window slot stays taken: it still maps the page */
        printf("netback: dom%u vif %d queue %u: unmap of a tx page failed: %d/%d\n", q->v->fe,
               q->v->devid, q->q, rc, op.status);
    p->mapped = 0;
}
/* ---- responses ---- */

static void tx_put(struct nb_queue *q, uint16_t id, int16_t status)
{
    netif_tx_response_t *rsp = RING_GET_RESPONSE(&q->tx, q->tx.rsp_prod_pvt);
    rsp->id = id;
    rsp->status = status;
    q->tx.rsp_prod_pvt++;
    q->unpushed = 1;
}

void note_push_req(struct nb_queue *q, uint64_t req, int rx)
{
    uint64_t *r = rx ? &q->push_req_rx : &q->push_req_tx;
    if (!*r)
        *r = req;
}

/* Answer a taken packet (grants already released) and free its slot and buffer. */
static void tx_finish(struct nb_queue *q, struct nb_tx *p, int16_t status)
{
    uint64_t req;
    int ends = netdev_tx_ends_request(p->buf->va, p->hlen, &req);
    if (vif_live(q->v)) {
        if (ends) {
            trace_hop_ring(HOP_H6, req, q->tx_port);
            trace_begin(SPAN_RING_PUT, req);
        }
        tx_put(q, p->id, status);
        if (ends) {
            trace_end(SPAN_RING_PUT, req);
            note_push_req(q, req, 0);
        }
    }
    if (status == XEN_NETIF_RSP_OKAY)
        q->tx_packets++;
    else
        q->tx_errors++;
    pool_give(p->buf, p->nseg);
    slot_free(q, p);
}

/* The notify carries the batch's first traced request (none: the hypervisor picks). */
static void notify(evtchn_port_t port, uint64_t req)
{
    trace_ctx(req);
    evtchn_send(port);
    if (req)
        trace_ctx(HOPSIM_NOREQ);
}

/*
 * Publish both rings' responses: one notify for the two on a shared
 * channel, each ring's own on split channels (q->lock held).
 */
void push_responses(struct nb_queue *q)
{
    int ntx = 0, nrx = 0;
    if (!q->unpushed || !vif_live(q->v))
        return;
    RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&q->tx, ntx);
    RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&q->rx, nrx);
    q->unpushed = 0;
    if (q->tx_port == q->rx_port) {
        if (ntx || nrx)
            notify(q->tx_port, q->push_req_tx ? q->push_req_tx : q->push_req_rx);
    } else {
        if (ntx)
            notify(q->tx_port, q->push_req_tx);
        if (nrx)
            notify(q->rx_port, q->push_req_rx);
    }
    q->push_req_tx = q->push_req_rx = HOPSIM_NOREQ;
}

/* NIC transmit completion (its interrupt handler, after the driver dropped its lock). */
static void tx_done(void *arg, int status)
{
    struct nb_tx *p = arg;
    struct nb_queue *q = p->q;
    int f = spin_lock_irqsave(&q->lock);
    tx_unmap(q, p);
    q->inflight--;
    tx_finish(q, p, status ? XEN_NETIF_RSP_DROPPED : XEN_NETIF_RSP_OKAY);
    int idle = q->v->state == VIF_CLOSING && !q->inflight;
    spin_unlock_irqrestore(&q->lock, f);
    if (idle)
        backend_kick(); /* disconnect() on vCPU 0 waits for this */
}
/* ---- TX requests ---- */

/*
 * The slots of the packet at req_cons (first slot's flags given): TX_NEXT
 * with the number of extra slots and of all slots; TX_WAIT when the packet
 * continues past rp; TX_FATAL with *why.
 */
static int tx_count(const struct nb_queue *q, uint16_t flags, RING_IDX rp, unsigned *nextra,
                    unsigned *nslots, const char **why)
{
    const netif_tx_back_ring_t *ring = &q->tx;
    RING_IDX pos = ring->req_cons + 1;
    unsigned extras = 0, data = 1;
    if (flags & NETTXF_extra_info) {
        uint8_t eflags;
        do {
            if (extras == MAX_EXTRAS) {
                *why = "tx packet with more extra-info slots than extra types";
                return TX_FATAL;
            }
            if (pos == rp)
                return TX_WAIT;
            /* a netif_extra_info in a request slot: read its flags byte alone, once */
            const volatile uint8_t *e = (const volatile uint8_t *)RING_GET_REQUEST(ring, pos);
            eflags = e[offsetof(struct netif_extra_info, flags)];
            pos++;
            extras++;
        } while (eflags & XEN_NETIF_EXTRA_FLAG_MORE);
    }
    while (flags & NETTXF_more_data) {
        if (data == XEN_NETBK_LEGACY_SLOTS_MAX) {
            *why = "tx packet of more than 18 slots (XEN_NETBK_LEGACY_SLOTS_MAX)";
            return TX_FATAL;
        }
        if (pos == rp)
            return TX_WAIT;
        flags = READ_ONCE(RING_GET_REQUEST(ring, pos)->flags);
        pos++;
        data++;
    }
    *nextra = extras;
    *nslots = pos - ring->req_cons;
    return TX_NEXT;
}

/* A packet of extra-info and / or fragment slots: ERROR for it, NULL for its other slots. */
static int tx_multi(struct nb_queue *q, const netif_tx_request_t *r, RING_IDX rp)
{
    netif_tx_back_ring_t *ring = &q->tx;
    unsigned nextra = 0, nslots = 0;
    const char *why = NULL;
    int c = tx_count(q, r->flags, rp, &nextra, &nslots, &why);
    if (c == TX_FATAL)
        vif_broken(q->v, why);
    if (c != TX_NEXT)
        return c;
    vif_msg(q->v, "tx request %u (%u slots, %u extra): %s not negotiated\n", r->id, nslots, nextra,
            nextra ? "extra info" : "scatter-gather");
    RING_IDX cons = ring->req_cons;
    ring->req_cons += nslots;
    tx_put(q, r->id, XEN_NETIF_RSP_ERROR);
    for (unsigned i = 1; i < nslots; i++) {
        /*
         * Response i lands at or before slot cons + i: read that slot's id
         * before writing it. Extra slots have no id.
         */
        uint16_t id = i > nextra ? READ_ONCE(RING_GET_REQUEST(ring, cons + i)->id) : 0;
        tx_put(q, id, XEN_NETIF_RSP_NULL);
    }
    q->tx_errors++;
    return TX_NEXT;
}

/* The single-slot rules, on our copy of the request: XEN_NETIF_RSP_OKAY or ERROR. */
static int16_t tx_check(struct vif *v, const netif_tx_request_t *r, int copy_st, uint64_t req)
{
    const char *why = NULL;
    int st = 0; /* the copy's status, when that is what failed */
    if (req)
        trace_begin(SPAN_CHECK, req);
    why = netif_check_tx(r->size, r->offset, nb_mtu);
    if (!why && (st = copy_st) != GNTST_okay)
        why = "copy failed";
    if (req)
        trace_end(SPAN_CHECK, req);
    if (!why)
        return XEN_NETIF_RSP_OKAY;
    if (st)
        vif_msg(v, "tx request %u: copy of gref %u failed: %d\n", r->id, r->gref, st);
    else
        vif_msg(v, "tx request %u (gref %u, offset %u, size %u): %s\n", r->id, r->gref, r->offset,
                r->size, why);
    return XEN_NETIF_RSP_ERROR;
}

/* Queue the frame on the NIC: XEN_NETIF_RSP_OKAY, or the status to answer with. */
static int16_t tx_issue(struct nb_queue *q, struct nb_tx *p, const netif_tx_request_t *r,
                        unsigned nseg)
{
    uint64_t bus[2] = {p->buf->bus, 0};
    uint16_t len[2] = {p->hlen, 0};
    if (nseg == 2) {
        bus[1] = p->page_bus + r->offset + p->hlen;
        len[1] = (uint16_t)(r->size - p->hlen);
    }
    q->inflight++;
    int rc = e1k_xmit(nb_nic, p->req, bus, len, nseg, tx_done, p);
    if (!rc)
        return XEN_NETIF_RSP_OKAY;
    q->inflight--;
    vif_msg(q->v, "tx request %u refused by the NIC driver: %d\n", p->id, rc);
    return rc == -XEN_EINVAL ? XEN_NETIF_RSP_ERROR : XEN_NETIF_RSP_DROPPED;
}

/*
 * Take the single-slot packet r (copied from req_cons): copy its header
 * (map) or all of it (copy), read the tag, check, map, hand it to the NIC.
 * Resources were checked by the caller.
 */
static void tx_take(struct nb_queue *q, const netif_tx_request_t *r, unsigned nseg,
                    struct nb_buf *b)
{
    struct vif *v = q->v;
    unsigned hlen = nb_mode == GM_COPY ? r->size : MIN(r->size, XEN_NETBACK_TX_COPY_LEN);
    int st = GNTST_bad_copy_arg;
    /* only a copy that stays within the frontend's page and our buffer; tx_check says why not */
    if (hlen <= nb_bufsz && (unsigned)r->offset + hlen <= PAGE_SIZE)
        st = gnttab_copy_from_ref(v->fe, r->gref, r->offset, b->va, hlen);
    if (st != GNTST_okay)
        hlen = 0; /* nothing of the frame in b: no tag */
    uint64_t req = hopsim_pkt_req(b->va, hlen);
    if (req) {
        trace_ctx(req);
        trace_hop(HOP_H4, req);
        trace_begin(SPAN_RING_GET, req);
    }
    struct nb_tx *p = slot_alloc(q);
    p->buf = b;
    p->nseg = (uint8_t)nseg;
    p->req = req;
    p->id = r->id;
    p->hlen = (uint16_t)hlen;
    p->mapped = 0;
    q->tx.req_cons++;
    if (req)
        trace_end(SPAN_RING_GET, req);
    int16_t rsp = tx_check(v, r, st, req);
    if (rsp == XEN_NETIF_RSP_OKAY && nseg == 2 && tx_map(q, p, r->gref))
        rsp = XEN_NETIF_RSP_ERROR;
    if (rsp == XEN_NETIF_RSP_OKAY)
        rsp = tx_issue(q, p, r, nseg);
    if (rsp != XEN_NETIF_RSP_OKAY) {
        tx_unmap(q, p);
        tx_finish(q, p, rsp);
    }
    if (req)
        trace_ctx(HOPSIM_NOREQ);
}

/*
 * Fault injection (arg fault_after=N, shared with blkback): the backend
 * executes an invalid instruction on taking its N-th packet, as a bug in
 * the driver would -- a driver domain's crash (scenarios of IDD restart).
 */
static void fault_point(void)
{
    static volatile long taken;
    if (nb_fault_after > 0 && __atomic_add_fetch(&taken, 1, __ATOMIC_SEQ_CST) == nb_fault_after) {
        printf("netback: injected fault on packet %ld\n", nb_fault_after);
        console_flush();
        __asm__ volatile("ud2");
    }
}

static int tx_one(struct nb_queue *q, RING_IDX rp)
{
    const netif_tx_request_t *src = RING_GET_REQUEST(&q->tx, q->tx.req_cons);
    netif_tx_request_t r;
    r.gref = READ_ONCE(src->gref);
    r.offset = READ_ONCE(src->offset);
    r.flags = READ_ONCE(src->flags);
    r.id = READ_ONCE(src->id);
    r.size = READ_ONCE(src->size);
    if (r.flags & (NETTXF_extra_info | NETTXF_more_data))
        return tx_multi(q, &r, rp);
    unsigned nseg = nb_mode == GM_MAP && r.size > XEN_NETBACK_TX_COPY_LEN ? 2 : 1;
    /* No free slot <=> RING_REQUEST_CONS_OVERFLOW: RING_SIZE packets unanswered. */
    if (!q->nfree)
        return TX_STALL;
    struct nb_buf *b = pool_take(nseg);
    if (!b)
        return TX_STALL;
    fault_point();
    tx_take(q, &r, nseg, b);
    return TX_NEXT;
}

void tx_process(struct nb_queue *q)
{
    netif_tx_back_ring_t *ring = &q->tx;
    int more;
    q->stalled = 0;
    do {
        RING_IDX rp = READ_ONCE(ring->sring->req_prod);
        rmb(); /* requests after req_prod */
        if (RING_REQUEST_PROD_OVERFLOW(ring, rp)) {
            ring_overflow(q, "tx", rp, ring->rsp_prod_pvt, RING_SIZE(ring));
            return;
        }
        int r = TX_NEXT;
        while (ring->req_cons != rp && (r = tx_one(q, rp)) == TX_NEXT)
            ;
        if (r == TX_STALL) {
            q->stalled = 1;
            return;
        }
        if (r == TX_FATAL)
            return;
        if (r == TX_WAIT) {
            /*
             * A packet continues past req_prod: leave it on the ring and ask
             * for a notify when anything more is pushed (req_event past the
             * last slot pushed, full barrier, re-read req_prod).
             */
            ring->sring->req_event = rp + 1;
            mb();
            more = READ_ONCE(ring->sring->req_prod) != rp;
        } else {
            RING_FINAL_CHECK_FOR_REQUESTS(ring, more);
        }
    } while (more);
}

void nb_tx_event(evtchn_port_t port, void *data)
{
    (void)port;
    struct nb_queue *q = data;
    int f = spin_lock_irqsave(&q->lock);
    if (vif_live(q->v)) {
        tx_process(q);
        push_responses(q);
    }
    spin_unlock_irqrestore(&q->lock, f);
    e1k_kick(nb_nic);
}

/*
 * A split RX channel: the frontend posted RX buffers (feature-rx-notify).
 * Frames are copied into them as they arrive (nb_rx.c), none waits for a
 * buffer here, so there is only what is unpushed to publish.
 */
void nb_rx_event(evtchn_port_t port, void *data)
{
    (void)port;
    struct nb_queue *q = data;
    int f = spin_lock_irqsave(&q->lock);
    push_responses(q);
    spin_unlock_irqrestore(&q->lock, f);
}
