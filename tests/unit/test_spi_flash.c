/*
 * Tests of the SPI NOR flash chip model (models/spi_flash.c), driven one
 * chip-select transaction at a time with explicit times, against the
 * default cost profile: every command, BUSY timing, the WEL rules,
 * program/erase semantics, block protection on program AND erase, SRP +
 * WP#, volatile status writes, suspend/resume, reset, the image file
 * (persistence, wrong size) and the part table.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* mkdtemp, nftw */
#endif
#include <check.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spi_flash.h"

#ifndef HOPSIM_SOURCE_DIR
#error "HOPSIM_SOURCE_DIR must name the repository root"
#endif

#define MiB (1u << 20)
#define NS 1000ull
#define MS 1000000000ull

static char tmpdir[64], img[256], err[512];
static struct cost_profile prof;
static struct spiflash *f;
static simtime_t T; /* the test's clock: the end of the last transaction */

static void setup(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/hopsim-spiflash-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    snprintf(img, sizeof img, "%s/flash.img", tmpdir);
    ck_assert_msg(
        cost_load(&prof, HOPSIM_SOURCE_DIR "/profiles/default.profile", err, sizeof err) == 0, "%s",
        err);
    f = spiflash_open(NULL, img, &prof, err, sizeof err);
    ck_assert_msg(f != NULL, "%s", err);
    T = 1000 * NS;
}

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(p);
}

static void teardown(void)
{
    spiflash_close(f);
    f = NULL;
    nftw(tmpdir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* ---- helpers ------------------------------------------------------------------ */

static void tx(const uint8_t *out, size_t nout, uint8_t *in, size_t nin)
{
    T = spiflash_transaction(f, out, nout, in, nin, T);
}

static void cmd(uint8_t op)
{
    tx(&op, 1, NULL, 0);
}

static uint8_t rdsr(unsigned n)
{
    static const uint8_t ops[] = {0, SPIFLASH_RDSR1, SPIFLASH_RDSR2, SPIFLASH_RDSR3};
    uint8_t v;
    tx(&ops[n], 1, &v, 1);
    return v;
}

/* Move the clock past the running operation. */
static void wait_idle(void)
{
    simtime_t u = spiflash_busy_until(f);
    if (u != SIMTIME_NEVER && u > T)
        T = u;
    ck_assert(!(spiflash_status(f, 1, T) & SPIFLASH_SR1_BUSY));
}

static size_t addr_frame(uint8_t *fr, uint8_t op, uint32_t a)
{
    fr[0] = op;
    fr[1] = (uint8_t)(a >> 16);
    fr[2] = (uint8_t)(a >> 8);
    fr[3] = (uint8_t)a;
    return 4;
}

static void program(uint32_t a, const uint8_t *d, size_t n)
{
    uint8_t fr[4 + 600];
    ck_assert_uint_le(n, 600);
    addr_frame(fr, SPIFLASH_PP, a);
    memcpy(fr + 4, d, n);
    tx(fr, 4 + n, NULL, 0);
}

static void erase(uint8_t op, uint32_t a)
{
    uint8_t fr[4];
    tx(fr, addr_frame(fr, op, a), NULL, 0);
}

static void read03(uint32_t a, uint8_t *buf, size_t n)
{
    uint8_t fr[4];
    tx(fr, addr_frame(fr, SPIFLASH_READ, a), buf, n);
}

static void wrsr(uint8_t op, uint8_t v)
{
    uint8_t fr[2] = {op, v};
    tx(fr, 2, NULL, 0);
}

/* Volatile status write (50h, then op v): no WEL, no tW. */
static void vwrsr(uint8_t op, uint8_t v)
{
    cmd(SPIFLASH_VSR_WREN);
    wrsr(op, v);
}

static uint8_t peek1(uint32_t a)
{
    uint8_t v;
    spiflash_peek(f, a, &v, 1);
    return v;
}

static void fill(uint32_t a, uint8_t v, size_t n)
{
    uint8_t *b = malloc(n);
    ck_assert_ptr_nonnull(b);
    memset(b, v, n);
    ck_assert_int_eq(spiflash_poke(f, a, b, n), 0);
    free(b);
}

static simtime_t ps_of(double clocks, double hz)
{
    return (simtime_t)llround(clocks * 1e12 / hz);
}

/* ---- identity -------------------------------------------------------------------- */

START_TEST(jedec_id)
{
    uint8_t op = SPIFLASH_RDID, id[3];
    tx(&op, 1, id, 3);
    ck_assert_uint_eq(id[0], 0xEF);
    ck_assert_uint_eq(id[1], 0x40);
    ck_assert_uint_eq(id[2], 0x18);
    ck_assert_uint_eq(spiflash_size(f), 16 * MiB);
    ck_assert_str_eq(spiflash_part(f)->name, "W25Q128JV");

    char p2[300];
    snprintf(p2, sizeof p2, "%s/q64.img", tmpdir);
    struct spiflash *g = spiflash_open("w25q64jv", p2, &prof, err, sizeof err);
    ck_assert_msg(g != NULL, "%s", err);
    spiflash_transaction(g, &op, 1, id, 3, 0);
    ck_assert_uint_eq(id[0], 0xEF);
    ck_assert_uint_eq(id[1], 0x40);
    ck_assert_uint_eq(id[2], 0x17);
    ck_assert_uint_eq(spiflash_size(g), 8 * MiB);
    spiflash_close(g);
}
END_TEST

START_TEST(sfdp_header_and_bfpt)
{
    uint8_t fr[5] = {SPIFLASH_RDSFDP, 0, 0, 0, 0xFF}, h[16];
    tx(fr, 5, h, 16);
    ck_assert_int_eq(memcmp(h, "SFDP", 4), 0);
    ck_assert_uint_eq(h[5], 1);    /* major revision */
    ck_assert_uint_eq(h[6], 0);    /* one parameter header */
    ck_assert_uint_eq(h[8], 0x00); /* JEDEC basic flash parameter table */
    ck_assert_uint_eq(h[11], 9);   /* 9 DWORDs */
    ck_assert_uint_eq(h[12], 0x80);
    uint8_t fr2[5] = {SPIFLASH_RDSFDP, 0, 0, 0x80, 0xFF}, bfpt[36];
    tx(fr2, 5, bfpt, 36);
    ck_assert_uint_eq(bfpt[0] & 3, 1); /* 4 KiB erase supported */
    ck_assert_uint_eq(bfpt[1], 0x20);  /* its opcode */
    uint32_t density = (uint32_t)bfpt[4] | (uint32_t)bfpt[5] << 8 | (uint32_t)bfpt[6] << 16 |
                       (uint32_t)bfpt[7] << 24;
    ck_assert_uint_eq(density, 128u * 1024 * 1024 - 1); /* 128 Mbit - 1 */
    ck_assert_uint_eq(bfpt[29], 0x20);                  /* erase type 1 opcode */
    ck_assert_uint_eq(bfpt[28], 12);                    /* 2^12 = 4 KiB */
    ck_assert_uint_eq(bfpt[33], 0xD8);                  /* erase type 3: 64 KiB */
    uint8_t fr3[5] = {SPIFLASH_RDSFDP, 0, 0x01, 0x00, 0xFF}, past;
    tx(fr3, 5, &past, 1);
    ck_assert_uint_eq(past, 0xFF); /* beyond the table */
}
END_TEST

START_TEST(unknown_part_is_an_error)
{
    struct spiflash *g = spiflash_open("W25Q999XX", img, &prof, err, sizeof err);
    ck_assert_ptr_null(g);
    ck_assert_ptr_nonnull(strstr(err, "W25Q999XX"));
    ck_assert_ptr_nonnull(strstr(err, "W25Q128JV"));
    ck_assert_ptr_nonnull(strstr(err, "W25Q64JV"));
}
END_TEST

/* ---- reads and transfer timing ----------------------------------------------------- */

START_TEST(new_image_is_erased)
{
    uint8_t buf[256];
    read03(0, buf, sizeof buf);
    for (size_t i = 0; i < sizeof buf; i++)
        ck_assert_uint_eq(buf[i], 0xFF);
    ck_assert_uint_eq(peek1(16 * MiB - 1), 0xFF);
    struct stat st;
    ck_assert_int_eq(stat(img, &st), 0);
    ck_assert_int_eq(st.st_size, 16 * MiB);
}
END_TEST

START_TEST(read_fast_read_and_wrap)
{
    uint8_t pat[64], buf[64];
    for (int i = 0; i < 64; i++)
        pat[i] = (uint8_t)(i * 7 + 1);
    ck_assert_int_eq(spiflash_poke(f, 0x123400, pat, 64), 0);
    read03(0x123400, buf, 64);
    ck_assert_int_eq(memcmp(buf, pat, 64), 0);
    uint8_t fr[5] = {SPIFLASH_FAST_READ, 0x12, 0x34, 0x00, 0xFF};
    memset(buf, 0, sizeof buf);
    tx(fr, 5, buf, 64);
    ck_assert_int_eq(memcmp(buf, pat, 64), 0);
    /* the address wraps from the top of the array to 0 */
    ck_assert_int_eq(spiflash_poke(f, 0, pat, 4), 0);
    read03(16 * MiB - 2, buf, 6);
    ck_assert_uint_eq(buf[0], 0xFF);
    ck_assert_uint_eq(buf[2], pat[0]);
    ck_assert_uint_eq(buf[5], pat[3]);
}
END_TEST

START_TEST(transfer_time_and_clock_limits)
{
    uint8_t fr[8], buf[64];
    /* default clock: spi_clock = 33 MHz; READ of 64 bytes = (1+3+64) x 8 clocks */
    ck_assert_double_eq(spiflash_clock(f), 33e6);
    simtime_t t0 = T;
    read03(0, buf, 64);
    ck_assert_uint_eq(T - t0, ps_of(544, 33e6));
    ck_assert_uint_ge(T - t0, 16400 * NS); /* 8 + 24 + 512 clocks at 33 MHz ~ 16.5 us */
    ck_assert_uint_le(T - t0, 16600 * NS);
    /* 133 MHz: READ capped at 50 MHz, FAST READ (8 dummy clocks) runs at 133 MHz */
    spiflash_set_clock(f, 133e6);
    ck_assert_double_eq(spiflash_op_clock(f, SPIFLASH_READ), 50e6);
    ck_assert_double_eq(spiflash_op_clock(f, SPIFLASH_FAST_READ), 133e6);
    t0 = T;
    read03(0, buf, 64);
    ck_assert_uint_eq(T - t0, ps_of(544, 50e6));
    t0 = T;
    addr_frame(fr, SPIFLASH_FAST_READ, 0);
    fr[4] = 0xFF;
    tx(fr, 5, buf, 64);
    ck_assert_uint_eq(T - t0, ps_of(552, 133e6));
    /* status read: 16 clocks */
    t0 = T;
    rdsr(1);
    ck_assert_uint_eq(T - t0, ps_of(16, 133e6));
}
END_TEST

START_TEST(quad_io_read_needs_qe)
{
    uint8_t fr[7] = {SPIFLASH_QUAD_IO_READ, 0, 0, 0, 0xFF, 0xFF, 0xFF}, buf[64];
    uint8_t pat[64];
    for (int i = 0; i < 64; i++)
        pat[i] = (uint8_t)(0xA0 ^ i);
    spiflash_poke(f, 0, pat, 64);
    spiflash_set_clock(f, 104e6);
    uint64_t other = spiflash_stats(f)->ignored_other;
    tx(fr, 7, buf, 64);
    ck_assert_uint_eq(spiflash_stats(f)->ignored_other, other + 1);
    ck_assert_uint_eq(buf[0], 0xFF);
    vwrsr(SPIFLASH_WRSR2, SPIFLASH_SR2_QE);
    simtime_t t0 = T;
    tx(fr, 7, buf, 64);
    ck_assert_int_eq(memcmp(buf, pat, 64), 0);
    /* 8 clocks of opcode + (3 + 1 + 2 + 64) bytes on 4 lines = 148 clocks */
    ck_assert_uint_eq(spiflash_frame_clocks(SPIFLASH_QUAD_IO_READ, 7 + 64), 148);
    ck_assert_uint_eq(T - t0, ps_of(148, 104e6)); /* ~1.42 us: quad I/O at 104 MHz */
}
END_TEST

/* ---- BUSY and WEL ---------------------------------------------------------------------- */

START_TEST(busy_timing_of_program)
{
    const struct spiflash_timing *tm = spiflash_timing(f);
    ck_assert_uint_eq(tm->tpp, 400000 * NS); /* 0.4 ms */
    cmd(SPIFLASH_WREN);
    ck_assert_uint_eq(rdsr(1) & SPIFLASH_SR1_WEL, SPIFLASH_SR1_WEL);
    uint8_t d = 0x5A;
    program(0x1000, &d, 1);
    simtime_t done = T + tm->tpp; /* BUSY from chip select rising */
    ck_assert_uint_eq(spiflash_busy_until(f), done);
    uint8_t op = SPIFLASH_RDSR1, sr;
    spiflash_transaction(f, &op, 1, &sr, 1, done - 1);
    ck_assert_uint_eq(sr, SPIFLASH_SR1_BUSY | SPIFLASH_SR1_WEL);
    spiflash_transaction(f, &op, 1, &sr, 1, done);
    ck_assert_uint_eq(sr, 0); /* done: BUSY and WEL clear */
    ck_assert_uint_eq(peek1(0x1000), 0x5A);
}
END_TEST

START_TEST(commands_ignored_while_busy)
{
    uint8_t buf[4], d[4] = {1, 2, 3, 4};
    fill(0x2000, 0x33, 4);
    cmd(SPIFLASH_WREN);
    erase(SPIFLASH_SE, 0x0000);
    const struct spiflash_stats *s = spiflash_stats(f);
    ck_assert_uint_eq(s->ignored_busy, 0);
    read03(0x2000, buf, 4); /* ignored: nothing driven */
    ck_assert_uint_eq(buf[0], 0xFF);
    cmd(SPIFLASH_WRDI); /* ignored: WEL stays */
    program(0x2000, d, 4);
    ck_assert_uint_eq(s->ignored_busy, 3);
    ck_assert_uint_eq(rdsr(1), SPIFLASH_SR1_BUSY | SPIFLASH_SR1_WEL); /* status reads work */
    ck_assert_uint_eq(rdsr(2), 0);
    ck_assert_uint_eq(s->ignored_busy, 3);
    wait_idle();
    read03(0x2000, buf, 4);
    ck_assert_uint_eq(buf[0], 0x33);
    ck_assert_uint_eq(peek1(0x2000), 0x33);
}
END_TEST

START_TEST(wel_rules)
{
    const struct spiflash_stats *s = spiflash_stats(f);
    uint8_t d = 0x00;
    /* program, erase and status write need WEL */
    program(0x100, &d, 1);
    erase(SPIFLASH_SE, 0x0);
    wrsr(SPIFLASH_WRSR1, 0x1C);
    ck_assert_uint_eq(s->ignored_wel, 3);
    ck_assert_uint_eq(peek1(0x100), 0xFF);
    ck_assert_uint_eq(rdsr(1), 0);
    /* WREN sets it, WRDI clears it */
    cmd(SPIFLASH_WREN);
    ck_assert_uint_eq(rdsr(1), SPIFLASH_SR1_WEL);
    cmd(SPIFLASH_WRDI);
    ck_assert_uint_eq(rdsr(1), 0);
    /* cleared when a program, an erase and a status write complete */
    cmd(SPIFLASH_WREN);
    program(0x100, &d, 1);
    wait_idle();
    ck_assert_uint_eq(rdsr(1) & SPIFLASH_SR1_WEL, 0);
    cmd(SPIFLASH_WREN);
    erase(SPIFLASH_SE, 0x0);
    wait_idle();
    ck_assert_uint_eq(rdsr(1) & SPIFLASH_SR1_WEL, 0);
    cmd(SPIFLASH_WREN);
    wrsr(SPIFLASH_WRSR1, 0x00);
    ck_assert_uint_eq(rdsr(1), SPIFLASH_SR1_BUSY | SPIFLASH_SR1_WEL);
    wait_idle();
    ck_assert_uint_eq(rdsr(1), 0);
    /* a second program after completion needs a new WREN */
    program(0x101, &d, 1);
    ck_assert_uint_eq(s->ignored_wel, 4);
    ck_assert_uint_eq(peek1(0x101), 0xFF);
}
END_TEST

/* ---- program and erase ------------------------------------------------------------------ */

START_TEST(program_clears_bits_only)
{
    uint8_t d[3] = {0x0F, 0xFF, 0x00};
    fill(0x3000, 0xF0, 3);
    cmd(SPIFLASH_WREN);
    program(0x3000, d, 3);
    wait_idle();
    ck_assert_uint_eq(peek1(0x3000), 0x00); /* 0xF0 & 0x0F */
    ck_assert_uint_eq(peek1(0x3001), 0xF0); /* 0xFF programs nothing */
    ck_assert_uint_eq(peek1(0x3002), 0x00);
    uint8_t up = 0xFF;
    cmd(SPIFLASH_WREN);
    program(0x3002, &up, 1); /* cannot set bits back */
    wait_idle();
    ck_assert_uint_eq(peek1(0x3002), 0x00);
    ck_assert_uint_eq(spiflash_stats(f)->programs, 2);
}
END_TEST

START_TEST(program_wraps_within_page)
{
    uint8_t d[10];
    for (int i = 0; i < 10; i++)
        d[i] = (uint8_t)(0x10 + i);
    cmd(SPIFLASH_WREN);
    program(0x40FA, d, 10); /* 6 bytes to the page end, then 4 at its start */
    wait_idle();
    ck_assert_uint_eq(peek1(0x40FA), 0x10);
    ck_assert_uint_eq(peek1(0x40FF), 0x15);
    ck_assert_uint_eq(peek1(0x4000), 0x16);
    ck_assert_uint_eq(peek1(0x4003), 0x19);
    ck_assert_uint_eq(peek1(0x4100), 0xFF); /* next page untouched */
    ck_assert_uint_eq(peek1(0x4004), 0xFF);
    /* more than 256 bytes: the last 256 sent are programmed */
    uint8_t big[300];
    for (int i = 0; i < 300; i++)
        big[i] = (uint8_t)(i < 44 ? 0x00 : 0xFF);
    big[299] = 0x77;
    cmd(SPIFLASH_WREN);
    program(0x5000, big, 300);
    wait_idle();
    ck_assert_uint_eq(peek1(0x5000 + 43), 0x77); /* byte 299 lands at (299 % 256) */
    ck_assert_uint_eq(peek1(0x5000), 0xFF);      /* byte 0 overwritten in the latch by byte 256 */
}
END_TEST

START_TEST(erase_sizes_and_times)
{
    const struct spiflash_timing *tm = spiflash_timing(f);
    fill(0, 0x00, 256 * 1024);
    struct {
        uint8_t op;
        uint32_t addr, base, len;
        simtime_t dur;
    } cases[] = {
        {SPIFLASH_SE, 0x1234, 0x1000, 4096, tm->tse},
        {SPIFLASH_BE32, 0x9ABC, 0x8000, 32768, tm->tbe32},
        {SPIFLASH_BE64, 0x2FFFF, 0x20000, 65536, tm->tbe64},
    };
    ck_assert_uint_eq(tm->tse, 45 * MS);
    ck_assert_uint_eq(tm->tbe32, 120 * MS);
    ck_assert_uint_eq(tm->tbe64, 150 * MS);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cmd(SPIFLASH_WREN);
        erase(cases[i].op, cases[i].addr);
        ck_assert_uint_eq(spiflash_busy_until(f), T + cases[i].dur);
        wait_idle();
        ck_assert_uint_eq(peek1(cases[i].base - 1), 0x00);
        ck_assert_uint_eq(peek1(cases[i].base), 0xFF);
        ck_assert_uint_eq(peek1(cases[i].base + cases[i].len - 1), 0xFF);
        ck_assert_uint_eq(peek1(cases[i].base + cases[i].len), 0x00);
    }
    ck_assert_uint_eq(spiflash_erase_count(f, 1), 1);
    ck_assert_uint_eq(spiflash_erase_count(f, 2), 0);
    ck_assert_uint_eq(spiflash_erase_count(f, 8), 1);
    ck_assert_uint_eq(spiflash_erase_count(f, 0x2F), 1);
    /* chip erase, both opcodes: tCE = 40 s for the 128 Mbit part */
    uint8_t ops[2] = {SPIFLASH_CE, SPIFLASH_CE_60};
    for (int i = 0; i < 2; i++) {
        fill(0x700000, 0x00, 16);
        cmd(SPIFLASH_WREN);
        cmd(ops[i]);
        ck_assert_uint_eq(spiflash_busy_until(f), T + 40000 * MS);
        wait_idle();
        ck_assert_uint_eq(peek1(0x700000), 0xFF);
        ck_assert_uint_eq(peek1(0), 0xFF);
    }
    ck_assert_uint_eq(spiflash_erase_count(f, 1), 3);
    ck_assert_uint_eq(spiflash_erase_count(f, 4095), 2);
    ck_assert_uint_eq(spiflash_stats(f)->erases, 5);
}
END_TEST

/* ---- block protection ----------------------------------------------------------------------- */

struct prot_case {
    uint8_t sr1, sr2;
    uint32_t start, len; /* expected protected range */
};

/* Program one byte and erase one sector at `a`; true if both happened. */
static bool write_works(uint32_t a)
{
    uint8_t z = 0x00;
    uint64_t before = spiflash_stats(f)->ignored_protected;
    fill(a, 0xFF, 1);
    cmd(SPIFLASH_WREN);
    program(a, &z, 1);
    bool programmed = peek1(a) == 0x00;
    wait_idle();
    ck_assert_uint_eq(rdsr(1) & SPIFLASH_SR1_WEL, 0); /* cleared either way */
    fill(a, 0x00, 1);
    cmd(SPIFLASH_WREN);
    erase(SPIFLASH_SE, a);
    bool erased = peek1(a) == 0xFF;
    wait_idle();
    ck_assert_uint_eq(rdsr(1) & SPIFLASH_SR1_WEL, 0);
    ck_assert_msg(programmed == erased, "program %d but erase %d at 0x%x", programmed, erased, a);
    ck_assert_uint_eq(spiflash_stats(f)->ignored_protected, before + (programmed ? 0 : 2));
    return programmed;
}

static void check_protection(const struct prot_case *c)
{
    uint32_t s, l, size = spiflash_size(f);
    vwrsr(SPIFLASH_WRSR2, c->sr2);
    vwrsr(SPIFLASH_WRSR1, c->sr1);
    spiflash_protected_range(f, &s, &l);
    ck_assert_msg(s == c->start && l == c->len, "SR1 %02x SR2 %02x: got 0x%x+0x%x", c->sr1, c->sr2,
                  s, l);
    if (l > 0) {
        ck_assert(!write_works(s));
        ck_assert(!write_works(s + l - 1));
    }
    if (s > 0)
        ck_assert(write_works(s - 1));
    if (s + l < size)
        ck_assert(write_works(s + l));
}

START_TEST(protection_on_program_and_erase)
{
    const uint32_t M = MiB;
    const struct prot_case cases[] = {
        {0x00, 0x00, 16 * M - 0, 0},                   /* none */
        {0x04, 0x00, 16 * M - 256 * 1024, 256 * 1024}, /* BP=001: upper 1/64 */
        {0x18, 0x00, 8 * M, 8 * M},                    /* BP=110: upper 1/2 */
        {0x28, 0x00, 0, 512 * 1024},                   /* TB, BP=010: lower 1/32 */
        {0x4C, 0x00, 16 * M - 16 * 1024, 16 * 1024},   /* SEC, BP=011: upper 16 KiB */
        {0x74, 0x00, 0, 32 * 1024},                    /* SEC, TB, BP=101: lower 32 KiB */
        {0x1C, 0x00, 0, 16 * M},                       /* BP=111: all */
        {0x04, 0x40, 0, 16 * M - 256 * 1024},          /* CMP, BP=001: lower 63/64 */
        {0x64, 0x40, 4096, 16 * M - 4096},             /* CMP, SEC, TB, BP=001: upper 4095/4096 */
        {0x00, 0x40, 0, 16 * M},                       /* CMP, BP=000: all */
        {0x1C, 0x40, 0, 0},                            /* CMP, BP=111: none */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct prot_case c = cases[i];
        if (c.len == 0)
            c.start = c.sr2 ? 0 : 16 * M;
        check_protection(&c);
    }
}
END_TEST

START_TEST(protection_blocks_partly_covered_erase_and_chip_erase)
{
    const struct spiflash_stats *s = spiflash_stats(f);
    vwrsr(SPIFLASH_WRSR1, 0x44); /* SEC, BP=001: upper 4 KiB */
    fill(16 * MiB - 65536, 0x00, 16);
    cmd(SPIFLASH_WREN);
    erase(SPIFLASH_BE64, 16 * MiB - 65536); /* the block holds the protected sector */
    ck_assert_uint_eq(s->ignored_protected, 1);
    ck_assert_uint_eq(peek1(16 * MiB - 65536), 0x00);
    ck_assert_uint_eq(rdsr(1) & SPIFLASH_SR1_WEL, 0);
    cmd(SPIFLASH_WREN);
    cmd(SPIFLASH_CE); /* refused: something is protected */
    ck_assert_uint_eq(s->ignored_protected, 2);
    ck_assert_uint_eq(peek1(16 * MiB - 65536), 0x00);
    ck_assert_uint_eq(rdsr(1) & (SPIFLASH_SR1_BUSY | SPIFLASH_SR1_WEL), 0);
}
END_TEST

START_TEST(protection_scales_with_part)
{
    char p2[300];
    uint32_t s, l;
    snprintf(p2, sizeof p2, "%s/q64.img", tmpdir);
    spiflash_close(f);
    f = spiflash_open("W25Q64JV", p2, &prof, err, sizeof err);
    ck_assert_msg(f != NULL, "%s", err);
    vwrsr(SPIFLASH_WRSR1, 0x04); /* BP=001: upper 1/64 = 128 KiB */
    spiflash_protected_range(f, &s, &l);
    ck_assert_uint_eq(s, 0x7E0000);
    ck_assert_uint_eq(l, 128 * 1024);
    ck_assert(!write_works(0x7E0000));
    ck_assert(write_works(0x7DFFFF));
    ck_assert_uint_eq(spiflash_timing(f)->tce, 20000 * MS); /* tCE scaled by size */
}
END_TEST

/* ---- status registers ------------------------------------------------------------------------ */

START_TEST(status_register_reads_and_writes)
{
    cmd(SPIFLASH_WREN);
    wrsr(SPIFLASH_WRSR2, SPIFLASH_SR2_QE | SPIFLASH_SR2_CMP | 0x08 /* LB1 */);
    ck_assert_uint_eq(spiflash_busy_until(f), T + spiflash_timing(f)->tw);
    wait_idle();
    ck_assert_uint_eq(rdsr(2), SPIFLASH_SR2_QE | SPIFLASH_SR2_CMP | 0x08);
    cmd(SPIFLASH_WREN);
    wrsr(SPIFLASH_WRSR2, 0x00); /* LB1 is one-time programmable */
    wait_idle();
    ck_assert_uint_eq(rdsr(2), 0x08);
    cmd(SPIFLASH_WREN);
    wrsr(SPIFLASH_WRSR3, 0xFF);
    wait_idle();
    ck_assert_uint_eq(rdsr(3), SPIFLASH_SR3_WPS | SPIFLASH_SR3_DRV);
    /* 01h with two bytes writes SR1 and SR2; BUSY/WEL bits are not writable */
    uint8_t fr[3] = {SPIFLASH_WRSR1, 0xFF, SPIFLASH_SR2_CMP};
    cmd(SPIFLASH_WREN);
    tx(fr, 3, NULL, 0);
    wait_idle();
    ck_assert_uint_eq(rdsr(1), 0xFC);
    ck_assert_uint_eq(rdsr(2), SPIFLASH_SR2_CMP | 0x08);
    ck_assert_uint_eq(spiflash_stats(f)->status_writes, 4);
}
END_TEST

START_TEST(srp_and_wp_pin)
{
    const struct spiflash_stats *s = spiflash_stats(f);
    cmd(SPIFLASH_WREN);
    wrsr(SPIFLASH_WRSR1, SPIFLASH_SR1_SRP | 0x1C); /* SRP, everything protected */
    wait_idle();
    spiflash_set_wp(f, false);
    cmd(SPIFLASH_WREN);
    wrsr(SPIFLASH_WRSR1, 0x00); /* hardware protected: ignored, WEL cleared */
    ck_assert_uint_eq(s->ignored_srp, 1);
    ck_assert_uint_eq(rdsr(1), SPIFLASH_SR1_SRP | 0x1C);
    vwrsr(SPIFLASH_WRSR1, 0x00); /* volatile writes too */
    ck_assert_uint_eq(s->ignored_srp, 2);
    ck_assert_uint_eq(rdsr(1), SPIFLASH_SR1_SRP | 0x1C);
    spiflash_set_wp(f, true); /* WP# high: allowed */
    cmd(SPIFLASH_WREN);
    wrsr(SPIFLASH_WRSR1, 0x00);
    wait_idle();
    ck_assert_uint_eq(rdsr(1), 0x00);
    /* with QE = 1 the pin is IO2: WP# low no longer protects */
    cmd(SPIFLASH_WREN);
    uint8_t fr[3] = {SPIFLASH_WRSR1, SPIFLASH_SR1_SRP, SPIFLASH_SR2_QE};
    tx(fr, 3, NULL, 0);
    wait_idle();
    spiflash_set_wp(f, false);
    cmd(SPIFLASH_WREN);
    wrsr(SPIFLASH_WRSR1, 0x00);
    wait_idle();
    ck_assert_uint_eq(rdsr(1), 0x00);
    ck_assert_uint_eq(s->ignored_srp, 2);
}
END_TEST

START_TEST(volatile_status_write)
{
    cmd(SPIFLASH_VSR_WREN);
    ck_assert_uint_eq(rdsr(1), 0); /* 50h does not set WEL; status reads keep it armed */
    wrsr(SPIFLASH_WRSR1, 0x1C);
    ck_assert_uint_eq(rdsr(1), 0x1C); /* at once: no BUSY, no tW */
    ck_assert_uint_eq(spiflash_busy_until(f), 0);
    spiflash_power_cycle(f); /* not persistent */
    ck_assert_uint_eq(rdsr(1), 0x00);
    /* non-volatile: survives the power cycle */
    cmd(SPIFLASH_WREN);
    wrsr(SPIFLASH_WRSR1, 0x08);
    wait_idle();
    spiflash_power_cycle(f);
    ck_assert_uint_eq(rdsr(1), 0x08);
    /* 50h is disarmed by any other command */
    uint8_t buf[1];
    cmd(SPIFLASH_VSR_WREN);
    read03(0, buf, 1);
    wrsr(SPIFLASH_WRSR1, 0x1C);
    ck_assert_uint_eq(rdsr(1), 0x08);
    ck_assert_uint_eq(spiflash_stats(f)->ignored_wel, 1);
}
END_TEST

START_TEST(reset_sequence)
{
    cmd(SPIFLASH_WREN);
    wrsr(SPIFLASH_WRSR1, 0x04);
    wait_idle();
    vwrsr(SPIFLASH_WRSR1, 0x1C);
    cmd(SPIFLASH_WREN);
    cmd(SPIFLASH_RST); /* 99h alone does nothing */
    ck_assert_uint_eq(rdsr(1), 0x1C | SPIFLASH_SR1_WEL);
    cmd(SPIFLASH_RSTEN);
    cmd(SPIFLASH_RST);
    ck_assert_uint_eq(rdsr(1), 0x04); /* volatile bits reloaded, WEL clear */
    /* accepted while BUSY: the operation ends */
    cmd(SPIFLASH_WREN);
    erase(SPIFLASH_SE, 0);
    ck_assert_uint_eq(rdsr(1) & SPIFLASH_SR1_BUSY, SPIFLASH_SR1_BUSY);
    cmd(SPIFLASH_RSTEN);
    cmd(SPIFLASH_RST);
    ck_assert_uint_eq(rdsr(1), 0x04);
    ck_assert_uint_eq(spiflash_busy_until(f), 0);
}
END_TEST

START_TEST(suspend_and_resume)
{
    const struct spiflash_stats *s = spiflash_stats(f);
    uint8_t buf[2], d = 0;
    fill(0x10000, 0x00, 2);
    cmd(SPIFLASH_WREN);
    erase(SPIFLASH_SE, 0x10000);
    simtime_t end = spiflash_busy_until(f);
    T += 1 * MS;
    cmd(SPIFLASH_SUSPEND);
    simtime_t left = end - T;
    ck_assert_uint_eq(rdsr(1) & SPIFLASH_SR1_BUSY, 0);
    ck_assert_uint_eq(rdsr(2) & SPIFLASH_SR2_SUS, SPIFLASH_SR2_SUS);
    ck_assert_uint_eq(spiflash_busy_until(f), SIMTIME_NEVER);
    read03(0x20000, buf, 2); /* reads are allowed */
    ck_assert_uint_eq(buf[0], 0xFF);
    program(0x20000, &d, 1); /* program while suspended: refused here */
    ck_assert_uint_eq(s->ignored_suspended, 1);
    cmd(SPIFLASH_RESUME);
    ck_assert_uint_eq(spiflash_busy_until(f), T + left); /* the remaining time, from resume */
    ck_assert_uint_eq(rdsr(1) & SPIFLASH_SR1_BUSY, SPIFLASH_SR1_BUSY);
    ck_assert_uint_eq(rdsr(2) & SPIFLASH_SR2_SUS, 0);
    wait_idle();
    ck_assert_uint_eq(peek1(0x10000), 0xFF);
    /* suspend when idle, resume when not suspended: ignored */
    uint64_t other = s->ignored_other;
    cmd(SPIFLASH_SUSPEND);
    cmd(SPIFLASH_RESUME);
    ck_assert_uint_eq(s->ignored_other, other + 2);
}
END_TEST

START_TEST(unknown_opcode_and_short_frames)
{
    const struct spiflash_stats *s = spiflash_stats(f);
    uint8_t junk[2] = {0x42, 0x00}, buf[2];
    tx(junk, 2, buf, 2);
    ck_assert_uint_eq(buf[0], 0xFF);
    uint8_t short_read[2] = {SPIFLASH_READ, 0};
    tx(short_read, 2, buf, 2);
    cmd(SPIFLASH_WREN);
    cmd(SPIFLASH_PP); /* no address, no data */
    ck_assert_uint_eq(s->ignored_other, 3);
    ck_assert_uint_eq(T, spiflash_transaction(f, NULL, 0, NULL, 0, T)); /* empty: no time */
}
END_TEST

/* ---- the image file ---------------------------------------------------------------------------
 */

START_TEST(contents_persist_in_image)
{
    uint8_t d[4] = {0xDE, 0xAD, 0xBE, 0xEF};
    cmd(SPIFLASH_WREN);
    program(0x654320, d, 4);
    wait_idle();
    fill(0x1000, 0x00, 8);
    cmd(SPIFLASH_WREN);
    erase(SPIFLASH_SE, 0x1000);
    wait_idle();
    /* the file itself */
    int fd = open(img, O_RDONLY);
    ck_assert_int_ge(fd, 0);
    uint8_t got[4], e[8];
    ck_assert_int_eq(pread(fd, got, 4, 0x654320), 4);
    ck_assert_int_eq(pread(fd, e, 8, 0x1000), 8);
    close(fd);
    ck_assert_int_eq(memcmp(got, d, 4), 0);
    for (int i = 0; i < 8; i++)
        ck_assert_uint_eq(e[i], 0xFF);
    /* reopened */
    spiflash_close(f);
    f = spiflash_open("W25Q128JV", img, &prof, err, sizeof err);
    ck_assert_msg(f != NULL, "%s", err);
    uint8_t buf[4];
    read03(0x654320, buf, 4);
    ck_assert_int_eq(memcmp(buf, d, 4), 0);
}
END_TEST

START_TEST(wrong_size_image_is_an_error)
{
    char p2[300];
    snprintf(p2, sizeof p2, "%s/small.img", tmpdir);
    FILE *fp = fopen(p2, "wb");
    ck_assert_ptr_nonnull(fp);
    for (int i = 0; i < 1000; i++)
        fputc(0xFF, fp);
    fclose(fp);
    struct spiflash *g = spiflash_open(NULL, p2, &prof, err, sizeof err);
    ck_assert_ptr_null(g);
    ck_assert_ptr_nonnull(strstr(err, p2));
    ck_assert_ptr_nonnull(strstr(err, "1000"));
    ck_assert_ptr_nonnull(strstr(err, "16777216"));
    /* the 16 MiB image is the wrong size for the 8 MiB part */
    g = spiflash_open("W25Q64JV", img, &prof, err, sizeof err);
    ck_assert_ptr_null(g);
    ck_assert_ptr_nonnull(strstr(err, "16777216"));
    ck_assert_ptr_nonnull(strstr(err, "8388608"));
}
END_TEST

static Suite *flash_suite(void)
{
    Suite *s = suite_create("spi_flash");
    TCase *tc = tcase_create("chip");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, jedec_id);
    tcase_add_test(tc, sfdp_header_and_bfpt);
    tcase_add_test(tc, unknown_part_is_an_error);
    tcase_add_test(tc, new_image_is_erased);
    tcase_add_test(tc, read_fast_read_and_wrap);
    tcase_add_test(tc, transfer_time_and_clock_limits);
    tcase_add_test(tc, quad_io_read_needs_qe);
    tcase_add_test(tc, busy_timing_of_program);
    tcase_add_test(tc, commands_ignored_while_busy);
    tcase_add_test(tc, wel_rules);
    tcase_add_test(tc, program_clears_bits_only);
    tcase_add_test(tc, program_wraps_within_page);
    tcase_add_test(tc, erase_sizes_and_times);
    tcase_add_test(tc, protection_on_program_and_erase);
    tcase_add_test(tc, protection_blocks_partly_covered_erase_and_chip_erase);
    tcase_add_test(tc, protection_scales_with_part);
    tcase_add_test(tc, status_register_reads_and_writes);
    tcase_add_test(tc, srp_and_wp_pin);
    tcase_add_test(tc, volatile_status_write);
    tcase_add_test(tc, reset_sequence);
    tcase_add_test(tc, suspend_and_resume);
    tcase_add_test(tc, unknown_opcode_and_short_frames);
    tcase_add_test(tc, contents_persist_in_image);
    tcase_add_test(tc, wrong_size_image_is_an_error);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(flash_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
