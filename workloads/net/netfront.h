/*
 * netfront: the Xen virtual network interface frontend (io/netif.h), as a
 * struct netdev for the test program.
 *
 * netif_connect()/netif_close() are the connection alone -- xenstore
 * handshake, the two shared rings, the event channel -- and are shared
 * with the malicious frontend (evilnet.c), which then drives the rings by
 * hand.
 *
 * Handshake (frontend side, as Linux's xen-netfront): find
 * /local/domain/<self>/device/vif/<devid> (written by the toolstack with
 * backend, backend-id, mac, state=1); read our MAC from "mac"; wait for
 * the backend's InitWait; check the backend offers feature-rx-copy = 1;
 * grant both ring pages, allocate one event channel, write tx-ring-ref,
 * rx-ring-ref, event-channel, request-rx-copy = 1, feature-rx-notify = 1,
 * feature-sg = 0, feature-gso-tcpv4 = 0 in one transaction; switch to
 * Connected and wait for the backend's Connected. Closing: Closing, wait
 * for the backend's Closing (it has released everything), end the grants,
 * Closed, wait for the backend's Closed.
 */
#ifndef NET_NETFRONT_H
#define NET_NETFRONT_H

#include "netdev.h"

#include <xen/io/netif.h>

#define NET_TX_RING_SIZE __CONST_RING_SIZE(netif_tx, PAGE_SIZE) /* 256 */
#define NET_RX_RING_SIZE __CONST_RING_SIZE(netif_rx, PAGE_SIZE) /* 256 */

struct netif_conn {
    struct xenbus_device xb;
    domid_t be;
    netif_tx_sring_t *txs;
    netif_rx_sring_t *rxs;
    netif_tx_front_ring_t tx;
    netif_rx_front_ring_t rx;
    int tx_ref, rx_ref;
    evtchn_port_t port;
    uint8_t mac[6];
};

/*
 * Connect vif `devid` (< 0: our lowest-numbered vif); fn(port, data)
 * handles the event channel (upcall context). 0 when Connected; otherwise
 * a negative Xen errno, with a message.
 */
int netif_connect(struct netif_conn *c, int devid, evtchn_handler_t fn, void *data);
/*
 * Closing; once the backend is Closing, unbind the event channel and call
 * revoke(data) (end the data grants), end the ring grants, Closed, and
 * wait for the backend's Closed (at most timeout_ns; 0: no limit).
 * Returns the backend's last state.
 */
int netif_close(struct netif_conn *c, void (*revoke)(void *data), void *data, uint64_t timeout_ns);

/*
 * The netfront network device for vif `devid` (< 0: the lowest), connected,
 * with `rx_bufs` receive buffers posted (1..NET_RX_RING_SIZE); NULL on failure.
 */
struct netdev *netfront_open(int devid, unsigned rx_bufs);

#endif
