/*
 * Cache/TLB refill penalties (sim/xen/refill.c), charged as the scheduler
 * charges them before a slice: a machine of two pCPUs and three domains
 * (a, b, c). Checks: a switch to another address space pays the TLB
 * re-walk and a seeded cache refill, a re-entry of the same one pays
 * nothing; a flush and the CR3 switch back from a runtime call leave the
 * context cold without a world switch; a runtime-service entry is always
 * cold; VPID-tagged (HVM) translations survive another domain's run but
 * not a flush; the draws follow the scenario's seed.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "machine_fixture.h"

static struct scenario sc;
static struct machine m;
static struct trace *tr;
static struct domain *A, *B, *C;

#define MAX_SEEN 64
static struct seen {
    uint16_t place;
    simtime_t start, end;
    char name[32];
    int64_t arg;
} seen[MAX_SEEN];
static int nseen;

static void listen(void *ctx, const struct trace_rec *r)
{
    (void)ctx;
    if (r->type != TREC_SPAN || r->kind != SPAN_REFILL || nseen == MAX_SEEN)
        return;
    struct seen *s = &seen[nseen++];
    s->place = r->place;
    s->start = r->start;
    s->end = r->end;
    s->arg = r->arg;
    snprintf(s->name, sizeof(s->name), "%s", r->name ? r->name : "");
}

static void make(uint64_t seed)
{
    nseen = 0;
    fixture_scenario(&sc, "refill-test", 2, 64ull << 20, 3);
    sc.seed = seed;
    for (int i = 0; i < 3; i++)
        sc.domains[i].cpu = i == 2 ? 1 : 0;
    struct trace_opts to = {.listen = listen};
    tr = fixture_machine(&m, &sc, &to);
    A = m.doms[0];
    B = m.doms[1];
    C = m.doms[2];
}

static void setup(void)
{
    make(1);
}

static void teardown(void)
{
    char err[256];
    machine_destroy(&m);
    trace_close(tr, err, sizeof(err));
}

static simtime_t tlb_part(void)
{
    return (simtime_t)m.cost->value[C_TLB_REFILL_PAGES] * machine_cost(&m, C_PAGE_WALK);
}

/* what v pays on p when dispatched at t (the scheduler's call) */
static simtime_t charge(int cpu, struct domain *d, bool rs_entry, simtime_t t)
{
    return refill_charge(&m.pcpus[cpu], d->vcpus[0], rs_entry, t) - t;
}

START_TEST(switch_pays_reentry_does_not)
{
    struct pcpu *p0 = &m.pcpus[0];
    ck_assert_uint_eq(tlb_part(), 32 * machine_cost(&m, C_PAGE_WALK));
    ck_assert_uint_gt(tlb_part(), 0);
    /* the CPU's first context: its TLB is cold, the caches have nobody else's lines */
    ck_assert_uint_eq(charge(0, B, false, 1000), tlb_part());
    ck_assert_int_eq(nseen, 1);
    ck_assert_str_eq(seen[0].name, "cold");
    ck_assert_uint_eq(seen[0].place, p0->place);
    ck_assert_uint_eq(seen[0].start, 1000);
    ck_assert_uint_eq(seen[0].end, 1000 + tlb_part());
    ck_assert_int_eq(seen[0].arg, 32);
    /* b again on the same CPU: same address space, same working set: nothing */
    for (int i = 0; i < 3; i++)
        ck_assert_uint_eq(charge(0, B, false, 2000), 0);
    ck_assert_int_eq(nseen, 1);
    /* a world switch to a: its TLB entries are re-walked and its cache lines refetched */
    simtime_t mean = machine_cost(&m, C_CACHE_REFILL);
    simtime_t da = charge(0, A, false, 3000);
    ck_assert_uint_gt(da, tlb_part());
    ck_assert_uint_le(da, tlb_part() + 2 * mean);
    ck_assert_int_eq(nseen, 2);
    ck_assert_str_eq(seen[1].name, "world_switch");
    ck_assert_int_eq(seen[1].arg, 32);
    /* and back to b: the CR3 write dropped b's translations (no PCID reuse) */
    simtime_t db = charge(0, B, false, 4000);
    ck_assert_uint_gt(db, tlb_part());
    ck_assert_uint_eq(charge(0, B, false, 5000), 0);
    /* the penalty is the vCPU's: its domain's time in the CPU accounting */
    ck_assert_uint_eq(B->vcpus[0]->refill_ps, tlb_part() + db);
    ck_assert_uint_eq(A->vcpus[0]->refill_ps, da);
    /* another CPU's history is its own: c on cpu1 starts cold there, cpu0 is untouched */
    ck_assert_uint_eq(charge(1, C, false, 6000), tlb_part());
    ck_assert_uint_eq(charge(0, B, false, 7000), 0);
    /* over many switches the cache part averages the profile's mean (uniform in [0, 2x]) */
    double sum = 0;
    const int n = 2000;
    for (int i = 0; i < n; i++)
        sum += (double)(charge(0, i % 2 ? B : A, false, 8000) - tlb_part()); /* b ran last */
    ck_assert_double_eq_tol(sum / n / (double)mean, 1.0, 0.06);
}
END_TEST

START_TEST(flush_and_cr3_leave_the_context_cold)
{
    charge(0, B, false, 0);
    ck_assert_uint_eq(charge(0, B, false, 1), 0);
    /* a grant unmap's flush (flush_area_local): b re-walks, its cache lines are still there */
    refill_tlb_lost(&m.pcpus[0], "flush", true);
    ck_assert_uint_eq(charge(0, B, false, 2), tlb_part());
    ck_assert_str_eq(seen[nseen - 1].name, "flush");
    ck_assert_uint_eq(charge(0, B, false, 3), 0);
    /* efi_rs_leave's switch back to the interrupted context's CR3 */
    refill_tlb_lost(&m.pcpus[0], "cr3", false);
    ck_assert_uint_eq(charge(0, B, false, 4), tlb_part());
    ck_assert_str_eq(seen[nseen - 1].name, "cr3");
}
END_TEST

START_TEST(runtime_entry_is_always_cold)
{
    A->rt = true; /* a's code is a runtime service: it runs in the EFI page tables */
    charge(0, B, false, 0);
    /* each call: efi_rs_enter's CR3 switch, then the cache lines b evicted */
    simtime_t first = charge(0, A, true, 10);
    ck_assert_uint_gt(first, tlb_part());
    ck_assert_str_eq(seen[nseen - 1].name, "rs_entry");
    /* a call resumed after a budget stop: the EFI tables are still loaded */
    ck_assert_uint_eq(charge(0, A, false, 20), 0);
    /* efi_rs_leave switches back; the next call on the CPU re-walks, with a warm cache */
    refill_tlb_lost(&m.pcpus[0], "cr3", false);
    ck_assert_uint_eq(charge(0, A, true, 30), tlb_part());
    ck_assert_str_eq(seen[nseen - 1].name, "rs_entry");
    refill_tlb_lost(&m.pcpus[0], "cr3", false);
    ck_assert_uint_eq(charge(0, A, true, 40), tlb_part());
}
END_TEST

START_TEST(vpid_tags_survive_a_switch_not_a_flush)
{
    C->hvm = true; /* VMX with VPID: its translations carry its ASID */
    ck_assert_uint_eq(charge(0, C, false, 0), tlb_part()); /* a new ASID: cold */
    charge(0, B, false, 1);
    /* back to c: hvm_asid_handle_vmenter keeps its ASID; only the cache lines b evicted */
    simtime_t dc = charge(0, C, false, 2);
    ck_assert_int_eq(seen[nseen - 1].arg, 0);
    ck_assert_uint_le(dc, 2 * machine_cost(&m, C_CACHE_REFILL));
    ck_assert_uint_eq(charge(0, C, false, 3), 0);
    /* a CR3 switch of the host leaves the tags alone; a flush starts a new generation */
    refill_tlb_lost(&m.pcpus[0], "cr3", false);
    ck_assert_uint_eq(charge(0, C, false, 4), 0);
    refill_tlb_lost(&m.pcpus[0], "flush", true);
    ck_assert_uint_eq(charge(0, C, false, 5), tlb_part());
}
END_TEST

/* the cache parts of 16 switches between a and b on cpu0 */
static void draws(simtime_t *out)
{
    charge(0, B, false, 0);
    for (int i = 0; i < 16; i++)
        out[i] = charge(0, i % 2 ? B : A, false, 0) - tlb_part();
}

START_TEST(draws_follow_the_seed)
{
    simtime_t one[16], again[16], two[16];
    draws(one);
    teardown();
    make(1);
    draws(again);
    teardown();
    make(2);
    draws(two);
    ck_assert_mem_eq(one, again, sizeof one);
    int differ = 0;
    for (int i = 0; i < 16; i++)
        differ += one[i] != two[i];
    ck_assert_int_gt(differ, 12);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("refill");
    TCase *tc = tcase_create("refill");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, switch_pays_reentry_does_not);
    tcase_add_test(tc, flush_and_cr3_leave_the_context_cold);
    tcase_add_test(tc, runtime_entry_is_always_cold);
    tcase_add_test(tc, vpid_tags_survive_a_switch_not_a_flush);
    tcase_add_test(tc, draws_follow_the_seed);
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
