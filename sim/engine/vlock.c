/*
 * Locks in virtual time (vlock.h): ticket order, waits returned to the
 * caller to charge, never a hold already granted moved.
 */
#include "vlock.h"

#include <stddef.h>

static simtime_t max2(simtime_t a, simtime_t b)
{
    return a > b ? a : b;
}

static void remember(struct vlock *l, simtime_t end)
{
    l->recent[l->nrecent++ % VLOCK_RECENT] = end;
}

static simtime_t granted(struct vlock *l, simtime_t t, simtime_t start, simtime_t hold)
{
    l->acquired++;
    remember(l, start + hold);
    if (start > t) {
        l->contended++;
        l->waited += start - t;
    }
    return start - t;
}

simtime_t vlock_acquire(struct vlock *l, simtime_t t, simtime_t hold)
{
    simtime_t start = max2(t, max2(l->excl_until, l->shared_until));
    l->excl_until = start + hold;
    return granted(l, t, start, hold);
}

simtime_t vlock_acquire_shared(struct vlock *l, simtime_t t, simtime_t hold)
{
    simtime_t start = max2(t, l->excl_until);
    l->shared_until = max2(l->shared_until, start + hold);
    return granted(l, t, start, hold);
}

unsigned vlock_ahead(const struct vlock *l, simtime_t t)
{
    unsigned n = 0, k = l->nrecent < VLOCK_RECENT ? l->nrecent : VLOCK_RECENT;
    for (unsigned i = 0; i < k; i++)
        if (l->recent[i] > t)
            n++;
    return n;
}

simtime_t vmutex_lock(struct vmutex *mx, simtime_t t, vmutex_grant_fn grant, void *opaque)
{
    if (!mx->held) {
        simtime_t start = max2(t, mx->free_at);
        mx->held = true;
        mx->owner = opaque;
        mx->acquired++;
        if (start > t) {
            mx->contended++;
            mx->waited += start - t;
        }
        return start;
    }
    if (mx->n == VMUTEX_WAITERS)
        return SIMTIME_NEVER;
    unsigned i = (mx->head + mx->n++) % VMUTEX_WAITERS;
    mx->q[i].grant = grant;
    mx->q[i].opaque = opaque;
    mx->q[i].since = t;
    return SIMTIME_NEVER;
}

void vmutex_unlock(struct vmutex *mx, simtime_t t)
{
    if (!mx->n) {
        mx->held = false;
        mx->owner = NULL;
        mx->free_at = t;
        return;
    }
    unsigned i = mx->head;
    mx->head = (mx->head + 1) % VMUTEX_WAITERS;
    mx->n--;
    mx->owner = mx->q[i].opaque;
    mx->acquired++;
    mx->contended++;
    simtime_t since = mx->q[i].since;
    mx->waited += t > since ? t - since : 0;
    mx->q[i].grant(mx->q[i].opaque, t, since);
}
