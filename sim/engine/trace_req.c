/*
 * The trace's in-flight requests: slots from a slab with a free list, found
 * through an open-addressing hash map (linear probing, backward-shift
 * deletion, never shrinks), on a list in order of first appearance (every
 * iteration walks it, so no output depends on the hash layout), and in
 * per-(place, hop) buckets for notifications.
 */
#include "trace_int.h"

#include <stdlib.h>

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return x;
}

/* ---- in-flight requests ------------------------------------------------- */

/* Map position holding `id`, or the empty position where it would go. */
static uint32_t map_pos(const struct trace *t, uint64_t id)
{
    uint32_t i = (uint32_t)mix64(id) & t->mapmask;
    while (t->map[i] && t->reqs[t->map[i] - 1].id != id)
        i = (i + 1) & t->mapmask;
    return i;
}

struct req *req_find(const struct trace *t, uint64_t id)
{
    if (!t->map)
        return NULL;
    uint32_t s = t->map[map_pos(t, id)];
    return s ? &t->reqs[s - 1] : NULL;
}

/* Keeps the map at most half full. */
static bool map_reserve(struct trace *t)
{
    uint32_t cap = t->map ? t->mapmask + 1 : 0;
    if (2 * (t->inflight + 1) <= cap)
        return true;
    uint32_t ncap = cap ? 2 * cap : 64;
    uint32_t *m = calloc(ncap, sizeof(*m));
    if (!m)
        return false;
    free(t->map);
    t->map = m;
    t->mapmask = ncap - 1;
    for (uint32_t s = t->head; s != NIL; s = t->reqs[s].next)
        t->map[map_pos(t, t->reqs[s].id)] = s + 1;
    return true;
}

static bool slab_reserve(struct trace *t)
{
    if (t->freelist != NIL)
        return true;
    uint32_t cap = t->reqcap ? 2 * t->reqcap : 64;
    struct req *r = realloc(t->reqs, cap * sizeof(*r));
    if (!r)
        return false;
    t->reqs = r;
    for (uint32_t s = cap; s-- > t->reqcap;) {
        r[s].next = t->freelist;
        t->freelist = s;
    }
    t->reqcap = cap;
    return true;
}

struct req *req_new(struct trace *t, uint64_t id)
{
    if (!slab_reserve(t) || !map_reserve(t)) {
        t->dropped++;
        return NULL;
    }
    uint32_t s = t->freelist;
    struct req *r = &t->reqs[s];
    t->freelist = r->next;
    *r = (struct req){.id = id, .prev = t->tail, .next = NIL, .bprev = NIL, .bnext = NIL};
    r->hexlen = (uint8_t)(put_hex(r->hex, id) - r->hex);
    if (t->tail != NIL)
        t->reqs[t->tail].next = s;
    else
        t->head = s;
    t->tail = s;
    t->map[map_pos(t, id)] = s + 1;
    t->inflight++;
    return r;
}

/* Backward-shift deletion: no tombstones, probe chains stay short. */
static void map_erase(struct trace *t, uint32_t i)
{
    uint32_t mask = t->mapmask;
    for (uint32_t j = (i + 1) & mask; t->map[j]; j = (j + 1) & mask) {
        uint32_t home = (uint32_t)mix64(t->reqs[t->map[j] - 1].id) & mask;
        bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
        if (stays)
            continue;
        t->map[i] = t->map[j];
        i = j;
    }
    t->map[i] = 0;
}

void req_forget(struct trace *t, struct req *r)
{
    uint32_t s = (uint32_t)(r - t->reqs);
    bucket_unlink(t, r);
    if (r->origin < t->nsrcs && t->srcs[r->origin].inflight)
        t->srcs[r->origin].inflight--;
    map_erase(t, map_pos(t, r->id));
    if (r->prev != NIL)
        t->reqs[r->prev].next = r->next;
    else
        t->head = r->next;
    if (r->next != NIL)
        t->reqs[r->next].prev = r->prev;
    else
        t->tail = r->prev;
    r->next = t->freelist;
    t->freelist = s;
    t->inflight--;
}

/*
 * Requests by (place, hop), so that a notification moves the requests its
 * domain has in H2 (H6) without looking at any other: each request sits in
 * the bucket of its open hop, in the order it entered it.
 */
static bool buckets_reserve(struct trace *t, uint32_t idx)
{
    if (idx < t->nbuckets)
        return true;
    uint32_t n = t->nbuckets ? t->nbuckets : HOP_COUNT * 8;
    while (n <= idx)
        n *= 2;
    uint32_t *h = realloc(t->bhead, n * sizeof(*h));
    if (!h)
        return false;
    t->bhead = h;
    uint32_t *tl = realloc(t->btail, n * sizeof(*tl));
    if (!tl)
        return false;
    t->btail = tl;
    for (uint32_t i = t->nbuckets; i < n; i++)
        t->bhead[i] = t->btail[i] = NIL;
    t->nbuckets = n;
    return true;
}

void bucket_unlink(struct trace *t, struct req *r)
{
    if (!r->in_bucket)
        return;
    uint32_t b = (uint32_t)r->place * HOP_COUNT + r->hop;
    if (r->bprev != NIL)
        t->reqs[r->bprev].bnext = r->bnext;
    else
        t->bhead[b] = r->bnext;
    if (r->bnext != NIL)
        t->reqs[r->bnext].bprev = r->bprev;
    else
        t->btail[b] = r->bprev;
    r->bprev = r->bnext = NIL;
    r->in_bucket = false;
}

bool bucket_link(struct trace *t, struct req *r)
{
    uint32_t b = (uint32_t)r->place * HOP_COUNT + r->hop, s = (uint32_t)(r - t->reqs);
    if (!buckets_reserve(t, b))
        return false;
    r->bprev = t->btail[b];
    r->bnext = NIL;
    if (t->btail[b] != NIL)
        t->reqs[t->btail[b]].bnext = s;
    else
        t->bhead[b] = s;
    t->btail[b] = s;
    r->in_bucket = true;
    return true;
}
