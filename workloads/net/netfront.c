/*
 * netfront: the Xen network frontend (see netfront.h for the handshake).
 *
 * One event channel serves both rings, as in Linux's xen-netfront without
 * split event channels.
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
 * Receive. netfront_open() grants `rx_bufs` pages of our RAM read-write to
 * the backend once, for the connection's lifetime, and posts each as an RX
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
 * Memory ordering (io/ring.h, x86 TSO): request fields are written before
 * the push's write barrier publishes req_prod; the push's full barrier
 * orders req_prod before the req_event read. Responses are read only after
 * rsp_prod (read barrier), and each is copied out of the ring before its
 * slot is reused for a re-posted RX request.
 */
#include "netfront.h"

#define POLL_NS 100000ull
#define BROKEN_CLOSE_NS 100000000ull /* how long close waits for a broken backend */

/* ---- connection ---- */

static int read_mac(struct netif_conn *c)
{
    char path[192], buf[32];
    snprintf(path, sizeof(path), "%s/mac", c->xb.nodename);
    int n = xs_read(XBT_NIL, path, buf, sizeof(buf));
    if (n < 0) {
        printf("netfront: cannot read %s: %d\n", path, n);
        return n;
    }
    if (mac_parse(buf, c->mac)) {
        printf("netfront: %s is '%s', not a MAC address (xx:xx:xx:xx:xx:xx)\n", path, buf);
        return -XEN_EINVAL;
    }
    return 0;
}

static int publish(struct netif_conn *c)
{
    char tx[16], rx[16], port[16];
    snprintf(tx, sizeof(tx), "%d", c->tx_ref);
    snprintf(rx, sizeof(rx), "%d", c->rx_ref);
    snprintf(port, sizeof(port), "%u", c->port);
    const struct xs_pair keys[] = {{"tx-ring-ref", tx},        {"rx-ring-ref", rx},
                                   {"event-channel", port},    {"request-rx-copy", "1"},
                                   {"feature-rx-notify", "1"}, {"feature-sg", "0"},
                                   {"feature-gso-tcpv4", "0"}};
    return xs_write_all(c->xb.nodename, keys, ARRAY_SIZE(keys));
}

/* Grant one zeroed ring page read-write to the backend: the page, or NULL. */
static void *ring_page(struct netif_conn *c, int *ref)
{
    void *page = page_zalloc(1);
    if (!page)
        return NULL;
    *ref = gnttab_grant_access(c->be, virt_to_pfn(page), 0);
    if (*ref < 0) {
        page_free(page, 1);
        return NULL;
    }
    return page;
}

static int setup_rings(struct netif_conn *c, evtchn_handler_t fn, void *data)
{
    c->txs = ring_page(c, &c->tx_ref);
    if (!c->txs)
        return -XEN_ENOMEM;
    SHARED_RING_INIT(c->txs);
    FRONT_RING_INIT(&c->tx, c->txs, PAGE_SIZE);
    c->rxs = ring_page(c, &c->rx_ref);
    if (!c->rxs)
        return -XEN_ENOMEM;
    SHARED_RING_INIT(c->rxs);
    FRONT_RING_INIT(&c->rx, c->rxs, PAGE_SIZE);
    int rc = evtchn_alloc_unbound(c->be, &c->port);
    if (rc) {
        c->port = 0;
        return rc;
    }
    return evtchn_attach(c->port, fn, data);
}

/* End a ring page's grant and free it; a page the backend still maps is leaked. */
static void free_ring(void *page, int *ref)
{
    if (*ref < 0)
        return;
    int rc = gnttab_end_access((grant_ref_t)*ref);
    if (rc)
        printf("netfront: ring grant %d still mapped by the backend (%d): page leaked\n", *ref, rc);
    else
        page_free(page, 1);
    *ref = -1;
}

/* Undo a partial netif_connect: event channel, ring grants, and tell the backend we gave up. */
static void undo_connect(struct netif_conn *c)
{
    if (c->port) {
        evtchn_unbind(c->port);
        c->port = 0;
    }
    free_ring(c->txs, &c->tx_ref);
    free_ring(c->rxs, &c->rx_ref);
    c->txs = NULL;
    c->rxs = NULL;
    xenbus_switch_state(c->xb.nodename, XenbusStateClosed);
}

int netif_connect(struct netif_conn *c, int devid, evtchn_handler_t fn, void *data)
{
    *c = (struct netif_conn){.tx_ref = -1, .rx_ref = -1};
    if (devid < 0 && (devid = xenbus_frontend_lowest("vif")) < 0) {
        printf("netfront: no vif in xenstore: %d\n", devid);
        return devid;
    }
    int rc = xenbus_frontend_device("vif", devid, &c->xb);
    if (rc < 0) {
        printf("netfront: no vif %d in xenstore: %d\n", devid, rc);
        return rc;
    }
    c->be = (domid_t)c->xb.otherend_id;
    rc = read_mac(c);
    if (rc)
        goto fail;
    int st = xenbus_wait_state(c->xb.otherend, XenbusStateInitWait);
    if (st != XenbusStateInitWait && st != XenbusStateConnected) {
        printf("netfront: backend %s in state %d, not InitWait\n", c->xb.otherend, st);
        rc = st < 0 ? st : -XEN_EIO;
        goto fail;
    }
    if (xs_read_long(c->xb.otherend, "feature-rx-copy", 0) != 1) {
        printf("netfront: backend %s does not offer feature-rx-copy\n", c->xb.otherend);
        rc = -XEN_EOPNOTSUPP;
        goto fail;
    }
    rc = setup_rings(c, fn, data);
    if (!rc)
        rc = publish(c);
    if (!rc)
        rc = xenbus_switch_state(c->xb.nodename, XenbusStateConnected);
    if (rc) {
        printf("netfront: rings, event channel or xenstore set-up failed: %d\n", rc);
        goto fail;
    }
    st = xenbus_wait_state(c->xb.otherend, XenbusStateConnected);
    if (st != XenbusStateConnected) {
        printf("netfront: backend went to state %d instead of Connected\n", st);
        rc = st < 0 ? st : -XEN_EIO;
        goto fail;
    }
    return 0;
fail:
    undo_connect(c);
    return rc;
}

/* Wait until the backend's state is >= state or timeout_ns passes (0: no limit). */
static int wait_backend(struct netif_conn *c, XenbusState state, uint64_t timeout_ns)
{
    if (!timeout_ns)
        return xenbus_wait_state(c->xb.otherend, state);
    char path[192];
    snprintf(path, sizeof(path), "%s/state", c->xb.otherend);
    xs_watch(path, "nbkstate");
    uint64_t deadline = time_now_ns() + timeout_ns;
    int st;
    while ((st = xenbus_read_state(c->xb.otherend)) < (int)state && time_now_ns() < deadline)
        while (!xs_poll_watch("nbkstate", NULL, 0) && time_now_ns() < deadline)
            sleep_ns(POLL_NS);
    xs_unwatch(path, "nbkstate");
    return st;
}

int netif_close(struct netif_conn *c, void (*revoke)(void *data), void *data, uint64_t timeout_ns)
{
    xenbus_switch_state(c->xb.nodename, XenbusStateClosing);
    int st = wait_backend(c, XenbusStateClosing, timeout_ns);
    evtchn_unbind(c->port);
    c->port = 0;
    if (revoke)
        revoke(data);
    free_ring(c->txs, &c->tx_ref);
    free_ring(c->rxs, &c->rx_ref);
    c->txs = NULL;
    c->rxs = NULL;
    xenbus_switch_state(c->xb.nodename, XenbusStateClosed);
    if (st < XenbusStateClosed)
        st = wait_backend(c, XenbusStateClosed, timeout_ns);
    return st;
}

/* ---- the network device ---- */

enum { TX_FREE = 0, TX_INFLIGHT, TX_BUSY /* backend still maps the grant: out of circulation */ };

struct nf_tx_shadow {
    struct netdev_pkt *p;
    grant_ref_t gref;
    uint8_t state;
};

struct nf_rxbuf {
    void *page;
    grant_ref_t gref; /* read-write to the backend for the connection's lifetime */
    uint8_t granted;
    uint8_t posted; /* an RX request for it is on the ring */
};

struct netfront {
    struct netdev dev;
    struct netif_conn c;
    struct nf_tx_shadow tx[NET_TX_RING_SIZE];
    uint16_t tx_free[NET_TX_RING_SIZE];
    unsigned tx_nfree, tx_unpushed;
    struct nf_rxbuf rxb[NET_RX_RING_SIZE];
    uint16_t rx_slot[NET_RX_RING_SIZE]; /* buffer posted at ring index i % size */
    unsigned nrx, rx_unpushed;
    uint8_t rx_extra; /* the next RX slot is a netif_extra_info */
    uint8_t rx_more;  /* the next RX response continues a skipped frame */
    int broken;
    /* statistics */
    unsigned long tx_errors, tx_unknown, tx_busy, rx_errors, rx_unknown;
    char name[16];
};

/* Queue buffer b's RX request (the same page and grant every time). */
static void rx_post(struct netfront *nf, unsigned b)
{
    netif_rx_front_ring_t *ring = &nf->c.rx;
    if (RING_FULL(ring)) { /* cannot happen: one re-post per consumed slot */
        nf->rx_errors++;
        return;
    }
    RING_IDX i = ring->req_prod_pvt;
    netif_rx_request_t *req = RING_GET_REQUEST(ring, i);
    req->id = (uint16_t)b;
    req->pad = 0;
    req->gref = nf->rxb[b].gref;
    nf->rx_slot[i % NET_RX_RING_SIZE] = (uint16_t)b;
    nf->rxb[b].posted = 1;
    ring->req_prod_pvt = i + 1;
    nf->rx_unpushed++;
}

/* Publish the queued RX requests: whether the backend wants a notify. */
static int rx_push(struct netfront *nf)
{
    int notify = 0;
    if (nf->rx_unpushed) {
        RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&nf->c.rx, notify);
        nf->rx_unpushed = 0;
    }
    return notify;
}

/* End a transmit's grant and complete it; upcall context (or program context at teardown). */
static void tx_finish(struct netfront *nf, unsigned id, int16_t status)
{
    struct nf_tx_shadow *s = &nf->tx[id];
    struct netdev_pkt *p = s->p;
    s->p = NULL;
    if (gnttab_end_access(s->gref)) {
        s->state = TX_BUSY; /* the backend still maps it: never reuse this gref or slot */
        nf->tx_busy++;
    } else {
        s->state = TX_FREE;
        nf->tx_free[nf->tx_nfree++] = (uint16_t)id;
    }
    if (status != NETIF_RSP_OKAY)
        nf->tx_errors++;
    p->proto_status = status;
    p->status = status == NETIF_RSP_OKAY ? 0 : -XEN_EIO;
    uint64_t req;
    if (netdev_tx_ends_request(p->data, p->len, &req))
        trace_hop(HOP_H8, req);
    p->done(p);
    nf->dev.tx_completions++;
}

/* The backend broke the protocol: stop using the rings, fail the transmits in flight. */
static void nf_break(struct netfront *nf, const char *why, unsigned a, unsigned b)
{
    printf("netfront: %s: %s (%u, %u): device disabled\n", nf->name, why, a, b);
    nf->broken = 1;
    for (unsigned id = 0; id < NET_TX_RING_SIZE; id++)
        if (nf->tx[id].state == TX_INFLIGHT)
            tx_finish(nf, id, NETIF_RSP_ERROR);
}

/* More responses than requests outstanding (<= RING_SIZE): only a broken backend does that. */
#define RSP_PROD_BAD(r, rp)                                                                        \
    ((RING_IDX)((rp) - (r)->rsp_cons) > (RING_IDX)((r)->req_prod_pvt - (r)->rsp_cons))

static void tx_responses(struct netfront *nf)
{
    netif_tx_front_ring_t *ring = &nf->c.tx;
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
            if (nf->tx[rsp.id].state != TX_INFLIGHT) {
                nf->tx_unknown++;
                continue;
            }
            tx_finish(nf, rsp.id, rsp.status);
        }
        RING_FINAL_CHECK_FOR_RESPONSES(ring, more);
    } while (more);
}

/* A good frame in buffer b: hand it over (H8, SPAN_RING_GET). */
static void rx_deliver(struct netfront *nf, unsigned b, unsigned off, unsigned len)
{
    struct netdev *d = &nf->dev;
    const uint8_t *frame = (const uint8_t *)nf->rxb[b].page + off;
    uint64_t req = hopsim_pkt_req(frame, len);
    if (req) {
        trace_hop(HOP_H8, req);
        trace_begin(SPAN_RING_GET, req);
    }
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
static void rx_one(struct netfront *nf, RING_IDX i)
{
    netif_rx_front_ring_t *ring = &nf->c.rx;
    if (nf->rx_extra) {
        /*
         * A netif_extra_info overlays the response; it has no id: its slot's
         * request was consumed for it, so that slot's buffer comes back.
         */
        const volatile uint8_t *x = (const volatile uint8_t *)RING_GET_RESPONSE(ring, i);
        uint8_t flags = x[offsetof(netif_extra_info_t, flags)];
        ring->rsp_cons = i + 1;
        nf->rx_extra = (flags & XEN_NETIF_EXTRA_FLAG_MORE) != 0;
        unsigned b = nf->rx_slot[i % NET_RX_RING_SIZE];
        if (nf->rxb[b].posted) {
            nf->rxb[b].posted = 0;
            rx_post(nf, b);
        }
        return;
    }
    netif_rx_response_t rsp = READ_ONCE(*RING_GET_RESPONSE(ring, i));
    ring->rsp_cons = i + 1;
    if (rsp.id >= nf->nrx) {
        nf_break(nf, "RX response id out of range", rsp.id, nf->nrx);
        return;
    }
    struct nf_rxbuf *buf = &nf->rxb[rsp.id];
    if (!buf->posted) { /* a second response for one request */
        nf->rx_unknown++;
        return;
    }
    buf->posted = 0;
    if (nf->rx_more) { /* a later fragment of a frame already skipped */
        nf->rx_more = (rsp.flags & NETRXF_more_data) != 0;
    } else if (rsp.flags & (NETRXF_more_data | NETRXF_extra_info)) {
        /* not negotiated (no feature-sg, no GSO): skip the frame and its extras */
        nf->rx_errors++;
        nf->rx_more = (rsp.flags & NETRXF_more_data) != 0;
        nf->rx_extra = (rsp.flags & NETRXF_extra_info) != 0;
    } else if (rsp.status <= 0) {
        nf->rx_errors++;
    } else {
        unsigned len = (unsigned)rsp.status, off = rsp.offset;
        if (len < HOPSIM_ETH_HLEN || off + len > PAGE_SIZE)
            nf->rx_errors++;
        else
            rx_deliver(nf, rsp.id, off, len);
    }
    rx_post(nf, rsp.id);
}

static void rx_responses(struct netfront *nf)
{
    netif_rx_front_ring_t *ring = &nf->c.rx;
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
            rx_one(nf, i);
            if (nf->broken)
                return;
        }
        RING_FINAL_CHECK_FOR_RESPONSES(ring, more);
    } while (more);
}

/* Upcall context: both rings share the event channel. */
static void nf_event(evtchn_port_t port, void *data)
{
    (void)port;
    struct netfront *nf = data;
    if (nf->broken)
        return;
    tx_responses(nf);
    if (nf->broken)
        return;
    rx_responses(nf);
    if (nf->broken)
        return;
    /* re-posted buffers: one push, one notify if the backend asked (req_event) */
    if (rx_push(nf))
        evtchn_send(nf->c.port);
}

static int nf_xmit_locked(struct netfront *nf, struct netdev_pkt *p, uint64_t req)
{
    netif_tx_front_ring_t *ring = &nf->c.tx;
    if (nf->broken)
        return -XEN_EIO;
    if (!nf->tx_nfree || RING_FULL(ring))
        return -XEN_EAGAIN;
    if (req) {
        /* H2 begins with putting the request on the ring (granting its page included) */
        trace_hop(HOP_H2, req);
        trace_begin(SPAN_RING_PUT, req);
    }
    int rc = 0;
    int ref = gnttab_grant_access(nf->c.be, virt_to_pfn(p->data), 1);
    if (ref < 0) {
        rc = -XEN_EAGAIN; /* out of grant refs until completions return some */
    } else {
        unsigned id = nf->tx_free[--nf->tx_nfree];
        nf->tx[id] = (struct nf_tx_shadow){.p = p, .gref = (grant_ref_t)ref, .state = TX_INFLIGHT};
        netif_tx_request_t *r = RING_GET_REQUEST(ring, ring->req_prod_pvt);
        r->gref = (grant_ref_t)ref;
        r->offset = (uint16_t)((unsigned long)p->data & (PAGE_SIZE - 1));
        r->flags = 0; /* a complete frame: no checksum offload, no fragments, no extras */
        r->id = (uint16_t)id;
        r->size = p->len;
        ring->req_prod_pvt++;
        nf->tx_unpushed++;
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
    int f = irq_save(), notify = 0;
    if (nf->tx_unpushed && !nf->broken) {
        RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&nf->c.tx, notify);
        nf->tx_unpushed = 0;
    }
    irq_restore(f);
    if (notify)
        evtchn_send(nf->c.port);
}

/* netif_close's revoke step (the event channel is unbound): end the data grants. */
static void nf_revoke(void *data)
{
    struct netfront *nf = data;
    unsigned leaked = 0;
    for (unsigned b = 0; b < NET_RX_RING_SIZE; b++) {
        struct nf_rxbuf *buf = &nf->rxb[b];
        if (!buf->page)
            continue;
        if (buf->granted && gnttab_end_access(buf->gref)) {
            leaked++;
        } else {
            page_free(buf->page, 1);
        }
        *buf = (struct nf_rxbuf){0};
    }
    for (unsigned id = 0; id < NET_TX_RING_SIZE; id++) {
        struct nf_tx_shadow *s = &nf->tx[id];
        if (s->state == TX_FREE)
            continue;
        if (s->state == TX_INFLIGHT)
            printf("netfront: %s: transmit %u still in flight at close\n", nf->name, id);
        if (gnttab_end_access(s->gref))
            leaked++;
        else
            s->state = TX_FREE;
    }
    if (leaked)
        printf("netfront: %s: %u grants still mapped by the backend at close: leaked\n", nf->name,
               leaked);
}

static void nf_close(struct netdev *d)
{
    struct netfront *nf = (struct netfront *)d;
    int st = netif_close(&nf->c, nf_revoke, nf, nf->broken ? BROKEN_CLOSE_NS : 0);
    printf("netfront: %s closed (backend state %d): tx %lu, rx %lu, errors tx %lu rx %lu, "
           "dropped %lu, unknown responses %lu, busy tx grants %lu%s\n",
           nf->name, st, nf->dev.tx_completions, nf->dev.rx_frames, nf->tx_errors, nf->rx_errors,
           nf->dev.rx_dropped, nf->tx_unknown + nf->rx_unknown, nf->tx_busy,
           nf->broken ? ", backend broken" : "");
    free(nf);
}

static const struct netdev_ops nf_ops = {
    .xmit = nf_xmit,
    .kick = nf_kick,
    .close = nf_close,
};

/* Allocate and grant the receive buffers (program context, nothing posted yet). */
static int rx_setup(struct netfront *nf, unsigned n)
{
    for (unsigned b = 0; b < n; b++) {
        struct nf_rxbuf *buf = &nf->rxb[b];
        buf->page = page_alloc(1);
        if (!buf->page)
            return -XEN_ENOMEM;
        int ref = gnttab_grant_access(nf->c.be, virt_to_pfn(buf->page), 0);
        if (ref < 0)
            return -XEN_ENOSPC;
        buf->gref = (grant_ref_t)ref;
        buf->granted = 1;
    }
    return 0;
}

struct netdev *netfront_open(int devid, unsigned rx_bufs)
{
    if (rx_bufs < 1 || rx_bufs > NET_RX_RING_SIZE) {
        printf("netfront: %u receive buffers: 1..%u\n", rx_bufs, (unsigned)NET_RX_RING_SIZE);
        return NULL;
    }
    struct netfront *nf = calloc(1, sizeof(*nf));
    if (!nf)
        return NULL;
    nf->tx_nfree = NET_TX_RING_SIZE;
    for (unsigned i = 0; i < NET_TX_RING_SIZE; i++)
        nf->tx_free[i] = (uint16_t)(NET_TX_RING_SIZE - 1 - i);
    strlcpy(nf->name, "vif", sizeof(nf->name));
    if (netif_connect(&nf->c, devid, nf_event, nf)) {
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
    int rc = rx_setup(nf, rx_bufs);
    if (rc) {
        printf("netfront: %s: cannot set up %u receive buffers: %d\n", nf->name, rx_bufs, rc);
        netif_close(&nf->c, nf_revoke, nf, 0);
        free(nf);
        return NULL;
    }
    int f = irq_save();
    nf->nrx = rx_bufs;
    for (unsigned b = 0; b < rx_bufs; b++)
        rx_post(nf, b);
    int notify = nf->broken ? 0 : rx_push(nf);
    irq_restore(f);
    if (notify)
        evtchn_send(nf->c.port);
    const uint8_t *m = nf->c.mac;
    printf("netfront: %s: mac %02x:%02x:%02x:%02x:%02x:%02x, backend dom%u, %u receive buffers\n",
           nf->name, m[0], m[1], m[2], m[3], m[4], m[5], nf->c.be, rx_bufs);
    return &nf->dev;
}
