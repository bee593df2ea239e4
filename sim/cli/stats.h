/*
 * --stats FILE.json: the resolved scenario, the cost profile and every
 * result of one run (format in stats.c and traces/FORMAT.md).
 */
#ifndef HOPSIM_STATS_H
#define HOPSIM_STATS_H

#include <stddef.h>

#include "expect.h"
#include "run.h"
#include "scenario.h"

struct stats_run {
    const struct scenario *sc;
    const struct run_opts *ro;
    const struct measures *ms;
    int exit_code;
    const char *failure; /* "" when the run did what it was asked */
    double host_seconds;
    uint64_t engine_runs, engine_fast_traps;
    uint64_t engine_switches, tlb_fills; /* a shared engine changed domains; TLB fills */
};

/* Write the file: 0, or -1 with err filled. */
int stats_write(const char *path, const struct stats_run *s, char *err, size_t errlen);

#endif
