/*
 * Core benchmarks, run on demand (`cmake --build build --target bench`),
 * never as pass/fail tests. Each figure is measured side by side in one
 * run and printed as a ratio where one applies:
 *
 *  1. guest MIPS with hopsim's per-block cycle accounting vs raw Unicorn
 *     (no hooks) running the same function of the same guest image, same
 *     instruction count, host CPU time: the load-heavy loop
 *     (compute_kernel), the 9-instruction-block loop (tight_kernel) and the
 *     store-heavy loop (store_kernel); target: accounted/raw >= 0.5 each;
 *  2. ping-pong round trips per host second, tracing off vs JSON + CSV
 *     tracing on (the ratio is the tracing overhead);
 *  3. host memory per idle domain, 64 domains built, from /proc/self/status:
 *     resident beyond guest RAM (anonymous memory: engines, code buffers,
 *     tables; target <= 2 MiB) and the guest RAM pages touched (shared
 *     memory: machine memory is a memfd).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <unicorn/unicorn.h>

#include "machine.h"
#include "bench.h"

static double now_s(void)
{
    return bench_cpu_seconds();
}

static long proc_status_kb(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    size_t kl = strlen(key);
    while (f && fgets(line, sizeof(line), f))
        if (!strncmp(line, key, kl))
            v = strtol(line + kl + 1, NULL, 10);
    if (f)
        fclose(f);
    return v;
}

static int make_scenario(struct scenario *sc, int ndoms, const char *image)
{
    char err[512];
    memset(sc, 0, sizeof(*sc));
    snprintf(sc->name, sizeof(sc->name), "bench");
    sc->machine.cpus = 2;
    sc->machine.clock_hz = 3e9;
    sc->machine.memory_bytes = (uint64_t)ndoms * (8ull << 20) + (16ull << 20);
    if (cost_load(&sc->cost, HOPSIM_PROFILE_DIR "/default.profile", err, sizeof(err)) < 0) {
        fprintf(stderr, "bench: %s\n", err);
        return -1;
    }
    for (int i = 0; i < ndoms; i++) {
        struct sc_domain *d = &sc->domains[i];
        snprintf(d->name, sizeof(d->name), "d%d", i);
        snprintf(d->image, sizeof(d->image), "%s/%s", HOPSIM_GUEST_DIR, image);
        d->memory_bytes = 8ull << 20;
        d->vcpus = 1;
        d->cpu = i % 2;
    }
    sc->ndomains = ndoms;
    return 0;
}

static uint64_t sym_addr(struct domain *d, const char *name)
{
    for (size_t i = 0; i < d->nsyms; i++)
        if (!strcmp(d->syms[i].name, name))
            return d->syms[i].addr;
    return 0;
}

#define HLT_ADDR 0x1000ull
#define STACK_TOP 0x8000ull

/* Set up a call of fn(iterations) that returns onto a hlt. */
static void prepare_call(struct domain *d, uint64_t *rsp)
{
    d->ram[HLT_ADDR] = 0xf4;
    domain_set_exec(d, HLT_ADDR, 1);
    uint64_t ret = HLT_ADDR;
    *rsp = STACK_TOP - 8;
    memcpy(d->ram + *rsp, &ret, 8);
}

/* Run fn(iters) to its return; returns host seconds, *rax the result. */
static double run_accounted(struct vcpu *v, uint64_t fn, uint64_t iters, uint64_t *rax)
{
    uint64_t rsp;
    prepare_call(v->d, &rsp);
    vcpu_set_reg(v, UC_X86_REG_RIP, fn);
    vcpu_set_reg(v, UC_X86_REG_RSP, rsp);
    vcpu_set_reg(v, UC_X86_REG_RDI, iters);
    v->insns = 0;
    double t0 = now_s();
    vcpu_run_slice(v, UINT64_MAX / 2);
    double t = now_s() - t0;
    *rax = vcpu_reg(v, UC_X86_REG_RAX);
    return t;
}

static double run_raw(struct domain *d, uint64_t fn, uint64_t iters, uint64_t *rax)
{
    uc_engine *uc;
    uint64_t rsp;
    uc_open(UC_ARCH_X86, UC_MODE_64, &uc);
    uc_mem_map_ptr(uc, 0, d->nr_pages * PAGE_SIZE, UC_PROT_ALL, d->ram);
    prepare_call(d, &rsp);
    uc_reg_write(uc, UC_X86_REG_RSP, &rsp);
    uc_reg_write(uc, UC_X86_REG_RDI, &iters);
    double t0 = now_s();
    uc_emu_start(uc, fn, HLT_ADDR, 0, 0);
    double t = now_s() - t0;
    uc_reg_read(uc, UC_X86_REG_RAX, rax);
    uc_close(uc);
    return t;
}

static void mips_one(struct domain *d, const char *kernel, uint64_t iters)
{
    struct vcpu *v = d->vcpus[0];
    uint64_t fn = sym_addr(d, kernel), r_acc = 0, r_raw = 0;
    if (!fn) {
        printf("  %s: symbol not found in compute.elf\n", kernel);
        return;
    }
    /* both runs start from the same memory: the image as loaded */
    size_t bytes = d->nr_pages * PAGE_SIZE;
    uint8_t *snap = malloc(bytes);
    memcpy(snap, d->ram, bytes);
    double t_raw = run_raw(d, fn, iters, &r_raw);
    memcpy(d->ram, snap, bytes);
    double t_acc = run_accounted(v, fn, iters, &r_acc);
    memcpy(d->ram, snap, bytes);
    free(snap);
    uint64_t insns = v->insns;
    printf("  %-15s %11llu insns  raw %7.1f MIPS  accounted %7.1f MIPS  ratio %.2f  "
           "(%.2f cycles/insn)%s\n",
           kernel, (unsigned long long)insns, insns / t_raw / 1e6, insns / t_acc / 1e6,
           t_raw / t_acc, (double)v->slice_mcycles / 1000.0 / (double)insns,
           r_acc == r_raw ? "" : "  [RESULTS DIFFER]");
}

static int bench_mips(uint64_t iters)
{
    static struct scenario sc;
    struct machine m;
    char err[512];
    if (make_scenario(&sc, 1, "compute.elf") < 0)
        return -1;
    struct trace_opts to = {0};
    struct trace *tr = trace_open(&to, err, sizeof(err));
    if (machine_create(&m, &sc, tr, true, err, sizeof(err)) < 0) {
        fprintf(stderr, "bench: %s\n", err);
        return -1;
    }
    struct domain *d = m.doms[0];
    uint64_t *buf = guest_ram(d, sym_addr(d, "data"), 4096);
    for (int i = 0; buf && i < 512; i++)
        buf[i] = (uint64_t)i * 0x0101010101010101ull;
    printf("guest MIPS: hopsim per-block cycle accounting vs raw Unicorn (no hooks), same image\n");
    mips_one(d, "compute_kernel", iters / 64);
    mips_one(d, "tight_kernel", iters);
    mips_one(d, "store_kernel", iters / 8);
    printf("  (host CPU time; target: ratio >= 0.5 for each loop)\n");
    machine_destroy(&m);
    trace_close(tr, err, sizeof(err));
    return 0;
}

static double pingpong_rate(int rounds, bool traced, double *sim_us)
{
    struct run_opts o = {.scenario = HOPSIM_SOURCE_DIR "/workloads/scenarios/pingpong.lua",
                         .quiet = true,
                         .no_summary = true};
    char n[16];
    snprintf(n, sizeof(n), "%d", rounds);
    bench_set(&o, "rounds", n);
    if (traced) {
        o.trace_json = "/tmp/hopsim-bench.json";
        o.trace_csv = "/tmp/hopsim-bench.csv";
    }
    struct run_result r;
    double cpu;
    int rc = bench_run(&o, &r, &cpu);
    if (traced) {
        remove(o.trace_json);
        remove(o.trace_csv);
    }
    if (rc != 0)
        return -1;
    *sim_us = (double)r.sim_time / PS_PER_US;
    return rounds / cpu;
}

static int bench_pingpong(int rounds)
{
    /* interleaved, best of three each: the first run also pays warm-up */
    double sim_off = 0, sim_on = 0, off = 0, on = 0;
    for (int i = 0; i < 3; i++) {
        double a = pingpong_rate(rounds, false, &sim_off);
        double b = pingpong_rate(rounds, true, &sim_on);
        if (a < 0 || b < 0) {
            off = on = -1;
            break;
        }
        off = a > off ? a : off;
        on = b > on ? b : on;
    }
    if (off < 0 || on < 0) {
        fprintf(stderr, "bench: the ping-pong scenario failed\n");
        return -1;
    }
    printf("ping-pong, %d round trips (%.1f simulated us each), best of 3\n", rounds,
           sim_off / rounds);
    printf("  tracing off                   %8.0f round trips / host s\n", off);
    printf("  tracing on (JSON + CSV)       %8.0f round trips / host s\n", on);
    printf("  tracing overhead              %8.1f %%\n", (off / on - 1.0) * 100.0);
    return 0;
}

static int bench_memory(int ndoms)
{
    static struct scenario sc;
    struct machine m;
    char err[512];
    if (make_scenario(&sc, ndoms, "pingpong.elf") < 0)
        return -1;
    struct trace_opts to = {0};
    struct trace *tr = trace_open(&to, err, sizeof(err));
    long anon0 = proc_status_kb("RssAnon:"), shm0 = proc_status_kb("RssShmem:");
    long vsz0 = proc_status_kb("VmSize:");
    if (machine_create(&m, &sc, tr, true, err, sizeof(err)) < 0) {
        fprintf(stderr, "bench: %s\n", err);
        return -1;
    }
    long anon1 = proc_status_kb("RssAnon:"), shm1 = proc_status_kb("RssShmem:");
    long vsz1 = proc_status_kb("VmSize:");
    printf("host memory per domain (%d domains of 8 MiB, built, not run)\n", ndoms);
    printf("  resident beyond guest RAM     %8.2f MiB   (target <= 2 MiB)\n",
           (anon1 - anon0) / 1024.0 / ndoms);
    printf("  guest RAM pages touched       %8.2f MiB\n", (shm1 - shm0) / 1024.0 / ndoms);
    printf("  virtual                       %8.1f MiB\n", (vsz1 - vsz0) / 1024.0 / ndoms);
    machine_destroy(&m);
    trace_close(tr, err, sizeof(err));
    return 0;
}

int main(int argc, char **argv)
{
    uint64_t iters = argc > 1 ? strtoull(argv[1], NULL, 0) : 20000000;
    int rounds = argc > 2 ? atoi(argv[2]) : 2000;
    int rc = 0;
    rc |= bench_mips(iters);
    rc |= bench_pingpong(rounds);
    rc |= bench_memory(64);
    return rc ? 1 : 0;
}
