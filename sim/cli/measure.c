/*
 * Measurements of a finished run (measure.h). Every name added here must
 * match a row of metric_defs[] (expect.c); test_expect checks that it does.
 */
#include "measure.h"

#include <stdio.h>
#include <string.h>

#include <xen/sched.h>

static simtime_t window(const struct run_result *r)
{
    return r->io_last > r->io_first ? r->io_last - r->io_first : 0;
}

double run_iops(const struct run_result *r)
{
    simtime_t w = window(r);
    return w ? (double)r->requests_done * 1e12 / (double)w : 0.0;
}

double run_iops_all_active(const struct run_result *r)
{
    simtime_t w = r->all_last > r->all_first ? r->all_last - r->all_first : 0;
    return w ? (double)r->all_done * 1e12 / (double)w : 0.0;
}

static void add_stat(struct measures *ms, const char *prefix, const struct trace_stat *s)
{
    char name[METRIC_NAME];
    snprintf(name, sizeof name, "%s.count", prefix);
    measure_add(ms, name, UNIT_COUNT, (double)s->count);
    if (!s->count)
        return;
    snprintf(name, sizeof name, "%s.mean", prefix);
    measure_add(ms, name, UNIT_TIME, (double)s->sum / (double)s->count);
    snprintf(name, sizeof name, "%s.p50", prefix);
    measure_add(ms, name, UNIT_TIME, (double)s->p50);
    snprintf(name, sizeof name, "%s.p99", prefix);
    measure_add(ms, name, UNIT_TIME, (double)s->p99);
    snprintf(name, sizeof name, "%s.min", prefix);
    measure_add(ms, name, UNIT_TIME, (double)s->min);
    snprintf(name, sizeof name, "%s.max", prefix);
    measure_add(ms, name, UNIT_TIME, (double)s->max);
}

static const char *dom_state(const struct domain *d)
{
    return !d->dead ? "running" : d->shutdown_reason == SHUTDOWN_poweroff ? "poweroff" : "crashed";
}

static void measure_domains(struct measures *ms, const struct machine *m)
{
    char name[METRIC_NAME];
    int crashed = 0;
    for (int i = 0; i < m->ndoms; i++) {
        const struct domain *d = m->doms[i];
        crashed += d->dead && d->shutdown_reason != SHUTDOWN_poweroff;
        snprintf(name, sizeof name, "dom.%s.state", d->name);
        measure_text(ms, name, dom_state(d));
        snprintf(name, sizeof name, "dom.%s.hypercalls", d->name);
        measure_add(ms, name, UNIT_COUNT, (double)d->hypercalls);
        snprintf(name, sizeof name, "dom.%s.guest_errors", d->name);
        measure_add(ms, name, UNIT_COUNT, (double)d->guest_errors);
        snprintf(name, sizeof name, "dom.%s.checks_passed", d->name);
        measure_add(ms, name, UNIT_COUNT, (double)d->checks_pass);
        snprintf(name, sizeof name, "dom.%s.checks_failed", d->name);
        measure_add(ms, name, UNIT_COUNT, (double)d->checks_fail);
        snprintf(name, sizeof name, "dom.%s.memory", d->name);
        measure_add(ms, name, UNIT_BYTES, (double)(d->tot_pages * PAGE_SIZE));
        snprintf(name, sizeof name, "dom.%s.pages_released", d->name);
        measure_add(ms, name, UNIT_COUNT, (double)d->pages_released);
        snprintf(name, sizeof name, "dom.%s.pages_populated", d->name);
        measure_add(ms, name, UNIT_COUNT, (double)d->pages_populated);
    }
    measure_add(ms, "domains_crashed", UNIT_COUNT, crashed);
}

static void measure_net(struct measures *ms, const struct run_result *r)
{
    const struct platform_net_stats *n = &r->net;
    simtime_t w = window(r);
    if (!n->nics)
        return;
    measure_add(ms, "net.frames_out", UNIT_COUNT, (double)n->wire_frames[0]);
    measure_add(ms, "net.frames_in", UNIT_COUNT, (double)n->wire_frames[1]);
    measure_add(ms, "net.bytes_out", UNIT_BYTES, (double)n->wire_bytes[0]);
    measure_add(ms, "net.bytes_in", UNIT_BYTES, (double)n->wire_bytes[1]);
    measure_add(ms, "net.throughput_out", UNIT_BITS,
                w ? (double)n->wire_bytes[0] * 8.0 * 1e12 / (double)w : 0.0);
    measure_add(ms, "net.throughput_in", UNIT_BITS,
                w ? (double)n->wire_bytes[1] * 8.0 * 1e12 / (double)w : 0.0);
    measure_add(ms, "net.bad_payload", UNIT_COUNT, (double)n->peer_bad_payload);
}

void measure_run(struct measures *ms, const struct machine *m, const struct run_result *r)
{
    char name[METRIC_NAME];
    bool failed = m->failure[0] || r->net.peer_bad_payload || r->checks_fail;
    measure_text(ms, "status", failed ? "failed" : "ok");
    measure_add(ms, "requests", UNIT_COUNT, (double)r->requests_done);
    measure_add(ms, "requests_inflight", UNIT_COUNT, (double)trace_requests_inflight(m->tr));
    if (r->have_request)
        add_stat(ms, "request", &r->request);
    for (int h = HOP_H1; h <= HOP_H8; h++) {
        static const struct trace_stat none;
        add_stat(ms, trace_hop_name(h), r->have_hop[h] ? &r->hop[h] : &none); /* count 0 */
    }
    for (int k = 1; k < SPAN_KIND_COUNT; k++) {
        struct trace_stat s;
        if (k == SPAN_HOP)
            continue;
        if (!trace_stat_kind(m->tr, k, &s))
            memset(&s, 0, sizeof s); /* none: a count of 0 an expectation can name */
        snprintf(name, sizeof name, "span.%s", trace_kind_name(k));
        add_stat(ms, name, &s);
    }
    measure_add(ms, "iops", UNIT_RATE, run_iops(r));
    measure_add(ms, "iops_all_active", UNIT_RATE, run_iops_all_active(r));
    measure_add(ms, "guest_checks.passed", UNIT_COUNT, (double)r->checks_pass);
    measure_add(ms, "guest_checks.failed", UNIT_COUNT, (double)r->checks_fail);
    measure_add(ms, "sim_time", UNIT_TIME, (double)r->sim_time);
    measure_add(ms, "events", UNIT_COUNT, (double)r->events);
    measure_add(ms, "hypercalls", UNIT_COUNT, (double)m->total_hypercalls);
    measure_domains(ms, m);
    measure_net(ms, r);
}
