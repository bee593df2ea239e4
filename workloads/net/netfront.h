/*
 * netfront: the Xen virtual network interface frontend (io/netif.h), as a
 * struct netdev for the test program.
 *
 * netif_connect()/netif_close() are the connection alone -- xenstore
 * handshake, the two shared rings, the event channel -- and are shared
 * with the malicious frontend (evilnet.c), which then drives the rings by
 * hand.
 *
 * Handshake (frontend side, as Linux's xen-netfront talk_to_netback): find
 * /local/domain/<self>/device/vif/<devid> (written by the toolstack with
 * backend, backend-id, mac, state=1); read our MAC from "mac"; wait for
 * the backend's InitWait; check the backend offers feature-rx-copy = 1;
 * read its multi-queue-max-queues (1 when absent) and use min(that, the
 * queues asked for) queues, and its feature-split-event-channels; per
 * queue grant both ring pages and allocate one event channel (two when
 * split: TX and RX); write, in one transaction, for one queue tx-ring-ref,
 * rx-ring-ref and event-channel (or event-channel-tx, event-channel-rx)
 * in our directory -- for several, multi-queue-num-queues and the same
 * keys under queue-N/ -- then request-rx-copy = 1, feature-rx-notify = 1,
 * feature-sg = 0, feature-gso-tcpv4 = 0; switch to Connected and wait for
 * the backend's Connected. Closing: Closing, wait for the backend's
 * Closing (it has released everything), end the grants, Closed, wait for
 * the backend's Closed.
 */
#ifndef NET_NETFRONT_H
#define NET_NETFRONT_H

#include "netdev.h"

#include <xen/io/netif.h>

#define NET_TX_RING_SIZE __CONST_RING_SIZE(netif_tx, PAGE_SIZE) /* 256 */
#define NET_RX_RING_SIZE __CONST_RING_SIZE(netif_rx, PAGE_SIZE) /* 256 */
#define NETIF_MAX_QUEUES 8

/* One queue: a TX and an RX ring, and their event channel(s). */
struct netif_queue {
    netif_tx_sring_t *txs;
    netif_rx_sring_t *rxs;
    netif_tx_front_ring_t tx;
    netif_rx_front_ring_t rx;
    int tx_ref, rx_ref;
    evtchn_port_t tx_port, rx_port; /* the same port unless split */
};

struct netif_conn {
    struct xenbus_device xb;
    domid_t be;
    unsigned nq; /* queues negotiated */
    int split;   /* feature-split-event-channels: a TX and an RX channel per queue */
    struct netif_queue q[NETIF_MAX_QUEUES];
    uint8_t mac[6];
};

/*
 * Connect vif `devid` (< 0: our lowest-numbered vif) with up to
 * want_queues queues (1..NETIF_MAX_QUEUES; 1 writes the single-queue keys
 * only, as a frontend that does not know multi-queue); fn(port, data)
 * handles every event channel (upcall context). 0 when Connected;
 * otherwise a negative Xen errno, with a message.
 */
int netif_connect(struct netif_conn *c, int devid, unsigned want_queues, evtchn_handler_t fn,
                  void *data);
/*
 * Closing; once the backend is Closing, unbind the event channels and call
 * revoke(data) (end the data grants), end the ring grants, Closed, and
 * wait for the backend's Closed (at most timeout_ns; 0: no limit).
 * Returns the backend's last state.
 */
int netif_close(struct netif_conn *c, void (*revoke)(void *data), void *data, uint64_t timeout_ns);
/* The pieces of a close, for a frontend whose backend is gone: unbind every channel ... */
void netif_unbind(struct netif_conn *c);
/* ... and end the ring grants and free the rings. */
void netif_free_rings(struct netif_conn *c);

/*
 * The netfront network device for vif `devid` (< 0: the lowest), connected
 * with up to `queues` queues, with `rx_bufs` receive buffers posted on
 * each (1..NET_RX_RING_SIZE); NULL on failure.
 */
struct netdev *netfront_open(int devid, unsigned rx_bufs, unsigned queues);

#endif
