/*
 * Per-request, per-hop tracing (interface and semantics: trace.h; file
 * format for users: traces/FORMAT.md).
 *
 * Assumptions and invariants:
 *  - One host thread calls in. A NULL `struct trace *` makes every call a
 *    no-op, so callers need not test for "tracing off".
 *  - Times are picoseconds. Marks from different vCPUs may carry slightly
 *    different local times, so a hop may be closed "before" it opened: such
 *    a span is clamped to zero length, never an assert.
 *  - Only in-flight requests are held (trace_req.c); memory is bounded by
 *    the peak number of requests in flight, not by run length.
 *  - Hop spans and sub-spans are handed to the writers (trace_json.c,
 *    trace_csv.c) when they close, and to the listener; the JSON writer
 *    places them on lanes so that every thread's events nest exactly.
 *  - Every number is formatted from integers by hand (trace_out.c), so
 *    output is byte-identical across runs and hosts.
 *  - Allocation failure never aborts: the record is dropped, counted, and
 *    trace_close() reports it.
 */
#include "trace_int.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline void emit(const struct trace *t, const struct trace_rec *r)
{
    if (t->listen)
        t->listen(t->listen_ctx, r);
}

static void trace_free(struct trace *t)
{
    for (uint32_t i = 0; i < t->nplaces; i++) {
        free(t->places[i].name);
        free((char *)t->places[i].csv.s);
        free(t->places[i].lanes);
        free(t->places[i].sub);
    }
    free(t->places);
    free(t->reqs);
    free(t->bhead);
    free(t->btail);
    free(t->srcs);
    free(t->map);
    free(t->hist);
    iname_free(t);
    free(t);
}

struct trace *trace_open(const struct trace_opts *o, char *err, size_t errlen)
{
    struct trace *t = calloc(1, sizeof(*t));
    if (!t || !(t->hist = calloc(HIST_N, sizeof(*t->hist)))) {
        snprintf(err, errlen, "trace: out of memory");
        free(t);
        return NULL;
    }
    t->freelist = t->head = t->tail = NIL;
    t->listen = o->listen;
    t->listen_ctx = o->listen_ctx;
    int rc = 0;
    trace_grid_low_init();
    if (o->json_path && (rc = out_open(&t->json, o->json_path, err, errlen)) == 0)
        json_header(t, o->title);
    if (rc == 0 && o->csv_path && (rc = out_open(&t->csv, o->csv_path, err, errlen)) == 0)
        csv_header(t);
    if (rc) {
        char scratch[8];
        out_close(&t->json, scratch, sizeof(scratch), -1);
        out_close(&t->csv, scratch, sizeof(scratch), -1);
        trace_free(t);
        return NULL;
    }
    return t;
}

int trace_close(struct trace *t, char *err, size_t errlen)
{
    if (!t)
        return 0;
    int rc = 0;
    if (t->dropped) {
        snprintf(err, errlen, "trace: out of memory, %llu records dropped",
                 (unsigned long long)t->dropped);
        rc = -1;
    }
    if (t->json.on)
        json_footer(t);
    rc = out_close(&t->json, err, errlen, rc);
    rc = out_close(&t->csv, err, errlen, rc);
    trace_free(t);
    return rc;
}

/* ---- places ------------------------------------------------------------- */

uint16_t trace_place(struct trace *t, enum trace_place_kind kind, int id, const char *name)
{
    if (!t)
        return 0;
    assert(kind >= PLACE_CPU && kind <= PLACE_LINK);
    assert(t->nplaces < UINT16_MAX);
    if (t->nplaces == t->placecap) {
        uint32_t cap = t->placecap ? 2 * t->placecap : 16;
        struct place *p = realloc(t->places, cap * sizeof(*p));
        if (!p) {
            t->dropped++;
            return UINT16_MAX;
        }
        t->places = p;
        t->placecap = cap;
    }
    char *copy = strdup(name ? name : "");
    struct str csv = csv_quote(copy);
    if (!copy || !csv.s) {
        free(copy);
        free((char *)csv.s);
        t->dropped++;
        return UINT16_MAX;
    }
    uint32_t pl = t->nplaces++;
    t->places[pl] = (struct place){.name = copy, .csv = csv, .kind = kind, .id = id};
    if (t->json.on)
        json_place(t, pl);
    emit(t, &(struct trace_rec){.type = TREC_PLACE,
                                .place = (uint16_t)pl,
                                .place_kind = kind,
                                .place_id = id,
                                .name = copy,
                                .req = HOPSIM_NOREQ,
                                .hop = HOP_NONE});
    return (uint16_t)pl;
}

static bool place_ok(const struct trace *t, uint32_t place)
{
    assert(place < t->nplaces);
    return place < t->nplaces;
}

/* ---- hop spans ---------------------------------------------------------- */

static void hop_write(struct trace *t, struct req *r, const struct req *h, simtime_t end, bool last)
{
    hist_add(&t->hist[h->hop], end - h->start);
    if (t->json.on)
        json_hop_span(t, h, end, last);
    if (t->csv.on)
        csv_row(t, (struct str){r->hex, r->hexlen}, h->hop, SPAN_HOP, NULL, NULL, h->place,
                h->start, end, h->suppressed);
    emit(t, &(struct trace_rec){.type = TREC_HOP,
                                .place = h->place,
                                .req = r->id,
                                .hop = h->hop,
                                .kind = SPAN_HOP,
                                .start = h->start,
                                .end = end,
                                .arg = h->suppressed});
    r->nspans++;
}

/* Closes the request's open hop at `now` and writes it (after the hop it held, if any). */
static void hop_close(struct trace *t, struct req *r, simtime_t now, bool last)
{
    if (r->held) {
        struct req h = *r;
        h.hop = r->held_hop;
        h.place = r->held_place;
        h.start = r->held_start;
        h.suppressed = r->held_suppressed;
        simtime_t end = r->held_end;
        if (now < end) {
            /* taken off the ring before its notification arrived: H2 (H6) ends there and the
               notification hop is empty, as when the notification is suppressed */
            end = now < h.start ? h.start : now;
            r->start = end;
            r->suppressed = true;
            r->hist[0].start = end;
        }
        r->held = false;
        hop_write(t, r, &h, end, false);
    }
    hop_write(t, r, r, now < r->start ? r->start : now, last);
    r->suppressed = false;
}

static void hop_enter(struct trace *t, struct req *r, int hop, uint16_t place, simtime_t now)
{
    bucket_unlink(t, r);
    r->hop = (uint8_t)hop;
    r->place = place;
    r->posted = false;
    r->ring = 0;
    if (!bucket_link(t, r))
        t->dropped++; /* still traced; only a notification will not move it */
    r->start = now;
    memmove(&r->hist[1], &r->hist[0], sizeof r->hist - sizeof r->hist[0]);
    r->hist[0].start = now;
    r->hist[0].hop = (uint8_t)hop;
    if (r->nhist < REQ_HIST)
        r->nhist++;
    emit(t, &(struct trace_rec){.type = TREC_HOP_OPEN,
                                .place = place,
                                .req = r->id,
                                .hop = hop,
                                .kind = SPAN_HOP,
                                .start = now,
                                .end = now});
}

/*
 * The hop a sub-span of request r belongs to: the one its start fell in, if
 * the span also ends inside it. A span that crosses a hop boundary (work
 * done for the request while it moved on) carries the request but no hop.
 */
static int hop_of_span(const struct req *r, simtime_t start, simtime_t end)
{
    for (uint8_t i = 0; i < r->nhist; i++) {
        if (r->hist[i].start > start)
            continue;
        if (i > 0 && end > r->hist[i - 1].start)
            return HOP_NONE;
        return r->hist[i].hop;
    }
    return HOP_NONE;
}

/*
 * When r may leave its open hop, asked for `now`: not before the end of a
 * sub-span already attributed to that hop. A vCPU's slice runs ahead of the
 * others: a guest can report its request's next hop at a time before the
 * end of work another vCPU recorded for the request's current hop (a device
 * model posting a completion the guest has already seen). The boundary
 * moves to that work's end, so what was attributed to the hop stays in it.
 */
static simtime_t hop_leave_time(const struct req *r, simtime_t now)
{
    return now < r->sub_end ? r->sub_end : now;
}

static bool hop_ok(int hop)
{
    assert(hop >= HOP_H1 && hop <= HOP_H8);
    return hop >= HOP_H1 && hop <= HOP_H8;
}

void trace_hop(struct trace *t, uint64_t req, int hop, uint16_t place, simtime_t now)
{
    if (!t || !hop_ok(hop) || !place_ok(t, place))
        return;
    struct req *r = req_find(t, req);
    if (!r) {
        /* each place (domain, device) may hold TRACE_MAX_REQS_PER_PLACE requests in flight:
           a guest that marks ever new ids without completing them is counted, not traced */
        if (place >= t->nsrcs) {
            uint32_t n = t->nplaces > place ? t->nplaces : place + 1u;
            struct src *grown = realloc(t->srcs, n * sizeof(*grown));
            if (!grown) {
                t->dropped++;
                return;
            }
            memset(grown + t->nsrcs, 0, (n - t->nsrcs) * sizeof(*grown));
            t->srcs = grown;
            t->nsrcs = n;
        }
        struct src *s = &t->srcs[place];
        if (s->inflight >= TRACE_MAX_REQS_PER_PLACE) {
            t->over_cap++;
            return;
        }
        r = req_new(t, req);
        if (r) {
            r->origin = place;
            s->inflight++;
            r->first = now;
            if (!s->started) {
                s->started = true;
                s->first = now;
                s->done_before = t->done;
            }
            hop_enter(t, r, hop, place, now);
        }
        return;
    }
    if (r->hop == hop && r->place == place)
        return;
    now = hop_leave_time(r, now);
    hop_close(t, r, now, false);
    /*
     * H2 -> H4 (or H6 -> H8): the request was taken off the ring without a
     * notification of its own -- RING_PUSH_*_AND_CHECK_NOTIFY found the other
     * side still working, so no hypervisor hop happened. It is recorded as a
     * zero-length H3 (H7) flagged "notify suppressed" (CSV arg 1), so every
     * request shows the protocol's eight steps and the count is visible.
     */
    if ((r->hop == HOP_H2 && hop == HOP_H4) || (r->hop == HOP_H6 && hop == HOP_H8)) {
        hop_enter(t, r, r->hop + 1, place, now);
        r->suppressed = true;
        hop_close(t, r, now, false);
    }
    hop_enter(t, r, hop, place, now);
}

void trace_hop_mark(struct trace *t, uint64_t req, int hop, uint16_t place, simtime_t now,
                    uint32_t ring)
{
    trace_hop(t, req, hop, place, now);
    struct req *r = t && hop_ok(hop) ? req_find(t, req) : NULL;
    if (r && r->hop == hop && r->place == place) {
        r->posted = true;
        r->ring = ring;
    }
}

static int advance(struct trace *t, uint16_t at, int from, int to, uint16_t place, simtime_t now,
                   bool posted_only, uint32_t ring);

int trace_hop_advance(struct trace *t, uint16_t at, int from, int to, uint16_t place, simtime_t now)
{
    return advance(t, at, from, to, place, now, false, 0);
}

int trace_hop_advance_posted(struct trace *t, uint16_t at, int from, int to, uint16_t place,
                             simtime_t now, uint32_t ring)
{
    return advance(t, at, from, to, place, now, true, ring);
}

static int advance(struct trace *t, uint16_t at, int from, int to, uint16_t place, simtime_t now,
                   bool posted_only, uint32_t ring)
{
    if (!t || !hop_ok(from) || !hop_ok(to) || !place_ok(t, at) || !place_ok(t, place))
        return 0;
    if (from == to && at == place)
        return 0;
    int moved = 0;
    t->last_advanced = HOPSIM_NOREQ;
    uint32_t b = (uint32_t)at * HOP_COUNT + (uint32_t)from;
    for (uint32_t s = b < t->nbuckets ? t->bhead[b] : NIL, next; s != NIL; s = next) {
        struct req *r = &t->reqs[s];
        next = r->bnext;
        /* a request that enters `from` only later (its completion interrupt is still on the
         * way) is not covered by this move */
        if (r->hop != from || r->place != at || r->start > now || (posted_only && !r->posted))
            continue;
        /* a notify through one ring's event channel carries that ring's entries, not another's */
        if (posted_only && ring && r->ring && r->ring != ring)
            continue;
        simtime_t at_time = hop_leave_time(r, now);
        if (!r->held && ((from == HOP_H2 && to == HOP_H3) || (from == HOP_H6 && to == HOP_H7))) {
            r->held = true; /* written when the notification hop closes (hop_close) */
            r->held_hop = r->hop;
            r->held_place = r->place;
            r->held_start = r->start;
            r->held_end = at_time;
            r->held_suppressed = r->suppressed;
            r->suppressed = false;
        } else {
            hop_close(t, r, at_time, false);
        }
        hop_enter(t, r, to, place, at_time);
        if (!moved)
            t->last_advanced = r->id;
        moved++;
    }
    return moved;
}

void trace_done(struct trace *t, uint64_t req, simtime_t now)
{
    if (!t)
        return;
    struct req *r = req_find(t, req);
    if (!r) {
        t->unknown_done++;
        return;
    }
    now = hop_leave_time(r, now);
    hop_close(t, r, now, true);
    hist_add(&t->hist[HIST_REQ], now < r->first ? 0 : now - r->first);
    if (!t->done || r->first < t->window_first)
        t->window_first = r->first;
    if (now > t->window_last)
        t->window_last = now;
    t->done++;
    if (r->origin < t->nsrcs) {
        struct src *s = &t->srcs[r->origin];
        s->completed = true;
        s->last = now;
        s->done_upto = t->done;
    }
    req_forget(t, r);
}

int trace_req_hop(const struct trace *t, uint64_t req)
{
    const struct req *r = t ? req_find(t, req) : NULL;
    return r ? r->hop : HOP_NONE;
}

int trace_req_place(const struct trace *t, uint64_t req)
{
    const struct req *r = t ? req_find(t, req) : NULL;
    return r ? r->place : -1;
}

/* ---- sub-spans and counters -------------------------------------------- */

void trace_span(struct trace *t, const struct trace_span *s)
{
    if (!t)
        return;
    bool kind_ok = s->kind != SPAN_HOP && s->kind < SPAN_KIND_COUNT;
    assert(kind_ok && s->hop < HOP_COUNT);
    if (!kind_ok || s->hop >= HOP_COUNT || !place_ok(t, s->place))
        return;
    int hop = s->hop;
    simtime_t end = s->end < s->start ? s->start : s->end;
    char hex[REQ_HEX_MAX];
    struct str req = {hex, 0};
    if (s->req != HOPSIM_NOREQ) {
        struct req *r = req_find(t, s->req);
        if (r && hop == HOP_NONE)
            hop = hop_of_span(r, s->start, end);
        if (r && hop == r->hop && end > r->sub_end)
            r->sub_end = end; /* the open hop ends no earlier (hop_leave_time) */
        if (r)
            req = (struct str){r->hex, r->hexlen};
        else if (t->json.on || t->csv.on)
            req.len = (size_t)(put_hex(hex, s->req) - hex);
    }
    hist_add(&t->hist[HOP_COUNT + s->kind], end - s->start);
    struct iname *in = t->json.on || t->csv.on ? iname_get(t, s->kind, s->name) : NULL;
    if (t->json.on)
        json_sub_span(t, s, hop, end, req, in);
    if (t->csv.on)
        csv_row(t, req, hop, s->kind, s->name, in, s->place, s->start, end, s->arg);
    emit(t, &(struct trace_rec){.type = TREC_SPAN,
                                .place = s->place,
                                .name = s->name,
                                .req = s->req,
                                .hop = hop,
                                .kind = s->kind,
                                .start = s->start,
                                .end = end,
                                .arg = s->arg});
}

void trace_counter(struct trace *t, uint16_t place, const char *name, simtime_t now, int64_t value)
{
    if (!t || !place_ok(t, place))
        return;
    emit(t, &(struct trace_rec){.type = TREC_COUNTER,
                                .place = place,
                                .name = name,
                                .req = HOPSIM_NOREQ,
                                .hop = HOP_NONE,
                                .start = now,
                                .end = now,
                                .arg = value});
    if (t->json.on)
        json_counter(t, place, name, now, value);
}
