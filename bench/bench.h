/*
 * What the scenario benchmarks share: setting a scenario parameter and one
 * run with its report silenced, timed by the process's CPU time (the run
 * is single-threaded; wall-clock time would count other tenants' load on
 * a shared machine too).
 */
#ifndef HOPSIM_BENCH_H
#define HOPSIM_BENCH_H

#include <stdio.h>
#include <time.h>

#include "run.h"

/* --set key=value for the run. */
static inline void bench_set(struct run_opts *o, const char *key, const char *value)
{
    struct sc_set *s = &o->sets[o->nsets++];
    snprintf(s->key, sizeof(s->key), "%s", key);
    snprintf(s->value, sizeof(s->value), "%s", value);
}

static inline double bench_cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* run_scenario with stdout discarded; *cpu_s gets the CPU time it took. */
static inline int bench_run(const struct run_opts *o, struct run_result *r, double *cpu_s)
{
    FILE *saved = stdout, *null = fopen("/dev/null", "w");
    if (null)
        stdout = null;
    double c0 = bench_cpu_seconds();
    int rc = run_scenario(o, r);
    *cpu_s = bench_cpu_seconds() - c0;
    if (null) {
        fclose(null);
        stdout = saved;
    }
    return rc;
}

#endif
