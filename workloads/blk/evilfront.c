/*
 * blk_evil.elf: a malicious blkif frontend. It connects like blkfront
 * (blkif_connect), then drives the shared ring by hand, one request at a
 * time, and checks (GCHECK) the backend's answer to each:
 *
 *   valid READ of sector 0 (1 page)                      -> OKAY
 *   WRITE straddling the end of the disk                 -> ERROR
 *   WRITE whose sector_number + length wraps around 2^64 -> ERROR
 *   WRITE with nr_segments = 0                           -> ERROR
 *   WRITE with nr_segments = 12 (one past the array)     -> ERROR
 *   WRITE with a segment first_sect > last_sect          -> ERROR
 *   WRITE with a segment last_sect = 8                   -> ERROR
 *   WRITE whose 2nd segment's gref was never granted     -> ERROR
 *   WRITE with a gref granted to another domain          -> ERROR
 *   READ into a page granted read-only                   -> ERROR
 *   unknown operation 0xEE, and DISCARD (not offered)    -> EOPNOTSUPP
 *   valid READ again (the backend still serves us)       -> OKAY
 *
 * Every bad WRITE carries sectors stamped HOPSIM_EVIL_MAGIC (word 0) and
 * the sector index (word 1), so the host can check that none reached the
 * disk. Every response must carry the request's id. Then it moves the
 * ring's req_prod RING_SIZE + 1 past the backend's responses and checks
 * that the backend goes Closing (or Closed) within the timeout; sends one
 * more request and checks that no response arrives within the timeout;
 * closes (Closing, Closed) and checks the backend ends Closed.
 *
 * Arguments: devid=N (default: the lowest vbd), persistent=0|1 (offer feature-persistent, 0),
 * timeout_ms=N (500). Waiting uses the runtime's timer (sleep_ns polling);
 * the event handler exists only to wake us.
 */
#include "blkfront.h"

#include <hopsim/blkpattern.h>

#define POLL_NS 20000ull
#define EVIL_PAGES 2
#define OP_UNKNOWN 0xee

struct evil {
    struct blkif_conn c;
    uint8_t *data; /* EVIL_PAGES of EVIL sectors, granted read-only */
    uint8_t *rd;   /* one page for valid READs, granted read-write */
    int ref_data[EVIL_PAGES], ref_rd, ref_ro_rd, ref_other;
    grant_ref_t never;
    uint64_t timeout_ns;
    uint32_t seq;
};

static struct evil ev;

static void evil_event(evtchn_port_t port, void *data)
{
    (void)port;
    (void)data; /* responses are read in program context */
}

/* 1 when a response is waiting, 0 after timeout_ns without one. */
static int wait_response(struct evil *e, uint64_t timeout_ns)
{
    uint64_t deadline = time_now_ns() + timeout_ns;
    while (READ_ONCE(e->c.q[0].sring->rsp_prod) == e->c.q[0].ring.rsp_cons) {
        if (time_now_ns() >= deadline)
            return 0;
        sleep_ns(POLL_NS);
    }
    rmb(); /* the response after rsp_prod */
    return 1;
}

/* Put *tmpl on the ring with a fresh id, notify, and return the response status. */
static int send(struct evil *e, const blkif_request_t *tmpl, const char *what)
{
    uint64_t id = HOPSIM_REQ(xen_domid, ++e->seq);
    int notify;
    blkif_request_t *req = RING_GET_REQUEST(&e->c.q[0].ring, e->c.q[0].ring.req_prod_pvt);
    *req = *tmpl;
    req->id = id;
    trace_ctx(id);
    trace_hop(HOP_H1, id);
    trace_hop(HOP_H2, id);
    e->c.q[0].ring.req_prod_pvt++;
    RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&e->c.q[0].ring, notify);
    if (notify)
        evtchn_send(e->c.q[0].port);
    if (!GCHECK(wait_response(e, e->timeout_ns))) {
        printf("evil: %s: no response\n", what);
        trace_ctx(HOPSIM_NOREQ);
        return 1;
    }
    const blkif_response_t *rsp = RING_GET_RESPONSE(&e->c.q[0].ring, e->c.q[0].ring.rsp_cons);
    int status = rsp->status;
    GCHECK_EQ(rsp->id, id);
    e->c.q[0].ring.rsp_cons++;
    trace_hop(HOP_H8, id);
    trace_done(id);
    trace_ctx(HOPSIM_NOREQ);
    printf("evil: %s -> %d\n", what, status);
    return status;
}

static blkif_request_t rw_req(uint8_t op, uint64_t sector, uint8_t nseg, grant_ref_t gref)
{
    blkif_request_t r = {.operation = op, .nr_segments = nseg, .sector_number = sector};
    r.handle = (blkif_vdev_t)ev.c.xb.devid;
    for (unsigned i = 0; i < BLKIF_MAX_SEGMENTS_PER_REQUEST; i++)
        r.seg[i] = (struct blkif_request_segment){.gref = gref, .first_sect = 0, .last_sect = 7};
    return r;
}

/* ---- set-up ---- */

static void fill_evil(uint8_t *p, unsigned pages)
{
    for (unsigned s = 0; s < pages * (PAGE_SIZE / HOPSIM_SECTOR); s++) {
        uint64_t *w = (uint64_t *)(p + s * HOPSIM_SECTOR);
        w[0] = HOPSIM_EVIL_MAGIC;
        w[1] = s;
    }
}

static int grant_pages(struct evil *e)
{
    domid_t be = e->c.be,
            other = (domid_t)(xen_domid + 100 == be ? xen_domid + 101 : xen_domid + 100);
    e->data = page_zalloc(EVIL_PAGES);
    e->rd = page_zalloc(1);
    if (!e->data || !e->rd)
        return -1;
    fill_evil(e->data, EVIL_PAGES);
    for (unsigned i = 0; i < EVIL_PAGES; i++)
        e->ref_data[i] = gnttab_grant_access(be, virt_to_pfn(e->data + i * PAGE_SIZE), 1);
    e->ref_rd = gnttab_grant_access(be, virt_to_pfn(e->rd), 0);
    e->ref_ro_rd = gnttab_grant_access(be, virt_to_pfn(e->rd), 1);
    e->ref_other = gnttab_grant_access(other, virt_to_pfn(e->data), 1);
    e->never = (grant_ref_t)(gnttab_nr_entries() - 1);
    if (e->ref_data[0] < 0 || e->ref_data[1] < 0 || e->ref_rd < 0 || e->ref_ro_rd < 0 ||
        e->ref_other < 0)
        return -1;
    GCHECK_EQ(gnttab_entry_flags(e->never), 0); /* really never granted */
    return 0;
}

static void revoke(void *data)
{
    struct evil *e = data;
    int refs[] = {e->ref_data[0], e->ref_data[1], e->ref_rd, e->ref_ro_rd, e->ref_other};
    for (unsigned i = 0; i < ARRAY_SIZE(refs); i++)
        GCHECK_EQ(gnttab_end_access((grant_ref_t)refs[i]), 0);
}

/* ---- the attacks ---- */

static void bad_writes(struct evil *e)
{
    grant_ref_t d0 = (grant_ref_t)e->ref_data[0];
    blkif_request_t r = rw_req(BLKIF_OP_WRITE, e->c.sectors - 4, 1, d0);
    GCHECK_EQ(send(e, &r, "write straddling the end"), BLKIF_RSP_ERROR);
    r = rw_req(BLKIF_OP_WRITE, ~0ull - 3, 1, d0);
    GCHECK_EQ(send(e, &r, "write wrapping 2^64"), BLKIF_RSP_ERROR);
    r = rw_req(BLKIF_OP_WRITE, 0, 0, d0);
    GCHECK_EQ(send(e, &r, "write with 0 segments"), BLKIF_RSP_ERROR);
    r = rw_req(BLKIF_OP_WRITE, 0, BLKIF_MAX_SEGMENTS_PER_REQUEST + 1, d0);
    GCHECK_EQ(send(e, &r, "write with 12 segments"), BLKIF_RSP_ERROR);
    r = rw_req(BLKIF_OP_WRITE, 0, 1, d0);
    r.seg[0].first_sect = 5;
    r.seg[0].last_sect = 2;
    GCHECK_EQ(send(e, &r, "write with first_sect > last_sect"), BLKIF_RSP_ERROR);
    r.seg[0].first_sect = 0;
    r.seg[0].last_sect = 8;
    GCHECK_EQ(send(e, &r, "write with last_sect = 8"), BLKIF_RSP_ERROR);
}

static void bad_grants(struct evil *e)
{
    blkif_request_t r = rw_req(BLKIF_OP_WRITE, 0, 2, (grant_ref_t)e->ref_data[0]);
    r.seg[1].gref = e->never;
    GCHECK_EQ(send(e, &r, "write with a never-granted gref"), BLKIF_RSP_ERROR);
    r = rw_req(BLKIF_OP_WRITE, 0, 1, (grant_ref_t)e->ref_other);
    GCHECK_EQ(send(e, &r, "write with a gref granted to another domain"), BLKIF_RSP_ERROR);
    r = rw_req(BLKIF_OP_READ, 0, 1, (grant_ref_t)e->ref_ro_rd);
    GCHECK_EQ(send(e, &r, "read into a read-only grant"), BLKIF_RSP_ERROR);
}

static void bad_ops(struct evil *e)
{
    blkif_request_t r = rw_req(OP_UNKNOWN, 0, 1, (grant_ref_t)e->ref_data[0]);
    GCHECK_EQ(send(e, &r, "unknown operation"), BLKIF_RSP_EOPNOTSUPP);
    r = rw_req(BLKIF_OP_DISCARD, 0, 1, (grant_ref_t)e->ref_data[0]);
    GCHECK_EQ(send(e, &r, "discard (not offered)"), BLKIF_RSP_EOPNOTSUPP);
}

static void valid_read(struct evil *e, const char *what)
{
    blkif_request_t r = rw_req(BLKIF_OP_READ, 0, 1, (grant_ref_t)e->ref_rd);
    r.seg[0].last_sect = (uint8_t)(e->c.sector_size / 512 - 1);
    GCHECK_EQ(send(e, &r, what), BLKIF_RSP_OKAY);
}

/* req_prod RING_SIZE + 1 past the responses: the backend must disconnect us. */
static void overflow(struct evil *e)
{
    blkif_front_ring_t *ring = &e->c.q[0].ring;
    wmb();
    ring->sring->req_prod = ring->req_prod_pvt + RING_SIZE(ring) + 1;
    mb();
    evtchn_send(e->c.q[0].port);
    int st = blkif_wait_backend(&e->c, XenbusStateClosing, e->timeout_ns);
    printf("evil: ring overflow -> backend state %d\n", st);
    GCHECK(st == XenbusStateClosing || st == XenbusStateClosed);
}

/* After the disconnect: one more request must get no response. */
static void ignored(struct evil *e)
{
    blkif_front_ring_t *ring = &e->c.q[0].ring;
    RING_IDX rsp_before = READ_ONCE(ring->sring->rsp_prod);
    blkif_request_t r = rw_req(BLKIF_OP_READ, 0, 1, (grant_ref_t)e->ref_rd);
    r.id = HOPSIM_REQ(xen_domid, ++e->seq);
    *RING_GET_REQUEST(ring, ring->sring->req_prod) = r;
    wmb();
    ring->sring->req_prod++;
    mb();
    evtchn_send(e->c.q[0].port); /* the backend's end may be closed: the result does not matter */
    sleep_ns(e->timeout_ns);
    GCHECK_EQ(READ_ONCE(ring->sring->rsp_prod), rsp_before);
}

ARG_INT(timeout_ms, 0, INT32_MAX, "how long to wait for each answer");
ARG_INT(devid, -1, INT32_MAX, "the vbd to attack (-1: the first)");
ARG_BOOL(persistent, "negotiate persistent grants");

int app_main(void)
{
    struct evil *e = &ev;
    e->timeout_ns = (uint64_t)arg_int("timeout_ms", 500) * 1000000ull;
    if (blkif_connect(&e->c, (int)arg_int("devid", -1), arg_int("persistent", 0) != 0, 1,
                      evil_event, e) ||
        grant_pages(e)) {
        printf("evil: set-up failed\n");
        return 1;
    }
    valid_read(e, "valid read");
    bad_writes(e);
    bad_grants(e);
    bad_ops(e);
    valid_read(e, "valid read after the attacks");
    overflow(e);
    ignored(e);
    int st = blkif_close(&e->c, revoke, e, e->timeout_ns);
    GCHECK_EQ(st, XenbusStateClosed);
    return 0;
}
