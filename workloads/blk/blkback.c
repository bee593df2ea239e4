/*
 * blkback: the Xen block backend (io/blkif.h) over the native SAS driver,
 * for the xen-dom0 architecture (dom0 owns the HBA).
 *
 * Arguments (start_info cmd_line):
 *   target=N            the HBA target (disk) every vbd is served from (0)
 *   grants=map|copy|persistent
 *                       map: map each segment's grant per request
 *                       (GNTMAP_host_map | GNTMAP_device_map, read-only
 *                       for a WRITE) and unmap after the completion;
 *                       copy: GNTTABOP_copy into / out of bounce pages of
 *                       our own; persistent: advertise feature-persistent
 *                       and keep grants mapped by gref for the connection's
 *                       lifetime (map mode if the frontend does not agree)
 *   vbd<D>_start=S vbd<D>_sectors=N
 *                       the window of the disk frontend domain D sees, in
 *                       512-byte sectors (default: the whole disk). Several
 *                       frontends may share the disk; give them disjoint
 *                       windows, or let their test programs use disjoint
 *                       regions (fio's offset/size).
 *   sas_qsize=N         HBA queue entries (256)
 *   sas_coal_us=N sas_coal_depth=N
 *                       HBA reply coalescing: one interrupt per N completions
 *                       or N us after the first (0: off; sas.h)
 *   fault_after=N       fault on taking the N-th request (security scenarios)
 *   compromise_after=N victim_sector=S  hostile code in the backend (attack-
 *                       matrix): with its N-th read it tries another frontend's
 *                       memory, its disk region from sector S and the
 *                       hypervisor's memory (bb_probe.c), and aims its DMA
 *   rogue_after=N       a rogue driver (security scenarios): with its N-th
 *                       read, also program the HBA to read one 4 KiB block
 *                       into the machine frame after the request's first
 *                       granted page -- the frontend's memory, not granted
 *   max_queues=N        multi-queue-max-queues we offer (default: our
 *                       vCPUs, as Linux's xenblk_max_queues)
 *   irq_cpu=N           the vCPU the HBA's interrupt is bound to (0)
 *   store=hba|brd       where the vbds' data lives: the HBA's disk (hba), or
 *                       a RAM disk in our own memory, as a dom0 exporting
 *                       Linux's brd (bb_brd.c): served and completed at once
 *                       on the ring's vCPU, no device and no interrupt; the
 *                       vbd windows are still cut from the HBA disk's size
 *
 * Handshake, per vbd (the toolstack wrote /local/domain/<self>/backend/
 * vbd/<fe>/<devid> with frontend, frontend-id, online=1, state=1): write
 * sectors, sector-size, physical-sector-size, info, feature-flush-cache,
 * feature-persistent (if grants=persistent), max-ring-page-order = 0,
 * multi-queue-max-queues, then InitWait. When the frontend is Initialised:
 * read multi-queue-num-queues (1 if absent; 0 or more than we offered is
 * refused, as Linux's connect_ring refuses it), then per ring ring-ref and
 * event-channel -- from the frontend's directory for one ring, from
 * queue-N/ for several -- protocol (must be x86_64-abi if present),
 * feature-persistent; map each ring, bind its event channel and bind that
 * to the next vCPU in turn (EVTCHNOP_bind_vcpu), Connected. The
 * frontend's Closing -> we disconnect (wait for its I/O in flight, unmap
 * everything) and go Closing; its Closed -> Closed. When every vbd is
 * Closed the domain powers off.
 *
 * Rings and vCPUs: each ring is a worker of its own (Linux's one kthread
 * per xen_blkif_ring), running in the upcall of the vCPU its event
 * channel is bound to; the rings of all vbds are dealt over the vCPUs
 * round robin starting at vCPU 1, so vCPU 0 keeps xenstore and the HBA
 * interrupt. A ring's lock serialises its worker and the completions
 * (which run on the interrupt's vCPU); the HBA driver has its own lock,
 * always taken after a ring's.
 *
 * Requests (event handler, upcall context): consume every available
 * request, issue each to the HBA, ring the doorbell once, then
 * RING_FINAL_CHECK_FOR_REQUESTS. Each request is copied out of the shared
 * ring field by field, once, before it is checked (the frontend may change
 * the slot under us). Rules:
 *   operation READ, WRITE, FLUSH_DISKCACHE; anything else -> EOPNOTSUPP;
 *   READ/WRITE: 1..11 segments, first_sect <= last_sect <= 7 each,
 *   sector_number + sectors within the window, aligned to the disk's block,
 *   every grant mapped (or copied) -> else BLKIF_RSP_ERROR, and nothing
 *   reaches the disk. A req_prod more than RING_SIZE ahead of our
 *   responses (RING_REQUEST_PROD_OVERFLOW) disconnects that frontend
 *   (Closing; later requests are ignored) and no other.
 * A request is taken off the ring only when a request slot of its ring and
 * an HBA command slot are free; otherwise the ring stalls and is resumed
 * when completions free slots.
 *
 * Completions (HBA interrupt, upcall context): copy out (copy mode READ),
 * unmap (map mode), write the response, mark H6. Responses are pushed
 * with RING_PUSH_RESPONSES_AND_CHECK_NOTIFY once per interrupt per ring;
 * a push that needs no notify skips the hypervisor hop H7 (the protocol's
 * own batching). Only the rings that need it are visited after an
 * interrupt: a ring with a response written or a stalled ring puts itself
 * on an attention list, so the work per interrupt does not grow with the
 * number of frontends (Linux wakes the one ring's kthread, xen_blkif_schedule,
 * through its own wait queue; it never walks every ring).
 *
 * Memory ordering (io/ring.h, x86 TSO): req_prod is read before the
 * requests (read barrier); responses are written before the push's write
 * barrier publishes rsp_prod, whose full barrier orders it before the
 * rsp_event read. RING_FINAL_CHECK_FOR_REQUESTS writes req_event, then a
 * full barrier, then re-reads req_prod.
 *
 * Hops: H4 when a request is taken off the ring (the hypervisor moved it
 * H2 -> H3 on the notify), the device marks H5, H6 at the response.
 */
#include "blkback.h"
#include "blkif_check.h"

#include <xen/io/protocols.h>

#include "../back/backend.h"
#include "bb.h"
#include "dma.h"
#include "sas.h"
#include "smp.h"

static struct vbd vbds[MAX_VBDS];
static int nvbds;
struct sas_hba *bb_hba;
const struct sas_target_info *bb_disk;
uint8_t bb_target, bb_blk_shift;
long bb_fault_after, bb_rogue_after, bb_compromise_after, bb_victim_sector;

domid_t bb_other_frontend(domid_t fe)
{
    for (int i = 0; i < nvbds; i++)
        if (vbds[i].fe != fe && vbds[i].state == VBD_CONNECTED)
            return vbds[i].fe;
    return DOMID_INVALID;
}
enum grant_mode bb_mode;
enum bb_store bb_store;
static unsigned max_queues; /* multi-queue-max-queues we offer: one per vCPU, as Linux */
static unsigned next_cpu;   /* the vCPU the next ring is bound to (round robin) */

/* ---- xenstore, program context ---- */

static int write_key(const struct vbd *v, const char *key, unsigned long long val)
{
    char path[192];
    snprintf(path, sizeof(path), "%s/%s", v->nodename, key);
    return xs_printf(XBT_NIL, path, "%llu", val);
}

static int advertise(const struct vbd *v)
{
    int rc = write_key(v, "sectors", v->sectors);
    rc = rc ? rc : write_key(v, "sector-size", bb_disk->blksz);
    rc = rc ? rc : write_key(v, "physical-sector-size", bb_disk->blksz);
    rc = rc ? rc : write_key(v, "info", 0);
    rc = rc ? rc : write_key(v, "feature-flush-cache", 1);
    if (bb_mode == GM_PERSISTENT)
        rc = rc ? rc : write_key(v, "feature-persistent", 1);
    rc = rc ? rc : write_key(v, "max-ring-page-order", 0);
    rc = rc ? rc : write_key(v, "multi-queue-max-queues", max_queues);
    return rc ? rc : xenbus_switch_state(v->nodename, XenbusStateInitWait);
}

static int protocol_ok(const struct vbd *v)
{
    char path[192], proto[32];
    snprintf(path, sizeof(path), "%s/protocol", v->fepath);
    int n = xs_read(XBT_NIL, path, proto, sizeof(proto));
    if (n == -XEN_ENOENT || (n >= 0 && !strcmp(proto, XEN_IO_PROTO_ABI_X86_64)))
        return 1;
    printf("blkback: dom%u: unsupported protocol '%s'\n", v->fe, n >= 0 ? proto : "?");
    return 0;
}

static int map_ring(struct bb_ring *r, long ref)
{
    struct vbd *v = r->v;
    int st, f = irq_save();
    r->ring_addr = gnttab_map(v->fe, (grant_ref_t)ref, 0, &r->ring_handle, &st);
    if (r->ring_addr && bb_mode == GM_PERSISTENT && v->persistent) {
        r->pg = page_zalloc(PG_SLOTS * sizeof(struct pgnt) / PAGE_SIZE);
        r->npg = 0;
    }
    irq_restore(f);
    if (!r->ring_addr) {
        printf("blkback: dom%u queue %u: map of ring-ref %ld failed: %d\n", v->fe, r->q, ref, st);
        return -1;
    }
    BACK_RING_INIT(&r->ring, (blkif_sring_t *)r->ring_addr, PAGE_SIZE);
    return 0;
}

static size_t rings_pages(unsigned n)
{
    return (n * sizeof(struct bb_ring) + PAGE_SIZE - 1) / PAGE_SIZE;
}

/*
 * One ring from the frontend's keys in dir (its own directory for a single
 * ring, queue-N for each of several, as Linux's read_per_ring_refs):
 * map it, bind its event channel and bind that to the next vCPU in turn.
 */
static int connect_ring(struct bb_ring *r, const char *dir)
{
    struct vbd *v = r->v;
    long ref = xs_read_long(dir, "ring-ref", -1);
    long evtchn = xs_read_long(dir, "event-channel", -1);
    if (ref < 0 || evtchn < 0) {
        printf("blkback: dom%u: %s: ring-ref / event-channel unusable\n", v->fe, dir);
        return -1;
    }
    if (map_ring(r, ref))
        return -1;
    int rc = evtchn_bind_interdomain(v->fe, (evtchn_port_t)evtchn, &r->port);
    if (rc) {
        r->port = 0;
        printf("blkback: dom%u: bind_interdomain(port %ld) failed: %d\n", v->fe, evtchn, rc);
        return -1; /* disconnect() unmaps the ring */
    }
    r->cpu = next_cpu;
    next_cpu = (next_cpu + 1) % smp_ncpus;
    rc = evtchn_bind_vcpu(r->port, r->cpu);
    if (rc) {
        printf("blkback: dom%u: bind_vcpu(port %u, vCPU %u) failed: %d\n", v->fe, r->port, r->cpu,
               rc);
        return -1;
    }
    return 0;
}

/*
 * Linux's connect_ring: multi-queue-num-queues (1 when the frontend wrote
 * none) must lie within the multi-queue-max-queues we offered; one ring
 * reads the flat keys, several read queue-0 .. queue-N-1.
 */
static int connect(struct vbd *v)
{
    long nq = xs_read_long(v->fepath, "multi-queue-num-queues", 1);
    if (nq < 1 || nq > (long)max_queues) {
        printf("blkback: dom%u: guest requested %ld queues, exceeding the maximum of %u\n", v->fe,
               nq, max_queues);
        return -1;
    }
    if (!protocol_ok(v))
        return -1;
    v->persistent =
        bb_mode == GM_PERSISTENT && xs_read_long(v->fepath, "feature-persistent", 0) == 1;
    v->rings = page_zalloc(rings_pages((unsigned)nq));
    if (!v->rings) {
        printf("blkback: dom%u: no memory for %ld rings\n", v->fe, nq);
        return -1;
    }
    v->nrings = (unsigned)nq;
    v->broken = 0;
    if (nq == 1)
        printf("blkback: dom%u vbd %d: one ring (ring-ref, event-channel)\n", v->fe, v->devid);
    else
        printf("blkback: dom%u vbd %d: multi-queue-num-queues=%ld of %u: rings from "
               "queue-0..queue-%ld/{ring-ref,event-channel}\n",
               v->fe, v->devid, nq, max_queues, nq - 1);
    char cpus[64] = "";
    for (unsigned q = 0; q < v->nrings; q++) {
        struct bb_ring *r = &v->rings[q];
        r->v = v;
        r->q = q;
        r->free_mask = (uint32_t)((1ull << BLKIF_RING_SIZE) - 1);
        for (unsigned i = 0; i < BLKIF_RING_SIZE; i++) {
            r->req[i].r = r;
            r->req[i].index = (uint8_t)i;
        }
        char dir[160];
        if (v->nrings == 1)
            snprintf(dir, sizeof(dir), "%s", v->fepath);
        else
            snprintf(dir, sizeof(dir), "%s/queue-%u", v->fepath, q);
        if (connect_ring(r, dir))
            return -1;
        size_t n = strlen(cpus);
        snprintf(cpus + n, sizeof(cpus) - n, "%s%u", q ? "," : "", r->cpu);
    }
    v->state = VBD_CONNECTED;
    for (unsigned q = 0; q < v->nrings; q++)
        evtchn_attach(v->rings[q].port, ring_event, &v->rings[q]);
    printf("blkback: dom%u vbd %d connected: sectors [%llu, +%llu), grants %s, %u queue%s on "
           "vCPU %s\n",
           v->fe, v->devid, (unsigned long long)v->start, (unsigned long long)v->sectors,
           bb_mode == GM_COPY ? "copy"
           : v->persistent    ? "persistent"
                              : "map",
           v->nrings, v->nrings == 1 ? "" : "s", cpus);
    return xenbus_switch_state(v->nodename, XenbusStateConnected);
}

/* Unbind and unmap every ring and persistent grant, free the bounce pages. Nothing in flight. */
static void release(struct vbd *v)
{
    for (unsigned q = 0; v->rings && q < v->nrings; q++) {
        struct bb_ring *r = &v->rings[q];
        if (r->port) {
            evtchn_detach_sync(r->port); /* its worker on another vCPU is done with r */
            evtchn_unbind(r->port);
        }
        r->port = 0;
        ring_forget(r);
        /* the interrupt's vCPU may be visiting r from an attention list it took before */
        while (__atomic_load_n(&r->draining, __ATOMIC_ACQUIRE))
            HYPERVISOR_sched_op(SCHEDOP_yield, NULL);
        int f = irq_save();
        if (r->ring_addr && gnttab_unmap(r->ring_addr, r->ring_handle))
            printf("blkback: dom%u queue %u: ring unmap failed\n", v->fe, q);
        r->ring_addr = NULL;
        pg_release(r);
        for (unsigned i = 0; i < BLKIF_RING_SIZE; i++)
            bounce_release(&r->req[i]);
        irq_restore(f);
        v->served += r->served;
        v->failed += r->failed;
        size_t n = strlen(v->per_queue);
        snprintf(v->per_queue + n, sizeof(v->per_queue) - n, "%s%lu", q ? "," : "", r->served);
    }
    if (v->rings)
        page_free(v->rings, rings_pages(v->nrings));
    v->rings = NULL;
    v->nrings = 0;
}

static int idle(const struct vbd *v)
{
    for (unsigned q = 0; q < v->nrings; q++)
        if (READ_ONCE(v->rings[q].inflight))
            return 0;
    return 1;
}

/* Stop serving, let the HBA finish what it holds, unmap everything, Closing. */
static void disconnect(struct vbd *v)
{
    if (v->state == VBD_CONNECTED) {
        for (unsigned q = 0; q < v->nrings; q++) {
            int f = spin_lock_irqsave(&v->rings[q].lock);
            v->state = VBD_CLOSING; /* completions from now on write no response */
            spin_unlock_irqrestore(&v->rings[q].lock, f);
            /* a worker already inside the ring's handler on another vCPU finishes first: it
               saw the state under the lock and takes no request after it */
            evtchn_detach_sync(v->rings[q].port);
        }
        WAIT_UNTIL(idle(v));
    }
    release(v);
    v->state = VBD_CLOSING;
    xenbus_switch_state(v->nodename, XenbusStateClosing);
}

static void step(struct vbd *v)
{
    int fe = xenbus_read_state(v->fepath);
    if (fe == XenbusStateUnknown)
        fe = XenbusStateClosed; /* frontend gone */
    if (v->state == VBD_NEW && (fe == XenbusStateInitialised || fe == XenbusStateConnected) &&
        connect(v))
        disconnect(v);
    if ((v->state == VBD_NEW || v->state == VBD_CONNECTED) &&
        (fe == XenbusStateClosing || fe == XenbusStateClosed || v->broken))
        disconnect(v);
    if (v->state == VBD_CLOSING && fe == XenbusStateClosed) {
        xenbus_switch_state(v->nodename, XenbusStateClosed);
        v->state = VBD_CLOSED;
        printf("blkback: dom%u vbd %d closed: %lu requests (per queue %s), %lu failed\n", v->fe,
               v->devid, v->served, v->per_queue[0] ? v->per_queue : "-", v->failed);
    }
}

/* The vbd<fe>_start / vbd<fe>_sectors window: 0, or -1 if it does not fit the disk. */
static int window(struct vbd *v)
{
    char key[32];
    uint64_t total = bb_disk->blocks << bb_blk_shift;
    snprintf(key, sizeof(key), "vbd%u_start", v->fe);
    v->start = (uint64_t)arg_int(key, 0);
    snprintf(key, sizeof(key), "vbd%u_sectors", v->fe);
    v->sectors = (uint64_t)arg_int(key, (long)(total - MIN(v->start, total)));
    uint64_t mask = (1u << bb_blk_shift) - 1;
    if (v->start >= total || v->sectors > total - v->start || !v->sectors ||
        ((v->start | v->sectors) & mask)) {
        printf("blkback: dom%u: window [%llu, +%llu) does not fit the disk (%llu sectors)\n", v->fe,
               (unsigned long long)v->start, (unsigned long long)v->sectors,
               (unsigned long long)total);
        return -1;
    }
    return 0;
}

static struct vbd *find_vbd(long fe, long devid)
{
    for (int i = 0; i < nvbds; i++)
        if (vbds[i].fe == fe && vbds[i].devid == devid)
            return &vbds[i];
    return NULL;
}

static void add_vbd(const char *base, long fe, long devid)
{
    if (find_vbd(fe, devid))
        return;
    if (nvbds == MAX_VBDS) {
        char node[160], why[48];
        snprintf(node, sizeof(node), "%s/%ld/%ld", base, fe, devid);
        snprintf(why, sizeof(why), "too many frontends (max %d)", MAX_VBDS);
        xenbus_backend_refuse(node, "blkback", why);
        return;
    }
    struct vbd *v = &vbds[nvbds];
    v->state = VBD_NEW; /* the rest of vbds[] is zero (bss) or set at connect */
    v->fe = (domid_t)fe;
    v->devid = (int)devid;
    snprintf(v->nodename, sizeof(v->nodename), "%s/%ld/%ld", base, fe, devid);
    if (xenbus_backend_frontend(v->nodename, fe, v->fepath, sizeof(v->fepath)))
        return; /* not complete yet: a later scan picks it up */
    nvbds++;
    char path[192];
    snprintf(path, sizeof(path), "%s/state", v->fepath);
    xs_watch(path, "fe");
    if (window(v) || advertise(v)) {
        v->state = VBD_CLOSING;
        xenbus_switch_state(v->nodename, XenbusStateClosing);
    }
}

static void scan_one(const char *base, long fe, long devid, void *ctx)
{
    (void)ctx;
    add_vbd(base, fe, devid);
}

static void scan(const char *base)
{
    xenbus_backend_scan(base, scan_one, NULL);
}

ARG_ENUM(grants, "map|copy|persistent", "how the backend reaches the frontend's pages");
ARG_INT(target, 0, 255, "the disk (SAS target) to serve");
ARG_INT(max_queues, 1, MAX_QUEUES,
        "multi-queue-max-queues offered (default: the vCPUs brought up)");
ARG_INT(irq_cpu, 0, SMP_MAX_CPUS - 1, "the vCPU the HBA's interrupt is bound to");
ARG_ENUM(store, "hba|brd", "the vbds' data: the HBA's disk, or a RAM disk in our memory (brd)");
ARG_INT(sas_qsize, 1, 65536, "SAS HBA queue entries (clamped to the HBA's maximum)");
ARG_INT(sas_coal_us, 0, SAS_COAL_TIMEOUT_MAX, "HBA reply coalescing timeout, us (0: off)");
ARG_INT(sas_coal_depth, 0, SAS_COAL_DEPTH_MAX, "HBA reply coalescing depth (0: the timeout alone)");
ARG_INT(fault_after, 0, INT64_MAX, "fault on the N-th request (0: never)");
ARG_INT(compromise_after, 0, INT64_MAX,
        "hostile code in the backend probes what it can reach with its N-th read (0: never)");
ARG_INT(victim_sector, 0, INT64_MAX, "the other frontend's first disk sector (the probe's aim)");
ARG_INT(rogue_after, 0, INT64_MAX,
        "rogue DMA into the frontend's memory with the N-th read (0: never)");
ARG_NAMED_INT(vbd_start, "vbd#_start", 0, INT64_MAX, 0, "first sector of dom#'s window");
ARG_NAMED_INT(vbd_sectors, "vbd#_sectors", 1, INT64_MAX, 0, "sectors in dom#'s window");

static int parse_mode(void)
{
    const char *g = arg_str("grants", "map");
    if (!strcmp(g, "map"))
        bb_mode = GM_MAP;
    else if (!strcmp(g, "copy"))
        bb_mode = GM_COPY;
    else if (!strcmp(g, "persistent"))
        bb_mode = GM_PERSISTENT;
    else {
        printf("blkback: grants=%s: expected map, copy or persistent\n", g);
        return -1;
    }
    return 0;
}

static int setup_disk(void)
{
    long t = arg_int("target", 0);
    int rc = sas_probe((unsigned)arg_int("sas_qsize", SAS_DEFAULT_QSIZE), &bb_hba);
    if (rc == -XEN_ENODEV) {
        printf("blkback: no SAS HBA in this domain: block backend off\n");
        return 1;
    }
    if (rc) {
        printf("blkback: no usable SAS HBA: %d\n", rc);
        return -1;
    }
    bb_disk = t >= 0 ? sas_target(bb_hba, (unsigned)t) : NULL;
    if (!bb_disk || (bb_disk->blksz != 512 && bb_disk->blksz != 4096)) {
        printf("blkback: target=%ld: no such disk\n", t);
        return -1;
    }
    rc = sas_set_coalescing(bb_hba, (unsigned)arg_int("sas_coal_us", 0),
                            (unsigned)arg_int("sas_coal_depth", 0));
    if (rc) {
        printf("blkback: reply coalescing refused: %d\n", rc);
        return -1;
    }
    bb_target = (uint8_t)t;
    bb_blk_shift = bb_disk->blksz == 4096 ? 3 : 0;
    sas_set_batch_hook(bb_hba, bb_batch, NULL);
    return 0;
}

static char base[96];

int blkback_init(void)
{
    bb_fault_after = arg_int("fault_after", 0);
    bb_rogue_after = arg_int("rogue_after", 0);
    bb_compromise_after = arg_int("compromise_after", 0);
    bb_victim_sector = arg_int("victim_sector", 0);
    if (parse_mode())
        return -1;
    const char *store = arg_str("store", "hba");
    if (strcmp(store, "hba") && strcmp(store, "brd")) {
        printf("blkback: store=%s: expected hba or brd\n", store);
        return -1;
    }
    bb_store = strcmp(store, "brd") ? STORE_HBA : STORE_BRD;
    if (bb_store == STORE_BRD && brd_init())
        return -1;
    long mq = arg_int("max_queues", (long)smp_ncpus);
    if (mq < 1 || mq > MAX_QUEUES) {
        printf("blkback: max_queues=%ld: expected 1..%d\n", mq, MAX_QUEUES);
        return -1;
    }
    max_queues = (unsigned)mq;
    next_cpu = 1 % smp_ncpus; /* vCPU 0 keeps xenstore and, by default, the interrupt */
    int rc = setup_disk();
    if (rc)
        return rc;
    long irq_cpu = arg_int("irq_cpu", 0);
    if (irq_cpu < 0 || irq_cpu >= (long)smp_ncpus || sas_irq_affinity(bb_hba, (unsigned)irq_cpu)) {
        printf("blkback: irq_cpu=%ld: no such vCPU (of %u)\n", irq_cpu, smp_ncpus);
        return -1;
    }
    snprintf(base, sizeof(base), "/local/domain/%u/backend/vbd", xen_domid);
    rc = xs_watch(base, "be");
    if (rc < 0) {
        printf("blkback: cannot watch %s: %d\n", base, rc);
        return -1;
    }
    return 0;
}

void blkback_poll(const char *path)
{
    if (!path) {
        scan(base);
        for (int i = 0; i < nvbds; i++)
            step(&vbds[i]);
        return;
    }
    long fe, devid;
    int depth = xenbus_backend_node(base, path, &fe, &devid);
    if (depth == 0 || depth == 1)
        scan(base);
    else if (depth == 2)
        add_vbd(base, fe, devid); /* nothing if we know it: xenbus_dev_changed */
    for (int i = 0; i < nvbds; i++)
        if (xenbus_path_under(vbds[i].fepath, path))
            step(&vbds[i]); /* otherend_changed -> frontend_changed */
}

int blkback_vbds(int *closed)
{
    int n = 0;
    for (int i = 0; i < nvbds; i++)
        n += vbds[i].state == VBD_CLOSED;
    *closed = n;
    return nvbds;
}

void blkback_fini(void)
{
    xs_unwatch(base, "be");
    sas_shutdown(bb_hba);
}
