/*
 * netback's RX path, wire -> frontend (see netback.c for the rules): the
 * NIC's receive callback bridges each frame to the vif its destination
 * MAC names (every connected vif for broadcast / multicast) and, within
 * the vif, to the queue its flow hashes to -- Linux's xenvif_select_queue
 * with no hash configured (XEN_NETIF_CTRL_HASH_ALGORITHM_NONE):
 * netdev_pick_tx's flow hash modulo the queues, the same symmetric hash
 * netfront used for the flow's transmits (hopsim_pkt_flow_hash) -- and
 * grant-copies it into that queue's next RX buffer under the queue's lock.
 * This runs in the NIC interrupt's upcall; Linux hands the skb to the
 * queue's RX kthread (xenvif_kthread_guest_rx) instead, so there the copy
 * is done wherever that thread is scheduled.
 */
#include "nb.h"

unsigned long nb_rx_unknown, nb_rx_bad;

/* Copy the frame into q's next RX buffer: 1 if a response was written (q->lock held). */
static int rx_deliver(struct nb_queue *q, const void *frame, unsigned len, int traced)
{
    struct vif *v = q->v;
    netif_rx_back_ring_t *ring = &q->rx;
    RING_IDX rp = READ_ONCE(ring->sring->req_prod);
    rmb(); /* requests after req_prod */
    if (RING_REQUEST_PROD_OVERFLOW(ring, rp)) {
        ring_overflow(q, "rx", rp, ring->rsp_prod_pvt, RING_SIZE(ring));
        return 0;
    }
    if (ring->req_cons == rp) {
        q->rx_dropped++; /* no buffer posted */
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
        trace_hop_ring(HOP_H6, req, q->rx_port);
        trace_begin(SPAN_RING_PUT, req);
    }
    /* the response takes the slot of the request just copied out */
    netif_rx_response_t *rsp = RING_GET_RESPONSE(ring, ring->rsp_prod_pvt);
    rsp->id = id;
    rsp->offset = 0;
    rsp->flags = NETRXF_data_validated;
    rsp->status = st == GNTST_okay ? (int16_t)len : XEN_NETIF_RSP_ERROR;
    ring->rsp_prod_pvt++;
    q->unpushed = 1;
    if (req) {
        trace_end(SPAN_RING_PUT, req);
        note_push_req(q, req, 1);
        trace_ctx(HOPSIM_NOREQ);
    }
    if (st == GNTST_okay) {
        q->rx_packets++;
    } else {
        q->rx_dropped++;
        vif_msg(v, "rx request %u: copy to gref %u failed: %d\n", id, gref, st);
    }
    return 1;
}

/* Deliver to v on the queue the frame's flow selects: 1 if a response was written. */
static int vif_deliver(struct vif *v, const void *frame, unsigned len, int traced)
{
    unsigned nq = v->nq;
    struct nb_queue *q = &v->queues[nq > 1 ? hopsim_pkt_flow_hash(frame, len) % nq : 0];
    int f = spin_lock_irqsave(&q->lock), done = 0;
    if (vif_live(v)) /* again under the lock: disconnect() changes the state under it */
        done = rx_deliver(q, frame, len, traced);
    spin_unlock_irqrestore(&q->lock, f);
    return done;
}

static struct vif *vif_by_mac(const uint8_t *mac)
{
    for (int i = 0; i < nb_nvifs; i++)
        if (vif_live(&nb_vifs[i]) && !memcmp(nb_vifs[i].mac, mac, 6))
            return &nb_vifs[i];
    return NULL;
}

void nb_rx(void *ctx, const void *frame, unsigned len)
{
    (void)ctx;
    const uint8_t *dst = frame;
    if (len < HOPSIM_ETH_HLEN || len > PAGE_SIZE) {
        nb_rx_bad++;
        return;
    }
    if (dst[0] & 1) { /* broadcast / multicast: every vif; the trace follows the first copy */
        int traced = 1;
        for (int i = 0; i < nb_nvifs; i++)
            if (vif_live(&nb_vifs[i]) && vif_deliver(&nb_vifs[i], frame, len, traced))
                traced = 0;
        return;
    }
    struct vif *v = vif_by_mac(dst);
    if (v)
        vif_deliver(v, frame, len, 1);
    else
        nb_rx_unknown++;
}

/* Push a queue's responses and, if stalled, resume it (q->lock taken here). */
static void queue_batch(struct nb_queue *q, int resume)
{
    int f = spin_lock_irqsave(&q->lock);
    if (!resume) {
        push_responses(q);
    } else if (vif_live(q->v) && q->stalled) {
        tx_process(q);
        push_responses(q);
    }
    spin_unlock_irqrestore(&q->lock, f);
}

/* After each NIC interrupt: push responses, resume stalled queues (vifs in turn), one doorbell. */
void nb_batch(void *ctx)
{
    (void)ctx;
    static int next;
    int n = nb_nvifs;
    for (int i = 0; i < n; i++)
        for (unsigned k = 0; vif_live(&nb_vifs[i]) && k < nb_vifs[i].nq; k++)
            queue_batch(&nb_vifs[i].queues[k], 0);
    for (int i = 0; i < n; i++) {
        struct vif *v = &nb_vifs[(next + i) % n];
        for (unsigned k = 0; vif_live(v) && k < v->nq; k++)
            queue_batch(&v->queues[k], 1);
    }
    if (n)
        next = (next + 1) % n;
    e1k_kick(nb_nic);
}
