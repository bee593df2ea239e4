/*
 * The native network layer: a struct netdev (netdev.h) over the e1000
 * driver, for the `native` architecture (application and driver in one
 * kernel, no hypervisor hop).
 */
#ifndef NET_NATIVE_NET_H
#define NET_NATIVE_NET_H

#include "e1000drv.h"
#include "netdev.h"

/*
 * The network device "eth0" over n, which must be freshly probed (nothing
 * queued yet: max_tx_inflight is taken from its free transmit
 * descriptors). Takes over n's receive callback. NULL (and a message) if n
 * is shut down. One device per program; close() shuts n down.
 */
struct netdev *native_net_open(struct e1k *n);

#endif
