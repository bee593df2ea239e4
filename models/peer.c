/*
 * Peer host: echo, sink or request/response at the far end of a link.
 * See peer.h for the frame formats and the single-server timing.
 *
 * Answers waiting for their service to end are built at arrival, kept on
 * a doubly linked list with their event, and sent when the event fires.
 */
#include "peer.h"

#include <hopsim/netpkt.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct peer_tx {
    struct peer *p;
    struct peer_tx *prev, *next;
    evq_handle ev;
    size_t len;
    uint8_t data[];
};

struct peer {
    struct evq *q;
    struct link *l;
    int side;
    struct peer_params prm;
    simtime_t busy; /* end of the latest service */
    struct peer_stats st;
    struct peer_tx *pending;
    evq_handle src_ev; /* PEER_SOURCE: the next frame */
    bool src_started;
    uint8_t *src_buf;
};

static void source_fire(void *opaque, simtime_t now);

static void peer_rx(void *opaque, const uint8_t *frame, size_t len, simtime_t when);

struct peer *peer_create(struct evq *q, struct link *l, int side, const struct peer_params *p)
{
    if (!q || !l || !p || (side != 0 && side != 1))
        return NULL;
    if (p->mode != PEER_ECHO && p->mode != PEER_SINK && p->mode != PEER_REQRESP &&
        p->mode != PEER_SOURCE)
        return NULL;
    if (p->mode == PEER_SOURCE &&
        (p->len < HOPSIM_PKT_HDR || p->len > LINK_MAX_FRAME || !p->gap || (p->dst[0] & 1)))
        return NULL;
    if (p->mode == PEER_REQRESP && (p->resp_len < PEER_ETH_HDR || p->resp_len > LINK_MAX_FRAME))
        return NULL;
    struct peer *pr = calloc(1, sizeof(*pr));
    if (!pr)
        return NULL;
    *pr = (struct peer){.q = q, .l = l, .side = side, .prm = *p};
    if (p->mode == PEER_SOURCE && p->count) {
        pr->src_buf = malloc(p->len);
        if (!pr->src_buf) {
            free(pr);
            return NULL;
        }
    }
    link_attach(l, side, (struct link_port){.opaque = pr, .deliver = peer_rx});
    return pr;
}

static void tx_unlink(struct peer_tx *t)
{
    if (t->prev)
        t->prev->next = t->next;
    else
        t->p->pending = t->next;
    if (t->next)
        t->next->prev = t->prev;
}

void peer_destroy(struct peer *p)
{
    if (!p)
        return;
    while (p->pending) {
        struct peer_tx *t = p->pending;
        evq_cancel(p->q, t->ev);
        tx_unlink(t);
        free(t);
    }
    if (p->src_ev)
        evq_cancel(p->q, p->src_ev);
    free(p->src_buf);
    link_attach(p->l, p->side, (struct link_port){0});
    free(p);
}

struct peer_stats peer_stats(const struct peer *p)
{
    return p->st;
}

static void peer_transmit(struct peer *p, const uint8_t *frame, size_t len, simtime_t now)
{
    if (link_send(p->l, p->side, frame, len, now) == SIMTIME_NEVER) {
        p->st.tx_failed++;
        return;
    }
    p->st.tx_frames++;
    p->st.tx_bytes += len;
}

/* PEER_SOURCE: originate the next frame; the link serialises them. */
static void source_fire(void *opaque, simtime_t now)
{
    static const uint8_t self[6] = PEER_MAC_INIT;
    struct peer *p = opaque;
    p->src_ev = 0;
    p->st.sourced++;
    hopsim_pkt_build(p->src_buf, p->prm.len, p->prm.dst, self, 0,
                     HOPSIM_REQ(PEER_DOMID, p->st.sourced), 0);
    peer_transmit(p, p->src_buf, p->prm.len, now);
    if (p->st.sourced < p->prm.count)
        p->src_ev = evq_schedule(p->q, now + p->prm.gap, source_fire, p);
}

static void peer_tx_fire(void *opaque, simtime_t now)
{
    struct peer_tx *t = opaque;
    struct peer *p = t->p;
    tx_unlink(t);
    peer_transmit(p, t->data, t->len, now);
    free(t);
}

/* Destination and source MAC of `in` swapped into `out`, EtherType copied. */
static void peer_swap_header(uint8_t *out, const uint8_t *in)
{
    memcpy(out, in + 6, 6);
    memcpy(out + 6, in, 6);
    memcpy(out + 12, in + 12, 2);
}

/* Fill the answer to `in` into t->data (t->len bytes). */
static void peer_build(const struct peer *p, struct peer_tx *t, const uint8_t *in, size_t inlen)
{
    if (p->prm.mode == PEER_ECHO) {
        memcpy(t->data, in, inlen);
        peer_swap_header(t->data, in);
        return;
    }
    struct hopsim_pkt_tag pt;
    if (t->len >= HOPSIM_PKT_HDR && hopsim_pkt_parse(in, inlen, &pt)) {
        /* a test frame: the answer is a test frame too, checkable by the requester */
        hopsim_pkt_build(t->data, t->len, in + 6, in, (uint16_t)(pt.flags | HOPSIM_PKT_F_REPLY),
                         pt.req, HOPSIM_PKT_REPLY_SALT);
        return;
    }
    memset(t->data, 0, t->len);
    peer_swap_header(t->data, in);
    size_t tag = inlen - PEER_ETH_HDR;
    size_t room = t->len - PEER_ETH_HDR;
    tag = tag < PEER_TAG_LEN ? tag : PEER_TAG_LEN;
    tag = tag < room ? tag : room;
    memcpy(t->data + PEER_ETH_HDR, in + PEER_ETH_HDR, tag);
}

static void peer_answer(struct peer *p, const uint8_t *in, size_t inlen, simtime_t when)
{
    size_t len = p->prm.mode == PEER_ECHO ? inlen : p->prm.resp_len;
    struct peer_tx *t = malloc(sizeof(*t) + len);
    if (!t) {
        p->st.tx_failed++;
        return;
    }
    *t = (struct peer_tx){.p = p, .len = len, .next = p->pending};
    peer_build(p, t, in, inlen);
    simtime_t start = when > p->busy ? when : p->busy;
    p->busy = start + p->prm.service_time;
    if (p->pending)
        p->pending->prev = t;
    p->pending = t;
    t->ev = evq_schedule(p->q, p->busy, peer_tx_fire, t);
}

static void peer_rx(void *opaque, const uint8_t *frame, size_t len, simtime_t when)
{
    struct peer *p = opaque;
    if (len < PEER_ETH_HDR) {
        p->st.malformed++;
        return;
    }
    p->st.rx_frames++;
    p->st.rx_bytes += len;
    struct hopsim_pkt_tag tag;
    if (hopsim_pkt_parse(frame, len, &tag)) {
        p->st.test_frames++;
        uint64_t salt = tag.flags & HOPSIM_PKT_F_REPLY ? HOPSIM_PKT_REPLY_SALT : 0;
        if (hopsim_pkt_check(frame, len, salt))
            p->st.bad_payload++;
    }
    if (p->prm.mode == PEER_ECHO || p->prm.mode == PEER_REQRESP)
        peer_answer(p, frame, len, when);
    if (p->prm.mode == PEER_SOURCE && p->src_buf && !p->src_started) {
        p->src_started = true; /* the receiver said go (netperf's control connection) */
        p->src_ev = evq_schedule(p->q, when + p->prm.start, source_fire, p);
    }
}
