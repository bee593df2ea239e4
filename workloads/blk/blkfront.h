/*
 * blkfront: the Xen virtual block device frontend (io/blkif.h), as a
 * struct blkdev for the test program.
 *
 * blkif_connect()/blkif_close() are the connection alone -- xenstore
 * handshake, shared ring, event channel -- and are shared with the
 * malicious frontend (evilfront.c), which then drives the ring by hand.
 *
 * Handshake (frontend side, as Linux's xen-blkfront): find
 * /local/domain/<self>/device/vbd/<devid> (written by the toolstack with
 * backend, backend-id, state=1); wait for the backend's InitWait; read
 * its multi-queue-max-queues (1 when absent) and use min(that, the queues
 * asked for) rings; write ring-ref and event-channel -- for several rings
 * multi-queue-num-queues and queue-N/ring-ref, queue-N/event-channel
 * instead, as Linux's talk_to_blkback -- protocol = "x86_64-abi",
 * feature-persistent (in one transaction), switch to Initialised; wait for Connected; read
 * the backend's sectors, sector-size, info, feature-flush-cache,
 * feature-persistent; switch to Connected. Closing: Closing, wait for the
 * backend's Closing (it has unmapped everything then), revoke the grants,
 * Closed, wait for the backend's Closed.
 */
#ifndef BLK_BLKFRONT_H
#define BLK_BLKFRONT_H

#include "blkdev.h"

#include <xen/io/blkif.h>

#define BLKIF_RING_SIZE __CONST_RING_SIZE(blkif, PAGE_SIZE) /* 32 */
#define BLKIF_MAX_QUEUES 8

/* One shared ring (a queue) and its event channel. */
struct blkif_queue {
    blkif_sring_t *sring;
    blkif_front_ring_t ring;
    int ring_ref;
    evtchn_port_t port;
};

struct blkif_conn {
    struct xenbus_device xb;
    domid_t be;
    unsigned nq; /* rings negotiated */
    struct blkif_queue q[BLKIF_MAX_QUEUES];
    int persistent; /* negotiated: we asked and the backend offers it */
    int flush;      /* backend's feature-flush-cache */
    uint64_t sectors;
    uint32_t sector_size;
    uint32_t info;
};

/*
 * Connect vbd `devid` (< 0: our lowest-numbered vbd) with up to want_queues rings (1..
 * BLKIF_MAX_QUEUES); `fn(port, data)` handles every ring's event channel (upcall context).
 * 0 when Connected; otherwise a negative Xen errno, with a message.
 */
int blkif_connect(struct blkif_conn *c, int devid, int want_persistent, unsigned want_queues,
                  evtchn_handler_t fn, void *data);
/*
 * Closing; once the backend is Closing too, unbind the event channels and
 * call `revoke(data)` (end the data grants), then revoke the ring, Closed,
 * and wait for the backend's Closed (at most timeout_ns; 0: no limit).
 * Returns the backend's last state.
 */
int blkif_close(struct blkif_conn *c, void (*revoke)(void *data), void *data, uint64_t timeout_ns);
/*
 * Wait until the backend's state is >= `state` or timeout_ns passes
 * (0: no limit); returns the state seen last.
 */
int blkif_wait_backend(struct blkif_conn *c, XenbusState state, uint64_t timeout_ns);

/*
 * The blkfront block device for vbd `devid` (< 0: the lowest) with up to `queues` rings,
 * connected; NULL on failure.
 */
struct blkdev *blkfront_open(int devid, int want_persistent, unsigned queues);

#endif
