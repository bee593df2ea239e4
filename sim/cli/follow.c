/*
 * `hopsim follow TRACE.csv REQUEST`: one request's way through a run, from
 * the CSV trace (traces/FORMAT.md: req,hop,kind,name,place,start_ps,
 * end_ps,dur_ps,arg). Its spans are printed in time order (a hop before
 * the sub-spans it contains) and drawn as a timeline, a lane per place in
 * the order the request first reached it.
 */
#include "follow.h"
#include "chart.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct row {
    char req[24], hop[4], kind[24], name[64], place[64];
    uint64_t start, end;
};

struct rows {
    struct row *r;
    size_t n, cap;
};

/* Split one CSV line (no quoted fields in hopsim's trace) into up to 9 fields. */
static int fields(char *line, char **f, int max)
{
    int n = 0;
    line[strcspn(line, "\r\n")] = '\0';
    for (char *p = line; n < max;) {
        f[n++] = p;
        char *c = strchr(p, ',');
        if (!c)
            break;
        *c = '\0';
        p = c + 1;
    }
    return n;
}

static int push(struct rows *rs, const struct row *r)
{
    if (rs->n == rs->cap) {
        size_t cap = rs->cap ? 2 * rs->cap : 256;
        struct row *nr = realloc(rs->r, cap * sizeof *nr);
        if (!nr)
            return -1;
        rs->r = nr;
        rs->cap = cap;
    }
    rs->r[rs->n++] = *r;
    return 0;
}

/*
 * Read the rows of request `want` ("first": the request whose first span
 * starts earliest; "slowest": the longest from first start to last end).
 */
static int load(const char *path, const char *want, struct rows *rs, char *id, size_t idn)
{
    FILE *f = fopen(path, "r");
    char line[1024], *fl[9];
    bool pick = !strcmp(want, "first") || !strcmp(want, "slowest");
    struct rows all = {0};
    if (!f) {
        fprintf(stderr, "hopsim: follow: %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (!fgets(line, sizeof line, f) || strncmp(line, "req,hop,kind,name,place,start_ps", 32)) {
        fprintf(stderr, "hopsim: follow: %s: not a hopsim CSV trace (see traces/FORMAT.md)\n",
                path);
        fclose(f);
        return -1;
    }
    while (fgets(line, sizeof line, f)) {
        struct row r = {0};
        if (fields(line, fl, 9) < 8 || !fl[0][0])
            continue;
        if (!pick && strcmp(fl[0], want) != 0)
            continue;
        snprintf(r.req, sizeof r.req, "%s", fl[0]);
        snprintf(r.hop, sizeof r.hop, "%s", fl[1]);
        snprintf(r.kind, sizeof r.kind, "%s", fl[2]);
        snprintf(r.name, sizeof r.name, "%s", fl[3]);
        snprintf(r.place, sizeof r.place, "%s", fl[4]);
        r.start = strtoull(fl[5], NULL, 10);
        r.end = strtoull(fl[6], NULL, 10);
        if (push(pick ? &all : rs, &r) < 0)
            break;
    }
    fclose(f);
    if (pick) {
        /* per request: first start, last end; choose, then keep its rows */
        const char *best = NULL;
        uint64_t best_v = 0;
        for (size_t i = 0; i < all.n; i++) {
            uint64_t s = UINT64_MAX, e = 0;
            bool seen = false;
            for (size_t j = 0; j < i && !seen; j++)
                seen = !strcmp(all.r[j].req, all.r[i].req);
            if (seen)
                continue;
            for (size_t j = i; j < all.n; j++)
                if (!strcmp(all.r[j].req, all.r[i].req)) {
                    s = s < all.r[j].start ? s : all.r[j].start;
                    e = e > all.r[j].end ? e : all.r[j].end;
                }
            bool better = !best || (want[0] == 'f' ? s < best_v : e - s > best_v);
            if (better) {
                best = all.r[i].req;
                best_v = want[0] == 'f' ? s : e - s;
            }
        }
        for (size_t i = 0; best && i < all.n; i++)
            if (!strcmp(all.r[i].req, best))
                push(rs, &all.r[i]);
        free(all.r);
    }
    if (!rs->n) {
        fprintf(stderr, "hopsim: follow: no spans of request %s in %s\n", want, path);
        return -1;
    }
    snprintf(id, idn, "%s", rs->r[0].req);
    return 0;
}

/* Time order; at equal starts a hop (the container) first, then the longer span. */
static int by_start(const void *a, const void *b)
{
    const struct row *x = a, *y = b;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    bool hx = !strcmp(x->kind, "hop"), hy = !strcmp(y->kind, "hop");
    if (hx != hy)
        return hx ? -1 : 1;
    if (x->end != y->end)
        return x->end > y->end ? -1 : 1;
    return 0;
}

int follow_main(int argc, char **argv)
{
    const char *trace = NULL, *want = NULL, *svg = NULL, *png = NULL;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--svg") && i + 1 < argc)
            svg = argv[++i];
        else if (!strcmp(argv[i], "--png") && i + 1 < argc)
            png = argv[++i];
        else if (argv[i][0] == '-' || (trace && want)) {
            fprintf(stderr, "hopsim: follow: unexpected '%s' (see hopsim follow --help)\n",
                    argv[i]);
            return 2;
        } else if (!trace)
            trace = argv[i];
        else
            want = argv[i];
    }
    if (!trace || !want) {
        fprintf(stderr, "hopsim: follow: expected TRACE.csv REQUEST (see hopsim follow --help)\n");
        return 2;
    }
    struct rows rs = {0};
    char id[24];
    if (load(trace, want, &rs, id, sizeof id) < 0) {
        free(rs.r);
        return 2;
    }
    qsort(rs.r, rs.n, sizeof *rs.r, by_start);
    struct chart_timeline tl = {.nspans = 0};
    struct chart_span *sp = calloc(rs.n, sizeof *sp);
    uint64_t t0 = rs.r[0].start, t_end = 0;
    printf("request %s: %zu spans\n", id, rs.n);
    printf("%12s %12s %4s  %-14s %-24s %s\n", "start_us", "dur_us", "hop", "kind", "name", "place");
    for (size_t i = 0; i < rs.n; i++) {
        const struct row *r = &rs.r[i];
        int lane = 0;
        while (lane < tl.nlanes && strcmp(tl.lane[lane], r->place) != 0)
            lane++;
        if (lane == tl.nlanes && tl.nlanes < 32)
            snprintf(tl.lane[tl.nlanes++], sizeof tl.lane[0], "%s", r->place);
        bool hop = !strcmp(r->kind, "hop");
        printf("%12.3f %12.3f %4s  %s%-14s %-24s %s\n", (double)(r->start - t0) / 1e6,
               (double)(r->end - r->start) / 1e6, r->hop, hop ? "" : "  ", r->kind,
               hop ? "" : r->name, r->place);
        t_end = r->end > t_end ? r->end : t_end;
        if (sp && lane < 32) {
            sp[tl.nspans].start = (double)(r->start - t0) / 1e6;
            sp[tl.nspans].end = (double)(r->end - t0) / 1e6;
            sp[tl.nspans].lane = lane;
            snprintf(sp[tl.nspans++].label, sizeof sp[0].label, "%s", hop ? r->hop : r->kind);
        }
    }
    printf("end to end: %.3f us across %d places\n", (double)(t_end - t0) / 1e6, tl.nlanes);
    tl.spans = sp;
    snprintf(tl.title, sizeof tl.title, "request %s", id);
    int rc = 0;
    if (svg && sp && chart_timeline_write(&tl, svg) < 0)
        rc = 1;
    if (png && sp && chart_timeline_write(&tl, png) < 0)
        rc = 1;
    free(sp);
    free(rs.r);
    return rc;
}
