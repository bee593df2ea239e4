/*
 * What the driver servers of `l4-vmm` (drvsrv.c, netsrv.c) share: a table
 * of client sessions, the flexpage MAP of a client's DMA pages with their
 * bus addresses, the notification of clients with new completions, the
 * reaper that learns of a client's death, and the receive loop that hands
 * the device's interrupt to its driver and every other call to the server.
 * The protocol is in l4sys.h.
 */
#ifndef L4_SRV_H
#define L4_SRV_H

#include <stdint.h>

#include "l4sys.h"

struct srv_pmap_ent {
    uint64_t page; /* client address + 1; 0: empty */
    uint64_t bus;
};

/* The part of a server's client every server keeps: the first member of its own struct. */
struct srv_client {
    int used, closed;
    uint32_t tid;
    unsigned irq;       /* its software interrupt: "completions are ready" */
    int notify;         /* completions queued since the last trigger */
    unsigned npages;    /* pages it mapped to us */
    unsigned pmap_size; /* entries of pmap (open addressing) */
    struct srv_pmap_ent *pmap;
};

struct srv_ops {
    const char *name; /* in messages */
    /* slot i's client (its struct srv_client), i < SRV_MAX_CLIENTS */
    struct srv_client *(*client)(unsigned slot);
    /* OPEN from thread `from` on the free slot: reset the slot (the server's whole client,
     * pmap and pmap_size set), fill the reply from mr[3] on (and nmr >= 3); 0 or an error */
    long (*open)(unsigned slot, uint32_t from, const struct l4_msg *in, struct l4_msg *out);
    /* any other call of an open client but MAP: the reply from mr[1] on; its mr[0] result */
    long (*call)(unsigned slot, const struct l4_msg *in, struct l4_msg *out);
    /* the client is gone (the reaper found it dead); may be NULL */
    void (*gone)(unsigned slot);
};

/* The entry of client page `page` in c's map (inserted if `insert` and not there); NULL if
 * absent or the map is full. */
struct srv_pmap_ent *srv_pmap_slot(struct srv_client *c, uint64_t page, int insert);

/* The device's batch hook: triggers the software interrupt of each client with news. */
void srv_batch(void *arg);

/* Attaches the device's interrupt `port` and the kernel's task-death interrupt, then serves
 * until the last client has closed or died: 0, or 1 (said why). */
int srv_run(const struct srv_ops *ops, unsigned port);

#endif
