/*
 * Per-request, per-hop tracing.
 *
 * Two kinds of record:
 *  - hop spans: each request is, at any moment, in one hop (H1..H8) at one
 *    place. trace_hop() moves it to the next hop: the open hop span is
 *    closed at `now` and written, and a new one is opened. trace_done()
 *    closes the last one. Hop spans of one request are linked in the JSON
 *    output by Trace Event flow events (s, t..., f).
 *  - sub-spans (hypercall, grant map, world switch, ...): a finished
 *    interval on one place, written by trace_span().
 *
 * Places are tracks: the hypervisor on each physical CPU, each domain, each
 * device. Writers stream: only requests still in flight are held in memory
 * (a hash map keyed by request id); summaries are kept as fixed-size
 * log-linear histograms, so memory does not grow with run length.
 *
 * Output is deterministic: every number is printed from integers.
 */
#ifndef HOPSIM_TRACE_H
#define HOPSIM_TRACE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "simtime.h"
#include "hopsim/abi.h"

enum trace_place_kind {
    PLACE_CPU,    /* hypervisor work on a physical CPU; id = pCPU number */
    PLACE_DOMAIN, /* a domain's vCPU(s); id = domid */
    PLACE_DEVICE, /* a device model; id = device index */
    PLACE_LINK,   /* a wire */
};

/*
 * The records the writers emit, handed to a listener as they are written
 * (the live view, sim/view/, reads this stream: the same events the JSON
 * holds, one source of truth). TREC_HOP_OPEN announces a hop span that the
 * JSON will hold once it ends (same req, hop, place and start); the others
 * are written records. A listener must not call back into the trace, and
 * never changes the simulation.
 */
enum trace_rec_type { TREC_PLACE, TREC_HOP_OPEN, TREC_HOP, TREC_SPAN, TREC_COUNTER };

struct trace_rec {
    enum trace_rec_type type;
    uint16_t place;
    enum trace_place_kind place_kind; /* TREC_PLACE */
    int place_id;                     /* TREC_PLACE */
    const char *name;                 /* place name, span detail, counter name; may be NULL */
    uint64_t req;                     /* HOPSIM_NOREQ if none */
    int hop;                          /* HOP_NONE if unknown */
    int kind;                         /* SPAN_HOP for hop spans */
    simtime_t start, end;
    int64_t arg; /* span argument, counter value; hop span: 1 if notify suppressed */
};

typedef void (*trace_listen_fn)(void *ctx, const struct trace_rec *r);

struct trace_opts {
    const char *json_path;  /* NULL: no JSON file */
    const char *csv_path;   /* NULL: no CSV file */
    const char *title;      /* scenario name, written into the JSON metadata */
    trace_listen_fn listen; /* NULL: none */
    void *listen_ctx;
};

struct trace_span {
    uint64_t req;     /* HOPSIM_NOREQ if the span serves no request */
    uint8_t hop;      /* hop the request was in; HOP_NONE: looked up from req */
    uint16_t kind;    /* enum hopsim_span_kind (not SPAN_HOP) */
    uint16_t place;   /* from trace_place() */
    simtime_t start;  /* ps */
    simtime_t end;    /* ps, >= start */
    const char *name; /* detail (hypercall name, guest symbol); may be NULL */
    int64_t arg;      /* small argument (bytes, port, status); printed as-is */
};

struct trace_stat {
    uint64_t count;
    uint64_t sum; /* ps */
    uint64_t min, max;
    uint64_t p50, p99; /* ps, from the histogram (relative error < 1%) */
};

struct trace;

/* Returns NULL and fills err when an output file cannot be opened. */
struct trace *trace_open(const struct trace_opts *o, char *err, size_t errlen);
/* Flushes and closes the files. Returns 0, or -1 with err filled on an I/O error. */
int trace_close(struct trace *t, char *err, size_t errlen);

uint16_t trace_place(struct trace *t, enum trace_place_kind kind, int id, const char *name);

void trace_span(struct trace *t, const struct trace_span *s);

/* Move request `req` into `hop` at `place`, at time `now`. */
void trace_hop(struct trace *t, uint64_t req, int hop, uint16_t place, simtime_t now);
/*
 * Move every in-flight request that is in hop `from` at place `at` into hop
 * `to` at place `place`. Used by the hypervisor on a notify: the requests a
 * domain has put on its ring (H2, H6) now travel through the hypervisor.
 * Requests whose stay in `from` begins after `now` are left alone.
 * Returns the number moved.
 */
int trace_hop_advance(struct trace *t, uint16_t at, int from, int to, uint16_t place,
                      simtime_t now);
/*
 * A guest's own hop mark (mark.c): trace_hop, and the request counts as
 * put on its ring in that hop, even when it was already in it (a backend
 * marks H6 when it writes the response; the completion interrupt had
 * moved the request into H6 before). `ring` is the event channel (the
 * domain's port) that ring's notify goes through, 0 if the guest did not
 * say.
 */
void trace_hop_mark(struct trace *t, uint64_t req, int hop, uint16_t place, simtime_t now,
                    uint32_t ring);
/*
 * trace_hop_advance for an event-channel notify through the domain's port
 * `ring`: only the requests the domain has put on that port's ring since
 * entering `from` (trace_hop_mark) move, or on a ring it did not name. A
 * completion whose response is not written yet stays in H6 when the
 * backend notifies for another one; a frontend's notify for one queue
 * leaves the requests on its other queues' rings where they are.
 */
int trace_hop_advance_posted(struct trace *t, uint16_t at, int from, int to, uint16_t place,
                             simtime_t now, uint32_t ring);
/* The first request the latest trace_hop_advance moved (HOPSIM_NOREQ if none). */
uint64_t trace_last_advanced(const struct trace *t);
/* Request complete: close its open hop; the request's end-to-end latency is recorded. */
void trace_done(struct trace *t, uint64_t req, simtime_t now);
/* Current hop of an in-flight request, HOP_NONE if unknown. */
int trace_req_hop(const struct trace *t, uint64_t req);
/* Place of an in-flight request's current hop, -1 if unknown. */
int trace_req_place(const struct trace *t, uint64_t req);

/* A named point value (counter) at a time, e.g. guest test results. */
void trace_counter(struct trace *t, uint16_t place, const char *name, simtime_t now, int64_t value);

/* Summaries (complete requests only for the request latency). */
bool trace_stat_hop(const struct trace *t, int hop, struct trace_stat *out);
bool trace_stat_kind(const struct trace *t, int kind, struct trace_stat *out);
bool trace_stat_request(const struct trace *t, struct trace_stat *out);
uint64_t trace_requests_done(const struct trace *t);
uint64_t trace_requests_inflight(const struct trace *t);
/*
 * Requests in flight are held per place (domain, device) up to
 * TRACE_MAX_REQS_PER_PLACE; a hop mark for a new id beyond that is not
 * traced but counted here (and in the summary): a guest that marks ever
 * new request ids without completing them cannot grow host memory.
 */
#define TRACE_MAX_REQS_PER_PLACE 16384u
uint64_t trace_requests_over_cap(const struct trace *t);
/* Earliest start and latest completion of the completed requests (for IOPS). */
bool trace_request_window(const struct trace *t, simtime_t *first, simtime_t *last);
/* The window in which every place that started requests and completed any is running: from the
 * last one's first request to the first one's last completion, and the requests completed in it
 * (several frontends start one after another; a steady-state rate is count / (last - first)).
 * False if there is no such window (no request done, or the places never all ran at once). */
bool trace_request_window_all(const struct trace *t, simtime_t *first, simtime_t *last,
                              uint64_t *count);
/* The per-hop and per-span-kind table (count, mean, p50, p99, max in us). */
void trace_print_summary(const struct trace *t, FILE *out);

const char *trace_kind_name(int kind);
const char *trace_hop_name(int hop); /* "H1".."H8" */

#endif
