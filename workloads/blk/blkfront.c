/*
 * blkfront: the Xen block frontend (see blkfront.h for the handshake).
 *
 * Data path. submit() (program context, event delivery off) grants each
 * data page to the backend -- read-only for a WRITE, which the device only
 * reads -- or, with feature-persistent, takes pages of its own granted
 * read-write once for the connection's lifetime (Linux's persistent-grant
 * pool) and copies a WRITE's data into them (a READ's data is copied out
 * at its completion), each copy a `memcpy` span; writes the
 * request into the next free ring slot with id = the global request id;
 * marks H2. kick() publishes every request written since the last kick
 * with RING_PUSH_REQUESTS_AND_CHECK_NOTIFY and notifies only if the
 * backend asked (req_event): a request whose push needs no notify skips
 * the hypervisor hop H3 -- that is the protocol's own batching.
 *
 * Responses (event handler, upcall context): read rsp_prod, read barrier,
 * then the responses; each is matched to its request by id (tag map),
 * marked H8, its non-persistent grants revoked, and the request's done()
 * called. RING_FINAL_CHECK_FOR_RESPONSES re-arms rsp_event and catches a
 * response that arrived meanwhile. A backend that produces more responses
 * than the ring holds (RING_RESPONSE_PROD_OVERFLOW) is not trusted again.
 *
 * Backend gone (blkfront_resume / blkif_recover in Linux's xen-blkfront), for
 * a driver domain's backend (domid != 0): a watch on the backend's state
 * reports it Closing, Closed or removed while we are Connected (its domain
 * crashed; the toolstack marked it Closed). In program context
 * (blkdev_wait's service) we take the responses it posted, then every
 * request still in flight off the rings, end their grants and the rings',
 * go Closing then Closed, and wait for the toolstack to re-add the device
 * (our state set back to Initialising, backend and backend-id rewritten);
 * then connect to the new backend by the normal handshake (the queues it
 * offers now) and resubmit the requests in the order of their ids. Each
 * counts as resubmitted; none completes twice, since the old backend can no
 * longer answer.
 *
 * Memory ordering (io/ring.h, x86 TSO): request fields are written before
 * the push's write barrier publishes req_prod; the push's full barrier
 * orders req_prod before the req_event read. Responses are read only after
 * rsp_prod (read barrier).
 */
#include "blkfront.h"

#include <xen/io/protocols.h>

#include "tagmap.h"

/* persistent grants: as many as the rings can have segments in flight (Linux's fill_grant_buffer)
 */
#define PG_MAX (BLKIF_MAX_QUEUES * BLKIF_RING_SIZE * BLKIF_MAX_SEGMENTS_PER_REQUEST)
#define POLL_NS 100000ull

/* ---- connection ---- */

/* Every key in one transaction: one ring's flat keys, or multi-queue-num-queues and queue-N/. */
static int publish(struct blkif_conn *c, int want_persistent)
{
    char val[2 * BLKIF_MAX_QUEUES + 1][16], key[2 * BLKIF_MAX_QUEUES][32];
    struct xs_pair keys[2 * BLKIF_MAX_QUEUES + 4];
    unsigned n = 0;
    if (c->nq > 1) {
        snprintf(val[2 * BLKIF_MAX_QUEUES], sizeof(val[0]), "%u", c->nq);
        keys[n++] = (struct xs_pair){"multi-queue-num-queues", val[2 * BLKIF_MAX_QUEUES]};
    }
    for (unsigned q = 0; q < c->nq; q++) {
        const char *dir = "";
        char qdir[16];
        if (c->nq > 1) {
            snprintf(qdir, sizeof(qdir), "queue-%u/", q);
            dir = qdir;
        }
        snprintf(key[2 * q], sizeof(key[0]), "%sring-ref", dir);
        snprintf(val[2 * q], sizeof(val[0]), "%d", c->q[q].ring_ref);
        snprintf(key[2 * q + 1], sizeof(key[0]), "%sevent-channel", dir);
        snprintf(val[2 * q + 1], sizeof(val[0]), "%u", c->q[q].port);
        keys[n++] = (struct xs_pair){key[2 * q], val[2 * q]};
        keys[n++] = (struct xs_pair){key[2 * q + 1], val[2 * q + 1]};
    }
    char state[4];
    snprintf(state, sizeof(state), "%d", XenbusStateInitialised);
    keys[n++] = (struct xs_pair){"protocol", XEN_IO_PROTO_ABI_X86_64};
    keys[n++] = (struct xs_pair){"feature-persistent", want_persistent ? "1" : "0"};
    keys[n++] = (struct xs_pair){"state", state};
    return xs_write_all(c->xb.nodename, keys, n);
}

static int setup_ring(struct blkif_conn *c, struct blkif_queue *q, evtchn_handler_t fn, void *data)
{
    q->sring = page_zalloc(1);
    if (!q->sring)
        return -XEN_ENOMEM;
    SHARED_RING_INIT(q->sring);
    FRONT_RING_INIT(&q->ring, q->sring, PAGE_SIZE);
    q->ring_ref = gnttab_grant_access(c->be, virt_to_pfn(q->sring), 0);
    if (q->ring_ref < 0)
        return -XEN_ENOSPC;
    int rc = evtchn_alloc_unbound(c->be, &q->port);
    return rc ? rc : evtchn_attach(q->port, fn, data);
}

static void read_backend(struct blkif_conn *c, int want_persistent)
{
    const char *be = c->xb.otherend;
    c->sectors = (uint64_t)xs_read_long(be, "sectors", 0);
    c->sector_size = (uint32_t)xs_read_long(be, "sector-size", 512);
    c->info = (uint32_t)xs_read_long(be, "info", 0);
    c->flush = xs_read_long(be, "feature-flush-cache", 0) == 1;
    c->persistent = want_persistent && xs_read_long(be, "feature-persistent", 0) == 1;
}

int blkif_connect(struct blkif_conn *c, int devid, int want_persistent, unsigned want_queues,
                  evtchn_handler_t fn, void *data)
{
    if (devid < 0 && (devid = xenbus_frontend_lowest("vbd")) < 0) {
        printf("blkfront: no vbd in xenstore: %d\n", devid);
        return devid;
    }
    int rc = xenbus_frontend_device("vbd", devid, &c->xb);
    if (rc < 0) {
        printf("blkfront: no vbd %d in xenstore: %d\n", devid, rc);
        return rc;
    }
    c->be = (domid_t)c->xb.otherend_id;
    int st = xenbus_wait_state(c->xb.otherend, XenbusStateInitWait);
    if (st != XenbusStateInitWait && st != XenbusStateConnected) {
        printf("blkfront: backend %s in state %d, not InitWait\n", c->xb.otherend, st);
        return -XEN_EIO;
    }
    /* Linux: nr_rings = min(multi-queue-max-queues, xen_blkif_max_queues), at least 1 */
    long max = xs_read_long(c->xb.otherend, "multi-queue-max-queues", 1);
    rc = 0;
    c->nq = (unsigned)MAX(1, MIN(MIN(max, (long)want_queues), BLKIF_MAX_QUEUES));
    for (unsigned q = 0; q < c->nq && !rc; q++)
        rc = setup_ring(c, &c->q[q], fn, data);
    if (!rc)
        rc = publish(c, want_persistent);
    if (rc) {
        printf("blkfront: ring, event channel or xenstore set-up failed: %d\n", rc);
        return rc;
    }
    st = xenbus_wait_state(c->xb.otherend, XenbusStateConnected);
    if (st != XenbusStateConnected) {
        printf("blkfront: backend went to state %d instead of Connected\n", st);
        return -XEN_EIO;
    }
    read_backend(c, want_persistent);
    if (!c->sectors || (c->sector_size != 512 && c->sector_size != 4096)) {
        printf("blkfront: backend offers %llu sectors of %u bytes\n",
               (unsigned long long)c->sectors, c->sector_size);
        return -XEN_EIO;
    }
    return xenbus_switch_state(c->xb.nodename, XenbusStateConnected);
}

int blkif_wait_backend(struct blkif_conn *c, XenbusState state, uint64_t timeout_ns)
{
    if (!timeout_ns)
        return xenbus_wait_state(c->xb.otherend, state);
    char path[192];
    snprintf(path, sizeof(path), "%s/state", c->xb.otherend);
    xs_watch(path, "bkstate");
    uint64_t deadline = time_now_ns() + timeout_ns;
    int st;
    while ((st = xenbus_read_state(c->xb.otherend)) < (int)state && time_now_ns() < deadline)
        while (!xs_poll_watch("bkstate", NULL, 0) && time_now_ns() < deadline)
            sleep_ns(POLL_NS);
    xs_unwatch(path, "bkstate");
    return st;
}

int blkif_close(struct blkif_conn *c, void (*revoke)(void *data), void *data, uint64_t timeout_ns)
{
    xenbus_switch_state(c->xb.nodename, XenbusStateClosing);
    int st = blkif_wait_backend(c, XenbusStateClosing, timeout_ns);
    for (unsigned q = 0; q < c->nq; q++)
        evtchn_unbind(c->q[q].port);
    if (revoke)
        revoke(data);
    for (unsigned q = 0; q < c->nq; q++) {
        int rc = gnttab_end_access((grant_ref_t)c->q[q].ring_ref);
        if (rc)
            printf("blkfront: ring grant %d still mapped by the backend (%d)\n", c->q[q].ring_ref,
                   rc);
        else
            page_free(c->q[q].sring, 1);
    }
    xenbus_switch_state(c->xb.nodename, XenbusStateClosed);
    if (st < XenbusStateClosed)
        st = blkif_wait_backend(c, XenbusStateClosed, timeout_ns);
    return st;
}

/* ---- the block device ---- */

struct bf_shadow {
    struct blkdev_req *r;
    uint8_t nseg;
    uint8_t ended;  /* grants to revoke at completion: 0 when persistent */
    uint8_t pooled; /* persistent pages taken from the pool (given back at completion) */
    grant_ref_t gref[BLKIF_MAX_SEGMENTS_PER_REQUEST];
    uint16_t pidx[BLKIF_MAX_SEGMENTS_PER_REQUEST]; /* their pool entries */
    uint8_t nsect[BLKIF_MAX_SEGMENTS_PER_REQUEST];
};

/* A page of ours granted read-write to the backend for the connection's lifetime. */
struct pgrant {
    void *page;
    grant_ref_t gref;
};

/* A queue's free shadow slots (slot s of the device belongs to queue s / BLKIF_RING_SIZE). */
struct bf_queue {
    int16_t free_stack[BLKIF_RING_SIZE];
    unsigned nfree, unpushed;
};

struct blkfront {
    struct blkdev dev;
    struct blkif_conn c;
    struct bf_shadow shadow[BLKIF_MAX_QUEUES * BLKIF_RING_SIZE];
    struct bf_queue bq[BLKIF_MAX_QUEUES];
    unsigned next_q; /* round robin over the queues */
    struct tagmap tags;
    struct pgrant pool[PG_MAX]; /* persistent grants made so far */
    uint16_t pool_free[PG_MAX]; /* the unused ones */
    unsigned npool, nfree_pool;
    unsigned long copied; /* bytes copied to and from persistent pages */
    int broken;
    int want_persistent;
    unsigned want_queues;
    unsigned resubmitted, reconnects;
    char name[24];
    char bepath[160]; /* the backend state node we watch, "" if none */
};

static struct blkfront bfront;

/*
 * A persistent grant for one segment (Linux's get_free_grant): an unused
 * one from the pool, or a fresh page granted read-write once; -1 when the
 * pool is at its maximum or out of memory or grants.
 */
static int pool_get(struct blkfront *bf)
{
    if (bf->nfree_pool)
        return bf->pool_free[--bf->nfree_pool];
    if (bf->npool == PG_MAX)
        return -1;
    void *page = page_alloc(1);
    if (!page)
        return -1;
    int ref = gnttab_grant_access(bf->c.be, virt_to_pfn(page), 0);
    if (ref < 0) {
        page_free(page, 1);
        return -1;
    }
    bf->pool[bf->npool] = (struct pgrant){.page = page, .gref = (grant_ref_t)ref};
    return (int)bf->npool++;
}

static void pool_put(struct blkfront *bf, struct bf_shadow *s)
{
    for (unsigned i = 0; i < s->pooled; i++)
        bf->pool_free[bf->nfree_pool++] = s->pidx[i];
    s->pooled = 0;
}

/*
 * The data moves between the request's pages and the persistent pages,
 * as Linux's blkfront does with memcpy (blkif_setup_rw_req_grant for a
 * write, blkif_completion for a read): really copied by this vCPU, in a
 * `memcpy` span of its own.
 */
static void pool_copy(struct blkfront *bf, struct bf_shadow *s, const struct blkdev_req *r,
                      int to_pool)
{
    trace_begin(SPAN_MEMCPY, r->id);
    for (unsigned i = 0; i < s->pooled; i++) {
        void *pg = bf->pool[s->pidx[i]].page;
        size_t len = (size_t)s->nsect[i] * 512;
        if (to_pool)
            memcpy(pg, r->pages[i], len);
        else
            memcpy(r->pages[i], pg, len);
        bf->copied += len;
    }
    trace_end(SPAN_MEMCPY, r->id);
}

static void revoke_grants(struct bf_shadow *s)
{
    for (unsigned i = 0; i < s->ended; i++) {
        int rc = gnttab_end_access(s->gref[i]);
        if (rc)
            printf("blkfront: grant %u still in use by the backend (%d): leaked\n", s->gref[i], rc);
    }
}

/* Grant every page of r and fill the segments of req; -XEN_ENOSPC if out of grants. */
static int grant_segments(struct blkfront *bf, struct bf_shadow *s, const struct blkdev_req *r,
                          blkif_request_t *req)
{
    uint32_t left = r->nr_sectors;
    unsigned n = blkdev_nr_pages(r->nr_sectors);
    s->ended = 0;
    s->pooled = 0;
    for (unsigned i = 0; i < n; i++) {
        int ref;
        if (bf->c.persistent) {
            int k = pool_get(bf);
            ref = k < 0 ? -1 : (int)bf->pool[k].gref;
            if (k >= 0)
                s->pidx[s->pooled++] = (uint16_t)k;
        } else {
            ref = gnttab_grant_access(bf->c.be, virt_to_pfn(r->pages[i]), r->op == BLKDEV_WRITE);
        }
        if (ref < 0) {
            revoke_grants(s);
            pool_put(bf, s);
            return -XEN_ENOSPC;
        }
        uint32_t nsect = left > 8 ? 8 : left;
        req->seg[i] = (struct blkif_request_segment){
            .gref = (grant_ref_t)ref, .first_sect = 0, .last_sect = (uint8_t)(nsect - 1)};
        s->gref[i] = (grant_ref_t)ref;
        s->nsect[i] = (uint8_t)nsect;
        if (!bf->c.persistent)
            s->ended = (uint8_t)(i + 1);
        left -= nsect;
    }
    s->nseg = (uint8_t)n;
    if (s->pooled && r->op == BLKDEV_WRITE)
        pool_copy(bf, s, r, 1);
    return 0;
}

static int fill_request(struct blkfront *bf, blkif_front_ring_t *ring, struct bf_shadow *s,
                        struct blkdev_req *r)
{
    blkif_request_t *req = RING_GET_REQUEST(ring, ring->req_prod_pvt);
    uint8_t op = r->op == BLKDEV_READ    ? BLKIF_OP_READ
                 : r->op == BLKDEV_WRITE ? BLKIF_OP_WRITE
                                         : BLKIF_OP_FLUSH_DISKCACHE;
    s->nseg = 0;
    s->ended = 0;
    if (op != BLKIF_OP_FLUSH_DISKCACHE) {
        int rc = grant_segments(bf, s, r, req);
        if (rc)
            return rc;
    }
    req->operation = op;
    req->nr_segments = s->nseg;
    req->handle = (blkif_vdev_t)bf->c.xb.devid;
    req->id = r->id;
    req->sector_number = op == BLKIF_OP_FLUSH_DISKCACHE ? 0 : r->sector;
    s->r = r;
    return 0;
}

/*
 * The queue for the next request: the next one in turn with a free slot.
 * Linux's blk-mq maps the submitting CPU to a queue; our test program
 * submits from one vCPU, so its requests take the queues in turn, as fio
 * jobs on as many vCPUs would.
 */
static int pick_queue(struct blkfront *bf)
{
    for (unsigned k = 0; k < bf->c.nq; k++) {
        unsigned q = (bf->next_q + k) % bf->c.nq;
        if (bf->bq[q].nfree && !RING_FULL(&bf->c.q[q].ring)) {
            bf->next_q = (q + 1) % bf->c.nq;
            return (int)q;
        }
    }
    return -1;
}

static int bf_submit_locked(struct blkfront *bf, struct blkdev_req *r)
{
    if (bf->broken)
        return -XEN_EIO;
    int q = pick_queue(bf);
    if (q < 0)
        return -XEN_EAGAIN;
    if (tagmap_find(&bf->tags, r->id) >= 0)
        return -XEN_EEXIST;
    struct bf_queue *bq = &bf->bq[q];
    blkif_front_ring_t *ring = &bf->c.q[q].ring;
    int slot = bq->free_stack[bq->nfree - 1];
    /* H2 begins with putting the request on the ring (granting its pages included) */
    trace_hop_ring(HOP_H2, r->id, bf->c.q[q].port);
    trace_begin(SPAN_RING_PUT, r->id);
    int rc = fill_request(bf, ring, &bf->shadow[slot], r);
    if (!rc) {
        bq->nfree--;
        tagmap_insert(&bf->tags, slot, r->id);
        ring->req_prod_pvt++;
        bq->unpushed++;
    }
    trace_end(SPAN_RING_PUT, r->id);
    return rc;
}

static int bf_submit(struct blkdev *d, struct blkdev_req *r)
{
    struct blkfront *bf = (struct blkfront *)d;
    int rc = blkdev_check(d, r);
    if (rc)
        return rc;
    int f = irq_save();
    rc = bf_submit_locked(bf, r);
    irq_restore(f);
    return rc;
}

static void bf_kick(struct blkdev *d)
{
    struct blkfront *bf = (struct blkfront *)d;
    for (unsigned q = 0; q < bf->c.nq; q++) {
        int f = irq_save(), notify = 0;
        if (bf->bq[q].unpushed) {
            RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&bf->c.q[q].ring, notify);
            bf->bq[q].unpushed = 0;
        }
        irq_restore(f);
        if (notify)
            evtchn_send(bf->c.q[q].port);
    }
}

static int rsp_errno(int16_t st)
{
    if (st == BLKIF_RSP_OKAY)
        return 0;
    return st == BLKIF_RSP_EOPNOTSUPP ? -XEN_EOPNOTSUPP : -XEN_EIO;
}

static void complete(struct blkfront *bf, uint64_t id, int16_t status)
{
    int slot = tagmap_find(&bf->tags, id);
    if (slot < 0) {
        printf("blkfront: response for unknown id 0x%llx ignored\n", (unsigned long long)id);
        return;
    }
    trace_hop(HOP_H8, id);
    trace_begin(SPAN_RING_GET, id);
    struct bf_shadow *s = &bf->shadow[slot];
    tagmap_remove(&bf->tags, slot);
    revoke_grants(s);
    if (s->pooled && s->r->op == BLKDEV_READ && status == BLKIF_RSP_OKAY)
        pool_copy(bf, s, s->r, 0);
    pool_put(bf, s);
    struct bf_queue *bq = &bf->bq[slot / BLKIF_RING_SIZE];
    bq->free_stack[bq->nfree++] = (int16_t)slot;
    trace_end(SPAN_RING_GET, id);
    struct blkdev_req *r = s->r;
    s->r = NULL;
    r->proto_status = status;
    r->status = rsp_errno(status);
    r->done(r);
    bf->dev.completions++;
}

/* Upcall context: the responses of the ring whose channel fired. */
static void bf_event(evtchn_port_t port, void *data)
{
    struct blkfront *bf = data;
    unsigned q = 0;
    while (q < bf->c.nq && bf->c.q[q].port != port)
        q++;
    if (bf->broken || q == bf->c.nq)
        return;
    blkif_front_ring_t *ring = &bf->c.q[q].ring;
    int more;
    do {
        RING_IDX rp = READ_ONCE(ring->sring->rsp_prod);
        rmb(); /* responses after rsp_prod */
        if (RING_RESPONSE_PROD_OVERFLOW(ring, rp)) {
            printf("blkfront: backend produced %u responses for %u slots: giving up\n",
                   rp - ring->rsp_cons, RING_SIZE(ring));
            bf->broken = 1;
            return;
        }
        for (RING_IDX i = ring->rsp_cons; i != rp; i++) {
            const blkif_response_t *rsp = RING_GET_RESPONSE(ring, i);
            complete(bf, rsp->id, rsp->status);
        }
        ring->rsp_cons = rp;
        RING_FINAL_CHECK_FOR_RESPONSES(ring, more);
    } while (more);
}

static void revoke_persistent(void *data)
{
    struct blkfront *bf = data;
    for (unsigned i = 0; i < bf->npool; i++) {
        if (gnttab_end_access(bf->pool[i].gref))
            printf("blkfront: persistent grant %u still mapped: leaked\n", bf->pool[i].gref);
        else
            page_free(bf->pool[i].page, 1);
    }
    if (bf->npool)
        printf("blkfront: %u persistent grants, %lu bytes copied through them\n", bf->npool,
               bf->copied);
    bf->npool = bf->nfree_pool = 0;
}

/* ---- the backend went away: reconnect and resubmit ---- */

/*
 * Only a driver domain's backend is watched: a backend in dom0 (or the
 * privileged runtime service, domid 0) never comes back -- its death is the
 * host's -- and an unused watch would only add store traffic to those runs.
 */
static void watch_backend(struct blkfront *bf)
{
    bf->bepath[0] = 0;
    if (bf->c.be == 0)
        return;
    snprintf(bf->bepath, sizeof(bf->bepath), "%s/state", bf->c.xb.otherend);
    xs_watch(bf->bepath, "bfstate");
}

static void unwatch_backend(struct blkfront *bf)
{
    if (bf->bepath[0])
        xs_unwatch(bf->bepath, "bfstate");
    bf->bepath[0] = 0;
}

static int bf_attention(struct blkdev *d)
{
    struct blkfront *bf = (struct blkfront *)d;
    return bf->bepath[0] && xs_poll_watch("bfstate", NULL, 0);
}

static void queues_reset(struct blkfront *bf)
{
    for (unsigned q = 0; q < BLKIF_MAX_QUEUES; q++) {
        bf->bq[q].nfree = BLKIF_RING_SIZE;
        bf->bq[q].unpushed = 0;
        for (unsigned i = 0; i < BLKIF_RING_SIZE; i++)
            bf->bq[q].free_stack[i] = (int16_t)((q + 1) * BLKIF_RING_SIZE - 1 - i);
    }
    bf->next_q = 0;
    tagmap_init(&bf->tags);
}

/* The requests in flight, in id order, taken off the rings with their grants ended. */
static unsigned take_inflight(struct blkfront *bf, struct blkdev_req **out)
{
    unsigned n = 0;
    for (unsigned i = 0; i < BLKIF_MAX_QUEUES * BLKIF_RING_SIZE; i++) {
        struct bf_shadow *s = &bf->shadow[i];
        if (!s->r)
            continue;
        revoke_grants(s);
        s->pooled = 0; /* the whole pool goes with the old backend */
        struct blkdev_req *r = s->r;
        s->r = NULL;
        unsigned k = n++;
        for (; k > 0 && out[k - 1]->id > r->id; k--)
            out[k] = out[k - 1];
        out[k] = r;
    }
    queues_reset(bf);
    return n;
}

static void wait_readded(struct blkfront *bf)
{
    char path[192];
    snprintf(path, sizeof(path), "%s/state", bf->c.xb.nodename);
    xs_watch(path, "bfreadd");
    while (xenbus_read_state(bf->c.xb.nodename) != XenbusStateInitialising)
        xs_wait_watch("bfreadd", NULL, 0);
    xs_unwatch(path, "bfreadd");
}

static void bf_service(struct blkdev *d)
{
    static struct blkdev_req *pending[BLKIF_MAX_QUEUES * BLKIF_RING_SIZE];
    struct blkfront *bf = (struct blkfront *)d;
    int st = xenbus_read_state(bf->c.xb.otherend);
    if (st != XenbusStateUnknown && st < XenbusStateClosing)
        return; /* a transition of a live backend: nothing to do */
    unwatch_backend(bf);
    int f = irq_save();
    for (unsigned q = 0; q < bf->c.nq; q++)
        bf_event(bf->c.q[q].port, bf); /* responses it posted before it went */
    unsigned n = take_inflight(bf, pending);
    if (bf->c.persistent)
        revoke_persistent(bf); /* the new backend gets a fresh pool */
    irq_restore(f);
    unsigned old = bf->c.be;
    printf("blkfront: vbd %d: backend dom%u gone (state %d) with %u requests in flight\n",
           bf->c.xb.devid, old, st, n);
    for (unsigned q = 0; q < bf->c.nq; q++) {
        evtchn_unbind(bf->c.q[q].port);
        if (gnttab_end_access((grant_ref_t)bf->c.q[q].ring_ref) == 0)
            page_free(bf->c.q[q].sring, 1);
    }
    xenbus_switch_state(bf->c.xb.nodename, XenbusStateClosing);
    xenbus_switch_state(bf->c.xb.nodename, XenbusStateClosed);
    wait_readded(bf);
    uint64_t sectors = bf->c.sectors;
    int rc =
        blkif_connect(&bf->c, bf->c.xb.devid, bf->want_persistent, bf->want_queues, bf_event, bf);
    if (rc || bf->c.sectors != sectors) {
        printf("blkfront: vbd %d: cannot reconnect (%d): %u requests fail\n", bf->c.xb.devid, rc,
               n);
        bf->broken = 1;
        for (unsigned i = 0; i < n; i++) {
            pending[i]->status = -XEN_EIO;
            pending[i]->done(pending[i]);
            bf->dev.completions++;
        }
        return;
    }
    bf->dev.max_inflight = bf->c.nq * BLKIF_RING_SIZE;
    f = irq_save();
    for (unsigned i = 0; i < n; i++)
        if (bf_submit_locked(bf, pending[i]))
            printf("blkfront: request 0x%llx could not be resubmitted\n",
                   (unsigned long long)pending[i]->id);
    irq_restore(f);
    bf_kick(d);
    bf->resubmitted += n;
    bf->reconnects++;
    watch_backend(bf);
    printf("blkfront: vbd %d: reconnected to backend dom%u (was dom%u): %u requests resubmitted\n",
           bf->c.xb.devid, bf->c.be, old, n);
}

static void bf_close(struct blkdev *d)
{
    struct blkfront *bf = (struct blkfront *)d;
    unwatch_backend(bf);
    unsigned inflight = 0;
    for (unsigned q = 0; q < bf->c.nq; q++)
        inflight += BLKIF_RING_SIZE - bf->bq[q].nfree;
    if (inflight)
        printf("blkfront: closing with %u requests in flight\n", inflight);
    int st = blkif_close(&bf->c, revoke_persistent, bf, 0);
    printf("blkfront: vbd %d closed (backend state %d)", bf->c.xb.devid, st);
    if (bf->reconnects)
        printf(": %u reconnects, %u requests resubmitted", bf->reconnects, bf->resubmitted);
    printf("\n");
}

static const struct blkdev_ops bf_ops = {
    .submit = bf_submit,
    .kick = bf_kick,
    .close = bf_close,
    .attention = bf_attention,
    .service = bf_service,
};

struct blkdev *blkfront_open(int devid, int want_persistent, unsigned queues)
{
    struct blkfront *bf = &bfront;
    for (unsigned q = 0; q < BLKIF_MAX_QUEUES; q++) {
        bf->bq[q].nfree = BLKIF_RING_SIZE;
        for (unsigned i = 0; i < BLKIF_RING_SIZE; i++)
            bf->bq[q].free_stack[i] = (int16_t)((q + 1) * BLKIF_RING_SIZE - 1 - i);
    }
    tagmap_init(&bf->tags);
    if (queues < 1 || queues > BLKIF_MAX_QUEUES) {
        printf("blkfront: queues=%u: expected 1..%d\n", queues, BLKIF_MAX_QUEUES);
        return NULL;
    }
    bf->want_persistent = want_persistent;
    bf->want_queues = queues;
    if (blkif_connect(&bf->c, devid, want_persistent, queues, bf_event, bf))
        return NULL;
    watch_backend(bf);
    snprintf(bf->name, sizeof(bf->name), "vbd%d", bf->c.xb.devid);
    bf->dev = (struct blkdev){
        .name = bf->name,
        .sectors = bf->c.sectors,
        .sector_size = bf->c.sector_size,
        .max_inflight = bf->c.nq * BLKIF_RING_SIZE,
        .can_flush = (uint32_t)bf->c.flush,
        .ops = &bf_ops,
    };
    printf("blkfront: vbd %d: %llu sectors, sector size %u, backend dom%u, persistent grants %s, "
           "%u queue%s\n",
           bf->c.xb.devid, (unsigned long long)bf->c.sectors, bf->c.sector_size, bf->c.be,
           bf->c.persistent ? "on" : "off", bf->c.nq, bf->c.nq == 1 ? "" : "s");
    return &bf->dev;
}
