/*
 * A full-duplex Ethernet link between two endpoints (side 0 and side 1).
 *
 * Each direction is a serial wire: a frame starts when it is sent or when
 * the previous frame in that direction has finished, whichever is later,
 * and arrives at the other side after its wire time plus the propagation
 * delay. Wire time counts what Ethernet puts on the wire:
 *   (max(len, 60) + 4 FCS + 8 preamble/SFD + 12 inter-frame gap) * 8 / speed
 * so a minimum frame (60 B + FCS = 64 B) takes 672 ns at 1 GbE. `len`
 * never includes the FCS. Frames over 1514 B are carried but counted as
 * oversize (jumbo frames are the sender's business).
 *
 * Assumptions: no loss, no corruption, no flow control; the link owns a
 * copy of every frame in flight and frees it after delivery or at
 * link_destroy. Speed and propagation delay are creation parameters, not
 * cost-profile entries. The optional tap sees every frame at its delivery
 * time (the moment its last bit reaches the receiver), so captures are in
 * time order across both directions.
 */
#ifndef HOPSIM_LINK_H
#define HOPSIM_LINK_H

#include <stddef.h>
#include <stdint.h>

#include "evq.h"
#include "simtime.h"
#include "trace.h"

#define LINK_MIN_FRAME 60    /* without FCS; shorter frames are padded */
#define LINK_MAX_STD 1514    /* without FCS; longer frames are oversize */
#define LINK_MAX_FRAME 65535 /* longest frame link_send accepts */
#define LINK_OVERHEAD 24     /* FCS 4 + preamble/SFD 8 + inter-frame gap 12 */

struct link_port {
    void *opaque;
    void (*deliver)(void *opaque, const uint8_t *frame, size_t len, simtime_t when);
};

typedef void (*link_tap_fn)(void *opaque, const uint8_t *frame, size_t len, simtime_t when);

struct link_params {
    uint64_t speed_bps;    /* bit/s, e.g. 1000000000 */
    simtime_t propagation; /* ps, one way */
};

/* Per direction; index = the sending side. */
struct link_stats {
    uint64_t frames, bytes; /* sent (bytes without FCS, padding or overhead) */
    uint64_t oversize;      /* frames longer than LINK_MAX_STD */
    uint64_t delivered;     /* frames that reached the other side */
};

struct link;

/* NULL if speed is 0 or memory runs out. tr may be NULL. */
struct link *link_create(struct evq *q, struct trace *tr, uint16_t place,
                         const struct link_params *p);
/* Frees the frames still in flight (they are never delivered). */
void link_destroy(struct link *l);
/* Attach (or replace) the endpoint on `side` (0 or 1). */
void link_attach(struct link *l, int side, struct link_port port);
void link_set_tap(struct link *l, link_tap_fn fn, void *opaque);
/*
 * Send a frame from `side` at time `now` (>= the queue's clock). Returns
 * the delivery time, or SIMTIME_NEVER (nothing sent) when len is 0 or
 * over LINK_MAX_FRAME, side is not 0/1, or memory runs out.
 */
simtime_t link_send(struct link *l, int side, const uint8_t *frame, size_t len, simtime_t now);
/* Time on the wire for a frame of `len` bytes (without FCS), in ps, rounded up. */
simtime_t link_wire_time(const struct link *l, size_t len);
/* When the direction sending from `side` is next free. */
simtime_t link_busy_until(const struct link *l, int side);
struct link_stats link_stats(const struct link *l, int side);

#endif
