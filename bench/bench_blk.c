/*
 * Block-path benchmarks, run on demand (`cmake --build build --target
 * bench`). Host cost is the process's CPU time per run (bench.h), best of
 * three interleaved runs; on a shared VM even CPU time varies by +-20%
 * between invocations, so read the ratios over several. Measured side by
 * side in one run:
 *  1. simulated requests per host CPU second through the whole xen-dom0
 *     path (blkfront -> hypervisor -> blkback -> SAS driver -> HBA -> SSD
 *     and back), tracing off, JSON, JSON + CSV; the ratio is the tracing
 *     overhead (target: at most 10% with both); and the same for native
 *     with JSON (targets: xen-dom0 with JSON >= 25,000, native >= 60,000);
 *     the JSON trace also written to /dev/null, which splits the writer's
 *     cost into formatting and the kernel's file write; records, bytes and
 *     host CPU per trace record; engine starts per request;
 *  2. host CPU per request with 64 domUs sharing one backend against 1
 *     domU, the same total number of requests (target: within 1.25x), and
 *     the same 64 domUs each on an engine of its own (HOPSIM_ENGINE_SHARE=0:
 *     what sharing one engine per code image saves, docs/host-speed.md);
 *  3. host time as the number of domUs grows (1, 4, 16, 64) and as iodepth
 *     grows (1, 4, 16, 32).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"

struct point {
    double host_s;
    uint64_t requests;
    double sim_us;
    long json_bytes, csv_bytes;
    long records; /* CSV rows: one per span */
    uint64_t engine_runs, in_engine;
    uint64_t switches, fills; /* shared-engine domain switches, TLB fills */
};

static long file_bytes(const char *path)
{
    struct stat st;
    return path && stat(path, &st) == 0 ? (long)st.st_size : 0;
}

/* Rows of a CSV trace (lines after the header). */
static long csv_rows(const char *path)
{
    FILE *f = path ? fopen(path, "rb") : NULL;
    if (!f)
        return 0;
    static char buf[1 << 16];
    long lines = 0;
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
        for (size_t i = 0; i < n; i++)
            lines += buf[i] == '\n';
    fclose(f);
    return lines > 0 ? lines - 1 : 0;
}

static void set(struct run_opts *o, const char *k, long v)
{
    char text[24];
    snprintf(text, sizeof(text), "%ld", v);
    bench_set(o, k, text);
}

enum tracing { TRACE_OFF, TRACE_JSON, TRACE_BOTH, TRACE_JSON_NULL };

static int run_point_arch(const char *arch, int domus, int iodepth, int requests,
                          enum tracing traced, struct point *p)
{
    static char disk[64];
    struct run_opts o = {.scenario = HOPSIM_SOURCE_DIR "/workloads/scenarios/blk-randread.lua",
                         .quiet = true,
                         .no_summary = true};
    snprintf(disk, sizeof(disk), "/tmp/hopsim-bench-%d.img", (int)getpid());
    bench_set(&o, "arch", arch);
    set(&o, "domus", domus);
    set(&o, "iodepth", iodepth);
    set(&o, "requests", requests);
    bench_set(&o, "disk_type", "ssd");
    bench_set(&o, "disk", disk);
    if (traced == TRACE_JSON_NULL)
        o.trace_json = "/dev/null";
    else if (traced != TRACE_OFF)
        o.trace_json = "/tmp/hopsim-bench-blk.json";
    if (traced == TRACE_BOTH)
        o.trace_csv = "/tmp/hopsim-bench-blk.csv";
    struct run_result r;
    double cpu;
    int rc = bench_run(&o, &r, &cpu);
    remove(disk);
    bool real_json = o.trace_json && traced != TRACE_JSON_NULL;
    p->json_bytes = real_json ? file_bytes(o.trace_json) : 0;
    p->csv_bytes = file_bytes(o.trace_csv);
    p->records = csv_rows(o.trace_csv);
    p->engine_runs = r.engine_runs;
    p->in_engine = r.engine_fast_traps;
    p->switches = r.engine_switches;
    p->fills = r.tlb_fills;
    if (real_json)
        remove(o.trace_json);
    if (o.trace_csv)
        remove(o.trace_csv);
    p->host_s = cpu;
    p->requests = r.requests_done ? r.requests_done : 1;
    p->sim_us = (double)r.sim_time / 1e6;
    return rc;
}

static int run_point(int domus, int iodepth, int requests, enum tracing traced, struct point *p)
{
    return run_point_arch("xen-dom0", domus, iodepth, requests, traced, p);
}

static int bench_tracing(int requests)
{
    static const char *const names[] = {"tracing off", "JSON trace", "JSON + CSV traces",
                                        "JSON to /dev/null"};
    struct point best[4] = {{0}}, p;
    for (int i = 0; i < 3; i++) /* interleaved, best of three each */
        for (int t = TRACE_OFF; t <= TRACE_JSON_NULL; t++) {
            if (run_point(1, 4, requests, (enum tracing)t, &p) != 0)
                return -1;
            if (!best[t].host_s || p.host_s < best[t].host_s)
                best[t] = p;
        }
    printf("xen-dom0 random 4 KiB reads from an SSD, iodepth 4, %llu requests (best of 3)\n",
           (unsigned long long)best[0].requests);
    for (int t = TRACE_OFF; t <= TRACE_JSON_NULL; t++)
        printf("  %-20s %9.0f requests / host s   overhead %5.1f %%\n", names[t],
               best[t].requests / best[t].host_s, (best[t].host_s / best[0].host_s - 1.0) * 100.0);
    printf("  (targets: with JSON >= 25000 requests / host s; JSON + CSV cost at most 10 %%)\n");
    const struct point *b = &best[TRACE_BOTH];
    double recs = b->records > 0 ? (double)b->records : 1.0;
    printf("  trace bytes per request: JSON %.0f, CSV %.0f\n", (double)b->json_bytes / b->requests,
           (double)b->csv_bytes / b->requests);
    printf(
        "  trace records (spans) per request %.1f; per record: JSON %.0f bytes, CSV %.0f bytes\n",
        recs / b->requests, b->json_bytes / recs, b->csv_bytes / recs);
    printf("  host CPU per record: JSON %.0f ns (formatting %.0f ns, file write %.0f ns), CSV %.0f "
           "ns\n",
           (best[TRACE_JSON].host_s - best[0].host_s) / recs * 1e9,
           (best[TRACE_JSON_NULL].host_s - best[0].host_s) / recs * 1e9,
           (best[TRACE_JSON].host_s - best[TRACE_JSON_NULL].host_s) / recs * 1e9,
           (b->host_s - best[TRACE_JSON].host_s) / recs * 1e9);
    printf("  engine starts per request %.2f (%.2f hypercalls per request handled in the engine)\n",
           (double)best[0].engine_runs / best[0].requests,
           (double)best[0].in_engine / best[0].requests);
    struct point nat = {0};
    for (int i = 0; i < 3; i++) {
        if (run_point_arch("native", 1, 4, requests, TRACE_JSON, &p) != 0)
            return -1;
        if (!nat.host_s || p.host_s < nat.host_s)
            nat = p;
    }
    printf("native, same requests, JSON trace (best of 3)\n");
    printf("  %-20s %9.0f requests / host s   (target >= 60000)\n", "JSON trace",
           nat.requests / nat.host_s);
    return 0;
}

/*
 * Host CPU per request, 64 domUs against 1: the marginal cost, from runs of
 * N and 2N requests per domU (the difference leaves out boot and the
 * xenstore handshake, which grow with the number of domains, not requests).
 * Also per marginal request: shared-engine domain switches and TLB fills.
 */
struct marg {
    double us, switches, fills;
};

static int marginal(int domus, int per, struct marg *out)
{
    struct point a = {0}, b = {0}, p;
    for (int i = 0; i < 3; i++) {
        if (run_point(domus, 4, per, TRACE_OFF, &p) != 0)
            return -1;
        if (!a.host_s || p.host_s < a.host_s)
            a = p;
        if (run_point(domus, 4, 2 * per, TRACE_OFF, &p) != 0)
            return -1;
        if (!b.host_s || p.host_s < b.host_s)
            b = p;
    }
    double n = (double)(b.requests - a.requests);
    *out = (struct marg){.us = (b.host_s - a.host_s) / n * 1e6,
                         .switches = (double)(b.switches - a.switches) / n,
                         .fills = (double)(b.fills - a.fills) / n};
    return 0;
}

static int bench_domus(int requests)
{
    /* at least 200 per domU: with fewer, what is left of each engine's warm-up (translation,
     * first touches of its memory) and the run-to-run noise swamp the difference */
    int per = requests / 64 > 200 ? requests / 64 : 200;
    struct marg c1, c64, own;
    if (marginal(1, per * 64, &c1) < 0 || marginal(64, per, &c64) < 0)
        return -1;
    setenv("HOPSIM_ENGINE_SHARE", "0", 1);
    int rc = marginal(64, per, &own);
    unsetenv("HOPSIM_ENGINE_SHARE");
    if (rc < 0)
        return -1;
    printf("host CPU per request (marginal: runs of N and 2N requests, %d more requests)\n",
           per * 64);
    printf("  1 domU   %8.1f us / request                  %5.2f engine switches, %5.1f TLB "
           "fills / request\n",
           c1.us, c1.switches, c1.fills);
    printf("  64 domUs %8.1f us / request   ratio %.2fx   %5.2f engine switches, %5.1f TLB fills / "
           "request   (target <= 1.25x)\n",
           c64.us, c64.us / c1.us, c64.switches, c64.fills);
    printf(
        "  64 domUs, an engine each %8.1f us / request   ratio %.2fx   %5.1f TLB fills / request\n",
        own.us, own.us / c1.us, own.fills);
    return 0;
}

static int bench_scaling(int requests)
{
    static const int domus[] = {1, 4, 16, 64};
    static const int depths[] = {1, 4, 16, 32};
    struct point p;
    printf("host time vs domUs sharing one backend (%d requests each, iodepth 4)\n", requests);
    for (size_t i = 0; i < sizeof(domus) / sizeof(domus[0]); i++) {
        if (run_point(domus[i], 4, requests, TRACE_OFF, &p) != 0)
            return -1;
        printf("  %3d domUs  %8llu requests  %8.2f host s  %9.0f requests / host s\n", domus[i],
               (unsigned long long)p.requests, p.host_s, p.requests / p.host_s);
    }
    printf("host time vs iodepth (1 domU, %d requests)\n", requests * 4);
    for (size_t i = 0; i < sizeof(depths) / sizeof(depths[0]); i++) {
        if (run_point(1, depths[i], requests * 4, TRACE_OFF, &p) != 0)
            return -1;
        printf("  iodepth %2d  %8.2f host s  %9.0f requests / host s  %9.1f simulated us\n",
               depths[i], p.host_s, p.requests / p.host_s, p.sim_us);
    }
    return 0;
}

int main(int argc, char **argv)
{
    int requests = argc > 1 ? atoi(argv[1]) : 2000;
    const char *only = argc > 2 ? argv[2] : NULL; /* tracing | domus | scaling: that part alone */
    bool all = !only;
    if (only && strcmp(only, "tracing") && strcmp(only, "domus") && strcmp(only, "scaling")) {
        fprintf(stderr, "usage: bench_blk [REQUESTS [tracing|domus|scaling]]\n");
        return 2;
    }
    if (((all || !strcmp(only, "tracing")) && bench_tracing(requests) < 0) ||
        ((all || !strcmp(only, "domus")) && bench_domus(requests) < 0) ||
        ((all || !strcmp(only, "scaling")) &&
         bench_scaling(requests / 10 > 0 ? requests / 10 : 1) < 0)) {
        fprintf(stderr, "bench_blk: a run failed\n");
        return 1;
    }
    return 0;
}
