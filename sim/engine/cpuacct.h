/*
 * CPU time accounting for one physical CPU: busy intervals, of which part
 * ran guest code and the rest was hypervisor work; idle is what is left.
 *
 * Intervals are added in time order; one that starts before the end of the
 * previous one is clamped to it (a CPU is never busy twice at once), so
 * busy + idle == elapsed always holds.
 */
#ifndef HOPSIM_CPUACCT_H
#define HOPSIM_CPUACCT_H

#include "simtime.h"

struct cpuacct {
    simtime_t busy;     /* ps busy in total */
    simtime_t guest;    /* ps of `busy` running guest code */
    simtime_t last_end; /* end of the latest busy interval */
};

struct cpuacct_stats {
    simtime_t elapsed, busy, guest, hv, idle; /* busy = guest + hv; busy + idle = elapsed */
};

/*
 * Busy over [start, end), `guest` ps of it in guest code (clamped to the
 * interval). Returns the idle gap that preceded it (0 if none), starting at
 * *idle_from.
 */
simtime_t cpuacct_add(struct cpuacct *a, simtime_t start, simtime_t end, simtime_t guest,
                      simtime_t *idle_from);
/* Totals up to `elapsed` (raised to the end of the latest interval if earlier). */
void cpuacct_stats(const struct cpuacct *a, simtime_t elapsed, struct cpuacct_stats *s);

#endif
