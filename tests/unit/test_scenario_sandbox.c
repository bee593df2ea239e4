/*
 * Unit tests for the scenario sandbox (sim/scenario/sandbox.c, the import
 * rules in decl_dev.c): hostile scripts end in a clear error within their
 * budget, never a hang; errors without a position get one; imports stay in
 * the scenario's directory and the scenario library.
 *
 * Each reproducer from issue 10 is one script here. The CPU budget is set
 * to 1 s (sc_load_opts.cpu_budget_s) so the runaway cases end quickly.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* nftw, mkdtemp */
#endif
#include <check.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "scenario.h"

#ifndef HOPSIM_SOURCE_DIR
#error "HOPSIM_SOURCE_DIR must name the repository root"
#endif
#define PROFILES HOPSIM_SOURCE_DIR "/profiles"

/* Line 1 of every script: a 2-CPU, 64 MiB machine. */
#define HDR "machine { cpus = 2, memory_mb = 64 }\n"
#define DOM "domain { name = 'a', image = 'a.elf' }\n"

static char tmpdir[64];
static char script[128]; /* tmpdir/s.lua */
static char outdir[128]; /* tmpdir/out: the run's output directory */
static char err[2048];
static struct scenario *sc;

static void write_file(const char *name, const char *text, size_t len)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(text, 1, len, f), len);
    fclose(f);
}

static void setup(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/hopsim-sbx-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    snprintf(script, sizeof script, "%s/s.lua", tmpdir);
    snprintf(outdir, sizeof outdir, "%s/out", tmpdir);
    write_file("a.elf", "dummy image\n", 12);
    sc = calloc(1, sizeof *sc);
    ck_assert_ptr_nonnull(sc);
    err[0] = '\0';
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static void teardown(void)
{
    free(sc);
    nftw(tmpdir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Write text as s.lua and load it with a 1 s CPU budget, outputs in outdir. */
static int load_with(const char *text, const struct sc_set *sets, int nsets, bool rw_disks)
{
    struct sc_load_opts o = {.profile_path = PROFILES,
                             .cpu_budget_s = 1,
                             .out_dir = outdir,
                             .sets = sets,
                             .nsets = nsets,
                             .rw_disks = rw_disks};
    write_file("s.lua", text, strlen(text));
    return scenario_load(sc, script, &o, err, sizeof err);
}

static int load(const char *text)
{
    return load_with(text, NULL, 0, false);
}

/* The load fails with "tmpdir/s.lua:LINE: rest" (LINE 0: "tmpdir/s.lua: rest"). */
static void expect_fail(const char *text, int line, const char *rest)
{
    char want[2048];
    ck_assert_int_eq(load(text), -1);
    if (line)
        snprintf(want, sizeof want, "%s:%d: %s", script, line, rest);
    else
        snprintf(want, sizeof want, "%s: %s", script, rest);
    ck_assert_str_eq(err, want);
}

/* A runaway script ends within its budget with the budget error. */
static void expect_budget(const char *text, bool lua_limit_ok)
{
    double t0 = now_s();
    ck_assert_int_eq(load(text), -1);
    ck_assert_msg(now_s() - t0 < 20, "took %.1f s", now_s() - t0);
    /* a host busy with other work may reach the wall-clock budget first */
    ck_assert_msg(strstr(err, "s.lua: scenario exceeded its CPU budget (1 s of CPU time)") ||
                      strstr(err, "s.lua: scenario exceeded its wall-clock budget (13 s)") ||
                      (lua_limit_ok && strstr(err, "scenario script ran for more than")),
                  "%s", err);
}

/* -------------------------------------------------------------- budgets */

START_TEST(budget_pcall_loop)
{
    expect_budget(HDR "while true do pcall(function() while true do end end) end\n", true);
}
END_TEST

START_TEST(budget_gc_finalizer)
{
    /* finalizers run with hooks off: only the process limit stops this */
    expect_budget(HDR "setmetatable({}, { __gc = function() while true do end end })\n"
                      "for i = 1, 1e8 do local t = { i } end\n" DOM,
                  false);
}
END_TEST

START_TEST(budget_string_find)
{
    /* backtracking in C: no Lua instruction is counted */
    expect_budget(HDR "local x = ('a'):rep(30):find(('a*'):rep(30) .. 'b')\n" DOM, false);
}
END_TEST

START_TEST(budget_memory)
{
    /* one allocation past the cap, caught by pcall: still the load's error, with its line */
    expect_fail(HDR "pcall(function() return ('x'):rep(300 * 1024 * 1024) end)\n" DOM, 2,
                "out of memory (a scenario may use 256 MiB)");
}
END_TEST

START_TEST(declarations_come_back)
{
    ck_assert_msg(load(HDR
                       "param('rounds', 3)\n"
                       "domain { name = 'a', image = 'a.elf', memory_mb = 8, args = { n = 5 } }\n"
                       "output { trace_json = 't.json', summary = false }\n") == 0,
                  "%s", err);
    ck_assert_int_eq(sc->ndomains, 1);
    ck_assert_str_eq(sc->domains[0].name, "a");
    ck_assert_str_eq(sc->domains[0].cmdline, "n=5");
    ck_assert_int_eq(sc->domains[0].line, 3);
    ck_assert_int_eq(sc->machine.cpus, 2);
    ck_assert(!sc->output.summary);
}
END_TEST

/* ------------------------------------------------------------- messages */

START_TEST(error_positions)
{
    expect_fail(HDR "error('x', 0)\n", 2, "x");
    expect_fail(HDR "\nerror({})\n", 3, "error object is a table value, not a string");
    expect_fail(HDR "pcall(error)\nerror(nil)\n", 3, "error object is a nil value, not a string");
    /* Lua's own position stays as it is */
    expect_fail(HDR "error('y')\n", 2, "y");
}
END_TEST

START_TEST(binary_chunk_refused)
{
    static const char chunk[] = "\x1bLua\x54\x00\x19\x93\r\n\x1a\n";
    write_file("s.lua", chunk, sizeof chunk - 1);
    struct sc_load_opts o = {.profile_path = PROFILES, .cpu_budget_s = 1};
    ck_assert_int_eq(scenario_load(sc, script, &o, err, sizeof err), -1);
    char want[256];
    snprintf(want, sizeof want, "%s: attempt to load a binary chunk (mode is 't')", script);
    ck_assert_str_eq(err, want);

    /* an imported binary chunk too */
    write_file("bin.lua", chunk, sizeof chunk - 1);
    ck_assert_int_eq(load(HDR "import 'bin.lua'\n"), -1);
    ck_assert_msg(strstr(err, "bin.lua: attempt to load a binary chunk (mode is 't')"), "%s", err);
}
END_TEST

START_TEST(library_error_names_caller)
{
    char want[1024];
    write_file("mylib.lua",
               "local M = {}\n"
               "function M.bad() domain { name = 'a', image = 'a.elf', cpu = 'x' } end\n"
               "function M.boom() error('boom') end\n"
               "return M\n",
               strlen("local M = {}\n"
                      "function M.bad() domain { name = 'a', image = 'a.elf', cpu = 'x' } end\n"
                      "function M.boom() error('boom') end\n"
                      "return M\n"));
    ck_assert_int_eq(load(HDR "local m = import 'mylib.lua'\n\nm.bad()\n"), -1);
    snprintf(want, sizeof want,
             "%s/mylib.lua:2: cpu: expected an integer, got string (called from %s:4)", tmpdir,
             script);
    ck_assert_str_eq(err, want);
    ck_assert_int_eq(load(HDR "local m = import 'mylib.lua'\nm.boom()\n"), -1);
    snprintf(want, sizeof want, "%s/mylib.lua:3: boom (called from %s:3)", tmpdir, script);
    ck_assert_str_eq(err, want);
}
END_TEST

/* -------------------------------------------------------------- imports */

START_TEST(import_confined)
{
    expect_fail(HDR "import '/etc/passwd'\n", 2,
                "import: '/etc/passwd': an absolute path (imports are relative to the "
                "scenario's directory or the scenario library)");
    expect_fail(HDR "import '../../../etc/x.lua'\n", 2,
                "import: '../../../etc/x.lua': a path with '..' (imports stay in the scenario's "
                "directory or the scenario library)");
    write_file("vars.env", "KEY=\"v\"\n", 8);
    expect_fail(HDR "pcall(import, 'vars.env')\n" DOM, 2, "import: 'vars.env': not a .lua file");
    /* a control character in the name is shown escaped */
    ck_assert_int_eq(load(HDR "import 'x\\1.lua'\n"), -1);
    ck_assert_msg(strstr(err, ":2: import: 'x\\x01.lua' not found (looked in "), "%s", err);
}
END_TEST

START_TEST(import_symlink_escape)
{
    char outside[128], link[192], want[1024];
    snprintf(outside, sizeof outside, "%s-outside.lua", tmpdir);
    FILE *f = fopen(outside, "w");
    ck_assert_ptr_nonnull(f);
    fputs("return 1\n", f);
    fclose(f);
    snprintf(link, sizeof link, "%s/inside.lua", tmpdir);
    ck_assert_int_eq(symlink(outside, link), 0);
    ck_assert_int_eq(load(HDR "import 'inside.lua'\n"), -1);
    unlink(outside);
    snprintf(want, sizeof want,
             "%s:2: import: 'inside.lua': %s is not a regular file within the scenario's "
             "directory or the scenario library",
             script, link);
    ck_assert_str_eq(err, want);
}
END_TEST

START_TEST(import_library_and_local)
{
    write_file("mine.lua", "return { n = 7 }\n", 17);
    ck_assert_msg(load(HDR "local m = import 'mine.lua'\n"
                           "local blk = import 'lib/blk.lua'\n"
                           "assert(m.n == 7 and blk.place)\n" DOM) == 0,
                  "%s", err);
}
END_TEST

/* -------------------------------------------------------------- outputs */

#define ESCAPE_TAIL                                                                                \
    "; a scenario writes only inside the run's output directory (%s, --out DIR); a path given "    \
    "on the command line (--set) is used as given"

START_TEST(outputs_confined)
{
    char want[1024], link[256];
    ck_assert_int_eq(load(HDR DOM "output { trace_json = '../../../../../etc/passwd' }\n"), -1);
    snprintf(want, sizeof want,
             "%s:3: trace_json: '../../../../../etc/passwd': a path with '..'" ESCAPE_TAIL, script,
             outdir);
    ck_assert_str_eq(err, want);
    ck_assert_int_eq(load(HDR DOM "output { pcap = '/tmp/x.pcap' }\n"), -1);
    snprintf(want, sizeof want, "%s:3: pcap: '/tmp/x.pcap': an absolute path" ESCAPE_TAIL, script,
             outdir);
    ck_assert_str_eq(err, want);

    /* a link inside the output directory does not lead out of it */
    ck_assert_int_eq(mkdir(outdir, 0777), 0);
    snprintf(link, sizeof link, "%s/up", outdir);
    ck_assert_int_eq(symlink(tmpdir, link), 0);
    ck_assert_int_eq(load(HDR DOM "output { trace_csv = 'up/s.lua' }\n"), -1);
    snprintf(
        want, sizeof want,
        "%s:3: trace_csv: 'up/s.lua': %s is a symbolic link (it could lead outside %s)" ESCAPE_TAIL,
        script, link, outdir, outdir);
    ck_assert_str_eq(err, want);

    /* inside: directories below the output directory are created */
    ck_assert_msg(load(HDR DOM "output { trace_json = 'sub/dir/t.json' }\n") == 0, "%s", err);
    snprintf(want, sizeof want, "%s/sub/dir/t.json", outdir);
    ck_assert_str_eq(sc->output.trace_json, want);
    struct stat st;
    snprintf(want, sizeof want, "%s/sub/dir", outdir);
    ck_assert(stat(want, &st) == 0 && S_ISDIR(st.st_mode));
}
END_TEST

START_TEST(command_line_paths_are_the_users)
{
    struct sc_set sets[] = {{"trace", "/tmp/hopsim-user-trace.json", false}};
    ck_assert_msg(load_with(HDR DOM "output { trace_json = param('trace', 't.json') }\n", sets, 1,
                            false) == 0,
                  "%s", err);
    ck_assert_str_eq(sc->output.trace_json, "/tmp/hopsim-user-trace.json");
    struct sc_set dotted[] = {{"output.pcap", "../elsewhere.pcap", false}};
    ck_assert_msg(load_with(HDR DOM, dotted, 1, false) == 0, "%s", err);
    ck_assert_str_eq(sc->output.pcap, "../elsewhere.pcap");
}
END_TEST

#define DISK(img, create)                                                                          \
    "device { kind = 'sas_hba', owner = 'a', disks = { { type = 'ssd', image = " img               \
    ", size_mb = 8, create = " create " } } }\n"

START_TEST(disks_read_only_unless_created)
{
    char want[256];
    ck_assert_msg(load(HDR DOM DISK("'d.img'", "false")) == 0, "%s", err);
    snprintf(want, sizeof want, "%s/d.img", outdir);
    ck_assert_str_eq(sc->devices[0].disks[0].image, want);
    ck_assert(sc->devices[0].disks[0].read_only);
    ck_assert_msg(load(HDR DOM DISK("'d.img'", "true")) == 0, "%s", err);
    ck_assert(!sc->devices[0].disks[0].read_only);
    ck_assert_msg(load_with(HDR DOM DISK("'d.img'", "false"), NULL, 0, true) == 0, "%s", err);
    ck_assert(!sc->devices[0].disks[0].read_only);
    /* a disk named on the command line: as given, still read-only unless created */
    struct sc_set sets[] = {{"disk", "/tmp/hopsim-user.img", false}};
    ck_assert_msg(load_with(HDR DOM DISK("param('disk', 'x.img')", "false"), sets, 1, false) == 0,
                  "%s", err);
    ck_assert_str_eq(sc->devices[0].disks[0].image, "/tmp/hopsim-user.img");
    ck_assert(sc->devices[0].disks[0].read_only);
    ck_assert_int_eq(load(HDR DOM DISK("'../d.img'", "true")), -1);
    ck_assert_msg(strstr(err, "s.lua:3: disks.image: '../d.img': a path with '..'"), "%s", err);
}
END_TEST

static Suite *sandbox_suite(void)
{
    Suite *s = suite_create("scenario_sandbox");
    TCase *tc = tcase_create("budgets");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, budget_pcall_loop);
    tcase_add_test(tc, budget_gc_finalizer);
    tcase_add_test(tc, budget_string_find);
    tcase_add_test(tc, budget_memory);
    tcase_add_test(tc, declarations_come_back);
    suite_add_tcase(s, tc);

    TCase *msg = tcase_create("messages");
    tcase_add_checked_fixture(msg, setup, teardown);
    tcase_set_timeout(msg, 60);
    tcase_add_test(msg, error_positions);
    tcase_add_test(msg, binary_chunk_refused);
    tcase_add_test(msg, library_error_names_caller);
    suite_add_tcase(s, msg);

    TCase *imp = tcase_create("imports");
    tcase_add_checked_fixture(imp, setup, teardown);
    tcase_set_timeout(imp, 60);
    tcase_add_test(imp, import_confined);
    tcase_add_test(imp, import_symlink_escape);
    tcase_add_test(imp, import_library_and_local);
    suite_add_tcase(s, imp);

    TCase *out = tcase_create("outputs");
    tcase_add_checked_fixture(out, setup, teardown);
    tcase_set_timeout(out, 60);
    tcase_add_test(out, outputs_confined);
    tcase_add_test(out, command_line_paths_are_the_users);
    tcase_add_test(out, disks_read_only_unless_created);
    suite_add_tcase(s, out);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(sandbox_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
