/*
 * The toolstack's side of ballooning and the report of what each domain
 * held over time.
 *
 * mem_set{} (sim/scenario/decl_dev.c) is `xl mem-set DOMAIN TARGET` at a
 * time: libxl_set_memory_target with enforce, which writes the target in
 * KiB to /local/domain/N/memory/target -- the key the guest's balloon
 * driver watches (Linux's drivers/xen/xen-balloon.c, watch_target) -- and
 * sets max_mem to the target plus LIBXL_MAXMEM_CONSTANT (1 MiB) with
 * xc_domain_setmaxmem. The guest moves its reservation itself; the
 * toolstack only asks (xl does not wait either).
 *
 * What each domain holds is its tot_pages in the hypervisor (what `xl
 * list` shows); every change is logged with its time (balloon_note, from
 * memory.c and the mem-set actions), printed as a table after the run and
 * written whole to output{ reservation_csv }.
 */
#include "machine.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define LIBXL_MAXMEM_CONSTANT_KB 1024 /* libxl_internal.h */
#define KB_PER_PAGE (PAGE_SIZE / 1024)

struct resv_rec {
    simtime_t t;
    int dom; /* index in m->doms */
    uint64_t tot_pages, max_pages, target_kb;
};

struct memset_ev {
    struct machine *m;
    const struct sc_memset *ms;
};

struct resv_log {
    struct memset_ev ev[SC_MAX_MEMSETS];
    struct resv_rec *rec;
    size_t n, cap;
    uint64_t target_kb[SC_MAX_DOMAINS]; /* last target the toolstack wrote, 0: none */
    bool shown[SC_MAX_DOMAINS];         /* in the report: ballooned or given a target */
};

static struct resv_log *log_of(struct machine *m)
{
    if (!m->resv) {
        m->resv = calloc(1, sizeof(*m->resv));
        if (!m->resv)
            return NULL;
        for (int i = 0; i < m->ndoms; i++)
            m->resv->target_kb[i] = m->doms[i]->init_pages * KB_PER_PAGE;
    }
    return m->resv;
}

static int dom_index(const struct machine *m, const struct domain *d)
{
    for (int i = 0; i < m->ndoms; i++)
        if (m->doms[i] == d)
            return i;
    return -1;
}

static void record(struct machine *m, int i, simtime_t t)
{
    struct resv_log *l = log_of(m);
    if (!l || i < 0 || i >= SC_MAX_DOMAINS)
        return;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        struct resv_rec *r = realloc(l->rec, cap * sizeof(*r));
        if (!r)
            return;
        l->rec = r;
        l->cap = cap;
    }
    const struct domain *d = m->doms[i];
    l->rec[l->n++] = (struct resv_rec){.t = t,
                                       .dom = i,
                                       .tot_pages = d->tot_pages,
                                       .max_pages = d->max_pages,
                                       .target_kb = l->target_kb[i]};
    l->shown[i] = true;
}

void balloon_note(struct machine *m, struct domain *d)
{
    record(m, dom_index(m, d), evq_now(&m->q));
}

static void mem_set(void *opaque, simtime_t now)
{
    const struct memset_ev *e = opaque;
    struct machine *m = e->m;
    const struct sc_memset *ms = e->ms;
    struct domain *d = m->doms[ms->domain];
    if (d->dead)
        return;
    m->resv->target_kb[ms->domain] = ms->target_kb;
    char path[64], val[32];
    snprintf(path, sizeof(path), "/local/domain/%u/memory/target", d->domid);
    snprintf(val, sizeof(val), "%llu", (unsigned long long)ms->target_kb);
    xs_tool_write(m->xs, path, val);
    memory_set_max(d, ms->target_kb + LIBXL_MAXMEM_CONSTANT_KB);
    if (!m->quiet)
        fprintf(m->console_out,
                "toolstack: xl mem-set %s %lluk at t=%.3f us (holds %llu KiB, max_mem %llu KiB)\n",
                d->name, (unsigned long long)ms->target_kb, (double)now / PS_PER_US,
                (unsigned long long)(d->tot_pages * KB_PER_PAGE),
                (unsigned long long)(d->max_pages * KB_PER_PAGE));
    record(m, ms->domain, now);
    machine_store_flush(m, now); /* the watch on memory/target fires */
}

void balloon_schedule(struct machine *m)
{
    const struct scenario *sc = m->sc;
    if (!sc->nmemsets)
        return;
    struct resv_log *l = log_of(m);
    if (!l)
        return;
    for (int i = 0; i < sc->nmemsets; i++) {
        l->ev[i] = (struct memset_ev){.m = m, .ms = &sc->memsets[i]};
        l->shown[sc->memsets[i].domain] = true;
        evq_schedule(&m->q, sc->memsets[i].at_ps, mem_set, &l->ev[i]);
    }
}

void balloon_fini(struct machine *m)
{
    if (!m->resv)
        return;
    free(m->resv->rec);
    free(m->resv);
    m->resv = NULL;
}

/* What domain i held at time t: its last record at or before t, else what it started with. */
static const struct resv_rec *at(const struct resv_log *l, int i, simtime_t t)
{
    const struct resv_rec *r = NULL;
    for (size_t k = 0; k < l->n && l->rec[k].t <= t; k++)
        if (l->rec[k].dom == i)
            r = &l->rec[k];
    return r;
}

static int cmp_time(const void *a, const void *b)
{
    simtime_t x = *(const simtime_t *)a, y = *(const simtime_t *)b;
    return x < y ? -1 : x > y;
}

/* 1, 2 or 5 times a power of ten, at least x */
static simtime_t nice_step(simtime_t x)
{
    simtime_t p = 1;
    while (p * 10 <= x)
        p *= 10;
    return x <= p ? p : x <= 2 * p ? 2 * p : x <= 5 * p ? 5 * p : 10 * p;
}

#define REPORT_ROWS 12
#define REPORT_CHANGES 48 /* up to this many changes, each has its row */
#define MAX_TIMES (REPORT_ROWS + SC_MAX_MEMSETS + REPORT_CHANGES + 4)

static double mib(uint64_t pages)
{
    return (double)(pages * PAGE_SIZE) / (1024.0 * 1024.0);
}

static void print_table(const struct machine *m, FILE *out, simtime_t end)
{
    const struct resv_log *l = m->resv;
    simtime_t times[MAX_TIMES];
    int nt = 0;
    simtime_t step = nice_step(end / REPORT_ROWS ? end / REPORT_ROWS : 1);
    for (simtime_t t = 0; t < end && nt < REPORT_ROWS + 1; t += step)
        times[nt++] = t;
    for (int i = 0; i < m->sc->nmemsets && nt < MAX_TIMES - 1; i++)
        if (m->sc->memsets[i].at_ps < end)
            times[nt++] = m->sc->memsets[i].at_ps;
    for (size_t k = 0; l->n <= REPORT_CHANGES && k < l->n; k++)
        if (l->rec[k].t < end)
            times[nt++] = l->rec[k].t;
    times[nt++] = end;
    qsort(times, (size_t)nt, sizeof(times[0]), cmp_time);
    fprintf(out,
            "reservation (MiB each domain holds, tot_pages; target in brackets; every %.3f "
            "ms%s):\n",
            (double)step / PS_PER_MS, l->n <= REPORT_CHANGES ? " and at each change" : "");
    fprintf(out, "%12s", "t (ms)");
    for (int i = 0; i < m->ndoms; i++)
        if (l->shown[i])
            fprintf(out, " %20s", m->doms[i]->name);
    fprintf(out, " %12s\n", "host free");
    for (int k = 0; k < nt; k++) {
        if (k && times[k] == times[k - 1])
            continue;
        fprintf(out, "%12.3f", (double)times[k] / PS_PER_MS);
        uint64_t held = 0;
        for (int i = 0; i < m->ndoms; i++) {
            const struct resv_rec *r = at(l, i, times[k]);
            uint64_t tot = r ? r->tot_pages : m->doms[i]->init_pages;
            held += tot;
            if (!l->shown[i])
                continue;
            uint64_t tgt = r ? r->target_kb : m->doms[i]->init_pages * KB_PER_PAGE;
            char cell[32];
            snprintf(cell, sizeof(cell), "%.2f (%.2f)", mib(tot), (double)tgt / 1024.0);
            fprintf(out, " %20s", cell);
        }
        fprintf(out, " %12.2f\n", held < m->ram_limit ? mib(m->ram_limit - held) : 0.0);
    }
    for (int i = 0; i < m->ndoms; i++) {
        const struct domain *d = m->doms[i];
        if (!l->shown[i])
            continue;
        fprintf(out,
                "reservation: %s: holds %llu KiB (target %llu KiB, max_mem %llu KiB); %llu pages "
                "given back, %llu populated\n",
                d->name, (unsigned long long)(d->tot_pages * KB_PER_PAGE),
                (unsigned long long)l->target_kb[i],
                (unsigned long long)(d->max_pages * KB_PER_PAGE),
                (unsigned long long)d->pages_released, (unsigned long long)d->pages_populated);
    }
}

static int write_csv(const struct machine *m, const char *path, simtime_t end, char *err,
                     size_t errlen)
{
    const struct resv_log *l = m->resv;
    FILE *f = fopen(path, "w");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    fprintf(f, "time_us,domain,domid,tot_pages,tot_kb,max_kb,target_kb\n");
    for (int i = 0; i < m->ndoms; i++)
        if (l->shown[i])
            fprintf(f, "0.000,%s,%u,%llu,%llu,%llu,%llu\n", m->doms[i]->name, m->doms[i]->domid,
                    (unsigned long long)m->doms[i]->init_pages,
                    (unsigned long long)(m->doms[i]->init_pages * KB_PER_PAGE),
                    (unsigned long long)(m->doms[i]->nr_pages * KB_PER_PAGE),
                    (unsigned long long)(m->doms[i]->init_pages * KB_PER_PAGE));
    for (size_t k = 0; k < l->n; k++) {
        const struct resv_rec *r = &l->rec[k];
        const struct domain *d = m->doms[r->dom];
        fprintf(f, "%.3f,%s,%u,%llu,%llu,%llu,%llu\n", (double)r->t / PS_PER_US, d->name, d->domid,
                (unsigned long long)r->tot_pages, (unsigned long long)(r->tot_pages * KB_PER_PAGE),
                (unsigned long long)(r->max_pages * KB_PER_PAGE), (unsigned long long)r->target_kb);
    }
    for (int i = 0; i < m->ndoms; i++)
        if (l->shown[i])
            fprintf(f, "%.3f,%s,%u,%llu,%llu,%llu,%llu\n", (double)end / PS_PER_US,
                    m->doms[i]->name, m->doms[i]->domid, (unsigned long long)m->doms[i]->tot_pages,
                    (unsigned long long)(m->doms[i]->tot_pages * KB_PER_PAGE),
                    (unsigned long long)(m->doms[i]->max_pages * KB_PER_PAGE),
                    (unsigned long long)l->target_kb[i]);
    if (fclose(f) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

int balloon_report(struct machine *m, FILE *out, const char *csv, char *err, size_t errlen)
{
    if (!m->resv)
        return 0; /* no target set and no reservation changed */
    simtime_t end = evq_now(&m->q);
    if (out)
        print_table(m, out, end);
    return csv && csv[0] ? write_csv(m, csv, end, err, errlen) : 0;
}
