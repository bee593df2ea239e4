/*
 * hopsim trace-be: a JSON trace's complete events ("ph":"X") rewritten as
 * begin/end pairs ("B"/"E") in nesting order, thread by thread.
 *
 * Why: hopsim's JSON gives each span as ts + dur, exact in integer
 * picoseconds (traces/FORMAT.md). A viewer that builds call stacks and
 * computes the end as ts + dur in binary floating point -- speedscope's
 * Chrome importer does, after subtracting the thread's first timestamp --
 * can see a parent end one ulp before a child that ends at the same
 * picosecond, and then cannot close the child ("Tried to end ... when ...
 * was on the top of the stack"). Here every end is written as its own
 * timestamp, the same decimal for the same picosecond, so equal ends stay
 * equal in any arithmetic; spans that begin together are written outermost
 * first, and each thread's pairs are written as a stack would open and
 * close them. Other events (metadata, flows, counters) are copied as they
 * are.
 *
 * The input's nesting is checked on the way, in integer picoseconds: two
 * spans on one thread that overlap without one containing the other are an
 * error (exit 1), naming both.
 */
#include "tracebe.h"

#include <json-c/json.h>

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct xspan {
    int64_t pid, tid;
    uint64_t start, end; /* ps */
    size_t idx;          /* in traceEvents */
};

/* A JSON number as hopsim writes microseconds ("12.345678") to picoseconds. */
static int us_to_ps(struct json_object *o, uint64_t *out)
{
    if (!o || !(json_object_is_type(o, json_type_double) || json_object_is_type(o, json_type_int)))
        return -1;
    const char *p = json_object_get_string(o);
    uint64_t whole = 0, frac = 0;
    int fd = 0;
    if (*p < '0' || *p > '9')
        return -1;
    while (*p >= '0' && *p <= '9')
        whole = whole * 10 + (uint64_t)(*p++ - '0');
    if (*p == '.')
        for (p++; *p >= '0' && *p <= '9'; p++)
            if (fd < 6) {
                frac = frac * 10 + (uint64_t)(*p - '0');
                fd++;
            }
    if (*p)
        return -1; /* exponents and the like are not what hopsim writes */
    for (; fd < 6; fd++)
        frac *= 10;
    *out = whole * 1000000 + frac;
    return 0;
}

static struct json_object *get(struct json_object *o, const char *key)
{
    struct json_object *v;
    return json_object_object_get_ex(o, key, &v) ? v : NULL;
}

static int cmp_span(const void *a, const void *b)
{
    const struct xspan *x = a, *y = b;
    if (x->pid != y->pid)
        return x->pid < y->pid ? -1 : 1;
    if (x->tid != y->tid)
        return x->tid < y->tid ? -1 : 1;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    if (x->end != y->end)
        return x->end > y->end ? -1 : 1; /* the outer one first */
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static const char *span_name(struct json_object *ev)
{
    const char *n = json_object_get_string(get(ev, "name"));
    return n ? n : "?";
}

/* Write the X event as "B" (at its start), "E" (at its end, ts = end) or "i" (an instant). */
static void put_half(FILE *f, struct json_object *ev, char ph, uint64_t end_ps, bool *first)
{
    json_object_object_del(ev, "dur");
    json_object_object_add(ev, "ph",
                           json_object_new_string(ph == 'B'   ? "B"
                                                  : ph == 'i' ? "i"
                                                              : "E"));
    if (ph == 'i')
        json_object_object_add(ev, "s", json_object_new_string("t")); /* thread-scoped */
    if (ph == 'E') {
        char ts[32];
        snprintf(ts, sizeof ts, "%" PRIu64 ".%06" PRIu64, end_ps / 1000000, end_ps % 1000000);
        json_object_object_add(ev, "ts", json_object_new_double_s((double)end_ps / 1e6, ts));
    }
    fprintf(f, "%s\n%s", *first ? "" : ",",
            json_object_to_json_string_ext(ev, JSON_C_TO_STRING_PLAIN |
                                                   JSON_C_TO_STRING_NOSLASHESCAPE));
    *first = false;
}

int trace_be_main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: hopsim trace-be TRACE.json OUT.json\n");
        return 2;
    }
    struct json_object *root = json_object_from_file(argv[0]);
    struct json_object *ev = root ? get(root, "traceEvents") : NULL;
    if (!ev || !json_object_is_type(ev, json_type_array)) {
        fprintf(stderr, "hopsim: trace-be: %s: not a Trace Event JSON file with traceEvents\n",
                argv[0]);
        json_object_put(root);
        return 2;
    }
    size_t n = json_object_array_length(ev), nx = 0;
    struct xspan *xs = calloc(n ? n : 1, sizeof *xs);
    if (!xs) {
        fprintf(stderr, "hopsim: trace-be: out of memory\n");
        json_object_put(root);
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        struct json_object *e = json_object_array_get_idx(ev, i);
        const char *ph = json_object_get_string(get(e, "ph"));
        if (!ph || strcmp(ph, "X") != 0)
            continue;
        uint64_t ts, dur;
        if (us_to_ps(get(e, "ts"), &ts) < 0 || us_to_ps(get(e, "dur"), &dur) < 0) {
            fprintf(stderr,
                    "hopsim: trace-be: %s: event %zu (%s): ts or dur is not microseconds "
                    "with up to 6 decimals\n",
                    argv[0], i, span_name(e));
            free(xs);
            json_object_put(root);
            return 1;
        }
        xs[nx++] = (struct xspan){.pid = json_object_get_int64(get(e, "pid")),
                                  .tid = json_object_get_int64(get(e, "tid")),
                                  .start = ts,
                                  .end = ts + dur,
                                  .idx = i};
    }
    qsort(xs, nx, sizeof *xs, cmp_span);

    FILE *f = fopen(argv[1], "w");
    if (!f) {
        perror(argv[1]);
        free(xs);
        json_object_put(root);
        return 2;
    }
    fputs("{", f);
    json_object_object_foreach(root, key, val)
    {
        if (!strcmp(key, "traceEvents"))
            continue;
        struct json_object *k = json_object_new_string(key);
        fprintf(f, "%s:%s,", json_object_to_json_string_ext(k, JSON_C_TO_STRING_PLAIN),
                json_object_to_json_string_ext(val, JSON_C_TO_STRING_PLAIN));
        json_object_put(k);
    }
    fputs("\"traceEvents\":[", f);
    bool first = true;
    for (size_t i = 0; i < n; i++) { /* everything but the spans, in order */
        struct json_object *e = json_object_array_get_idx(ev, i);
        const char *ph = json_object_get_string(get(e, "ph"));
        if (ph && !strcmp(ph, "X"))
            continue;
        fprintf(f, "%s\n%s", first ? "" : ",",
                json_object_to_json_string_ext(e, JSON_C_TO_STRING_PLAIN |
                                                      JSON_C_TO_STRING_NOSLASHESCAPE));
        first = false;
    }
    /* each thread's spans as a stack opens and closes them */
    size_t *stack = calloc(nx ? nx : 1, sizeof *stack), depth = 0;
    int rc = 0;
    for (size_t i = 0; i < nx && stack; i++) {
        bool same = i > 0 && xs[i].pid == xs[i - 1].pid && xs[i].tid == xs[i - 1].tid;
        while (depth && (!same || xs[stack[depth - 1]].end <= xs[i].start)) {
            const struct xspan *t = &xs[stack[--depth]];
            put_half(f, json_object_array_get_idx(ev, t->idx), 'E', t->end, &first);
        }
        if (depth && xs[stack[depth - 1]].end < xs[i].end) {
            const struct xspan *o = &xs[stack[depth - 1]];
            fprintf(stderr,
                    "hopsim: trace-be: %s: pid %" PRId64 " tid %" PRId64 ": \"%s\" [%" PRIu64
                    ", %" PRIu64 ") ps and \"%s\" [%" PRIu64 ", %" PRIu64
                    ") ps overlap without nesting\n",
                    argv[0], o->pid, o->tid, span_name(json_object_array_get_idx(ev, o->idx)),
                    o->start, o->end, span_name(json_object_array_get_idx(ev, xs[i].idx)),
                    xs[i].start, xs[i].end);
            rc = 1;
        }
        if (xs[i].start == xs[i].end) {
            /* a zero-length span (a guest-error marker) is an instant: viewers order an E
             * before a B at one timestamp, so as a B/E pair it would close before it opened */
            put_half(f, json_object_array_get_idx(ev, xs[i].idx), 'i', 0, &first);
            continue;
        }
        /* the B half keeps ts; the E half is written from the same object later */
        put_half(f, json_object_array_get_idx(ev, xs[i].idx), 'B', 0, &first);
        stack[depth++] = i;
    }
    while (stack && depth) {
        const struct xspan *t = &xs[stack[--depth]];
        put_half(f, json_object_array_get_idx(ev, t->idx), 'E', t->end, &first);
    }
    fputs("\n]}\n", f);
    if (!stack) {
        fprintf(stderr, "hopsim: trace-be: out of memory\n");
        rc = 1;
    }
    if (fclose(f) != 0) {
        perror(argv[1]);
        rc = 1;
    }
    free(stack);
    free(xs);
    json_object_put(root);
    return rc;
}
