/*
 * Unit tests for scenario scripts (sim/scenario.c): a valid scenario loads
 * with exact fields; each mistake gives "FILE:LINE: KEY: message"; param()
 * and --set, dotted overrides, --seed and the sandbox behave as documented.
 *
 * Fixtures: the .lua files in tests/unit/data (files with deliberate errors, and one
 * valid scenario) plus small scripts written to a temporary directory by
 * the tests, beside dummy image files (the loader only checks that an
 * image exists). Profiles come from HOPSIM_SOURCE_DIR/profiles.
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
#include <unistd.h>

#include "scenario.h"

#ifndef HOPSIM_SOURCE_DIR
#error "HOPSIM_SOURCE_DIR must name the repository root"
#endif
#define DATA HOPSIM_SOURCE_DIR "/tests/unit/data"
#define PROFILES HOPSIM_SOURCE_DIR "/profiles"

/* Line 1 of most inline scripts: a 2-CPU, 64 MiB machine. */
#define HDR "machine { cpus = 2, memory_mb = 64 }\n"

static char tmpdir[64];
static char script[128]; /* tmpdir/s.lua */
static char err[2048];
static struct scenario *sc;

static void write_file(const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

static void setup(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/hopsim-scn-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    snprintf(script, sizeof script, "%s/s.lua", tmpdir);
    write_file("a.elf", "dummy image\n");
    write_file("b.elf", "dummy image\n");
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

static struct sc_load_opts opts(const struct sc_set *sets, int nsets)
{
    struct sc_load_opts o = {
        .sets = sets, .nsets = nsets, .profile_path = PROFILES, .out_dir = tmpdir};
    return o;
}

/* Write `text` as tmpdir/s.lua and load it. */
static int load_sets(const char *text, const struct sc_set *sets, int nsets)
{
    struct sc_load_opts o = opts(sets, nsets);
    write_file("s.lua", text);
    return scenario_load(sc, script, &o, err, sizeof err);
}

static int load(const char *text)
{
    return load_sets(text, NULL, 0);
}

/* The load failed with "PATH:LINE: rest" (LINE 0: "PATH: rest"). */
static void expect_err_at(const char *path, int line, const char *rest)
{
    char want[2048];
    if (line > 0)
        snprintf(want, sizeof want, "%s:%d: %s", path, line, rest);
    else
        snprintf(want, sizeof want, "%s: %s", path, rest);
    ck_assert_str_eq(err, want);
}

static void expect_fail(const char *text, int line, const char *rest)
{
    ck_assert_int_eq(load(text), -1);
    expect_err_at(script, line, rest);
}

static void expect_ok(const char *text, const struct sc_set *sets, int nsets)
{
    int rc = load_sets(text, sets, nsets);
    ck_assert_msg(rc == 0, "load failed: %s", err);
}

/* ------------------------------------------------------------ valid load */

START_TEST(valid_fixture)
{
    struct sc_load_opts o = opts(NULL, 0);
    ck_assert_msg(scenario_load(sc, DATA "/ok.lua", &o, err, sizeof err) == 0, "%s", err);
    ck_assert_str_eq(sc->path, DATA "/ok.lua");
    ck_assert_str_eq(sc->dir, DATA);
    ck_assert_str_eq(sc->name, "pingpong-test");
    ck_assert_uint_eq(sc->seed, 7);
    ck_assert_uint_eq(sc->time_limit_ps, 500 * PS_PER_MS);
    ck_assert_str_eq(sc->arch, "xen-dom0");

    ck_assert_int_eq(sc->machine.cpus, 2);
    ck_assert_double_eq(sc->machine.clock_hz, 3e9);
    ck_assert_uint_eq(sc->machine.memory_bytes, 256ull << 20);
    ck_assert_str_eq(sc->machine.profile, PROFILES "/default.profile");
    ck_assert_str_eq(sc->cost.name, "default");
    ck_assert_double_eq(sc->cost.value[C_HYPERCALL], 1230);

    ck_assert_int_eq(sc->ndomains, 2);
    const struct sc_domain *pong = &sc->domains[0], *ping = &sc->domains[1];
    ck_assert_str_eq(pong->name, "pong");
    ck_assert_str_eq(pong->image, DATA "/pong.elf");
    ck_assert_uint_eq(pong->memory_bytes, 8ull << 20);
    ck_assert_int_eq(pong->vcpus, 1);
    ck_assert_int_eq(pong->cpu, 1);
    ck_assert(pong->privileged);
    ck_assert_str_eq(pong->cmdline, "ratio=0.5 role=back size=4096 verbose=true");
    ck_assert_int_eq(pong->line, 6);

    ck_assert_str_eq(ping->name, "ping");
    ck_assert_str_eq(ping->image, DATA "/ping.elf");
    ck_assert_uint_eq(ping->memory_bytes, 16ull << 20); /* default */
    ck_assert_int_eq(ping->vcpus, 2);
    ck_assert_int_eq(ping->cpu, -1);
    ck_assert(!ping->privileged);
    ck_assert_str_eq(ping->cmdline, "role=front rounds=100");
    ck_assert_int_eq(ping->line, 8);

    ck_assert_int_eq(sc->nconns, 1);
    ck_assert_str_eq(sc->conns[0].kind, "pingpong");
    ck_assert_int_eq(sc->conns[0].frontend, 1);
    ck_assert_int_eq(sc->conns[0].backend, 0);
    ck_assert_int_eq(sc->conns[0].devid, 0);
    ck_assert_int_eq(sc->conns[0].line, 9);

    char want[256];
    snprintf(want, sizeof want, "%s/out.json", tmpdir); /* in the output directory */
    ck_assert_str_eq(sc->output.trace_json, want);
    ck_assert_str_eq(sc->output.trace_csv, "");
    ck_assert(!sc->output.summary);

    ck_assert_int_eq(scenario_domain(sc, "ping"), 1);
    ck_assert_int_eq(scenario_domain(sc, "pong"), 0);
    ck_assert_int_eq(scenario_domain(sc, "nope"), -1);
}
END_TEST

START_TEST(defaults)
{
    expect_ok("machine {}\ndomain { name = 'a', image = 'a.elf' }\n", NULL, 0);
    ck_assert_str_eq(sc->name, "s"); /* the file's basename */
    ck_assert_uint_eq(sc->seed, 1);
    ck_assert_uint_eq(sc->time_limit_ps, 0);
    ck_assert_str_eq(sc->arch, "");
    ck_assert_int_eq(sc->machine.cpus, 1);
    ck_assert_double_eq(sc->machine.clock_hz, 3e9);
    ck_assert_uint_eq(sc->machine.memory_bytes, 1024ull << 20);
    ck_assert_str_eq(sc->cost.name, "default");
    ck_assert_str_eq(sc->domains[0].cmdline, "");
    ck_assert_int_eq(sc->nconns, 0);
    ck_assert(sc->output.summary);
    ck_assert_str_eq(sc->output.trace_json, "");
    expect_ok(HDR "scenario { time_limit_us = 250 }\ndomain { name = 'a', image = 'a.elf' }\n",
              NULL, 0);
    ck_assert_uint_eq(sc->time_limit_ps, 250 * PS_PER_US);
}
END_TEST

START_TEST(image_and_profile_search)
{
    char want[256];
    /* image found in image_path when not beside the script */
    struct sc_load_opts o = opts(NULL, 0);
    o.image_path = "/nonexistent-dir:" DATA;
    write_file("s.lua", HDR "domain { name = 'p', image = 'ping.elf' }\n");
    ck_assert_msg(scenario_load(sc, script, &o, err, sizeof err) == 0, "%s", err);
    ck_assert_str_eq(sc->domains[0].image, DATA "/ping.elf");

    /* a profile by name beside the script wins over profile_path */
    ck_assert_int_eq(mkdir(strcat(strcpy(want, tmpdir), "/sub"), 0700), 0);
    FILE *in = fopen(PROFILES "/default.profile", "r");
    char buf[16384];
    size_t n = fread(buf, 1, sizeof buf - 1, in);
    fclose(in);
    buf[n] = '\0';
    write_file("mine.profile", buf);
    write_file("sub/other.profile", buf);
    expect_ok("machine { profile = 'mine' }\ndomain { name = 'a', image = 'a.elf' }\n", NULL, 0);
    snprintf(want, sizeof want, "%s/mine.profile", tmpdir);
    ck_assert_str_eq(sc->machine.profile, want);
    ck_assert_str_eq(sc->cost.name, "mine");
    /* a path ending in .profile, relative to the script */
    expect_ok("machine { profile = 'sub/other.profile' }\ndomain { name = 'a', image = 'a.elf' }\n",
              NULL, 0);
    snprintf(want, sizeof want, "%s/sub/other.profile", tmpdir);
    ck_assert_str_eq(sc->machine.profile, want);
    ck_assert_str_eq(sc->cost.name, "other");
    /* not found */
    snprintf(want, sizeof want, "profile: no profile 'nope.profile' (looked in %s, %s)", tmpdir,
             PROFILES);
    expect_fail("machine { profile = 'nope' }\n", 1, want);
    expect_fail("machine { profile = 'a/b' }\n", 1,
                "profile: expected a profile name like 'default' or a path ending in .profile, "
                "got 'a/b'");
}
END_TEST

/* ------------------------------------------------------------------ errors */

START_TEST(error_typo_with_suggestion)
{
    struct sc_load_opts o = opts(NULL, 0);
    ck_assert_int_eq(scenario_load(sc, DATA "/typo.lua", &o, err, sizeof err), -1);
    expect_err_at(DATA "/typo.lua", 3, "machine: unknown key 'memroy' (did you mean 'memory_mb'?)");
    expect_fail(HDR "domain { nmae = 'a' }\n", 2,
                "domain: unknown key 'nmae' (did you mean 'name'?)");
    expect_fail(HDR "domain { x = 1 }\n", 2,
                "domain: unknown key 'x' (known keys: name, image, memory_mb, vcpus, cpu, "
                "privileged, args, mode, runtime_image, rt_cpu, on_crash, "
                "runtime_sha256, vmm, maxmem_mb)");
    expect_fail(HDR "output { zzz = 1 }\n", 2,
                "output: unknown key 'zzz' (known keys: trace_json, trace_csv, pcap, summary, "
                "reservation_csv)");
    expect_fail(HDR "domain { 'a' }\n", 2,
                "domain: unexpected positional value (write key = value)");
}
END_TEST

START_TEST(error_types)
{
    expect_fail("machine { clock_ghz = 'fast' }\n", 1, "clock_ghz: expected a number, got string");
    expect_fail("machine { cpus = 2.5 }\n", 1, "cpus: expected an integer, got 2.5");
    expect_fail("machine { cpus = '2' }\n", 1, "cpus: expected an integer, got string");
    expect_fail(HDR "domain { name = 'a', image = 'a.elf', privileged = 1 }\n", 2,
                "privileged: expected a boolean, got number");
    expect_fail(HDR "domain { name = 'a', image = 'a.elf', args = 'x=1' }\n", 2,
                "args: expected a table of key = value, got string");
    expect_fail("machine(4)\n", 1,
                "machine: expected a table: machine{ key = value, ... }, got "
                "number");
    expect_fail("\n\nmachine()\n", 3,
                "machine: expected a table: machine{ key = value, ... }, "
                "got no value");
}
END_TEST

START_TEST(error_ranges)
{
    expect_fail("machine { cpus = 0 }\n", 1, "cpus: 0 is out of range (1..64)");
    expect_fail("machine { clock_ghz = 11 }\n", 1, "clock_ghz: 11 is out of range (0.1..10)");
    /* issue 10: values that froze simulated time or silently meant "no limit" */
    expect_fail("machine { clock_ghz = 1e-20 }\n", 1, "clock_ghz: 1e-20 is out of range (0.1..10)");
    expect_fail("scenario { time_limit_ms = 1e-300 }\n", 1,
                "time_limit_ms: 1e-300 is below the 1 ps resolution (0 means no limit) (0 = no "
                "limit, at most 1e+06 s)");
    expect_fail("scenario { time_limit_us = 1e300 }\n", 1,
                "time_limit_us: 1e+300 is out of range (0 = no limit, at most 1e+06 s)");
    expect_fail(HDR "domain { name = 'a', image = 'a.elf', memory_mb = 3072 }\n", 2,
                "memory_mb: 3072 is out of range (1..3056)");
    expect_fail("flash { clock_mhz = 1e-20 }\n", 1,
                "clock_mhz: 1e-20 is out of range (0: the profile's, else 1..200 MHz)");
    expect_fail("flash { setvariable_ms = 1e300 }\n", 1,
                "setvariable_ms: 1e+300 is out of range (0: none, at most 1e+06 s)");
    expect_fail(HDR "domain { name = 'a', image = 'a.elf', vcpus = 33 }\n", 2,
                "vcpus: 33 is out of range (1..32)");
    /* cpu beyond the machine: checked against cpus, whatever the order */
    expect_fail(HDR "\ndomain { name = 'a', image = 'a.elf', cpu = 5 }\n", 3,
                "cpu: 5 is out of range (-1..1: the machine has 2 CPUs)");
    expect_fail("domain { name = 'a', image = 'a.elf', cpu = 2 }\nmachine { cpus = 2 }\n", 1,
                "cpu: 2 is out of range (-1..1: the machine has 2 CPUs)");
    expect_fail(HDR "domain { name = 'a', image = 'a.elf', cpu = -2 }\n", 2,
                "cpu: -2 is out of range (-1..63)");
    expect_fail(HDR "domain { name = 'bad name', image = 'a.elf' }\n", 2,
                "name: 'bad name' is not a domain name ([A-Za-z0-9_-], 1..31 chars)");
    expect_fail(HDR "connect { kind = 'VBD', frontend = 'a', backend = 'b' }\n", 2,
                "kind: 'VBD' is not a device class ([a-z0-9_-]+)");
}
END_TEST

START_TEST(error_domains)
{
    expect_fail(HDR "domain { name = 'a', image = 'a.elf' }\n"
                    "domain { name = 'a', image = 'b.elf' }\n",
                3, "name: domain 'a' already declared on line 2");
    expect_fail(HDR "domain { name = 'a', image = 'a.elf', privileged = true }\n"
                    "domain { name = 'b', image = 'b.elf', privileged = true }\n",
                3, "privileged: only one domain may be privileged ('a' on line 2 is)");
    expect_fail(HDR "domain { image = 'a.elf' }\n", 2, "name: required: every domain needs a name");
    expect_fail(HDR "domain { name = 'a' }\n", 2,
                "image: required: the guest ELF this domain runs");
    expect_fail(HDR "domain { name = 'a', image = 'a.elf', memory_mb = 40 }\n"
                    "domain { name = 'b', image = 'b.elf', memory_mb = 40 }\n",
                3, "memory_mb: domains up to 'b' need 80 MB, more than the machine's 64 MB");
    expect_fail("machine {}\n", 0, "domain: no domain{} declared (one is required)");
    expect_fail("domain { name = 'a', image = 'a.elf' }\n", 0,
                "machine: no machine{} declared (one is required)");
    expect_fail(HDR "machine {}\n", 2, "machine: declared twice (first on line 1)");
}
END_TEST

START_TEST(error_missing_image)
{
    char want[512];
    snprintf(want, sizeof want, "image: 'nothere.elf' not found (looked in %s)", tmpdir);
    expect_fail(HDR "domain { name = 'a', image = 'nothere.elf' }\n", 2, want);
    expect_fail(HDR "domain { name = 'a', image = '/nonexistent/x.elf' }\n", 2,
                "image: '/nonexistent/x.elf' not found (looked in /nonexistent/x.elf)");
    snprintf(want, sizeof want, "image: '%s/.' is not a regular file", tmpdir);
    expect_fail(HDR "domain { name = 'a', image = '.' }\n", 2, want);
}
END_TEST

START_TEST(error_connect)
{
    const char *two = HDR "domain { name = 'a', image = 'a.elf' }\n"
                          "domain { name = 'b', image = 'b.elf' }\n";
    char text[512];
    snprintf(text, sizeof text, "%sconnect { kind = 'vbd', frontend = 'a', backend = 'zz' }\n",
             two);
    expect_fail(text, 4, "backend: no domain 'zz' declared before this line");
    /* a domain declared after the connect does not count */
    expect_fail(HDR "domain { name = 'a', image = 'a.elf' }\n"
                    "connect { kind = 'vbd', frontend = 'a', backend = 'b' }\n"
                    "domain { name = 'b', image = 'b.elf' }\n",
                3, "backend: no domain 'b' declared before this line");
    snprintf(text, sizeof text, "%sconnect { kind = 'vbd', frontend = 'a', backend = 'a' }\n", two);
    expect_fail(text, 4, "backend: 'a' is also the frontend (a connection joins two domains)");
    snprintf(text, sizeof text,
             "%sconnect { kind = 'vbd', frontend = 'a', backend = 'b' }\n"
             "connect { kind = 'vbd', frontend = 'a', backend = 'b', devid = 0 }\n",
             two);
    expect_fail(text, 5, "devid: vbd device 0 of 'a' is already connected on line 4");
    snprintf(text, sizeof text, "%sconnect { frontend = 'a', backend = 'b' }\n", two);
    expect_fail(text, 4, "kind: required: the device class, e.g. \"vbd\"");
}
END_TEST

/* The e1000's keys, the peer's and a vif's MAC: every mistake names its key. */
START_TEST(error_nic)
{
    const char *two = HDR "domain { name = 'a', image = 'a.elf' }\n"
                          "domain { name = 'b', image = 'b.elf' }\n";
    char text[1024];
    const struct {
        const char *decl, *rest;
    } cases[] = {
        {"device { kind = 'e1000', owner = 'b', mac = '52:54:00:12:34' }",
         "mac: '52:54:00:12:34' is not a MAC address (xx:xx:xx:xx:xx:xx)"},
        {"device { kind = 'e1000', owner = 'b', mac = '01:00:5e:00:00:01' }",
         "mac: '01:00:5e:00:00:01' is a multicast address (bit 0 of the first byte)"},
        {"device { kind = 'e1000', owner = 'b', link_gbps = 3 }",
         "link_gbps: expected 1 or 10 (GbE), got 3"},
        {"device { kind = 'e1000', owner = 'b', peer = 'mirror' }",
         "peer: unknown peer 'mirror' (known: echo, sink, reqresp, source)"},
        {"device { kind = 'e1000', owner = 'b', peer = 'source' }",
         "peer_dst: required with peer = \"source\": the MAC it sends to"},
        {"device { kind = 'e1000', owner = 'b', peer_resp_len = 9000 }",
         "peer_resp_len: 9000 is out of range (60..1514)"},
        {"device { kind = 'e1000', owner = 'b', disks = {} }", "disks: an e1000 has no disks"},
        {"device { kind = 'sas_hba', owner = 'b', peer = 'echo' }",
         "peer: only an e1000 has this key"},
        {"connect { kind = 'vif', frontend = 'a', backend = 'b', mac = 'zz:16:3e:00:00:01' }",
         "mac: 'zz:16:3e:00:00:01' is not a MAC address (xx:xx:xx:xx:xx:xx)"},
        {"connect { kind = 'vbd', frontend = 'a', backend = 'b', mac = '00:16:3e:00:00:01' }",
         "mac: only a vif connection has a MAC address"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(text, sizeof text, "%s%s\n", two, cases[i].decl);
        expect_fail(text, 4, cases[i].rest);
    }
    snprintf(text, sizeof text,
             "%sdevice { kind = 'e1000', owner = 'b', mac = '02:aa:bb:cc:dd:ee', link_gbps = 10,"
             " propagation_ns = 250, peer = 'source', peer_dst = '00:16:3e:00:00:01',"
             " peer_count = 7, peer_len = 100, peer_gap_ns = 3000 }\n"
             "connect { kind = 'vif', frontend = 'a', backend = 'b', mac = '00:16:3E:00:00:09' }\n",
             two);
    expect_ok(text, NULL, 0);
    const struct sc_device *d = &sc->devices[0];
    ck_assert_str_eq(d->kind, "e1000");
    ck_assert_uint_eq(d->mac[0], 0x02);
    ck_assert_uint_eq(d->mac[5], 0xee);
    ck_assert_uint_eq(d->link_bps, 10000000000ull);
    ck_assert_uint_eq(d->propagation_ps, 250000);
    ck_assert_int_eq(d->peer, SC_PEER_SOURCE);
    ck_assert_uint_eq(d->peer_count, 7);
    ck_assert_uint_eq(d->peer_len, 100);
    ck_assert_uint_eq(d->peer_gap_ps, 3000000);
    ck_assert_uint_eq(d->peer_dst[5], 0x01);
    ck_assert(sc->conns[0].have_mac);
    ck_assert_uint_eq(sc->conns[0].mac[2], 0x3e);
    ck_assert_uint_eq(sc->conns[0].mac[5], 0x09);
}
END_TEST

START_TEST(error_args)
{
    expect_fail(HDR "domain { name = 'a', image = 'a.elf', args = { mode = 'a b' } }\n", 2,
                "args: value of 'mode' must be one word (no spaces), got 'a b'");
    expect_fail(HDR "domain { name = 'a', image = 'a.elf', args = { 'x' } }\n", 2,
                "args: keys must be strings (write args = { key = value })");
    expect_fail(HDR "domain { name = 'a', image = 'a.elf', args = { ['a=b'] = 1 } }\n", 2,
                "args: bad key 'a=b' (one word without '=', < 64 chars)");
    expect_fail(HDR "domain { name = 'a', image = 'a.elf', args = { t = {} } }\n", 2,
                "args: value of 't': expected a string, number or boolean, got table");
    expect_fail(HDR "domain { name = 'a', image = 'a.elf', args = { x = ('y'):rep(1100) } }\n", 2,
                "args: value of 'x' is too long (max 1023 characters)");
    expect_fail(HDR "domain { name = 'a', image = 'a.elf',\n"
                    "         args = { x = ('y'):rep(600), w = ('y'):rep(600) } }\n",
                2, "args: command line too long (max 1023 characters)");
}
END_TEST

START_TEST(error_lua)
{
    struct sc_load_opts o = opts(NULL, 0);
    ck_assert_int_eq(scenario_load(sc, DATA "/syntax.lua", &o, err, sizeof err), -1);
    ck_assert_msg(strncmp(err, DATA "/syntax.lua:3:", strlen(DATA "/syntax.lua:3:")) == 0, "%s",
                  err);
    ck_assert_ptr_nonnull(strstr(err, "near 'image'"));

    ck_assert_int_eq(load(HDR "local x = nil\nlocal y = x.field\n"), -1);
    ck_assert_msg(strncmp(err, script, strlen(script)) == 0 && strstr(err, ":3: attempt to index"),
                  "%s", err);
    ck_assert_int_eq(load(HDR "error('custom failure')\n"), -1);
    ck_assert_msg(strstr(err, "s.lua:2: custom failure") != NULL, "%s", err);

    /* a declaration error swallowed by pcall still fails the load */
    expect_fail(HDR "pcall(domain, { name = 'a', image = 'a.elf', cpu = 'x' })\n"
                    "domain { name = 'b', image = 'b.elf' }\n",
                2, "cpu: expected an integer, got string");
}
END_TEST

START_TEST(sandbox)
{
    struct sc_load_opts o = opts(NULL, 0);
    ck_assert_int_eq(scenario_load(sc, DATA "/sandbox_os.lua", &o, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "sandbox_os.lua:3: attempt to index a nil value (global 'os')"), "%s",
                  err);
    ck_assert_int_eq(scenario_load(sc, DATA "/sandbox_io.lua", &o, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "sandbox_io.lua:3: attempt to index a nil value (global 'io')"), "%s",
                  err);

    /* nothing that reaches files, the host or the collector is there */
    expect_ok(HDR "for _, n in ipairs { 'io', 'os', 'package', 'debug', 'require', 'load', "
                  "'loadfile', 'dofile', 'collectgarbage', 'loadstring', 'coroutine' } do\n"
                  "  if _G[n] ~= nil then error('sandbox leaks ' .. n) end\n"
                  "end\n"
                  "assert(string.format and math.floor and table.concat and pairs and pcall)\n"
                  "print('print goes to stderr', 1, true)\n"
                  "domain { name = 'a', image = 'a.elf' }\n",
              NULL, 0);

    ck_assert_int_eq(load(HDR "math.randomseed()\n"), -1);
    ck_assert_msg(strstr(err, "s.lua:2: math.randomseed needs a seed"), "%s", err);

    ck_assert_int_eq(load(HDR "while true do end\n"), -1);
    ck_assert_msg(strstr(err, "s.lua:2: scenario script ran for more than"), "%s", err);

    ck_assert_int_eq(load(HDR "local t = {} for i = 1, 1e9 do t[i] = i end\n"), -1);
    ck_assert_msg(strstr(err, "out of memory"), "%s", err);
}
END_TEST

/* -------------------------------------------------------------- param/set */

static const char *param_script =
    HDR "local rounds = param('rounds', 100, 'round trips')\n"
        "local verbose = param('verbose', false)\n"
        "local mode = param('mode', 'fast')\n"
        "local ratio = param('ratio', 0.25)\n"
        "domain { name = 'a', image = 'a.elf',\n"
        "         args = { rounds = rounds, verbose = verbose, mode = mode, ratio = ratio,\n"
        "                  kind = math.type(rounds) } }\n";

START_TEST(param_defaults_and_sets)
{
    expect_ok(param_script, NULL, 0);
    ck_assert_str_eq(sc->domains[0].cmdline,
                     "kind=integer mode=fast ratio=0.25 rounds=100 verbose=false");

    struct sc_set sets[] = {
        {"rounds", "5", false},  {"verbose", "true", false}, {"mode", "slow", false},
        {"ratio", "1.5", false}, {"rounds", "7", false}, /* the last one wins */
    };
    expect_ok(param_script, sets, 5);
    ck_assert_str_eq(sc->domains[0].cmdline,
                     "kind=integer mode=slow ratio=1.5 rounds=7 verbose=true");
}
END_TEST

START_TEST(param_errors)
{
    struct sc_set bad_int[] = {{"rounds", "abc", false}};
    ck_assert_int_eq(load_sets(param_script, bad_int, 1), -1);
    expect_err_at(script, 2, "rounds: --set rounds=abc: expected an integer");

    struct sc_set bad_float_for_int[] = {{"rounds", "2.5", false}};
    ck_assert_int_eq(load_sets(param_script, bad_float_for_int, 1), -1);
    expect_err_at(script, 2, "rounds: --set rounds=2.5: expected an integer");

    struct sc_set bad_bool[] = {{"verbose", "maybe", false}};
    ck_assert_int_eq(load_sets(param_script, bad_bool, 1), -1);
    expect_err_at(script, 3, "verbose: --set verbose=maybe: expected true or false");

    struct sc_set bad_num[] = {{"ratio", "x", false}};
    ck_assert_int_eq(load_sets(param_script, bad_num, 1), -1);
    expect_err_at(script, 5, "ratio: --set ratio=x: expected a number");

    expect_fail(HDR "param('a.b', 1)\n", 2,
                "param: 'a.b' is not a parameter name ([A-Za-z0-9_-], < 64 chars)");
    expect_fail(HDR "param('n', {})\n", 2,
                "n: default must be a number, boolean or string, got "
                "table");
    expect_fail(HDR "param(1, 2)\n", 2,
                "param: expected a parameter name (a string) first, got "
                "number");
}
END_TEST

START_TEST(unused_set)
{
    struct sc_set sets[] = {{"rounds", "5", false}, {"bogus", "1", false}};
    ck_assert_int_eq(load_sets(param_script, sets, 2), -1);
    ck_assert_str_eq(err, "--set bogus: unknown key (the scenario's parameters are: rounds, "
                          "verbose, mode, ratio)");
    ck_assert_int_eq(load_sets(HDR "domain { name = 'a', image = 'a.elf' }\n", sets, 1), -1);
    ck_assert_str_eq(err, "--set rounds: unknown key (the scenario declares no parameters)");
}
END_TEST

/* -------------------------------------------------------------- overrides */

static const char *two_domains =
    HDR "scenario { seed = 3, time_limit_ms = 10 }\n"
        "domain { name = 'a', image = 'a.elf', memory_mb = 8, args = { mode = 'slow', z = 1 } }\n"
        "domain { name = 'b', image = 'b.elf' }\n";

START_TEST(dotted_overrides)
{
    struct sc_set sets[] = {
        {"machine.cpus", "4", false},
        {"machine.clock_ghz", "2.5", false},
        {"machine.memory_mb", "512", false},
        {"scenario.seed", "99", false},
        {"scenario.time_limit_ms", "20", false},
        {"scenario.arch", "xen-idd", false},
        {"output.trace_json", "t.json", false},
        {"output.summary", "false", false},
        {"domain.a.memory_mb", "32", false},
        {"domain.a.cpu", "3", false},
        {"domain.b.vcpus", "2", false},
        {"domain.a.args.mode", "fast", false},
        {"domain.a.args.added", "yes", false},
        {"cost.hypercall", "2000", false},
        {"cost.wake_ipi", "1.5 us", false},
    };
    expect_ok(two_domains, sets, sizeof sets / sizeof sets[0]);
    ck_assert_int_eq(sc->machine.cpus, 4);
    ck_assert_double_eq(sc->machine.clock_hz, 2.5e9);
    ck_assert_uint_eq(sc->machine.memory_bytes, 512ull << 20);
    ck_assert_uint_eq(sc->seed, 99);
    ck_assert_uint_eq(sc->time_limit_ps, 20 * PS_PER_MS);
    ck_assert_str_eq(sc->arch, "xen-idd");
    ck_assert_str_eq(sc->output.trace_json, "t.json");
    ck_assert(!sc->output.summary);
    ck_assert_uint_eq(sc->domains[0].memory_bytes, 32ull << 20);
    ck_assert_int_eq(sc->domains[0].cpu, 3);
    ck_assert_int_eq(sc->domains[1].vcpus, 2);
    ck_assert_str_eq(sc->domains[0].cmdline, "added=yes mode=fast z=1");
    ck_assert_double_eq(sc->cost.value[C_HYPERCALL], 2000);
    ck_assert_uint_eq(cost_ps(&sc->cost, C_HYPERCALL, sc->machine.clock_hz), 800000);
    ck_assert_double_eq(sc->cost.value[C_WAKE_IPI], 1.5e6);
}
END_TEST

static void expect_set_error(const char *key, const char *value, const char *want)
{
    struct sc_set s = {"", "", false};
    snprintf(s.key, sizeof s.key, "%s", key);
    snprintf(s.value, sizeof s.value, "%s", value);
    ck_assert_int_eq(load_sets(two_domains, &s, 1), -1);
    ck_assert_str_eq(err, want);
}

START_TEST(override_errors)
{
    expect_set_error("machine.cpu", "4",
                     "--set machine.cpu: unknown key (did you mean "
                     "'machine.cpus'?)");
    expect_set_error("foo.bar", "1", "--set foo.bar: unknown key");
    expect_set_error("domain.zz.cpu", "1",
                     "--set domain.zz.cpu: unknown key (no domain 'zz'; "
                     "the domains are: a, b)");
    expect_set_error("domain.a.color", "1", "--set domain.a.color: unknown key");
    expect_set_error("machine.cpus", "abc", "--set machine.cpus: expected an integer, got 'abc'");
    expect_set_error("machine.cpus", "65", "--set machine.cpus: 65 is out of range (1..64)");
    expect_set_error("machine.clock_ghz", "0",
                     "--set machine.clock_ghz: 0 is out of range (0.1..10)");
    expect_set_error("scenario.time_limit_ms", "1e-300",
                     "--set scenario.time_limit_ms: 1e-300 is below the 1 ps resolution (0 means "
                     "no limit) (0 = no limit, at most 1e+06 s)");
    expect_set_error("domain.a.memory_mb", "3072",
                     "--set domain.a.memory_mb: 3072 is out of range (1..3056)");
    expect_set_error("scenario.seed", "-1",
                     "--set scenario.seed: expected a non-negative "
                     "integer, got '-1'");
    expect_set_error("domain.a.args.mode", "a b",
                     "--set domain.a.args.mode: value must be one "
                     "word (no spaces), got 'a b'");
    expect_set_error("cost.hypercal", "5",
                     "--set cost.hypercal: unknown parameter (did you "
                     "mean 'hypercall'?)");
    expect_set_error("cost.hypercall", "5 ns",
                     "--set cost.hypercall: wrong unit 'ns': this "
                     "parameter is a cycle count (use cycles)");

    /* validated again after the overrides, against the declaration's line */
    char want[512];
    snprintf(want, sizeof want, "%s:3: cpu: 2 is out of range (-1..1: the machine has 2 CPUs)",
             script);
    expect_set_error("domain.a.cpu", "2", want);
    snprintf(want, sizeof want,
             "%s:4: memory_mb: domains up to 'b' need 72 MB, more than the machine's 64 MB",
             script);
    expect_set_error("domain.a.memory_mb", "56", want);
}
END_TEST

START_TEST(seed_override_and_determinism)
{
    const char *text = HDR "scenario { seed = 7 }\n"
                           "domain { name = 'a', image = 'a.elf',\n"
                           "         args = { r = math.random(1000000000) } }\n";
    char first[SC_CMDLINE], other[SC_CMDLINE];
    expect_ok(text, NULL, 0);
    ck_assert_uint_eq(sc->seed, 7);
    snprintf(first, sizeof first, "%s", sc->domains[0].cmdline);
    expect_ok(text, NULL, 0);
    ck_assert_str_eq(sc->domains[0].cmdline, first); /* same seed, same numbers */

    struct sc_set set_seed[] = {{"scenario.seed", "9", false}};
    struct sc_load_opts o = opts(set_seed, 1);
    o.have_seed = true;
    o.seed = 42;
    ck_assert_msg(scenario_load(sc, script, &o, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(sc->seed, 42); /* --seed beats scenario{} and --set */
    snprintf(other, sizeof other, "%s", sc->domains[0].cmdline);
    ck_assert_str_ne(other, first); /* math.random follows the seed */

    o = opts(NULL, 0);
    o.have_seed = true;
    o.seed = 7;
    ck_assert_msg(scenario_load(sc, script, &o, err, sizeof err) == 0, "%s", err);
    ck_assert_str_eq(sc->domains[0].cmdline, first);
}
END_TEST

static Suite *scenario_suite(void)
{
    Suite *s = suite_create("scenario");
    TCase *load_tc = tcase_create("load");
    tcase_add_checked_fixture(load_tc, setup, teardown);
    tcase_set_timeout(load_tc, 60);
    tcase_add_test(load_tc, valid_fixture);
    tcase_add_test(load_tc, defaults);
    tcase_add_test(load_tc, image_and_profile_search);
    suite_add_tcase(s, load_tc);

    TCase *err_tc = tcase_create("errors");
    tcase_add_checked_fixture(err_tc, setup, teardown);
    tcase_set_timeout(err_tc, 60);
    tcase_add_test(err_tc, error_typo_with_suggestion);
    tcase_add_test(err_tc, error_types);
    tcase_add_test(err_tc, error_ranges);
    tcase_add_test(err_tc, error_domains);
    tcase_add_test(err_tc, error_missing_image);
    tcase_add_test(err_tc, error_connect);
    tcase_add_test(err_tc, error_nic);
    tcase_add_test(err_tc, error_args);
    tcase_add_test(err_tc, error_lua);
    tcase_add_test(err_tc, sandbox);
    suite_add_tcase(s, err_tc);

    TCase *set_tc = tcase_create("set");
    tcase_add_checked_fixture(set_tc, setup, teardown);
    tcase_set_timeout(set_tc, 60);
    tcase_add_test(set_tc, param_defaults_and_sets);
    tcase_add_test(set_tc, param_errors);
    tcase_add_test(set_tc, unused_set);
    tcase_add_test(set_tc, dotted_overrides);
    tcase_add_test(set_tc, override_errors);
    tcase_add_test(set_tc, seed_override_and_determinism);
    suite_add_tcase(s, set_tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(scenario_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
