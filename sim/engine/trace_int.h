/*
 * The trace's internals, shared by its parts (interface for callers:
 * trace.h; file format: traces/FORMAT.md):
 *  - trace.c       open/close, places, hop spans and sub-spans (the model)
 *  - trace_req.c   the in-flight request table
 *  - trace_out.c   buffered file output and number/string formatting
 *  - trace_json.c  the JSON writer (Trace Event Format, lanes)
 *  - trace_csv.c   the CSV writer
 *  - trace_hist.c  histograms, statistics and the summary table
 * One host thread calls in; nothing here is thread-safe.
 */
#ifndef HOPSIM_TRACE_INT_H
#define HOPSIM_TRACE_INT_H

#include "trace.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* A string of known length (names interned with their lengths). */
struct str {
    const char *s;
    size_t len;
};

#define STR(lit)                                                                                   \
    {                                                                                              \
        lit, sizeof(lit) - 1                                                                       \
    }

extern const struct str trace_kind_names[SPAN_KIND_COUNT];
extern const struct str trace_hop_names[HOP_COUNT];

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

void hist_add(struct hist *h, uint64_t v);
bool hist_stat(const struct hist *h, struct trace_stat *out);

/* ---- buffered output --------------------------------------------------- */

/*
 * A regular file is written with O_DIRECT, from OUT_ALIGN-aligned buffers in
 * OUT_ALIGN multiples (the tail at close without it): a trace is written once
 * and read later, and copying it into the page cache cost the writing process
 * more host CPU (about 1.7 ns a byte on ext4) than formatting it. Where the
 * file system refuses O_DIRECT, or for pipes and devices, plain writes.
 */
#define OUT_CAP (1u << 20)
#define OUT_ALIGN 4096u

struct out {
    bool on;     /* false: this output is off */
    bool direct; /* fd has O_DIRECT: write whole OUT_ALIGN blocks only */
    int fd;
    char *path;
    char *buf; /* OUT_CAP bytes, OUT_ALIGN-aligned */
    size_t len;
    int err; /* errno of the first write error; 0 if none */
};

void out_flush(struct out *o);
void out_put_slow(struct out *o, const char *p, size_t n);

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

extern const char trace_digit_pairs[201];

/* Writes the n lowest decimal digits of v ending at e, two at a time. */
static inline void put_digits(char *e, uint64_t v, int n)
{
    for (; n >= 2; n -= 2) {
        memcpy(e -= 2, trace_digit_pairs + 2 * (v % 100), 2);
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

void out_u64(struct out *o, uint64_t v);
void out_i64(struct out *o, int64_t v);
void out_hex(struct out *o, uint64_t v);
/*
 * JSON times: microseconds on a grid of 2^-US_GRID_BITS us (0.954 ps), so
 * that every time and duration is exact in binary floating point and a
 * viewer's ts + dur lands exactly on the end (traces/FORMAT.md). The grid
 * is finer than a picosecond: distinct picoseconds stay distinct, in order.
 */
#define US_GRID_BITS 20u
/* ps to grid units (nearest). */
uint64_t us_grid(uint64_t ps);
/* Grid units as an exact decimal number of microseconds (no trailing zeros). */
void out_grid(struct out *o, uint64_t g);
void out_json_escape(struct out *o, const char *str);
void out_json_str(struct out *o, const char *s);
void out_csv_str(struct out *o, const char *s);
/* s as one CSV field, in a new string ({NULL, 0} if s is NULL or out of memory). */
struct str csv_quote(const char *s);
/* Opens path for writing with a buffer of OUT_CAP; -1 with err filled on failure. */
int out_open(struct out *o, const char *path, char *err, size_t errlen);
/* Flushes and closes; the first error goes into err (if rc is still 0). Returns 0 or -1. */
int out_close(struct out *o, char *err, size_t errlen, int rc);

static inline void out_s(struct out *o, struct str s)
{
    out_put(o, s.s, s.len);
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
    uint32_t ring;     /* the event channel that ring notifies through, 0 if not said */
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

/* ---- in-flight requests (trace_req.c) ----------------------------------- */

struct req *req_find(const struct trace *t, uint64_t id);
/* A new in-flight request (end of the list); NULL, counted as dropped, if out of memory. */
struct req *req_new(struct trace *t, uint64_t id);
/* Removes a request from the map, the list and its bucket, and frees its slot. */
void req_forget(struct trace *t, struct req *r);
void bucket_unlink(struct trace *t, struct req *r);
/* Put r (with its new hop and place set) at the end of its bucket; false if out of memory. */
bool bucket_link(struct trace *t, struct req *r);

/* ---- writers (trace_json.c, trace_csv.c) -------------------------------- */

void json_header(struct trace *t, const char *title);
void json_footer(struct trace *t);
/* A new place's process and thread metadata. */
void json_place(struct trace *t, uint32_t place);
/* Hop span h (its hop, place, start, suppressed flag) of request id ending at end. */
void json_hop_span(struct trace *t, uint64_t id, const struct req *h, simtime_t end, bool last);
void json_sub_span(struct trace *t, const struct trace_span *s, int hop, simtime_t end);
void json_counter(struct trace *t, uint16_t place, const char *name, simtime_t now, int64_t value);

void csv_header(struct trace *t);
void csv_row(struct trace *t, uint64_t req, int hop, int kind, const char *name, uint16_t place,
             simtime_t start, simtime_t end, int64_t arg);

#endif
