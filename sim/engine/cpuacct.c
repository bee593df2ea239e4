/* CPU time accounting for one physical CPU (interface: cpuacct.h). */
#include "cpuacct.h"

simtime_t cpuacct_add(struct cpuacct *a, simtime_t start, simtime_t end, simtime_t guest,
                      simtime_t *idle_from)
{
    simtime_t gap = 0;
    *idle_from = a->last_end;
    if (start < a->last_end)
        start = a->last_end;
    else
        gap = start - a->last_end;
    if (end < start)
        end = start;
    simtime_t len = end - start;
    a->busy += len;
    a->guest += guest < len ? guest : len;
    a->last_end = end;
    return gap;
}

void cpuacct_stats(const struct cpuacct *a, simtime_t elapsed, struct cpuacct_stats *s)
{
    if (elapsed < a->last_end)
        elapsed = a->last_end;
    s->elapsed = elapsed;
    s->busy = a->busy;
    s->guest = a->guest;
    s->hv = a->busy - a->guest;
    s->idle = elapsed - a->busy;
}
