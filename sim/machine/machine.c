/*
 * The machine: machine memory, physical CPUs, domains, the xenstore
 * service and the toolstack that introduces domains and writes the split
 * device directories, then the run loop over the event queue.
 *
 * Machine memory is one memfd, mapped shared (untouched frames cost
 * nothing); frames are handed out by a bump allocator -- domains are never
 * destroyed and rebuilt within a run. Being a file, a frame can be mapped a
 * second time elsewhere: that is how a grant map puts the granter's frame
 * into the mapper's grant window (domain.c).
 *
 * The xenstore service is single-threaded like xenstored: a store kick at
 * time t is served at max(t, busy_until); every request costs
 * `xenstore_request`, and the domains whose rings got output are notified
 * when the batch is done.
 */
#include "machine.h"
#include "pci.h"
#include "l4sys.h"
#include "vtd.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <xen/io/xenbus.h>
#include <xen/io/xs_wire.h>
#include <xen/sched.h>

#define HV_FRAMES_PER_DOMAIN (1 + GNT_MAX_FRAMES)

simtime_t machine_cycles(const struct machine *m, double cycles)
{
    return cost_cycles_to_ps(cycles, m->hz);
}

simtime_t machine_cost(const struct machine *m, enum cost_id id)
{
    if (m->cost_at_ready && id < COST_COUNT && m->cost_at[id] != UINT64_MAX)
        return m->cost_at[id];
    return cost_ps(m->cost, id, m->hz);
}

/* The same values machine_cost would compute, for the parameters cost_ps converts. */
static void cost_table(struct machine *m)
{
    for (int id = 0; id < COST_COUNT; id++) {
        enum cost_dim dim = cost_dim((enum cost_id)id);
        bool ok = dim == DIM_TIME || (dim == DIM_CYCLES && m->hz > 0);
        m->cost_at[id] = ok ? cost_ps(m->cost, (enum cost_id)id, m->hz) : UINT64_MAX;
    }
    m->cost_at_ready = true;
}

/* Bump allocation: frames are never freed or reused in a run, so they stay zero until used. */
uint64_t machine_alloc_mfns(struct machine *m, uint64_t n)
{
    if (n > m->nr_mfns - m->next_mfn)
        return UINT64_MAX;
    uint64_t first = m->next_mfn;
    m->next_mfn += n;
    return first;
}

/* The first domain in doms with that domid, as the scan below finds it; with 65 domains the
 * scan's loads of each domain's domid were a measurable part of a request (host-speed.md). */
struct domain *machine_domain(struct machine *m, int domid)
{
    if (domid >= 0 && domid < DOMID_INDEX) {
        if (m->domid_gen != m->doms_gen + 1) {
            memset(m->by_domid, 0, sizeof(m->by_domid));
            for (int i = m->ndoms; i-- > 0;)
                if (m->doms[i]->domid < DOMID_INDEX)
                    m->by_domid[m->doms[i]->domid] = m->doms[i];
            m->domid_gen = m->doms_gen + 1;
        }
        return m->by_domid[domid];
    }
    for (int i = 0; i < m->ndoms; i++)
        if (m->doms[i]->domid == domid)
            return m->doms[i];
    return NULL;
}

void span_cpu(struct machine *m, int pcpu, uint16_t kind, uint64_t req, simtime_t start,
              simtime_t end, const char *name, int64_t arg)
{
    struct trace_span s = {.req = req,
                           .kind = kind,
                           .place = m->pcpus[pcpu].place,
                           .start = start,
                           .end = end,
                           .name = name,
                           .arg = arg};
    trace_span(m->tr, &s);
}

/* ---- xenstore service ---- */

static void store_notify(void *opaque, int domid)
{
    struct machine *m = opaque;
    for (int i = 0; i < m->ndoms; i++)
        if (m->doms[i]->domid == domid)
            m->xs_notify[i / 64] |= 1ull << (i % 64);
}

void machine_store_flush(struct machine *m, simtime_t when)
{
    for (int i = 0; i < m->ndoms; i++) {
        if (!(m->xs_notify[i / 64] & (1ull << (i % 64))))
            continue;
        m->xs_notify[i / 64] &= ~(1ull << (i % 64));
        struct domain *d = m->doms[i];
        if (!d->dead)
            evtchn_set_pending(d, d->store_port, when, 0);
    }
}

/* Serve every complete request on one domain's store ring. */
static void store_serve(void *opaque, simtime_t now)
{
    struct domain *d = opaque;
    struct machine *m = d->m;
    struct xs_counts c = {0};
    d->store_ev = 0;
    if (!d->dead)
        xs_process(m->xs, d->domid, &c);
    uint64_t n = c.requests ? c.requests : 1;
    simtime_t done = now + n * machine_cost(m, C_XS_REQUEST);
    struct trace_span s = {.req = d->store_req,
                           .kind = SPAN_XENSTORE,
                           .place = m->xs_place,
                           .start = now,
                           .end = done,
                           .name = d->name,
                           .arg = (int64_t)c.requests};
    trace_span(m->tr, &s);
    m->xs_busy_until = done;
    machine_store_flush(m, done);
}

void machine_store_kick(struct machine *m, struct domain *d, simtime_t when, uint64_t req)
{
    d->store_req = req;
    if (d->store_ev)
        return; /* already queued: that pass reads everything on the ring */
    d->store_ev =
        evq_schedule(&m->q, when > m->xs_busy_until ? when : m->xs_busy_until, store_serve, d);
}

/* ---- toolstack ---- */

static int xs_printf(struct machine *m, const char *val, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int xs_printf(struct machine *m, const char *val, const char *fmt, ...)
{
    char path[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(path, sizeof(path), fmt, ap);
    va_end(ap);
    return xs_tool_write(m->xs, path, val);
}

int toolstack_introduce(struct machine *m, struct domain *d)
{
    char path[64], val[32];
    /* the service reads the ring's frame, not the guest's mapping of it (memory.c) */
    uint64_t mfn = domain_gpfn_to_mfn(d, d->store_gpfn);
    if (mfn == P2M_INVALID)
        return -1;
    struct xenstore_domain_interface *ring = machine_frame(m, mfn);
    if (xs_introduce(m->xs, d->domid, ring) < 0)
        return -1;
    snprintf(path, sizeof(path), "/local/domain/%u", d->domid);
    xs_tool_mkdir(m->xs, path);
    xs_tool_set_perms(m->xs, path, d->domid, 'n', NULL, NULL, 0);
    snprintf(val, sizeof(val), "%u", d->domid);
    xs_printf(m, val, "/local/domain/%u/domid", d->domid);
    xs_printf(m, d->name, "/local/domain/%u/name", d->domid);
    xs_printf(m, "", "/local/domain/%u/device", d->domid);
    xs_printf(m, "", "/local/domain/%u/backend", d->domid);
    /* libxl's memory keys (libxl__build_post): static-max and target, KiB */
    snprintf(val, sizeof(val), "%llu", (unsigned long long)(d->nr_pages * (PAGE_SIZE / 1024)));
    xs_printf(m, val, "/local/domain/%u/memory/static-max", d->domid);
    snprintf(val, sizeof(val), "%llu", (unsigned long long)(d->init_pages * (PAGE_SIZE / 1024)));
    xs_printf(m, val, "/local/domain/%u/memory/target", d->domid);
    return 0;
}

/* The split-device directories xl writes for a frontend/backend pair. */
int toolstack_connect(struct machine *m, const struct sc_conn *c)
{
    struct domain *f = m->doms[c->frontend], *b = m->doms[c->backend];
    char fpath[160], bpath[160], val[32];
    snprintf(fpath, sizeof(fpath), "/local/domain/%u/device/%s/%d", f->domid, c->kind, c->devid);
    snprintf(bpath, sizeof(bpath), "/local/domain/%u/backend/%s/%u/%d", b->domid, c->kind, f->domid,
             c->devid);
    char state[8];
    snprintf(state, sizeof(state), "%d", XenbusStateInitialising);
    int rc = 0;
    rc |= xs_tool_write(m->xs, fpath, "");
    rc |= xs_tool_set_perms(m->xs, fpath, f->domid, 'n', (int[]){b->domid}, "r", 1);
    rc |= xs_printf(m, bpath, "%s/backend", fpath);
    snprintf(val, sizeof(val), "%u", b->domid);
    rc |= xs_printf(m, val, "%s/backend-id", fpath);
    rc |= xs_printf(m, state, "%s/state", fpath);
    rc |= xs_tool_write(m->xs, bpath, "");
    rc |= xs_tool_set_perms(m->xs, bpath, b->domid, 'n', (int[]){f->domid}, "r", 1);
    rc |= xs_printf(m, fpath, "%s/frontend", bpath);
    snprintf(val, sizeof(val), "%u", f->domid);
    rc |= xs_printf(m, val, "%s/frontend-id", bpath);
    rc |= xs_printf(m, "1", "%s/online", bpath);
    rc |= xs_printf(m, state, "%s/state", bpath);
    if (!strcmp(c->kind, "vif")) {
        /* xl writes the vif's MAC (Xen's OUI 00:16:3e) and handle on both sides */
        uint8_t d[6] = {0x00, 0x16, 0x3e, 0x00, (uint8_t)c->devid, (uint8_t)f->domid};
        const uint8_t *mac = c->have_mac ? c->mac : d;
        char text[24];
        snprintf(text, sizeof(text), "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2],
                 mac[3], mac[4], mac[5]);
        snprintf(val, sizeof(val), "%d", c->devid);
        rc |= xs_printf(m, text, "%s/mac", fpath);
        rc |= xs_printf(m, text, "%s/mac", bpath);
        rc |= xs_printf(m, val, "%s/handle", fpath);
        rc |= xs_printf(m, val, "%s/handle", bpath);
    }
    return rc ? -1 : 0;
}

/*
 * PCI passthrough to a driver domain, as xl does it: pci-assignable-add
 * takes the function from dom0 (pciback holds it; dom0's own driver never
 * binds), pci-attach gives it to the domain -- config space, BARs, its
 * interrupt (the IRQ permission that lets the domain map the pirq) and,
 * with an IOMMU, its DMA context. Ownership itself is the function's user
 * (the platform's config-space filter): dom0 reads all ones from then on.
 */
static void assign_devices(struct machine *m)
{
    for (int i = 0; i < m->ndevs; i++) {
        struct plat_dev *pd = &m->devs[i];
        if (!pd->passthrough || m->quiet)
            continue;
        fprintf(m->console_out,
                "toolstack: pci-assignable-add 0000:00:%02x.0 (%s); pci-attach to %s (d%u)\n",
                pci_func_slot(pd->f), m->sc->devices[i].kind, pd->owner->name, pd->owner->domid);
    }
}

static void assign_domids(struct machine *m)
{
    int next = 1;
    for (int i = 0; i < m->ndoms; i++) {
        struct domain *d = m->doms[i];
        d->domid = d->privileged ? 0 : (domid_t)next++;
    }
    m->doms_gen++;
}

static int setup_memory(struct machine *m, const struct scenario *sc, char *err, size_t errlen)
{
    uint64_t frames =
        sc->machine.memory_bytes / PAGE_SIZE + (uint64_t)sc->ndomains * HV_FRAMES_PER_DOMAIN;
    int incarnations = sc->ndomains;
    for (int i = 0; i < sc->ndomains; i++)
        if (sc->domains[i].on_crash_restart) {
            /* frames are never reused: each rebuild of a restarting domain gets fresh ones */
            frames += TOOLSTACK_MAX_RESTARTS *
                      (sc->domains[i].memory_bytes / PAGE_SIZE + HV_FRAMES_PER_DOMAIN);
            incarnations += TOOLSTACK_MAX_RESTARTS;
        }
    if (sc->machine.iommu)
        frames += vtd_frames_needed(frames, incarnations);
    m->mem_fd = memfd_create("hopsim-machine-memory", MFD_CLOEXEC);
    if (m->mem_fd < 0 || ftruncate(m->mem_fd, (off_t)(frames * PAGE_SIZE)) < 0) {
        snprintf(err, errlen, "cannot create %llu MiB of machine memory: %s",
                 (unsigned long long)(frames * PAGE_SIZE >> 20), strerror(errno));
        if (m->mem_fd >= 0)
            close(m->mem_fd);
        return -1;
    }
    m->mem = mmap(NULL, frames * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE,
                  m->mem_fd, 0);
    if (m->mem == MAP_FAILED) {
        m->mem = NULL;
        close(m->mem_fd);
        snprintf(err, errlen, "cannot reserve %llu MiB of machine memory: %s",
                 (unsigned long long)(frames * PAGE_SIZE >> 20), strerror(errno));
        return -1;
    }
    m->nr_mfns = frames;
    m->ram_limit = sc->machine.memory_bytes / PAGE_SIZE;
    return 0;
}

int machine_create(struct machine *m, const struct scenario *sc, struct trace *tr, bool quiet,
                   char *err, size_t errlen)
{
    *m = (struct machine){.sc = sc,
                          .cost = &sc->cost,
                          .hz = sc->machine.clock_hz,
                          .tr = tr,
                          .quiet = quiet,
                          .console_out = stdout};
    evq_init(&m->q);
    cost_table(m);
    m->slice_ps = cost_ps(m->cost, C_SLICE, m->hz);
    if (setup_memory(m, sc, err, errlen) < 0)
        return -1;
    m->npcpus = sc->machine.cpus;
    for (int i = 0; i < m->npcpus; i++) {
        char name[16];
        snprintf(name, sizeof(name), "cpu%d", i);
        m->pcpus[i] = (struct pcpu){.id = i, .place = trace_place(tr, PLACE_CPU, i, name), .m = m};
        char stream[32];
        snprintf(stream, sizeof stream, "pcpu%d.refill", i);
        rng_stream(&m->pcpus[i].rng, sc->seed, stream);
    }
    struct xs_host_ops ops = {.opaque = m, .notify = store_notify};
    m->xs = xs_create(&ops);
    if (!m->xs) {
        snprintf(err, errlen, "cannot create the xenstore");
        return -1;
    }
    m->xs_place = trace_place(tr, PLACE_DEVICE, 0, "xenstored");
    if (platform_flash_create(m, err, errlen) < 0)
        return -1;
    for (int i = 0; i < sc->ndomains; i++)
        if (domain_build(m, i, err, errlen) < 0)
            return -1;
    assign_domids(m);
    platform_schedule_setvariable(m);
    balloon_schedule(m);
    for (int i = 0; i < m->ndoms; i++) {
        struct domain *d = m->doms[i];
        char name[48];
        snprintf(name, sizeof(name), "d%u %s", d->domid, d->name);
        d->place = trace_place(tr, PLACE_DOMAIN, d->domid, name);
        if (toolstack_introduce(m, d) < 0) {
            snprintf(err, errlen, "%s: cannot introduce to xenstore", d->name);
            return -1;
        }
    }
    if (platform_create(m, err, errlen) < 0)
        return -1;
    assign_devices(m);
    if (vtd_init(m, err, errlen) < 0)
        return -1;
    for (int i = 0; i < sc->nconns; i++)
        if (toolstack_connect(m, &sc->conns[i]) < 0) {
            snprintf(err, errlen, "%s:%d: connect: cannot write the device directories", sc->path,
                     sc->conns[i].line);
            return -1;
        }
    if (l4sys_setup(m, err, errlen) < 0)
        return -1;
    m->live_doms = m->ndoms;
    return 0;
}

int machine_run(struct machine *m)
{
    simtime_t limit = m->sc->time_limit_ps ? m->sc->time_limit_ps : SIMTIME_NEVER;
    sched_start(m);
    while (!m->stop) {
        simtime_t next = evq_peek(&m->q);
        if (next == SIMTIME_NEVER) { /* nothing can happen any more */
            if (m->live_doms > 0)
                machine_report_deadlock(m);
            break;
        }
        if (next > limit) {
            machine_report_time_limit(m);
            break;
        }
        evq_step(&m->q);
        if (m->progress && (m->q.fired & 0xffff) == 0)
            m->progress(m);
    }
    acct_finish(m);
    return m->failure[0] ? -1 : 0;
}

void machine_destroy(struct machine *m)
{
    vtd_destroy(m);
    l4sys_destroy(m);
    platform_destroy(m);
    for (int i = 0; i < m->ndoms; i++)
        domain_free(m->doms[i]);
    if (m->xs)
        xs_destroy(m->xs);
    balloon_fini(m);
    free(m->frame_owner);
    free(m->frame_maps);
    free(m->free_mfns);
    evq_fini(&m->q);
    if (m->mem) {
        munmap(m->mem, m->nr_mfns * PAGE_SIZE);
        close(m->mem_fd);
    }
}
