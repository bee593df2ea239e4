/*
 * Guest-side test of grant-table and event-channel error paths, two roles
 * connected as a split device of class "gnttest" (granter = frontend,
 * mapper = backend). Every check is a GCHECK (a HOPSIM_OP_TEST mark); the
 * program ends normally either way, and returns nonzero (crash) only when
 * the set-up itself fails.
 *
 * Sequence (XenbusState of each side drives it):
 *   granter: grants page A read-write and B read-only to the mapper, C to
 *            domid self+100; allocates an unbound port for the mapper and
 *            one for self+100; publishes ref-a ref-b ref-c event-channel
 *            event-channel-other nr-entries; -> Initialised.
 *   mapper:  map/unmap/copy error and success cases, event-channel cases;
 *            writes a pattern into A, keeps B mapped read-only; -> Connected.
 *   granter: sees the pattern in A; end_access(B) fails (mapped); revokes A;
 *            -> Connected.
 *   mapper:  map of the revoked A fails; unmaps B; -> Closing -> Closed.
 *   granter: end_access(B), (C) now succeed; -> Closing -> Closed.
 */
#include "guest.h"

#define CLASS "gnttest"
#define A_WORDS 64
#define NO_SUCH_DOMAIN 999
#define NEVER_PORT 4000

static uint64_t pat_a(unsigned k)
{
    return 0xa5a5000000000000ull | (uint64_t)k * 0x10001u;
}

static uint64_t pat_b(unsigned k)
{
    return 0xb0b0b0b000000000ull ^ ((uint64_t)k * 0x9e3779b97f4a7c15ull >> 16);
}

static int words_match(const uint64_t *p, unsigned first, unsigned n, uint64_t (*pat)(unsigned))
{
    for (unsigned k = 0; k < n; k++)
        if (p[k] != pat(first + k)) {
            printf("word %u: %llx, expected %llx\n", first + k, (unsigned long long)p[k],
                   (unsigned long long)pat(first + k));
            return 0;
        }
    return 1;
}

static long read_key(const char *dir, const char *key)
{
    char path[192];
    long v;
    snprintf(path, sizeof(path), "%s/%s", dir, key);
    int rc = xs_read_int(XBT_NIL, path, &v);
    if (rc) {
        printf("cannot read %s: %d\n", path, rc);
        return -1;
    }
    return v;
}

/* ---- granter (frontend) ---- */

static int publish(const char *dir, const char *const keys[], const long vals[], int n)
{
    char path[192];
    int rc;
    do {
        xs_tx_t t;
        rc = xs_transaction_start(&t);
        if (rc)
            return rc;
        for (int i = 0; i < n && !rc; i++) {
            snprintf(path, sizeof(path), "%s/%s", dir, keys[i]);
            rc = xs_printf(t, path, "%ld", vals[i]);
        }
        int end = xs_transaction_end(t, rc != 0);
        if (!rc)
            rc = end;
    } while (rc == -XEN_EAGAIN);
    return rc;
}

static int granter(void)
{
    struct xenbus_device dev;
    int rc = xenbus_frontend_device(CLASS, (int)arg_int("devid", 0), &dev);
    if (rc) {
        printf("no %s device: %d\n", CLASS, rc);
        return 1;
    }
    domid_t m = (domid_t)dev.otherend_id;
    domid_t other = (domid_t)(xen_domid + 100);

    uint64_t *pa = page_zalloc(1), *pb = page_alloc(1), *pc = page_zalloc(1);
    if (!pa || !pb || !pc)
        return 1;
    for (unsigned k = 0; k < PAGE_SIZE / 8; k++)
        pb[k] = pat_b(k);

    int ref_a = gnttab_grant_access(m, virt_to_pfn(pa), 0);
    int ref_b = gnttab_grant_access(m, virt_to_pfn(pb), 1);
    int ref_c = gnttab_grant_access(other, virt_to_pfn(pc), 0);
    if (!GCHECK(ref_a >= 0 && ref_b >= 0 && ref_c >= 0))
        return 1;
    GCHECK_EQ(gnttab_entry_flags((grant_ref_t)ref_a), GTF_permit_access);
    GCHECK_EQ(gnttab_entry_flags((grant_ref_t)ref_b), GTF_permit_access | GTF_readonly);

    evtchn_port_t port, port_other;
    if (!GCHECK_EQ(evtchn_alloc_unbound(m, &port), 0) ||
        !GCHECK_EQ(evtchn_alloc_unbound(other, &port_other), 0))
        return 1;
    struct evtchn_status s;
    GCHECK_EQ(evtchn_status(DOMID_SELF, port, &s), 0);
    GCHECK_EQ(s.status, EVTCHNSTAT_unbound);
    GCHECK_EQ(s.u.unbound.dom, m);

    static const char *const keys[] = {
        "ref-a", "ref-b", "ref-c", "event-channel", "event-channel-other", "nr-entries"};
    long vals[] = {ref_a, ref_b, ref_c, port, port_other, (long)gnttab_nr_entries()};
    rc = publish(dev.nodename, keys, vals, (int)ARRAY_SIZE(vals));
    if (rc) {
        printf("cannot publish refs: %d\n", rc);
        return 1;
    }
    xenbus_switch_state(dev.nodename, XenbusStateInitialised);

    /* The mapper has written A and still maps B read-only. */
    GCHECK_EQ(xenbus_wait_state(dev.otherend, XenbusStateConnected), XenbusStateConnected);
    GCHECK(words_match(pa, 0, A_WORDS, pat_a));
    GCHECK_EQ(gnttab_end_access((grant_ref_t)ref_b), -XEN_EBUSY);
    GCHECK(gnttab_entry_flags((grant_ref_t)ref_b) & GTF_reading);
    GCHECK_EQ(gnttab_end_access((grant_ref_t)ref_a), 0); /* revoke A */
    GCHECK_EQ(gnttab_entry_flags((grant_ref_t)ref_a), 0);
    xenbus_switch_state(dev.nodename, XenbusStateConnected);

    GCHECK_EQ(xenbus_wait_state(dev.otherend, XenbusStateClosed), XenbusStateClosed);
    GCHECK_EQ(gnttab_end_access((grant_ref_t)ref_b), 0);
    GCHECK_EQ(gnttab_end_access((grant_ref_t)ref_c), 0);
    /* The mapper closed its end: ours is unbound again (for the mapper). */
    GCHECK_EQ(evtchn_status(DOMID_SELF, port, &s), 0);
    GCHECK_EQ(s.status, EVTCHNSTAT_unbound);
    GCHECK_EQ(evtchn_close(port), 0);
    GCHECK_EQ(evtchn_close(port_other), 0);
    xenbus_switch_state(dev.nodename, XenbusStateClosing);
    xenbus_switch_state(dev.nodename, XenbusStateClosed);
    printf("granter: %lu checks passed, %lu failed\n", gcheck_passed, gcheck_failed);
    return 0;
}

/* ---- mapper (backend) ---- */

struct refs {
    domid_t g;
    grant_ref_t a, b, c;
    evtchn_port_t port, port_other;
    uint32_t nr_entries;
};

/* Raw map that undoes an unexpected success; returns the status. */
static int try_map(domid_t dom, grant_ref_t ref, uint32_t flags, uint64_t addr)
{
    grant_handle_t h;
    int st = gnttab_map_at(dom, ref, flags, addr, &h);
    if (st == GNTST_okay)
        gnttab_unmap_at(addr, h);
    return st;
}

static void map_errors(const struct refs *r, void *scratch)
{
    const uint32_t rw = GNTMAP_host_map, ro = GNTMAP_host_map | GNTMAP_readonly;
    uint64_t slot = (uint64_t)gnttab_slot_alloc();
    const uint64_t win_end = HOPSIM_GNT_WINDOW_BASE + HOPSIM_GNT_WINDOW_PAGES * PAGE_SIZE;

    GCHECK_EQ(try_map(r->g, r->nr_entries, ro, slot), GNTST_bad_gntref);
    GCHECK_EQ(try_map(r->g, 1u << 30, ro, slot), GNTST_bad_gntref);
    GCHECK_EQ(try_map(r->g, r->c, rw, slot), GNTST_general_error); /* granted to another */
    GCHECK_EQ(try_map(r->g, r->b, rw, slot), GNTST_general_error); /* read-only grant */
    GCHECK_EQ(try_map(NO_SUCH_DOMAIN, r->a, rw, slot), GNTST_bad_domain);
    GCHECK_EQ(try_map(r->g, r->a, rw, HOPSIM_GNT_WINDOW_BASE - PAGE_SIZE), GNTST_general_error);
    GCHECK_EQ(try_map(r->g, r->a, rw, win_end), GNTST_general_error);
    GCHECK_EQ(try_map(r->g, r->a, rw, (uint64_t)scratch), GNTST_general_error);
    GCHECK_EQ(gnttab_unmap_at(slot, 1000), GNTST_bad_handle);
    GCHECK_EQ(gnttab_unmap_at(slot, 0xfff0), GNTST_bad_handle);
    gnttab_slot_free((void *)slot);
}

/* Maps B read-only (left mapped); writes, unmaps, remaps A. Returns B's mapping. */
static const uint64_t *map_ok(const struct refs *r, grant_handle_t *hb)
{
    int st;
    const uint64_t *vb = gnttab_map(r->g, r->b, 1, hb, &st);
    GCHECK_EQ(st, GNTST_okay);
    if (vb)
        GCHECK(words_match(vb, 0, PAGE_SIZE / 8, pat_b));

    grant_handle_t ha;
    uint64_t *va = gnttab_map(r->g, r->a, 0, &ha, &st);
    GCHECK_EQ(st, GNTST_okay);
    if (va) {
        for (unsigned k = 0; k < A_WORDS; k++)
            va[k] = pat_a(k);
        GCHECK_EQ(gnttab_unmap(va, ha), GNTST_okay);
        GCHECK_EQ(gnttab_unmap_at((uint64_t)va, ha), GNTST_bad_handle); /* twice */
    }
    va = gnttab_map(r->g, r->a, 0, &ha, &st); /* remap after unmap */
    GCHECK_EQ(st, GNTST_okay);
    if (va) {
        GCHECK(words_match(va, 0, A_WORDS, pat_a));
        GCHECK_EQ(gnttab_unmap(va, ha), GNTST_okay);
    }
    return vb;
}

static void copy_tests(const struct refs *r, uint64_t *scratch)
{
    struct gnttab_copy op = {
        .source = {.u.ref = r->b, .domid = r->g, .offset = 4000},
        .dest = {.u.gmfn = virt_to_pfn(scratch), .domid = DOMID_SELF, .offset = 0},
        .len = 200,
        .flags = GNTCOPY_source_gref,
    };
    GCHECK_EQ(gnttab_copy_ops(&op, 1), 0);
    GCHECK_EQ(op.status, GNTST_bad_copy_arg);

    GCHECK_EQ(gnttab_copy_from_ref(r->g, r->b, 0, scratch, 128), GNTST_okay);
    GCHECK(words_match(scratch, 0, 16, pat_b));
    /* Across one of our page boundaries: two ops in one call. */
    uint64_t *cross = (uint64_t *)((char *)scratch + PAGE_SIZE - 24);
    GCHECK_EQ(gnttab_copy_from_ref(r->g, r->b, 800, cross, 64), GNTST_okay);
    GCHECK(words_match(cross, 100, 8, pat_b));
    /* Writing into a read-only grant. */
    GCHECK_EQ(gnttab_copy_to_ref(r->g, r->b, 0, scratch, 8), GNTST_general_error);
}

static volatile unsigned loop_hits;

static void loop_handler(evtchn_port_t port, void *data)
{
    (void)port;
    (void)data;
    loop_hits++;
}

/* Returns the port bound to the granter's channel (closed by the caller). */
static evtchn_port_t event_tests(const struct refs *r)
{
    evtchn_port_t p, lp = 0, x;
    GCHECK_EQ(evtchn_send(NEVER_PORT), -XEN_EINVAL);
    GCHECK_EQ(evtchn_send(0), -XEN_EINVAL);
    GCHECK_EQ(evtchn_alloc_unbound(r->g, &p), 0);
    GCHECK_EQ(evtchn_close(p), 0);
    GCHECK_EQ(evtchn_send(p), -XEN_EINVAL);
    GCHECK_EQ(evtchn_close(p), -XEN_EINVAL);

    GCHECK_EQ(evtchn_bind_interdomain(r->g, r->port, &lp), 0);
    struct evtchn_status s;
    GCHECK_EQ(evtchn_status(DOMID_SELF, lp, &s), 0);
    GCHECK_EQ(s.status, EVTCHNSTAT_interdomain);
    GCHECK_EQ(s.u.interdomain.dom, r->g);
    GCHECK_EQ(s.u.interdomain.port, r->port);
    GCHECK_EQ(evtchn_bind_interdomain(r->g, r->port, &x), -XEN_EINVAL);       /* bound now */
    GCHECK_EQ(evtchn_bind_interdomain(r->g, r->port_other, &x), -XEN_EINVAL); /* not for us */
    GCHECK_EQ(evtchn_bind_interdomain(r->g, NEVER_PORT, &x), -XEN_EINVAL);

    /* A masked port: loopback pair p1 -> p2 in this domain. */
    evtchn_port_t p1, p2;
    if (!GCHECK_EQ(evtchn_alloc_unbound(DOMID_SELF, &p1), 0) ||
        !GCHECK_EQ(evtchn_bind_interdomain(DOMID_SELF, p1, &p2), 0))
        return lp;
    GCHECK(evtchn_is_masked(p2));
    evtchn_set_handler(p2, loop_handler, NULL);
    evtchn_clear(p2); /* Xen raises a freshly bound port */
    loop_hits = 0;
    GCHECK_EQ(evtchn_send(p1), 0);
    GCHECK(evtchn_is_pending(p2));
    HYPERVISOR_sched_op(SCHEDOP_yield, NULL); /* a return where an upcall could come */
    GCHECK_EQ(loop_hits, 0);
    GCHECK(evtchn_is_pending(p2));
    GCHECK_EQ(evtchn_unmask(p2), 0); /* delivers the pending event */
    GCHECK_EQ(loop_hits, 1);
    GCHECK(!evtchn_is_pending(p2));
    GCHECK_EQ(evtchn_send(p1), 0); /* unmasked: delivered on the way back */
    GCHECK_EQ(loop_hits, 2);
    GCHECK_EQ(evtchn_unbind(p2), 0);
    GCHECK_EQ(evtchn_close(p1), 0);
    return lp;
}

static int mapper(void)
{
    struct xenbus_device dev;
    int rc = xenbus_backend_device(CLASS, &dev);
    if (rc) {
        printf("no %s device: %d\n", CLASS, rc);
        return 1;
    }
    xenbus_switch_state(dev.nodename, XenbusStateInitWait);
    int st = xenbus_wait_state(dev.otherend, XenbusStateInitialised);
    if (!GCHECK_EQ(st, XenbusStateInitialised))
        return 1;

    struct refs r = {.g = (domid_t)dev.otherend_id};
    long a = read_key(dev.otherend, "ref-a"), b = read_key(dev.otherend, "ref-b");
    long c = read_key(dev.otherend, "ref-c"), n = read_key(dev.otherend, "nr-entries");
    long p = read_key(dev.otherend, "event-channel");
    long po = read_key(dev.otherend, "event-channel-other");
    if (a < 0 || b < 0 || c < 0 || n <= 0 || p < 0 || po < 0)
        return 1;
    r.a = (grant_ref_t)a;
    r.b = (grant_ref_t)b;
    r.c = (grant_ref_t)c;
    r.nr_entries = (uint32_t)n;
    r.port = (evtchn_port_t)p;
    r.port_other = (evtchn_port_t)po;

    uint64_t *scratch = page_zalloc(2);
    if (!scratch)
        return 1;
    map_errors(&r, scratch);
    grant_handle_t hb = 0;
    const uint64_t *vb = map_ok(&r, &hb);
    copy_tests(&r, scratch);
    evtchn_port_t lp = event_tests(&r);
    xenbus_switch_state(dev.nodename, XenbusStateConnected);

    /* The granter checked A, failed to revoke B (mapped) and revoked A. */
    GCHECK_EQ(xenbus_wait_state(dev.otherend, XenbusStateConnected), XenbusStateConnected);
    uint64_t slot = (uint64_t)gnttab_slot_alloc();
    GCHECK_EQ(try_map(r.g, r.a, GNTMAP_host_map, slot), GNTST_general_error);
    gnttab_slot_free((void *)slot);
    if (vb)
        GCHECK_EQ(gnttab_unmap((void *)vb, hb), GNTST_okay);
    if (lp)
        GCHECK_EQ(evtchn_close(lp), 0);
    xenbus_switch_state(dev.nodename, XenbusStateClosing);
    xenbus_switch_state(dev.nodename, XenbusStateClosed);
    printf("mapper: %lu checks passed, %lu failed\n", gcheck_passed, gcheck_failed);
    return 0;
}

ARG_ENUM(role, "granter|mapper", "which side of the test");
ARG_INT(devid, 0, INT32_MAX, "the device");

int app_main(void)
{
    const char *role = arg_str("role", "");
    if (!strcmp(role, "granter"))
        return granter();
    if (!strcmp(role, "mapper"))
        return mapper();
    printf("unknown role '%s' (granter|mapper)\n", role);
    return 1;
}
