/*
 * Bounds on the trace state a guest drives with hop marks (sim/engine/trace.c):
 * a place that marks ever new request ids without completing them holds at
 * most TRACE_MAX_REQS_PER_PLACE in flight, the excess counted, other places
 * unaffected, completions giving room back; and a notification moves only
 * the notifying place's requests in the hop it covers (per-(place, hop)
 * buckets, no scan of the others).
 */
#include <check.h>
#include <stdlib.h>

#include <hopsim/abi.h>

#include "trace.h"

static struct trace *open_mem(void)
{
    struct trace_opts o = {0};
    char err[256];
    struct trace *t = trace_open(&o, err, sizeof(err));
    ck_assert_msg(t != NULL, "%s", err);
    return t;
}

START_TEST(test_cap_per_place)
{
    struct trace *t = open_mem();
    uint16_t evil = trace_place(t, PLACE_DOMAIN, 1, "evil");
    uint16_t good = trace_place(t, PLACE_DOMAIN, 2, "good");
    uint64_t flood = TRACE_MAX_REQS_PER_PLACE + 5000u;
    for (uint64_t i = 0; i < flood; i++)
        trace_hop(t, HOPSIM_REQ(1, i), HOP_H1, evil, i);
    ck_assert_uint_eq(trace_requests_inflight(t), TRACE_MAX_REQS_PER_PLACE);
    ck_assert_uint_eq(trace_requests_over_cap(t), 5000);
    /* another domain still gets its requests traced */
    trace_hop(t, HOPSIM_REQ(2, 1), HOP_H1, good, flood);
    ck_assert_int_eq(trace_req_hop(t, HOPSIM_REQ(2, 1)), HOP_H1);
    trace_done(t, HOPSIM_REQ(2, 1), flood + 1);
    /* completions free the state and give the place room again */
    for (uint64_t i = 0; i < 100; i++)
        trace_done(t, HOPSIM_REQ(1, i), flood + 2);
    ck_assert_uint_eq(trace_requests_inflight(t), TRACE_MAX_REQS_PER_PLACE - 100);
    trace_hop(t, HOPSIM_REQ(1, flood + 1), HOP_H1, evil, flood + 3);
    ck_assert_int_eq(trace_req_hop(t, HOPSIM_REQ(1, flood + 1)), HOP_H1);
    ck_assert_uint_eq(trace_requests_done(t), 101);
    char err[256];
    ck_assert_int_eq(trace_close(t, err, sizeof(err)), 0);
}
END_TEST

START_TEST(test_advance_moves_only_its_bucket)
{
    struct trace *t = open_mem();
    uint16_t a = trace_place(t, PLACE_DOMAIN, 1, "a");
    uint16_t b = trace_place(t, PLACE_DOMAIN, 2, "b");
    uint16_t cpu = trace_place(t, PLACE_CPU, 0, "cpu0");
    for (uint64_t i = 0; i < 10; i++) {
        trace_hop(t, HOPSIM_REQ(1, i), HOP_H2, a, 10);
        trace_hop(t, HOPSIM_REQ(2, i), HOP_H2, b, 10);
        trace_hop(t, HOPSIM_REQ(1, 100 + i), HOP_H1, a, 10);
    }
    ck_assert_int_eq(trace_hop_advance(t, a, HOP_H2, HOP_H3, cpu, 20), 10);
    ck_assert_uint_eq(trace_last_advanced(t), HOPSIM_REQ(1, 0));
    for (uint64_t i = 0; i < 10; i++) {
        ck_assert_int_eq(trace_req_hop(t, HOPSIM_REQ(1, i)), HOP_H3);
        ck_assert_int_eq(trace_req_hop(t, HOPSIM_REQ(2, i)), HOP_H2);
        ck_assert_int_eq(trace_req_hop(t, HOPSIM_REQ(1, 100 + i)), HOP_H1);
    }
    /* nothing left in a's H2; b's move on their own notification */
    ck_assert_int_eq(trace_hop_advance(t, a, HOP_H2, HOP_H3, cpu, 30), 0);
    ck_assert_int_eq(trace_hop_advance(t, b, HOP_H2, HOP_H3, cpu, 30), 10);
    /* a request completed in between leaves its bucket */
    trace_hop(t, HOPSIM_REQ(1, 0), HOP_H4, a, 40);
    trace_done(t, HOPSIM_REQ(1, 1), 41);
    ck_assert_int_eq(trace_hop_advance(t, cpu, HOP_H3, HOP_H4, a, 50), 18);
    char err[256];
    ck_assert_int_eq(trace_close(t, err, sizeof(err)), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("trace-bounds");
    TCase *tc = tcase_create("bounds");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_cap_per_place);
    tcase_add_test(tc, test_advance_moves_only_its_bucket);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
