/*
 * Unit tests for expectations (sim/scenario/expect.c) and quantities with
 * units (units.c): parsing with units and did-you-mean, evaluation against
 * measurements, and that every name cli/measure.c produces is a metric.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "expect.h"
#include "units.h"

static char msg[512];

START_TEST(units_parse_and_format)
{
    double v;
    char buf[64];
    ck_assert_int_eq(unit_parse("150us", UNIT_TIME, &v, msg, sizeof msg), 0);
    ck_assert(v == 150e6);
    ck_assert_int_eq(unit_parse("2.5 ms", UNIT_TIME, &v, msg, sizeof msg), 0);
    ck_assert(v == 2.5e9);
    ck_assert_int_eq(unit_parse("4KiB", UNIT_BYTES, &v, msg, sizeof msg), 0);
    ck_assert(v == 4096);
    ck_assert_int_eq(unit_parse("900Mbit/s", UNIT_BITS, &v, msg, sizeof msg), 0);
    ck_assert(v == 900e6);
    ck_assert_int_eq(unit_parse("12", UNIT_COUNT, &v, msg, sizeof msg), 0);
    ck_assert(v == 12);
    ck_assert_int_eq(unit_parse("150", UNIT_TIME, &v, msg, sizeof msg), -1);
    ck_assert_ptr_nonnull(strstr(msg, "needs a unit"));
    ck_assert_int_eq(unit_parse("4KiB", UNIT_TIME, &v, msg, sizeof msg), -1);
    ck_assert_ptr_nonnull(strstr(msg, "is a size"));
    ck_assert_int_eq(unit_parse("5 parsecs", UNIT_TIME, &v, msg, sizeof msg), -1);
    ck_assert_ptr_nonnull(strstr(msg, "unknown unit 'parsecs'"));
    unit_format(42180000, UNIT_TIME, buf, sizeof buf);
    ck_assert_str_eq(buf, "42.180 us");
    unit_format(3.5e9, UNIT_TIME, buf, sizeof buf);
    ck_assert_str_eq(buf, "3.500 ms");
    enum unit_kind k;
    ck_assert(unit_guess("5ms", &k) && k == UNIT_TIME);
    ck_assert(unit_guess("4KiB", &k) && k == UNIT_BYTES);
    ck_assert(!unit_guess("4096", &k));
}
END_TEST

START_TEST(parse_ok)
{
    struct sc_expect e;
    ck_assert_int_eq(expect_parse(&e, "  request.p99 <= 150us ", msg, sizeof msg), 0);
    ck_assert_str_eq(e.metric, "request.p99");
    ck_assert_int_eq(e.op, EXP_LE);
    ck_assert_int_eq(e.unit, UNIT_TIME);
    ck_assert(e.value == 150e6);
    ck_assert_int_eq(expect_parse(&e, "H5.count != 0", msg, sizeof msg), 0);
    ck_assert_int_eq(e.unit, UNIT_COUNT);
    ck_assert_int_eq(expect_parse(&e, "span.grant_copy.count > 0", msg, sizeof msg), 0);
    ck_assert_int_eq(expect_parse(&e, "dom.evil.state == crashed", msg, sizeof msg), 0);
    ck_assert_str_eq(e.word, "crashed");
    ck_assert_int_eq(expect_parse(&e, "net.throughput_out > 500Mbit/s", msg, sizeof msg), 0);
}
END_TEST

START_TEST(parse_errors)
{
    struct sc_expect e;
    ck_assert_int_eq(expect_parse(&e, "request.p9 < 1us", msg, sizeof msg), -1);
    ck_assert_ptr_nonnull(strstr(msg, "did you mean 'request.p99'"));
    ck_assert_int_eq(expect_parse(&e, "reqeusts >= 5", msg, sizeof msg), -1);
    ck_assert_ptr_nonnull(strstr(msg, "did you mean 'requests'"));
    ck_assert_int_eq(expect_parse(&e, "H9.p50 < 1us", msg, sizeof msg), -1);
    ck_assert_int_eq(expect_parse(&e, "requests 5", msg, sizeof msg), -1);
    ck_assert_ptr_nonnull(strstr(msg, "METRIC OP VALUE"));
    ck_assert_int_eq(expect_parse(&e, "status < ok", msg, sizeof msg), -1);
    ck_assert_ptr_nonnull(strstr(msg, "== or !="));
    ck_assert_int_eq(expect_parse(&e, "iops > fast", msg, sizeof msg), -1);
    const char *names[] = {"domu1", "dom0", NULL};
    struct sc_expect two[2];
    ck_assert_int_eq(expect_parse(&two[0], "dom.dom0.hypercalls > 0", msg, sizeof msg), 0);
    ck_assert_int_eq(expect_parse(&two[1], "dom.domu.state == poweroff", msg, sizeof msg), 0);
    ck_assert_int_eq(expect_check_domains(two, 2, names, msg, sizeof msg), 1);
    ck_assert_ptr_nonnull(strstr(msg, "did you mean 'domu1'"));
}
END_TEST

START_TEST(report)
{
    struct measures ms = {0};
    struct sc_expect e[4];
    measure_add(&ms, "requests", UNIT_COUNT, 188);
    measure_add(&ms, "request.p99", UNIT_TIME, 120e6);
    measure_text(&ms, "status", "ok");
    ck_assert_int_eq(expect_parse(&e[0], "requests >= 500", msg, sizeof msg), 0);
    ck_assert_int_eq(expect_parse(&e[1], "request.p99 < 150us", msg, sizeof msg), 0);
    ck_assert_int_eq(expect_parse(&e[2], "status == ok", msg, sizeof msg), 0);
    ck_assert_int_eq(expect_parse(&e[3], "H3.p50 < 1us", msg, sizeof msg), 0);
    for (int i = 0; i < 4; i++) {
        snprintf(e[i].file, sizeof e[i].file, "lab.lua");
        e[i].line = 10 + i;
    }
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    ck_assert_int_eq(expect_report(e, 4, &ms, out), 2);
    fclose(out);
    ck_assert_ptr_nonnull(strstr(text, "lab.lua:10: requests >= 500: measured 188: FAIL"));
    ck_assert_ptr_nonnull(
        strstr(text, "lab.lua:11: request.p99 < 150us: measured 120.000 us: pass"));
    ck_assert_ptr_nonnull(strstr(text, "lab.lua:12: status == ok: measured ok: pass"));
    ck_assert_ptr_nonnull(strstr(text, "lab.lua:13: H3.p50 < 1us: measured not measured"));
    free(text);
    measures_free(&ms);
}
END_TEST

/* Every metric name a run can produce is one an expectation may name. */
START_TEST(measured_names_are_metrics)
{
    static const char *const produced[] = {"status",
                                           "requests",
                                           "requests_inflight",
                                           "request.count",
                                           "request.p99",
                                           "H1.mean",
                                           "H8.max",
                                           "span.hypercall.p50",
                                           "span.world_switch.count",
                                           "iops",
                                           "guest_checks.passed",
                                           "guest_checks.failed",
                                           "sim_time",
                                           "events",
                                           "hypercalls",
                                           "domains_crashed",
                                           "dom.x.state",
                                           "dom.x.hypercalls",
                                           "dom.x.guest_errors",
                                           "dom.x.checks_passed",
                                           "dom.x.checks_failed",
                                           "net.frames_out",
                                           "net.frames_in",
                                           "net.bytes_out",
                                           "net.bytes_in",
                                           "net.throughput_out",
                                           "net.throughput_in",
                                           "net.bad_payload",
                                           NULL};
    for (int i = 0; produced[i]; i++) {
        enum unit_kind u;
        ck_assert_msg(metric_lookup(produced[i], &u, msg, sizeof msg), "%s: %s", produced[i], msg);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("expect");
    TCase *tc = tcase_create("expect");
    tcase_add_test(tc, units_parse_and_format);
    tcase_add_test(tc, parse_ok);
    tcase_add_test(tc, parse_errors);
    tcase_add_test(tc, report);
    tcase_add_test(tc, measured_names_are_metrics);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
