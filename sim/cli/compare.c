/*
 * `hopsim compare`: runs one scenario under each architecture in turn and
 * prints one table. Each run is a full, independent simulation; the only
 * difference between them is the `arch` parameter, which the scenario's
 * placement library turns into domains, images and device ownership.
 */
#include "compare.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "chart.h"
#include "measure.h"
#include "simtime.h"

static const char *base_name(const char *path);

static double us(uint64_t ps)
{
    return (double)ps / PS_PER_US;
}

/* Wire throughput in one direction over the request window, Mbit/s (frames without FCS). */
static double mbps(const struct run_result *r, int side)
{
    simtime_t w = r->io_last > r->io_first ? r->io_last - r->io_first : 0;
    return w ? (double)r->net.wire_bytes[side] * 8.0 * 1e6 / (double)w : 0.0;
}

static double wire_pps(const struct run_result *r)
{
    simtime_t w = r->io_last > r->io_first ? r->io_last - r->io_first : 0;
    uint64_t frames = r->net.wire_frames[0] + r->net.wire_frames[1];
    return w ? (double)frames * 1e12 / (double)w : 0.0;
}

static double mean_us(const struct trace_stat *s)
{
    return s->count ? us(s->sum) / (double)s->count : 0.0;
}

static void print_row_hops(const struct compare_opts *o, const struct run_result *r, int hop)
{
    bool any = false;
    for (int a = 0; a < o->narch; a++)
        any |= r[a].have_hop[hop];
    if (!any)
        return;
    printf("H%d p50 / p99 (us)     ", hop);
    for (int a = 0; a < o->narch; a++) {
        if (r[a].have_hop[hop])
            printf(" %9.3f /%9.3f", us(r[a].hop[hop].p50), us(r[a].hop[hop].p99));
        else
            printf(" %20s", "-");
    }
    printf("\n");
}

static double cpu_per_req(const struct run_result *r, simtime_t ps)
{
    return r->cpu.requests ? us(ps) / (double)r->cpu.requests : 0.0;
}

/* CPU time per request by who spent it, and each pCPU's busy share, over the request window. */
static void print_cpu(const struct compare_opts *o, const struct run_result *r)
{
    static const char *const role[ROLE_COUNT] = {"cpu us/req front", "cpu us/req back",
                                                 "cpu us/req other"};
    for (int k = 0; k < ROLE_COUNT; k++) {
        bool any = k != ROLE_OTHER;
        for (int a = 0; a < o->narch; a++)
            any |= r[a].cpu.role_ps[k] > 0;
        if (!any)
            continue;
        printf("\n%-22s", role[k]);
        for (int a = 0; a < o->narch; a++)
            printf(" %20.3f", cpu_per_req(&r[a], r[a].cpu.role_ps[k]));
    }
    printf("\n%-22s", "cpu us/req hypervisor");
    for (int a = 0; a < o->narch; a++)
        printf(" %20.3f", cpu_per_req(&r[a], r[a].cpu.hv_ps));
    int ncpu = 0;
    for (int a = 0; a < o->narch; a++)
        ncpu = r[a].cpu.npcpus > ncpu ? r[a].cpu.npcpus : ncpu;
    for (int i = 0; i < ncpu; i++) {
        char label[32];
        snprintf(label, sizeof label, "cpu%d busy (%%)", i);
        printf("\n%-22s", label);
        for (int a = 0; a < o->narch; a++)
            if (i < r[a].cpu.npcpus)
                printf(" %20.2f", 100.0 * r[a].cpu.util[i]);
            else
                printf(" %20s", "-");
    }
}

static void print_table(const struct compare_opts *o, const struct run_result *r)
{
    printf("\n%-22s", "");
    for (int a = 0; a < o->narch; a++)
        printf(" %20s", o->arch[a]);
    printf("\n");
    for (int h = HOP_H1; h <= HOP_H8; h++)
        print_row_hops(o, r, h);
    printf("%-22s", "requests");
    for (int a = 0; a < o->narch; a++)
        printf(" %20llu", (unsigned long long)r[a].requests_done);
    printf("\n%-22s", "latency mean (us)");
    for (int a = 0; a < o->narch; a++)
        printf(" %20.3f", mean_us(&r[a].request));
    printf("\n%-22s", "latency p50 (us)");
    for (int a = 0; a < o->narch; a++)
        printf(" %20.3f", us(r[a].request.p50));
    printf("\n%-22s", "latency p99 (us)");
    for (int a = 0; a < o->narch; a++)
        printf(" %20.3f", us(r[a].request.p99));
    bool net = false;
    for (int a = 0; a < o->narch; a++)
        net |= r[a].net.nics > 0;
    printf("\n%-22s", net ? "requests/s" : "IOPS");
    for (int a = 0; a < o->narch; a++)
        printf(" %20.0f", run_iops(&r[a]));
    /* frontends start one after another: the rate while all of them run is the steady state */
    printf("\n%-22s", net ? "requests/s, all active" : "IOPS, all active");
    for (int a = 0; a < o->narch; a++)
        printf(" %20.0f", run_iops_all_active(&r[a]));
    if (net) {
        printf("\n%-22s", "packets/s (wire)");
        for (int a = 0; a < o->narch; a++)
            printf(" %20.0f", wire_pps(&r[a]));
        printf("\n%-22s", "Mbit/s out (wire)");
        for (int a = 0; a < o->narch; a++)
            printf(" %20.1f", mbps(&r[a], 0));
        printf("\n%-22s", "Mbit/s in (wire)");
        for (int a = 0; a < o->narch; a++)
            printf(" %20.1f", mbps(&r[a], 1));
    }
    print_cpu(o, r);
    double base = mean_us(&r[0].request);
    printf("\n%-22s", "overhead vs first");
    for (int a = 0; a < o->narch; a++)
        printf(" %19.2fx", base > 0 ? mean_us(&r[a].request) / base : 0.0);
    printf("\n");
}

static int write_csv(const struct compare_opts *o, const struct run_result *r)
{
    FILE *f = fopen(o->csv_path, "w");
    if (!f) {
        fprintf(stderr, "hopsim: %s: %s\n", o->csv_path, strerror(errno));
        return -1;
    }
    fprintf(f, "arch,metric,hop,count,mean_ps,p50_ps,p99_ps,max_ps,rate_per_s,mbit_per_s\n");
    for (int a = 0; a < o->narch; a++) {
        for (int h = HOP_H1; h <= HOP_H8; h++) {
            const struct trace_stat *s = &r[a].hop[h];
            if (r[a].have_hop[h])
                fprintf(f, "%s,hop,H%d,%llu,%llu,%llu,%llu,%llu,,\n", o->arch[a], h,
                        (unsigned long long)s->count, (unsigned long long)(s->sum / s->count),
                        (unsigned long long)s->p50, (unsigned long long)s->p99,
                        (unsigned long long)s->max);
        }
        const struct trace_stat *s = &r[a].request;
        fprintf(f, "%s,latency,,%llu,%llu,%llu,%llu,%llu,,\n", o->arch[a],
                (unsigned long long)s->count,
                (unsigned long long)(s->count ? s->sum / s->count : 0), (unsigned long long)s->p50,
                (unsigned long long)s->p99, (unsigned long long)s->max);
        fprintf(f, "%s,iops,,%llu,,,,,%.0f,\n", o->arch[a], (unsigned long long)r[a].requests_done,
                run_iops(&r[a]));
        fprintf(f, "%s,iops_all_active,,%llu,,,,,%.0f,\n", o->arch[a],
                (unsigned long long)r[a].all_done, run_iops_all_active(&r[a]));
        static const char *const role[ROLE_COUNT] = {"front", "back", "other"};
        for (int k = 0; k < ROLE_COUNT; k++)
            fprintf(f, "%s,cpu_per_req,%s,%llu,%.0f,,,\n", o->arch[a], role[k],
                    (unsigned long long)r[a].cpu.requests,
                    r[a].cpu.requests ? (double)r[a].cpu.role_ps[k] / (double)r[a].cpu.requests
                                      : 0.0);
        fprintf(f, "%s,cpu_per_req,hypervisor,%llu,%.0f,,,\n", o->arch[a],
                (unsigned long long)r[a].cpu.requests,
                r[a].cpu.requests ? (double)r[a].cpu.hv_ps / (double)r[a].cpu.requests : 0.0);
        for (int i = 0; i < r[a].cpu.npcpus; i++)
            fprintf(f, "%s,cpu_busy,cpu%d,,%.4f,,,\n", o->arch[a], i, r[a].cpu.util[i]);
        if (r[a].net.nics) {
            fprintf(f, "%s,wire_pps,,%llu,,,,,%.0f,\n", o->arch[a],
                    (unsigned long long)(r[a].net.wire_frames[0] + r[a].net.wire_frames[1]),
                    wire_pps(&r[a]));
            fprintf(f, "%s,mbps_out,,%llu,,,,,,%.3f\n", o->arch[a],
                    (unsigned long long)r[a].net.wire_bytes[0], mbps(&r[a], 0));
            fprintf(f, "%s,mbps_in,,%llu,,,,,,%.3f\n", o->arch[a],
                    (unsigned long long)r[a].net.wire_bytes[1], mbps(&r[a], 1));
        }
    }
    if (fclose(f) != 0) {
        fprintf(stderr, "hopsim: %s: %s\n", o->csv_path, strerror(errno));
        return -1;
    }
    return 0;
}

/* Per-hop mean time stacked, a bar per architecture. */
static int draw(const struct compare_opts *o, const struct run_result *r)
{
    static struct chart_bars c;
    memset(&c, 0, sizeof c);
    c.ylabel = "mean time per request in each hop (us)";
    snprintf(c.title, sizeof c.title, "%s: where a request's time goes",
             base_name(o->run.scenario));
    for (int h = HOP_H1; h <= HOP_H8; h++)
        snprintf(c.part[c.nparts++], sizeof c.part[0], "H%d", h);
    for (int a = 0; a < o->narch && a < CHART_MAX_BARS; a++) {
        snprintf(c.bar[c.nbars], sizeof c.bar[0], "%s", o->arch[a]);
        for (int h = HOP_H1; h <= HOP_H8; h++)
            c.value[c.nbars][h - 1] = r[a].have_hop[h] ? mean_us(&r[a].hop[h]) : 0;
        c.nbars++;
    }
    if (o->svg_path && chart_bars_write(&c, o->svg_path) < 0)
        return -1;
    if (o->png_path && chart_bars_write(&c, o->png_path) < 0)
        return -1;
    return 0;
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

int compare_run(const struct compare_opts *o)
{
    static struct run_result r[COMPARE_MAX_ARCH];
    char json[COMPARE_MAX_ARCH][600], csv[COMPARE_MAX_ARCH][600], pcap[COMPARE_MAX_ARCH][600];
    int rc = 0;
    if (o->trace_dir && mkdir(o->trace_dir, 0777) < 0 && errno != EEXIST) {
        fprintf(stderr, "hopsim: %s: %s\n", o->trace_dir, strerror(errno));
        return 2;
    }
    /* every architecture loads (names, arguments) before the first one runs */
    for (int a = 0; a < o->narch; a++) {
        struct run_opts ro = o->run;
        if (ro.nsets == SC_MAX_SETS)
            return 2;
        snprintf(ro.sets[ro.nsets].key, sizeof(ro.sets[0].key), "arch");
        snprintf(ro.sets[ro.nsets++].value, sizeof(ro.sets[0].value), "%s", o->arch[a]);
        if (run_check(&ro) != 0)
            return 2;
    }
    for (int a = 0; a < o->narch; a++) {
        struct run_opts ro = o->run;
        if (ro.nsets == SC_MAX_SETS)
            return 2;
        struct sc_set *s = &ro.sets[ro.nsets++];
        snprintf(s->key, sizeof(s->key), "arch");
        snprintf(s->value, sizeof(s->value), "%s", o->arch[a]);
        ro.no_summary = true;
        if (o->trace_dir) {
            char stem[200];
            snprintf(stem, sizeof(stem), "%s", base_name(o->run.scenario));
            char *dot = strrchr(stem, '.');
            if (dot)
                *dot = 0;
            snprintf(json[a], sizeof(json[a]), "%s/%s-%s.json", o->trace_dir, stem, o->arch[a]);
            snprintf(csv[a], sizeof(csv[a]), "%s/%s-%s.csv", o->trace_dir, stem, o->arch[a]);
            snprintf(pcap[a], sizeof(pcap[a]), "%s/%s-%s.pcap", o->trace_dir, stem, o->arch[a]);
            ro.trace_json = json[a];
            ro.trace_csv = csv[a];
            ro.pcap = pcap[a]; /* written only if the scenario has a NIC */
        }
        printf("== %s\n", o->arch[a]);
        fflush(stdout);
        int one = run_scenario(&ro, &r[a]);
        if (one == 2)
            return 2;
        if (one != 0)
            rc = 1;
    }
    print_table(o, r);
    if (o->csv_path && write_csv(o, r) < 0)
        rc = rc ? rc : 1;
    if ((o->svg_path || o->png_path) && draw(o, r) < 0)
        rc = rc ? rc : 1;
    return rc;
}
