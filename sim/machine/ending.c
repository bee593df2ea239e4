/*
 * How a run ends when it does not end by itself, and what it says then.
 *
 *  - Deadlock: the event queue is empty while domains are alive. Nothing
 *    can ever wake them (every wake-up in hopsim is an event), so the run
 *    fails and names, per blocked vCPU, the event channels it waits on and
 *    where each one comes from.
 *  - The time limit: reaching it with domains still running or requests
 *    in flight is unfinished work, a failure -- unless the scenario
 *    declares the limit its normal end (`scenario { ends_at = "time_limit" }`).
 *  - A domain that dies or powers off with split devices still open: the
 *    toolstack sees it through @releaseDomain, as xl's domain-death watch
 *    does, and destroys its devices as libxl's device removal does (the
 *    frontend's device directory removed, the backend's `online` set to 0).
 *    The backend sees its frontend gone, disconnects and unmaps its grants;
 *    a device left open is reported as a failure.
 */
#include "machine.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xen/io/xenbus.h>

/* Append to a bounded buffer; never overruns, keeps the text NUL-terminated. */
struct text {
    char *p;
    size_t left;
};

static void put(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct text *t, const char *fmt, ...)
{
    if (t->left <= 1)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(t->p, t->left, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    size_t k = (size_t)n < t->left ? (size_t)n : t->left - 1;
    t->p += k;
    t->left -= k;
}

static const char *dom_name(struct machine *m, unsigned domid)
{
    if (domid == DOMID_STORE)
        return "xenstore";
    struct domain *d = machine_domain(m, (int)domid);
    return d ? d->name : "?";
}

/* "port 3 (dom0 port 5)", "port 7 (pirq 17)", ...: where each of v's event sources comes from. */
static void put_sources(struct text *t, struct vcpu *v)
{
    struct domain *d = v->d;
    int shown = 0, more = 0;
    for (uint32_t p = 1; p < EVTCHN_NR; p++) {
        const struct evtchn *c = &d->evtchn[p];
        if (c->notify_vcpu != v->id)
            continue;
        if (v->polling) { /* SCHEDOP_poll: only the polled ports wake it */
            bool polled = false;
            for (uint32_t i = 0; i < v->npoll; i++)
                polled |= v->poll_ports[i] == p;
            if (!polled)
                continue;
        }
        if (c->state != ECS_INTERDOMAIN && c->state != ECS_PIRQ && c->state != ECS_VIRQ &&
            c->state != ECS_UNBOUND && c->state != ECS_IPI)
            continue;
        if (shown == 6) {
            more++;
            continue;
        }
        put(t, "%sport %u (", shown ? ", " : "", p);
        switch (c->state) {
        case ECS_INTERDOMAIN:
            if (c->remote_dom == DOMID_STORE)
                put(t, "xenstore)");
            else
                put(t, "%s port %u)", dom_name(d->m, c->remote_dom), c->remote_port);
            break;
        case ECS_PIRQ:
            put(t, "pirq %u)", c->virq);
            break;
        case ECS_VIRQ:
            put(t, "virq %u)", c->virq);
            break;
        case ECS_IPI:
            put(t, "IPI from its own vCPUs)");
            break;
        default:
            put(t, "unbound, for %s)", dom_name(d->m, c->remote_dom));
            break;
        }
        shown++;
    }
    if (more)
        put(t, " and %d more", more);
    if (!shown)
        put(t, "nothing: no event channel can wake it");
}

void machine_report_deadlock(struct machine *m)
{
    struct text t = {m->failure, sizeof m->failure};
    put(&t, "deadlock at t=%.3f us: no event pending, and nothing can wake",
        (double)evq_now(&m->q) / PS_PER_US);
    const char *sep = ": ";
    for (int i = 0; i < m->ndoms; i++) {
        struct domain *d = m->doms[i];
        if (d->dead)
            continue;
        for (int k = 0; k < d->nvcpus; k++) {
            struct vcpu *v = d->vcpus[k];
            if (v->state != VCPU_BLOCKED)
                continue;
            if (v->io.pending) { /* an HVM vCPU inside an exit (sim/hvm/) */
                put(&t, "%s%s vcpu%d waits for the answer to its ioreq (%s 0x%llx)", sep, d->name,
                    v->id, v->io.kind == HVM_IO_PIO ? "port" : "MMIO",
                    (unsigned long long)v->io.addr);
                sep = "; ";
                continue;
            }
            put(&t, "%s%s vcpu%d %s an event on ", sep, d->name, v->id,
                v->polling ? "polls (SCHEDOP_poll) for" : "is blocked waiting for");
            put_sources(&t, v);
            sep = "; ";
        }
    }
}

void machine_report_time_limit(struct machine *m)
{
    uint64_t inflight = trace_requests_inflight(m->tr);
    if (m->sc->ends_at_limit || (m->live_doms == 0 && inflight == 0))
        return;
    struct text t = {m->failure, sizeof m->failure};
    put(&t, "time limit (%.3f ms) reached with work unfinished:",
        (double)m->sc->time_limit_ps / PS_PER_MS);
    const char *sep = " still running: ";
    for (int i = 0; i < m->ndoms; i++)
        if (!m->doms[i]->dead) {
            put(&t, "%s%s", sep, m->doms[i]->name);
            sep = ", ";
        }
    if (inflight)
        put(&t, "%s%llu request(s) in flight", m->live_doms ? "; " : " ",
            (unsigned long long)inflight);
    put(&t, " (scenario { ends_at = \"time_limit\" } makes the limit the normal end)");
}

static const char *xb_state(int s)
{
    static const char *const names[] = {"Unknown",     "Initialising",  "InitWait",
                                        "Initialised", "Connected",     "Closing",
                                        "Closed",      "Reconfiguring", "Reconfigured"};
    return s >= 0 && s < (int)(sizeof names / sizeof names[0]) ? names[s] : "?";
}

void toolstack_release(struct machine *m, struct domain *d)
{
    const struct scenario *sc = m->sc;
    for (int i = 0; i < sc->nconns; i++) {
        const struct sc_conn *c = &sc->conns[i];
        if (c->frontend != d->idx)
            continue;
        struct domain *b = m->doms[c->backend];
        char fpath[160], bpath[200], val[16] = "";
        snprintf(fpath, sizeof fpath, "/local/domain/%u/device/%s/%d", d->domid, c->kind, c->devid);
        snprintf(bpath, sizeof bpath, "/local/domain/%u/backend/%s/%u/%d/online", b->domid, c->kind,
                 d->domid, c->devid);
        char sp[180];
        snprintf(sp, sizeof sp, "%s/state", fpath);
        int st = xs_tool_read(m->xs, sp, val, sizeof val) >= 0 ? atoi(val) : XenbusStateUnknown;
        if (st != XenbusStateClosed && st != XenbusStateUnknown) {
            if (!m->quiet)
                fprintf(m->console_out,
                        "toolstack: @releaseDomain: %s (d%u) is gone with %s %d %s: destroying "
                        "the device (backend %s)\n",
                        d->name, d->domid, c->kind, c->devid, xb_state(st), b->name);
            if (!m->failure[0])
                snprintf(m->failure, sizeof m->failure,
                         "domain %s shut down without closing %s %d (frontend state %s); the "
                         "toolstack destroyed the device",
                         d->name, c->kind, c->devid, xb_state(st));
        }
        /* libxl's device removal: the backend is told to go offline, the frontend's node goes */
        if (!b->dead) {
            xs_tool_write(m->xs, bpath, "0");
            xs_tool_rm(m->xs, fpath);
        }
    }
}
