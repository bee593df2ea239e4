/*
 * The toolstack's on_crash = "restart" (xl.cfg(5)) for a driver domain:
 * what xl does when a domain it started crashes and its configuration says
 * restart -- destroy it and build it again from the same configuration --
 * with the parts a driver domain adds: its PCI devices are assigned to the
 * new domain, and the split devices it served are re-added with the new
 * domain as their backend.
 *
 * 1. At the crash (domain_kill): the dead backend's device directories are
 *    marked Closed (libxl's removal of a device whose backend is gone), so
 *    each frontend sees its backend Closed and closes its end.
 * 2. The toolstack waits until every such frontend is Closed (libxl waits
 *    for device state before re-adding; polled every RESTART_POLL), at most
 *    RESTART_WAIT.
 * 3. It builds the domain again -- a new domid, fresh frames (frames are
 *    never reused within a run; setup_memory reserved them), the same image
 *    and arguments -- introduces it to xenstore, passes the devices through
 *    to it (config-space owner, BARs, IOMMU context), removes the old
 *    backend directories and writes new ones: the frontends' backend and
 *    backend-id change and their state is set back to Initialising, which
 *    is their cue to reconnect (blkfront's blkfront_resume / blkif_recover).
 *
 * The crashed incarnation stays in the domain list (dead, reported as
 * crashed); index-based lookups (scenario index -> domain) see the new one.
 */
#include "machine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xen/io/xenbus.h>

#include "pci.h"
#include "vtd.h"

#define RESTART_POLL (50 * PS_PER_US)
#define RESTART_WAIT (100 * PS_PER_MS)

static int frontend_state(struct machine *m, const struct sc_conn *c)
{
    struct domain *f = m->doms[c->frontend];
    char path[160], val[16];
    if (f->dead)
        return XenbusStateClosed;
    snprintf(path, sizeof path, "/local/domain/%u/device/%s/%d/state", f->domid, c->kind, c->devid);
    return xs_tool_read(m->xs, path, val, sizeof val) >= 0 ? atoi(val) : XenbusStateUnknown;
}

static void fail(struct machine *m, const char *fmt, const char *a, const char *b)
{
    if (!m->failure[0])
        snprintf(m->failure, sizeof m->failure, fmt, a, b);
    m->stop = true;
}

static void rebuild(struct domain *old, simtime_t now)
{
    struct machine *m = old->m;
    int idx = old->idx;
    const struct scenario *sc = m->sc;
    char err[512];
    if (domain_build(m, idx, err, sizeof err) < 0) {
        fail(m, "toolstack: cannot rebuild %s: %s", old->name, err);
        return;
    }
    struct domain *d = m->doms[m->ndoms - 1];
    m->doms[m->ndoms - 1] = old; /* the crashed one moves to the end; index idx is the new */
    m->doms[idx] = d;
    domid_t next = 1;
    for (int i = 0; i < m->ndoms; i++)
        if (m->doms[i] != d && m->doms[i]->domid >= next)
            next = (domid_t)(m->doms[i]->domid + 1);
    d->domid = next;
    m->doms_gen++; /* machine_domain's index */
    d->restarts = old->restarts + 1;
    char name[48];
    snprintf(name, sizeof name, "d%u %s", d->domid, d->name);
    d->place = trace_place(m->tr, PLACE_DOMAIN, d->domid, name);
    if (toolstack_introduce(m, d) < 0) {
        fail(m, "toolstack: cannot introduce %s%s", d->name, "");
        return;
    }
    for (int i = 0; i < m->ndevs; i++) {
        struct plat_dev *pd = &m->devs[i];
        if (pd->owner != old)
            continue;
        pd->owner = d;
        pci_func_set_user(pd->f, d);
        for (int bar = 0; bar < 6; bar++)
            pd->mapped_size[bar] = 0; /* the old vCPUs are gone: map the BARs anew */
        vtd_assign(pd);
        if (!m->quiet)
            fprintf(m->console_out, "toolstack: pci-attach 0000:00:%02x.0 (%s) to %s (d%u)\n",
                    pci_func_slot(pd->f), sc->devices[i].kind, d->name, d->domid);
    }
    m->bars_dirty = true;
    platform_sync_bars(m);
    for (int i = 0; i < sc->nconns; i++) {
        const struct sc_conn *c = &sc->conns[i];
        if (c->backend != idx || m->doms[c->frontend]->dead)
            continue;
        char gone[200];
        snprintf(gone, sizeof gone, "/local/domain/%u/backend/%s/%u/%d", old->domid, c->kind,
                 m->doms[c->frontend]->domid, c->devid);
        xs_tool_rm(m->xs, gone);
        /* libxl__device_generic_add: the frontend directory is removed and written anew, so
           every node in it carries the new backend's read permission */
        snprintf(gone, sizeof gone, "/local/domain/%u/device/%s/%d", m->doms[c->frontend]->domid,
                 c->kind, c->devid);
        xs_tool_rm(m->xs, gone);
        if (toolstack_connect(m, c) < 0) {
            fail(m, "toolstack: cannot re-add the devices of %s%s", d->name, "");
            return;
        }
    }
    m->live_doms++;
    m->restarts++;
    if (!m->quiet)
        fprintf(m->console_out, "toolstack: %s restarted as d%u at t=%.3f us (restart %d)\n",
                d->name, d->domid, (double)now / PS_PER_US, d->restarts);
    struct vcpu *v = d->vcpus[0];
    v->state = VCPU_BLOCKED;
    sched_wake(v, now);
    machine_store_flush(m, now);
}

static void restart_event(void *opaque, simtime_t now)
{
    struct domain *old = opaque;
    struct machine *m = old->m;
    int idx = old->idx;
    const struct scenario *sc = m->sc;
    for (int i = 0; i < sc->nconns; i++) {
        const struct sc_conn *c = &sc->conns[i];
        if (c->backend != idx || frontend_state(m, c) == XenbusStateClosed)
            continue;
        if (now - old->crash_time >= RESTART_WAIT) {
            fail(m, "toolstack: %s's frontend %s did not close; not restarting", old->name,
                 m->doms[c->frontend]->name);
            return;
        }
        evq_schedule(&m->q, now + RESTART_POLL, restart_event, old);
        return;
    }
    rebuild(old, now);
}

bool toolstack_on_crash(struct machine *m, struct domain *d)
{
    const struct scenario *sc = m->sc;
    if (!sc->domains[d->idx].on_crash_restart || m->doms[d->idx] != d ||
        d->restarts >= TOOLSTACK_MAX_RESTARTS)
        return false;
    simtime_t now = evq_now(&m->q);
    for (int i = 0; i < sc->nconns; i++) {
        const struct sc_conn *c = &sc->conns[i];
        if (c->backend != d->idx)
            continue;
        char path[200];
        snprintf(path, sizeof path, "/local/domain/%u/backend/%s/%u/%d/state", d->domid, c->kind,
                 m->doms[c->frontend]->domid, c->devid);
        char closed[4];
        snprintf(closed, sizeof closed, "%d", XenbusStateClosed);
        xs_tool_write(m->xs, path, closed);
    }
    d->crash_time = now;
    if (!m->quiet)
        fprintf(m->console_out,
                "toolstack: %s (d%u) crashed; on_crash=restart: its devices are marked Closed\n",
                d->name, d->domid);
    evq_schedule(&m->q, now + RESTART_POLL, restart_event, d);
    return true;
}
