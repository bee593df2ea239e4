/*
 * Full-duplex Ethernet link: per-direction serialization, propagation via
 * the event queue, a tap for captures. See link.h for the timing rules.
 *
 * Frames in flight are kept on a doubly linked list so link_destroy can
 * cancel their events and free them.
 */
#include "link.h"

#include <hopsim/netpkt.h>

#include <stdlib.h>
#include <string.h>

struct link_frame {
    struct link *l;
    struct link_frame *prev, *next;
    evq_handle ev;
    int side; /* sender */
    size_t len;
    uint8_t data[];
};

struct link {
    struct evq *q;
    struct trace *tr;
    uint16_t place;
    struct link_params p;
    struct link_port port[2];
    link_tap_fn tap;
    void *tap_opaque;
    simtime_t busy[2]; /* per sending side */
    struct link_stats st[2];
    struct link_frame *inflight;
};

struct link *link_create(struct evq *q, struct trace *tr, uint16_t place,
                         const struct link_params *p)
{
    if (!q || !p || p->speed_bps == 0)
        return NULL;
    struct link *l = calloc(1, sizeof(*l));
    if (!l)
        return NULL;
    l->q = q;
    l->tr = tr;
    l->place = place;
    l->p = *p;
    return l;
}

static void frame_unlink(struct link_frame *f)
{
    if (f->prev)
        f->prev->next = f->next;
    else
        f->l->inflight = f->next;
    if (f->next)
        f->next->prev = f->prev;
}

void link_destroy(struct link *l)
{
    if (!l)
        return;
    while (l->inflight) {
        struct link_frame *f = l->inflight;
        evq_cancel(l->q, f->ev);
        frame_unlink(f);
        free(f);
    }
    free(l);
}

void link_attach(struct link *l, int side, struct link_port port)
{
    if (side == 0 || side == 1)
        l->port[side] = port;
}

void link_set_tap(struct link *l, link_tap_fn fn, void *opaque)
{
    l->tap = fn;
    l->tap_opaque = opaque;
}

simtime_t link_wire_time(const struct link *l, size_t len)
{
    uint64_t bytes = (len < LINK_MIN_FRAME ? LINK_MIN_FRAME : len) + LINK_OVERHEAD;
    uint64_t bits_ps = bytes * 8 * PS_PER_S; /* < 2^63 for len <= LINK_MAX_FRAME */
    return (bits_ps + l->p.speed_bps - 1) / l->p.speed_bps;
}

simtime_t link_busy_until(const struct link *l, int side)
{
    return (side == 0 || side == 1) ? l->busy[side] : 0;
}

struct link_stats link_stats(const struct link *l, int side)
{
    return (side == 0 || side == 1) ? l->st[side] : (struct link_stats){0};
}

static void link_deliver(void *opaque, simtime_t now)
{
    struct link_frame *f = opaque;
    struct link *l = f->l;
    frame_unlink(f);
    l->st[f->side].delivered++;
    if (l->tap)
        l->tap(l->tap_opaque, f->data, f->len, now);
    const struct link_port *dst = &l->port[!f->side];
    if (dst->deliver)
        dst->deliver(dst->opaque, f->data, f->len, now);
    free(f);
}

static void link_trace(struct link *l, int side, const uint8_t *frame, size_t len, simtime_t start,
                       simtime_t end)
{
    struct trace_span s = {
        .req = hopsim_pkt_req(frame, len), /* a test frame's request; others serve none */
        .hop = HOP_NONE,
        .kind = SPAN_MEDIA,
        .place = l->place,
        .start = start,
        .end = end,
        .name = side == 0 ? "wire 0->1" : "wire 1->0",
        .arg = (int64_t)len,
    };
    trace_span(l->tr, &s);
}

simtime_t link_send(struct link *l, int side, const uint8_t *frame, size_t len, simtime_t now)
{
    if ((side != 0 && side != 1) || len == 0 || len > LINK_MAX_FRAME || !frame)
        return SIMTIME_NEVER;
    struct link_frame *f = malloc(sizeof(*f) + len);
    if (!f)
        return SIMTIME_NEVER;
    *f = (struct link_frame){.l = l, .side = side, .len = len, .next = l->inflight};
    memcpy(f->data, frame, len);
    simtime_t start = now > l->busy[side] ? now : l->busy[side];
    simtime_t end = start + link_wire_time(l, len);
    simtime_t arrive = end + l->p.propagation;
    l->busy[side] = end;
    if (l->inflight)
        l->inflight->prev = f;
    l->inflight = f;
    f->ev = evq_schedule(l->q, arrive, link_deliver, f);
    l->st[side].frames++;
    l->st[side].bytes += len;
    l->st[side].oversize += len > LINK_MAX_STD;
    link_trace(l, side, frame, len, start, end);
    return arrive;
}
