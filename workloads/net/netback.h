/*
 * netback: the Xen network backend (io/netif.h) over the native e1000
 * driver, serving every vif connected to this domain; a software bridge
 * between the vifs and the NIC. See netback.c for the arguments, the
 * handshake and the request rules.
 *
 * It shares the backend domain with blkback (workloads/back/main.c): each
 * is started if its device is present and polled from one program loop.
 */
#ifndef NET_NETBACK_H
#define NET_NETBACK_H

/* Probe the NIC and watch the vif directory: 0, 1 when there is no NIC, < 0 on failure. */
int netback_init(void);
/*
 * Program-context work (the xenwatch callbacks): path NULL scans every
 * vif; otherwise path is a watch event's and only what it names is
 * handled -- a new device under our backend directory (Linux's
 * xenbus_dev_changed) or the state of one vif's frontend
 * (otherend_changed -> frontend_changed).
 */
void netback_poll(const char *path);
/* Vifs seen so far, and how many of them are Closed. */
int netback_vifs(int *closed);
/* Shut the NIC down (every vif Closed). */
void netback_fini(void);

#endif
