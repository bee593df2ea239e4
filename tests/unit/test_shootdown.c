/*
 * TLB shootdowns after grant unmaps (sim/xen/flush.c), driven through the
 * grant-table operation as the hypercall dispatcher issues it: a machine of
 * four pCPUs, a granter `a` on cpu3, a two-vCPU mapper `b` on cpu0 and cpu1,
 * and `c` on cpu2. Checks: one flush per unmap batch (Xen's
 * GNTTAB_UNMAP_BATCH_SIZE), the flush scope (the CPUs whose loaded context
 * is the mapper: charged and traced on their own tracks; the others
 * untouched), the initiator's wait for acknowledgements, the handler time a
 * busy CPU owes, and the runtime-service scope under uefi-rt.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "machine_fixture.h"

#define SCRATCH 0x10000ull /* below the image (0x100000), inside RAM */
#define PAGE_A_GPFN 0x20   /* a's pages it grants: PAGE_A_GPFN + ref */
#define WIN(i) (HOPSIM_GNT_WINDOW_BASE + (uint64_t)(i)*4096)

static struct scenario sc;
static struct machine m;
static struct trace *tr;
static struct domain *A, *B, *C;

/* every tlb_flush span written, in order */
#define MAX_SEEN 256
static struct seen {
    uint16_t place;
    simtime_t start, end;
    char name[32];
    int64_t arg;
    uint64_t req;
} seen[MAX_SEEN];
static int nseen;

static void listen(void *ctx, const struct trace_rec *r)
{
    (void)ctx;
    if (r->type != TREC_SPAN || r->kind != SPAN_TLB_FLUSH || nseen == MAX_SEEN)
        return;
    struct seen *s = &seen[nseen++];
    s->place = r->place;
    s->start = r->start;
    s->end = r->end;
    s->arg = r->arg;
    s->req = r->req;
    snprintf(s->name, sizeof(s->name), "%s", r->name ? r->name : "");
}

static void setup(void)
{
    nseen = 0;
    fixture_scenario(&sc, "shootdown-test", 4, 64ull << 20, 3);
    const int cpu[3] = {3, 0, 2}, vcpus[3] = {1, 2, 1};
    for (int i = 0; i < 3; i++) {
        sc.domains[i].vcpus = vcpus[i];
        sc.domains[i].cpu = cpu[i];
    }
    struct trace_opts to = {.listen = listen};
    tr = fixture_machine(&m, &sc, &to);
    A = m.doms[0];
    B = m.doms[1];
    C = m.doms[2];
    ck_assert_int_eq(B->vcpus[0]->pcpu, 0);
    ck_assert_int_eq(B->vcpus[1]->pcpu, 1);
    /* nothing has run: every CPU idle since 0, no context loaded */
    for (int i = 0; i < 4; i++)
        ck_assert_ptr_null(m.pcpus[i].last_dom);
}

static void teardown(void)
{
    char err[256];
    machine_destroy(&m);
    trace_close(tr, err, sizeof(err));
}

/* b maps a's grants 0..n-1 into window slots 0..n-1 (one hypercall); returns the handles */
static void map_n(int n, grant_handle_t *h)
{
    struct gnttab_map_grant_ref *ops = guest_ram(B, SCRATCH, (uint64_t)n * sizeof(*ops));
    for (int i = 0; i < n; i++) {
        grant_entry_v1_t *e = &A->gt.shared[i];
        e->domid = B->domid;
        e->frame = (uint32_t)(PAGE_A_GPFN + i);
        e->flags = GTF_permit_access;
        ops[i] = (struct gnttab_map_grant_ref){
            .host_addr = WIN(i), .flags = GNTMAP_host_map, .ref = (grant_ref_t)i, .dom = A->domid};
    }
    simtime_t cost = 0;
    ck_assert_int_eq(gnttab_op(B->vcpus[0], GNTTABOP_map_grant_ref, SCRATCH, (uint32_t)n, 0, &cost),
                     0);
    for (int i = 0; i < n; i++) {
        ck_assert_int_eq(ops[i].status, GNTST_okay);
        h[i] = ops[i].handle;
    }
}

/* b's vCPU `vc` unmaps handles h[0..n-1] in one hypercall at `now`; returns its charged time */
static simtime_t unmap_n(int vc, int n, const grant_handle_t *h, simtime_t now)
{
    struct gnttab_unmap_grant_ref *ops = guest_ram(B, SCRATCH, (uint64_t)n * sizeof(*ops));
    for (int i = 0; i < n; i++)
        ops[i] = (struct gnttab_unmap_grant_ref){.host_addr = WIN(i), .handle = h[i]};
    simtime_t cost = 0;
    ck_assert_int_eq(
        gnttab_op(B->vcpus[vc], GNTTABOP_unmap_grant_ref, SCRATCH, (uint32_t)n, now, &cost), 0);
    for (int i = 0; i < n; i++)
        ck_assert_int_eq(ops[i].status, GNTST_okay);
    return cost;
}

static int count_named(const char *name, int place)
{
    int n = 0;
    for (int i = 0; i < nseen; i++)
        if (!strcmp(seen[i].name, name) && (place < 0 || seen[i].place == place))
            n++;
    return n;
}

static simtime_t C_(enum cost_id id)
{
    return machine_cost(&m, id);
}

START_TEST(one_flush_per_unmap_batch)
{
    grant_handle_t h[40];
    map_n(8, h);
    /* nobody else holds b's context: a local flush only (1 ms later: the maps' locks are free) */
    simtime_t cost = unmap_n(0, 8, h, 1000000000);
    ck_assert_uint_eq(B->tlb_flushes, 1);
    ck_assert_int_eq(count_named("local", m.pcpus[0].place), 1);
    ck_assert_int_eq(count_named("wait for acks", -1), 0);
    ck_assert_uint_eq(cost, 8 * C_(C_GNT_UNMAP) + C_(C_TLB_FLUSH));
    /* 40 unmaps are two batches of Xen's GNTTAB_UNMAP_BATCH_SIZE (32): two flushes */
    map_n(40, h);
    unmap_n(0, 40, h, 0);
    ck_assert_uint_eq(B->tlb_flushes, 3);
    ck_assert_int_eq(count_named("local", -1), 3);
}
END_TEST

START_TEST(failed_unmaps_still_flush_once)
{
    /* Xen flushes after each batch whatever the operations' status */
    struct gnttab_unmap_grant_ref *ops = guest_ram(B, SCRATCH, 3 * sizeof(*ops));
    for (int i = 0; i < 3; i++)
        ops[i] = (struct gnttab_unmap_grant_ref){.host_addr = WIN(i), .handle = 900};
    simtime_t cost = 0;
    ck_assert_int_eq(gnttab_op(B->vcpus[0], GNTTABOP_unmap_grant_ref, SCRATCH, 3, 0, &cost), 0);
    ck_assert_int_eq(ops[0].status, GNTST_bad_handle);
    ck_assert_uint_eq(B->tlb_flushes, 1);
}
END_TEST

START_TEST(scope_is_the_dirty_mask)
{
    grant_handle_t h[4];
    map_n(4, h);
    /* b's context is loaded on cpu0 and cpu1 (both its vCPUs ran), c's on cpu2, a's on cpu3 */
    m.pcpus[0].last_dom = B;
    m.pcpus[1].last_dom = B;
    m.pcpus[2].last_dom = C;
    m.pcpus[3].last_dom = A;
    ck_assert_uint_eq(flush_dirty_mask(B, 0), 0x3);
    ck_assert_uint_eq(flush_dirty_mask(C, 2), 0x4);
    const simtime_t t0 = 1000000000; /* 1 ms: the maps' locks are free again */
    simtime_t cost = unmap_n(0, 4, h, t0);
    simtime_t lat = C_(C_TLB_IPI_LATENCY), hnd = C_(C_TLB_IPI_HANDLER);
    /* the initiator: its flush, then the wait for cpu1's acknowledgement */
    ck_assert_uint_eq(cost, 4 * C_(C_GNT_UNMAP) + C_(C_TLB_FLUSH) + lat + hnd);
    ck_assert_int_eq(count_named("wait for acks", m.pcpus[0].place), 1);
    /* cpu1 (idle) takes the IPI at once: a span on its own track, busy time in its accounting */
    ck_assert_int_eq(count_named("flush IPI", m.pcpus[1].place), 1);
    simtime_t at = t0 + 4 * C_(C_GNT_UNMAP) + C_(C_TLB_FLUSH) + lat;
    for (int i = 0; i < nseen; i++)
        if (seen[i].place == m.pcpus[1].place) {
            ck_assert_uint_eq(seen[i].start, at);
            ck_assert_uint_eq(seen[i].end, at + hnd);
            ck_assert_int_eq(seen[i].arg, 0); /* from cpu0 */
            ck_assert_uint_eq(seen[i].req, HOPSIM_NOREQ);
        }
    ck_assert_uint_eq(m.pcpus[1].flush_ipis, 1);
    ck_assert_uint_eq(m.pcpus[1].acct.busy, hnd);
    ck_assert_uint_eq(m.pcpus[1].idle_since, at + hnd);
    /* cpu2 and cpu3 hold other domains' contexts: untouched */
    for (int i = 2; i < 4; i++) {
        ck_assert_uint_eq(m.pcpus[i].flush_ipis, 0);
        ck_assert_uint_eq(m.pcpus[i].acct.busy, 0);
        ck_assert_int_eq(count_named("flush IPI", m.pcpus[i].place), 0);
    }
    ck_assert_uint_eq(B->tlb_remote_cpus, 1);
}
END_TEST

START_TEST(lazy_context_and_every_dirty_cpu)
{
    grant_handle_t h[2];
    map_n(2, h);
    /* cpu2 and cpu3 last ran b and went idle: the bit stays (lazy switch to idle) */
    m.pcpus[0].last_dom = B;
    m.pcpus[2].last_dom = B;
    m.pcpus[3].last_dom = B;
    simtime_t cost = unmap_n(0, 2, h, 1000000000);
    /* the wait is for the slowest acknowledgement, not one per CPU */
    ck_assert_uint_eq(cost, 2 * C_(C_GNT_UNMAP) + C_(C_TLB_FLUSH) + C_(C_TLB_IPI_LATENCY) +
                                C_(C_TLB_IPI_HANDLER));
    ck_assert_int_eq(count_named("flush IPI", -1), 2);
    ck_assert_uint_eq(m.pcpus[1].flush_ipis, 0);
    ck_assert_uint_eq(B->tlb_remote_cpus, 2);
    for (int i = 0; i < nseen; i++)
        if (!strcmp(seen[i].name, "wait for acks"))
            ck_assert_int_eq(seen[i].arg, 2);
}
END_TEST

START_TEST(busy_cpu_owes_the_handler)
{
    grant_handle_t h[1];
    map_n(1, h);
    m.pcpus[0].last_dom = B;
    m.pcpus[1].last_dom = B;
    m.pcpus[1].busy = true; /* inside a run slice: the IPI is taken at its next trap */
    unmap_n(0, 1, h, 0);
    ck_assert_int_eq(count_named("flush IPI", m.pcpus[1].place), 0);
    ck_assert_uint_eq(m.pcpus[1].ipi_debt, C_(C_TLB_IPI_HANDLER));
    simtime_t t = 5000000;
    ck_assert_uint_eq(flush_take_debt(&m.pcpus[1], t), C_(C_TLB_IPI_HANDLER));
    ck_assert_uint_eq(m.pcpus[1].ipi_debt, 0);
    ck_assert_int_eq(count_named("flush IPI", m.pcpus[1].place), 1);
    ck_assert_uint_eq(seen[nseen - 1].start, t);
    ck_assert_uint_eq(seen[nseen - 1].end, t + C_(C_TLB_IPI_HANDLER));
    ck_assert_uint_eq(flush_take_debt(&m.pcpus[1], t), 0); /* paid once */
}
END_TEST

START_TEST(runtime_service_scope)
{
    grant_handle_t h[1];
    map_n(1, h);
    /* b as a runtime service: its address space is live only inside a call (efi_rs_enter
     * switches CR3 to it, efi_rs_leave back); a loaded context elsewhere does not count */
    B->rt = true;
    m.pcpus[1].last_dom = B;
    m.pcpus[2].last_dom = B;
    ck_assert_uint_eq(flush_dirty_mask(B, 0), 0x1);
    simtime_t cost = unmap_n(0, 1, h, 1000000000);
    ck_assert_uint_eq(cost, C_(C_GNT_UNMAP) + C_(C_TLB_FLUSH));
    ck_assert_int_eq(count_named("flush IPI", -1), 0);
    /* its second vCPU is inside a call on cpu1: that CPU is flushed */
    B->vcpus[1]->in_rs_call = true;
    ck_assert_uint_eq(flush_dirty_mask(B, 0), 0x3);
    map_n(1, h);
    unmap_n(0, 1, h, 2000000000);
    ck_assert_int_eq(count_named("flush IPI", m.pcpus[1].place), 1);
    ck_assert_int_eq(count_named("flush IPI", m.pcpus[2].place), 0);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("shootdown");
    TCase *tc = tcase_create("flush");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, one_flush_per_unmap_batch);
    tcase_add_test(tc, failed_unmaps_still_flush_once);
    tcase_add_test(tc, scope_is_the_dirty_mask);
    tcase_add_test(tc, lazy_context_and_every_dirty_cpu);
    tcase_add_test(tc, busy_cpu_owes_the_handler);
    tcase_add_test(tc, runtime_service_scope);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
