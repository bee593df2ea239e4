/*
 * blkback: the Xen block backend, serving every vbd of this domain from
 * one target of the SAS HBA through the native SAS driver. See blkback.c
 * for the arguments, the handshake and the request rules. It shares the
 * backend domain with netback (workloads/back/main.c).
 */
#ifndef BLK_BLKBACK_H
#define BLK_BLKBACK_H

/*
 * Probe the HBA and watch the vbd directory: 0, 1 when this domain has no
 * HBA (no block backend), < 0 when the set-up failed.
 */
int blkback_init(void);
/*
 * Program-context work (the xenwatch callbacks): path NULL scans every
 * vbd; otherwise path is a watch event's and only what it names is
 * handled -- a new device under our backend directory (Linux's
 * xenbus_dev_changed) or the state of one vbd's frontend
 * (otherend_changed -> frontend_changed).
 */
void blkback_poll(const char *path);
/* Vbds seen so far, and how many of them are Closed. */
int blkback_vbds(int *closed);
/* Stop watching, shut the HBA down (every vbd Closed). */
void blkback_fini(void);

#endif
