/*
 * net_evil.elf: a malicious netif frontend. It connects like netfront
 * (netif_connect), posts 8 receive buffers (pages of ours granted
 * read-write, ids 0..7), then drives the shared rings by hand, one request
 * at a time, and checks (GCHECK) the backend's answer to each:
 *
 *   1  valid 60-byte test frame to the peer (HOPSIM_PKT_F_RR)  -> OKAY, and
 *      its echo arrives on the RX ring: status 60, to our MAC from the
 *      peer's, our request id, intact payload; the buffer is re-posted
 *   2  gref never granted                                      -> ERROR
 *   3  size 1515 (mtu 1500 + 14 + 1)                           -> ERROR
 *   4  offset 4000, size 200 (crosses the page)                -> ERROR
 *   5  size 10 (shorter than an Ethernet header)               -> ERROR
 *   6  NETTXF_extra_info + a GSO netif_extra_info slot         -> ERROR, NULL
 *   7  complete 3-slot NETTXF_more_data chain (no feature-sg)  -> ERROR, NULL, NULL
 *   8  gref granted to another domain (backend id + 100)       -> ERROR
 *   9  gref of a page we granted and revoked before sending    -> ERROR
 *   10 valid frame again (the backend still serves us)         -> OKAY + echo
 *   11 RX flood: stop re-posting; valid frames until all 8 buffers hold
 *      echoes; then 16 more valid frames (no F_RR: each request ends at
 *      its transmit completion) -> each OKAY, and the RX ring's rsp_prod
 *      does not move within the timeout (the backend drops the echoes);
 *      then 8 buffers again, and one more valid frame's echo arrives
 *   12 the fatal attack, attack=chain: 19 slots all NETTXF_more_data (a
 *      chain longer than 18 slots); attack=overflow: req_prod moved
 *      RING_SIZE + 1 past the backend's responses. The backend must go
 *      Closing (or Closed) within the timeout; one more valid frame then
 *      gets no TX response and no echo within the timeout.
 *
 * Every response must carry its request's id (NULL responses excepted:
 * io/netif.h's "no response" for a slot that is not a request of its own).
 * The frames of the malformed requests are ordinary traffic (EtherType
 * 0x88B5 without the test tag), addressed to the peer: one that leaked to
 * the wire would come back to us and fail the next echo check. Finally it
 * closes (netif_close, ending every grant it made) and checks the backend
 * ends Closed.
 *
 * Trace marks: a test frame's request gets H1 and H2 before the notify, H8
 * and done when its echo is checked (or at the TX response for a frame
 * without F_RR); malformed requests run under HOPSIM_NOREQ. The probe after
 * the fatal attack is marked H1, H2 and, unanswered, stays in flight.
 *
 * Arguments: attack=chain|overflow (chain), timeout_ms=N (500), devid=N
 * (default: our lowest vif). Waiting uses the runtime's timer (sleep_ns
 * polling); the event handler exists only to wake us.
 */
#include "netfront.h"

#include <hopsim/netpkt.h>

#define POLL_NS 20000ull
#define STATE_POLL_NS 1000000ull /* xenstore reads while waiting for Closing */
#define NRX 8
#define FRAME_LEN 60u
#define FLOOD 16
#define CHAIN_MAX 18 /* XEN_NETBK_LEGACY_SLOTS_MAX */
#define BAD_FILL 0xee
#define NO_RSP 0x7fff /* expect(): no response within the timeout */

static const uint8_t peer_mac[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};

struct evil {
    struct netif_conn c;
    uint8_t *tx;   /* valid test frames, granted read-only */
    uint8_t *bad;  /* filler frames for the malformed requests, granted read-only */
    uint8_t *gone; /* granted, then revoked before use (step 9) */
    uint8_t *rx[NRX];
    int ref_tx, ref_bad, ref_other, ref_rx[NRX];
    grant_ref_t never;
    uint8_t posted[NRX];
    unsigned nposted;
    uint16_t next_id; /* TX request ids (io/netif.h: 16 bits) */
    uint64_t timeout_ns;
    uint32_t seq;
};

static struct evil ev;

static void evil_event(evtchn_port_t port, void *data)
{
    (void)port;
    (void)data; /* responses are read in program context */
}

/* 1 when *prod != cons (a response is waiting), 0 after timeout_ns without one. */
static int wait_rsp(const volatile RING_IDX *prod, RING_IDX cons, uint64_t timeout_ns)
{
    uint64_t deadline = time_now_ns() + timeout_ns;
    while (*prod == cons) {
        if (time_now_ns() >= deadline)
            return 0;
        sleep_ns(POLL_NS);
    }
    rmb(); /* the response after rsp_prod */
    return 1;
}

/* The next TX response, copied out of the ring: 1, or 0 after the timeout. */
static int tx_take(struct evil *e, netif_tx_response_t *rsp)
{
    netif_tx_front_ring_t *ring = &e->c.q[0].tx;
    if (!wait_rsp(&ring->sring->rsp_prod, ring->rsp_cons, e->timeout_ns))
        return 0;
    *rsp = READ_ONCE(*RING_GET_RESPONSE(ring, ring->rsp_cons));
    ring->rsp_cons++;
    return 1;
}

/* The next RX response, copied out of the ring: 1, or 0 after the timeout. */
static int rx_take(struct evil *e, netif_rx_response_t *rsp)
{
    netif_rx_front_ring_t *ring = &e->c.q[0].rx;
    if (!wait_rsp(&ring->sring->rsp_prod, ring->rsp_cons, e->timeout_ns))
        return 0;
    *rsp = READ_ONCE(*RING_GET_RESPONSE(ring, ring->rsp_cons));
    ring->rsp_cons++;
    return 1;
}

/* Publish the TX requests written since the last push; notify if the backend asked. */
static void tx_push(struct evil *e)
{
    int notify;
    RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&e->c.q[0].tx, notify);
    if (notify)
        evtchn_send(e->c.q[0].tx_port);
}

static void rx_post(struct evil *e, unsigned b)
{
    netif_rx_front_ring_t *ring = &e->c.q[0].rx;
    netif_rx_request_t *req = RING_GET_REQUEST(ring, ring->req_prod_pvt);
    req->id = (uint16_t)b;
    req->pad = 0;
    req->gref = (grant_ref_t)e->ref_rx[b];
    ring->req_prod_pvt++;
    e->posted[b] = 1;
    e->nposted++;
}

static void rx_push(struct evil *e)
{
    int notify;
    RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&e->c.q[0].rx, notify);
    if (notify)
        evtchn_send(e->c.q[0].rx_port);
}

static void rx_post_all(struct evil *e)
{
    for (unsigned b = 0; b < NRX; b++)
        if (!e->posted[b])
            rx_post(e, b);
    rx_push(e);
}

/*
 * Take n TX responses and check response k against want[k] and, unless
 * that is NULL, ids[k]. Prints one line. 1 when all came as expected.
 */
static int expect(struct evil *e, const char *what, unsigned n, const uint16_t *ids,
                  const int16_t *want)
{
    char got[64];
    size_t len = 0;
    int ok = 1;
    got[0] = '\0';
    for (unsigned k = 0; k < n; k++) {
        netif_tx_response_t rsp = {0};
        if (!GCHECK(tx_take(e, &rsp))) {
            snprintf(got + len, sizeof(got) - len, " (no response)");
            ok = 0;
            break;
        }
        int w = snprintf(got + len, sizeof(got) - len, " %d", rsp.status);
        if (w > 0 && len + (size_t)w < sizeof(got))
            len += (size_t)w;
        ok &= GCHECK_EQ(rsp.status, want[k]);
        if (want[k] != NETIF_RSP_NULL)
            ok &= GCHECK_EQ(rsp.id, ids[k]);
    }
    printf("evilnet: %s ->%s\n", what, got);
    return ok;
}

/* ---- valid test frames ---- */

/* Build a test frame in the TX page; its TX request (not yet on the ring). */
static netif_tx_request_t test_frame(struct evil *e, uint16_t flags, uint64_t *req)
{
    *req = HOPSIM_REQ(xen_domid, ++e->seq);
    hopsim_pkt_build(e->tx, FRAME_LEN, peer_mac, e->c.mac, flags, *req, 0);
    return (netif_tx_request_t){.gref = (grant_ref_t)e->ref_tx,
                                .offset = 0,
                                .flags = 0,
                                .id = e->next_id++,
                                .size = FRAME_LEN};
}

/*
 * Wait for the echo of request `req` on the RX ring and check it; re-post
 * its buffer if `repost`. 1 when it arrived intact.
 */
static int echo(struct evil *e, uint64_t req, int repost, const char *what)
{
    netif_rx_response_t rsp = {0};
    if (!GCHECK(rx_take(e, &rsp))) {
        printf("evilnet: %s: no echo\n", what);
        return 0;
    }
    if (!GCHECK(rsp.id < NRX && e->posted[rsp.id])) {
        printf("evilnet: %s: RX response for buffer %u, not posted\n", what, rsp.id);
        return 0;
    }
    e->posted[rsp.id] = 0;
    e->nposted--;
    int ok = GCHECK_EQ(rsp.flags & (NETRXF_more_data | NETRXF_extra_info), 0);
    ok &= GCHECK_EQ(rsp.status, FRAME_LEN) && GCHECK(rsp.offset + FRAME_LEN <= PAGE_SIZE);
    if (ok) {
        const uint8_t *f = e->rx[rsp.id] + rsp.offset;
        uint64_t got = hopsim_pkt_req(f, FRAME_LEN);
        if (got == req) {
            trace_ctx(req);
            trace_hop(HOP_H8, req);
        }
        ok &= GCHECK_EQ(memcmp(f, e->c.mac, 6), 0);
        ok &= GCHECK_EQ(memcmp(f + 6, peer_mac, 6), 0);
        ok &= GCHECK_EQ(got, req);
        ok &= GCHECK_EQ(hopsim_pkt_check(f, FRAME_LEN, 0), 0);
        if (got == req) {
            trace_done(req);
            trace_ctx(HOPSIM_NOREQ);
        }
    }
    printf("evilnet: %s: echo in buffer %u: %d bytes at %u%s\n", what, rsp.id, rsp.status,
           rsp.offset, ok ? ", intact" : ", BAD");
    if (repost) {
        rx_post(e, rsp.id);
        rx_push(e);
    }
    return ok;
}

/*
 * Send one valid test frame and check its TX response is OKAY; with
 * HOPSIM_PKT_F_RR, also its echo (echo(), re-posting if `repost`),
 * otherwise the request ends at the TX response. 1 when all was well.
 */
static int valid(struct evil *e, int rr, int repost, const char *what)
{
    uint64_t req;
    netif_tx_request_t r = test_frame(e, rr ? HOPSIM_PKT_F_RR : 0, &req);
    trace_ctx(req);
    trace_hop(HOP_H1, req);
    *RING_GET_REQUEST(&e->c.q[0].tx, e->c.q[0].tx.req_prod_pvt) = r;
    e->c.q[0].tx.req_prod_pvt++;
    trace_hop(HOP_H2, req);
    tx_push(e);
    trace_ctx(HOPSIM_NOREQ);
    const int16_t okay = NETIF_RSP_OKAY;
    int ok = expect(e, what, 1, &r.id, &okay);
    if (ok && !rr) {
        trace_ctx(req);
        trace_hop(HOP_H8, req);
        trace_done(req);
        trace_ctx(HOPSIM_NOREQ);
    }
    if (rr)
        ok &= echo(e, req, repost, what);
    return ok;
}

/* ---- malformed requests ---- */

/* A TX request for a FRAME_LEN filler frame in the bad page, with a fresh id. */
static netif_tx_request_t bad_req(struct evil *e, grant_ref_t gref, uint16_t off, uint16_t size,
                                  uint16_t flags)
{
    return (netif_tx_request_t){
        .gref = gref, .offset = off, .flags = flags, .id = e->next_id++, .size = size};
}

/* Put n slots on the ring with one push (no hop marks) and check the n responses. */
static void bad(struct evil *e, const char *what, const netif_tx_request_t *slots, unsigned n,
                const int16_t *want)
{
    uint16_t ids[CHAIN_MAX + 1];
    trace_ctx(HOPSIM_NOREQ);
    for (unsigned i = 0; i < n; i++) {
        *RING_GET_REQUEST(&e->c.q[0].tx, e->c.q[0].tx.req_prod_pvt) = slots[i];
        e->c.q[0].tx.req_prod_pvt++;
        ids[i] = slots[i].id;
    }
    tx_push(e);
    expect(e, what, n, ids, want);
}

static void bad1(struct evil *e, const char *what, netif_tx_request_t r)
{
    const int16_t err = NETIF_RSP_ERROR;
    bad(e, what, &r, 1, &err);
}

/* 2..5: sizes and offsets */
static void bad_sizes(struct evil *e)
{
    grant_ref_t b = (grant_ref_t)e->ref_bad;
    bad1(e, "[2] never-granted gref", bad_req(e, e->never, 0, FRAME_LEN, 0));
    bad1(e, "[3] size 1515", bad_req(e, b, 0, HOPSIM_PKT_MAX + 1, 0));
    bad1(e, "[4] offset 4000, size 200", bad_req(e, b, 4000, 200, 0));
    bad1(e, "[5] size 10", bad_req(e, b, 0, 10, 0));
}

/* 6, 7: extra info and fragments, neither negotiated */
static void bad_slots(struct evil *e)
{
    grant_ref_t b = (grant_ref_t)e->ref_bad;
    netif_tx_request_t s[3];
    const int16_t want[3] = {NETIF_RSP_ERROR, NETIF_RSP_NULL, NETIF_RSP_NULL};

    s[0] = bad_req(e, b, 0, FRAME_LEN, NETTXF_extra_info);
    netif_extra_info_t x = {.type = XEN_NETIF_EXTRA_TYPE_GSO, .flags = 0};
    x.u.gso.size = 1400;
    x.u.gso.type = XEN_NETIF_GSO_TYPE_TCPV4;
    x.u.gso.pad = 0;
    x.u.gso.features = 0;
    s[1] = (netif_tx_request_t){0};
    memcpy(&s[1], &x, sizeof(x));
    bad(e, "[6] extra_info + GSO slot", s, 2, want);

    s[0] = bad_req(e, b, 0, 3 * FRAME_LEN, NETTXF_more_data);
    s[1] = bad_req(e, b, FRAME_LEN, FRAME_LEN, NETTXF_more_data);
    s[2] = bad_req(e, b, 2 * FRAME_LEN, FRAME_LEN, 0);
    bad(e, "[7] 3-slot more_data chain", s, 3, want);
}

/* 8, 9: grants the backend cannot use */
static void bad_grants(struct evil *e)
{
    bad1(e, "[8] gref granted to another domain",
         bad_req(e, (grant_ref_t)e->ref_other, 0, FRAME_LEN, 0));

    int ref = gnttab_grant_access(e->c.be, virt_to_pfn(e->gone), 1);
    if (!GCHECK(ref >= 0))
        return;
    GCHECK_EQ(gnttab_end_access((grant_ref_t)ref), 0); /* before the backend ever sees it */
    GCHECK_EQ(gnttab_entry_flags((grant_ref_t)ref), 0);
    bad1(e, "[9] gref revoked before sending", bad_req(e, (grant_ref_t)ref, 0, FRAME_LEN, 0));
}

/* ---- 11: RX flood ---- */

static void flood(struct evil *e)
{
    /* use up the posted buffers without re-posting */
    for (unsigned i = 0; e->nposted && i < NRX; i++)
        if (!valid(e, 1, 0, "[11] frame using up an RX buffer"))
            break;
    GCHECK_EQ(e->nposted, 0);

    netif_rx_sring_t *rxs = e->c.q[0].rxs;
    RING_IDX rx_before = READ_ONCE(rxs->rsp_prod);
    unsigned sent = 0;
    for (unsigned i = 0; i < FLOOD; i++)
        sent += (unsigned)valid(e, 0, 0, "[11] frame with no RX buffer posted");
    sleep_ns(e->timeout_ns); /* time for any echo to come back */
    RING_IDX rx_after = READ_ONCE(rxs->rsp_prod);
    printf("evilnet: [11] %u/%u frames sent OKAY, RX responses meanwhile: %u\n", sent, FLOOD,
           rx_after - rx_before);
    GCHECK_EQ(rx_after, rx_before);

    rx_post_all(e);
    valid(e, 1, 1, "[11] valid frame after re-posting");
}

/* ---- 12: the fatal attack ---- */

/* Poll the backend's state until it is Closing or later, or the timeout passes. */
static int wait_closing(struct evil *e)
{
    uint64_t deadline = time_now_ns() + e->timeout_ns;
    int st;
    while ((st = xenbus_read_state(e->c.xb.otherend)) < XenbusStateClosing &&
           time_now_ns() < deadline)
        sleep_ns(STATE_POLL_NS);
    return st;
}

/* 19 slots, every one with NETTXF_more_data: longer than any chain the backend takes. */
static void chain(struct evil *e)
{
    netif_tx_request_t s[CHAIN_MAX + 1];
    grant_ref_t b = (grant_ref_t)e->ref_bad;
    s[0] = bad_req(e, b, 0, (CHAIN_MAX + 1) * FRAME_LEN, NETTXF_more_data);
    for (unsigned i = 1; i <= CHAIN_MAX; i++)
        s[i] = bad_req(e, b, (uint16_t)(i * FRAME_LEN), FRAME_LEN, NETTXF_more_data);
    trace_ctx(HOPSIM_NOREQ);
    for (unsigned i = 0; i <= CHAIN_MAX; i++) {
        *RING_GET_REQUEST(&e->c.q[0].tx, e->c.q[0].tx.req_prod_pvt) = s[i];
        e->c.q[0].tx.req_prod_pvt++;
    }
    tx_push(e);
    printf("evilnet: [12] %u-slot chain, all more_data\n", CHAIN_MAX + 1);
}

/* req_prod RING_SIZE + 1 past the backend's responses. */
static void overflow(struct evil *e)
{
    netif_tx_front_ring_t *ring = &e->c.q[0].tx;
    RING_IDX rsp = READ_ONCE(ring->sring->rsp_prod);
    wmb();
    ring->sring->req_prod = rsp + RING_SIZE(ring) + 1;
    mb();
    evtchn_send(e->c.q[0].tx_port);
    printf("evilnet: [12] req_prod %u with responses at %u\n", rsp + RING_SIZE(ring) + 1, rsp);
}

/* After the disconnect: one more valid frame gets no TX response and no echo. */
static void ignored(struct evil *e)
{
    netif_tx_front_ring_t *ring = &e->c.q[0].tx;
    RING_IDX tx_before = READ_ONCE(ring->sring->rsp_prod);
    RING_IDX rx_before = READ_ONCE(e->c.q[0].rxs->rsp_prod);
    uint64_t req;
    netif_tx_request_t r = test_frame(e, HOPSIM_PKT_F_RR, &req);
    RING_IDX i = ring->sring->req_prod;
    trace_ctx(req);
    trace_hop(HOP_H1, req);
    *RING_GET_REQUEST(ring, i) = r;
    wmb();
    ring->sring->req_prod = i + 1;
    ring->req_prod_pvt = i + 1;
    mb();
    trace_hop(HOP_H2, req);
    evtchn_send(
        e->c.q[0].tx_port); /* the backend's end may be closed: the result does not matter */
    trace_ctx(HOPSIM_NOREQ);
    sleep_ns(e->timeout_ns);
    RING_IDX tx_after = READ_ONCE(ring->sring->rsp_prod);
    RING_IDX rx_after = READ_ONCE(e->c.q[0].rxs->rsp_prod);
    printf("evilnet: [12] valid frame after the disconnect -> %u TX, %u RX responses\n",
           tx_after - tx_before, rx_after - rx_before);
    GCHECK_EQ(tx_after, tx_before);
    GCHECK_EQ(rx_after, rx_before);
}

static void fatal(struct evil *e, int use_chain)
{
    GCHECK_EQ(xenbus_read_state(e->c.xb.otherend), XenbusStateConnected);
    if (use_chain)
        chain(e);
    else
        overflow(e);
    int st = wait_closing(e);
    printf("evilnet: [12] backend state %d\n", st);
    GCHECK(st == XenbusStateClosing || st == XenbusStateClosed);
    ignored(e);
}

/* ---- set-up ---- */

/* A page of filler frames: to the peer, from us, EtherType 0x88B5 without the test tag. */
static void fill_bad(struct evil *e, uint8_t *p)
{
    memset(p, BAD_FILL, PAGE_SIZE);
    memcpy(p, peer_mac, 6);
    memcpy(p + 6, e->c.mac, 6);
    p[12] = (uint8_t)(HOPSIM_ETHERTYPE >> 8);
    p[13] = (uint8_t)HOPSIM_ETHERTYPE;
}

static int setup(struct evil *e)
{
    domid_t be = e->c.be, other = (domid_t)(be + 100 == xen_domid ? be + 101 : be + 100);
    e->tx = page_zalloc(1);
    e->bad = page_zalloc(1);
    e->gone = page_zalloc(1);
    if (!e->tx || !e->bad || !e->gone)
        return -1;
    fill_bad(e, e->bad);
    fill_bad(e, e->gone);
    e->ref_tx = gnttab_grant_access(be, virt_to_pfn(e->tx), 1);
    e->ref_bad = gnttab_grant_access(be, virt_to_pfn(e->bad), 1);
    e->ref_other = gnttab_grant_access(other, virt_to_pfn(e->bad), 1);
    if (e->ref_tx < 0 || e->ref_bad < 0 || e->ref_other < 0)
        return -1;
    for (unsigned b = 0; b < NRX; b++) {
        e->rx[b] = page_zalloc(1);
        if (!e->rx[b])
            return -1;
        e->ref_rx[b] = gnttab_grant_access(be, virt_to_pfn(e->rx[b]), 0);
        if (e->ref_rx[b] < 0)
            return -1;
    }
    e->never = (grant_ref_t)(gnttab_nr_entries() - 1);
    GCHECK_EQ(gnttab_entry_flags(e->never), 0); /* really never granted */
    rx_post_all(e);
    const uint8_t *m = e->c.mac;
    printf("evilnet: vif%d mac %02x:%02x:%02x:%02x:%02x:%02x, backend dom%u, %u RX buffers "
           "posted\n",
           e->c.xb.devid, m[0], m[1], m[2], m[3], m[4], m[5], be, NRX);
    return 0;
}

/* netif_close's revoke step: end every data grant still held. */
static void revoke(void *data)
{
    struct evil *e = data;
    int *refs[3 + NRX] = {&e->ref_tx, &e->ref_bad, &e->ref_other};
    for (unsigned b = 0; b < NRX; b++)
        refs[3 + b] = &e->ref_rx[b];
    for (unsigned i = 0; i < ARRAY_SIZE(refs); i++) {
        if (*refs[i] < 0)
            continue;
        GCHECK_EQ(gnttab_end_access((grant_ref_t)*refs[i]), 0);
        *refs[i] = -1;
    }
}

ARG_ENUM(attack, "chain|overflow", "the malformed request to send");
ARG_INT(timeout_ms, 0, INT32_MAX, "how long to wait for each answer");
ARG_INT(devid, -1, INT32_MAX, "the vif to attack (-1: the first)");

int app_main(void)
{
    struct evil *e = &ev;
    const char *attack = arg_str("attack", "chain");
    int use_chain = !strcmp(attack, "chain");
    if (!use_chain && strcmp(attack, "overflow")) {
        printf("evilnet: attack=%s: chain or overflow\n", attack);
        return 1;
    }
    e->timeout_ns = (uint64_t)arg_int("timeout_ms", 500) * 1000000ull;
    e->ref_tx = e->ref_bad = e->ref_other = -1;
    for (unsigned b = 0; b < NRX; b++)
        e->ref_rx[b] = -1;
    if (netif_connect(&e->c, (int)arg_int("devid", -1), 1, evil_event, e)) {
        printf("evilnet: connect failed\n");
        return 1;
    }
    if (setup(e)) {
        printf("evilnet: set-up failed\n");
        netif_close(&e->c, revoke, e, e->timeout_ns); /* so the backend can finish */
        return 1;
    }
    valid(e, 1, 1, "[1] valid 60-byte frame");
    bad_sizes(e);
    bad_slots(e);
    bad_grants(e);
    valid(e, 1, 1, "[10] valid frame after the attacks");
    flood(e);
    fatal(e, use_chain);
    int st = netif_close(&e->c, revoke, e, e->timeout_ns);
    printf("evilnet: closed, backend state %d\n", st);
    GCHECK_EQ(st, XenbusStateClosed);
    return 0;
}
