/*
 * The microkernel in the machine (sim/l4/l4sys.c): a page one task maps to
 * another is in the receiver's address space as its CPU sees it (the
 * vCPU's memory), and leaves it when it is revoked -- recursively, through a
 * third task it was mapped on to, and when granted away. After the unmap
 * the receiver's access faults; the fault goes as IPC to its pager, whose
 * reply maps the page again.
 */
#include <check.h>

#include "l4.h"
#include "machine_fixture.h"

#define HOLE 0x1000000ull /* receive windows: above the tasks' 4 MiB of RAM */

static struct scenario sc;
static struct machine m;
static struct trace *tr;

static void setup(void)
{
    fixture_scenario(&sc, "l4sys", 1, 64ull << 20, 3);
    for (unsigned i = 0; i < 3; i++)
        sc.domains[i].mode = SC_MODE_L4;
    struct trace_opts to = {0};
    tr = fixture_machine(&m, &sc, &to);
    ck_assert_ptr_nonnull(m.l4);
}

static void teardown(void)
{
    char err[256];
    machine_destroy(&m);
    trace_close(tr, err, sizeof(err));
}

static uint32_t tid(int dom)
{
    return m.doms[dom]->vcpus[0]->l4_tid;
}

/* What dom's CPU reads at va: 0 and the word, or -1 when nothing is mapped there. */
static int cpu_read(int dom, uint64_t va, uint64_t *w)
{
    return vcpu_code(m.doms[dom]->vcpus[0], va, w, sizeof(*w));
}

/* dom receives one page at `va` (a receive window) from anyone. */
static void receive_at(int dom, uint64_t va)
{
    struct l4_fpage w = {.base = va, .order = 0, .rights = L4_RWX};
    ck_assert_int_eq(l4_receive(m.l4, tid(dom), L4_ANY, &w, L4_NEVER), 1);
}

/* from maps (or grants) its page at va to whoever receives. */
static void send_page(int from, int to, uint64_t va, uint8_t item)
{
    struct l4_msg msg = {.item = item, .fpage = {.base = va, .order = 0, .rights = L4_R | L4_W}};
    ck_assert_int_eq(l4_send(m.l4, tid(from), tid(to), &msg, L4_NEVER), 0);
}

/* a's RAM page 0x10 (a pattern in it) as a root of the database, at its own address. */
static uint64_t a_page(void)
{
    struct domain *a = m.doms[0];
    uint64_t va = 0x10 * PAGE_SIZE, *p = machine_frame(&m, a->first_mfn + 0x10);
    *p = 0x1234567890abcdefull;
    ck_assert_int_eq(l4_map_root(m.l4, a->l4_task, va, a->first_mfn + 0x10, L4_R | L4_W), 0);
    return va;
}

START_TEST(revocation_leaves_the_receivers_cpu)
{
    uint64_t va = a_page(), w = 0;
    ck_assert_int_lt(cpu_read(1, HOLE, &w), 0); /* nothing there yet */
    receive_at(1, HOLE);
    send_page(0, 1, va, L4_ITEM_MAP);
    ck_assert_int_eq(cpu_read(1, HOLE, &w), 0);
    ck_assert_uint_eq(w, 0x1234567890abcdefull);
    /* b maps it on to c */
    receive_at(2, HOLE + PAGE_SIZE);
    send_page(1, 2, HOLE, L4_ITEM_MAP);
    ck_assert_int_eq(cpu_read(2, HOLE + PAGE_SIZE, &w), 0);
    /* a revokes what it mapped: b's mapping and, derived from it, c's */
    struct l4_fpage fp = {.base = va, .order = 0};
    ck_assert_int_eq(l4_unmap(m.l4, m.doms[0]->l4_task, &fp, 0), 2);
    ck_assert_int_lt(cpu_read(1, HOLE, &w), 0);
    ck_assert_int_lt(cpu_read(2, HOLE + PAGE_SIZE, &w), 0);
    uint64_t f;
    uint8_t r;
    ck_assert_int_lt(l4_lookup(m.l4, m.doms[1]->l4_task, HOLE, &f, &r), 0);
    /* a keeps its own page */
    ck_assert_int_eq(cpu_read(0, va, &w), 0);
}
END_TEST

START_TEST(fault_after_unmap_goes_to_the_pager)
{
    uint64_t va = a_page(), w = 0;
    receive_at(1, HOLE);
    send_page(0, 1, va, L4_ITEM_MAP);
    struct l4_fpage fp = {.base = va, .order = 0};
    ck_assert_int_eq(l4_unmap(m.l4, m.doms[0]->l4_task, &fp, 0), 1);
    ck_assert_int_lt(cpu_read(1, HOLE, &w), 0);
    /* b's access faults: the kernel calls b's pager (a) on its behalf */
    l4_thread(m.l4, tid(1))->pager = tid(0);
    ck_assert_int_eq(l4_receive(m.l4, tid(0), L4_ANY, NULL, L4_NEVER), 1);
    ck_assert_int_eq(l4_page_fault(m.l4, tid(1), HOLE + 8, L4_R), 1);
    struct l4_thread *pa = l4_thread(m.l4, tid(0));
    ck_assert_int_eq(pa->result, 0);
    ck_assert_int_eq(pa->msg.label, L4_LABEL_PAGEFAULT);
    ck_assert_uint_eq(pa->msg.mr[0], HOLE + 8);
    ck_assert_uint_eq(pa->from, tid(1));
    /* the pager's reply maps the page again, and the access can run */
    send_page(0, 1, va, L4_ITEM_MAP);
    ck_assert_int_eq(l4_thread(m.l4, tid(1))->result, 0);
    ck_assert_int_eq(cpu_read(1, HOLE, &w), 0);
    ck_assert_uint_eq(w, 0x1234567890abcdefull);
}
END_TEST

START_TEST(grant_moves_the_page)
{
    uint64_t va = a_page(), w = 0;
    receive_at(1, HOLE);
    send_page(0, 1, va, L4_ITEM_MAP);
    /* b grants its mapping on to c: b no longer reaches it, c does */
    receive_at(2, HOLE);
    send_page(1, 2, HOLE, L4_ITEM_GRANT);
    ck_assert_int_lt(cpu_read(1, HOLE, &w), 0);
    ck_assert_int_eq(cpu_read(2, HOLE, &w), 0);
    ck_assert_uint_eq(w, 0x1234567890abcdefull);
    /* still derived from a's page: a's unmap reaches c */
    struct l4_fpage fp = {.base = va, .order = 0};
    ck_assert_int_eq(l4_unmap(m.l4, m.doms[0]->l4_task, &fp, 0), 1);
    ck_assert_int_lt(cpu_read(2, HOLE, &w), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("l4sys");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, revocation_leaves_the_receivers_cpu);
    tcase_add_test(tc, fault_after_unmap_goes_to_the_pager);
    tcase_add_test(tc, grant_moves_the_page);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
