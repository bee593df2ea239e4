/*
 * Unit tests for cost profiles (sim/cost.c): the default profile is
 * complete and sourced, unit conversions are exact, and each file error
 * names FILE:LINE: NAME.
 *
 * Broken profiles are made in a temporary directory from the real
 * default profile with one line dropped and/or one appended, so the tests
 * keep working as parameters are added. HOPSIM_SOURCE_DIR is the repo root.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* nftw, mkdtemp */
#endif
#include <check.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cost.h"

#ifndef HOPSIM_SOURCE_DIR
#error "HOPSIM_SOURCE_DIR must name the repository root"
#endif
#define DEFAULT_PROFILE HOPSIM_SOURCE_DIR "/profiles/default.profile"

static char tmpdir[64];
static char err[1024];
static struct cost_profile prof;

static void setup(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/hopsim-cost-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    memset(&prof, 0, sizeof prof);
    err[0] = '\0';
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static void teardown(void)
{
    nftw(tmpdir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* Does this profile line set parameter `name`? */
static int line_sets(const char *line, const char *name)
{
    size_t n = strlen(name);
    return strncmp(line, name, n) == 0 && (line[n] == ' ' || line[n] == '\t');
}

/*
 * Write tmpdir/file: the default profile without the line of `drop` (if
 * any), then `extra` (if any). Returns the line number of `extra`; the
 * written path goes to path.
 */
static int make_profile(const char *file, const char *drop, const char *extra, char *path, size_t n)
{
    char line[512];
    int lineno = 0;
    snprintf(path, n, "%s/%s", tmpdir, file);
    FILE *in = fopen(DEFAULT_PROFILE, "r"), *out = fopen(path, "w");
    ck_assert_ptr_nonnull(in);
    ck_assert_ptr_nonnull(out);
    while (fgets(line, sizeof line, in)) {
        if (drop && line_sets(line, drop))
            continue;
        fputs(line, out);
        lineno++;
    }
    if (extra)
        fprintf(out, "%s\n", extra);
    fclose(in);
    fclose(out);
    return lineno + 1;
}

/* Line of `name` in the default profile. */
static int default_line(const char *name)
{
    char line[512];
    int lineno = 0, found = 0;
    FILE *in = fopen(DEFAULT_PROFILE, "r");
    ck_assert_ptr_nonnull(in);
    while (!found && fgets(line, sizeof line, in)) {
        lineno++;
        if (line_sets(line, name))
            found = lineno;
    }
    fclose(in);
    return found;
}

/* Load a default profile with `drop` removed and `extra` appended; expect
 * the error "PATH:LINE: msg". */
static void expect_line_error(const char *drop, const char *extra, const char *msg)
{
    char path[256], want[1024];
    int line = make_profile("bad.profile", drop, extra, path, sizeof path);
    snprintf(want, sizeof want, "%s:%d: %s", path, line, msg);
    ck_assert_int_eq(cost_load(&prof, path, err, sizeof err), -1);
    ck_assert_str_eq(err, want);
}

START_TEST(default_profile_complete)
{
    ck_assert_msg(cost_load(&prof, DEFAULT_PROFILE, err, sizeof err) == 0, "%s", err);
    ck_assert_str_eq(prof.name, "default");
    for (int i = 0; i < COST_COUNT; i++) {
        ck_assert_msg(prof.line[i] > 0, "%s has no line", cost_name(i));
        ck_assert_msg(strlen(prof.source[i]) > 0, "%s has no source", cost_name(i));
        ck_assert_msg(prof.value[i] > 0, "%s is zero", cost_name(i));
        ck_assert_msg(prof.unit[i][0] != '\0', "%s has no unit", cost_name(i));
    }
    ck_assert_double_eq(prof.value[C_HYPERCALL], 1230);
    ck_assert_double_eq(prof.value[C_VMEXIT], 784);
    ck_assert_double_eq(prof.value[C_IRQ_INJECT], 1460);
    ck_assert_double_eq(prof.value[C_WORLD_SWITCH], 10500);
    ck_assert_double_eq_tol(prof.value[C_TLB_FLUSH], 6.7e4, 1e-6); /* 0.067 us in ps */
    ck_assert_str_eq(prof.unit[C_TLB_FLUSH], "us");
    ck_assert_double_eq_tol(prof.given[C_TLB_FLUSH], 0.067, 1e-12);
    ck_assert_double_eq(prof.value[C_TLB_IPI_LATENCY], 1e6); /* 1 us in ps */
    ck_assert_double_eq(prof.value[C_TLB_IPI_HANDLER], 1200);
    ck_assert_ptr_nonnull(strstr(prof.source[C_VMEXIT], "Agesen"));
}
END_TEST

START_TEST(table_round_trip)
{
    for (int i = 0; i < COST_COUNT; i++) {
        ck_assert_int_eq(cost_lookup(cost_name(i)), i);
        ck_assert_ptr_nonnull(cost_desc(i));
    }
    ck_assert_int_eq(cost_lookup("nonesuch"), -1);
    ck_assert_int_eq(cost_dim(C_HYPERCALL), DIM_CYCLES);
    ck_assert_int_eq(cost_dim(C_TLB_FLUSH), DIM_TIME);
    ck_assert_int_eq(cost_dim(C_MEMCPY_BW), DIM_BANDWIDTH);
    ck_assert_str_eq(cost_name(C_SLICE), "sched_slice");
}
END_TEST

START_TEST(conversions)
{
    ck_assert_int_eq(cost_load(&prof, DEFAULT_PROFILE, err, sizeof err), 0);
    /* cycles at 3 GHz: 1230 cycles = 410 ns; 1 cycle rounds to 333 ps, 2 to 667 */
    ck_assert_uint_eq(cost_ps(&prof, C_HYPERCALL, 3e9), 410000);
    ck_assert_int_eq(cost_set(&prof, "insn_alu", "1", err, sizeof err), 0);
    ck_assert_uint_eq(cost_ps(&prof, C_INSN_ALU, 3e9), 333);
    ck_assert_int_eq(cost_set(&prof, "insn_alu", "2 cycles", err, sizeof err), 0);
    ck_assert_uint_eq(cost_ps(&prof, C_INSN_ALU, 3e9), 667);
    /* times */
    ck_assert_int_eq(cost_set(&prof, "wake_ipi", "1500 ns", err, sizeof err), 0);
    ck_assert_uint_eq(cost_ps(&prof, C_WAKE_IPI, 3e9), 1500000);
    ck_assert_int_eq(cost_set(&prof, "wake_ipi", "7 ps", err, sizeof err), 0);
    ck_assert_uint_eq(cost_ps(&prof, C_WAKE_IPI, 1e9), 7);
    ck_assert_int_eq(cost_set(&prof, "wake_ipi", "0.25 ms", err, sizeof err), 0);
    ck_assert_uint_eq(cost_ps(&prof, C_WAKE_IPI, 1e9), 250 * PS_PER_US);
    ck_assert_int_eq(cost_set(&prof, "sched_slice", "2 s", err, sizeof err), 0);
    ck_assert_uint_eq(cost_ps(&prof, C_SLICE, 1e9), 2 * PS_PER_S);
    /* bandwidth: 4096 B at 1000 MB/s = 4.096 us */
    ck_assert_int_eq(cost_set(&prof, "memcpy_bw", "1000 MB/s", err, sizeof err), 0);
    ck_assert_double_eq(prof.value[C_MEMCPY_BW], 1e9);
    ck_assert_uint_eq(cost_bytes_ps(&prof, C_MEMCPY_BW, 4096), 4096000);
    ck_assert_uint_eq(cost_bytes_ps(&prof, C_MEMCPY_BW, 0), 0);
    ck_assert_int_eq(cost_set(&prof, "memcpy_bw", "3 KB/s", err, sizeof err), 0);
    ck_assert_uint_eq(cost_bytes_ps(&prof, C_MEMCPY_BW, 1), 333333333); /* 1/3 ms */
    ck_assert_int_eq(cost_set(&prof, "memcpy_bw", "2 GB/s", err, sizeof err), 0);
    ck_assert_uint_eq(cost_bytes_ps(&prof, C_MEMCPY_BW, 1), 500);
    ck_assert_int_eq(cost_set(&prof, "memcpy_bw", "5 B/s", err, sizeof err), 0);
    ck_assert_uint_eq(cost_bytes_ps(&prof, C_MEMCPY_BW, 1), 200000000000ull);
}
END_TEST

START_TEST(set_keeps_unit_and_marks_source)
{
    ck_assert_int_eq(cost_load(&prof, DEFAULT_PROFILE, err, sizeof err), 0);
    ck_assert_int_eq(cost_set(&prof, "memcpy_bw", "4", err, sizeof err), 0);
    ck_assert_str_eq(prof.unit[C_MEMCPY_BW], "GB/s"); /* the profile's unit */
    ck_assert_double_eq(prof.value[C_MEMCPY_BW], 4e9);
    ck_assert_double_eq(prof.given[C_MEMCPY_BW], 4);
    ck_assert_ptr_nonnull(strstr(prof.source[C_MEMCPY_BW], "--set"));
    ck_assert_int_eq(cost_set(&prof, "tlb_flush", "  3.5   us ", err, sizeof err), 0);
    ck_assert_double_eq(prof.value[C_TLB_FLUSH], 3.5e6);
}
END_TEST

START_TEST(set_errors)
{
    ck_assert_int_eq(cost_load(&prof, DEFAULT_PROFILE, err, sizeof err), 0);
    ck_assert_int_eq(cost_set(&prof, "hypercal", "5", err, sizeof err), -1);
    ck_assert_str_eq(err, "hypercal: unknown parameter (did you mean 'hypercall'?)");
    ck_assert_int_eq(cost_set(&prof, "hypercall", "5 ns", err, sizeof err), -1);
    ck_assert_str_eq(err, "hypercall: wrong unit 'ns': this parameter is a cycle count (use "
                          "cycles)");
    ck_assert_int_eq(cost_set(&prof, "hypercall", "fast", err, sizeof err), -1);
    ck_assert_str_eq(err, "hypercall: bad number 'fast' (must be a finite number >= 0)");
    ck_assert_int_eq(cost_set(&prof, "hypercall", "5 cycles extra", err, sizeof err), -1);
    ck_assert_str_eq(err, "hypercall: expected 'VALUE [UNIT]', got '5 cycles extra'");
    ck_assert_int_eq(cost_set(&prof, "memcpy_bw", "0", err, sizeof err), -1);
    ck_assert_str_eq(err, "memcpy_bw: must be > 0");
    /* a failed set changes nothing */
    ck_assert_double_eq(prof.value[C_HYPERCALL], 1230);
    ck_assert_double_eq(prof.value[C_MEMCPY_BW], 8e9);
}
END_TEST

START_TEST(error_unknown_name)
{
    expect_line_error(NULL, "hypercal 5 cycles a source",
                      "hypercal: unknown parameter (did you mean 'hypercall'?)");
    expect_line_error(NULL, "vmexit 5 cycles a source",
                      "vmexit: unknown parameter (did you mean 'vmexit_roundtrip'?)");
    expect_line_error(NULL, "qqqq 5 cycles a source",
                      "qqqq: unknown parameter (see docs/cost-profiles.md for the list)");
}
END_TEST

START_TEST(error_unit)
{
    expect_line_error("hypercall", "hypercall 1230 ns a source",
                      "hypercall: wrong unit 'ns': this parameter is a cycle count (use cycles)");
    expect_line_error("tlb_flush", "tlb_flush 2 cycles a source",
                      "tlb_flush: wrong unit 'cycles': this parameter is a time (use ps, ns, us, "
                      "ms or s)");
    expect_line_error("memcpy_bw", "memcpy_bw 8 GiB/s a source",
                      "memcpy_bw: unknown unit 'GiB/s': this parameter is a bandwidth (use B/s, "
                      "KB/s, MB/s or GB/s)");
    expect_line_error("hypercall", "hypercall 1230", "hypercall: missing unit");
    expect_line_error("hypercall", "hypercall", "hypercall: missing value and unit");
}
END_TEST

START_TEST(error_number)
{
    expect_line_error("hypercall", "hypercall -5 cycles src",
                      "hypercall: bad number '-5' (must be a finite number >= 0)");
    expect_line_error("hypercall", "hypercall nan cycles src",
                      "hypercall: bad number 'nan' (must be a finite number >= 0)");
    expect_line_error("hypercall", "hypercall 12x cycles src",
                      "hypercall: bad number '12x' (must be a finite number >= 0)");
    expect_line_error("memcpy_bw", "memcpy_bw 0 GB/s src", "memcpy_bw: must be > 0");
}
END_TEST

START_TEST(error_missing_source)
{
    expect_line_error("hypercall", "hypercall 1230 cycles",
                      "hypercall: missing source (cite where the value comes from, or write "
                      "'(est.)' and what it is based on)");
    expect_line_error("hypercall", "hypercall 1230 cycles   \t ",
                      "hypercall: missing source (cite where the value comes from, or write "
                      "'(est.)' and what it is based on)");
}
END_TEST

START_TEST(error_duplicate)
{
    char msg[128];
    snprintf(msg, sizeof msg, "hypercall: duplicate (first given on line %d)",
             default_line("hypercall"));
    expect_line_error(NULL, "hypercall 5 cycles again", msg);
}
END_TEST

START_TEST(error_missing_parameter)
{
    char path[256], want[512];
    make_profile("short.profile", "sched_slice", NULL, path, sizeof path);
    snprintf(want, sizeof want, "%s: sched_slice: missing", path);
    ck_assert_int_eq(cost_load(&prof, path, err, sizeof err), -1);
    ck_assert_str_eq(err, want);

    /* an empty file names the first parameter and counts the rest */
    snprintf(path, sizeof path, "%s/empty.profile", tmpdir);
    FILE *f = fopen(path, "w");
    fputs("# nothing here\n\n", f);
    fclose(f);
    snprintf(want, sizeof want, "%s: insn_alu: missing (and %d more parameters)", path,
             COST_COUNT - 1);
    ck_assert_int_eq(cost_load(&prof, path, err, sizeof err), -1);
    ck_assert_str_eq(err, want);
}
END_TEST

START_TEST(name_comments_and_atomic_failure)
{
    char path[256], want[512];
    /* comments, blank lines and CRLF are fine; the name is the basename */
    make_profile("fast-box.v2.profile", NULL, "   # indented comment\r\n\r", path, sizeof path);
    ck_assert_msg(cost_load(&prof, path, err, sizeof err) == 0, "%s", err);
    ck_assert_str_eq(prof.name, "fast-box.v2");

    /* a failed load leaves the profile untouched */
    make_profile("bad.profile", NULL, "hypercall 1 cycles dup", path, sizeof path);
    ck_assert_int_eq(cost_load(&prof, path, err, sizeof err), -1);
    ck_assert_str_eq(prof.name, "fast-box.v2");
    ck_assert_double_eq(prof.value[C_HYPERCALL], 1230);

    snprintf(path, sizeof path, "%s/nonexistent.profile", tmpdir);
    snprintf(want, sizeof want, "%s: cannot open profile: No such file or directory", path);
    ck_assert_int_eq(cost_load(&prof, path, err, sizeof err), -1);
    ck_assert_str_eq(err, want);
}
END_TEST

static Suite *cost_suite(void)
{
    Suite *s = suite_create("cost");
    TCase *tc = tcase_create("profile");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, default_profile_complete);
    tcase_add_test(tc, table_round_trip);
    tcase_add_test(tc, conversions);
    tcase_add_test(tc, set_keeps_unit_and_marks_source);
    tcase_add_test(tc, set_errors);
    tcase_add_test(tc, error_unknown_name);
    tcase_add_test(tc, error_unit);
    tcase_add_test(tc, error_number);
    tcase_add_test(tc, error_missing_source);
    tcase_add_test(tc, error_duplicate);
    tcase_add_test(tc, error_missing_parameter);
    tcase_add_test(tc, name_comments_and_atomic_failure);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(cost_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
