/*
 * netfront: the Xen network frontend (see netfront.h for the handshake).
 *
 * Queues (Linux's struct netfront_queue): each has its TX and RX ring, its
 * shadows and receive buffers, and one event channel for both rings, or
 * two when the backend offers feature-split-event-channels. A transmit
 * goes to the queue its flow hashes to (xennet_select_queue:
 * hopsim_pkt_flow_hash modulo the queues), so a flow's frames stay in
 * order on one queue and different flows spread over the queues.
 *
 * Transmit. xmit() (program context, event delivery off) grants the
 * frame's page read-only to the backend, writes a netif_tx_request into
 * the next free ring slot with id = a free shadow slot (the request id of
 * io/netif.h is a 16-bit ring slot; the global request id travels in the
 * frame, hopsim/netpkt.h) and marks H2 for a test frame. kick() publishes
 * every request written since the last kick with
 * RING_PUSH_REQUESTS_AND_CHECK_NOTIFY and notifies only if the backend
 * asked (req_event).
 *
 * Receive. netfront_open() grants `rx_bufs` pages of our RAM per queue
 * read-write to the backend, for the connection's lifetime, and posts each as an RX
 * request with id = its buffer index; the backend copies a frame in
 * (request-rx-copy) and answers with the length in status. After each
 * response the same page and grant go straight back on the ring.
 *
 * Responses (event handler, upcall context): TX first -- match by id,
 * revoke the grant, done() (H8 for a frame whose request ends there) --
 * then RX -- hand the frame to d->rx (H8, SPAN_RING_GET) and re-post its
 * buffer; the re-posted RX requests are pushed once after the loop, with
 * one notify if the backend asked. RING_FINAL_CHECK_FOR_RESPONSES re-arms
 * rsp_event and catches a response that arrived meanwhile.
 *
 * Trust. Everything read from the shared rings is copied once and checked
 * before use. A backend that produces more responses than we have
 * requests outstanding, or names a TX slot or RX buffer that does not
 * exist, is not trusted again: the device is marked broken (xmit returns
 * -XEN_EIO, transmits in flight fail with -XEN_EIO), and the rings are left
 * alone until close. Unknown-but-valid TX ids, NETIF_RSP_NULL, duplicate
 * RX ids and frames we did not negotiate (NETRXF_more_data,
 * NETRXF_extra_info: no feature-sg, no GSO) are counted and skipped.
 *
 * Backend gone (a driver domain's, domid != 0; Linux's netfront_resume):
 * a watch on the backend's state reports it Closing, Closed or removed
 * while we are Connected. In program context (the test program's waits
 * call service() when attention() says so) we take the responses it
 * posted, then every transmit still in flight off the rings, end every
 * grant, close, wait for the toolstack to re-add the device (our state
 * back to Initialising, the new backend named), connect to the new
 * backend by the normal handshake, repost the receive buffers and
 * resubmit the transmits in their order, counting both. A frame already
 * on the wire when the backend died may be sent again: the far end sees
 * it twice, as after a retransmission; none is lost unaccounted.
 *
 * Memory ordering (io/ring.h, x86 TSO): request fields are written before
 * the push's write barrier publishes req_prod; the push's full barrier
 * orders req_prod before the req_event read. Responses are read only after
 * rsp_prod (read barrier), and each is copied out of the ring before its
 * slot is reused for a re-posted RX request.
 */
#include "netfront.h"

#include "netfront.h"

#define BROKEN_CLOSE_NS 100000000ull /* how long close waits for a broken backend */

/* ---- the network device ---- */

enum { TX_FREE = 0, TX_INFLIGHT, TX_BUSY /* backend still maps the grant: out of circulation */ };

struct nf_tx_shadow {
    struct netdev_pkt *p;
    grant_ref_t gref;
    uint32_t seq; /* submission order, for a resubmission in the same order */
    uint8_t state;
};

struct nf_rxbuf {
    void *page;
    grant_ref_t gref; /* read-write to the backend for the connection's lifetime */
    uint8_t granted;
    uint8_t posted; /* an RX request for it is on the ring */
};

struct netfront;

/* One queue's bookkeeping (its rings are in c.q[index]): Linux's struct netfront_queue. */
struct nf_queue {
    struct netfront *nf;
    unsigned index;
    struct nf_tx_shadow tx[NET_TX_RING_SIZE];
    uint16_t tx_free[NET_TX_RING_SIZE];
    unsigned tx_nfree, tx_unpushed;
    struct nf_rxbuf rxb[NET_RX_RING_SIZE];
    uint16_t rx_slot[NET_RX_RING_SIZE]; /* buffer posted at ring index i % size */
    unsigned rx_unpushed;
    uint8_t rx_extra; /* the next RX slot is a netif_extra_info */
    uint8_t rx_more;  /* the next RX response continues a skipped frame */
    unsigned long tx_frames, rx_frames;
};

struct netfront {
    struct netdev dev;
    struct netif_conn c;
    struct nf_queue q[NETIF_MAX_QUEUES];
    unsigned nrx;         /* receive buffers per queue */
    unsigned want_queues; /* what we ask for (Linux's xennet_max_queues) */
    uint32_t tx_seq;
    int broken;
    char bepath[160]; /* the backend's state node we watch (a driver domain's) */
    unsigned reconnects;
    unsigned long resubmitted, reposted;
    /* statistics */
    unsigned long tx_errors, tx_unknown, tx_busy, rx_errors, rx_unknown;
    char name[16];
};

static netif_tx_front_ring_t *txr(struct nf_queue *q)
{
    return &q->nf->c.q[q->index].tx;
}

static netif_rx_front_ring_t *rxr(struct nf_queue *q)
{
    return &q->nf->c.q[q->index].rx;
}

static void queue_reset(struct nf_queue *q)
{
    q->tx_nfree = NET_TX_RING_SIZE;
    for (unsigned i = 0; i < NET_TX_RING_SIZE; i++) {
        q->tx_free[i] = (uint16_t)(NET_TX_RING_SIZE - 1 - i);
        q->tx[i].state = TX_FREE;
        q->tx[i].p = NULL;
    }
    q->tx_unpushed = q->rx_unpushed = 0;
    q->rx_extra = q->rx_more = 0;
}

/* Queue buffer b's RX request (the same page and grant every time). */
static void rx_post(struct nf_queue *q, unsigned b)
{
    netif_rx_front_ring_t *ring = rxr(q);
    if (RING_FULL(ring)) { /* cannot happen: one re-post per consumed slot */
        q->nf->rx_errors++;
        return;
    }
    RING_IDX i = ring->req_prod_pvt;
    netif_rx_request_t *req = RING_GET_REQUEST(ring, i);
    req->id = (uint16_t)b;
    req->pad = 0;
    req->gref = q->rxb[b].gref;
    q->rx_slot[i % NET_RX_RING_SIZE] = (uint16_t)b;
    q->rxb[b].posted = 1;
    ring->req_prod_pvt = i + 1;
    q->rx_unpushed++;
}

/* Publish the queued RX requests: whether the backend wants a notify. */
static int rx_push(struct nf_queue *q)
{
    int notify = 0;
    if (q->rx_unpushed) {
        RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(rxr(q), notify);
        q->rx_unpushed = 0;
    }
    return notify;
}

/* End a transmit's grant and take its packet off the shadow; NULL if it was not in flight. */
static struct netdev_pkt *tx_release(struct nf_queue *q, unsigned id)
{
    struct nf_tx_shadow *s = &q->tx[id];
    struct netdev_pkt *p = s->p;
    s->p = NULL;
    if (gnttab_end_access(s->gref)) {
        s->state = TX_BUSY; /* the backend still maps it: never reuse this gref or slot */
        q->nf->tx_busy++;
    } else {
        s->state = TX_FREE;
        q->tx_free[q->tx_nfree++] = (uint16_t)id;
    }
    return p;
}

/* End a transmit's grant and complete it; upcall context (or program context at teardown). */
static void tx_finish(struct nf_queue *q, unsigned id, int16_t status)
{
    struct netfront *nf = q->nf;
    struct netdev_pkt *p = tx_release(q, id);
    if (status != NETIF_RSP_OKAY)
        nf->tx_errors++;
    p->proto_status = status;
    p->status = status == NETIF_RSP_OKAY ? 0 : -XEN_EIO;
    uint64_t req;
    if (netdev_tx_ends_request(p->data, p->len, &req))
        trace_hop(HOP_H8, req);
    p->done(p);
    q->tx_frames++;
    nf->dev.tx_completions++;
}

/* The backend broke the protocol: stop using the rings, fail the transmits in flight. */
static void nf_break(struct netfront *nf, const char *why, unsigned a, unsigned b)
{
    printf("netfront: %s: %s (%u, %u): device disabled\n", nf->name, why, a, b);
    nf->broken = 1;
    for (unsigned k = 0; k < nf->c.nq; k++)
        for (unsigned id = 0; id < NET_TX_RING_SIZE; id++)
            if (nf->q[k].tx[id].state == TX_INFLIGHT)
                tx_finish(&nf->q[k], id, NETIF_RSP_ERROR);
}

/* More responses than requests outstanding (<= RING_SIZE): only a broken backend does that. */
#define RSP_PROD_BAD(r, rp)                                                                        \
    ((RING_IDX)((rp) - (r)->rsp_cons) > (RING_IDX)((r)->req_prod_pvt - (r)->rsp_cons))

static void tx_responses(struct nf_queue *q)
{
    struct netfront *nf = q->nf;
    netif_tx_front_ring_t *ring = txr(q);
    int more;
    do {
        RING_IDX rp = READ_ONCE(ring->sring->rsp_prod);
        rmb(); /* responses after rsp_prod */
        if (RSP_PROD_BAD(ring, rp)) {
            nf_break(nf, "TX responses beyond the requests posted", rp - ring->rsp_cons,
                     ring->req_prod_pvt - ring->rsp_cons);
            return;
        }
        for (RING_IDX i = ring->rsp_cons; i != rp; i++) {
            netif_tx_response_t rsp = READ_ONCE(*RING_GET_RESPONSE(ring, i));
            ring->rsp_cons = i + 1;
            if (rsp.status == NETIF_RSP_NULL) { /* only follows an extra_info we never send */
                nf->tx_unknown++;
                continue;
            }
            if (rsp.id >= NET_TX_RING_SIZE) {
                nf_break(nf, "TX response id out of range", rsp.id, NET_TX_RING_SIZE);
                return;
            }
            if (q->tx[rsp.id].state != TX_INFLIGHT) {
                nf->tx_unknown++;
                continue;
            }
            tx_finish(q, rsp.id, rsp.status);
        }
        RING_FINAL_CHECK_FOR_RESPONSES(ring, more);
    } while (more);
}

/* A good frame in buffer b: hand it over (H8, SPAN_RING_GET). */
static void rx_deliver(struct nf_queue *q, unsigned b, unsigned off, unsigned len)
{
    struct netdev *d = &q->nf->dev;
    const uint8_t *frame = (const uint8_t *)q->rxb[b].page + off;
    uint64_t req = hopsim_pkt_req(frame, len);
    if (req) {
        trace_hop(HOP_H8, req);
        trace_begin(SPAN_RING_GET, req);
    }
    q->rx_frames++;
    if (d->rx) {
        d->rx(d, frame, len);
        d->rx_frames++;
    } else {
        d->rx_dropped++;
    }
    if (req)
        trace_end(SPAN_RING_GET, req);
}

/* RX ring slot i, copied out of the ring before anything is re-posted over it. */
static void rx_one(struct nf_queue *q, RING_IDX i)
{
    struct netfront *nf = q->nf;
    netif_rx_front_ring_t *ring = rxr(q);
    if (q->rx_extra) {
        /*
         * A netif_extra_info overlays the response; it has no id: its slot's
         * request was consumed for it, so that slot's buffer comes back.
         */
        const volatile uint8_t *x = (const volatile uint8_t *)RING_GET_RESPONSE(ring, i);
        uint8_t flags = x[offsetof(netif_extra_info_t, flags)];
        ring->rsp_cons = i + 1;
        q->rx_extra = (flags & XEN_NETIF_EXTRA_FLAG_MORE) != 0;
        unsigned b = q->rx_slot[i % NET_RX_RING_SIZE];
        if (q->rxb[b].posted) {
            q->rxb[b].posted = 0;
            rx_post(q, b);
        }
        return;
    }
    netif_rx_response_t rsp = READ_ONCE(*RING_GET_RESPONSE(ring, i));
    ring->rsp_cons = i + 1;
    if (rsp.id >= nf->nrx) {
        nf_break(nf, "RX response id out of range", rsp.id, nf->nrx);
        return;
    }
    struct nf_rxbuf *buf = &q->rxb[rsp.id];
    if (!buf->posted) { /* a second response for one request */
        nf->rx_unknown++;
        return;
    }
    buf->posted = 0;
    if (q->rx_more) { /* a later fragment of a frame already skipped */
        q->rx_more = (rsp.flags & NETRXF_more_data) != 0;
    } else if (rsp.flags & (NETRXF_more_data | NETRXF_extra_info)) {
        /* not negotiated (no feature-sg, no GSO): skip the frame and its extras */
        nf->rx_errors++;
        q->rx_more = (rsp.flags & NETRXF_more_data) != 0;
        q->rx_extra = (rsp.flags & NETRXF_extra_info) != 0;
    } else if (rsp.status <= 0) {
        nf->rx_errors++;
    } else {
        unsigned len = (unsigned)rsp.status, off = rsp.offset;
        if (len < HOPSIM_ETH_HLEN || off + len > PAGE_SIZE)
            nf->rx_errors++;
        else
            rx_deliver(q, rsp.id, off, len);
    }
    rx_post(q, rsp.id);
}

static void rx_responses(struct nf_queue *q)
{
    struct netfront *nf = q->nf;
    netif_rx_front_ring_t *ring = rxr(q);
    int more;
    do {
        RING_IDX rp = READ_ONCE(ring->sring->rsp_prod);
        rmb(); /* responses after rsp_prod */
        if (RSP_PROD_BAD(ring, rp)) {
            nf_break(nf, "RX responses beyond the requests posted", rp - ring->rsp_cons,
                     ring->req_prod_pvt - ring->rsp_cons);
            return;
        }
        for (RING_IDX i = ring->rsp_cons; i != rp; i++) {
            rx_one(q, i);
            if (nf->broken)
                return;
        }
        RING_FINAL_CHECK_FOR_RESPONSES(ring, more);
    } while (more);
}

/*
 * Upcall context: a queue's channel. Shared, it serves both rings (TX
 * first); split, the TX channel serves the TX ring (Linux's
 * xennet_tx_interrupt) and the RX channel the RX ring (xennet_rx_interrupt).
 */
static void nf_event(evtchn_port_t port, void *data)
{
    struct netfront *nf = data;
    unsigned k = 0;
    while (k < nf->c.nq && nf->c.q[k].tx_port != port && nf->c.q[k].rx_port != port)
        k++;
    if (nf->broken || k == nf->c.nq)
        return;
    struct nf_queue *q = &nf->q[k];
    const struct netif_queue *cq = &nf->c.q[k];
    if (port == cq->tx_port)
        tx_responses(q);
    if (nf->broken || port != cq->rx_port)
        return;
    rx_responses(q);
    if (nf->broken)
        return;
    /* re-posted buffers: one push, one notify if the backend asked (req_event) */
    if (rx_push(q))
        evtchn_send(cq->rx_port);
}

/* The queue for p: Linux's xennet_select_queue, the flow hash modulo the queues. */
static struct nf_queue *select_queue(struct netfront *nf, const struct netdev_pkt *p)
{
    if (nf->c.nq == 1)
        return &nf->q[0];
    return &nf->q[hopsim_pkt_flow_hash(p->data, p->len) % nf->c.nq];
}

static int nf_xmit_locked(struct netfront *nf, struct netdev_pkt *p, uint64_t req)
{
    struct nf_queue *q = select_queue(nf, p);
    netif_tx_front_ring_t *ring = txr(q);
    if (nf->broken)
        return -XEN_EIO;
    if (!q->tx_nfree || RING_FULL(ring))
        return -XEN_EAGAIN;
    if (req) {
        /* H2 begins with putting the request on the ring (granting its page included) */
        trace_hop_ring(HOP_H2, req, nf->c.q[q - nf->q].tx_port);
        trace_begin(SPAN_RING_PUT, req);
    }
    int rc = 0;
    int ref = gnttab_grant_access(nf->c.be, virt_to_pfn(p->data), 1);
    if (ref < 0) {
        rc = -XEN_EAGAIN; /* out of grant refs until completions return some */
    } else {
        unsigned id = q->tx_free[--q->tx_nfree];
        q->tx[id] = (struct nf_tx_shadow){
            .p = p, .gref = (grant_ref_t)ref, .seq = nf->tx_seq++, .state = TX_INFLIGHT};
        netif_tx_request_t *r = RING_GET_REQUEST(ring, ring->req_prod_pvt);
        r->gref = (grant_ref_t)ref;
        r->offset = (uint16_t)((unsigned long)p->data & (PAGE_SIZE - 1));
        r->flags = 0; /* a complete frame: no checksum offload, no fragments, no extras */
        r->id = (uint16_t)id;
        r->size = p->len;
        ring->req_prod_pvt++;
        q->tx_unpushed++;
    }
    if (req)
        trace_end(SPAN_RING_PUT, req);
    return rc;
}

static int nf_xmit(struct netdev *d, struct netdev_pkt *p)
{
    struct netfront *nf = (struct netfront *)d;
    int rc = netdev_check(d, p);
    if (rc)
        return rc;
    uint64_t req = hopsim_pkt_req(p->data, p->len);
    int f = irq_save();
    rc = nf_xmit_locked(nf, p, req);
    irq_restore(f);
    return rc;
}

static void nf_kick(struct netdev *d)
{
    struct netfront *nf = (struct netfront *)d;
    for (unsigned k = 0; k < nf->c.nq; k++) {
        int f = irq_save(), notify = 0;
        if (nf->q[k].tx_unpushed && !nf->broken) {
            RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&nf->c.q[k].tx, notify);
            nf->q[k].tx_unpushed = 0;
        }
        irq_restore(f);
        if (notify)
            evtchn_send(nf->c.q[k].tx_port);
    }
}

/* End every receive buffer's grant; free the pages too when `free_pages`. Returns grants leaked. */
static unsigned rx_revoke(struct netfront *nf, int free_pages)
{
    unsigned leaked = 0;
    for (unsigned k = 0; k < NETIF_MAX_QUEUES; k++) {
        for (unsigned b = 0; b < NET_RX_RING_SIZE; b++) {
            struct nf_rxbuf *buf = &nf->q[k].rxb[b];
            if (!buf->page)
                continue;
            if (buf->granted && gnttab_end_access(buf->gref)) {
                leaked++;
                *buf = (struct nf_rxbuf){0}; /* still the backend's: the page is lost */
                continue;
            }
            buf->granted = buf->posted = 0;
            if (free_pages) {
                page_free(buf->page, 1);
                buf->page = NULL;
            }
        }
    }
    return leaked;
}

/* netif_close's revoke step (the event channels are unbound): end the data grants. */
static void nf_revoke(void *data)
{
    struct netfront *nf = data;
    unsigned leaked = rx_revoke(nf, 1);
    for (unsigned k = 0; k < NETIF_MAX_QUEUES; k++) {
        for (unsigned id = 0; id < NET_TX_RING_SIZE; id++) {
            struct nf_tx_shadow *s = &nf->q[k].tx[id];
            if (s->state == TX_FREE)
                continue;
            if (s->state == TX_INFLIGHT)
                printf("netfront: %s: transmit %u still in flight at close\n", nf->name, id);
            if (gnttab_end_access(s->gref))
                leaked++;
            else
                s->state = TX_FREE;
        }
    }
    if (leaked)
        printf("netfront: %s: %u grants still mapped by the backend at close: leaked\n", nf->name,
               leaked);
}

/*
 * Grant the receive buffers of every queue to the backend (allocating
 * the pages the first time) and post them: 0, or a negative Xen errno.
 * Program context, event delivery off for the posting.
 */
static int rx_setup(struct netfront *nf)
{
    for (unsigned k = 0; k < nf->c.nq; k++) {
        struct nf_queue *q = &nf->q[k];
        for (unsigned b = 0; b < nf->nrx; b++) {
            struct nf_rxbuf *buf = &q->rxb[b];
            if (!buf->page && !(buf->page = page_alloc(1)))
                return -XEN_ENOMEM;
            int ref = gnttab_grant_access(nf->c.be, virt_to_pfn(buf->page), 0);
            if (ref < 0)
                return -XEN_ENOSPC;
            buf->gref = (grant_ref_t)ref;
            buf->granted = 1;
        }
    }
    for (unsigned k = 0; k < nf->c.nq; k++) {
        struct nf_queue *q = &nf->q[k];
        int f = irq_save();
        for (unsigned b = 0; b < nf->nrx; b++)
            rx_post(q, b);
        int notify = nf->broken ? 0 : rx_push(q);
        irq_restore(f);
        if (notify)
            evtchn_send(nf->c.q[k].rx_port);
    }
    return 0;
}

/* ---- the backend went away: reconnect, resubmit, repost ---- */

/*
 * Only a driver domain's backend is watched, as blkfront does: a backend
 * in dom0 (or the privileged runtime service, domid 0) never comes back.
 */
static void watch_backend(struct netfront *nf)
{
    nf->bepath[0] = 0;
    if (nf->c.be == 0)
        return;
    snprintf(nf->bepath, sizeof(nf->bepath), "%s/state", nf->c.xb.otherend);
    xs_watch(nf->bepath, "nfstate");
}

static void unwatch_backend(struct netfront *nf)
{
    if (nf->bepath[0])
        xs_unwatch(nf->bepath, "nfstate");
    nf->bepath[0] = 0;
}

static int nf_attention(struct netdev *d)
{
    struct netfront *nf = (struct netfront *)d;
    return nf->bepath[0] && xs_poll_watch("nfstate", NULL, 0);
}

#define NF_MAX_PENDING (NETIF_MAX_QUEUES * NET_TX_RING_SIZE)

/* The transmits in flight, in submission order, taken off the rings with their grants ended. */
static unsigned take_inflight(struct netfront *nf, struct netdev_pkt **out)
{
    static uint32_t seq[NF_MAX_PENDING];
    unsigned n = 0;
    for (unsigned k = 0; k < nf->c.nq; k++) {
        struct nf_queue *q = &nf->q[k];
        for (unsigned id = 0; id < NET_TX_RING_SIZE; id++) {
            if (q->tx[id].state != TX_INFLIGHT)
                continue;
            uint32_t s = q->tx[id].seq;
            struct netdev_pkt *p = tx_release(q, id);
            unsigned i = n++;
            for (; i > 0 && (int32_t)(seq[i - 1] - s) > 0; i--) {
                seq[i] = seq[i - 1];
                out[i] = out[i - 1];
            }
            seq[i] = s;
            out[i] = p;
        }
    }
    return n;
}

static void wait_readded(struct netfront *nf)
{
    char path[192];
    snprintf(path, sizeof(path), "%s/state", nf->c.xb.nodename);
    xs_watch(path, "nfreadd");
    while (xenbus_read_state(nf->c.xb.nodename) != XenbusStateInitialising)
        xs_wait_watch("nfreadd", NULL, 0);
    xs_unwatch(path, "nfreadd");
}

/*
 * Program context, after attention(): the backend's state changed. If it
 * is Closing, Closed or gone (its driver domain crashed and the toolstack
 * marked the device Closed), do what Linux's netfront_resume /
 * xennet_disconnect_backend + talk_to_netback do -- take the responses it
 * posted, end every grant it had (rings, receive buffers, transmits in
 * flight), close, wait until the toolstack re-adds the device (our state
 * back to Initialising, a new backend named), connect to the new backend
 * (the queues it offers now), re-grant and repost the receive buffers --
 * and, where Linux drops the transmits that were in flight (TCP
 * retransmits them), resubmit them in their order, each counted.
 */
static void nf_service(struct netdev *d)
{
    static struct netdev_pkt *pending[NF_MAX_PENDING];
    struct netfront *nf = (struct netfront *)d;
    int st = xenbus_read_state(nf->c.xb.otherend);
    if (st != XenbusStateUnknown && st < XenbusStateClosing)
        return; /* a transition of a live backend: nothing to do */
    unwatch_backend(nf);
    int f = irq_save();
    for (unsigned k = 0; k < nf->c.nq && !nf->broken; k++) {
        tx_responses(&nf->q[k]); /* what it answered before it went */
        if (!nf->broken)
            rx_responses(&nf->q[k]);
    }
    unsigned n = take_inflight(nf, pending);
    irq_restore(f);
    unsigned old = nf->c.be, oldq = nf->c.nq;
    printf("netfront: %s: backend dom%u gone (state %d) with %u transmits in flight\n", nf->name,
           old, st, n);
    netif_unbind(&nf->c);
    unsigned leaked = rx_revoke(nf, 0);
    if (leaked)
        printf("netfront: %s: %u receive buffers still mapped by the old backend: leaked\n",
               nf->name, leaked);
    netif_free_rings(&nf->c);
    xenbus_switch_state(nf->c.xb.nodename, XenbusStateClosing);
    xenbus_switch_state(nf->c.xb.nodename, XenbusStateClosed);
    wait_readded(nf);
    for (unsigned k = 0; k < NETIF_MAX_QUEUES; k++)
        queue_reset(&nf->q[k]);
    int rc = netif_connect(&nf->c, nf->c.xb.devid, nf->want_queues, nf_event, nf);
    if (!rc)
        rc = rx_setup(nf);
    if (rc) {
        printf("netfront: %s: cannot reconnect (%d): %u transmits fail\n", nf->name, rc, n);
        nf->broken = 1;
        for (unsigned i = 0; i < n; i++) {
            pending[i]->proto_status = NETIF_RSP_ERROR;
            pending[i]->status = -XEN_EIO;
            pending[i]->done(pending[i]);
            d->tx_completions++;
        }
        return;
    }
    f = irq_save();
    unsigned again = 0;
    for (unsigned i = 0; i < n; i++) {
        uint64_t req = hopsim_pkt_req(pending[i]->data, pending[i]->len);
        if (!nf_xmit_locked(nf, pending[i], req)) {
            again++;
            continue;
        }
        printf("netfront: %s: transmit of request 0x%llx could not be resubmitted\n", nf->name,
               (unsigned long long)req);
        pending[i]->proto_status = NETIF_RSP_ERROR;
        pending[i]->status = -XEN_EIO;
        pending[i]->done(pending[i]);
        d->tx_completions++;
    }
    irq_restore(f);
    nf_kick(d);
    nf->resubmitted += again;
    nf->reposted += (unsigned long)nf->c.nq * nf->nrx;
    nf->reconnects++;
    watch_backend(nf);
    printf("netfront: %s: reconnected to backend dom%u (was dom%u), %u queue%s (was %u): %u "
           "transmits resubmitted, %u receive buffers reposted\n",
           nf->name, nf->c.be, old, nf->c.nq, nf->c.nq == 1 ? "" : "s", oldq, again,
           nf->c.nq * nf->nrx);
}

static void nf_close(struct netdev *d)
{
    struct netfront *nf = (struct netfront *)d;
    unwatch_backend(nf);
    int st = netif_close(&nf->c, nf_revoke, nf, nf->broken ? BROKEN_CLOSE_NS : 0);
    char per_queue[96] = "";
    for (unsigned k = 0; k < nf->c.nq; k++) {
        size_t n = strlen(per_queue);
        snprintf(per_queue + n, sizeof(per_queue) - n, "%s%lu", k ? "," : "",
                 nf->q[k].tx_frames + nf->q[k].rx_frames);
    }
    printf("netfront: %s closed (backend state %d): tx %lu, rx %lu, errors tx %lu rx %lu, "
           "dropped %lu, unknown responses %lu, busy tx grants %lu%s; %u queue%s (frames per "
           "queue %s)",
           nf->name, st, nf->dev.tx_completions, nf->dev.rx_frames, nf->tx_errors, nf->rx_errors,
           nf->dev.rx_dropped, nf->tx_unknown + nf->rx_unknown, nf->tx_busy,
           nf->broken ? ", backend broken" : "", nf->c.nq, nf->c.nq == 1 ? "" : "s", per_queue);
    if (nf->reconnects)
        printf("; %u reconnects, %lu transmits resubmitted, %lu receive buffers reposted",
               nf->reconnects, nf->resubmitted, nf->reposted);
    printf("\n");
    free(nf);
}

static const struct netdev_ops nf_ops = {
    .xmit = nf_xmit,
    .kick = nf_kick,
    .close = nf_close,
    .attention = nf_attention,
    .service = nf_service,
};

struct netdev *netfront_open(int devid, unsigned rx_bufs, unsigned queues)
{
    if (rx_bufs < 1 || rx_bufs > NET_RX_RING_SIZE) {
        printf("netfront: %u receive buffers: 1..%u\n", rx_bufs, (unsigned)NET_RX_RING_SIZE);
        return NULL;
    }
    if (queues < 1 || queues > NETIF_MAX_QUEUES) {
        printf("netfront: queues=%u: expected 1..%d\n", queues, NETIF_MAX_QUEUES);
        return NULL;
    }
    struct netfront *nf = calloc(1, sizeof(*nf));
    if (!nf)
        return NULL;
    for (unsigned k = 0; k < NETIF_MAX_QUEUES; k++) {
        nf->q[k].nf = nf;
        nf->q[k].index = k;
        queue_reset(&nf->q[k]);
    }
    nf->nrx = rx_bufs;
    nf->want_queues = queues;
    strlcpy(nf->name, "vif", sizeof(nf->name));
    if (netif_connect(&nf->c, devid, queues, nf_event, nf)) {
        free(nf);
        return NULL;
    }
    snprintf(nf->name, sizeof(nf->name), "vif%d", nf->c.xb.devid);
    nf->dev = (struct netdev){
        .name = nf->name,
        .mtu = 1500,
        .max_tx_inflight = NET_TX_RING_SIZE,
        .ops = &nf_ops,
    };
    memcpy(nf->dev.mac, nf->c.mac, 6);
    int rc = rx_setup(nf);
    if (rc) {
        printf("netfront: %s: cannot set up %u receive buffers: %d\n", nf->name, rx_bufs, rc);
        netif_close(&nf->c, nf_revoke, nf, 0);
        free(nf);
        return NULL;
    }
    watch_backend(nf);
    const uint8_t *m = nf->c.mac;
    printf("netfront: %s: mac %02x:%02x:%02x:%02x:%02x:%02x, backend dom%u, %u receive buffers, "
           "%u queue%s%s\n",
           nf->name, m[0], m[1], m[2], m[3], m[4], m[5], nf->c.be, rx_bufs, nf->c.nq,
           nf->c.nq == 1 ? "" : "s", nf->c.split ? ", split event channels" : "");
    return &nf->dev;
}
