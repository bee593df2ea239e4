/*
 * netperf-like test program over struct netdev (see netperf.h), at packet
 * level: every frame is a hopsim test frame (include/hopsim/netpkt.h)
 * whose tag carries the request id HOPSIM_REQ(domid, seq), seq 1, 2, ...
 * across the whole run, and whose payload is a pattern of that id.
 *
 * Arguments:
 *   mode=rr|stream  rr: request/response like netperf TCP_RR -- send a
 *                   frame, wait for the peer's answer; one request is one
 *                   transaction (H1 ... H5 at the device until the answer
 *                   arrives ... H8). stream: like TCP_STREAM -- keep
 *                   `depth` frames in flight to a sink; one request is one
 *                   frame, done when its transmission completes. rx: like
 *                   netperf's receive side -- count frames a sender on the
 *                   far host (the peer in "source" mode) sends us after
 *                   our "go" frame (netperf's control connection); each
 *                   one's request starts at the NIC (H5) and ends when it
 *                   has been checked here (H8). (rr)
 *   sizes=A,B,...   frame lengths to sweep, bytes without FCS,
 *                   60..min(1514, mtu + 14) (64,512,1514)
 *   count=N         requests per size (100); rx: frames expected
 *   depth=N         requests in flight (rr 1, stream 32; at most 64 and
 *                   what the device takes)
 *   answer=echo|reqresp
 *                   rr: what the peer sends back: echo = our frame with
 *                   the addresses swapped; reqresp = a reply frame of its
 *                   own length, flagged HOPSIM_PKT_F_REPLY, with the reply
 *                   pattern (echo)
 *   dst=MAC         the peer's address (02:00:00:00:00:01; the peer
 *                   answers whatever it is sent, with the addresses swapped)
 *   flows=N         the flows the requests are spread over, 1..256 (1):
 *                   request seq s belongs to flow s % N (in the tag's
 *                   flow byte, hopsim/netpkt.h), as N connections taking
 *                   turns would; a multi-queue driver keeps each flow on
 *                   one queue and spreads the flows
 *   timeout_ms=N    rr: give up waiting for answers after N ms of
 *                   simulated time (100); each missing one fails a check;
 *                   rx: stop after N ms without a frame
 *
 * Checks (GCHECK, reported through the simulator): every transmit
 * completes with status 0; rr: every answer arrives, to our address from
 * dst, with the expected flags and an intact payload (length from the tag,
 * every byte of the pattern); stream: any test frame that comes back is
 * checked the same way (the peer checks what it sinks: the run fails on a
 * bad payload there). No frame other than an answer is expected in rr.
 *
 * A device whose connection can go away (netfront under a driver domain)
 * says so through netdev_attention while we wait; we let it reconnect
 * (netdev_service) and wait on, the deadline counted afresh.
 *
 * Completions arrive in event context: the callbacks only record (the
 * answer's check must run there, while the frame is valid); GCHECKs and
 * trace_done run in program context.
 */
#include "netperf.h"

#define NP_MAX_DEPTH 64
#define NP_MAX_SIZES 16

enum np_mode { NP_RR, NP_STREAM, NP_RX };

#define NP_RXQ 1024 /* rx: received frames waiting for program context */

struct np_slot {
    struct netdev_pkt p; /* first: the callback gets &p */
    uint8_t *buf;        /* one page */
    uint64_t req;
    uint8_t busy;     /* a request is using the slot */
    uint8_t tx_done;  /* its transmit completed (status in p) */
    uint8_t answered; /* rr: its answer arrived (checked in the rx callback) */
    uint8_t reaped;   /* program context has accounted the completion */
    size_t bad_off;   /* answer: 0, or the offset of the first wrong byte */
    uint32_t ans_len;
    uint8_t bad_addr; /* answer not to us from dst, or wrong flags */
    uint64_t t_sent;  /* ns */
};

struct np_stats {
    unsigned long reqs, tx_fail, answers, bad, lost;
    uint64_t rtt_sum_ns, bytes;
};

struct netperf {
    struct netdev *d;
    enum np_mode mode;
    int reqresp;
    uint8_t dst[6];
    unsigned sizes[NP_MAX_SIZES], nsizes, count, depth, flows;
    uint64_t timeout_ns;
    uint32_t next_seq;
    struct np_slot slot[NP_MAX_DEPTH];
    /* slot i is busy / its transmit completed: bit i (program context looks at the slots
     * that may have changed instead of walking all of them after every event) */
    unsigned long busy_mask;
    volatile unsigned long tx_done_mask; /* set in event context */
    volatile unsigned long events;       /* callbacks so far, to wake program context */
    unsigned long unexpected, stray_bad;
    int broken; /* answers stopped coming: the remaining sizes are skipped */
    /* rx: filled in event context, drained in program context */
    uint64_t rxq_req[NP_RXQ];
    size_t rxq_bad[NP_RXQ];
    volatile unsigned rxq_n;
    unsigned rxq_head;
    unsigned long rxq_overflow;
    struct np_stats st;
};

static struct netperf job;

/* ---- arguments ---- */

static int parse_sizes(struct netperf *np, const char *s)
{
    unsigned max = MIN(HOPSIM_PKT_MAX, (unsigned)np->d->mtu + HOPSIM_ETH_HLEN);
    np->nsizes = 0;
    while (*s) {
        unsigned v = 0;
        if (*s < '0' || *s > '9')
            return -1;
        while (*s >= '0' && *s <= '9')
            v = v * 10 + (unsigned)(*s++ - '0');
        if (v < HOPSIM_PKT_MIN || v > max || np->nsizes == NP_MAX_SIZES)
            return -1;
        np->sizes[np->nsizes++] = v;
        if (*s == ',')
            s++;
        else if (*s)
            return -1;
    }
    return np->nsizes ? 0 : -1;
}

ARG_ENUM(mode, "rr|stream|rx", "request/response, a stream to the peer, or receive");
ARG_ENUM(answer, "echo|reqresp", "rr: what the peer answers");
ARG_LIST(sizes, HOPSIM_PKT_MIN, HOPSIM_PKT_MAX, NP_MAX_SIZES, "frame lengths, comma-separated");
ARG_MAC(dst, "the peer's MAC address");
ARG_INT(count, 1, INT32_MAX, "frames per size");
ARG_INT(depth, 1, NP_MAX_DEPTH, "frames in flight (at most the device's)");
ARG_INT(timeout_ms, 1, INT32_MAX, "how long to wait for an answer");
ARG_INT(flows, 1, 256, "flows the requests are spread over");

static int parse_args(struct netperf *np)
{
    const char *mode = arg_str("mode", "rr"), *ans = arg_str("answer", "echo");
    const char *sizes = arg_str("sizes", "64,512,1514"), *dst = arg_str("dst", "02:00:00:00:00:01");
    if (!strcmp(mode, "rr"))
        np->mode = NP_RR;
    else if (!strcmp(mode, "stream"))
        np->mode = NP_STREAM;
    else if (!strcmp(mode, "rx"))
        np->mode = NP_RX;
    else {
        printf("netperf: mode=%s: expected rr, stream or rx\n", mode);
        return -1;
    }
    if (strcmp(ans, "echo") && strcmp(ans, "reqresp")) {
        printf("netperf: answer=%s: expected echo or reqresp\n", ans);
        return -1;
    }
    np->reqresp = !strcmp(ans, "reqresp");
    if (parse_sizes(np, sizes)) {
        printf("netperf: sizes=%s: expected a list of up to %d lengths in %u..%u\n", sizes,
               NP_MAX_SIZES, HOPSIM_PKT_MIN, MIN(HOPSIM_PKT_MAX, np->d->mtu + HOPSIM_ETH_HLEN));
        return -1;
    }
    if (mac_parse(dst, np->dst) || (np->dst[0] & 1)) {
        printf("netperf: dst=%s: expected a unicast MAC address\n", dst);
        return -1;
    }
    long count = arg_int("count", 100), depth = arg_int("depth", np->mode == NP_RR ? 1 : 32);
    long tmo = arg_int("timeout_ms", 100), flows = arg_int("flows", 1);
    unsigned max_depth = MIN((unsigned)NP_MAX_DEPTH, np->d->max_tx_inflight);
    if (count < 1 || depth < 1 || depth > (long)max_depth || tmo < 1) {
        printf("netperf: count=%ld (>= 1), depth=%ld (1..%u), timeout_ms=%ld: out of range\n",
               count, depth, max_depth, tmo);
        return -1;
    }
    if (flows < 1 || flows > 256) {
        printf("netperf: flows=%ld: expected 1..256\n", flows);
        return -1;
    }
    np->flows = (unsigned)flows;
    np->count = (unsigned)count;
    np->depth = (unsigned)depth;
    np->timeout_ns = (uint64_t)tmo * 1000000ull;
    return 0;
}

/* ---- callbacks (event context) ---- */

static void on_tx_done(struct netdev_pkt *p)
{
    struct np_slot *s = (struct np_slot *)p;
    s->tx_done = 1;
    set_bit_ul((unsigned)(s - job.slot), &job.tx_done_mask);
    job.events++;
}

static struct np_slot *find_slot(struct netperf *np, uint64_t req)
{
    for (unsigned i = 0; i < np->depth; i++)
        if (np->slot[i].busy && np->slot[i].req == req)
            return &np->slot[i];
    return NULL;
}

/* The answer's addresses and flags: 0 if they are what we expect. */
static int bad_answer_header(const struct netperf *np, const uint8_t *f,
                             const struct hopsim_pkt_tag *t)
{
    uint16_t want = HOPSIM_PKT_F_RR | (np->reqresp ? HOPSIM_PKT_F_REPLY : 0);
    return memcmp(f, np->d->mac, 6) != 0 || memcmp(f + 6, np->dst, 6) != 0 ||
           (t->flags & ~HOPSIM_PKT_FLOW_MASK) != want;
}

/* rx: queue a sender's frame with the result of its check (valid only during the call). */
static void rx_frame(struct netperf *np, const uint8_t *f, unsigned len,
                     const struct hopsim_pkt_tag *t)
{
    if (np->rxq_n == NP_RXQ) {
        np->rxq_overflow++;
        return;
    }
    unsigned i = (np->rxq_head + np->rxq_n) % NP_RXQ;
    size_t bad = hopsim_pkt_check(f, len, 0);
    if (!bad && memcmp(f, np->d->mac, 6) != 0)
        bad = 1; /* not addressed to us */
    np->rxq_req[i] = t->req;
    np->rxq_bad[i] = bad;
    np->rxq_n++;
}

static void on_rx(struct netdev *d, const void *frame, unsigned len)
{
    struct netperf *np = d->rx_ctx;
    struct hopsim_pkt_tag t;
    job.events++;
    if (!hopsim_pkt_parse(frame, len, &t)) {
        np->unexpected++;
        return;
    }
    if (np->mode == NP_RX) {
        rx_frame(np, frame, len, &t);
        return;
    }
    uint64_t salt = (t.flags & HOPSIM_PKT_F_REPLY) ? HOPSIM_PKT_REPLY_SALT : 0;
    struct np_slot *s = np->mode == NP_RR ? find_slot(np, t.req) : NULL;
    if (!s || s->answered) {
        /* stream: an answer from an echoing peer; rr: a duplicate or a stranger */
        if (np->mode == NP_RR)
            np->unexpected++;
        else if (hopsim_pkt_check(frame, len, salt))
            np->stray_bad++;
        return;
    }
    s->bad_off = hopsim_pkt_check(frame, len, salt);
    s->bad_addr = (uint8_t)bad_answer_header(np, frame, &t);
    s->ans_len = len;
    s->answered = 1;
}

/* ---- program context ---- */

static int alloc_slots(struct netperf *np)
{
    for (unsigned i = 0; i < np->depth; i++) {
        struct np_slot *s = &np->slot[i];
        s->buf = page_zalloc(1);
        if (!s->buf)
            return -1;
        s->p.data = s->buf;
        s->p.done = on_tx_done;
        s->p.owner = np;
    }
    return 0;
}

/* The lowest-numbered free slot, or NULL. */
static struct np_slot *free_slot(struct netperf *np)
{
    unsigned long all = np->depth == BITS_PER_LONG ? ~0ul : (1ul << np->depth) - 1;
    unsigned long free = all & ~np->busy_mask;
    return free ? &np->slot[ctz_ulong(free)] : NULL;
}

static void slot_set_busy(struct netperf *np, struct np_slot *s, int busy)
{
    unsigned i = (unsigned)(s - np->slot);
    s->busy = (uint8_t)busy;
    if (busy)
        np->busy_mask |= 1ul << i;
    else
        np->busy_mask &= ~(1ul << i);
}

/* Build and send one request of `size` bytes on slot s: 0, or the driver's error. */
static int send_one(struct netperf *np, struct np_slot *s, unsigned size)
{
    uint64_t req = HOPSIM_REQ(xen_domid, ++np->next_seq);
    uint16_t flags =
        (np->mode == NP_RR ? HOPSIM_PKT_F_RR : 0) | HOPSIM_PKT_F_FLOW(np->next_seq % np->flows);
    trace_ctx(req);
    trace_begin(SPAN_APP, req);
    hopsim_pkt_build(s->buf, size, np->dst, np->d->mac, flags, req, 0);
    s->p.len = (uint16_t)size;
    s->req = req;
    slot_set_busy(np, s, 1);
    clear_bit_ul((unsigned)(s - np->slot), &np->tx_done_mask);
    s->tx_done = s->answered = s->reaped = s->bad_addr = 0;
    s->bad_off = 0;
    s->t_sent = time_now_ns();
    trace_end(SPAN_APP, req);
    trace_hop(HOP_H1, req);
    int f = irq_save();
    int rc = netdev_xmit(np->d, &s->p);
    irq_restore(f);
    trace_ctx(HOPSIM_NOREQ);
    if (rc) {
        printf("netperf: request 0x%llx of %u bytes refused by the driver: %d\n",
               (unsigned long long)req, size, rc);
        slot_set_busy(np, s, 0);
    }
    return rc;
}

/* A slot whose request finished: account for it, check, free it. */
static void reap(struct netperf *np, struct np_slot *s)
{
    uint64_t req = s->req;
    trace_ctx(req);
    trace_begin(SPAN_CHECK, req);
    if (np->mode != NP_RX) /* rx: the go frame is not one of the frames measured */
        np->st.reqs++;
    if (!GCHECK_EQ(s->p.status, 0))
        np->st.tx_fail++;
    if (np->mode == NP_RR) {
        np->st.answers++;
        np->st.rtt_sum_ns += time_now_ns() - s->t_sent;
        np->st.bytes += s->p.len + s->ans_len;
        int ok = GCHECK_EQ(s->bad_off, 0);
        ok &= GCHECK_EQ(s->bad_addr, 0);
        if (!ok) {
            np->st.bad++;
            printf("netperf: answer to 0x%llx (%u bytes): bad byte at %lu, header %s\n",
                   (unsigned long long)req, s->ans_len, (unsigned long)s->bad_off,
                   s->bad_addr ? "wrong" : "ok");
        }
    } else if (np->mode == NP_STREAM) {
        np->st.bytes += s->p.len;
    }
    trace_end(SPAN_CHECK, req);
    trace_done(req);
    trace_ctx(HOPSIM_NOREQ);
    slot_set_busy(np, s, 0);
}

static int finished(const struct netperf *np, const struct np_slot *s)
{
    return s->busy && s->tx_done && (np->mode == NP_STREAM || s->answered || s->p.status);
}

/*
 * Reap every finished slot in slot order; only a busy slot whose transmit
 * completed can be one. The masks are read again after each slot, as the
 * walk over all slots read each slot when it came to it (a completion may
 * arrive meanwhile).
 */
static unsigned reap_all(struct netperf *np)
{
    unsigned n = 0;
    unsigned long ahead = ~0ul; /* the slots not visited yet */
    for (;;) {
        unsigned long cand = np->busy_mask & np->tx_done_mask & ahead;
        if (!cand)
            break;
        unsigned i = ctz_ulong(cand);
        ahead = i + 1 == BITS_PER_LONG ? 0 : ~0ul << (i + 1);
        if (finished(np, &np->slot[i])) {
            reap(np, &np->slot[i]);
            n++;
        }
    }
    return n;
}

/*
 * Wait until a slot is finished or, for rr, the deadline passes. Returns 0
 * at the deadline with nothing finished, 2 when the device was serviced
 * (it reconnected: the caller's deadline starts again).
 */
static int wait_progress(struct netperf *np, uint64_t deadline)
{
    unsigned long seen = np->events;
    int news = 0;
    if (np->mode != NP_STREAM)
        timer_set(deadline);
    WAIT_UNTIL(np->events != seen || time_now_ns() >= deadline || (news = netdev_attention(np->d)));
    if (news) {
        netdev_service(np->d);
        return 2;
    }
    return np->events != seen;
}

/* rr: answers that never came: each fails a check; their slots wait for the transmit. */
static void give_up(struct netperf *np)
{
    for (unsigned i = 0; i < np->depth; i++) {
        struct np_slot *s = &np->slot[i];
        if (!s->busy || s->answered)
            continue;
        printf("netperf: no answer to 0x%llx within %llu ms\n", (unsigned long long)s->req,
               (unsigned long long)(np->timeout_ns / 1000000));
        GCHECK(s->answered);
        np->st.lost++;
        trace_done(s->req);
        slot_set_busy(np, s, 0); /* its transmit may still be out: the test stops here */
    }
    np->broken = 1;
}

static void run_size(struct netperf *np, unsigned size)
{
    struct np_stats before = np->st;
    unsigned sent = 0;
    uint64_t t0 = time_now_ns();
    uint64_t deadline = t0 + np->timeout_ns;
    while (sent < np->count || np->busy_mask) {
        struct np_slot *s;
        unsigned queued = 0;
        while (sent < np->count && (s = free_slot(np))) {
            if (send_one(np, s, size))
                break;
            sent++;
            queued++;
        }
        if (queued) {
            netdev_kick(np->d);
            deadline = time_now_ns() + np->timeout_ns;
        }
        if (reap_all(np))
            continue;
        int w = wait_progress(np, deadline);
        if (w == 2)
            deadline = time_now_ns() + np->timeout_ns;
        if (!w && np->mode == NP_RR && !reap_all(np)) {
            give_up(np);
            break;
        }
    }
    uint64_t dt = time_now_ns() - t0;
    unsigned long n = np->st.reqs - before.reqs;
    uint64_t bytes = np->st.bytes - before.bytes;
    printf("netperf: %s %4u bytes: %lu requests in %llu us", np->mode == NP_RR ? "rr" : "stream",
           size, n, (unsigned long long)(dt / 1000));
    if (np->mode == NP_RR && n)
        printf(", mean round trip %llu ns",
               (unsigned long long)((np->st.rtt_sum_ns - before.rtt_sum_ns) / n));
    if (dt)
        printf(", %llu requests/s, %llu Mbit/s", (unsigned long long)(n * 1000000000ull / dt),
               (unsigned long long)(bytes * 8000ull / dt));
    printf("\n");
}

/* rx: check and finish every frame the sender sent, until count or a silence of timeout_ms. */
static void run_rx(struct netperf *np)
{
    unsigned long got = 0, bad = 0;
    /* "go": one frame to the sender, a request of its own that ends at its transmit completion */
    struct np_slot *s = &np->slot[0];
    if (send_one(np, s, HOPSIM_PKT_MIN) == 0) {
        netdev_kick(np->d);
        WAIT_UNTIL(s->tx_done);
        reap(np, s);
    }
    uint64_t t0 = time_now_ns(), deadline = t0 + np->timeout_ns;
    while (got < np->count) {
        int f = irq_save();
        unsigned n = np->rxq_n;
        irq_restore(f);
        if (!n) {
            int w = wait_progress(np, deadline);
            if (!w)
                break;
            if (w == 2)
                deadline = time_now_ns() + np->timeout_ns;
            continue;
        }
        uint64_t req = np->rxq_req[np->rxq_head];
        size_t off = np->rxq_bad[np->rxq_head];
        f = irq_save();
        np->rxq_head = (np->rxq_head + 1) % NP_RXQ;
        np->rxq_n--;
        irq_restore(f);
        trace_ctx(req);
        trace_begin(SPAN_CHECK, req);
        if (!GCHECK_EQ(off, 0))
            bad++;
        trace_end(SPAN_CHECK, req);
        trace_done(req);
        trace_ctx(HOPSIM_NOREQ);
        got++;
        deadline = time_now_ns() + np->timeout_ns;
    }
    np->st.reqs += got;
    np->st.bad += bad;
    printf("netperf: rx: %lu of %u frames received, %lu bad, %lu beyond the queue\n", got,
           np->count, bad, np->rxq_overflow);
    GCHECK_EQ(got, np->count);
    GCHECK_EQ(np->rxq_overflow, 0);
}

int netperf_run(struct netdev *d)
{
    struct netperf *np = &job;
    np->d = d;
    if (parse_args(np) || alloc_slots(np)) {
        printf("netperf: cannot run (bad arguments or out of memory)\n");
        return 1;
    }
    d->rx_ctx = np;
    d->rx = on_rx;
    const uint8_t *m = np->dst;
    if (np->mode == NP_RX)
        printf("netperf: rx on %s, %u frames expected after a go frame to "
               "%02x:%02x:%02x:%02x:%02x:%02x\n",
               d->name, np->count, m[0], m[1], m[2], m[3], m[4], m[5]);
    else
        printf("netperf: %s on %s, %u sizes x %u requests, depth %u, to "
               "%02x:%02x:%02x:%02x:%02x:%02x\n",
               np->mode == NP_RR ? "rr" : "stream", d->name, np->nsizes, np->count, np->depth, m[0],
               m[1], m[2], m[3], m[4], m[5]);
    if (np->mode == NP_RX)
        run_rx(np);
    for (unsigned i = 0; np->mode != NP_RX && i < np->nsizes && !np->broken; i++)
        run_size(np, np->sizes[i]);
    d->rx = NULL;
    GCHECK_EQ(np->unexpected, 0);
    GCHECK_EQ(np->stray_bad, 0);
    printf("netperf: %lu requests, %lu transmit failures, %lu bad answers, %lu lost, "
           "%lu unexpected frames\n",
           np->st.reqs, np->st.tx_fail, np->st.bad, np->st.lost, np->unexpected);
    return 0;
}
