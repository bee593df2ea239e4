/*
 * The JSON writer: Chrome / Perfetto Trace Event Format (traces/FORMAT.md).
 * Each place is a process; its threads are lanes:
 *  - Hop spans are written when they close. A place's hop spans go on lanes
 *    1, 2, ...: the lowest lane whose last span ended at or before the new
 *    span's start. By induction a lane's last span has the largest end on
 *    that lane, so spans on one lane never overlap, even when spans close
 *    out of time order.
 *  - Sub-spans go on lane 0 of their place when they nest there (disjoint
 *    from or inside/around every span on it, in integer ps), else on the
 *    lowest extra sub-span lane where they do, so every thread's complete
 *    events nest exactly (struct sublane).
 */
#include "trace_int.h"

#include <stdio.h>
#include <stdlib.h>

/* ---- JSON records ------------------------------------------------------- */

/* Room for a hop span and its flow event, or a sub-span without its name. */
#define JSON_RECORD_ROOM 512u

static void json_begin(struct trace *t)
{
    if (t->json_events++)
        OUT_LIT(&t->json, ",\n{");
    else
        OUT_LIT(&t->json, "\n{");
}

static char *put_begin(struct trace *t, char *w)
{
    if (t->json_events++)
        *w++ = ',';
    PUT_LIT(w, "\n{");
    return w;
}

_Static_assert(TID_STRIDE == 10000, "tid = pid's digits, then the lane's four");

/* "pid":P,"tid":T with tid = pid * 10000 + lane: the place's prefix, then four digits. */
static char *put_pid_tid(char *w, const struct place *p, uint32_t lane)
{
    memcpy(w, p->pidtid, sizeof(p->pidtid));
    w += p->pidtid_len;
    memcpy(w, trace_digit_pairs + 2 * (lane / 100 % 100), 2);
    memcpy(w + 2, trace_digit_pairs + 2 * (lane % 100), 2);
    return w + 4;
}

static void json_pid_tid(struct trace *t, uint32_t place, uint32_t lane)
{
    struct out *o = &t->json;
    out_end(o,
            put_pid_tid(out_room(o, sizeof(t->places[place].pidtid) + 4), &t->places[place], lane));
}

static void json_meta(struct trace *t, const char *what, uint32_t place, uint32_t lane,
                      const char *name, int64_t sort_index)
{
    struct out *o = &t->json;
    json_begin(t);
    OUT_LIT(o, "\"name\":");
    out_json_str(o, what);
    OUT_LIT(o, ",\"ph\":\"M\",");
    json_pid_tid(t, place, lane);
    if (name) {
        OUT_LIT(o, ",\"args\":{\"name\":");
        out_json_str(o, name);
    } else {
        OUT_LIT(o, ",\"args\":{\"sort_index\":");
        out_i64(o, sort_index);
    }
    OUT_LIT(o, "}}");
}

static void json_lane_meta(struct trace *t, uint32_t place, uint32_t lane)
{
    char name[32];
    snprintf(name, sizeof(name), "requests lane %u", (unsigned)lane);
    json_meta(t, "thread_name", place, lane, name, 0);
    json_meta(t, "thread_sort_index", place, lane, NULL, lane);
}

/* ph, ts, dur, pid and tid of a complete event; *ts (if not NULL) gets where ts went. */
static char *put_span_head(struct trace *t, char *w, simtime_t start, simtime_t end,
                           const struct place *p, uint32_t lane, struct str *ts)
{
    uint64_t g = us_grid(start);
    PUT_LIT(w, ",\"ph\":\"X\",\"ts\":");
    char *at = w;
    w = put_grid(w, g);
    if (ts)
        *ts = (struct str){at, (size_t)(w - at)};
    PUT_LIT(w, ",\"dur\":");
    /* us_grid(end) - g, so that ts + dur is the end's grid point exactly */
    w = put_dur(t->json.durs, w, us_grid(end) - g, true);
    *w++ = ',';
    return put_pid_tid(w, p, lane);
}

/* A flow event; ts is its time as already written (a grid number, at most 35 bytes). */
static char *put_flow(struct trace *t, char *w, char phase, struct str req, struct str ts,
                      const struct place *p, uint32_t lane)
{
    w = put_begin(t, w);
    PUT_LIT(w, "\"name\":\"req\",\"cat\":\"request\",\"ph\":\"");
    *w++ = phase;
    PUT_LIT(w, "\",\"id\":\"");
    w = put_req_hex(w, req);
    PUT_LIT(w, "\",\"ts\":");
    memcpy(w, ts.s, 40); /* the span's text is longer: the 40 bytes are inside it */
    w += ts.len;
    *w++ = ',';
    w = put_pid_tid(w, p, lane);
    if (phase == 'f')
        PUT_LIT(w, ",\"bp\":\"e\"");
    *w++ = '}';
    return w;
}

/* ---- lanes -------------------------------------------------------------- */

/* Adds a lane to a place (and names its thread). Returns false if out of memory. */
static bool lane_grow(struct trace *t, uint32_t place)
{
    struct place *p = &t->places[place];
    if (p->nlanes == p->lanecap) {
        uint32_t cap = p->lanecap ? 2 * p->lanecap : 4;
        struct lane *l = realloc(p->lanes, cap * sizeof(*l));
        if (!l) {
            t->dropped++;
            return false;
        }
        p->lanes = l;
        p->lanecap = cap;
    }
    p->lanes[p->nlanes++] = (struct lane){0};
    json_lane_meta(t, place, p->nlanes);
    return true;
}

/*
 * Lowest lane free at `start`: its last span ended at or before `start` and
 * did not also start there (two spans beginning at one instant on one thread
 * would make flow binding ambiguous). Returns the lane number, 1-based.
 */
static uint32_t lane_pick(struct trace *t, uint32_t place, simtime_t start, simtime_t end)
{
    struct place *p = &t->places[place];
    uint32_t k = 0, best = 0;
    for (; k < p->nlanes; k++) {
        if (p->lanes[k].end <= start && p->lanes[k].start < start)
            break;
        if (p->lanes[k].end < p->lanes[best].end)
            best = k;
    }
    if (k == p->nlanes && (p->nlanes == LANE_MAX || !lane_grow(t, place))) {
        if (p->nlanes == 0)
            return 0; /* no memory for any lane: share the sub-span thread */
        k = best;     /* out of lanes: share the one that frees first */
    }
    p->lanes[k] = (struct lane){.start = start, .end = end};
    return k + 1;
}

/* ---- sub-span lanes ----------------------------------------------------- */

/*
 * Two spans of one kind over the same instants are two services at once
 * (xenstored serving two domains' requests, say), not one inside the
 * other: they do not nest.
 */
static bool sub_fits(const struct sublane *l, simtime_t s, simtime_t e, uint16_t kind)
{
    if (s >= l->max_end)
        return true;
    if (s < l->evicted_max_end)
        return false;
    uint64_t k = l->n < SUB_RECENT ? l->n : SUB_RECENT;
    for (uint64_t i = 0; i < k; i++) {
        simtime_t a = l->recent[i].start, b = l->recent[i].end;
        if (a == s && b == e && l->recent[i].kind == kind && s != e)
            return false;
        if (b <= s || e <= a || (s <= a && b <= e) || (a <= s && e <= b))
            continue; /* disjoint, or one inside the other */
        return false;
    }
    return true;
}

static void sub_add(struct sublane *l, simtime_t s, simtime_t e, uint16_t kind)
{
    uint32_t i = (uint32_t)(l->n % SUB_RECENT);
    if (l->n >= SUB_RECENT && l->recent[i].end > l->evicted_max_end)
        l->evicted_max_end = l->recent[i].end;
    l->recent[i].start = s;
    l->recent[i].end = e;
    l->recent[i].kind = kind;
    l->n++;
    if (e > l->max_end)
        l->max_end = e;
}

static const char *const lane0_names[] = {[PLACE_CPU] = "hypervisor",
                                          [PLACE_DOMAIN] = "vcpu",
                                          [PLACE_DEVICE] = "exec",
                                          [PLACE_LINK] = "wire"};

/*
 * The tid offset for a sub-span: lane 0 if it nests with what lane 0 holds,
 * else the first extra sub-span lane where it does (added as needed). Out of
 * memory or lanes, lane 0 takes it.
 */
static uint32_t sub_lane_pick(struct trace *t, uint32_t place, simtime_t s, simtime_t e,
                              uint16_t kind)
{
    struct place *p = &t->places[place];
    uint32_t j = 0;
    while (j < p->nsub && !sub_fits(&p->sub[j], s, e, kind))
        j++;
    if (j == p->nsub) {
        if (p->nsub == p->subcap) {
            uint32_t cap = p->subcap ? 2 * p->subcap : 2;
            struct sublane *n = p->nsub < SUB_LANES_MAX ? realloc(p->sub, cap * sizeof(*n)) : NULL;
            if (!n) {
                if (!p->nsub)
                    return 0;
                sub_add(&p->sub[0], s, e, kind);
                return 0;
            }
            p->sub = n;
            p->subcap = cap;
        }
        p->sub[p->nsub++] = (struct sublane){0};
        if (j > 0 && t->json.on) {
            char name[48];
            snprintf(name, sizeof(name), "%s (overlapping %u)", lane0_names[p->kind], (unsigned)j);
            json_meta(t, "thread_name", place, SUB_LANE_BASE + j, name, 0);
            json_meta(t, "thread_sort_index", place, SUB_LANE_BASE + j, NULL,
                      (int64_t)(SUB_LANE_BASE + j));
        }
    }
    sub_add(&p->sub[j], s, e, kind);
    return j ? SUB_LANE_BASE + j : 0;
}

void json_header(struct trace *t, const char *title)
{
    struct out *o = &t->json;
    OUT_LIT(o, "{\"displayTimeUnit\":\"ns\",\"otherData\":{\"title\":");
    out_json_str(o, title ? title : "");
    OUT_LIT(o, ",\"generator\":\"hopsim\"},\"traceEvents\":[");
}

void json_hop_span(struct trace *t, const struct req *r, simtime_t end, bool last)
{
    struct out *o = &t->json;
    uint32_t lane = lane_pick(t, r->place, r->start, end);
    const struct place *p = &t->places[r->place];
    struct str hop = trace_hop_names[r->hop], req = {r->hex, r->hexlen};
    char *w = out_room(o, JSON_RECORD_ROOM);
    w = put_begin(t, w);
    PUT_LIT(w, "\"name\":\"");
    w = put_str(w, hop);
    PUT_LIT(w, "\",\"cat\":\"hop\"");
    struct str ts;
    w = put_span_head(t, w, r->start, end, p, lane, &ts);
    PUT_LIT(w, ",\"args\":{\"req\":\"");
    w = put_req_hex(w, req);
    PUT_LIT(w, "\",\"hop\":\"");
    w = put_str(w, hop);
    if (r->suppressed)
        PUT_LIT(w, "\",\"notify\":\"suppressed");
    PUT_LIT(w, "\"}}");
    /* A one-span request has nothing to link. */
    if (!last)
        w = put_flow(t, w, r->nspans ? 't' : 's', req, ts, p, lane);
    else if (r->nspans)
        w = put_flow(t, w, 'f', req, ts, p, lane);
    out_end(o, w);
}

/* \n{"name":"KIND[:NAME]","cat":"KIND" -- kept in the cache entry the first time. */
static void json_sub_name(struct trace *t, const struct trace_span *s, struct iname *in)
{
    struct out *o = &t->json;
    if (in && in->json.s) {
        out_s(o, in->json);
        return;
    }
    struct str kname = trace_kind_names[s->kind];
    size_t n = s->name ? strlen(s->name) : 0, at;
    if (in) /* the fragment, at most 6 bytes per name byte, goes in without a flush */
        out_room(o, 2 * kname.len + 6 * n + 32);
    at = o->len;
    OUT_LIT(o, "\n{\"name\":\"");
    out_s(o, kname);
    if (s->name) {
        out_ch(o, ':');
        out_json_escape(o, s->name);
    }
    OUT_LIT(o, "\",\"cat\":\"");
    out_s(o, kname);
    out_ch(o, '"');
    if (in)
        iname_keep(&in->json, o->buf + at, o->len - at);
}

void json_sub_span(struct trace *t, const struct trace_span *s, int hop, simtime_t end,
                   struct str req, struct iname *in)
{
    struct out *o = &t->json;
    const struct place *p = &t->places[s->place];
    /* a zero-length span (a guest-error marker, a lock taken at once) is an instant on lane 0:
     * it has no extent to nest, and a viewer that makes B/E pairs of complete events may close a
     * zero-length one before opening it when another slice begins at the same time */
    bool instant = end == s->start;
    uint32_t lane = instant ? 0 : sub_lane_pick(t, s->place, s->start, end, s->kind);
    if (t->json_events++)
        out_ch(o, ',');
    json_sub_name(t, s, in);
    char *w = out_room(o, JSON_RECORD_ROOM);
    if (instant) {
        PUT_LIT(w, ",\"ph\":\"i\",\"s\":\"t\",\"ts\":");
        w = put_grid(w, us_grid(s->start));
        *w++ = ',';
        w = put_pid_tid(w, p, 0);
    } else {
        w = put_span_head(t, w, s->start, end, p, lane, NULL);
    }
    PUT_LIT(w, ",\"args\":{");
    if (s->req != HOPSIM_NOREQ) {
        PUT_LIT(w, "\"req\":\"");
        w = put_req_hex(w, req);
        PUT_LIT(w, "\",");
    }
    if (hop != HOP_NONE) {
        PUT_LIT(w, "\"hop\":\"");
        w = put_str(w, trace_hop_names[hop]);
        PUT_LIT(w, "\",");
    }
    PUT_LIT(w, "\"arg\":");
    w = put_i64(w, s->arg);
    PUT_LIT(w, "}}");
    out_end(o, w);
}

void json_footer(struct trace *t)
{
    OUT_LIT(&t->json, "\n]}\n");
}

void json_place(struct trace *t, uint32_t pl)
{
    struct place *p = &t->places[pl];
    char *w = p->pidtid;
    PUT_LIT(w, "\"pid\":");
    char *pid = w;
    w = put_u64(w, pl + 1u);
    size_t n = (size_t)(w - pid);
    PUT_LIT(w, ",\"tid\":");
    memmove(w, pid, n);
    p->pidtid_len = (uint8_t)(w + n - p->pidtid);
    int64_t sub = p->id < 0 ? 0 : p->id > 65535 ? 65535 : p->id;
    json_meta(t, "process_name", pl, 0, p->name, 0);
    json_meta(t, "process_sort_index", pl, 0, NULL, (int64_t)p->kind * 65536 + sub);
    json_meta(t, "thread_name", pl, 0, lane0_names[p->kind], 0);
    json_meta(t, "thread_sort_index", pl, 0, NULL, 0);
}

void json_counter(struct trace *t, uint16_t place, const char *name, simtime_t now, int64_t value)
{
    struct out *o = &t->json;
    json_begin(t);
    OUT_LIT(o, "\"name\":");
    out_json_str(o, name ? name : "");
    OUT_LIT(o, ",\"cat\":\"counter\",\"ph\":\"C\",\"ts\":");
    out_grid(o, us_grid(now));
    out_ch(o, ',');
    json_pid_tid(t, place, 0);
    OUT_LIT(o, ",\"args\":{\"value\":");
    out_i64(o, value);
    OUT_LIT(o, "}}");
}
