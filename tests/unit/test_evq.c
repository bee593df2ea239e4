/*
 * Event queue: ordering by time, ties broken by insertion order,
 * cancellation (including stale handles), run_until limits, and that the
 * same schedule gives the same firing sequence.
 */
#include <check.h>
#include <stdlib.h>

#include "evq.h"

struct rec {
    int log[64];
    int n;
    struct evq *q;
};

struct tag {
    struct rec *r;
    int id;
};

static void fire(void *opaque, simtime_t now)
{
    struct tag *t = opaque;
    (void)now;
    t->r->log[t->r->n++] = t->id;
}

START_TEST(orders_by_time_then_insertion)
{
    struct evq q;
    struct rec r = {0};
    struct tag t[5];
    evq_init(&q);
    simtime_t when[5] = {30, 10, 20, 10, 10};
    for (int i = 0; i < 5; i++) {
        t[i] = (struct tag){&r, i};
        evq_schedule(&q, when[i], fire, &t[i]);
    }
    ck_assert_uint_eq(evq_peek(&q), 10);
    while (evq_step(&q))
        ;
    int expect[5] = {1, 3, 4, 2, 0};
    ck_assert_int_eq(r.n, 5);
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(r.log[i], expect[i]);
    ck_assert_uint_eq(evq_now(&q), 30);
    evq_fini(&q);
}
END_TEST

START_TEST(cancel_and_stale_handles)
{
    struct evq q;
    struct rec r = {0};
    struct tag a = {&r, 1}, b = {&r, 2}, c = {&r, 3};
    evq_init(&q);
    evq_handle ha = evq_schedule(&q, 5, fire, &a);
    evq_handle hb = evq_schedule(&q, 6, fire, &b);
    evq_schedule(&q, 7, fire, &c);
    ck_assert(evq_cancel(&q, hb));
    ck_assert(!evq_cancel(&q, hb)); /* already cancelled */
    ck_assert(!evq_cancel(&q, 0));
    ck_assert_uint_eq(evq_pending(&q), 2);
    evq_step(&q);
    ck_assert(!evq_cancel(&q, ha)); /* already fired */
    /* the freed slot is reused: the old handle must not cancel the new event */
    struct tag d = {&r, 4};
    evq_schedule(&q, 8, fire, &d);
    ck_assert(!evq_cancel(&q, ha));
    while (evq_step(&q))
        ;
    ck_assert_int_eq(r.n, 3);
    ck_assert_int_eq(r.log[0], 1);
    ck_assert_int_eq(r.log[1], 3);
    ck_assert_int_eq(r.log[2], 4);
    evq_fini(&q);
}
END_TEST

static void resched(void *opaque, simtime_t now)
{
    struct tag *t = opaque;
    t->r->log[t->r->n++] = t->id;
    if (t->r->n < 10)
        evq_schedule(t->r->q, now + 100, resched, t);
}

START_TEST(run_until_stops_at_limit)
{
    struct evq q;
    struct rec r = {.q = &q};
    struct tag t = {&r, 7};
    evq_init(&q);
    evq_schedule(&q, 0, resched, &t);
    uint64_t n = evq_run_until(&q, 450, NULL);
    ck_assert_uint_eq(n, 5); /* 0,100,200,300,400 */
    ck_assert_uint_eq(evq_now(&q), 400);
    ck_assert_uint_eq(evq_peek(&q), 500);
    evq_run_until(&q, SIMTIME_NEVER, NULL);
    ck_assert_int_eq(r.n, 10);
    evq_fini(&q);
}
END_TEST

static void run_random(uint32_t seed, int *out, int n)
{
    struct evq q;
    struct rec r = {0};
    struct tag *t = calloc((size_t)n, sizeof(*t));
    evq_init(&q);
    for (int i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        t[i] = (struct tag){&r, i};
        evq_schedule(&q, (seed >> 16) % 8, fire, &t[i]);
    }
    for (int i = 0; i < n; i++)
        if (i % 3 == 0)
            evq_cancel(&q, (uint64_t)1 << 32 | (uint32_t)i);
    int k = 0;
    while (evq_step(&q))
        ;
    for (int i = 0; i < r.n; i++)
        out[k++] = r.log[i];
    evq_fini(&q);
    free(t);
}

START_TEST(same_schedule_same_sequence)
{
    int a[64] = {0}, b[64] = {0};
    run_random(42, a, 48);
    run_random(42, b, 48);
    for (int i = 0; i < 64; i++)
        ck_assert_int_eq(a[i], b[i]);
}
END_TEST

START_TEST(heap_keeps_order_under_load)
{
    struct evq q;
    evq_init(&q);
    static struct rec r;
    struct tag t = {&r, 0};
    uint32_t seed = 7;
    evq_handle hs[2000];
    for (int i = 0; i < 2000; i++) {
        seed = seed * 1664525u + 1013904223u;
        hs[i] = evq_schedule(&q, seed % 100000, fire, &t);
    }
    for (int i = 0; i < 2000; i += 2)
        ck_assert(evq_cancel(&q, hs[i]));
    simtime_t last = 0;
    int n = 0;
    while (evq_pending(&q)) {
        simtime_t w = evq_peek(&q);
        ck_assert_uint_ge(w, last);
        last = w;
        r.n = 0;
        evq_step(&q);
        n++;
    }
    ck_assert_int_eq(n, 1000);
    evq_fini(&q);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("evq");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, orders_by_time_then_insertion);
    tcase_add_test(tc, cancel_and_stale_handles);
    tcase_add_test(tc, run_until_stops_at_limit);
    tcase_add_test(tc, same_schedule_same_sequence);
    tcase_add_test(tc, heap_keeps_order_under_load);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
