/*
 * Locks in virtual time: what a caller waits when another physical CPU
 * holds a lock it needs. Two kinds, after how long the holder keeps it.
 *
 * vlock: critical sections of known length (a hypercall's modelled work
 * under Xen's grant-table, maptrack, event-channel or flush lock). A caller
 * asks at its virtual time t for `hold` ps; it gets the lock when every
 * earlier ticket holder has released it, and holds it for `hold` from
 * then. Exclusive callers wait for everyone ahead; shared callers (the read
 * side of an rwlock) wait only for exclusive holders ahead of them and
 * share with other readers. The wait is returned for the caller to charge.
 *
 * vmutex: a lock held for a time not known when it is taken (efi_rs_lock
 * across a runtime-service call). A caller that finds it held is queued,
 * FIFO, and granted it -- a callback at the release time -- when everyone
 * ahead has released it.
 *
 * Ticket order. The engine processes events in virtual-time order (ties in
 * insertion order), and a hypercall's work is computed at its trap event,
 * so tickets are drawn in the order callers entered the hypervisor:
 * deterministic, and causal at that granularity. A caller that reaches
 * the lock a little earlier in virtual time than one who entered the
 * hypervisor before it (less work before the lock in its hypercall) still
 * queues behind it -- the model's one approximation, bounded by the work a
 * hypercall does before taking its lock. A vlock never moves a hold already
 * granted, so no caller's past is rewritten.
 */
#ifndef HOPSIM_VLOCK_H
#define HOPSIM_VLOCK_H

#include <stdbool.h>
#include <stdint.h>

#include "simtime.h"

#define VLOCK_RECENT 8 /* holds remembered, to report the callers ahead of a waiter */

struct vlock {
    simtime_t excl_until;           /* the last exclusive ticket releases it then */
    simtime_t shared_until;         /* the last shared holder releases it then */
    simtime_t recent[VLOCK_RECENT]; /* release times of the latest holds, any kind */
    unsigned nrecent;
    /* statistics */
    uint64_t acquired, contended;
    simtime_t waited;
};

/* Exclusive: take at `t` for `hold`; returns the wait before the lock is held (0 if free). */
simtime_t vlock_acquire(struct vlock *l, simtime_t t, simtime_t hold);
/* Shared (read side): waits only for exclusive holders ahead. */
simtime_t vlock_acquire_shared(struct vlock *l, simtime_t t, simtime_t hold);
/* Holders and waiters still ahead of a caller arriving at t (after its own acquisition: minus 1).
 */
unsigned vlock_ahead(const struct vlock *l, simtime_t t);

typedef void (*vmutex_grant_fn)(void *opaque, simtime_t t, simtime_t since);

#define VMUTEX_WAITERS 72
struct vmutex {
    bool held;
    void *owner;       /* the holder's opaque */
    simtime_t free_at; /* when not held: the last holder released it then */
    struct {
        vmutex_grant_fn grant;
        void *opaque;
        simtime_t since;
    } q[VMUTEX_WAITERS];
    unsigned head, n;
    uint64_t acquired, contended;
    simtime_t waited;
};

/*
 * Take it at t for `opaque`. Returns when the caller holds it: t if free,
 * later if the last holder's release lies ahead of t in virtual time (the
 * caller waits until then); or SIMTIME_NEVER: it is held, the caller is
 * queued, and `grant(opaque, t', t)` runs at the release t' that hands it
 * over. Each physical CPU spins for it at most once at a time, so the queue
 * (VMUTEX_WAITERS: every pCPU plus the platform's own callers) does not
 * fill; if it did, the caller is refused (SIMTIME_NEVER, no grant).
 */
simtime_t vmutex_lock(struct vmutex *mx, simtime_t t, vmutex_grant_fn grant, void *opaque);
/* Release at t (not before the time it was taken): the first waiter, if any, gets it then. */
void vmutex_unlock(struct vmutex *mx, simtime_t t);

#endif
