/*
 * The trace's statistics: fixed-size log-linear histograms per hop, per
 * span kind and for whole requests, and the summary table.
 */
#include "trace_int.h"

#include <assert.h>
#include <stdio.h>

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

void hist_add(struct hist *h, uint64_t v)
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

bool hist_stat(const struct hist *h, struct trace_stat *out)
{
    if (h->count == 0)
        return false;
    *out = (struct trace_stat){.count = h->count, .sum = h->sum, .min = h->min, .max = h->max};
    out->p50 = hist_quantile(h, 50, 100);
    out->p99 = hist_quantile(h, 99, 100);
    return true;
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

bool trace_request_window_all(const struct trace *t, simtime_t *first, simtime_t *last,
                              uint64_t *count)
{
    const struct src *a = NULL, *b = NULL;
    for (uint32_t i = 0; t && i < t->nsrcs; i++) {
        const struct src *s = &t->srcs[i];
        if (!s->started || !s->completed)
            continue;
        if (!a || s->first > a->first)
            a = s;
        if (!b || s->last < b->last)
            b = s;
    }
    if (!a || b->last <= a->first || b->done_upto < a->done_before)
        return false;
    *first = a->first;
    *last = b->last;
    *count = b->done_upto - a->done_before;
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
        print_row(out, trace_hop_names[h].s, &t->hist[h]);
    fputc('\n', out);
    print_head(out, "span kind");
    for (int k = 0; k < SPAN_KIND_COUNT; k++)
        print_row(out, trace_kind_names[k].s, &t->hist[HOP_COUNT + k]);
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
