/*
 * Virtual-time locks (sim/engine/vlock.h): no wait when free, a waiter
 * waits exactly the holder's remaining hold (plus the holds queued before
 * it: FIFO, ticket order), shared holders share and wait only for exclusive
 * ones, and a vmutex hands itself to its waiters in arrival order at each
 * release.
 */
#include <check.h>
#include <stdlib.h>

#include "vlock.h"

START_TEST(free_lock_no_wait)
{
    struct vlock l = {0};
    ck_assert_uint_eq(vlock_acquire(&l, 100, 50), 0);
    /* taken again after the release: still no wait */
    ck_assert_uint_eq(vlock_acquire(&l, 150, 50), 0);
    ck_assert_uint_eq(vlock_acquire(&l, 1000, 10), 0);
    ck_assert_uint_eq(l.acquired, 3);
    ck_assert_uint_eq(l.contended, 0);
    ck_assert_uint_eq(l.waited, 0);
}
END_TEST

START_TEST(wait_is_the_remaining_hold)
{
    struct vlock l = {0};
    ck_assert_uint_eq(vlock_acquire(&l, 100, 50), 0);  /* held [100, 150) */
    ck_assert_uint_eq(vlock_acquire(&l, 120, 10), 30); /* waits until 150, holds [150, 160) */
    ck_assert_uint_eq(l.contended, 1);
    ck_assert_uint_eq(l.waited, 30);
}
END_TEST

START_TEST(fifo_tickets)
{
    struct vlock l = {0};
    ck_assert_uint_eq(vlock_acquire(&l, 0, 100), 0);   /* A: [0, 100) */
    ck_assert_uint_eq(vlock_acquire(&l, 10, 20), 90);  /* B: [100, 120) */
    ck_assert_uint_eq(vlock_acquire(&l, 20, 30), 100); /* C: [120, 150), behind A and B */
    ck_assert_uint_eq(vlock_ahead(&l, 20), 3);         /* A, B and C hold or wait at 20 */
    /* a caller arriving after everyone ahead released finds it free */
    ck_assert_uint_eq(vlock_acquire(&l, 150, 5), 0);
    /* one arriving earlier in virtual time than the last ticket still queues behind it:
       tickets are drawn in the order callers reach the lock in the engine */
    ck_assert_uint_eq(vlock_acquire(&l, 140, 5), 15);
    ck_assert_uint_eq(l.acquired, 5);
    ck_assert_uint_eq(l.contended, 3);
}
END_TEST

START_TEST(readers_share_writers_exclude)
{
    struct vlock l = {0};
    ck_assert_uint_eq(vlock_acquire_shared(&l, 0, 100), 0);
    ck_assert_uint_eq(vlock_acquire_shared(&l, 10, 100), 0); /* readers never wait for readers */
    /* a writer waits for both readers */
    ck_assert_uint_eq(vlock_acquire(&l, 20, 10), 90); /* [110, 120) */
    /* a reader behind the queued writer waits for it */
    ck_assert_uint_eq(vlock_acquire_shared(&l, 30, 5), 90);
    ck_assert_uint_eq(vlock_acquire_shared(&l, 200, 5), 0);
}
END_TEST

static int order[8], norder;
static simtime_t granted_at[8], since_at[8];

static void grant(void *opaque, simtime_t t, simtime_t since)
{
    int who = (int)(intptr_t)opaque;
    order[norder] = who;
    granted_at[norder] = t;
    since_at[norder++] = since;
}

START_TEST(vmutex_fifo_handover)
{
    struct vmutex mx = {0};
    norder = 0;
    ck_assert_uint_eq(vmutex_lock(&mx, 100, grant, (void *)1), 100); /* free: held at once */
    ck_assert_uint_eq(vmutex_lock(&mx, 110, grant, (void *)2), SIMTIME_NEVER);
    ck_assert_uint_eq(vmutex_lock(&mx, 105, grant, (void *)3), SIMTIME_NEVER);
    ck_assert_int_eq(norder, 0);
    vmutex_unlock(&mx, 500); /* 1 releases: 2 (first to queue) gets it at 500 */
    ck_assert_int_eq(norder, 1);
    ck_assert_int_eq(order[0], 2);
    ck_assert_uint_eq(granted_at[0], 500);
    ck_assert_uint_eq(since_at[0], 110);
    ck_assert_ptr_eq(mx.owner, (void *)2);
    vmutex_unlock(&mx, 700);
    ck_assert_int_eq(order[1], 3);
    ck_assert_uint_eq(granted_at[1], 700);
    vmutex_unlock(&mx, 900); /* nobody waits: free, but not before 900 */
    ck_assert(!mx.held);
    ck_assert_uint_eq(vmutex_lock(&mx, 800, grant, (void *)4), 900);
    vmutex_unlock(&mx, 950);
    ck_assert_uint_eq(vmutex_lock(&mx, 1000, grant, (void *)5), 1000);
    ck_assert_uint_eq(mx.contended, 3);
    ck_assert_uint_eq(mx.waited, (500 - 110) + (700 - 105) + (900 - 800));
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("vlock");
    TCase *tc = tcase_create("vlock");
    tcase_add_test(tc, free_lock_no_wait);
    tcase_add_test(tc, wait_is_the_remaining_hold);
    tcase_add_test(tc, fifo_tickets);
    tcase_add_test(tc, readers_share_writers_exclude);
    tcase_add_test(tc, vmutex_fifo_handover);
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
