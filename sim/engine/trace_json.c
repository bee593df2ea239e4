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

static void json_begin(struct trace *t)
{
    if (t->json_events++)
        OUT_LIT(&t->json, ",\n{");
    else
        OUT_LIT(&t->json, "\n{");
}

_Static_assert(TID_STRIDE == 10000, "tid = pid's digits, then the lane's four");

static void json_pid_tid(struct out *o, uint32_t place, uint32_t lane)
{
    uint32_t pid = place + 1;
    int n = u64_digits(pid);
    char *w = out_room(o, 40), *p;
    memcpy(w, "\"pid\":", 6);
    p = w + 6;
    put_digits(p + n, pid, n);
    w = p + n;
    memcpy(w, ",\"tid\":", 7);
    memcpy(w + 7, p, (size_t)n); /* tid = pid * 10000 + lane */
    w += 7 + n;
    put_digits(w + 4, lane, 4);
    out_end(o, w + 4);
}

static void json_meta(struct trace *t, const char *what, uint32_t place, uint32_t lane,
                      const char *name, int64_t sort_index)
{
    struct out *o = &t->json;
    json_begin(t);
    OUT_LIT(o, "\"name\":");
    out_json_str(o, what);
    OUT_LIT(o, ",\"ph\":\"M\",");
    json_pid_tid(o, place, lane);
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

static void json_span_head(struct trace *t, simtime_t start, simtime_t end, uint32_t place,
                           uint32_t lane)
{
    struct out *o = &t->json;
    uint64_t g = us_grid(start);
    OUT_LIT(o, ",\"ph\":\"X\",\"ts\":");
    out_grid(o, g);
    OUT_LIT(o, ",\"dur\":");
    out_grid(o, us_grid(end) - g); /* so that ts + dur is the end's grid point exactly */
    out_ch(o, ',');
    json_pid_tid(o, place, lane);
}

static void json_flow(struct trace *t, char phase, uint64_t req, simtime_t ts, uint32_t place,
                      uint32_t lane)
{
    struct out *o = &t->json;
    json_begin(t);
    OUT_LIT(o, "\"name\":\"req\",\"cat\":\"request\",\"ph\":\"");
    out_ch(o, phase);
    OUT_LIT(o, "\",\"id\":\"");
    out_hex(o, req);
    OUT_LIT(o, "\",\"ts\":");
    out_grid(o, us_grid(ts));
    out_ch(o, ',');
    json_pid_tid(o, place, lane);
    if (phase == 'f')
        OUT_LIT(o, ",\"bp\":\"e\"");
    out_ch(o, '}');
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

void json_hop_span(struct trace *t, uint64_t id, const struct req *r, simtime_t end, bool last)
{
    struct out *o = &t->json;
    uint32_t lane = lane_pick(t, r->place, r->start, end);
    json_begin(t);
    OUT_LIT(o, "\"name\":\"");
    out_s(o, trace_hop_names[r->hop]);
    OUT_LIT(o, "\",\"cat\":\"hop\"");
    json_span_head(t, r->start, end, r->place, lane);
    OUT_LIT(o, ",\"args\":{\"req\":\"");
    out_hex(o, id);
    OUT_LIT(o, "\",\"hop\":\"");
    out_s(o, trace_hop_names[r->hop]);
    if (r->suppressed)
        OUT_LIT(o, "\",\"notify\":\"suppressed");
    OUT_LIT(o, "\"}}");
    /* A one-span request has nothing to link. */
    if (!last)
        json_flow(t, r->nspans ? 't' : 's', id, r->start, r->place, lane);
    else if (r->nspans)
        json_flow(t, 'f', id, r->start, r->place, lane);
}

/* Writes hop h (request r's, or one it held) ending at `end`. */
void json_sub_span(struct trace *t, const struct trace_span *s, int hop, simtime_t end)
{
    struct out *o = &t->json;
    struct str kname = trace_kind_names[s->kind];
    /* a zero-length span (a guest-error marker, a lock taken at once) is an instant on lane 0:
     * it has no extent to nest, and a viewer that makes B/E pairs of complete events may close a
     * zero-length one before opening it when another slice begins at the same time */
    bool instant = end == s->start;
    uint32_t lane = instant ? 0 : sub_lane_pick(t, s->place, s->start, end, s->kind);
    json_begin(t);
    OUT_LIT(o, "\"name\":\"");
    out_s(o, kname);
    if (s->name) {
        out_ch(o, ':');
        out_json_escape(o, s->name);
    }
    OUT_LIT(o, "\",\"cat\":\"");
    out_s(o, kname);
    out_ch(o, '"');
    if (instant) {
        OUT_LIT(o, ",\"ph\":\"i\",\"s\":\"t\",\"ts\":");
        out_grid(o, us_grid(s->start));
        out_ch(o, ',');
        json_pid_tid(o, s->place, 0);
    } else {
        json_span_head(t, s->start, end, s->place, lane);
    }
    OUT_LIT(o, ",\"args\":{");
    if (s->req != HOPSIM_NOREQ) {
        OUT_LIT(o, "\"req\":\"");
        out_hex(o, s->req);
        OUT_LIT(o, "\",");
    }
    if (hop != HOP_NONE) {
        OUT_LIT(o, "\"hop\":\"");
        out_s(o, trace_hop_names[hop]);
        OUT_LIT(o, "\",");
    }
    OUT_LIT(o, "\"arg\":");
    out_i64(o, s->arg);
    OUT_LIT(o, "}}");
}

void json_footer(struct trace *t)
{
    OUT_LIT(&t->json, "\n]}\n");
}

void json_place(struct trace *t, uint32_t pl)
{
    const struct place *p = &t->places[pl];
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
    json_pid_tid(o, place, 0);
    OUT_LIT(o, ",\"args\":{\"value\":");
    out_i64(o, value);
    OUT_LIT(o, "}}");
}
