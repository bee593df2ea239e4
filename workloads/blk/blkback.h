/*
 * blkback: the Xen block backend, serving every vbd of this domain from
 * one target of the SAS HBA through the native SAS driver. See blkback.c
 * for the arguments, the handshake and the request rules.
 */
#ifndef BLK_BLKBACK_H
#define BLK_BLKBACK_H

/* Serve until every frontend has closed: 0, or nonzero if the set-up failed. */
int blkback_main(void);

#endif
