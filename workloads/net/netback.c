/*
 * netback: the Xen network backend (io/netif.h) over the native e1000
 * driver, in the backend domain that owns the NIC (xen-dom0's dom0, or
 * the uefi-rt runtime service): a software bridge between the vifs of
 * this domain and the wire, like Linux's xen-netback with a bridge.
 *
 * Arguments (start_info cmd_line):
 *   grants=map|copy     how TX data reaches the NIC.
 *                       map (Linux's way): grant-copy the first up-to-128
 *                       bytes (XEN_NETBACK_TX_COPY_LEN) into a header
 *                       buffer of ours and grant-map the frame's page
 *                       (GNTMAP_host_map | GNTMAP_device_map |
 *                       GNTMAP_readonly) so the NIC reads the rest from
 *                       the frontend's page: two descriptors (one for a
 *                       frame of <= 128 bytes); unmapped at completion.
 *                       copy: grant-copy the whole frame into a buffer of
 *                       ours: one descriptor. (grants=persistent, a blkback
 *                       mode, means map here: io/netif.h has no persistent
 *                       grants.)
 *   nic_ring=N          NIC descriptors per ring, 8..4096, multiple of 8 (256)
 *   itr_ns=N            NIC interrupt throttling interval, 0 = off (0)
 *   mtu=N               payload bytes after the Ethernet header, 68..1508 (1500;
 *                       1508: the NIC's 1522-byte frame limit)
 * A domain without the NIC has no network backend (netback_init returns 1
 * and ignores the arguments).
 *
 * Handshake, per vif (the toolstack wrote /local/domain/<self>/backend/
 * vif/<fe>/<devid> with frontend, frontend-id, mac, handle, online=1,
 * state=1): read "mac" (our copy, xx:xx:xx:xx:xx:xx: the address the
 * bridge delivers to), write feature-rx-copy = 1, feature-rx-flip = 0,
 * feature-sg = 0, feature-gso-tcpv4 = 0, then InitWait. When the frontend
 * is Connected (netfront goes Initialising -> Connected; Initialised is
 * accepted too): read tx-ring-ref, rx-ring-ref, event-channel and
 * request-rx-copy (must be 1: we never flip pages), map both rings, bind
 * the one event channel, Connected. The frontend's Closing or Closed -> we
 * disconnect (wait for the NIC to finish this vif's transmits, unmap
 * everything) and go Closing; its Closed -> Closed, with the vif's
 * counters printed. At most MAX_VIFS (64) vifs: one more is refused
 * visibly (an "error" node, Closed), as blkback refuses a vbd.
 *
 * TX, frontend -> wire (event handler, upcall context): consume every
 * packet there is room for, ring the NIC's doorbell once, then
 * RING_FINAL_CHECK_FOR_REQUESTS. Each slot is copied out of the shared
 * ring field by field, once, before it is checked. Rules (Linux's
 * xenvif_tx_build_gops / xenvif_count_requests):
 *   size 14..mtu + 14 and offset + size <= PAGE_SIZE, the grant copied (and
 *   mapped) -> else XEN_NETIF_RSP_ERROR, and nothing reaches the NIC;
 *   NETTXF_extra_info (no GSO or multicast control was negotiated): the
 *   packet gets XEN_NETIF_RSP_ERROR and each extra slot (followed while
 *   XEN_NETIF_EXTRA_FLAG_MORE, at most one per type) XEN_NETIF_RSP_NULL;
 *   NETTXF_more_data (a fragment chain; feature-sg = 0 was advertised):
 *   a chain still open at req_prod is left on the ring until more is
 *   pushed; a complete chain of <= XEN_NETBK_LEGACY_SLOTS_MAX (18) slots
 *   gets XEN_NETIF_RSP_ERROR for its first slot and XEN_NETIF_RSP_NULL for
 *   the others (we do no scatter-gather);
 *   fatal, the vif is disconnected (Linux's xenvif_fatal_tx_err): a chain
 *   of more than 18 slots, more extra slots than types, or a req_prod more
 *   than RING_SIZE ahead of our responses (RING_REQUEST_PROD_OVERFLOW).
 *   A broken vif's port is masked at once, later requests are ignored, and
 *   program context disconnects it (backend_wake); other vifs go on.
 * A packet is taken off the ring only when the NIC has the descriptors it
 * needs, a buffer of ours and a request slot of its vif are free;
 * otherwise the vif stalls and is resumed after the next NIC interrupt,
 * stalled vifs in round-robin order. The TX response (XEN_NETIF_RSP_OKAY,
 * or XEN_NETIF_RSP_DROPPED if the NIC failed it) is written when the NIC
 * has sent the frame -- the frontend's page stays granted until then, and
 * in copy mode too a transmit's hops include the device.
 *
 * RX, wire -> frontend (the NIC's receive callback, in its interrupt
 * handler): bridge on the destination MAC: broadcast / multicast (bit 0
 * of the first byte) to every connected vif, a vif's MAC to that vif,
 * anything else dropped (counted as an unknown destination). Per target
 * vif: no RX request posted -> the frame is dropped for that vif
 * (rx_dropped; a flood into a vif that never posts buffers hurts that vif
 * only); an RX ring overflow breaks the vif as above. Otherwise the
 * request (id, gref copied once) is consumed and the frame grant-copied
 * (GNTTABOP_copy, our NIC buffer -> GNTCOPY_dest_gref at offset 0) into
 * it; the response is {id, offset 0, NETRXF_data_validated, status = len,
 * or XEN_NETIF_RSP_ERROR if the copy failed}. Frames are never forwarded
 * from one vif to another: every TX frame goes to the wire.
 *
 * Responses of both rings are pushed with RING_PUSH_RESPONSES_AND_CHECK_
 * NOTIFY once per NIC interrupt per vif (and once per frontend event), one
 * evtchn_send for both rings when either needs it.
 *
 * Counters per vif: tx packets (sent), tx errors (packets answered with
 * anything but OKAY), rx packets (delivered), rx dropped (no RX request
 * posted, or the copy failed); printed when the vif closes. The bridge
 * counts frames to unknown destinations and malformed ones (netback_fini).
 *
 * Memory ordering (io/ring.h, x86 TSO): req_prod is read before the
 * requests (read barrier); responses are written before the push's write
 * barrier publishes rsp_prod, whose full barrier orders it before the
 * rsp_event read. RING_FINAL_CHECK_FOR_REQUESTS writes req_event, then a
 * full barrier, then re-reads req_prod; waiting for the rest of a packet
 * does the same with req_event just past the last slot pushed.
 *
 * Hops (test frames carry their request id in the tag, hopsim/netpkt.h):
 * TX: H4 once the header is copied and the tag read (the hypervisor moved
 * the request H2 -> H3 on the notify), the NIC marks H5, H6 at the TX
 * response -- only if the transmit ends the request
 * (netdev_tx_ends_request: a frame that waits for a reply keeps its
 * request at the device). RX: H6 at the response (the NIC marked H5).
 * The push's notify moves H6 -> H7; a push that needs no notify skips it.
 * The header is copied before the size rules are checked whenever the
 * copy stays within the frontend's page and our buffer, so a malformed
 * test frame is traced H4 .. H6 too, like blkback's rejected requests.
 */
#include "netif_check.h"
#include "netback.h"

#include "guest.h"

#include <xen/io/netif.h>

#include "../back/backend.h"
#include "dma.h"
#include "e1000drv.h"
#include "netdev.h"
#include "netfront.h"

/* Linux's names for io/netif.h's NETIF_RSP_* and its netback limits. */
#ifndef XEN_NETIF_RSP_OKAY
#define XEN_NETIF_RSP_DROPPED NETIF_RSP_DROPPED
#define XEN_NETIF_RSP_ERROR NETIF_RSP_ERROR
#define XEN_NETIF_RSP_OKAY NETIF_RSP_OKAY
#define XEN_NETIF_RSP_NULL NETIF_RSP_NULL
#endif
#define XEN_NETBK_LEGACY_SLOTS_MAX XEN_NETIF_NR_SLOTS_MIN /* 18 */
#define XEN_NETBACK_TX_COPY_LEN 128
_Static_assert(XEN_NETBK_LEGACY_SLOTS_MAX == 18, "messages say 18");
_Static_assert(E1K_MAX_FRAME <= PAGE_SIZE / 2, "a copied frame fits half a page");

#define MAX_VIFS 64
#define TX_SLOTS NET_TX_RING_SIZE                 /* requests of a vif at the NIC at once */
#define MAX_EXTRAS (XEN_NETIF_EXTRA_TYPE_MAX - 1) /* one extra slot per type */
#define MTU_MIN 68
#define MTU_MAX (E1K_MAX_FRAME - HOPSIM_ETH_HLEN) /* 1508: frames of up to 1522 bytes */
#define ITR_MAX 1000000000L
#define MSG_LIMIT 16 /* messages printed per vif about its requests */

enum grant_mode { GM_MAP, GM_COPY };
enum vif_state { VIF_NEW, VIF_CONNECTED, VIF_CLOSING, VIF_CLOSED };
/* What tx_one did with the packet at req_cons. */
enum { TX_NEXT, TX_STALL, TX_WAIT, TX_FATAL };

/* A buffer of ours the NIC reads: a frame's header (map) or the whole frame (copy). */
struct nb_buf {
    uint8_t *va;
    uint64_t bus;
};

/* A TX packet taken off the ring and not yet answered. */
struct nb_tx {
    struct vif *v;
    struct nb_buf *buf;
    uint64_t req;      /* the test frame's request id, HOPSIM_NOREQ for other frames */
    void *addr;        /* map mode: the frame's page in the grant window */
    uint64_t page_bus; /* its dev_bus_addr */
    grant_handle_t handle;
    uint16_t id;    /* io/netif.h request id, echoed in the response */
    uint16_t index; /* in v->slot[] */
    uint16_t hlen;  /* bytes of the frame in buf */
    uint8_t mapped;
};

struct vif {
    enum vif_state state;
    domid_t fe;
    int devid;
    char nodename[128]; /* our backend directory */
    char fepath[128];   /* the frontend's directory */
    uint8_t mac[6];
    netif_tx_back_ring_t tx;
    netif_rx_back_ring_t rx;
    void *tx_addr, *rx_addr;
    grant_handle_t tx_handle, rx_handle;
    evtchn_port_t port;
    struct nb_tx slot[TX_SLOTS];
    uint16_t free_slot[TX_SLOTS]; /* stack of free slot[] indices */
    unsigned nfree;
    unsigned inflight; /* at the NIC */
    int unpushed;      /* responses written since the last push */
    int stalled;       /* stopped taking packets for want of a slot, buffer or descriptor */
    int broken;        /* fatal error: disconnect from program context */
    uint64_t push_req; /* first traced request answered since the last push */
    unsigned msgs;
    unsigned long tx_packets, tx_errors, rx_packets, rx_dropped;
};

static struct vif vifs[MAX_VIFS];
static int nvifs;
static struct e1k *nic;
static enum grant_mode mode;
static unsigned mtu, nic_ring;
static char base[96]; /* /local/domain/<self>/backend/vif */
static unsigned long rx_unknown, rx_bad;

/* Buffer pool: nic_ring buffers (no more frames than descriptors are in flight). */
static struct nb_buf *bufs;
static struct nb_buf **buf_free;
static unsigned nbufs, nbuf_free, bufsz;

static int vif_live(const struct vif *v)
{
    return v->state == VIF_CONNECTED && !v->broken;
}

/* A message about a vif's requests; a frontend that sends garbage does not flood the console. */
static void vif_msg(struct vif *v, const char *fmt, ...) __printf(2, 3);
static void vif_msg(struct vif *v, const char *fmt, ...)
{
    if (v->msgs > MSG_LIMIT)
        return;
    if (v->msgs++ == MSG_LIMIT) {
        printf("netback: dom%u vif %d: further messages suppressed\n", v->fe, v->devid);
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    printf("netback: dom%u vif %d: ", v->fe, v->devid);
    vprintf(fmt, ap);
    va_end(ap);
}

/* Fatal for the vif: stop serving it now; program context disconnects it. */
static void vif_broken(struct vif *v, const char *why)
{
    printf("netback: dom%u vif %d: %s: disconnecting\n", v->fe, v->devid, why);
    v->broken = 1;
    evtchn_mask(v->port);
    backend_wake = 1;
}

static void ring_overflow(struct vif *v, const char *ring, RING_IDX rp, RING_IDX rsp, unsigned size)
{
    char why[128];
    snprintf(why, sizeof(why), "%s req_prod %u is %u ahead of our responses (ring of %u)", ring, rp,
             rp - rsp, size);
    vif_broken(v, why);
}

/* ---- buffers and slots (upcall context only) ---- */

static struct nb_buf *buf_get(void)
{
    return buf_free[--nbuf_free];
}

static void buf_put(struct nb_buf *b)
{
    buf_free[nbuf_free++] = b;
}

static struct nb_tx *slot_alloc(struct vif *v)
{
    return &v->slot[v->free_slot[--v->nfree]];
}

static void slot_free(struct vif *v, struct nb_tx *p)
{
    v->free_slot[v->nfree++] = p->index;
}

/* ---- TX grants ---- */

/* Map the frame's page for the NIC to read: 0, or -1 (nothing mapped). */
static int tx_map(struct vif *v, struct nb_tx *p, grant_ref_t gref)
{
    void *slot = gnttab_slot_alloc();
    if (!slot) {
        vif_msg(v, "tx request %u: no grant window slot free\n", p->id);
        return -1;
    }
    struct gnttab_map_grant_ref op = {
        .host_addr = (uint64_t)slot,
        .flags = GNTMAP_host_map | GNTMAP_device_map | GNTMAP_readonly, /* the NIC only reads */
        .ref = gref,
        .dom = v->fe,
        .status = GNTST_no_space,
    };
    int rc = HYPERVISOR_grant_table_op(GNTTABOP_map_grant_ref, &op, 1);
    if (rc || op.status != GNTST_okay) {
        gnttab_slot_free(slot);
        vif_msg(v, "tx request %u: map of gref %u failed: %d/%d\n", p->id, gref, rc, op.status);
        return -1;
    }
    p->addr = slot;
    p->handle = op.handle;
    p->page_bus = op.dev_bus_addr & ~(uint64_t)(PAGE_SIZE - 1);
    p->mapped = 1;
    return 0;
}

static void tx_unmap(struct vif *v, struct nb_tx *p)
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
        printf("netback: dom%u vif %d: unmap of a tx page failed: %d/%d\n", v->fe, v->devid, rc,
               op.status);
    p->mapped = 0;
}

/* ---- responses ---- */

static void tx_put(struct vif *v, uint16_t id, int16_t status)
{
    netif_tx_response_t *rsp = RING_GET_RESPONSE(&v->tx, v->tx.rsp_prod_pvt);
    rsp->id = id;
    rsp->status = status;
    v->tx.rsp_prod_pvt++;
    v->unpushed = 1;
}

static void note_push_req(struct vif *v, uint64_t req)
{
    if (!v->push_req)
        v->push_req = req;
}

/* Answer a taken packet (grants already released) and free its slot and buffer. */
static void tx_finish(struct vif *v, struct nb_tx *p, int16_t status)
{
    uint64_t req;
    int ends = netdev_tx_ends_request(p->buf->va, p->hlen, &req);
    if (vif_live(v)) {
        if (ends) {
            trace_hop(HOP_H6, req);
            trace_begin(SPAN_RING_PUT, req);
        }
        tx_put(v, p->id, status);
        if (ends) {
            trace_end(SPAN_RING_PUT, req);
            note_push_req(v, req);
        }
    }
    if (status == XEN_NETIF_RSP_OKAY)
        v->tx_packets++;
    else
        v->tx_errors++;
    buf_put(p->buf);
    slot_free(v, p);
}

/* Publish both rings' responses, one notify for the two (upcall context). */
static void push_responses(struct vif *v)
{
    int ntx = 0, nrx = 0;
    if (!v->unpushed || !vif_live(v))
        return;
    RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&v->tx, ntx);
    RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&v->rx, nrx);
    v->unpushed = 0;
    if (ntx || nrx) {
        /* the notify carries the batch's first traced request (none: the hypervisor picks) */
        trace_ctx(v->push_req);
        evtchn_send(v->port);
        if (v->push_req)
            trace_ctx(HOPSIM_NOREQ);
    }
    v->push_req = HOPSIM_NOREQ;
}

/* NIC transmit completion (its interrupt handler, upcall context). */
static void tx_done(void *arg, int status)
{
    struct nb_tx *p = arg;
    struct vif *v = p->v;
    tx_unmap(v, p);
    v->inflight--;
    tx_finish(v, p, status ? XEN_NETIF_RSP_DROPPED : XEN_NETIF_RSP_OKAY);
}

/* ---- TX requests ---- */

/*
 * The slots of the packet at req_cons (first slot's flags given): TX_NEXT
 * with the number of extra slots and of all slots; TX_WAIT when the packet
 * continues past rp; TX_FATAL with *why.
 */
static int tx_count(const struct vif *v, uint16_t flags, RING_IDX rp, unsigned *nextra,
                    unsigned *nslots, const char **why)
{
    const netif_tx_back_ring_t *ring = &v->tx;
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
static int tx_multi(struct vif *v, const netif_tx_request_t *r, RING_IDX rp)
{
    netif_tx_back_ring_t *ring = &v->tx;
    unsigned nextra = 0, nslots = 0;
    const char *why = NULL;
    int c = tx_count(v, r->flags, rp, &nextra, &nslots, &why);
    if (c == TX_FATAL)
        vif_broken(v, why);
    if (c != TX_NEXT)
        return c;
    vif_msg(v, "tx request %u (%u slots, %u extra): %s not negotiated\n", r->id, nslots, nextra,
            nextra ? "extra info" : "scatter-gather");
    RING_IDX cons = ring->req_cons;
    ring->req_cons += nslots;
    tx_put(v, r->id, XEN_NETIF_RSP_ERROR);
    for (unsigned i = 1; i < nslots; i++) {
        /*
         * Response i lands at or before slot cons + i: read that slot's id
         * before writing it. Extra slots have no id.
         */
        uint16_t id = i > nextra ? READ_ONCE(RING_GET_REQUEST(ring, cons + i)->id) : 0;
        tx_put(v, id, XEN_NETIF_RSP_NULL);
    }
    v->tx_errors++;
    return TX_NEXT;
}

/* The single-slot rules, on our copy of the request: XEN_NETIF_RSP_OKAY or ERROR. */
static int16_t tx_check(struct vif *v, const netif_tx_request_t *r, int copy_st, uint64_t req)
{
    const char *why = NULL;
    int st = 0; /* the copy's status, when that is what failed */
    if (req)
        trace_begin(SPAN_CHECK, req);
    why = netif_check_tx(r->size, r->offset, mtu);
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
static int16_t tx_issue(struct vif *v, struct nb_tx *p, const netif_tx_request_t *r, unsigned nseg)
{
    uint64_t bus[2] = {p->buf->bus, 0};
    uint16_t len[2] = {p->hlen, 0};
    if (nseg == 2) {
        bus[1] = p->page_bus + r->offset + p->hlen;
        len[1] = (uint16_t)(r->size - p->hlen);
    }
    v->inflight++;
    int rc = e1k_xmit(nic, p->req, bus, len, nseg, tx_done, p);
    if (!rc)
        return XEN_NETIF_RSP_OKAY;
    v->inflight--;
    vif_msg(v, "tx request %u refused by the NIC driver: %d\n", p->id, rc);
    return rc == -XEN_EINVAL ? XEN_NETIF_RSP_ERROR : XEN_NETIF_RSP_DROPPED;
}

/*
 * Take the single-slot packet r (copied from req_cons): copy its header
 * (map) or all of it (copy), read the tag, check, map, hand it to the NIC.
 * Resources were checked by the caller.
 */
static void tx_take(struct vif *v, const netif_tx_request_t *r, unsigned nseg)
{
    struct nb_buf *b = buf_get();
    unsigned hlen = mode == GM_COPY ? r->size : MIN(r->size, XEN_NETBACK_TX_COPY_LEN);
    int st = GNTST_bad_copy_arg;
    /* only a copy that stays within the frontend's page and our buffer; tx_check says why not */
    if (hlen <= bufsz && (unsigned)r->offset + hlen <= PAGE_SIZE)
        st = gnttab_copy_from_ref(v->fe, r->gref, r->offset, b->va, hlen);
    if (st != GNTST_okay)
        hlen = 0; /* nothing of the frame in b: no tag */
    uint64_t req = hopsim_pkt_req(b->va, hlen);
    if (req) {
        trace_ctx(req);
        trace_hop(HOP_H4, req);
        trace_begin(SPAN_RING_GET, req);
    }
    struct nb_tx *p = slot_alloc(v);
    p->buf = b;
    p->req = req;
    p->id = r->id;
    p->hlen = (uint16_t)hlen;
    p->mapped = 0;
    v->tx.req_cons++;
    if (req)
        trace_end(SPAN_RING_GET, req);
    int16_t rsp = tx_check(v, r, st, req);
    if (rsp == XEN_NETIF_RSP_OKAY && nseg == 2 && tx_map(v, p, r->gref))
        rsp = XEN_NETIF_RSP_ERROR;
    if (rsp == XEN_NETIF_RSP_OKAY)
        rsp = tx_issue(v, p, r, nseg);
    if (rsp != XEN_NETIF_RSP_OKAY) {
        tx_unmap(v, p);
        tx_finish(v, p, rsp);
    }
    if (req)
        trace_ctx(HOPSIM_NOREQ);
}

static int tx_one(struct vif *v, RING_IDX rp)
{
    const netif_tx_request_t *src = RING_GET_REQUEST(&v->tx, v->tx.req_cons);
    netif_tx_request_t r;
    r.gref = READ_ONCE(src->gref);
    r.offset = READ_ONCE(src->offset);
    r.flags = READ_ONCE(src->flags);
    r.id = READ_ONCE(src->id);
    r.size = READ_ONCE(src->size);
    if (r.flags & (NETTXF_extra_info | NETTXF_more_data))
        return tx_multi(v, &r, rp);
    unsigned nseg = mode == GM_MAP && r.size > XEN_NETBACK_TX_COPY_LEN ? 2 : 1;
    /* No free slot <=> RING_REQUEST_CONS_OVERFLOW: RING_SIZE packets unanswered. */
    if (!v->nfree || !nbuf_free || e1k_tx_free(nic) < nseg)
        return TX_STALL;
    tx_take(v, &r, nseg);
    return TX_NEXT;
}

/* Take every packet we have room for (upcall context). */
static void tx_process(struct vif *v)
{
    netif_tx_back_ring_t *ring = &v->tx;
    int more;
    v->stalled = 0;
    do {
        RING_IDX rp = READ_ONCE(ring->sring->req_prod);
        rmb(); /* requests after req_prod */
        if (RING_REQUEST_PROD_OVERFLOW(ring, rp)) {
            ring_overflow(v, "tx", rp, ring->rsp_prod_pvt, RING_SIZE(ring));
            return;
        }
        int r = TX_NEXT;
        while (ring->req_cons != rp && (r = tx_one(v, rp)) == TX_NEXT)
            ;
        if (r == TX_STALL) {
            v->stalled = 1;
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

static void vif_event(evtchn_port_t port, void *data)
{
    (void)port;
    struct vif *v = data;
    if (!vif_live(v))
        return;
    tx_process(v);
    push_responses(v);
    e1k_kick(nic);
}

/* ---- RX (the NIC's interrupt handler) ---- */

/* Copy the frame into v's next RX buffer: 1 if a response was written. */
static int rx_deliver(struct vif *v, const void *frame, unsigned len, int traced)
{
    netif_rx_back_ring_t *ring = &v->rx;
    RING_IDX rp = READ_ONCE(ring->sring->req_prod);
    rmb(); /* requests after req_prod */
    if (RING_REQUEST_PROD_OVERFLOW(ring, rp)) {
        ring_overflow(v, "rx", rp, ring->rsp_prod_pvt, RING_SIZE(ring));
        return 0;
    }
    if (ring->req_cons == rp) {
        v->rx_dropped++; /* no buffer posted */
        return 0;
    }
    const netif_rx_request_t *src = RING_GET_REQUEST(ring, ring->req_cons);
    uint16_t id = READ_ONCE(src->id);
    grant_ref_t gref = READ_ONCE(src->gref);
    ring->req_cons++;
    uint64_t req = traced ? hopsim_pkt_req(frame, len) : HOPSIM_NOREQ;
    if (req)
        trace_ctx(req);
    int st = gnttab_copy_to_ref(v->fe, gref, 0, frame, len);
    if (req) {
        trace_hop(HOP_H6, req);
        trace_begin(SPAN_RING_PUT, req);
    }
    /* the response takes the slot of the request just copied out */
    netif_rx_response_t *rsp = RING_GET_RESPONSE(ring, ring->rsp_prod_pvt);
    rsp->id = id;
    rsp->offset = 0;
    rsp->flags = NETRXF_data_validated;
    rsp->status = st == GNTST_okay ? (int16_t)len : XEN_NETIF_RSP_ERROR;
    ring->rsp_prod_pvt++;
    v->unpushed = 1;
    if (req) {
        trace_end(SPAN_RING_PUT, req);
        note_push_req(v, req);
        trace_ctx(HOPSIM_NOREQ);
    }
    if (st == GNTST_okay) {
        v->rx_packets++;
    } else {
        v->rx_dropped++;
        vif_msg(v, "rx request %u: copy to gref %u failed: %d\n", id, gref, st);
    }
    return 1;
}

static struct vif *vif_by_mac(const uint8_t *mac)
{
    for (int i = 0; i < nvifs; i++)
        if (vif_live(&vifs[i]) && !memcmp(vifs[i].mac, mac, 6))
            return &vifs[i];
    return NULL;
}

static void nb_rx(void *ctx, const void *frame, unsigned len)
{
    (void)ctx;
    const uint8_t *dst = frame;
    if (len < HOPSIM_ETH_HLEN || len > PAGE_SIZE) {
        rx_bad++;
        return;
    }
    if (dst[0] & 1) { /* broadcast / multicast: every vif; the trace follows the first copy */
        int traced = 1;
        for (int i = 0; i < nvifs; i++)
            if (vif_live(&vifs[i]) && rx_deliver(&vifs[i], frame, len, traced))
                traced = 0;
        return;
    }
    struct vif *v = vif_by_mac(dst);
    if (v)
        rx_deliver(v, frame, len, 1);
    else
        rx_unknown++;
}

/* After each NIC interrupt: push responses, resume stalled vifs in turn, one doorbell. */
static void nb_batch(void *ctx)
{
    (void)ctx;
    static int next;
    int n = nvifs;
    for (int i = 0; i < n; i++)
        push_responses(&vifs[i]);
    for (int k = 0; k < n; k++) {
        struct vif *v = &vifs[(next + k) % n];
        if (vif_live(v) && v->stalled) {
            tx_process(v);
            push_responses(v);
        }
    }
    if (n)
        next = (next + 1) % n;
    e1k_kick(nic);
}

/* ---- xenstore, program context ---- */

static int write_key(const struct vif *v, const char *key, unsigned long long val)
{
    char path[192];
    snprintf(path, sizeof(path), "%s/%s", v->nodename, key);
    return xs_printf(XBT_NIL, path, "%llu", val);
}

static int advertise(const struct vif *v)
{
    int rc = write_key(v, "feature-rx-copy", 1);
    rc = rc ? rc : write_key(v, "feature-rx-flip", 0);
    rc = rc ? rc : write_key(v, "feature-sg", 0);
    rc = rc ? rc : write_key(v, "feature-gso-tcpv4", 0);
    return rc ? rc : xenbus_switch_state(v->nodename, XenbusStateInitWait);
}

static int map_rings(struct vif *v, long txref, long rxref)
{
    int txst = GNTST_okay, rxst = GNTST_okay, f = irq_save();
    v->tx_addr = gnttab_map(v->fe, (grant_ref_t)txref, 0, &v->tx_handle, &txst);
    v->rx_addr = gnttab_map(v->fe, (grant_ref_t)rxref, 0, &v->rx_handle, &rxst);
    irq_restore(f);
    if (!v->tx_addr || !v->rx_addr) { /* release() unmaps the one that worked */
        printf("netback: dom%u vif %d: map of tx-ring-ref %ld / rx-ring-ref %ld failed: %d/%d\n",
               v->fe, v->devid, txref, rxref, txst, rxst);
        return -1;
    }
    BACK_RING_INIT(&v->tx, (netif_tx_sring_t *)v->tx_addr, PAGE_SIZE);
    BACK_RING_INIT(&v->rx, (netif_rx_sring_t *)v->rx_addr, PAGE_SIZE);
    return 0;
}

static int connect(struct vif *v)
{
    long txref = xs_read_long(v->fepath, "tx-ring-ref", -1);
    long rxref = xs_read_long(v->fepath, "rx-ring-ref", -1);
    long evtchn = xs_read_long(v->fepath, "event-channel", -1);
    if (txref < 0 || rxref < 0 || evtchn < 0) {
        printf("netback: dom%u vif %d: tx-ring-ref / rx-ring-ref / event-channel unusable\n", v->fe,
               v->devid);
        return -1;
    }
    if (xs_read_long(v->fepath, "request-rx-copy", 0) != 1) {
        printf("netback: dom%u vif %d: frontend does not set request-rx-copy = 1 (page flipping "
               "is not supported)\n",
               v->fe, v->devid);
        return -1;
    }
    if (map_rings(v, txref, rxref))
        return -1;
    int rc = evtchn_bind_interdomain(v->fe, (evtchn_port_t)evtchn, &v->port);
    if (rc) {
        printf("netback: dom%u vif %d: bind_interdomain(port %ld) failed: %d\n", v->fe, v->devid,
               evtchn, rc);
        return -1; /* disconnect() unmaps the rings */
    }
    for (unsigned i = 0; i < TX_SLOTS; i++)
        v->free_slot[i] = (uint16_t)(TX_SLOTS - 1 - i);
    v->nfree = TX_SLOTS;
    v->inflight = 0;
    v->unpushed = v->stalled = v->broken = 0;
    v->push_req = HOPSIM_NOREQ;
    int f = irq_save();
    v->state = VIF_CONNECTED;
    irq_restore(f);
    evtchn_attach(v->port, vif_event, v);
    printf("netback: dom%u vif %d connected: mac %02x:%02x:%02x:%02x:%02x:%02x, grants %s\n", v->fe,
           v->devid, v->mac[0], v->mac[1], v->mac[2], v->mac[3], v->mac[4], v->mac[5],
           mode == GM_COPY ? "copy" : "map");
    return xenbus_switch_state(v->nodename, XenbusStateConnected);
}

/* Unmap both rings. Nothing of the vif is at the NIC. */
static void release(struct vif *v)
{
    int f = irq_save();
    if (v->tx_addr && gnttab_unmap(v->tx_addr, v->tx_handle))
        printf("netback: dom%u vif %d: tx ring unmap failed\n", v->fe, v->devid);
    if (v->rx_addr && gnttab_unmap(v->rx_addr, v->rx_handle))
        printf("netback: dom%u vif %d: rx ring unmap failed\n", v->fe, v->devid);
    v->tx_addr = v->rx_addr = NULL;
    irq_restore(f);
}

/* Stop serving, let the NIC finish this vif's transmits, unmap everything, Closing. */
static void disconnect(struct vif *v)
{
    if (v->state == VIF_CONNECTED) {
        int f = irq_save();
        v->state = VIF_CLOSING; /* completions from now on write no response; rx skips it */
        irq_restore(f);
        evtchn_unbind(v->port);
        WAIT_UNTIL(v->inflight == 0);
    }
    release(v);
    v->state = VIF_CLOSING;
    xenbus_switch_state(v->nodename, XenbusStateClosing);
}

static void step(struct vif *v)
{
    int fe = xenbus_read_state(v->fepath);
    if (fe == XenbusStateUnknown)
        fe = XenbusStateClosed; /* frontend gone */
    if (v->state == VIF_NEW && (fe == XenbusStateInitialised || fe == XenbusStateConnected) &&
        connect(v))
        disconnect(v);
    if ((v->state == VIF_NEW || v->state == VIF_CONNECTED) &&
        (fe == XenbusStateClosing || fe == XenbusStateClosed || v->broken))
        disconnect(v);
    if (v->state == VIF_CLOSING && fe == XenbusStateClosed) {
        xenbus_switch_state(v->nodename, XenbusStateClosed);
        v->state = VIF_CLOSED;
        printf("netback: dom%u vif %d closed: tx %lu packets, %lu errors; rx %lu packets, %lu "
               "dropped\n",
               v->fe, v->devid, v->tx_packets, v->tx_errors, v->rx_packets, v->rx_dropped);
    }
}

static struct vif *find_vif(long fe, long devid)
{
    for (int i = 0; i < nvifs; i++)
        if (vifs[i].fe == fe && vifs[i].devid == devid)
            return &vifs[i];
    return NULL;
}

static void add_vif(const char *dir, long fe, long devid)
{
    if (find_vif(fe, devid))
        return;
    if (nvifs == MAX_VIFS) {
        char node[160], why[48];
        snprintf(node, sizeof(node), "%s/%ld/%ld", dir, fe, devid);
        snprintf(why, sizeof(why), "too many vifs (max %d)", MAX_VIFS);
        xenbus_backend_refuse(node, "netback", why);
        return;
    }
    struct vif *v = &vifs[nvifs];
    v->state = VIF_NEW; /* the rest of vifs[] is zero (bss) or set at connect */
    v->fe = (domid_t)fe;
    v->devid = (int)devid;
    for (unsigned i = 0; i < TX_SLOTS; i++) {
        v->slot[i].v = v;
        v->slot[i].index = (uint16_t)i;
    }
    snprintf(v->nodename, sizeof(v->nodename), "%s/%ld/%ld", dir, fe, devid);
    char path[192], mac[32];
    if (xenbus_backend_frontend(v->nodename, fe, v->fepath, sizeof(v->fepath)))
        return; /* not complete yet: a later scan picks it up */
    snprintf(path, sizeof(path), "%s/mac", v->nodename);
    int n = xs_read(XBT_NIL, path, mac, sizeof(mac));
    if (n == -XEN_ENOENT)
        return; /* not written yet */
    nvifs++;
    snprintf(path, sizeof(path), "%s/state", v->fepath);
    xs_watch(path, "fe");
    if (n < 0 || mac_parse(mac, v->mac) || (v->mac[0] & 1)) {
        printf("netback: dom%u vif %d: mac '%s' is not a unicast xx:xx:xx:xx:xx:xx\n", v->fe,
               v->devid, n >= 0 ? mac : "?");
        v->state = VIF_CLOSING;
        xenbus_switch_state(v->nodename, XenbusStateClosing);
    } else if (advertise(v)) {
        v->state = VIF_CLOSING;
        xenbus_switch_state(v->nodename, XenbusStateClosing);
    }
}

static void scan_one(const char *dir, long fe, long devid, void *ctx)
{
    (void)ctx;
    add_vif(dir, fe, devid);
}

/* ---- set-up ---- */

ARG_ENUM(grants, "map|copy|persistent", "how the backend reaches the frontend's pages");
ARG_INT_STEP(nic_ring, 8, E1K_MAX_RING, 8, "e1000 descriptors per ring");
ARG_INT(itr_ns, 0, ITR_MAX, "interrupt throttling interval (0: off)");
ARG_INT(mtu, MTU_MIN, MTU_MAX, "MTU the backend offers");

/* The arguments: NULL, or what is wrong (reported only if there is a NIC). */
static const char *parse_args(struct e1k_params *p)
{
    static char why[96];
    const char *g = arg_str("grants", "map");
    long ring = arg_int("nic_ring", E1K_DEFAULT_RING);
    long itr = arg_int("itr_ns", 0);
    long m = arg_int("mtu", 1500);
    p->tx_ring = p->rx_ring = E1K_DEFAULT_RING;
    p->itr_ns = 0;
    if (!strcmp(g, "map") || !strcmp(g, "persistent"))
        mode = GM_MAP;
    else if (!strcmp(g, "copy"))
        mode = GM_COPY;
    else
        return "grants: expected map or copy";
    if (ring < 8 || ring > E1K_MAX_RING || ring % 8) {
        snprintf(why, sizeof(why), "nic_ring=%ld: expected 8..%u, a multiple of 8", ring,
                 E1K_MAX_RING);
        return why;
    }
    if (itr < 0 || itr > ITR_MAX) {
        snprintf(why, sizeof(why), "itr_ns=%ld: expected 0..%ld", itr, ITR_MAX);
        return why;
    }
    if (m < MTU_MIN || m > MTU_MAX) {
        snprintf(why, sizeof(why), "mtu=%ld: expected %d..%u", m, MTU_MIN, MTU_MAX);
        return why;
    }
    p->tx_ring = p->rx_ring = (unsigned)ring;
    p->itr_ns = (unsigned)itr;
    mtu = (unsigned)m;
    nic_ring = (unsigned)ring;
    return NULL;
}

/* nic_ring buffers within pages (the NIC reads each as one piece): 0 or -XEN_ENOMEM. */
static int pool_init(void)
{
    bufsz = mode == GM_MAP ? XEN_NETBACK_TX_COPY_LEN : PAGE_SIZE / 2;
    nbufs = nic_ring;
    bufs = calloc(nbufs, sizeof(*bufs));
    buf_free = calloc(nbufs, sizeof(*buf_free));
    if (!bufs || !buf_free)
        return -XEN_ENOMEM;
    unsigned per_page = (unsigned)(PAGE_SIZE / bufsz);
    uint8_t *page = NULL;
    for (unsigned i = 0; i < nbufs; i++) {
        if (i % per_page == 0 && !(page = page_alloc(1)))
            return -XEN_ENOMEM;
        bufs[i].va = page + (i % per_page) * bufsz;
        bufs[i].bus = virt_to_bus(bufs[i].va);
        if (bufs[i].bus == DMA_BAD_ADDR)
            return -XEN_ENOMEM;
        buf_free[i] = &bufs[i];
    }
    nbuf_free = nbufs;
    return 0;
}

int netback_init(void)
{
    struct e1k_params p;
    const char *bad = parse_args(&p);
    int rc = e1k_probe(&p, &nic);
    if (rc == -XEN_ENODEV) {
        nic = NULL;
        return 1; /* no NIC: no network backend in this domain */
    }
    if (rc) {
        nic = NULL;
        return rc < 0 ? rc : -XEN_EIO;
    }
    if (bad) {
        printf("netback: %s\n", bad);
        rc = -XEN_EINVAL;
    } else if ((rc = dma_init()) || (rc = pool_init())) {
        printf("netback: no buffers for %u frames: %d\n", nic_ring, rc);
    }
    snprintf(base, sizeof(base), "/local/domain/%u/backend/vif", xen_domid);
    if (!rc && (rc = xs_watch(base, "vif")) < 0)
        printf("netback: cannot watch %s: %d\n", base, rc);
    if (rc) {
        e1k_shutdown(nic);
        nic = NULL;
        return rc < 0 ? rc : -XEN_EIO;
    }
    e1k_set_rx(nic, nb_rx, NULL);
    e1k_set_batch_hook(nic, nb_batch, NULL);
    uint8_t m[6];
    e1k_mac(nic, m);
    printf("netback: e1000 %02x:%02x:%02x:%02x:%02x:%02x, grants %s, nic_ring %u, itr_ns %u, "
           "mtu %u\n",
           m[0], m[1], m[2], m[3], m[4], m[5], mode == GM_COPY ? "copy" : "map", nic_ring, p.itr_ns,
           mtu);
    return 0;
}

void netback_poll(void)
{
    if (!nic)
        return;
    xenbus_backend_scan(base, scan_one, NULL);
    for (int i = 0; i < nvifs; i++)
        step(&vifs[i]);
}

int netback_vifs(int *closed)
{
    int c = 0;
    for (int i = 0; i < nvifs; i++)
        if (vifs[i].state == VIF_CLOSED)
            c++;
    if (closed)
        *closed = c;
    return nvifs;
}

void netback_fini(void)
{
    if (!nic)
        return;
    xs_unwatch(base, "vif");
    printf("netback: bridge: %lu frames to unknown destinations, %lu malformed\n", rx_unknown,
           rx_bad);
    e1k_shutdown(nic); /* prints the NIC's counters */
    nic = NULL;
}
