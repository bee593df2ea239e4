/*
 * CPU accounting: what each physical CPU spent its time on.
 *
 * The scheduler opens a busy interval when a pCPU starts work (a dispatch,
 * or the handler of the wake-up that leads to one: the wake's latency, a
 * halted CPU's IPI and C-state exit, is idle time) and closes it when the pCPU goes
 * idle, saying how much of it ran guest code and for which domain; the
 * rest (world switches, event delivery, hypercall handling, the runtime
 * call path, IPIs, spinning on efi_rs_lock) is hypervisor time. A native
 * kernel has no hypervisor: its interrupt entries are its own time. Idle
 * gaps are traced as `idle` spans on the CPU's track.
 *
 * For per-request figures the counters are snapshotted at the request
 * window's ends (the busy interval in which the first request appeared,
 * the one in which the last completed), so boot and set-up are left out.
 */
#include "machine.h"

#include <string.h>

enum dom_role machine_dom_role(const struct machine *m, const struct domain *d)
{
    const struct scenario *sc = m->sc;
    for (int i = 0; i < sc->nconns; i++)
        if (sc->conns[i].backend == d->idx)
            return ROLE_BACK;
    for (int i = 0; i < sc->nconns; i++)
        if (sc->conns[i].frontend == d->idx)
            return ROLE_FRONT;
    if (d->l4)
        return ROLE_BACK; /* a VMM or driver server on the microkernel serves the VMs */
    if (d->device_model)  /* carries an HVM guest's I/O: dom0's device model, a hosted VMM's host */
        return ROLE_BACK;
    if (d->hvm) /* an unmodified guest: it runs the application */
        return ROLE_FRONT;
    return d->native ? ROLE_FRONT : ROLE_OTHER; /* a native kernel runs the application */
}

static void snap(const struct machine *m, struct acct_snap *s, simtime_t t)
{
    s->t = t;
    s->done = trace_requests_done(m->tr);
    for (int i = 0; i < m->npcpus; i++) {
        s->busy[i] = m->pcpus[i].acct.busy;
        s->guest[i] = m->pcpus[i].acct.guest;
    }
    for (int i = 0; i < m->ndoms; i++)
        s->dom[i] = m->doms[i]->cpu_ps;
}

void acct_open(struct pcpu *p, simtime_t t)
{
    if (p->acct_open)
        return;
    p->acct_open = true;
    p->acct_from = t;
}

void acct_close(struct pcpu *p, simtime_t end, struct domain *d, simtime_t guest)
{
    struct machine *m = p->m;
    if (!p->acct_open)
        return;
    p->acct_open = false;
    if (!m->acct_have_first && trace_requests_done(m->tr) + trace_requests_inflight(m->tr) > 0) {
        snap(m, &m->acct_first, p->acct_from);
        m->acct_have_first = true;
    }
    simtime_t start = p->acct_from > p->acct.last_end ? p->acct_from : p->acct.last_end;
    simtime_t len = end > start ? end - start : 0;
    if (d && d->native && !d->l4)
        guest =
            len; /* no hypervisor under a native kernel (a microkernel's IPC is not the task's) */
    simtime_t from, gap = cpuacct_add(&p->acct, p->acct_from, end, guest, &from);
    if (gap)
        span_cpu(m, p->id, SPAN_IDLE, HOPSIM_NOREQ, from, from + gap, NULL, 0);
    if (d)
        d->cpu_ps += guest < len ? guest : len;
    if (m->acct_have_first && trace_requests_done(m->tr) != m->acct_last.done)
        snap(m, &m->acct_last, end);
}

void acct_finish(struct machine *m)
{
    simtime_t end = evq_now(&m->q);
    for (int i = 0; i < m->npcpus; i++) {
        const struct pcpu *p = &m->pcpus[i];
        if (p->acct.last_end > end)
            end = p->acct.last_end;
        if (p->acct_open && p->acct_from > end)
            end = p->acct_from;
    }
    for (int i = 0; i < m->npcpus; i++) {
        struct pcpu *p = &m->pcpus[i];
        if (p->acct_open) { /* a slice still running when the run stopped (the time limit) */
            struct vcpu *v = p->current;
            simtime_t g = v && end > v->slice_start ? end - v->slice_start : 0;
            acct_close(p, end, v ? v->d : NULL, g);
        }
        if (end > p->acct.last_end)
            span_cpu(m, p->id, SPAN_IDLE, HOPSIM_NOREQ, p->acct.last_end, end, NULL, 0);
    }
    m->acct_end = end;
}

void machine_cpu_stats(const struct machine *m, struct machine_cpu_stats *s)
{
    memset(s, 0, sizeof *s);
    s->npcpus = m->npcpus;
    for (int i = 0; i < m->npcpus; i++)
        cpuacct_stats(&m->pcpus[i].acct, m->acct_end, &s->pcpu[i]);
    if (!m->acct_have_first || !m->acct_last.done)
        return;
    const struct acct_snap *a = &m->acct_first, *b = &m->acct_last;
    s->window = b->t > a->t ? b->t - a->t : 0;
    s->requests = b->done - a->done;
    for (int i = 0; i < m->npcpus; i++) {
        simtime_t busy = b->busy[i] - a->busy[i], guest = b->guest[i] - a->guest[i];
        s->hv_ps += busy - guest;
        s->util[i] = s->window ? (double)busy / (double)s->window : 0.0;
    }
    for (int i = 0; i < m->ndoms; i++)
        s->role_ps[machine_dom_role(m, m->doms[i])] += b->dom[i] - a->dom[i];
}
