/*
 * Scenario run driver: scenario -> trace -> machine -> report.
 *
 * Host wall-clock time is read only to print how long the run took and to
 * pace the progress line; it never influences the simulation.
 */
#include "machine.h"
#include "vtd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <xen/sched.h>

#include "measure.h"
#include "run.h"
#include "stats.h"
#include "view.h"

static double host_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static const char *search_path(const char *env, const char *builtin, char *buf, size_t len)
{
    const char *e = getenv(env);
    if (e && *e)
        snprintf(buf, len, "%s:%s", e, builtin);
    else
        snprintf(buf, len, "%s", builtin);
    return buf;
}

static int load(const struct run_opts *o, struct scenario *sc)
{
    char err[1024], ipath[2048], ppath[2048];
    struct sc_load_opts lo = {
        .sets = o->sets,
        .nsets = o->nsets,
        .have_seed = o->have_seed,
        .seed = o->seed,
        .out_dir = o->out_dir,
        .rw_disks = o->rw_disks,
        .image_path = search_path("HOPSIM_IMAGE_PATH", HOPSIM_GUEST_DIR, ipath, sizeof(ipath)),
        .profile_path =
            search_path("HOPSIM_PROFILE_PATH", HOPSIM_PROFILE_DIR, ppath, sizeof(ppath)),
    };
    if (scenario_load(sc, o->scenario, &lo, err, sizeof(err)) < 0) {
        fprintf(stderr, "hopsim: %s\n", err);
        return -1;
    }
    return 0;
}

/*
 * What the progress line measures the run against, chosen once per run from
 * what the scenario itself says about its end (most definite first):
 * - scenario { ends_at = "time_limit" }: the run ends at the time limit, so
 *   virtual time over the limit;
 * - an expectation "requests == N" (or >= N, > N): requests completed over N;
 * - the domains' own "requests=N" arguments (the fio images issue that many):
 *   requests completed over their sum;
 * - otherwise nothing: the run ends when every domain has shut down, which
 *   the time limit only bounds, so no percentage and no ETA are shown.
 */
enum goal_kind { GOAL_NONE, GOAL_TIME, GOAL_REQUESTS };
static struct {
    enum goal_kind kind;
    uint64_t target; /* ps (GOAL_TIME) or requests */
    double t0;       /* host time at the start of the run */
    double last;     /* host time of the last line */
} goal;

static uint64_t cmdline_requests(const char *cmdline)
{
    const char *p = cmdline;
    while ((p = strstr(p, "requests="))) {
        if (p == cmdline || p[-1] == ' ')
            return strtoull(p + 9, NULL, 0);
        p += 9;
    }
    return 0;
}

static void progress_goal(const struct scenario *sc, double t0)
{
    goal.kind = GOAL_NONE;
    goal.t0 = t0;
    goal.last = 0;
    if (sc->ends_at_limit && sc->time_limit_ps) {
        goal.kind = GOAL_TIME;
        goal.target = sc->time_limit_ps;
        return;
    }
    for (int i = 0; i < sc->nexpects; i++) {
        const struct sc_expect *e = &sc->expects[i];
        if (strcmp(e->metric, "requests") != 0 || e->value < 1 ||
            (e->op != EXP_EQ && e->op != EXP_GE && e->op != EXP_GT))
            continue;
        goal.kind = GOAL_REQUESTS;
        goal.target = (uint64_t)e->value + (e->op == EXP_GT);
        return;
    }
    uint64_t asked = 0;
    for (int i = 0; i < sc->ndomains; i++)
        asked += cmdline_requests(sc->domains[i].cmdline);
    if (asked) {
        goal.kind = GOAL_REQUESTS;
        goal.target = asked;
    }
}

/* One progress line; at most every half second of host time unless `last` (the final one). */
static void progress_line(struct machine *m, bool last)
{
    double now = host_now();
    if (now - goal.last < 0.5 && !last)
        return;
    goal.last = now;
    uint64_t done = trace_requests_done(m->tr);
    double f = 0;
    char what[64] = "";
    if (goal.kind == GOAL_TIME) {
        f = (double)evq_now(&m->q) / (double)goal.target;
        snprintf(what, sizeof what, " of %.3f ms", (double)goal.target / PS_PER_MS);
    } else if (goal.kind == GOAL_REQUESTS) {
        f = (double)done / (double)goal.target;
        snprintf(what, sizeof what, " of %llu", (unsigned long long)goal.target);
    }
    f = f > 1 ? 1 : f;
    char eta[64] = "";
    if (goal.kind != GOAL_NONE && f > 0)
        snprintf(eta, sizeof eta, "  %.0f%%  ETA %.0f s", 100 * f, (now - goal.t0) * (1 - f) / f);
    else if (goal.kind != GOAL_NONE)
        snprintf(eta, sizeof eta, "  0%%");
    fprintf(stderr, "\rhopsim: t=%.3f ms%s  events=%llu  requests=%llu%s%s   ",
            (double)evq_now(&m->q) / PS_PER_MS, goal.kind == GOAL_TIME ? what : "",
            (unsigned long long)m->q.fired, (unsigned long long)done,
            goal.kind == GOAL_REQUESTS ? what : "", eta);
}

static void progress(struct machine *m)
{
    progress_line(m, false);
}

static void collect(struct machine *m, struct run_result *r)
{
    r->sim_time = evq_now(&m->q);
    r->events = m->q.fired;
    r->engine_runs = m->engine_runs;
    r->engine_fast_traps = m->engine_fast_traps;
    r->engine_switches = m->engine_switches;
    r->tlb_fills = m->tlb_fills;
    for (int i = 0; i < m->ndoms; i++) {
        const struct domain *d = m->doms[i];
        r->checks_pass += d->checks_pass;
        r->checks_fail += d->checks_fail;
        if (d->dead && d->shutdown_reason == SHUTDOWN_crash) {
            r->crashed++;
            r->privileged_crashed += d->privileged;
        }
    }
    r->requests_done = trace_requests_done(m->tr);
    for (int h = HOP_H1; h <= HOP_H8; h++)
        r->have_hop[h] = trace_stat_hop(m->tr, h, &r->hop[h]);
    r->have_request = trace_stat_request(m->tr, &r->request);
    trace_request_window(m->tr, &r->io_first, &r->io_last);
    if (!trace_request_window_all(m->tr, &r->all_first, &r->all_last, &r->all_done))
        r->all_first = r->all_last = r->all_done = 0;
    platform_net_stats(m, &r->net);
    r->iommu_faults = vtd_faults(m);
    r->restarts = m->restarts;
    for (int i = 0; i < m->ndoms; i++) {
        const struct domain *d = m->doms[i];
        bool crashed = d->dead && d->shutdown_reason != SHUTDOWN_poweroff;
        r->doms_crashed += crashed;
        r->doms_running += !d->dead;
        char *list = crashed ? r->crashed_names : d->dead ? r->poweroff_names : NULL;
        size_t len = list ? strlen(list) : 0, cap = sizeof(r->crashed_names);
        if (list && len + strlen(d->name) + 3 < cap)
            snprintf(list + len, cap - len, "%s%s", len ? ", " : "", d->name);
    }
    r->foreign_dma_writes = vtd_foreign_writes(m);
    memcpy(r->probe, m->probe, sizeof(r->probe));
    machine_cpu_stats(m, &r->cpu);
}

static double pct(simtime_t part, simtime_t whole)
{
    return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

/* Busy/idle per pCPU over the run; CPU time per request over the request window. */
static void report_cpu(struct machine *m, const struct run_result *r)
{
    const struct machine_cpu_stats *c = &r->cpu;
    for (int i = 0; i < c->npcpus; i++) {
        const struct cpuacct_stats *p = &c->pcpu[i];
        printf("cpu%-3d busy %6.2f%% (guest %6.2f%%, hypervisor %6.2f%%), idle %6.2f%% of %.3f "
               "us; request window: %6.2f%% busy\n",
               i, pct(p->busy, p->elapsed), pct(p->guest, p->elapsed), pct(p->hv, p->elapsed),
               pct(p->idle, p->elapsed), (double)p->elapsed / PS_PER_US, 100.0 * c->util[i]);
    }
    for (int i = 0; i < m->ndoms; i++)
        printf("cpu time %-12s %12.3f us\n", m->doms[i]->name,
               (double)m->doms[i]->cpu_ps / PS_PER_US);
    if (!c->requests)
        return;
    double n = (double)c->requests * PS_PER_US;
    printf("cpu per request (%llu requests in %.3f us): frontend %.3f us, backend %.3f us, "
           "hypervisor %.3f us",
           (unsigned long long)c->requests, (double)c->window / PS_PER_US,
           (double)c->role_ps[ROLE_FRONT] / n, (double)c->role_ps[ROLE_BACK] / n,
           (double)c->hv_ps / n);
    if (c->role_ps[ROLE_OTHER])
        printf(", other domains %.3f us", (double)c->role_ps[ROLE_OTHER] / n);
    printf("\n");
}

static void report(struct machine *m, const struct scenario *sc, struct run_result *r)
{
    printf("scenario %s: simulated %.3f us, %llu events, %llu hypercalls, host %.2f s\n", sc->name,
           (double)r->sim_time / PS_PER_US, (unsigned long long)r->events,
           (unsigned long long)m->total_hypercalls, r->host_seconds);
    for (int i = 0; i < m->ndoms; i++) {
        struct domain *d = m->doms[i];
        printf("  d%-3u %-12s %-9s hypercalls=%llu guest_errors=%llu\n", d->domid, d->name,
               !d->dead                                  ? "running"
               : d->shutdown_reason == SHUTDOWN_poweroff ? "poweroff"
                                                         : "crashed",
               (unsigned long long)d->hypercalls, (unsigned long long)d->guest_errors);
    }
    for (int i = 0; i < m->ndoms; i++) {
        const struct domain *d = m->doms[i];
        char sha[65], pcr[65];
        if (d->booted_from_disk)
            printf("boot: %s: kernel image %u bytes read from its disk in %.3f us\n", d->name,
                   d->boot.length, (double)d->boot.done / PS_PER_US);
        if (!d->booted_from_flash)
            continue;
        const struct efirt_handoff *h = &d->boot.rt;
        simtime_t read_end = h->done ? h->read_done : d->boot.done;
        fwboot_hex(d->boot.sha256, sha);
        fwboot_hex(d->boot.pcr0, pcr);
        printf("boot: %s: runtime image %u bytes at flash 0x%x read over SPI in %.3f us "
               "(%02Xh @ %.1f MHz)\n",
               d->name, d->boot.length, d->boot.offset,
               (double)(read_end - d->boot.start) / PS_PER_US, d->boot.opcode,
               d->boot.clock_hz / 1e6);
        printf("boot: %s: measured sha256 %s\nboot: PCR0 %s\n", d->name, sha, pcr);
        if (h->done) {
            printf("boot: %s: loaded into EfiRuntimeServicesCode/Data: %llu bytes copied, %llu "
                   "zeroed in %.3f us (memcpy_bw), running at %.3f us; %u of %d services in the "
                   "image, the rest %s\n",
                   d->name, (unsigned long long)h->copied_bytes,
                   (unsigned long long)(h->loaded_bytes - h->copied_bytes),
                   (double)(d->boot.done - h->read_done) / PS_PER_US,
                   (double)d->boot.done / PS_PER_US, h->implemented, EFI_RT_NSERVICES,
                   EFIRT_UNSUPPORTED_SYMBOL);
            printf("boot: %s: runtime services table at 0x%llx, CRC32 0x%08x ok; "
                   "ExitBootServices (map key %llu, %u %s); SetVirtualAddressMap 1:1, %u runtime "
                   "regions\n",
                   d->name, (unsigned long long)h->runtime_services, h->rs_crc32,
                   (unsigned long long)h->map_key, h->ebs_calls - 1,
                   h->ebs_calls == 2 ? "retry" : "retries", h->runtime_regions);
        }
        if (d->xip)
            printf("xip: %s executed in place from flash: %llu cache-line fills\n", d->name,
                   (unsigned long long)d->vcpus[0]->xip_fills);
    }
    platform_blk_report(m, stdout);
    platform_net_report(m, stdout);
    vtd_report(m, stdout);
    report_cpu(m, r);
    if (r->checks_pass || r->checks_fail)
        printf("guest checks: %llu passed, %llu failed\n", (unsigned long long)r->checks_pass,
               (unsigned long long)r->checks_fail);
}

int run_check(const struct run_opts *o)
{
    static struct scenario sc;
    return load(o, &sc) < 0 ? 2 : 0;
}

int run_scenario(const struct run_opts *o, struct run_result *r)
{
    static struct scenario sc; /* large: keep it off the stack */
    struct machine m;
    char err[1024];
    memset(r, 0, sizeof(*r));
    if (load(o, &sc) < 0)
        return 2;
    if (o->pcap)
        snprintf(sc.output.pcap, sizeof(sc.output.pcap), "%s", o->pcap);
    struct trace_opts to = {
        .json_path =
            o->trace_json ? o->trace_json : (sc.output.trace_json[0] ? sc.output.trace_json : NULL),
        .csv_path =
            o->trace_csv ? o->trace_csv : (sc.output.trace_csv[0] ? sc.output.trace_csv : NULL),
        .title = sc.name};
    struct view_live *view = NULL;
    const struct view_api *vapi = NULL;
    if (o->view) {
        struct view_live_opts vo = {
            .title = sc.name, .speed = o->view_speed, .close_at_end = o->view_close};
        if (!(vapi = view_api_load(err, sizeof(err))) ||
            !(view = vapi->live_open(&vo, err, sizeof(err)))) {
            fprintf(stderr, "hopsim: %s\n", err);
            return 2;
        }
        to.listen = vapi->live_listen;
        to.listen_ctx = view;
    }
    struct trace *tr = trace_open(&to, err, sizeof(err));
    if (!tr) {
        bool mine = (!o->trace_json && sc.output.trace_json[0]) ||
                    (!o->trace_csv && sc.output.trace_csv[0]);
        if (mine && sc.output.line) /* a path the scenario named: its declaration */
            fprintf(stderr, "hopsim: %s:%d: output: %s\n", sc.path, sc.output.line, err);
        else
            fprintf(stderr, "hopsim: %s\n", err);
        if (view)
            vapi->live_close(view);
        return 2;
    }
    double t0 = host_now();
    int rc = 0;
    if (machine_create(&m, &sc, tr, o->quiet, err, sizeof(err)) < 0) {
        if (!o->pcap && sc.output.line && !strncmp(err, "pcap: ", 6))
            /* a capture path the scenario named: its declaration */
            fprintf(stderr, "hopsim: %s:%d: output: %s\n", sc.path, sc.output.line, err);
        else
            fprintf(stderr, "hopsim: %s\n", err);
        rc = 2;
        goto out;
    }
    if (o->progress) {
        progress_goal(&sc, t0);
        m.progress = progress;
    }
    machine_run(&m);
    if (o->progress) { /* where the run ended (a terminal sees it only until it is cleared) */
        progress_line(&m, true);
        fprintf(stderr, "\r%110s\r", "");
    }
    r->host_seconds = host_now() - t0;
    collect(&m, r);
    report(&m, &sc, r);
    if (balloon_report(&m, o->quiet ? NULL : stdout, sc.output.reservation_csv, err, sizeof(err)) <
        0) {
        fprintf(stderr, "hopsim: %s:%d: output: reservation_csv: %s\n", sc.path, sc.output.line,
                err);
        rc = 1;
    }
    if (sc.output.summary && !o->no_summary)
        trace_print_summary(tr, stdout);
    char failure[sizeof m.failure + 64] = "";
    if (m.failure[0])
        snprintf(failure, sizeof failure, "%s", m.failure);
    else if (r->net.peer_bad_payload)
        snprintf(failure, sizeof failure, "the peer received %llu frame(s) with a bad payload",
                 (unsigned long long)r->net.peer_bad_payload);
    else if (r->checks_fail)
        snprintf(failure, sizeof failure, "%llu guest check(s) failed",
                 (unsigned long long)r->checks_fail);
    if (failure[0]) {
        fprintf(stderr, "hopsim: run failed: %s\n", failure);
        rc = 1;
    }
    if (sc.nexpects || o->stats) {
        struct measures ms = {0};
        measure_run(&ms, &m, r);
        int bad = expect_report(sc.expects, sc.nexpects, &ms, stdout);
        if (bad) {
            fprintf(stderr, "hopsim: run failed: %d of %d expectation(s) not met\n", bad,
                    sc.nexpects);
            if (!failure[0])
                snprintf(failure, sizeof failure, "%d of %d expectation(s) not met", bad,
                         sc.nexpects);
            rc = 1;
        }
        struct stats_run st = {.sc = &sc,
                               .ro = o,
                               .ms = &ms,
                               .exit_code = rc,
                               .failure = failure,
                               .host_seconds = r->host_seconds,
                               .engine_runs = r->engine_runs,
                               .engine_fast_traps = r->engine_fast_traps,
                               .engine_switches = r->engine_switches,
                               .tlb_fills = r->tlb_fills};
        if (o->stats && stats_write(o->stats, &st, err, sizeof(err)) < 0) {
            fprintf(stderr, "hopsim: %s\n", err);
            rc = rc ? rc : 1;
        }
        measures_free(&ms);
    }
    if (platform_pcap_close(&m, err, sizeof(err)) < 0) {
        fprintf(stderr, "hopsim: %s\n", err);
        rc = rc ? rc : 1;
    }
out:
    if (view)
        vapi->live_close(view); /* the run is over: the window stays until closed */
    machine_destroy(&m);
    if (trace_close(tr, err, sizeof(err)) < 0) {
        fprintf(stderr, "hopsim: %s\n", err);
        rc = rc ? rc : 1;
    }
    return rc;
}
