/*
 * A run's results as named measurements (expect.h): what expectations are
 * checked against, what --stats writes and what a sweep tabulates.
 */
#ifndef HOPSIM_MEASURE_H
#define HOPSIM_MEASURE_H

#include "expect.h"
#include "machine.h"
#include "run.h"

/* Fill ms from the finished machine m and its collected result r. */
void measure_run(struct measures *ms, const struct machine *m, const struct run_result *r);

/* Completed requests per simulated second over the request window (0 if none). */
double run_iops(const struct run_result *r);
/* The same over the window in which every request source runs (0 if none). */
double run_iops_all_active(const struct run_result *r);

#endif
