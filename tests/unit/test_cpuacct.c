/*
 * CPU accounting (sim/engine/cpuacct.c): busy intervals and the idle gaps
 * between them; busy + idle == elapsed whatever the intervals look like.
 */
#include <check.h>
#include <stdlib.h>

#include "cpuacct.h"

static void check_sums(const struct cpuacct *a, simtime_t elapsed)
{
    struct cpuacct_stats s;
    cpuacct_stats(a, elapsed, &s);
    ck_assert_uint_eq(s.busy + s.idle, s.elapsed);
    ck_assert_uint_eq(s.guest + s.hv, s.busy);
    ck_assert_uint_ge(s.elapsed, elapsed);
}

START_TEST(gaps_are_idle)
{
    struct cpuacct a = {0};
    simtime_t from;
    ck_assert_uint_eq(cpuacct_add(&a, 10, 30, 15, &from), 10);
    ck_assert_uint_eq(from, 0);
    ck_assert_uint_eq(cpuacct_add(&a, 30, 40, 0, &from), 0); /* back to back: no idle */
    ck_assert_uint_eq(cpuacct_add(&a, 100, 150, 50, &from), 60);
    ck_assert_uint_eq(from, 40);
    struct cpuacct_stats s;
    cpuacct_stats(&a, 200, &s);
    ck_assert_uint_eq(s.elapsed, 200);
    ck_assert_uint_eq(s.busy, 20 + 10 + 50);
    ck_assert_uint_eq(s.guest, 15 + 0 + 50);
    ck_assert_uint_eq(s.hv, 5 + 10);
    ck_assert_uint_eq(s.idle, 10 + 60 + 50);
    check_sums(&a, 200);
}
END_TEST

START_TEST(overlap_is_clamped)
{
    struct cpuacct a = {0};
    simtime_t from;
    cpuacct_add(&a, 0, 100, 100, &from);
    /* starts inside the previous interval: only [100, 120) is new, guest clamped to it */
    ck_assert_uint_eq(cpuacct_add(&a, 50, 120, 70, &from), 0);
    ck_assert_uint_eq(a.busy, 120);
    ck_assert_uint_eq(a.guest, 120);
    /* wholly inside: nothing */
    cpuacct_add(&a, 60, 90, 30, &from);
    ck_assert_uint_eq(a.busy, 120);
    ck_assert_uint_eq(a.last_end, 120);
    check_sums(&a, 120);
}
END_TEST

START_TEST(elapsed_before_last_end_is_raised)
{
    struct cpuacct a = {0};
    simtime_t from;
    cpuacct_add(&a, 5, 500, 0, &from);
    struct cpuacct_stats s;
    cpuacct_stats(&a, 100, &s);
    ck_assert_uint_eq(s.elapsed, 500);
    ck_assert_uint_eq(s.idle, 5);
    check_sums(&a, 100);
}
END_TEST

/* A pseudo-random schedule of intervals, overlapping or not: the sums always hold. */
START_TEST(random_schedules_sum_up)
{
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (int run = 0; run < 100; run++) {
        struct cpuacct a = {0};
        simtime_t t = 0, from, idle = 0;
        for (int i = 0; i < 1000; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            simtime_t start = t + x % 50 - (x % 7 == 0 ? x % 40 : 0);
            if (start > t + 1000)
                start = 0;
            simtime_t end = start + (x >> 20) % 100;
            idle += cpuacct_add(&a, start, end, (x >> 40) % 120, &from);
            t = end > t ? end : t;
        }
        struct cpuacct_stats s;
        cpuacct_stats(&a, t + 10, &s);
        ck_assert_uint_eq(s.busy + s.idle, s.elapsed);
        ck_assert_uint_eq(s.idle, idle + (s.elapsed - a.last_end)); /* gaps + the tail */
        ck_assert_uint_le(s.guest, s.busy);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cpuacct");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, gaps_are_idle);
    tcase_add_test(tc, overlap_is_clamped);
    tcase_add_test(tc, elapsed_before_last_end_is_raised);
    tcase_add_test(tc, random_schedules_sum_up);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
