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

struct dur_text;

struct out {
    struct dur_text *durs; /* [1 << DUR_CACHE_BITS] (put_dur) */
    bool on;               /* false: this output is off */
    bool direct;           /* fd has O_DIRECT: write whole OUT_ALIGN blocks only */
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

/*
 * Numbers are written straight into the output buffer: a writer reserves
 * room for a whole record (out_room) and the put_* helpers below return the
 * new end. They may store up to PUT_SLACK bytes past what they report (whole
 * 8-byte words, a fraction's trailing zeros), which the next field
 * overwrites: reserve that much more.
 */
#define PUT_SLACK 24
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
               "digits8 leaves the first digit in the lowest byte");

/*
 * The 8 decimal digits of v < 10^8 as ASCII, the first digit in the lowest
 * byte: v is split into two 4-digit lanes, each into two 2-digit lanes, each
 * into two digits, every split by a multiply-shift in all lanes at once
 * (x * 10486 >> 20 is x / 100 for x < 10^4; x * 103 >> 10 is x / 10 for
 * x < 100; no lane's product reaches the next lane).
 */
static inline uint64_t digits8(uint32_t v)
{
    uint64_t x = (uint64_t)(v / 10000u) | (uint64_t)(v % 10000u) << 32;
    uint64_t h = ((x * 10486u) >> 20) & 0x0000007F0000007Full;
    x = h | (x - h * 100u) << 16;
    uint64_t t = ((x * 103u) >> 10) & 0x000F000F000F000Full;
    x = t | (x - t * 10u) << 8;
    return x | 0x3030303030303030ull;
}

static inline char *put8(char *w, uint64_t d)
{
    memcpy(w, &d, 8);
    return w + 8;
}

/* v < 10^8 without leading zeros (stores 8 bytes). */
static inline char *put_small(char *w, uint32_t v)
{
    uint64_t d = digits8(v);
    int z = v ? __builtin_ctzll(d & 0x0F0F0F0F0F0F0F0Full) >> 3 : 7; /* leading zeros */
    put8(w, d >> (8 * z));
    return w + 8 - z;
}

/* Decimal v (stores up to 24 bytes: 20 digits and slack). */
static inline char *put_u64(char *w, uint64_t v)
{
    if (v < 100000000u)
        return put_small(w, (uint32_t)v);
    uint64_t hi = v / 100000000u;
    uint32_t lo = (uint32_t)(v - hi * 100000000u);
    if (hi < 100000000u) {
        w = put_small(w, (uint32_t)hi);
    } else {
        uint64_t top = hi / 100000000u; /* < 1845 */
        w = put_small(w, (uint32_t)top);
        w = put8(w, digits8((uint32_t)(hi - top * 100000000u)));
    }
    return put8(w, digits8(lo));
}

static inline char *put_i64(char *w, int64_t v)
{
    if (v < 0) {
        *w++ = '-';
        return put_u64(w, 0 - (uint64_t)v);
    }
    return put_u64(w, (uint64_t)v);
}

/* "0x" and v in lower-case hex, no leading zeros (18 bytes at most). */
static inline char *put_hex(char *w, uint64_t v)
{
    int n = v ? (64 - __builtin_clzll(v) + 3) / 4 : 1;
    *w++ = '0';
    *w++ = 'x';
    for (int i = n - 1; i >= 0; i--, v >>= 4)
        w[i] = "0123456789abcdef"[v & 15];
    return w + n;
}

/* A literal, its length known at compile time. */
#define PUT_LIT(w, lit) ((w) = (char *)memcpy((w), (lit), sizeof(lit) - 1) + sizeof(lit) - 1)

static inline char *put_str(char *w, struct str s)
{
    memcpy(w, s.s, s.len);
    return w + s.len;
}

/* A request id as printed (struct req's hex, or an 18-byte buffer): 18 bytes copied, len kept. */
#define REQ_HEX_MAX 18
static inline char *put_req_hex(char *w, struct str hex)
{
    memcpy(w, hex.s, REQ_HEX_MAX);
    return w + hex.len;
}

/*
 * JSON times: microseconds on a grid of 2^-US_GRID_BITS us (0.954 ps), so
 * that every time and duration is exact in binary floating point and a
 * viewer's ts + dur lands exactly on the end (traces/FORMAT.md). The grid
 * is finer than a picosecond: distinct picoseconds stay distinct, in order.
 */
#define US_GRID_BITS 20u
_Static_assert(US_GRID_BITS == 20, "put_grid writes 20 decimals");

/* ps to grid units (nearest). */
static inline uint64_t us_grid(uint64_t ps)
{
    /* ps * 2^20 / 10^6 = ps * 2^14 / 15625, rounded (never a tie: 15625 is odd) */
    if (ps < (1ull << 49))
        return ((ps << 14) + 7812) / 15625;
    __extension__ typedef unsigned __int128 u128;
    return (uint64_t)((((u128)ps << 14) + 7812) / 15625);
}

/*
 * The fraction fl / 2^20 (fl < 2^10) as 20 decimals, fl * 5^20, split in
 * the part above 10^10 (carried into the upper ten decimals, < 10^7) and
 * the lower ten decimals as ASCII (trace_out.c fills it on first use).
 */
struct grid_low {
    uint32_t carry;
    char digits[12]; /* 10 used; 12 so that an entry is 16 bytes */
};
extern struct grid_low trace_grid_low[1024];
void trace_grid_low_init(void);

/*
 * Grid units as an exact decimal number of microseconds, no trailing zeros
 * (at most 35 bytes: g < 2^64 has at most 14 integer digits). The fraction
 * f / 2^20 has 20 decimals, f * 5^20; with f = fh * 2^10 + fl that is
 * fh * 5^10 * 10^10 + fl * 5^20: the upper ten decimals are
 * fh * 5^10 + fl * 5^20 / 10^10 (< 10^10), written as 2 + 8 digits, the lower
 * ten come from fl's table entry. The last ctz(f) decimals are zeros: not
 * kept.
 */
static inline char *put_grid(char *w, uint64_t g)
{
    w = put_u64(w, g >> US_GRID_BITS);
    uint32_t f = (uint32_t)(g & ((1u << US_GRID_BITS) - 1));
    if (!f)
        return w;
    const struct grid_low *low = &trace_grid_low[f & 1023u];
    uint64_t hi = (uint64_t)(f >> 10) * 9765625ull + low->carry;
    uint32_t h2 = (uint32_t)(hi / 100000000u);
    *w++ = '.';
    memcpy(w, trace_digit_pairs + 2 * h2, 2);
    put8(w + 2, digits8((uint32_t)(hi - h2 * 100000000ull)));
    memcpy(w + 10, low->digits, 10);
    return w + 20 - __builtin_ctz(f);
}

/*
 * Durations repeat (a hypercall's price, an IPI, a DMA transfer: nine of ten
 * in a block run are one of a few dozen values); their text is kept by
 * value in a direct-mapped table per writer, filled as they are written.
 */
#define DUR_CACHE_BITS 8u
struct dur_text {
    uint64_t key;
    uint8_t len; /* 0: empty */
    char text[39];
};

/* v written by put_grid (grid) or put_u64 into w, from the table if it holds it; needs 39 bytes
 * of room. */
static inline char *put_dur(struct dur_text *c, char *w, uint64_t v, bool grid)
{
    struct dur_text *e = &c[(v * 0x9e3779b97f4a7c15ull) >> (64 - DUR_CACHE_BITS)];
    if (e->len && e->key == v) {
        memcpy(w, e->text, sizeof(e->text));
        return w + e->len;
    }
    char *end = grid ? put_grid(w, v) : put_u64(w, v);
    e->key = v;
    e->len = (uint8_t)(end - w);
    memcpy(e->text, w, sizeof(e->text));
    return end;
}

void out_u64(struct out *o, uint64_t v);
void out_i64(struct out *o, int64_t v);
void out_hex(struct out *o, uint64_t v);
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
    struct str csv;  /* name as a CSV field (quoted if needed), owned */
    char pidtid[32]; /* "pid":P,"tid":P -- a tid's lane, four digits, follows */
    uint8_t pidtid_len;
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
    char hex[REQ_HEX_MAX]; /* id as the writers print it: 0x, lower-case hex */
    uint8_t hexlen;
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

/*
 * A sub-span's kind and name as the writers print them, escaped once: a
 * direct-mapped cache keyed by the name's address and kind, and checked
 * against a copy of the name's contents (a caller may reuse one buffer for
 * different names). The fragments are what the writers wrote the first
 * time, copied out of their buffers; NULL until then.
 */
#define INAME_BITS 9u
#define INAME_MAX 4096u /* longer names are escaped every time */
struct iname {
    const char *key; /* the caller's pointer (may be NULL) */
    char *copy;      /* its contents when cached */
    uint16_t kind;
    bool used;
    struct str json; /* \n{"name":"KIND:NAME","cat":"KIND" */
    struct str csv;  /* KIND,NAME, */
};

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
    /* [place], for the places that start requests (a frontend, a native kernel): how many of
       its requests are in flight (capped), and for the window in which every one of them runs
       (trace_request_window_all) */
    struct src {
        uint32_t inflight; /* requests it started that are in flight */
        bool started, completed;
        simtime_t first, last; /* its first request's start, its latest completion */
        uint64_t done_before;  /* completions (all places) when its first request started */
        uint64_t done_upto;    /* completions (all places) up to and with its latest one */
    } * srcs;
    uint32_t nsrcs;
    uint64_t over_cap; /* new requests not traced: their place had TRACE_MAX_REQS_PER_PLACE */
    simtime_t window_first, window_last; /* first start and last completion of done requests */
    uint64_t done, unknown_done, dropped;

    trace_listen_fn listen; /* the live view (trace.h), NULL if none */
    void *listen_ctx;

    struct iname *inames; /* [1 << INAME_BITS], allocated with the first sub-span */
};

/* The cached entry for (kind, name), emptied and re-keyed if it held another; NULL if the name is
 * longer than INAME_MAX or out of memory (the writers then escape it in place). */
struct iname *iname_get(struct trace *t, uint16_t kind, const char *name);
void iname_free(struct trace *t);
/* Fills *frag with a copy of the n bytes the writer just wrote at p (left NULL if out of memory).
 */
void iname_keep(struct str *frag, const char *p, size_t n);

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
/* Hop span h (its hop, place, start, suppressed flag, request id) ending at end. */
void json_hop_span(struct trace *t, const struct req *h, simtime_t end, bool last);
/* Sub-span s in hop `hop` ending at `end`; req is its request id printed ({0} if none), in its
 * kind and name's cache entry (NULL: none). */
void json_sub_span(struct trace *t, const struct trace_span *s, int hop, simtime_t end,
                   struct str req, struct iname *in);
void json_counter(struct trace *t, uint16_t place, const char *name, simtime_t now, int64_t value);

void csv_header(struct trace *t);
/* One row; req is the request id printed ({0} if none), in the kind and name's cache entry (NULL:
 * none; kind SPAN_HOP needs none). */
void csv_row(struct trace *t, struct str req, int hop, int kind, const char *name, struct iname *in,
             uint16_t place, simtime_t start, simtime_t end, int64_t arg);

#endif
