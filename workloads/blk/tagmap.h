/*
 * Request id -> slot index for requests in flight, where the id is not
 * ours to choose: the global request id (HOPSIM_REQ) travels in the
 * protocol's tag/id field, so a completion names its request by that id.
 *
 * A chained hash: TAGMAP_BUCKETS heads, one `next` link per slot. Insert
 * is O(1), find and remove walk one short chain. Slots are the caller's
 * (0..TAGMAP_MAX_SLOTS-1); the map holds only the links and the ids.
 * Not reentrant: callers serialise (event delivery off, or upcall context).
 */
#ifndef BLK_TAGMAP_H
#define BLK_TAGMAP_H

#include <stdint.h>

#define TAGMAP_BUCKETS 64
#define TAGMAP_MAX_SLOTS 256

struct tagmap {
    int16_t head[TAGMAP_BUCKETS];
    int16_t next[TAGMAP_MAX_SLOTS];
    uint64_t tag[TAGMAP_MAX_SLOTS];
};

static inline unsigned tagmap_bucket(uint64_t tag)
{
    return (unsigned)((tag * 0x9e3779b97f4a7c15ull) >> 58); /* top 6 bits: 64 buckets */
}

static inline void tagmap_init(struct tagmap *m)
{
    for (unsigned i = 0; i < TAGMAP_BUCKETS; i++)
        m->head[i] = -1;
}

/* Slot holding `tag`, or -1. */
static inline int tagmap_find(const struct tagmap *m, uint64_t tag)
{
    int s = m->head[tagmap_bucket(tag)];
    while (s >= 0 && m->tag[s] != tag)
        s = m->next[s];
    return s;
}

static inline void tagmap_insert(struct tagmap *m, int slot, uint64_t tag)
{
    unsigned b = tagmap_bucket(tag);
    m->tag[slot] = tag;
    m->next[slot] = m->head[b];
    m->head[b] = (int16_t)slot;
}

/* Unlinks `slot` (which must be in the map). */
static inline void tagmap_remove(struct tagmap *m, int slot)
{
    int16_t *link = &m->head[tagmap_bucket(m->tag[slot])];
    while (*link >= 0 && *link != slot)
        link = &m->next[*link];
    if (*link == slot)
        *link = m->next[slot];
}

#endif
