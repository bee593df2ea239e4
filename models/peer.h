/*
 * The host at the far end of a link: one link port that answers frames.
 *
 * Modes:
 *  - PEER_ECHO: sends each frame back with destination and source MAC
 *    addresses swapped;
 *  - PEER_SINK: counts and drops;
 *  - PEER_REQRESP: answers each frame with a frame of resp_len bytes
 *    (without FCS): MACs swapped, the request's EtherType, and a payload
 *    that starts with the request's first PEER_TAG_LEN payload bytes (the
 *    bytes after the 14-byte Ethernet header; zero-filled when the request
 *    is shorter), then zeros. A latency test matches replies by that tag.
 *    The answer to a hopsim test frame (include/hopsim/netpkt.h) is a test
 *    frame: the request's tag with HOPSIM_PKT_F_REPLY added, its own
 *    length, and the payload pattern for req ^ HOPSIM_PKT_REPLY_SALT.
 *
 *  - PEER_SOURCE: sends `count` test frames of `len` bytes to `dst`, one
 *    every `gap`, starting `start` after the first frame it receives (the
 *    receiver's "go", as netperf's control connection starts a test), as
 *    the sender on the far side of a receive stream would: request ids
 *    HOPSIM_REQ(PEER_DOMID, 1..count), source address PEER_MAC; what it
 *    receives it counts and drops, like the sink.
 *
 * Every received test frame's payload is checked against its pattern
 * (test_frames, bad_payload): the far end's integrity check of a stream.
 *
 * Timing: the peer is one deterministic server. A frame arriving at t is
 * served from max(t, end of the previous service) for service_time, and
 * the answer (echo or response) is sent on the link when service ends;
 * with service_time 0 it is sent at the arrival time. Frames shorter than
 * 14 bytes are counted as malformed and dropped in every mode.
 */
#ifndef HOPSIM_PEER_H
#define HOPSIM_PEER_H

#include <stddef.h>
#include <stdint.h>

#include "evq.h"
#include "link.h"
#include "simtime.h"

#define PEER_ETH_HDR 14
#define PEER_TAG_LEN 16

#define PEER_DOMID 0x7ff0u /* the "domain" in the request ids of frames the peer originates */
#define PEER_MAC_INIT                                                                              \
    {                                                                                              \
        0x02, 0x00, 0x00, 0x00, 0x00, 0x01                                                         \
    } /* a locally administered address */

enum peer_mode { PEER_ECHO, PEER_SINK, PEER_REQRESP, PEER_SOURCE };

struct peer_params {
    enum peer_mode mode;
    simtime_t service_time; /* ps per frame (echo and request/response) */
    size_t resp_len;        /* PEER_REQRESP: response length, 14..LINK_MAX_FRAME */
    /* PEER_SOURCE */
    uint8_t dst[6];
    uint64_t count;
    size_t len;      /* HOPSIM_PKT_HDR..LINK_MAX_FRAME */
    simtime_t gap;   /* between frame starts, ps (> 0) */
    simtime_t start; /* first frame: this long after the first frame received, ps */
};

struct peer_stats {
    uint64_t rx_frames, rx_bytes; /* well-formed frames received */
    uint64_t tx_frames, tx_bytes; /* answers sent */
    uint64_t malformed;           /* shorter than 14 bytes, dropped */
    uint64_t test_frames;         /* hopsim test frames (include/hopsim/netpkt.h) received */
    uint64_t bad_payload;         /* ... whose length or payload pattern was wrong */
    uint64_t tx_failed;           /* answers the link refused (or out of memory) */
    uint64_t sourced;             /* PEER_SOURCE: frames originated */
};

struct peer;

/*
 * Attaches itself to `side` of the link. NULL on a bad mode, resp_len or
 * source parameters, or out of memory. Destroy the peer before its link.
 */
struct peer *peer_create(struct evq *q, struct link *l, int side, const struct peer_params *p);
/* Cancels and frees answers not yet sent; detaches from the link. */
void peer_destroy(struct peer *p);
struct peer_stats peer_stats(const struct peer *p);

#endif
