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
 *  - Only in-flight requests are held: slots from a slab with a free list,
 *    found through an open-addressing hash map (linear probing,
 *    backward-shift deletion, never shrinks). In-flight requests are also on
 *    a list in order of first appearance; every iteration walks that list,
 *    so no output depends on the hash layout. Memory is bounded by the peak
 *    number of requests in flight, not by run length.
 *  - Hop spans are written when they close. A place's hop spans go on lanes
 *    (one Trace Event thread each): the lowest lane whose last span ended at
 *    or before the new span's start. By induction a lane's last span has the
 *    largest end on that lane, so spans on one lane never overlap, even when
 *    spans close out of time order.
 *  - Sub-spans go on lane 0 of their place when they nest there (disjoint
 *    from or inside/around every span on it, in integer ps), else on the
 *    lowest extra sub-span lane where they do, so every thread's complete
 *    events nest exactly (struct sublane).
 *  - Every number is formatted from integers by hand (no floating point), so
 *    output is byte-identical across runs and hosts.
 *  - Each file is written through a 1 MiB buffer of our own, flushed with
 *    fwrite (the stdio buffer is turned off). The first write error is
 *    latched and reported by trace_close().
 *  - Allocation failure never aborts: the record is dropped, counted, and
 *    trace_close() reports it.
 */
#include "trace.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- names ------------------------------------------------------------ */

/* A string of known length (names interned with their lengths). */
struct str {
    const char *s;
    size_t len;
};

#define STR(lit)                                                                                   \
    {                                                                                              \
        lit, sizeof(lit) - 1                                                                       \
    }

#define KIND_NAME_(id, name) STR(name),
static const struct str kind_names[SPAN_KIND_COUNT] = {HOPSIM_SPAN_KINDS(KIND_NAME_)};
#undef KIND_NAME_

static const struct str hop_names[HOP_COUNT] = {STR(""),   STR("H1"), STR("H2"),
                                                STR("H3"), STR("H4"), STR("H5"),
                                                STR("H6"), STR("H7"), STR("H8")};

const char *trace_kind_name(int kind)
{
    if (kind < 0 || kind >= SPAN_KIND_COUNT)
        return "?";
    return kind_names[kind].s;
}

const char *trace_hop_name(int hop)
{
    if (hop < 0 || hop >= HOP_COUNT)
        return "?";
    return hop_names[hop].s;
}

/* ---- log-linear histogram ---------------------------------------------- */

/*
 * Values below 2^(SUB_BITS+1) have a bucket each; above, every power of two
 * [2^e, 2^(e+1)) is cut into 2^SUB_BITS equal buckets of width 2^(e-SUB_BITS).
 * Reporting a bucket's midpoint errs by at most half a width, i.e. below
 * 2^-(SUB_BITS+1) = 0.4% of the value. Fixed size: 7424 buckets, 58 KiB.
 */
#define HIST_SUB_BITS 7u
#define HIST_SUB (1u << HIST_SUB_BITS)
#define HIST_BUCKETS ((64u - HIST_SUB_BITS + 1u) * HIST_SUB)

struct hist {
    uint64_t count, sum, min, max; /* sum wraps after 2^64 ps (213 days) */
    uint64_t bucket[HIST_BUCKETS];
};

static unsigned hist_index(uint64_t v)
{
    if (v < 2 * HIST_SUB)
        return (unsigned)v;
    unsigned e = 63u - (unsigned)__builtin_clzll(v);
    unsigned shift = e - HIST_SUB_BITS;
    return shift * HIST_SUB + (unsigned)(v >> shift);
}

/* Lowest value of bucket i; *width = number of values it holds. */
static uint64_t hist_lower(unsigned i, uint64_t *width)
{
    if (i < 2 * HIST_SUB) {
        *width = 1;
        return i;
    }
    unsigned shift = i / HIST_SUB - 1;
    uint64_t m = HIST_SUB + i % HIST_SUB;
    *width = 1ull << shift;
    return m << shift;
}

static void hist_add(struct hist *h, uint64_t v)
{
    if (h->count == 0 || v < h->min)
        h->min = v;
    if (v > h->max)
        h->max = v;
    h->count++;
    h->sum += v;
    h->bucket[hist_index(v)]++;
}

/* Nearest-rank quantile num/den, as the midpoint of its bucket within [min, max]. */
static uint64_t hist_quantile(const struct hist *h, uint64_t num, uint64_t den)
{
    assert(h->count > 0 && num <= den);
    uint64_t rank = (h->count * num + den - 1) / den;
    if (rank == 0)
        rank = 1;
    uint64_t seen = 0;
    unsigned i = 0;
    for (; i < HIST_BUCKETS - 1; i++) {
        seen += h->bucket[i];
        if (seen >= rank)
            break;
    }
    uint64_t width, v = hist_lower(i, &width);
    v += width / 2;
    if (v < h->min)
        v = h->min;
    if (v > h->max)
        v = h->max;
    return v;
}

static bool hist_stat(const struct hist *h, struct trace_stat *out)
{
    if (h->count == 0)
        return false;
    *out = (struct trace_stat){.count = h->count, .sum = h->sum, .min = h->min, .max = h->max};
    out->p50 = hist_quantile(h, 50, 100);
    out->p99 = hist_quantile(h, 99, 100);
    return true;
}

/* ---- buffered output --------------------------------------------------- */

#define OUT_CAP (1u << 20)

struct out {
    FILE *f; /* NULL: this output is off */
    char *path;
    char *buf;
    size_t len;
    int err; /* errno of the first write error; 0 if none */
};

static void out_flush(struct out *o)
{
    if (o->len && !o->err && fwrite(o->buf, 1, o->len, o->f) != o->len)
        o->err = errno ? errno : EIO;
    o->len = 0;
}

/* Out of line: only when the buffer is full (or n is huge). */
static void out_put_slow(struct out *o, const char *p, size_t n)
{
    out_flush(o);
    while (n > OUT_CAP) {
        memcpy(o->buf, p, OUT_CAP);
        o->len = OUT_CAP;
        out_flush(o);
        p += OUT_CAP;
        n -= OUT_CAP;
    }
    memcpy(o->buf, p, n);
    o->len = n;
}

/* Inline so that literal lengths turn memcpy into a few moves. */
static inline void out_put(struct out *o, const char *p, size_t n)
{
    if (__builtin_expect(o->len + n > OUT_CAP, 0)) {
        out_put_slow(o, p, n);
        return;
    }
    memcpy(o->buf + o->len, p, n);
    o->len += n;
}

#define OUT_LIT(o, s) out_put((o), (s), sizeof(s) - 1)

/* Room for n more bytes; returns where to write them (commit with out_end). */
static inline char *out_room(struct out *o, size_t n)
{
    if (__builtin_expect(o->len + n > OUT_CAP, 0))
        out_flush(o);
    return o->buf + o->len;
}

static inline void out_end(struct out *o, const char *w)
{
    o->len = (size_t)(w - o->buf);
}

static inline void out_ch(struct out *o, char c)
{
    char *w = out_room(o, 1);
    *w++ = c;
    out_end(o, w);
}

static const char digit_pairs[201] = "00010203040506070809101112131415161718192021222324"
                                     "25262728293031323334353637383940414243444546474849"
                                     "50515253545556575859606162636465666768697071727374"
                                     "75767778798081828384858687888990919293949596979899";

/* Writes the n lowest decimal digits of v ending at e, two at a time. */
static inline void put_digits(char *e, uint64_t v, int n)
{
    for (; n >= 2; n -= 2) {
        memcpy(e -= 2, digit_pairs + 2 * (v % 100), 2);
        v /= 100;
    }
    if (n)
        *--e = (char)('0' + v % 10);
}

/* Decimal digits of v: log10 from the bit length (1233 / 4096 ~ log10 2), then one compare. */
static inline int u64_digits(uint64_t v)
{
    static const uint64_t pow10[20] = {1ull,
                                       10ull,
                                       100ull,
                                       1000ull,
                                       10000ull,
                                       100000ull,
                                       1000000ull,
                                       10000000ull,
                                       100000000ull,
                                       1000000000ull,
                                       10000000000ull,
                                       100000000000ull,
                                       1000000000000ull,
                                       10000000000000ull,
                                       100000000000000ull,
                                       1000000000000000ull,
                                       10000000000000000ull,
                                       100000000000000000ull,
                                       1000000000000000000ull,
                                       10000000000000000000ull};
    uint64_t w = v | 1; /* same digit count: every power of ten from 10 up is even */
    int t = ((64 - __builtin_clzll(w)) * 1233) >> 12;
    return t + (w >= pow10[t]);
}

/* Digits written in place: no copy, no library call. */
static inline char *put_u64(char *w, uint64_t v)
{
    int n = u64_digits(v);
    put_digits(w + n, v, n);
    return w + n;
}

static void out_u64(struct out *o, uint64_t v)
{
    out_end(o, put_u64(out_room(o, 20), v));
}

static void out_i64(struct out *o, int64_t v)
{
    char *w = out_room(o, 21);
    if (v < 0) {
        *w++ = '-';
        w = put_u64(w, 0 - (uint64_t)v);
    } else {
        w = put_u64(w, (uint64_t)v);
    }
    out_end(o, w);
}

static void out_hex(struct out *o, uint64_t v)
{
    char *w = out_room(o, 18);
    int n = v ? (64 - __builtin_clzll(v) + 3) / 4 : 1;
    *w++ = '0';
    *w++ = 'x';
    for (int i = n - 1; i >= 0; i--, v >>= 4)
        w[i] = "0123456789abcdef"[v & 15];
    out_end(o, w + n);
}

/* Picoseconds as microseconds with exactly 6 decimals: 12345678 -> 12.345678. */
static void out_us(struct out *o, uint64_t ps)
{
    char *w = put_u64(out_room(o, 27), ps / PS_PER_US);
    *w = '.';
    put_digits(w + 7, ps % PS_PER_US, 6);
    out_end(o, w + 7);
}

static inline void out_s(struct out *o, struct str s)
{
    out_put(o, s.s, s.len);
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
    if (c < 0xC2 || c > 0xF4 || n < len)
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    if ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] >= 0xA0) || (c == 0xF0 && s[1] < 0x90) ||
        (c == 0xF4 && s[1] >= 0x90))
        return 0;
    return len;
}

static void out_json_escape(struct out *o, const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t n = strlen(str), run = 0;
    for (size_t i = 0; i < n;) {
        unsigned c = s[i];
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
            run++, i++;
            continue;
        }
        out_put(o, (const char *)s + i - run, run);
        run = 0;
        size_t u = c >= 0x80 ? utf8_len(s + i, n - i) : 0;
        if (u) {
            out_put(o, (const char *)s + i, u);
            i += u;
            continue;
        }
        i++;
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            out_put(o, e, 2);
        } else if (c < 0x20) {
            char e[6] = {
                '\\', 'u', '0', '0', "0123456789abcdef"[c >> 4], "0123456789abcdef"[c & 15]};
            out_put(o, e, 6);
        } else {
            OUT_LIT(o, "\\ufffd"); /* invalid UTF-8 byte */
        }
    }
    out_put(o, (const char *)s + n - run, run);
}

static void out_json_str(struct out *o, const char *s)
{
    out_ch(o, '"');
    out_json_escape(o, s);
    out_ch(o, '"');
}

/* A CSV field: quoted (quotes doubled) when it holds a comma, quote or newline. */
static void out_csv_str(struct out *o, const char *s)
{
    size_t n = strcspn(s, ",\"\r\n");
    if (!s[n]) {
        out_put(o, s, n);
        return;
    }
    out_ch(o, '"');
    for (; *s; s++) {
        if (*s == '"')
            out_ch(o, '"');
        out_ch(o, *s);
    }
    out_ch(o, '"');
}

/* ---- the trace ---------------------------------------------------------- */

/*
 * Trace Event thread ids: tid = pid * TID_STRIDE + lane (see FORMAT.md).
 * Lane 0 holds sub-spans; lanes 1..LANE_MAX hop spans; tids from
 * SUB_LANE_BASE + 1 up hold the sub-spans that would not nest on lane 0.
 */
#define TID_STRIDE 10000u
#define SUB_LANE_BASE 5000u
#define LANE_MAX (SUB_LANE_BASE - 1)
#define SUB_LANES_MAX (TID_STRIDE - SUB_LANE_BASE) /* lane 0 and 4999 more */
#define NIL UINT32_MAX

struct lane {
    simtime_t start, end; /* of the last span written on it */
};

/*
 * A sub-span lane: spans on it must nest (each pair disjoint or one inside
 * the other, in integer picoseconds). The latest SUB_RECENT spans are kept;
 * of the older ones only the latest end, and a span starting before it is
 * refused -- conservative, so the rule holds for every pair on the lane.
 */
#define SUB_RECENT 32
struct sublane {
    simtime_t max_end;         /* of every span written on it */
    simtime_t evicted_max_end; /* of the spans no longer in recent[] */
    uint64_t n;                /* spans written */
    struct {
        simtime_t start, end;
        uint16_t kind;
    } recent[SUB_RECENT];
};

struct place {
    char *name;
    struct str csv; /* name as a CSV field (quoted if needed), owned */
    enum trace_place_kind kind;
    int id;
    uint32_t nlanes, lanecap; /* lanes[k-1] is lane k */
    struct lane *lanes;
    uint32_t nsub, subcap; /* sub[0] is lane 0, sub[j] tid SUB_LANE_BASE + j */
    struct sublane *sub;
};

#define REQ_HIST 4
struct req {
    uint64_t id;
    simtime_t first;       /* start of its first hop */
    simtime_t start;       /* start of its open hop */
    uint32_t prev, next;   /* in-flight list, order of first appearance */
    uint32_t bprev, bnext; /* its (place, hop) bucket, order of entering the hop */
    uint16_t origin;       /* place that started it: its per-place count */
    bool in_bucket;
    uint32_t nspans; /* hop spans written so far */
    uint16_t place;
    uint8_t hop;
    bool suppressed;   /* the open hop is a zero-length H3/H7: no notification of its own */
    simtime_t sub_end; /* latest end of a sub-span attributed to its open hop */
    bool posted;       /* put on its ring in the open hop (trace_hop_mark) */
    /*
     * The H2 (H6) a notification closed, written only when the hop after it
     * closes: the other side may poll the ring and take the request before
     * the notification's time (its slice ran earlier), and then H2 ends
     * there and the notification hop is empty (hop_close).
     */
    bool held, held_suppressed;
    uint8_t held_hop;
    uint16_t held_place;
    simtime_t held_start, held_end;
    uint8_t nhist; /* entries of hist[] in use; hist[0] is the open hop */
    /* the latest hop entries, newest first: which hop a sub-span's start fell in */
    struct {
        simtime_t start;
        uint8_t hop;
    } hist[REQ_HIST];
};

enum { HIST_REQ = HOP_COUNT + SPAN_KIND_COUNT, HIST_N };

struct trace {
    struct out json, csv;
    uint64_t json_events;

    struct place *places;
    uint32_t nplaces, placecap;

    struct req *reqs; /* slab; free slots chained through .next */
    uint32_t reqcap, freelist, head, tail, inflight;
    uint32_t *map; /* slot + 1, 0 = empty */
    uint32_t mapmask;

    struct hist *hist;       /* [hop], [HOP_COUNT + kind], [HIST_REQ] */
    uint64_t last_advanced;  /* first request the latest trace_hop_advance moved */
    uint32_t *bhead, *btail; /* [place * HOP_COUNT + hop]: requests there now */
    uint32_t nbuckets;
    uint32_t *place_reqs; /* [place]: in-flight requests each place started */
    uint32_t nplace_reqs;
    uint64_t over_cap; /* new requests not traced: their place had TRACE_MAX_REQS_PER_PLACE */
    simtime_t window_first, window_last; /* first start and last completion of done requests */
    uint64_t done, unknown_done, dropped;

    trace_listen_fn listen; /* the live view (trace.h), NULL if none */
    void *listen_ctx;
};

static inline void emit(const struct trace *t, const struct trace_rec *r)
{
    if (t->listen)
        t->listen(t->listen_ctx, r);
}

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return x;
}

/* ---- JSON records ------------------------------------------------------- */

static void json_begin(struct trace *t)
{
    if (t->json_events++)
        OUT_LIT(&t->json, ",\n{");
    else
        OUT_LIT(&t->json, "\n{");
}

static void json_pid_tid(struct out *o, uint32_t place, uint32_t lane)
{
    uint64_t pid = (uint64_t)place + 1;
    OUT_LIT(o, "\"pid\":");
    out_u64(o, pid);
    OUT_LIT(o, ",\"tid\":");
    out_u64(o, pid * TID_STRIDE + lane);
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
    OUT_LIT(o, ",\"ph\":\"X\",\"ts\":");
    out_us(o, start);
    OUT_LIT(o, ",\"dur\":");
    out_us(o, end - start);
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
    out_us(o, ts);
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
        if (j > 0 && t->json.f) {
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

/* ---- CSV records -------------------------------------------------------- */

static void csv_row(struct trace *t, uint64_t req, int hop, int kind, const char *name,
                    uint16_t place, simtime_t start, simtime_t end, int64_t arg)
{
    struct out *o = &t->csv;
    if (req != HOPSIM_NOREQ)
        out_hex(o, req);
    out_ch(o, ',');
    out_s(o, hop_names[hop]);
    out_ch(o, ',');
    out_s(o, kind_names[kind]);
    out_ch(o, ',');
    if (name)
        out_csv_str(o, name);
    out_ch(o, ',');
    out_s(o, t->places[place].csv);
    out_ch(o, ',');
    out_u64(o, start);
    out_ch(o, ',');
    out_u64(o, end);
    out_ch(o, ',');
    out_u64(o, end - start);
    out_ch(o, ',');
    out_i64(o, arg);
    out_ch(o, '\n');
}

/* ---- open / close ------------------------------------------------------- */

static int out_open(struct out *o, const char *path, char *err, size_t errlen)
{
    o->f = fopen(path, "w");
    int e = errno;
    o->path = strdup(path);
    o->buf = malloc(OUT_CAP);
    if (o->f && (!o->path || !o->buf))
        e = ENOMEM;
    if (!o->f || !o->path || !o->buf) {
        snprintf(err, errlen, "cannot open trace file '%s': %s", path, strerror(e));
        return -1;
    }
    setvbuf(o->f, NULL, _IONBF, 0); /* our own buffer is the big one */
    return 0;
}

/* Flushes and closes; the first error goes into err. Returns 0 or -1. */
static int out_close(struct out *o, char *err, size_t errlen, int rc)
{
    if (!o->f)
        goto free;
    out_flush(o);
    if (ferror(o->f) && !o->err)
        o->err = EIO;
    if (fclose(o->f) != 0 && !o->err)
        o->err = errno ? errno : EIO;
    o->f = NULL;
    if (o->err && rc == 0) {
        snprintf(err, errlen, "error writing trace file '%s': %s", o->path, strerror(o->err));
        rc = -1;
    }
free:
    free(o->path);
    free(o->buf);
    o->path = o->buf = NULL;
    return rc;
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
    free(t->place_reqs);
    free(t->map);
    free(t->hist);
    free(t);
}

static void json_header(struct trace *t, const char *title)
{
    struct out *o = &t->json;
    OUT_LIT(o, "{\"displayTimeUnit\":\"ns\",\"otherData\":{\"title\":");
    out_json_str(o, title ? title : "");
    OUT_LIT(o, ",\"generator\":\"hopsim\"},\"traceEvents\":[");
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
    if (o->json_path && (rc = out_open(&t->json, o->json_path, err, errlen)) == 0)
        json_header(t, o->title);
    if (rc == 0 && o->csv_path && (rc = out_open(&t->csv, o->csv_path, err, errlen)) == 0)
        OUT_LIT(&t->csv, "req,hop,kind,name,place,start_ps,end_ps,dur_ps,arg\n");
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
    if (t->json.f)
        OUT_LIT(&t->json, "\n]}\n");
    rc = out_close(&t->json, err, errlen, rc);
    rc = out_close(&t->csv, err, errlen, rc);
    trace_free(t);
    return rc;
}

/* ---- places ------------------------------------------------------------- */

/* s as one CSV field, in a new string ({NULL, 0} if s is NULL or out of memory). */
static struct str csv_quote(const char *s)
{
    if (!s)
        return (struct str){NULL, 0};
    char *q = malloc(2 + 2 * strlen(s) + 1), *w = q;
    if (!q)
        return (struct str){NULL, 0};
    bool quote = s[strcspn(s, ",\"\r\n")] != 0;
    if (quote)
        *w++ = '"';
    for (const char *p = s; *p; p++) {
        if (*p == '"')
            *w++ = '"';
        *w++ = *p;
    }
    if (quote)
        *w++ = '"';
    *w = 0;
    return (struct str){q, (size_t)(w - q)};
}

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
    if (t->json.f) {
        int64_t sub = id < 0 ? 0 : id > 65535 ? 65535 : id;
        json_meta(t, "process_name", pl, 0, copy, 0);
        json_meta(t, "process_sort_index", pl, 0, NULL, (int64_t)kind * 65536 + sub);
        json_meta(t, "thread_name", pl, 0, lane0_names[kind], 0);
        json_meta(t, "thread_sort_index", pl, 0, NULL, 0);
    }
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

/* ---- in-flight requests ------------------------------------------------- */

/* Map position holding `id`, or the empty position where it would go. */
static uint32_t map_pos(const struct trace *t, uint64_t id)
{
    uint32_t i = (uint32_t)mix64(id) & t->mapmask;
    while (t->map[i] && t->reqs[t->map[i] - 1].id != id)
        i = (i + 1) & t->mapmask;
    return i;
}

static struct req *req_find(const struct trace *t, uint64_t id)
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

static struct req *req_new(struct trace *t, uint64_t id)
{
    if (!slab_reserve(t) || !map_reserve(t)) {
        t->dropped++;
        return NULL;
    }
    uint32_t s = t->freelist;
    struct req *r = &t->reqs[s];
    t->freelist = r->next;
    *r = (struct req){.id = id, .prev = t->tail, .next = NIL, .bprev = NIL, .bnext = NIL};
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

static void bucket_unlink(struct trace *t, struct req *r);

static void req_forget(struct trace *t, struct req *r)
{
    uint32_t s = (uint32_t)(r - t->reqs);
    bucket_unlink(t, r);
    if (r->origin < t->nplace_reqs && t->place_reqs[r->origin])
        t->place_reqs[r->origin]--;
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

static void bucket_unlink(struct trace *t, struct req *r)
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

/* Put r (with its new hop and place set) at the end of its bucket; false if out of memory. */
static bool bucket_link(struct trace *t, struct req *r)
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

/* ---- hop spans ---------------------------------------------------------- */

static void json_hop_span(struct trace *t, const struct req *r, simtime_t end, bool last)
{
    struct out *o = &t->json;
    uint32_t lane = lane_pick(t, r->place, r->start, end);
    json_begin(t);
    OUT_LIT(o, "\"name\":\"");
    out_s(o, hop_names[r->hop]);
    OUT_LIT(o, "\",\"cat\":\"hop\"");
    json_span_head(t, r->start, end, r->place, lane);
    OUT_LIT(o, ",\"args\":{\"req\":\"");
    out_hex(o, r->id);
    OUT_LIT(o, "\",\"hop\":\"");
    out_s(o, hop_names[r->hop]);
    if (r->suppressed)
        OUT_LIT(o, "\",\"notify\":\"suppressed");
    OUT_LIT(o, "\"}}");
    /* A one-span request has nothing to link. */
    if (!last)
        json_flow(t, r->nspans ? 't' : 's', r->id, r->start, r->place, lane);
    else if (r->nspans)
        json_flow(t, 'f', r->id, r->start, r->place, lane);
}

/* Writes hop h (request r's, or one it held) ending at `end`. */
static void hop_write(struct trace *t, struct req *r, const struct req *h, simtime_t end, bool last)
{
    hist_add(&t->hist[h->hop], end - h->start);
    if (t->json.f)
        json_hop_span(t, h, end, last);
    if (t->csv.f)
        csv_row(t, r->id, h->hop, SPAN_HOP, hop_names[h->hop].s, h->place, h->start, end,
                h->suppressed);
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
        if (place >= t->nplace_reqs) {
            uint32_t n = t->nplaces > place ? t->nplaces : place + 1u;
            uint32_t *c = realloc(t->place_reqs, n * sizeof(*c));
            if (!c) {
                t->dropped++;
                return;
            }
            memset(c + t->nplace_reqs, 0, (n - t->nplace_reqs) * sizeof(*c));
            t->place_reqs = c;
            t->nplace_reqs = n;
        }
        if (t->place_reqs[place] >= TRACE_MAX_REQS_PER_PLACE) {
            t->over_cap++;
            return;
        }
        r = req_new(t, req);
        if (r) {
            r->origin = place;
            t->place_reqs[place]++;
            r->first = now;
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

void trace_hop_mark(struct trace *t, uint64_t req, int hop, uint16_t place, simtime_t now)
{
    trace_hop(t, req, hop, place, now);
    struct req *r = t && hop_ok(hop) ? req_find(t, req) : NULL;
    if (r && r->hop == hop && r->place == place)
        r->posted = true;
}

static int advance(struct trace *t, uint16_t at, int from, int to, uint16_t place, simtime_t now,
                   bool posted_only);

int trace_hop_advance(struct trace *t, uint16_t at, int from, int to, uint16_t place, simtime_t now)
{
    return advance(t, at, from, to, place, now, false);
}

int trace_hop_advance_posted(struct trace *t, uint16_t at, int from, int to, uint16_t place,
                             simtime_t now)
{
    return advance(t, at, from, to, place, now, true);
}

static int advance(struct trace *t, uint16_t at, int from, int to, uint16_t place, simtime_t now,
                   bool posted_only)
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

static void json_sub_span(struct trace *t, const struct trace_span *s, int hop, simtime_t end)
{
    struct out *o = &t->json;
    struct str kname = kind_names[s->kind];
    uint32_t lane =
        sub_lane_pick(t, s->place, s->start, end, s->kind); /* may write a lane's metadata */
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
    json_span_head(t, s->start, end, s->place, lane);
    OUT_LIT(o, ",\"args\":{");
    if (s->req != HOPSIM_NOREQ) {
        OUT_LIT(o, "\"req\":\"");
        out_hex(o, s->req);
        OUT_LIT(o, "\",");
    }
    if (hop != HOP_NONE) {
        OUT_LIT(o, "\"hop\":\"");
        out_s(o, hop_names[hop]);
        OUT_LIT(o, "\",");
    }
    OUT_LIT(o, "\"arg\":");
    out_i64(o, s->arg);
    OUT_LIT(o, "}}");
}

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
    if (s->req != HOPSIM_NOREQ) {
        struct req *r = req_find(t, s->req);
        if (r && hop == HOP_NONE)
            hop = hop_of_span(r, s->start, end);
        if (r && hop == r->hop && end > r->sub_end)
            r->sub_end = end; /* the open hop ends no earlier (hop_leave_time) */
    }
    hist_add(&t->hist[HOP_COUNT + s->kind], end - s->start);
    if (t->json.f)
        json_sub_span(t, s, hop, end);
    if (t->csv.f)
        csv_row(t, s->req, hop, s->kind, s->name, s->place, s->start, end, s->arg);
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
    if (!t->json.f)
        return;
    struct out *o = &t->json;
    json_begin(t);
    OUT_LIT(o, "\"name\":");
    out_json_str(o, name ? name : "");
    OUT_LIT(o, ",\"cat\":\"counter\",\"ph\":\"C\",\"ts\":");
    out_us(o, now);
    out_ch(o, ',');
    json_pid_tid(o, place, 0);
    OUT_LIT(o, ",\"args\":{\"value\":");
    out_i64(o, value);
    OUT_LIT(o, "}}");
}

/* ---- statistics --------------------------------------------------------- */

bool trace_stat_hop(const struct trace *t, int hop, struct trace_stat *out)
{
    if (!t || hop < HOP_H1 || hop > HOP_H8)
        return false;
    return hist_stat(&t->hist[hop], out);
}

bool trace_stat_kind(const struct trace *t, int kind, struct trace_stat *out)
{
    if (!t || kind < 0 || kind >= SPAN_KIND_COUNT)
        return false;
    return hist_stat(&t->hist[HOP_COUNT + kind], out);
}

bool trace_stat_request(const struct trace *t, struct trace_stat *out)
{
    return t && hist_stat(&t->hist[HIST_REQ], out);
}

uint64_t trace_requests_done(const struct trace *t)
{
    return t ? t->done : 0;
}

uint64_t trace_last_advanced(const struct trace *t)
{
    return t ? t->last_advanced : HOPSIM_NOREQ;
}

bool trace_request_window(const struct trace *t, simtime_t *first, simtime_t *last)
{
    if (!t || !t->done)
        return false;
    *first = t->window_first;
    *last = t->window_last;
    return true;
}

uint64_t trace_requests_inflight(const struct trace *t)
{
    return t ? t->inflight : 0;
}

uint64_t trace_requests_over_cap(const struct trace *t)
{
    return t ? t->over_cap : 0;
}

/* Picoseconds as microseconds, 3 decimals, rounded to the nearest ns. */
static void print_us(FILE *out, uint64_t ps)
{
    uint64_t ns = ps / PS_PER_NS + (ps % PS_PER_NS >= PS_PER_NS / 2);
    char buf[32];
    snprintf(buf, sizeof(buf), "%llu.%03llu", (unsigned long long)(ns / 1000),
             (unsigned long long)(ns % 1000));
    fprintf(out, " %12s", buf);
}

static void print_head(FILE *out, const char *section)
{
    fprintf(out, "%-16s %10s %12s %12s %12s %12s\n", section, "count", "mean_us", "p50_us",
            "p99_us", "max_us");
}

static void print_row(FILE *out, const char *name, const struct hist *h)
{
    struct trace_stat st;
    if (!hist_stat(h, &st))
        return;
    fprintf(out, "%-16s %10llu", name, (unsigned long long)st.count);
    print_us(out, (st.sum + st.count / 2) / st.count);
    print_us(out, st.p50);
    print_us(out, st.p99);
    print_us(out, st.max);
    fputc('\n', out);
}

void trace_print_summary(const struct trace *t, FILE *out)
{
    if (!t)
        return;
    print_head(out, "hop");
    for (int h = HOP_H1; h <= HOP_H8; h++)
        print_row(out, hop_names[h].s, &t->hist[h]);
    fputc('\n', out);
    print_head(out, "span kind");
    for (int k = 0; k < SPAN_KIND_COUNT; k++)
        print_row(out, kind_names[k].s, &t->hist[HOP_COUNT + k]);
    fputc('\n', out);
    print_head(out, "request");
    print_row(out, "end-to-end", &t->hist[HIST_REQ]);
    fprintf(out, "\nrequests: %llu done, %llu in flight, %llu unknown done\n",
            (unsigned long long)t->done, (unsigned long long)t->inflight,
            (unsigned long long)t->unknown_done);
    if (t->over_cap)
        fprintf(out,
                "requests not traced: %llu (a place already had %u in flight: ids never "
                "completed)\n",
                (unsigned long long)t->over_cap, TRACE_MAX_REQS_PER_PLACE);
}
