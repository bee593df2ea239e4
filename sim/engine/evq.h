/*
 * Discrete-event queue over the virtual clock.
 *
 * Events fire in (time, insertion sequence) order, so two events scheduled
 * for the same picosecond fire in the order they were scheduled: this is
 * what makes runs deterministic. A handle from evq_schedule stays valid
 * until the event fires or is cancelled; cancelling a fired or cancelled
 * event is a harmless no-op (handles carry a generation).
 */
#ifndef HOPSIM_EVQ_H
#define HOPSIM_EVQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "simtime.h"

typedef void (*evq_fn)(void *opaque, simtime_t now);

/* Opaque event handle: slot index | generation << 32. 0 is never valid. */
typedef uint64_t evq_handle;

struct evq_slot;
struct evq_ent;

struct evq {
    simtime_t now;
    uint64_t next_seq;
    struct evq_slot *slots; /* pool, indexed by handle slot */
    uint32_t nslots, cap_slots;
    uint32_t free_head;   /* free list through slots, UINT32_MAX = empty */
    struct evq_ent *heap; /* min-heap on (time, seq), the keys inline */
    uint32_t nheap, cap_heap;
    uint64_t fired;
};

void evq_init(struct evq *q);
void evq_fini(struct evq *q);
evq_handle evq_schedule(struct evq *q, simtime_t when, evq_fn fn, void *opaque);
bool evq_cancel(struct evq *q, evq_handle h);
static inline simtime_t evq_now(const struct evq *q)
{
    return q->now;
}
/* Time of the earliest pending event, SIMTIME_NEVER if none. */
simtime_t evq_peek(const struct evq *q);
/* Fire the earliest event. Returns false when the queue is empty. */
bool evq_step(struct evq *q);
/*
 * Fire events with time <= limit, in order, until none is left or *stop
 * becomes true (checked after each event). The clock ends at the last
 * fired event's time (never moved past `limit` by this call).
 */
uint64_t evq_run_until(struct evq *q, simtime_t limit, const volatile bool *stop);
size_t evq_pending(const struct evq *q);

#endif
