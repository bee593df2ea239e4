/*
 * The network-device interface the test program (netperf.c) is written
 * against, so the same program runs over the native e1000 driver
 * (native_net.c) and over netfront (the Xen split driver).
 *
 * Transmit: a caller-owned struct netdev_pkt holds one Ethernet frame
 * (header first, no FCS, HOPSIM_ETH_HLEN..mtu + 14 bytes) inside one page
 * (data .. data + len never crosses a 4 KiB boundary). It must stay
 * untouched from xmit() until its `done` callback has run (the frame has
 * left the machine, or failed). xmit() queues; kick() starts everything
 * queued since the last kick (one doorbell, one ring push + notify).
 *
 * Receive: the driver calls d->rx(d, frame, len) for every frame that
 * arrives, in event context; the frame is valid during the call only.
 * Frames that arrive while d->rx is NULL are counted in rx_dropped.
 *
 * Callbacks run in event context (an interrupt handler, or netfront's
 * event-channel handler): they must not block. Every driver bumps
 * tx_completions after each done() and rx_frames after each rx().
 *
 * Trace marks (include/hopsim/netpkt.h carries the request id in the
 * frame): the driver marks the hop a frame's request enters as it passes
 * -- native: H4 at xmit, H8 at receive (and at transmit completion for a
 * frame without HOPSIM_PKT_F_RR); netfront: H2 at xmit, H8 at receive
 * (and at the TX response for a frame without HOPSIM_PKT_F_RR).
 *
 * Status: 0, or a negative Xen errno; proto_status keeps what the protocol
 * said (XEN_NETIF_RSP_* from netback, 0 natively).
 */
#ifndef NET_NETDEV_H
#define NET_NETDEV_H

#include <stdint.h>

#include <hopsim/netpkt.h>

#include "guest.h"

struct netdev_pkt {
    /* set by the caller */
    void *data;   /* the frame, inside one page */
    uint16_t len; /* bytes, without FCS */
    void (*done)(struct netdev_pkt *p);
    void *owner; /* the caller's */
    /* set by the driver before done() */
    int status;
    int proto_status;
};

struct netdev;

typedef void (*netdev_rx_fn)(struct netdev *d, const void *frame, unsigned len);

struct netdev_ops {
    /* Queue p: 0, -XEN_EAGAIN (no room now), -XEN_EINVAL (malformed), -XEN_EIO (gone). */
    int (*xmit)(struct netdev *d, struct netdev_pkt *p);
    /* Start everything queued since the last kick. */
    void (*kick)(struct netdev *d);
    /* Every transmit must have completed. Tears the device (or connection) down. */
    void (*close)(struct netdev *d);
    /*
     * Optional, for a device whose connection can go away (a split
     * driver's backend): attention() (must not block) says there is news
     * for the device; service() (program context) deals with it -- a
     * frontend reconnects to a new backend and resubmits what was lost.
     */
    int (*attention)(struct netdev *d);
    void (*service)(struct netdev *d);
};

struct netdev {
    const char *name;
    uint8_t mac[6];           /* our address: the NIC's, or the vif's */
    uint16_t mtu;             /* payload bytes after the Ethernet header (1500) */
    uint32_t max_tx_inflight; /* transmits that may be outstanding at once */
    netdev_rx_fn rx;          /* set by the user */
    void *rx_ctx;             /* the user's */
    volatile unsigned long tx_completions, rx_frames;
    unsigned long rx_dropped;
    const struct netdev_ops *ops;
};

static inline int netdev_xmit(struct netdev *d, struct netdev_pkt *p)
{
    return d->ops->xmit(d, p);
}

static inline void netdev_kick(struct netdev *d)
{
    d->ops->kick(d);
}

static inline void netdev_close(struct netdev *d)
{
    d->ops->close(d);
}

static inline int netdev_attention(struct netdev *d)
{
    return d->ops->attention && d->ops->attention(d);
}

static inline void netdev_service(struct netdev *d)
{
    d->ops->service(d);
}

/* Validation shared by the drivers: -XEN_EINVAL unless p fits d. */
static inline int netdev_check(const struct netdev *d, const struct netdev_pkt *p)
{
    unsigned long off = (unsigned long)p->data & (PAGE_SIZE - 1);
    if (!p->data || p->len < HOPSIM_ETH_HLEN || p->len > d->mtu + HOPSIM_ETH_HLEN)
        return -XEN_EINVAL;
    return off + p->len > PAGE_SIZE ? -XEN_EINVAL : 0;
}

/*
 * Whether a transmit completion ends the frame's request: every frame but
 * a test frame that waits for a reply (HOPSIM_PKT_F_RR).
 */
static inline int netdev_tx_ends_request(const void *frame, unsigned len, uint64_t *req)
{
    struct hopsim_pkt_tag t;
    if (!hopsim_pkt_parse(frame, len, &t)) {
        *req = 0;
        return 0;
    }
    *req = t.req;
    return !(t.flags & HOPSIM_PKT_F_RR);
}

#endif
