/*
 * `hopsim compare`: one scenario run under several architectures
 * (`--set arch=X` each), side by side: per-hop p50/p99, end-to-end latency,
 * IOPS and the overhead ratio to the first architecture (native when it is
 * listed first).
 */
#ifndef HOPSIM_COMPARE_H
#define HOPSIM_COMPARE_H

#include "run.h"

#define COMPARE_MAX_ARCH 8

struct compare_opts {
    struct run_opts run; /* the scenario, --set, --seed, --quiet */
    char arch[COMPARE_MAX_ARCH][32];
    int narch;
    const char *csv_path;            /* NULL: no CSV */
    const char *trace_dir;           /* NULL: no traces; else DIR/NAME-ARCH.json and .csv */
    const char *svg_path, *png_path; /* per-hop stacked bars per architecture */
};

/* Returns the exit code: 0 all runs ok, 1 a run failed, 2 usage/scenario error. */
int compare_run(const struct compare_opts *o);

#endif
