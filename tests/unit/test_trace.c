/*
 * Unit tests for sim/trace.c: the CSV and JSON written are parsed back (a
 * small RFC 4180 reader here; json-c in strict mode for JSON) and checked
 * against what was traced: hop spans, sub-spans, flow events, lanes,
 * hop_advance, percentiles, determinism, bounded memory and I/O errors.
 *
 * Files go to a fresh directory under /tmp, removed at the end.
 */
#include <check.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "trace.h"

static char tmpdir[64];

static const char *tmp_path(const char *name)
{
    static char buf[4][256];
    static int next;
    char *p = buf[next++ % 4];
    snprintf(p, sizeof(buf[0]), "%s/%s", tmpdir, name);
    return p;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f, "open %s: %s", path, strerror(errno));
    size_t cap = 4096, n = 0;
    char *b = malloc(cap);
    for (size_t r; (r = fread(b + n, 1, cap - n - 1, f)) > 0;) {
        n += r;
        if (cap - n - 1 == 0)
            b = realloc(b, cap *= 2);
    }
    fclose(f);
    b[n] = 0;
    if (len)
        *len = n;
    return b;
}

/* ---- CSV reader (quoted fields, doubled quotes) ------------------------- */

#define CSV_COLS 9

struct csv {
    int nrows;
    char *(*rows)[CSV_COLS];
};

static const char *const csv_header[CSV_COLS] = {"req",      "hop",    "kind",   "name", "place",
                                                 "start_ps", "end_ps", "dur_ps", "arg"};

static struct csv csv_load(const char *path)
{
    char *text = slurp(path, NULL);
    struct csv c = {0};
    int cap = 0;
    for (char *p = text; *p;) {
        if (c.nrows == cap)
            c.rows = realloc(c.rows, sizeof(*c.rows) * (size_t)(cap = cap ? 2 * cap : 16));
        int col = 0;
        for (;;) {
            char *field = malloc(strlen(p) + 1), *w = field;
            if (*p == '"') {
                for (p++;; p++) {
                    if (*p == '"' && p[1] == '"')
                        *w++ = *p++;
                    else if (*p == '"')
                        break;
                    else {
                        ck_assert_msg(*p, "unterminated quoted CSV field");
                        *w++ = *p;
                    }
                }
                p++;
            } else {
                while (*p && *p != ',' && *p != '\n')
                    *w++ = *p++;
            }
            *w = 0;
            ck_assert_msg(col < CSV_COLS, "too many CSV columns in row %d", c.nrows);
            c.rows[c.nrows][col++] = field;
            if (*p == ',') {
                p++;
                continue;
            }
            ck_assert_msg(*p == '\n', "CSV row %d does not end in newline", c.nrows);
            p++;
            break;
        }
        ck_assert_msg(col == CSV_COLS, "CSV row %d has %d columns", c.nrows, col);
        c.nrows++;
    }
    free(text);
    ck_assert_msg(c.nrows >= 1, "CSV has no header");
    for (int i = 0; i < CSV_COLS; i++)
        ck_assert_str_eq(c.rows[0][i], csv_header[i]);
    return c;
}

static void csv_free(struct csv *c)
{
    for (int r = 0; r < c->nrows; r++)
        for (int i = 0; i < CSV_COLS; i++)
            free(c->rows[r][i]);
    free(c->rows);
}

static void csv_expect(const struct csv *c, int row, const char *req, const char *hop,
                       const char *kind, const char *name, const char *place,
                       unsigned long long start, unsigned long long end, long long arg)
{
    char s[32], e[32], d[32], a[32];
    snprintf(s, sizeof(s), "%llu", start);
    snprintf(e, sizeof(e), "%llu", end);
    snprintf(d, sizeof(d), "%llu", end - start);
    snprintf(a, sizeof(a), "%lld", arg);
    const char *want[CSV_COLS] = {req, hop, kind, name, place, s, e, d, a};
    ck_assert_int_lt(row, c->nrows);
    for (int i = 0; i < CSV_COLS; i++)
        ck_assert_msg(strcmp(c->rows[row][i], want[i]) == 0, "row %d col %s: got '%s' want '%s'",
                      row, csv_header[i], c->rows[row][i], want[i]);
}

/* ---- JSON helpers -------------------------------------------------------- */

static json_object *json_load(const char *path)
{
    size_t len;
    char *text = slurp(path, &len);
    json_tokener *tok = json_tokener_new();
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    json_object *root = json_tokener_parse_ex(tok, text, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    ck_assert_msg(root && jerr == json_tokener_success, "invalid JSON in %s: %s", path,
                  json_tokener_error_desc(jerr));
    size_t used = json_tokener_get_parse_end(tok);
    while (used < len && (text[used] == '\n' || text[used] == ' '))
        used++;
    ck_assert_msg(used == len, "trailing garbage after JSON at %zu", used);
    json_tokener_free(tok);
    free(text);
    return root;
}

static json_object *events_of(json_object *root)
{
    json_object *ev;
    ck_assert(json_object_object_get_ex(root, "traceEvents", &ev));
    ck_assert(json_object_is_type(ev, json_type_array));
    return ev;
}

static const char *jstr(json_object *o, const char *key)
{
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

static int64_t jint(json_object *o, const char *key)
{
    json_object *v;
    ck_assert_msg(json_object_object_get_ex(o, key, &v), "missing key %s", key);
    return json_object_get_int64(v);
}

/* ts is microseconds on the 2^-20 us grid: the nearest picosecond is the time. */
static uint64_t jps(json_object *o, const char *key)
{
    json_object *v;
    ck_assert_msg(json_object_object_get_ex(o, key, &v), "missing key %s", key);
    double us = json_object_get_double(v);
    return (uint64_t)(us * 1e6 + 0.5);
}

/* A span's duration in ps: its end (ts + dur, exact in binary floating point) minus its start. */
static uint64_t jdur(json_object *o)
{
    json_object *ts, *dur;
    ck_assert(json_object_object_get_ex(o, "ts", &ts) && json_object_object_get_ex(o, "dur", &dur));
    double end = json_object_get_double(ts) + json_object_get_double(dur);
    return (uint64_t)(end * 1e6 + 0.5) - jps(o, "ts");
}

static json_object *jargs(json_object *o)
{
    json_object *v = NULL;
    json_object_object_get_ex(o, "args", &v);
    return v;
}

static bool is_ph(json_object *e, const char *ph)
{
    const char *p = jstr(e, "ph");
    return p && strcmp(p, ph) == 0;
}

/* The i-th event with phase ph and (if cat) category cat, or NULL. */
static json_object *nth_event(json_object *ev, const char *ph, const char *cat, int n)
{
    for (size_t i = 0; i < json_object_array_length(ev); i++) {
        json_object *e = json_object_array_get_idx(ev, i);
        if (!is_ph(e, ph) || (cat && (!jstr(e, "cat") || strcmp(jstr(e, "cat"), cat))))
            continue;
        if (n-- == 0)
            return e;
    }
    return NULL;
}

static int count_events(json_object *ev, const char *ph, const char *cat)
{
    int n = 0;
    while (nth_event(ev, ph, cat, n))
        n++;
    return n;
}

/* Metadata event `what` for (pid, tid), or NULL. */
static json_object *meta(json_object *ev, const char *what, int64_t pid, int64_t tid)
{
    for (int i = 0;; i++) {
        json_object *e = nth_event(ev, "M", NULL, i);
        if (!e)
            return NULL;
        if (strcmp(jstr(e, "name"), what) == 0 && jint(e, "pid") == pid &&
            (tid < 0 || jint(e, "tid") == tid))
            return e;
    }
}

static struct trace *open_trace(const char *json, const char *csv)
{
    char err[256] = "";
    struct trace_opts o = {.json_path = json ? tmp_path(json) : NULL,
                           .csv_path = csv ? tmp_path(csv) : NULL,
                           .title = "unit"};
    struct trace *t = trace_open(&o, err, sizeof(err));
    ck_assert_msg(t, "trace_open: %s", err);
    return t;
}

static void close_trace(struct trace *t)
{
    char err[256] = "";
    ck_assert_msg(trace_close(t, err, sizeof(err)) == 0, "trace_close: %s", err);
}

/* ---- CSV content --------------------------------------------------------- */

START_TEST(test_csv_hop_spans)
{
    struct trace *t = open_trace(NULL, "hops.csv");
    uint16_t dom = trace_place(t, PLACE_DOMAIN, 1, "dom1");
    uint16_t cpu = trace_place(t, PLACE_CPU, 0, "cpu0");
    ck_assert_int_eq(dom, 0);
    ck_assert_int_eq(cpu, 1);
    uint64_t req = HOPSIM_REQ(1, 7);
    trace_hop(t, req, HOP_H1, dom, 1000);
    ck_assert_int_eq(trace_req_hop(t, req), HOP_H1);
    trace_hop(t, req, HOP_H2, dom, 2500);
    trace_hop(t, req, HOP_H3, cpu, 4000);
    ck_assert_int_eq(trace_req_hop(t, req), HOP_H3);
    ck_assert_uint_eq(trace_requests_inflight(t), 1);
    trace_done(t, req, 9000);
    ck_assert_int_eq(trace_req_hop(t, req), HOP_NONE);
    ck_assert_uint_eq(trace_requests_inflight(t), 0);
    ck_assert_uint_eq(trace_requests_done(t), 1);

    struct trace_stat st;
    ck_assert(trace_stat_request(t, &st));
    ck_assert_uint_eq(st.count, 1);
    ck_assert_uint_eq(st.sum, 8000);
    ck_assert(trace_stat_hop(t, HOP_H2, &st));
    ck_assert_uint_eq(st.max, 1500);
    ck_assert(!trace_stat_hop(t, HOP_H4, &st));
    close_trace(t);

    struct csv c = csv_load(tmp_path("hops.csv"));
    ck_assert_int_eq(c.nrows, 4);
    csv_expect(&c, 1, "0x100000007", "H1", "hop", "H1", "dom1", 1000, 2500, 0);
    csv_expect(&c, 2, "0x100000007", "H2", "hop", "H2", "dom1", 2500, 4000, 0);
    csv_expect(&c, 3, "0x100000007", "H3", "hop", "H3", "cpu0", 4000, 9000, 0);
    csv_free(&c);
}
END_TEST

START_TEST(test_csv_sub_spans)
{
    struct trace *t = open_trace(NULL, "sub.csv");
    uint16_t dom = trace_place(t, PLACE_DOMAIN, 2, "dom,\"2\"");
    uint16_t dev = trace_place(t, PLACE_DEVICE, 0, "nvme0");
    trace_hop(t, 42, HOP_H2, dom, 100);
    /* hop looked up from the in-flight request */
    trace_span(t, &(struct trace_span){.req = 42,
                                       .kind = SPAN_HYPERCALL,
                                       .place = dom,
                                       .start = 200,
                                       .end = 700,
                                       .name = "evtchn_op",
                                       .arg = 3});
    /* explicit hop wins */
    trace_span(t, &(struct trace_span){.req = 42,
                                       .hop = HOP_H5,
                                       .kind = SPAN_DMA,
                                       .place = dev,
                                       .start = 300,
                                       .end = 400,
                                       .arg = -4096});
    /* no request; a name needing quotes */
    trace_span(t, &(struct trace_span){.req = HOPSIM_NOREQ,
                                       .kind = SPAN_IDLE,
                                       .place = dev,
                                       .start = 0,
                                       .end = 50,
                                       .name = "a,b \"c\""});
    /* unknown request: no hop */
    trace_span(
        t, &(struct trace_span){.req = 99, .kind = SPAN_IRQ, .place = dev, .start = 10, .end = 10});
    trace_done(t, 42, 1000);
    close_trace(t);

    struct csv c = csv_load(tmp_path("sub.csv"));
    ck_assert_int_eq(c.nrows, 6);
    csv_expect(&c, 1, "0x2a", "H2", "hypercall", "evtchn_op", "dom,\"2\"", 200, 700, 3);
    csv_expect(&c, 2, "0x2a", "H5", "dma", "", "nvme0", 300, 400, -4096);
    csv_expect(&c, 3, "", "", "idle", "a,b \"c\"", "nvme0", 0, 50, 0);
    csv_expect(&c, 4, "0x63", "", "irq", "", "nvme0", 10, 10, 0);
    csv_expect(&c, 5, "0x2a", "H2", "hop", "H2", "dom,\"2\"", 100, 1000, 0);
    csv_free(&c);
    /* the raw text quotes exactly the fields that need it */
    char *raw = slurp(tmp_path("sub.csv"), NULL);
    ck_assert_ptr_nonnull(strstr(raw, ",\"a,b \"\"c\"\"\",nvme0,0,50,50,0\n"));
    free(raw);
}
END_TEST

START_TEST(test_kind_stats)
{
    struct trace *t = open_trace(NULL, NULL);
    uint16_t p = trace_place(t, PLACE_CPU, 0, "cpu0");
    for (int i = 1; i <= 4; i++)
        trace_span(t,
                   &(struct trace_span){
                       .kind = SPAN_GNT_MAP, .place = p, .start = 0, .end = (simtime_t)i * 1000});
    struct trace_stat st;
    ck_assert(trace_stat_kind(t, SPAN_GNT_MAP, &st));
    ck_assert_uint_eq(st.count, 4);
    ck_assert_uint_eq(st.sum, 10000);
    ck_assert_uint_eq(st.min, 1000);
    ck_assert_uint_eq(st.max, 4000);
    ck_assert(!trace_stat_kind(t, SPAN_GNT_UNMAP, &st));
    ck_assert(!trace_stat_kind(t, SPAN_KIND_COUNT, &st));
    ck_assert_str_eq(trace_kind_name(SPAN_GNT_MAP), "grant_map");
    ck_assert_str_eq(trace_kind_name(SPAN_IDLE), "idle");
    ck_assert_str_eq(trace_hop_name(HOP_H3), "H3");
    close_trace(t);
}
END_TEST

/* ---- JSON content -------------------------------------------------------- */

START_TEST(test_json_empty)
{
    struct trace *t = open_trace("empty.json", NULL);
    close_trace(t);
    json_object *root = json_load(tmp_path("empty.json"));
    ck_assert_str_eq(jstr(root, "displayTimeUnit"), "ns");
    json_object *other;
    ck_assert(json_object_object_get_ex(root, "otherData", &other));
    ck_assert_str_eq(jstr(other, "title"), "unit");
    ck_assert_str_eq(jstr(other, "generator"), "hopsim");
    ck_assert_uint_eq(json_object_array_length(events_of(root)), 0);
    json_object_put(root);
}
END_TEST

START_TEST(test_json_content)
{
    struct trace *t = open_trace("content.json", NULL);
    uint16_t link = trace_place(t, PLACE_LINK, 0, "eth-wire");
    uint16_t dev = trace_place(t, PLACE_DEVICE, 3, "sas0");
    uint16_t dom = trace_place(t, PLACE_DOMAIN, 1, "domU");
    uint16_t cpu = trace_place(t, PLACE_CPU, 1, "cpu1");
    trace_hop(t, HOPSIM_REQ(1, 1), HOP_H4, dev, 12345678);
    trace_span(t, &(struct trace_span){.req = HOPSIM_REQ(1, 1),
                                       .kind = SPAN_MMIO,
                                       .place = dev,
                                       .start = 12345678,
                                       .end = 12345679,
                                       .name = "doorbell",
                                       .arg = 64});
    trace_done(t, HOPSIM_REQ(1, 1), 20000000);
    (void)link, (void)dom, (void)cpu;
    close_trace(t);

    json_object *root = json_load(tmp_path("content.json"));
    json_object *ev = events_of(root);
    /* one process per place, named; sort index: cpu < domain < device < link */
    const char *names[] = {"eth-wire", "sas0", "domU", "cpu1"};
    int64_t sort[4];
    for (int p = 0; p < 4; p++) {
        json_object *m = meta(ev, "process_name", p + 1, -1);
        ck_assert_ptr_nonnull(m);
        ck_assert_str_eq(jstr(jargs(m), "name"), names[p]);
        m = meta(ev, "process_sort_index", p + 1, -1);
        ck_assert_ptr_nonnull(m);
        sort[p] = jint(jargs(m), "sort_index");
        ck_assert_ptr_nonnull(meta(ev, "thread_name", p + 1, (p + 1) * 10000));
    }
    ck_assert_int_lt(sort[3], sort[2]);
    ck_assert_int_lt(sort[2], sort[1]);
    ck_assert_int_lt(sort[1], sort[0]);
    ck_assert_str_eq(jstr(jargs(meta(ev, "thread_name", 3, 30000)), "name"), "vcpu");

    /* the hop span: X on a lane of the device */
    ck_assert_int_eq(count_events(ev, "X", "hop"), 1);
    json_object *h = nth_event(ev, "X", "hop", 0);
    ck_assert_str_eq(jstr(h, "name"), "H4");
    ck_assert_uint_eq(jps(h, "ts"), 12345678);
    ck_assert_uint_eq(jdur(h), 20000000 - 12345678);
    ck_assert_int_eq(jint(h, "pid"), 2);
    ck_assert_int_eq(jint(h, "tid"), 20001);
    ck_assert_str_eq(jstr(jargs(h), "req"), "0x100000001");
    ck_assert_str_eq(jstr(jargs(h), "hop"), "H4");
    ck_assert_str_eq(jstr(jargs(meta(ev, "thread_name", 2, 20001)), "name"), "requests lane 1");

    /* the sub-span: on the place's tid for sub-spans, hop taken from the request */
    json_object *s = nth_event(ev, "X", "mmio", 0);
    ck_assert_ptr_nonnull(s);
    ck_assert_str_eq(jstr(s, "name"), "mmio:doorbell");
    ck_assert_int_eq(jint(s, "pid"), 2);
    ck_assert_int_eq(jint(s, "tid"), 20000);
    ck_assert_uint_eq(jdur(s), 1);
    ck_assert_str_eq(jstr(jargs(s), "req"), "0x100000001");
    ck_assert_str_eq(jstr(jargs(s), "hop"), "H4");
    ck_assert_int_eq(jint(jargs(s), "arg"), 64);
    /* a single-hop request has no flow to draw */
    ck_assert_int_eq(count_events(ev, "s", NULL) + count_events(ev, "f", NULL), 0);
    json_object_put(root);

    /* times are printed from integers, as exact multiples of 2^-20 us (12345678 ps is
     * 12945376 / 2^20 us); dur is the end's grid point minus the start's */
    char *raw = slurp(tmp_path("content.json"), NULL);
    ck_assert_ptr_nonnull(
        strstr(raw, "\"ts\":12.3456783294677734375,\"dur\":7.6543216705322265625,"));
    ck_assert_ptr_nonnull(
        strstr(raw, "\"ts\":12.3456783294677734375,\"dur\":0.00000095367431640625,"));
    free(raw);
}
END_TEST

START_TEST(test_json_escaping)
{
    char err[256];
    struct trace_opts o = {.json_path = tmp_path("esc.json"), .title = "a \"quoted\"\ttitle\\"};
    struct trace *t = trace_open(&o, err, sizeof(err));
    ck_assert_ptr_nonnull(t);
    uint16_t p = trace_place(t, PLACE_DOMAIN, 0, "d\"o\\m\n\x01 \xc3\xa9 \xff");
    trace_span(t, &(struct trace_span){
                      .kind = SPAN_APP, .place = p, .start = 0, .end = 1, .name = "sym\"bol\\"});
    trace_counter(t, p, "q\"c", 5, -7);
    close_trace(t);
    json_object *root = json_load(tmp_path("esc.json"));
    json_object *other;
    json_object_object_get_ex(root, "otherData", &other);
    ck_assert_str_eq(jstr(other, "title"), "a \"quoted\"\ttitle\\");
    json_object *ev = events_of(root);
    /* valid UTF-8 kept, invalid bytes replaced by U+FFFD */
    ck_assert_str_eq(jstr(jargs(meta(ev, "process_name", 1, -1)), "name"),
                     "d\"o\\m\n\x01 \xc3\xa9 \xef\xbf\xbd");
    ck_assert_str_eq(jstr(nth_event(ev, "X", "app", 0), "name"), "app:sym\"bol\\");
    json_object *c = nth_event(ev, "C", NULL, 0);
    ck_assert_str_eq(jstr(c, "name"), "q\"c");
    ck_assert_int_eq(jint(jargs(c), "value"), -7);
    ck_assert_uint_eq(jps(c, "ts"), 5);
    json_object_put(root);
}
END_TEST

/* ---- flows ----------------------------------------------------------------- */

/*
 * The JSON's time grid (traces/FORMAT.md): every ts and dur is an exact
 * binary fraction, so a viewer's (ts - first ts) + dur in double precision
 * (speedscope's arithmetic) puts a child that ends with its parent exactly
 * at the parent's end, and ts gives the picosecond back. 2,000 parent/child
 * pairs over times from 0 to 10^13 ps (10 s), ending together; a zero-length
 * sub-span is an instant.
 */
START_TEST(test_json_time_grid)
{
    char err[256];
    struct trace_opts o = {.json_path = tmp_path("grid.json")};
    struct trace *t = trace_open(&o, err, sizeof(err));
    ck_assert_ptr_nonnull(t);
    uint16_t p = trace_place(t, PLACE_CPU, 0, "cpu0");
    uint64_t x = 88172645463325252ull, at = 0;
    enum { N = 2000 };
    for (int i = 0; i < N; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift64 */
        at += 1 + x % 5000000000ull;             /* up to 5 ms apart */
        uint64_t pstart = at, cstart = at + x % 977, end = cstart + 1 + (x >> 20) % 123457;
        trace_span(t, &(struct trace_span){.req = HOPSIM_NOREQ,
                                           .kind = SPAN_GNT_MAP,
                                           .place = p,
                                           .start = cstart,
                                           .end = end});
        trace_span(t, &(struct trace_span){.req = HOPSIM_NOREQ,
                                           .kind = SPAN_HYPERCALL,
                                           .place = p,
                                           .start = pstart,
                                           .end = end});
        at = end;
    }
    trace_span(
        t, &(struct trace_span){
               .req = HOPSIM_NOREQ, .kind = SPAN_GUEST_ERROR, .place = p, .start = at, .end = at});
    close_trace(t);
    json_object *root = json_load(tmp_path("grid.json"));
    json_object *ev = events_of(root);
    ck_assert_int_eq(count_events(ev, "X", NULL), 2 * N);
    double first =
        json_object_get_double(json_object_object_get(nth_event(ev, "X", NULL, 0), "ts"));
    for (int i = 0; i < N; i++) {
        json_object *c = nth_event(ev, "X", "grant_map", i),
                    *h = nth_event(ev, "X", "hypercall", i);
        double cts = json_object_get_double(json_object_object_get(c, "ts"));
        double hts = json_object_get_double(json_object_object_get(h, "ts"));
        double cend = (cts - first) + json_object_get_double(json_object_object_get(c, "dur"));
        double hend = (hts - first) + json_object_get_double(json_object_object_get(h, "dur"));
        ck_assert_msg(cend == hend, "pair %d: child ends at %.17g, parent at %.17g", i, cend, hend);
        ck_assert_uint_le(jps(h, "ts"), jps(c, "ts"));
        ck_assert_uint_eq(jps(h, "ts") + jdur(h), jps(c, "ts") + jdur(c));
    }
    json_object *g = nth_event(ev, "i", "guest_error", 0);
    ck_assert_ptr_nonnull(g);
    ck_assert_str_eq(jstr(g, "s"), "t");
    ck_assert_uint_eq(jps(g, "ts"), at);
    ck_assert(!json_object_object_get_ex(g, "dur", NULL));
    json_object_put(root);
}
END_TEST

START_TEST(test_flow_events)
{
    struct trace *t = open_trace("flow.json", NULL);
    uint16_t dom = trace_place(t, PLACE_DOMAIN, 1, "domU");
    uint16_t cpu = trace_place(t, PLACE_CPU, 0, "cpu0");
    uint16_t d0 = trace_place(t, PLACE_DOMAIN, 0, "dom0");
    uint64_t a = HOPSIM_REQ(1, 1), b = HOPSIM_REQ(1, 2);
    trace_hop(t, a, HOP_H1, dom, 0);
    trace_hop(t, b, HOP_H1, dom, 10);
    trace_hop(t, a, HOP_H2, dom, 100);
    trace_hop(t, b, HOP_H2, dom, 110);
    trace_hop(t, a, HOP_H3, cpu, 200);
    trace_hop(t, a, HOP_H4, d0, 300);
    trace_done(t, a, 400);
    trace_done(t, b, 500);
    close_trace(t);

    json_object *root = json_load(tmp_path("flow.json"));
    json_object *ev = events_of(root);
    struct {
        const char *id;
        const char *phases;
        uint64_t ts[4];
    } want[2] = {{"0x100000001", "sttf", {0, 100, 200, 300}}, {"0x100000002", "sf", {10, 110}}};
    for (int w = 0; w < 2; w++) {
        int n = 0;
        for (size_t i = 0; i < json_object_array_length(ev); i++) {
            json_object *e = json_object_array_get_idx(ev, i);
            const char *ph = jstr(e, "ph");
            if (!strchr("stf", ph[0]) || strcmp(jstr(e, "id"), want[w].id))
                continue;
            ck_assert_str_eq(jstr(e, "cat"), "request");
            ck_assert_str_eq(jstr(e, "name"), "req");
            ck_assert_int_eq(ph[0], want[w].phases[n]);
            ck_assert_uint_eq(jps(e, "ts"), want[w].ts[n]);
            if (ph[0] == 'f')
                ck_assert_str_eq(jstr(e, "bp"), "e");
            /* bound to the hop slice written just before it: same pid, tid, ts */
            json_object *x = json_object_array_get_idx(ev, i - 1);
            ck_assert(is_ph(x, "X"));
            ck_assert_str_eq(jstr(jargs(x), "req"), want[w].id);
            ck_assert_int_eq(jint(x, "pid"), jint(e, "pid"));
            ck_assert_int_eq(jint(x, "tid"), jint(e, "tid"));
            ck_assert_uint_eq(jps(x, "ts"), jps(e, "ts"));
            n++;
        }
        ck_assert_int_eq(n, (int)strlen(want[w].phases));
    }
    json_object_put(root);
}
END_TEST

/* ---- lanes ------------------------------------------------------------------ */

/* tid of the hop span of request `req` starting at `ts`. */
static int64_t lane_of(json_object *ev, const char *req, uint64_t ts)
{
    for (int i = 0;; i++) {
        json_object *x = nth_event(ev, "X", "hop", i);
        ck_assert_msg(x, "no hop span for %s at %llu", req, (unsigned long long)ts);
        if (strcmp(jstr(jargs(x), "req"), req) == 0 && jps(x, "ts") == ts)
            return jint(x, "tid") - jint(x, "pid") * 10000;
    }
}

START_TEST(test_lanes_overlap)
{
    struct trace *t = open_trace("lanes.json", NULL);
    uint16_t dom = trace_place(t, PLACE_DOMAIN, 1, "domU");
    uint16_t cpu = trace_place(t, PLACE_CPU, 0, "cpu0");
    /* H1 at domU: A [0,10] B [5,15] C [12,20] D [15,30] E [30,30] F [30,40] */
    trace_hop(t, 0xA, HOP_H1, dom, 0);
    trace_hop(t, 0xB, HOP_H1, dom, 5);
    trace_hop(t, 0xA, HOP_H2, cpu, 10);
    trace_hop(t, 0xC, HOP_H1, dom, 12);
    trace_hop(t, 0xB, HOP_H2, cpu, 15);
    trace_hop(t, 0xD, HOP_H1, dom, 15);
    trace_hop(t, 0xC, HOP_H2, cpu, 20);
    trace_hop(t, 0xD, HOP_H2, cpu, 30);
    trace_hop(t, 0xE, HOP_H1, dom, 30);
    trace_hop(t, 0xE, HOP_H2, cpu, 30);
    trace_hop(t, 0xF, HOP_H1, dom, 30);
    trace_hop(t, 0xF, HOP_H2, cpu, 40);
    close_trace(t);

    json_object *root = json_load(tmp_path("lanes.json"));
    json_object *ev = events_of(root);
    ck_assert_int_eq(lane_of(ev, "0xa", 0), 1);
    ck_assert_int_eq(lane_of(ev, "0xb", 5), 2);
    ck_assert_int_eq(lane_of(ev, "0xc", 12), 1); /* A ended at 10 */
    ck_assert_int_eq(lane_of(ev, "0xd", 15), 2); /* B ended exactly at 15 */
    ck_assert_int_eq(lane_of(ev, "0xe", 30), 1);
    /* F starts where zero-length E sits: not on E's lane */
    ck_assert_int_eq(lane_of(ev, "0xf", 30), 2);
    ck_assert_str_eq(jstr(jargs(meta(ev, "thread_name", 1, 10002)), "name"), "requests lane 2");
    ck_assert_ptr_null(meta(ev, "thread_name", 1, 10003));
    json_object_put(root);
}
END_TEST

static uint64_t rng_state;

static uint64_t rng(void)
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return rng_state >> 33;
}

/* Random concurrent traffic: no two hop spans on one lane overlap. */
START_TEST(test_lanes_never_overlap)
{
    struct trace *t = open_trace("rand.json", NULL);
    uint16_t pl[3] = {trace_place(t, PLACE_DOMAIN, 1, "domU"), trace_place(t, PLACE_CPU, 0, "cpu0"),
                      trace_place(t, PLACE_DOMAIN, 0, "dom0")};
    rng_state = 7;
    simtime_t now = 0;
    for (uint64_t r = 1; r <= 300; r++) {
        now += rng() % 50;
        uint64_t req = 1 + rng() % 40;
        if (rng() % 8 == 0)
            trace_done(t, req, now);
        else
            trace_hop(t, req, 1 + (int)(rng() % 8), pl[rng() % 3], now);
    }
    close_trace(t);
    json_object *root = json_load(tmp_path("rand.json"));
    json_object *ev = events_of(root);
    int n = count_events(ev, "X", "hop");
    ck_assert_int_gt(n, 100);
    for (int i = 0; i < n; i++) {
        json_object *x = nth_event(ev, "X", "hop", i);
        uint64_t s1 = jps(x, "ts"), e1 = s1 + jdur(x);
        for (int j = i + 1; j < n; j++) {
            json_object *y = nth_event(ev, "X", "hop", j);
            if (jint(x, "tid") != jint(y, "tid"))
                continue;
            uint64_t s2 = jps(y, "ts"), e2 = s2 + jdur(y);
            ck_assert_msg(e1 <= s2 || e2 <= s1, "overlap on tid %lld: [%llu,%llu] [%llu,%llu]",
                          (long long)jint(x, "tid"), (unsigned long long)s1, (unsigned long long)e1,
                          (unsigned long long)s2, (unsigned long long)e2);
            ck_assert_uint_ne(s1, s2);
        }
    }
    json_object_put(root);
}
END_TEST

/* ---- hop_advance ------------------------------------------------------------ */

START_TEST(test_hop_advance)
{
    struct trace *t = open_trace(NULL, "adv.csv");
    uint16_t d1 = trace_place(t, PLACE_DOMAIN, 1, "dom1");
    uint16_t d2 = trace_place(t, PLACE_DOMAIN, 2, "dom2");
    uint16_t cpu = trace_place(t, PLACE_CPU, 0, "cpu0");
    /* first appearance order: 3, 1, 5, 2, 4 */
    trace_hop(t, 3, HOP_H2, d1, 10);
    trace_hop(t, 1, HOP_H2, d1, 20);
    trace_hop(t, 5, HOP_H1, d1, 25); /* other hop */
    trace_hop(t, 2, HOP_H2, d1, 30);
    trace_hop(t, 4, HOP_H2, d2, 40); /* other place */
    ck_assert_int_eq(trace_hop_advance(t, d1, HOP_H2, HOP_H3, cpu, 100), 3);
    ck_assert_int_eq(trace_req_hop(t, 1), HOP_H3);
    ck_assert_int_eq(trace_req_hop(t, 2), HOP_H3);
    ck_assert_int_eq(trace_req_hop(t, 3), HOP_H3);
    ck_assert_int_eq(trace_req_hop(t, 4), HOP_H2);
    ck_assert_int_eq(trace_req_hop(t, 5), HOP_H1);
    /* nothing left there */
    ck_assert_int_eq(trace_hop_advance(t, d1, HOP_H2, HOP_H3, cpu, 110), 0);
    /* a no-op move */
    ck_assert_int_eq(trace_hop_advance(t, d2, HOP_H2, HOP_H2, d2, 120), 0);
    ck_assert_int_eq(trace_hop_advance(t, cpu, HOP_H3, HOP_H4, d2, 200), 3);
    close_trace(t);

    /* the H2 a notification closed is written together with the H3 after it */
    struct csv c = csv_load(tmp_path("adv.csv"));
    ck_assert_int_eq(c.nrows, 7);
    csv_expect(&c, 1, "0x3", "H2", "hop", "H2", "dom1", 10, 100, 0);
    csv_expect(&c, 2, "0x3", "H3", "hop", "H3", "cpu0", 100, 200, 0);
    csv_expect(&c, 3, "0x1", "H2", "hop", "H2", "dom1", 20, 100, 0);
    csv_expect(&c, 4, "0x1", "H3", "hop", "H3", "cpu0", 100, 200, 0);
    csv_expect(&c, 5, "0x2", "H2", "hop", "H2", "dom1", 30, 100, 0);
    csv_expect(&c, 6, "0x2", "H3", "hop", "H3", "cpu0", 100, 200, 0);
    csv_free(&c);
}
END_TEST

/* The backend polled the ring and took the request (H4 at 60) before the notification's time
   (100): H2 ends at 60 and H3 is empty, flagged as a suppressed notification. */
START_TEST(test_hop_taken_before_notify)
{
    struct trace *t = open_trace(NULL, "early.csv");
    uint16_t d1 = trace_place(t, PLACE_DOMAIN, 1, "dom1");
    uint16_t d0 = trace_place(t, PLACE_DOMAIN, 0, "dom0");
    uint16_t cpu = trace_place(t, PLACE_CPU, 0, "cpu0");
    trace_hop(t, 7, HOP_H2, d1, 10);
    ck_assert_int_eq(trace_hop_advance(t, d1, HOP_H2, HOP_H3, cpu, 100), 1);
    trace_hop(t, 7, HOP_H4, d0, 60);
    trace_done(t, 7, 80);
    close_trace(t);
    struct csv c = csv_load(tmp_path("early.csv"));
    ck_assert_int_eq(c.nrows, 4);
    csv_expect(&c, 1, "0x7", "H2", "hop", "H2", "dom1", 10, 60, 0);
    csv_expect(&c, 2, "0x7", "H3", "hop", "H3", "cpu0", 60, 60, 1);
    csv_expect(&c, 3, "0x7", "H4", "hop", "H4", "dom0", 60, 80, 0);
    csv_free(&c);
}
END_TEST

/* A notify moves only the responses the backend has written (its own H6 mark): a completion
   whose interrupt put it in H6 but whose response is not on the ring yet stays. */
START_TEST(test_hop_advance_posted)
{
    struct trace *t = open_trace(NULL, "posted.csv");
    uint16_t d0 = trace_place(t, PLACE_DOMAIN, 0, "dom0");
    uint16_t cpu = trace_place(t, PLACE_CPU, 0, "cpu0");
    trace_hop(t, 1, HOP_H6, d0, 10); /* completion interrupts */
    trace_hop(t, 2, HOP_H6, d0, 12);
    trace_hop_mark(t, 1, HOP_H6, d0, 20, 0); /* the backend writes 1's response */
    ck_assert_int_eq(trace_hop_advance_posted(t, d0, HOP_H6, HOP_H7, cpu, 30, 0), 1);
    ck_assert_int_eq(trace_req_hop(t, 1), HOP_H7);
    ck_assert_int_eq(trace_req_hop(t, 2), HOP_H6);
    trace_hop_mark(t, 2, HOP_H6, d0, 40, 0);
    ck_assert_int_eq(trace_hop_advance_posted(t, d0, HOP_H6, HOP_H7, cpu, 50, 0), 1);
    ck_assert_int_eq(trace_req_hop(t, 2), HOP_H7);
    close_trace(t);
}
END_TEST

/* A notify through one ring's event channel moves the entries put on that ring only: a frontend
   with two queues notifies each for its own requests; an entry whose ring was not said (port 0)
   goes with any notify. */
START_TEST(test_hop_advance_posted_ring)
{
    struct trace *t = open_trace(NULL, "posted_ring.csv");
    uint16_t d1 = trace_place(t, PLACE_DOMAIN, 1, "dom1");
    uint16_t cpu0 = trace_place(t, PLACE_CPU, 0, "cpu0");
    uint16_t cpu1 = trace_place(t, PLACE_CPU, 1, "cpu1");
    trace_hop_mark(t, 1, HOP_H2, d1, 10, 5); /* queue 0's ring, port 5 */
    trace_hop_mark(t, 2, HOP_H2, d1, 11, 7); /* queue 1's ring, port 7 */
    trace_hop_mark(t, 3, HOP_H2, d1, 12, 5);
    trace_hop_mark(t, 4, HOP_H2, d1, 13, 0); /* ring not said */
    ck_assert_int_eq(trace_hop_advance_posted(t, d1, HOP_H2, HOP_H3, cpu0, 20, 5), 3);
    ck_assert_uint_eq(trace_last_advanced(t), 1);
    ck_assert_int_eq(trace_req_hop(t, 2), HOP_H2);
    ck_assert_int_eq(trace_req_place(t, 3), cpu0);
    ck_assert_int_eq(trace_req_place(t, 4), cpu0);
    ck_assert_int_eq(trace_hop_advance_posted(t, d1, HOP_H2, HOP_H3, cpu1, 30, 7), 1);
    ck_assert_uint_eq(trace_last_advanced(t), 2);
    ck_assert_int_eq(trace_req_place(t, 2), cpu1);
    ck_assert_int_eq(trace_hop_advance_posted(t, d1, HOP_H2, HOP_H3, cpu1, 40, 7), 0);
    /* a move that puts nothing on a ring (hop_move) is not posted: the notify leaves it */
    trace_hop(t, 1, HOP_H6, d1, 50);
    ck_assert_int_eq(trace_hop_advance_posted(t, d1, HOP_H6, HOP_H7, cpu0, 60, 5), 0);
    trace_hop_mark(t, 1, HOP_H6, d1, 70, 5);
    ck_assert_int_eq(trace_hop_advance_posted(t, d1, HOP_H6, HOP_H7, cpu0, 80, 7), 0);
    ck_assert_int_eq(trace_hop_advance_posted(t, d1, HOP_H6, HOP_H7, cpu0, 80, 5), 1);
    close_trace(t);
}
END_TEST

START_TEST(test_hop_same_is_noop)
{
    struct trace *t = open_trace(NULL, "same.csv");
    uint16_t d1 = trace_place(t, PLACE_DOMAIN, 1, "dom1");
    uint16_t d2 = trace_place(t, PLACE_DOMAIN, 2, "dom2");
    trace_hop(t, 9, HOP_H1, d1, 10);
    trace_hop(t, 9, HOP_H1, d1, 20); /* same hop, same place: nothing */
    trace_hop(t, 9, HOP_H1, d2, 30); /* same hop, new place: a span */
    trace_done(t, 9, 50);
    close_trace(t);
    struct csv c = csv_load(tmp_path("same.csv"));
    ck_assert_int_eq(c.nrows, 3);
    csv_expect(&c, 1, "0x9", "H1", "hop", "H1", "dom1", 10, 30, 0);
    csv_expect(&c, 2, "0x9", "H1", "hop", "H1", "dom2", 30, 50, 0);
    csv_free(&c);
}
END_TEST

/* ---- statistics -------------------------------------------------------------- */

static void assert_close(uint64_t got, uint64_t want, const char *what)
{
    uint64_t diff = got > want ? got - want : want - got;
    ck_assert_msg(diff * 100 < want, "%s: got %llu want %llu (error >= 1%%)", what,
                  (unsigned long long)got, (unsigned long long)want);
}

START_TEST(test_percentiles_1_to_10000)
{
    struct trace *t = open_trace(NULL, NULL);
    uint16_t p = trace_place(t, PLACE_DEVICE, 0, "dev");
    /* durations 1..10000 ns in a scrambled order (7919 is prime) */
    for (uint64_t i = 0; i < 10000; i++) {
        uint64_t d = (i * 7919) % 10000 + 1;
        trace_hop(t, i + 1, HOP_H5, p, 0);
        trace_done(t, i + 1, d * PS_PER_NS);
    }
    struct trace_stat st;
    ck_assert(trace_stat_hop(t, HOP_H5, &st));
    ck_assert_uint_eq(st.count, 10000);
    ck_assert_uint_eq(st.sum, 50005000ull * PS_PER_NS);
    ck_assert_uint_eq(st.min, 1 * PS_PER_NS);
    ck_assert_uint_eq(st.max, 10000 * PS_PER_NS);
    assert_close(st.p50, 5000 * PS_PER_NS, "p50");
    assert_close(st.p99, 9900 * PS_PER_NS, "p99");
    ck_assert(trace_stat_request(t, &st));
    assert_close(st.p50, 5000 * PS_PER_NS, "request p50");
    /* small values are exact */
    uint16_t q = trace_place(t, PLACE_CPU, 0, "cpu");
    for (uint64_t i = 1; i <= 200; i++)
        trace_span(t, &(struct trace_span){.kind = SPAN_TLB_FLUSH, .place = q, .end = i});
    ck_assert(trace_stat_kind(t, SPAN_TLB_FLUSH, &st));
    ck_assert_uint_eq(st.p50, 100);
    ck_assert_uint_eq(st.p99, 198);
    close_trace(t);
}
END_TEST

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Log-uniform values from 1 ns to ~10 s: every quantile within 1%. */
START_TEST(test_percentiles_wide_range)
{
    enum { N = 20000 };
    static uint64_t v[N];
    struct trace *t = open_trace(NULL, NULL);
    uint16_t p = trace_place(t, PLACE_DEVICE, 0, "disk");
    rng_state = 12345;
    for (int i = 0; i < N; i++) {
        v[i] = (1000ull + rng() % 1000) << (rng() % 24);
        trace_span(t, &(struct trace_span){.kind = SPAN_MEDIA, .place = p, .end = v[i]});
    }
    qsort(v, N, sizeof(v[0]), cmp_u64);
    struct trace_stat st;
    ck_assert(trace_stat_kind(t, SPAN_MEDIA, &st));
    ck_assert_uint_eq(st.min, v[0]);
    ck_assert_uint_eq(st.max, v[N - 1]);
    assert_close(st.p50, v[N / 2 - 1], "p50");
    assert_close(st.p99, v[N * 99 / 100 - 1], "p99");
    close_trace(t);
}
END_TEST

struct row {
    unsigned long long count;
    double mean, p50, p99, max; /* us, parsed from "%.3f"-style text */
};

/* The summary row named `name` (first column), if there is one. */
static bool summary_row(const char *text, const char *name, struct row *r)
{
    size_t n = strlen(name);
    for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        if (strncmp(l, name, n) != 0 || l[n] != ' ')
            continue;
        return sscanf(l + n, "%llu %lf %lf %lf %lf", &r->count, &r->mean, &r->p50, &r->p99,
                      &r->max) == 5;
    }
    return false;
}

static void row_expect(const char *text, const char *name, unsigned long long count, double mean,
                       double p50, double p99, double max)
{
    struct row r;
    ck_assert_msg(summary_row(text, name, &r), "no summary row %s in:\n%s", name, text);
    ck_assert_uint_eq(r.count, count);
    ck_assert_double_eq_tol(r.mean, mean, 0.0005);
    ck_assert_double_eq_tol(r.p50, p50, p50 / 100);
    ck_assert_double_eq_tol(r.p99, p99, p99 / 100);
    ck_assert_double_eq_tol(r.max, max, 0.0005);
}

START_TEST(test_summary_table)
{
    struct trace *t = open_trace(NULL, NULL);
    uint16_t d = trace_place(t, PLACE_DOMAIN, 1, "dom1");
    trace_hop(t, 1, HOP_H1, d, 0);
    trace_hop(t, 1, HOP_H2, d, 1000000); /* H1: 1 us */
    trace_done(t, 1, 3500000);           /* H2: 2.5 us */
    trace_hop(t, 2, HOP_H1, d, 0);
    trace_done(t, 2, 2000000); /* H1: 2 us */
    trace_span(t, &(struct trace_span){.kind = SPAN_HYPERCALL, .place = d, .end = 1234});
    trace_done(t, 77, 10);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    trace_print_summary(t, f);
    fclose(f);
    close_trace(t);
    /* headers of the three sections */
    ck_assert_ptr_nonnull(strstr(text, "hop                   count      mean_us       p50_us"
                                       "       p99_us       max_us\n"));
    ck_assert_ptr_nonnull(strstr(text, "\nspan kind             count"));
    ck_assert_ptr_nonnull(strstr(text, "\nrequest               count"));
    row_expect(text, "H1", 2, 1.5, 1.0, 2.0, 2.0);
    row_expect(text, "H2", 1, 2.5, 2.5, 2.5, 2.5);
    row_expect(text, "hypercall", 1, 0.001, 0.001, 0.001, 0.001);
    row_expect(text, "end-to-end", 2, 2.75, 2.0, 3.5, 3.5);
    struct row r;
    ck_assert(!summary_row(text, "H3", &r));
    ck_assert(!summary_row(text, "grant_map", &r));
    /* 3 decimals, from integers */
    ck_assert_ptr_nonnull(strstr(text, "        2.500        2.500        2.500        2.500\n"));
    ck_assert_ptr_nonnull(strstr(text, "requests: 2 done, 0 in flight, 1 unknown done"));
    free(text);
}
END_TEST

START_TEST(test_done_unknown)
{
    struct trace *t = open_trace("unk.json", "unk.csv");
    uint16_t d = trace_place(t, PLACE_DOMAIN, 1, "dom1");
    trace_hop(t, 5, HOP_H1, d, 0);
    trace_done(t, 6, 10);
    trace_done(t, 6, 20);
    ck_assert_uint_eq(trace_requests_done(t), 0);
    ck_assert_uint_eq(trace_requests_inflight(t), 1);
    ck_assert_int_eq(trace_req_hop(t, 5), HOP_H1);
    struct trace_stat st;
    ck_assert(!trace_stat_request(t, &st));
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    trace_print_summary(t, f);
    fclose(f);
    ck_assert_ptr_nonnull(strstr(text, "0 done, 1 in flight, 2 unknown done"));
    free(text);
    close_trace(t);
    struct csv c = csv_load(tmp_path("unk.csv"));
    ck_assert_int_eq(c.nrows, 1); /* open hops of unfinished requests are not written */
    csv_free(&c);
    json_object *root = json_load(tmp_path("unk.json"));
    ck_assert_int_eq(count_events(events_of(root), "X", NULL), 0);
    json_object_put(root);
}
END_TEST

/* 100k requests, at most 64 in flight: all forgotten when done. */
START_TEST(test_memory_bounded)
{
    struct trace *t = open_trace(NULL, NULL);
    uint16_t d = trace_place(t, PLACE_DOMAIN, 1, "dom1");
    uint16_t c = trace_place(t, PLACE_CPU, 0, "cpu0");
    simtime_t now = 0;
    for (uint64_t i = 0; i < 100000 + 64; i++) {
        if (i < 100000) {
            trace_hop(t, HOPSIM_REQ(1, i), HOP_H1, d, now);
            trace_hop(t, HOPSIM_REQ(1, i), HOP_H2, c, now + 5);
        }
        if (i >= 64)
            trace_done(t, HOPSIM_REQ(1, i - 64), now + 7);
        ck_assert_uint_le(trace_requests_inflight(t), 64);
        now += 10;
    }
    ck_assert_uint_eq(trace_requests_inflight(t), 0);
    ck_assert_uint_eq(trace_requests_done(t), 100000);
    ck_assert_int_eq(trace_req_hop(t, HOPSIM_REQ(1, 99999)), HOP_NONE);
    struct trace_stat st;
    ck_assert(trace_stat_hop(t, HOP_H2, &st));
    ck_assert_uint_eq(st.count, 100000);
    close_trace(t);
}
END_TEST

/* ---- determinism ----------------------------------------------------------- */

static void run_workload(const char *json, const char *csv, char **summary)
{
    struct trace *t = open_trace(json, csv);
    uint16_t pl[4] = {trace_place(t, PLACE_CPU, 0, "cpu0"), trace_place(t, PLACE_DOMAIN, 0, "dom0"),
                      trace_place(t, PLACE_DOMAIN, 1, "domU"),
                      trace_place(t, PLACE_DEVICE, 0, "sas")};
    rng_state = 99;
    simtime_t now = 0;
    for (int i = 0; i < 5000; i++) {
        now += rng() % 3000;
        uint64_t req = HOPSIM_REQ(1, rng() % 200);
        switch (rng() % 5) {
        case 0:
            trace_done(t, req, now);
            break;
        case 1:
            trace_span(t, &(struct trace_span){.req = req,
                                               .kind = (uint16_t)(1 + rng() % 25),
                                               .place = pl[rng() % 4],
                                               .start = now,
                                               .end = now + rng() % 5000,
                                               .name = "x",
                                               .arg = (int64_t)rng()});
            break;
        case 2:
            trace_hop_advance(t, pl[2], HOP_H2, HOP_H3, pl[0], now);
            break;
        default:
            trace_hop(t, req, 1 + (int)(rng() % 8), pl[rng() % 4], now);
        }
    }
    size_t len;
    FILE *f = open_memstream(summary, &len);
    trace_print_summary(t, f);
    fclose(f);
    close_trace(t);
}

START_TEST(test_determinism)
{
    char *s1, *s2;
    run_workload("det1.json", "det1.csv", &s1);
    run_workload("det2.json", "det2.csv", &s2);
    ck_assert_str_eq(s1, s2);
    free(s1);
    free(s2);
    const char *pairs[2][2] = {{"det1.json", "det2.json"}, {"det1.csv", "det2.csv"}};
    for (int i = 0; i < 2; i++) {
        size_t n1, n2;
        char *a = slurp(tmp_path(pairs[i][0]), &n1);
        char *b = slurp(tmp_path(pairs[i][1]), &n2);
        ck_assert_uint_gt(n1, 1000);
        ck_assert_uint_eq(n1, n2);
        ck_assert(memcmp(a, b, n1) == 0);
        free(a);
        free(b);
    }
    json_object_put(json_load(tmp_path("det1.json")));
}
END_TEST

/* ---- errors ----------------------------------------------------------------- */

START_TEST(test_open_error)
{
    char err[256] = "";
    struct trace_opts o = {.json_path = "/nonexistent/dir/x.json", .title = "t"};
    ck_assert_ptr_null(trace_open(&o, err, sizeof(err)));
    ck_assert_ptr_nonnull(strstr(err, "/nonexistent/dir/x.json"));
    ck_assert_ptr_nonnull(strstr(err, strerror(ENOENT)));
    /* JSON fine, CSV not: nothing leaks, the CSV is named */
    err[0] = 0;
    o = (struct trace_opts){.json_path = tmp_path("ok.json"), .csv_path = "/nonexistent/y.csv"};
    ck_assert_ptr_null(trace_open(&o, err, sizeof(err)));
    ck_assert_ptr_nonnull(strstr(err, "/nonexistent/y.csv"));
}
END_TEST

START_TEST(test_write_error)
{
    if (access("/dev/full", W_OK) != 0)
        return;
    char err[256] = "";
    struct trace_opts o = {.csv_path = "/dev/full"};
    struct trace *t = trace_open(&o, err, sizeof(err));
    ck_assert_ptr_nonnull(t);
    uint16_t d = trace_place(t, PLACE_DOMAIN, 1, "dom1");
    trace_hop(t, 1, HOP_H1, d, 0);
    trace_done(t, 1, 10);
    ck_assert_int_eq(trace_close(t, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "/dev/full"));
    ck_assert_ptr_nonnull(strstr(err, strerror(ENOSPC)));
}
END_TEST

START_TEST(test_null_trace)
{
    /* a NULL trace is "tracing off": every call is a no-op */
    char err[8];
    trace_hop(NULL, 1, HOP_H1, 0, 0);
    trace_span(NULL, &(struct trace_span){.kind = SPAN_IRQ});
    trace_done(NULL, 1, 0);
    ck_assert_int_eq(trace_hop_advance(NULL, 0, HOP_H1, HOP_H2, 0, 0), 0);
    ck_assert_int_eq(trace_req_hop(NULL, 1), HOP_NONE);
    ck_assert_int_eq(trace_close(NULL, err, sizeof(err)), 0);
}
END_TEST

/* H2 -> H4 without a notify of its own: a zero-length H3 flagged as suppressed (CSV arg 1);
 * native's H1 -> H4 skips two hops and gets no filler. */
START_TEST(test_suppressed_notify_hop)
{
    struct trace *t = open_trace(NULL, "supp.csv");
    uint16_t fe = trace_place(t, PLACE_DOMAIN, 1, "fe"), be = trace_place(t, PLACE_DOMAIN, 0, "be");
    uint64_t a = HOPSIM_REQ(1, 1), b = HOPSIM_REQ(1, 2), n = HOPSIM_REQ(2, 1);
    trace_hop(t, a, HOP_H2, fe, 100);
    trace_hop(t, b, HOP_H2, fe, 150);
    /* the notify carries a and b; trace_last_advanced names the first of the batch */
    ck_assert_int_eq(trace_hop_advance(t, fe, HOP_H2, HOP_H3, be, 200), 2);
    ck_assert_uint_eq(trace_last_advanced(t), a);
    trace_hop(t, a, HOP_H4, be, 300);
    trace_hop(t, HOPSIM_REQ(1, 3), HOP_H2, fe, 310);
    trace_hop(t, HOPSIM_REQ(1, 3), HOP_H4, be, 320); /* picked up without its own notify */
    trace_hop(t, n, HOP_H1, fe, 400);
    trace_hop(t, n, HOP_H4, fe, 450); /* native: no filler for H2/H3 */
    ck_assert_int_eq(trace_hop_advance(t, fe, HOP_H6, HOP_H7, be, 500), 0);
    ck_assert_uint_eq(trace_last_advanced(t), HOPSIM_NOREQ);
    close_trace(t);
    FILE *f = fopen(tmp_path("supp.csv"), "r");
    char line[512];
    int suppressed = 0, h3 = 0, n_h3 = 0;
    while (f && fgets(line, sizeof(line), f)) {
        if (strstr(line, ",H3,hop,") && strstr(line, "0x100000003"))
            suppressed += strstr(line, ",320,320,0,1") != NULL;
        if (strstr(line, ",H3,hop,"))
            h3++;
        if (strstr(line, "0x200000001,H3") || strstr(line, "0x200000001,H2"))
            n_h3++;
    }
    if (f)
        fclose(f);
    ck_assert_int_eq(suppressed, 1);
    ck_assert_int_eq(h3, 2); /* a's real H3 and the zero-length one */
    ck_assert_int_eq(n_h3, 0);
}
END_TEST

static Suite *trace_suite(void)
{
    Suite *s = suite_create("trace");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_csv_hop_spans);
    tcase_add_test(tc, test_csv_sub_spans);
    tcase_add_test(tc, test_kind_stats);
    tcase_add_test(tc, test_json_empty);
    tcase_add_test(tc, test_json_content);
    tcase_add_test(tc, test_json_escaping);
    tcase_add_test(tc, test_json_time_grid);
    tcase_add_test(tc, test_flow_events);
    tcase_add_test(tc, test_lanes_overlap);
    tcase_add_test(tc, test_lanes_never_overlap);
    tcase_add_test(tc, test_hop_advance);
    tcase_add_test(tc, test_hop_taken_before_notify);
    tcase_add_test(tc, test_hop_advance_posted);
    tcase_add_test(tc, test_hop_advance_posted_ring);
    tcase_add_test(tc, test_hop_same_is_noop);
    tcase_add_test(tc, test_percentiles_1_to_10000);
    tcase_add_test(tc, test_percentiles_wide_range);
    tcase_add_test(tc, test_summary_table);
    tcase_add_test(tc, test_done_unknown);
    tcase_add_test(tc, test_memory_bounded);
    tcase_add_test(tc, test_determinism);
    tcase_add_test(tc, test_open_error);
    tcase_add_test(tc, test_write_error);
    tcase_add_test(tc, test_null_trace);
    tcase_add_test(tc, test_suppressed_notify_hop);
    suite_add_tcase(s, tc);
    return s;
}

static void remove_tmpdir(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmpdir);
}

int main(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_trace.XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    SRunner *sr = srunner_create(trace_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    remove_tmpdir();
    return failed ? 1 : 0;
}
