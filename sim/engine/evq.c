/*
 * Discrete-event queue: a binary min-heap ordered by (time, sequence),
 * each entry holding its key and its slot's index. Slots live in a
 * growable pool with a free list; handles carry a generation so stale
 * handles are recognised. The keys are in the heap itself so that a sift
 * compares entries of one array instead of loading a slot per comparison
 * (with many domains the heap holds hundreds of events, and the slots
 * are scattered over the pool).
 *
 * Assumption: time never goes backwards -- scheduling before `now` is a
 * host bug (assert), not a guest error.
 */
#include "evq.h"

#include <assert.h>
#include <stdlib.h>

struct evq_slot {
    simtime_t when;
    uint64_t seq;
    evq_fn fn;
    void *opaque;
    uint32_t gen;
    uint32_t heap_pos; /* UINT32_MAX when not queued */
    uint32_t next_free;
};

struct evq_ent {
    simtime_t when;
    uint64_t seq;
    uint32_t slot;
};

#define NO_SLOT UINT32_MAX

void evq_init(struct evq *q)
{
    *q = (struct evq){.free_head = NO_SLOT};
}

void evq_fini(struct evq *q)
{
    free(q->slots);
    free(q->heap);
    *q = (struct evq){.free_head = NO_SLOT};
}

static bool ent_before(const struct evq_ent *x, const struct evq_ent *y)
{
    return x->when < y->when || (x->when == y->when && x->seq < y->seq);
}

static void heap_set(struct evq *q, uint32_t pos, const struct evq_ent *e)
{
    q->heap[pos] = *e;
    q->slots[e->slot].heap_pos = pos;
}

static void sift_up(struct evq *q, uint32_t pos)
{
    struct evq_ent s = q->heap[pos];
    while (pos > 0) {
        uint32_t parent = (pos - 1) / 2;
        if (!ent_before(&s, &q->heap[parent]))
            break;
        heap_set(q, pos, &q->heap[parent]);
        pos = parent;
    }
    heap_set(q, pos, &s);
}

static void sift_down(struct evq *q, uint32_t pos)
{
    struct evq_ent s = q->heap[pos];
    for (;;) {
        uint32_t l = 2 * pos + 1, r = l + 1, best = pos;
        const struct evq_ent *b = &s;
        if (l < q->nheap && ent_before(&q->heap[l], b)) {
            best = l;
            b = &q->heap[l];
        }
        if (r < q->nheap && ent_before(&q->heap[r], b)) {
            best = r;
            b = &q->heap[r];
        }
        if (best == pos)
            break;
        heap_set(q, pos, b);
        pos = best;
    }
    heap_set(q, pos, &s);
}

static uint32_t slot_alloc(struct evq *q)
{
    if (q->free_head != NO_SLOT) {
        uint32_t s = q->free_head;
        q->free_head = q->slots[s].next_free;
        return s;
    }
    if (q->nslots == q->cap_slots) {
        uint32_t cap = q->cap_slots ? q->cap_slots * 2 : 64;
        struct evq_slot *n = realloc(q->slots, cap * sizeof(*n));
        assert(n);
        q->slots = n;
        q->cap_slots = cap;
        struct evq_ent *h = realloc(q->heap, cap * sizeof(*h));
        assert(h);
        q->heap = h;
        q->cap_heap = cap;
    }
    q->slots[q->nslots].gen = 1;
    return q->nslots++;
}

static void slot_free(struct evq *q, uint32_t s)
{
    q->slots[s].gen++;
    if (q->slots[s].gen == 0)
        q->slots[s].gen = 1;
    q->slots[s].heap_pos = NO_SLOT;
    q->slots[s].next_free = q->free_head;
    q->free_head = s;
}

evq_handle evq_schedule(struct evq *q, simtime_t when, evq_fn fn, void *opaque)
{
    assert(when >= q->now);
    assert(fn);
    uint32_t s = slot_alloc(q);
    struct evq_slot *e = &q->slots[s];
    e->when = when;
    e->seq = q->next_seq++;
    e->fn = fn;
    e->opaque = opaque;
    heap_set(q, q->nheap++, &(struct evq_ent){.when = when, .seq = e->seq, .slot = s});
    sift_up(q, q->nheap - 1);
    return ((uint64_t)e->gen << 32) | s;
}

static void heap_remove(struct evq *q, uint32_t pos)
{
    struct evq_ent last = q->heap[--q->nheap];
    if (pos == q->nheap)
        return;
    heap_set(q, pos, &last);
    sift_down(q, pos);
    sift_up(q, q->slots[last.slot].heap_pos);
}

bool evq_cancel(struct evq *q, evq_handle h)
{
    uint32_t s = (uint32_t)h;
    if (h == 0 || s >= q->nslots)
        return false;
    struct evq_slot *e = &q->slots[s];
    if (e->gen != (uint32_t)(h >> 32) || e->heap_pos == NO_SLOT)
        return false;
    heap_remove(q, e->heap_pos);
    slot_free(q, s);
    return true;
}

simtime_t evq_peek(const struct evq *q)
{
    return q->nheap ? q->heap[0].when : SIMTIME_NEVER;
}

bool evq_step(struct evq *q)
{
    if (!q->nheap)
        return false;
    uint32_t s = q->heap[0].slot;
    struct evq_slot e = q->slots[s];
    heap_remove(q, 0);
    slot_free(q, s);
    q->now = e.when;
    q->fired++;
    e.fn(e.opaque, e.when);
    return true;
}

uint64_t evq_run_until(struct evq *q, simtime_t limit, const volatile bool *stop)
{
    uint64_t n = 0;
    while (q->nheap && evq_peek(q) <= limit) {
        evq_step(q);
        n++;
        if (stop && *stop)
            break;
    }
    return n;
}

size_t evq_pending(const struct evq *q)
{
    return q->nheap;
}
