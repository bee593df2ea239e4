/*
 * Unit tests for the microkernel model (sim/l4/l4.c): rendezvous IPC
 * (send, receive, call/reply) and its time, timeouts, map / grant / unmap
 * with recursive revocation and rights that never widen, receive windows,
 * interrupts as IPC, a page fault resolved by the pager, a VM exit handled
 * by the VMM, a task's deletion, and the transfer observer that traces them.
 */
#include <check.h>

#include "cost.h"
#include "l4.h"

#define IPC_PS 100000ull /* 100 ns per IPC */
#define MAP_PS 10000ull  /* 10 ns per page */
#define PG L4_PAGE

static struct evq q;
static struct l4_kernel k;
static int wakes;

static void on_wake(struct l4_kernel *kk, struct l4_thread *t, void *arg)
{
    (void)kk;
    (void)t;
    (void)arg;
    wakes++;
}

static void setup(void)
{
    evq_init(&q);
    l4_init(&k, &q, IPC_PS, MAP_PS);
    wakes = 0;
}

static void teardown(void)
{
    l4_fini(&k);
    evq_fini(&q);
}

static uint32_t thread_in(const char *task)
{
    int t = l4_task_create(&k, task);
    ck_assert_int_gt(t, 0);
    uint32_t id = l4_thread_create(&k, t, 0, 0, on_wake, NULL);
    ck_assert_uint_ne(id, L4_NILTHREAD);
    return id;
}

START_TEST(receive_then_send)
{
    uint32_t a = thread_in("a"), b = thread_in("b");
    ck_assert_int_eq(l4_receive(&k, b, L4_ANY, NULL, L4_NEVER), 1);
    struct l4_msg m = {.label = 7, .nmr = 2, .mr = {11, 22}};
    ck_assert_int_eq(l4_send(&k, a, b, &m, L4_NEVER), 0);
    struct l4_thread *tb = l4_thread(&k, b);
    ck_assert_int_eq(tb->result, 0);
    ck_assert_int_eq(tb->msg.label, 7);
    ck_assert_uint_eq(tb->msg.mr[1], 22);
    ck_assert_uint_eq(tb->from, a);
    ck_assert_uint_eq(tb->done_at, IPC_PS); /* one IPC */
    ck_assert_int_eq(wakes, 1);             /* the blocked receiver */
}
END_TEST

START_TEST(send_then_receive)
{
    uint32_t a = thread_in("a"), b = thread_in("b");
    struct l4_msg m = {.label = 3};
    ck_assert_int_eq(l4_send(&k, a, b, &m, L4_NEVER), 1); /* blocks: b not receiving */
    ck_assert_int_eq(l4_receive(&k, b, a, NULL, L4_NEVER), 0);
    ck_assert_int_eq(l4_thread(&k, b)->msg.label, 3);
    ck_assert_int_eq(l4_thread(&k, a)->result, 0);
    ck_assert_int_eq(wakes, 1); /* the blocked sender */
}
END_TEST

START_TEST(call_and_reply)
{
    uint32_t c = thread_in("client"), s = thread_in("server");
    ck_assert_int_eq(l4_receive(&k, s, L4_ANY, NULL, L4_NEVER), 1);
    struct l4_msg req = {.label = 1, .nmr = 1, .mr = {40}};
    ck_assert_int_eq(l4_call(&k, c, s, &req, NULL, L4_NEVER), 1); /* waits for the reply */
    ck_assert_uint_eq(l4_thread(&k, s)->msg.mr[0], 40);
    ck_assert_int_eq(l4_thread(&k, c)->state, L4T_RECV);
    struct l4_msg rep = {.label = 0, .nmr = 1, .mr = {41}};
    ck_assert_int_eq(l4_send(&k, s, c, &rep, 0), 0); /* the client is waiting: no timeout needed */
    ck_assert_uint_eq(l4_thread(&k, c)->msg.mr[0], 41);
    ck_assert_int_eq(l4_thread(&k, c)->result, 0);
    /* a reply to someone who is not calling fails at once with timeout 0 */
    ck_assert_int_eq(l4_send(&k, s, c, &rep, 0), -L4_ETIMEOUT);
}
END_TEST

START_TEST(timeouts)
{
    uint32_t a = thread_in("a"), b = thread_in("b");
    struct l4_msg m = {0};
    ck_assert_int_eq(l4_send(&k, a, b, &m, 0), -L4_ETIMEOUT);      /* poll */
    ck_assert_int_eq(l4_receive(&k, b, a, NULL, 0), -L4_ETIMEOUT); /* poll */
    ck_assert_int_eq(l4_receive(&k, b, a, NULL, 1000), 1);         /* 1 us */
    evq_run_until(&q, SIMTIME_NEVER, NULL);
    ck_assert_int_eq(l4_thread(&k, b)->result, -L4_ETIMEOUT);
    ck_assert_uint_eq(l4_thread(&k, b)->done_at, 1000 * PS_PER_NS);
    ck_assert_int_eq(wakes, 1);
    /* a send to a thread that does not exist */
    ck_assert_int_eq(l4_send(&k, a, L4_TID(9, 1), &m, L4_NEVER), -L4_ENOPARTNER);
}
END_TEST

/* task of a thread */
static int task_of(uint32_t tid)
{
    return (int)L4_TASK_OF(tid);
}

static void map_item(struct l4_msg *m, uint8_t kind, uint64_t base, uint8_t order, uint8_t rights)
{
    *m = (struct l4_msg){.item = kind, .fpage = {.base = base, .order = order, .rights = rights}};
}

START_TEST(map_grant_and_rights)
{
    uint32_t a = thread_in("a"), b = thread_in("b"), c = thread_in("c");
    ck_assert_int_eq(l4_map_root(&k, task_of(a), 0x10000, 500, L4_R), 0);
    ck_assert_int_eq(l4_map_root(&k, task_of(a), 0x11000, 501, L4_RWX), 0);
    struct l4_fpage win = {.base = 0x40000, .order = 4};
    ck_assert_int_eq(l4_receive(&k, b, a, &win, L4_NEVER), 1);
    struct l4_msg m;
    map_item(&m, L4_ITEM_MAP, 0x10000, 1, L4_R | L4_W); /* asks for W on a read-only page */
    ck_assert_int_eq(l4_send(&k, a, b, &m, L4_NEVER), 0);
    uint64_t f;
    uint8_t r;
    ck_assert_int_eq(l4_lookup(&k, task_of(b), 0x40000, &f, &r), 0);
    ck_assert_uint_eq(f, 500);
    ck_assert_uint_eq(r, L4_R); /* never widened */
    ck_assert_int_eq(l4_lookup(&k, task_of(b), 0x41000, &f, &r), 0);
    ck_assert_uint_eq(r, L4_R | L4_W);
    ck_assert_uint_eq(l4_thread(&k, b)->done_at, IPC_PS + 2 * MAP_PS);
    ck_assert_int_eq(l4_lookup(&k, task_of(a), 0x10000, &f, &r), 0); /* a keeps its own */
    /* grant moves b's page to c */
    ck_assert_int_eq(l4_receive(&k, c, b, &win, L4_NEVER), 1);
    map_item(&m, L4_ITEM_GRANT, 0x41000, 0, L4_RWX);
    m.send_base = 0x2000;
    ck_assert_int_eq(l4_send(&k, b, c, &m, L4_NEVER), 0);
    ck_assert_int_eq(l4_lookup(&k, task_of(b), 0x41000, &f, &r), -L4_ERIGHTS);
    ck_assert_int_eq(l4_lookup(&k, task_of(c), 0x42000, &f, &r), 0);
    ck_assert_uint_eq(f, 501);
    /* a page the sender does not have */
    ck_assert_int_eq(l4_receive(&k, c, b, &win, L4_NEVER), 1);
    map_item(&m, L4_ITEM_MAP, 0x90000, 0, L4_R);
    ck_assert_int_eq(l4_send(&k, b, c, &m, L4_NEVER), -L4_ERIGHTS);
    ck_assert_int_eq(l4_thread(&k, c)->result, -L4_ERIGHTS);
}
END_TEST

START_TEST(window_refuses)
{
    uint32_t a = thread_in("a"), b = thread_in("b");
    ck_assert_int_eq(l4_map_root(&k, task_of(a), 0x10000, 500, L4_RWX), 0);
    struct l4_fpage win = {.base = 0x40000, .order = 0};
    struct l4_msg m;
    ck_assert_int_eq(l4_receive(&k, b, a, &win, L4_NEVER), 1);
    map_item(&m, L4_ITEM_MAP, 0x10000, 1, L4_RWX); /* two pages into a one-page window */
    ck_assert_int_eq(l4_send(&k, a, b, &m, L4_NEVER), -L4_EWINDOW);
    ck_assert_int_eq(l4_receive(&k, b, a, NULL, L4_NEVER), 1); /* no window at all */
    map_item(&m, L4_ITEM_MAP, 0x10000, 0, L4_RWX);
    ck_assert_int_eq(l4_send(&k, a, b, &m, L4_NEVER), -L4_EWINDOW);
}
END_TEST

START_TEST(recursive_revocation)
{
    uint32_t a = thread_in("a"), b = thread_in("b"), c = thread_in("c");
    ck_assert_int_eq(l4_map_root(&k, task_of(a), 0x10000, 500, L4_RWX), 0);
    struct l4_fpage win = {.base = 0x40000, .order = 0};
    struct l4_msg m;
    ck_assert_int_eq(l4_receive(&k, b, a, &win, L4_NEVER), 1);
    map_item(&m, L4_ITEM_MAP, 0x10000, 0, L4_RWX);
    ck_assert_int_eq(l4_send(&k, a, b, &m, L4_NEVER), 0);
    struct l4_fpage win_c = {.base = 0x80000, .order = 0};
    ck_assert_int_eq(l4_receive(&k, c, b, &win_c, L4_NEVER), 1);
    map_item(&m, L4_ITEM_MAP, 0x40000, 0, L4_R);
    ck_assert_int_eq(l4_send(&k, b, c, &m, L4_NEVER), 0);
    uint64_t f;
    uint8_t r;
    ck_assert_int_eq(l4_lookup(&k, task_of(c), 0x80000, &f, &r), 0);
    struct l4_fpage fp = {.base = 0x10000, .order = 0};
    ck_assert_int_eq(l4_unmap(&k, task_of(a), &fp, 0), 2); /* b's and, through it, c's */
    ck_assert_int_eq(l4_lookup(&k, task_of(b), 0x40000, &f, &r), -L4_ERIGHTS);
    ck_assert_int_eq(l4_lookup(&k, task_of(c), 0x80000, &f, &r), -L4_ERIGHTS);
    ck_assert_int_eq(l4_lookup(&k, task_of(a), 0x10000, &f, &r), 0); /* a's own stays */
    ck_assert_int_eq(l4_unmap(&k, task_of(a), &fp, L4_UNMAP_SELF), 1);
    ck_assert_int_eq(l4_lookup(&k, task_of(a), 0x10000, &f, &r), -L4_ERIGHTS);
}
END_TEST

START_TEST(interrupt_as_ipc)
{
    uint32_t drv = thread_in("driver"), other = thread_in("other");
    ck_assert_int_eq(l4_irq_attach(&k, 5, drv), 0);
    ck_assert_int_eq(l4_irq_attach(&k, 5, other), -L4_EBUSY);
    l4_irq_raise(&k, 5); /* the handler is not receiving: kept pending */
    ck_assert_int_eq(l4_receive(&k, drv, L4_ANY, NULL, L4_NEVER), 0);
    struct l4_thread *t = l4_thread(&k, drv);
    ck_assert_uint_eq(t->from, L4_IRQ_SENDER(5));
    ck_assert_int_eq(t->msg.label, L4_LABEL_IRQ);
    ck_assert_int_eq(l4_receive(&k, drv, L4_IRQ_SENDER(5), NULL, L4_NEVER), 1);
    l4_irq_raise(&k, 5); /* now it is waiting: delivered at once */
    ck_assert_int_eq(t->result, 0);
    ck_assert_int_eq(wakes, 1);
}
END_TEST

START_TEST(page_fault_to_pager)
{
    int pt = l4_task_create(&k, "pager"), ct = l4_task_create(&k, "client");
    uint32_t pager = l4_thread_create(&k, pt, 0, 0, on_wake, NULL);
    uint32_t cl = l4_thread_create(&k, ct, pager, 0, on_wake, NULL);
    ck_assert_int_eq(l4_map_root(&k, pt, 0x200000, 77, L4_RWX), 0);
    ck_assert_int_eq(l4_receive(&k, pager, L4_ANY, NULL, L4_NEVER), 1);
    ck_assert_int_eq(l4_page_fault(&k, cl, 0x5123, L4_W), 1);
    struct l4_thread *p = l4_thread(&k, pager);
    ck_assert_int_eq(p->msg.label, L4_LABEL_PAGEFAULT);
    ck_assert_uint_eq(p->msg.mr[0], 0x5123);
    ck_assert_uint_eq(p->from, cl);
    struct l4_msg rep;
    map_item(&rep, L4_ITEM_MAP, 0x200000, 0, L4_RWX);
    ck_assert_int_eq(l4_send(&k, pager, cl, &rep, 0), 0);
    uint64_t f;
    uint8_t r;
    ck_assert_int_eq(l4_lookup(&k, ct, 0x5000, &f, &r), 0);
    ck_assert_uint_eq(f, 77);
    ck_assert_int_eq(l4_thread(&k, cl)->result, 0);
}
END_TEST

START_TEST(vm_exit_to_vmm)
{
    int vmt = l4_task_create(&k, "vm"), vmmt = l4_task_create(&k, "vmm");
    uint32_t vmm = l4_thread_create(&k, vmmt, 0, 0, on_wake, NULL);
    uint32_t vcpu = l4_thread_create(&k, vmt, 0, vmm, on_wake, NULL);
    ck_assert_int_eq(l4_receive(&k, vmm, L4_ANY, NULL, L4_NEVER), 1);
    struct l4_msg exit = {.nmr = 3, .mr = {0xc8400034, 4, 1}}; /* MMIO write, SQ_TAIL */
    ck_assert_int_eq(l4_vcpu_exit(&k, vcpu, &exit), 1);
    struct l4_thread *v = l4_thread(&k, vmm);
    ck_assert_int_eq(v->msg.label, L4_LABEL_EXCEPTION);
    ck_assert_uint_eq(v->msg.mr[0], 0xc8400034);
    struct l4_msg resume = {.nmr = 1, .mr = {0}};
    ck_assert_int_eq(l4_send(&k, vmm, vcpu, &resume, 0), 0);
    ck_assert_int_eq(l4_thread(&k, vcpu)->result, 0);
    /* the model's clock is the caller's (0 here): the resume lands one IPC after the reply */
    ck_assert_uint_eq(l4_thread(&k, vcpu)->done_at, IPC_PS);
    ck_assert_int_eq(wakes, 2); /* the VMM woke for the exit, the vCPU for the resume */
}
END_TEST

START_TEST(task_deletion)
{
    uint32_t c = thread_in("client"), s = thread_in("server"), b = thread_in("b");
    ck_assert_int_eq(l4_map_root(&k, task_of(s), 0x10000, 9, L4_RWX), 0);
    struct l4_fpage win = {.base = 0x40000, .order = 0};
    struct l4_msg m;
    ck_assert_int_eq(l4_receive(&k, b, s, &win, L4_NEVER), 1);
    map_item(&m, L4_ITEM_MAP, 0x10000, 0, L4_RWX);
    ck_assert_int_eq(l4_send(&k, s, b, &m, L4_NEVER), 0);
    struct l4_msg req = {.label = 1};
    ck_assert_int_eq(l4_call(&k, c, s, &req, NULL, L4_NEVER), 1); /* the server is not receiving */
    l4_task_delete(&k, task_of(s));
    ck_assert_int_eq(l4_thread(&k, c)->result, -L4_ENOPARTNER);
    uint64_t f;
    uint8_t r;
    ck_assert_int_eq(l4_lookup(&k, task_of(b), 0x40000, &f, &r), -L4_ERIGHTS); /* derived: gone */
    ck_assert_int_eq(l4_send(&k, c, s, &req, 0), -L4_ENOPARTNER);
}
END_TEST

START_TEST(profile_costs)
{
    struct cost_profile cp;
    char err[512];
    ck_assert_int_eq(
        cost_load(&cp, HOPSIM_SOURCE_DIR "/profiles/default.profile", err, sizeof(err)), 0);
    struct l4_kernel k2;
    l4_init_profile(&k2, &q, &cp, 3e9);
    ck_assert_uint_eq(k2.ipc_cost, 100333); /* 301 cycles at 3 GHz, in ps */
    ck_assert_uint_eq(k2.map_cost, 166667);
    l4_fini(&k2);
}
END_TEST

/* Every transfer is reported once, with its start, sender, label and pages; `at` moves it.
 */
static int nobs, obs_pages;
static uint32_t obs_from, obs_to;
static int64_t obs_label;
static simtime_t obs_start;

static void on_observe(void *o, uint32_t from, uint32_t to, int64_t label, simtime_t start,
                       int pages)
{
    (void)o;
    nobs++;
    obs_from = from;
    obs_to = to;
    obs_label = label;
    obs_start = start;
    obs_pages = pages;
}

START_TEST(observed_transfers_and_entry_time)
{
    k.observe = on_observe;
    nobs = 0;
    uint32_t a = thread_in("a"), b = thread_in("b");
    ck_assert_int_eq(l4_map_root(&k, L4_TASK_OF(a), 0x3000, 77, L4_RWX), 0);
    struct l4_fpage w = {.base = 0x10000, .order = 2, .rights = L4_RWX};
    ck_assert_int_eq(l4_receive(&k, b, L4_ANY, &w, L4_NEVER), 1);
    ck_assert_int_eq(nobs, 0); /* nothing moved yet */
    struct l4_msg m = {.label = 9, .item = L4_ITEM_MAP, .fpage = {0x3000, 0, L4_R}};
    k.at = 5000; /* the kernel entry happened after time the caller already spent */
    ck_assert_int_eq(l4_send(&k, a, b, &m, L4_NEVER), 0);
    k.at = 0;
    ck_assert_int_eq(nobs, 1);
    ck_assert_uint_eq(obs_from, a);
    ck_assert_uint_eq(obs_to, b);
    ck_assert_int_eq(obs_label, 9);
    ck_assert_uint_eq(obs_start, 5000);
    ck_assert_int_eq(obs_pages, 1);
    ck_assert_uint_eq(l4_thread(&k, b)->done_at, 5000 + IPC_PS + MAP_PS);
    /* an interrupt's IPC comes from its pseudo-thread */
    ck_assert_int_eq(l4_irq_attach(&k, 40, b), 0);
    l4_irq_raise(&k, 40);
    ck_assert_int_eq(nobs, 1); /* b is not receiving: kept pending */
    ck_assert_int_eq(l4_receive(&k, b, L4_ANY, NULL, L4_NEVER), 0);
    ck_assert_int_eq(nobs, 2);
    ck_assert_uint_eq(obs_from, L4_IRQ_SENDER(40));
    ck_assert_int_eq(obs_label, L4_LABEL_IRQ);
    /* a failed transfer (no window) is not reported */
    ck_assert_int_eq(l4_receive(&k, b, L4_ANY, NULL, L4_NEVER), 1);
    ck_assert_int_lt(l4_send(&k, a, b, &m, L4_NEVER), 0);
    ck_assert_int_eq(nobs, 2);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("l4");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, receive_then_send);
    tcase_add_test(tc, send_then_receive);
    tcase_add_test(tc, call_and_reply);
    tcase_add_test(tc, timeouts);
    tcase_add_test(tc, map_grant_and_rights);
    tcase_add_test(tc, window_refuses);
    tcase_add_test(tc, recursive_revocation);
    tcase_add_test(tc, interrupt_as_ipc);
    tcase_add_test(tc, page_fault_to_pager);
    tcase_add_test(tc, vm_exit_to_vmm);
    tcase_add_test(tc, task_deletion);
    tcase_add_test(tc, profile_costs);
    tcase_add_test(tc, observed_transfers_and_entry_time);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
