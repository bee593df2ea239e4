/*
 * The live view's model of a trace: places, hop spans, sub-spans and
 * counters, fed either record by record from a running simulation (the
 * trace listener, sim/engine/trace.h) or from a Trace Event JSON file the
 * trace writer wrote (traces/FORMAT.md). Both paths produce the same
 * records, so a replay shows what the live run showed.
 *
 * Hop spans may be open (live: the request is in that hop now; end is
 * VM_OPEN until the trace closes it). Queries answer "where is each request
 * at time t" and "which hop latencies were complete by t".
 */
#ifndef HOPSIM_VMODEL_H
#define HOPSIM_VMODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "simtime.h"
#include "trace.h"

#define VM_OPEN UINT64_MAX

struct vplace {
    char name[48];
    enum trace_place_kind kind;
    int id;
};

struct vspan {
    simtime_t start, end; /* end == VM_OPEN: still open (live) */
    uint64_t req;         /* HOPSIM_NOREQ if none */
    uint16_t place;
    uint8_t hop;   /* HOP_NONE if unknown */
    uint8_t kind;  /* SPAN_HOP for hop spans */
    int64_t arg;   /* sub-span argument; hop span: 1 = notify suppressed */
    uint32_t name; /* offset into the model's string pool; 0 = none */
};

struct vmodel {
    char title[96];
    struct vplace *places;
    uint32_t nplaces, placecap;
    struct vspan *hops; /* hop spans in order of arrival (open ones included) */
    size_t nhops, hopcap;
    struct vspan *subs; /* sub-spans and counters (kind == VM_COUNTER) */
    size_t nsubs, subcap;
    char *pool; /* interned names; pool[0] == 0 */
    size_t poolsize, poolcap;
    /* open hop spans: req -> index into hops (open addressing) */
    uint64_t *okeys;
    size_t *ovals;
    size_t ocap, ocount;
    simtime_t tmin, tmax; /* earliest start and latest time seen */
    simtime_t first_hop;  /* earliest hop span start (the first request), if any */
    bool any_hop;
    bool any;
};

#define VM_COUNTER 255 /* vspan.kind of a counter sample */

void vmodel_init(struct vmodel *m, const char *title);
void vmodel_fini(struct vmodel *m);

/* Adds one trace record (the trace listener's stream). Returns -1 on out of memory. */
int vmodel_add(struct vmodel *m, const struct trace_rec *r);

/* Loads a hopsim Trace Event JSON file. Returns -1 with err filled on error. */
int vmodel_load_json(struct vmodel *m, const char *path, char *err, size_t errlen);

const char *vmodel_name(const struct vmodel *m, uint32_t off);

/* A request in flight at time t: the hop span that covers t. */
struct vwhere {
    uint64_t req;
    uint16_t place;
    uint8_t hop;
    size_t span; /* index into hops */
};

/*
 * Every request in flight at t (a hop span with start <= t < end), in order
 * of the span's arrival; returns how many were written (at most max) and
 * sets *total to the full count.
 */
size_t vmodel_at(const struct vmodel *m, simtime_t t, struct vwhere *out, size_t max,
                 size_t *total);

/* The first record boundary (a span's start or end) strictly after t; t if none. */
simtime_t vmodel_next_event(const struct vmodel *m, simtime_t t);

/* Hop spans of one request, ordered by start; returns how many (at most max). */
size_t vmodel_request(const struct vmodel *m, uint64_t req, size_t *idx, size_t max);

/*
 * Per-hop latency histogram of the hop spans complete by t: VM_BINS
 * log-spaced bins from 10 ns to 10 ms (below and above clamp to the ends).
 */
#define VM_BINS 24
struct vhist {
    uint32_t bin[HOP_COUNT][VM_BINS];
    uint64_t count[HOP_COUNT];
    uint64_t sum[HOP_COUNT]; /* ps */
};
void vmodel_hist(const struct vmodel *m, simtime_t t, struct vhist *h);
int vmodel_bin_of(simtime_t dur);
simtime_t vmodel_bin_low(int bin);

#endif
