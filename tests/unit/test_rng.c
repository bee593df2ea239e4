/*
 * Unit tests for the seeded random streams (sim/engine/rng.c): the
 * generators against their reference outputs, reproducibility, stream
 * independence by construction, and the distributions' moments and
 * quantiles.
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"

#define N 200000

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Reference outputs: splitmix64 from state 0, xoshiro256** from state {1, 2, 3, 4}. */
START_TEST(reference_vectors)
{
    uint64_t sm = 0;
    ck_assert_uint_eq(rng_splitmix64(&sm), 0xe220a8397b1dcdafull);
    ck_assert_uint_eq(rng_splitmix64(&sm), 0x6e789e6aa1b965f4ull);
    ck_assert_uint_eq(rng_splitmix64(&sm), 0x06c45d188009454full);
    struct rng r = {{1, 2, 3, 4}};
    ck_assert_uint_eq(rng_next(&r), 11520);
    ck_assert_uint_eq(rng_next(&r), 0);
    ck_assert_uint_eq(rng_next(&r), 1509978240);
}
END_TEST

START_TEST(same_seed_same_stream)
{
    struct rng a, b;
    rng_stream(&a, 7, "dev0.disk0");
    rng_stream(&b, 7, "dev0.disk0");
    for (int i = 0; i < 1000; i++)
        ck_assert_uint_eq(rng_next(&a), rng_next(&b));
    ck_assert_uint_eq(rng_derive(7, "guest.domu1"), rng_derive(7, "guest.domu1"));
}
END_TEST

START_TEST(seeds_and_names_differ)
{
    struct rng a, b, c;
    rng_stream(&a, 1, "dev0.disk0");
    rng_stream(&b, 2, "dev0.disk0");
    rng_stream(&c, 1, "dev0.disk1");
    uint64_t xa = rng_next(&a), xb = rng_next(&b), xc = rng_next(&c);
    ck_assert_uint_ne(xa, xb);
    ck_assert_uint_ne(xa, xc);
    ck_assert_uint_ne(xb, xc);
    ck_assert_uint_ne(rng_derive(1, "guest.domu1"), rng_derive(2, "guest.domu1"));
    ck_assert_uint_ne(rng_derive(1, "guest.domu1"), rng_derive(1, "guest.domu2"));
    /* seed 0 and the empty name are ordinary streams */
    rng_stream(&a, 0, "");
    ck_assert(a.s[0] | a.s[1] | a.s[2] | a.s[3]);
}
END_TEST

/* A stream yields the same sequence whether or not others are created or drawn from. */
START_TEST(streams_independent_by_construction)
{
    struct rng alone, with, other, late;
    uint64_t seq[256];
    rng_stream(&alone, 42, "pcpu0.refill");
    for (int i = 0; i < 256; i++)
        seq[i] = rng_next(&alone);
    rng_stream(&other, 42, "dev0.disk0");
    rng_stream(&with, 42, "pcpu0.refill");
    for (int i = 0; i < 256; i++) {
        for (int k = 0; k < i % 5; k++)
            (void)rng_next(&other);
        if (i == 100)
            rng_stream(&late, 42, "pcpu1.refill"); /* a stream added mid-run */
        if (i > 100)
            (void)rng_next(&late);
        ck_assert_uint_eq(rng_next(&with), seq[i]);
    }
}
END_TEST

START_TEST(uniform_moments)
{
    struct rng r;
    rng_stream(&r, 3, "u");
    double sum = 0, sq = 0;
    for (int i = 0; i < N; i++) {
        double u = rng_uniform(&r);
        ck_assert(u >= 0.0 && u < 1.0);
        sum += u;
        sq += u * u;
    }
    double mean = sum / N, var = sq / N - mean * mean;
    ck_assert_double_eq_tol(mean, 0.5, 0.005); /* sd of the mean: 0.00065 */
    ck_assert_double_eq_tol(var, 1.0 / 12.0, 0.002);
}
END_TEST

START_TEST(normal_moments_and_quantiles)
{
    struct rng r;
    static double x[N];
    rng_stream(&r, 4, "n");
    double sum = 0, sq = 0;
    for (int i = 0; i < N; i++) {
        x[i] = rng_normal(&r);
        sum += x[i];
        sq += x[i] * x[i];
    }
    double mean = sum / N, var = sq / N - mean * mean;
    ck_assert_double_eq_tol(mean, 0.0, 0.01);
    ck_assert_double_eq_tol(var, 1.0, 0.02);
    qsort(x, N, sizeof x[0], cmp_double);
    ck_assert_double_eq_tol(x[N / 2], 0.0, 0.01);
    ck_assert_double_eq_tol(x[(int)(N * 0.99)], 2.3263, 0.04);
}
END_TEST

START_TEST(normal_quantile_values)
{
    ck_assert_double_eq_tol(rng_normal_quantile(0.5), 0.0, 1e-12);
    ck_assert_double_eq_tol(rng_normal_quantile(0.975), 1.959963984540054, 1e-9);
    ck_assert_double_eq_tol(rng_normal_quantile(0.99), 2.326347874040841, 1e-9);
    ck_assert_double_eq_tol(rng_normal_quantile(0.999), 3.090232306167814, 1e-9);
    ck_assert_double_eq_tol(rng_normal_quantile(0.99999), 4.264890793922602, 1e-8);
    ck_assert_double_eq_tol(rng_normal_quantile(0.01), -2.326347874040841, 1e-9);
    ck_assert(isinf(rng_normal_quantile(0.0)) && isinf(rng_normal_quantile(1.0)));
}
END_TEST

/* A lognormal through (median 90, 500 at the 99.9th percentile): its draws' median,
   99th and 99.9th percentiles and mean match the closed forms. */
START_TEST(lognormal_through_two_points)
{
    double sigma = rng_lognormal_sigma(90, 500, 0.999);
    ck_assert_double_eq_tol(sigma, log(500.0 / 90.0) / 3.090232306167814, 1e-9);
    ck_assert_double_eq(rng_lognormal_sigma(90, 90, 0.999), 0.0);
    ck_assert_double_eq(rng_lognormal_sigma(90, 0, 0.999), 0.0);
    ck_assert_double_eq(rng_lognormal_sigma(90, 500, 0.4), 0.0);
    struct rng r;
    static double x[N];
    rng_stream(&r, 5, "ln");
    double sum = 0;
    for (int i = 0; i < N; i++)
        sum += x[i] = rng_lognormal(&r, 90, sigma);
    qsort(x, N, sizeof x[0], cmp_double);
    ck_assert_double_eq_tol(x[N / 2], 90, 90 * 0.01);
    ck_assert_double_eq_tol(x[(int)(N * 0.99)], 90 * exp(sigma * 2.326347874040841), 327 * 0.03);
    ck_assert_double_eq_tol(x[(int)(N * 0.999)], 500, 500 * 0.06);
    ck_assert_double_eq_tol(sum / N, 90 * exp(sigma * sigma / 2), 105 * 0.01);
    struct rng z, fresh;
    rng_stream(&z, 5, "ln");
    rng_stream(&fresh, 5, "ln");
    ck_assert_double_eq(rng_lognormal(&z, 90, 0.0), 90.0); /* no spread: no draw either */
    ck_assert_uint_eq(rng_next(&z), rng_next(&fresh));
}
END_TEST

static Suite *rng_suite(void)
{
    Suite *s = suite_create("rng");
    TCase *tc = tcase_create("streams");
    tcase_add_test(tc, reference_vectors);
    tcase_add_test(tc, same_seed_same_stream);
    tcase_add_test(tc, seeds_and_names_differ);
    tcase_add_test(tc, streams_independent_by_construction);
    tcase_add_test(tc, uniform_moments);
    tcase_add_test(tc, normal_moments_and_quantiles);
    tcase_add_test(tc, normal_quantile_values);
    tcase_add_test(tc, lognormal_through_two_points);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(rng_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
