/*
 * Register-level tests of the Intel-PCH-style SPI controller
 * (models/spi_ctrl.c) over a W25Q128JV model (models/spi_flash.c), with no
 * guest: SPIBAR is driven through the mmio_ops with explicit times, the
 * BIOS_CNTL byte through its calls, and completion times are checked
 * against the default cost profile: hardware sequencing, FDBC, the
 * descriptor, FRAP, PR0-PR4, BIOSWE/BLE/SMM_BWP and the SMI (Speed Racer),
 * FLOCKDN, WRSDIS, memory-mapped reads and image reads.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* mkdtemp, nftw */
#endif
#include <check.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spi_ctrl.h"

#ifndef HOPSIM_SOURCE_DIR
#error "HOPSIM_SOURCE_DIR must name the repository root"
#endif

#define MiB (1u << 20)
#define NS 1000ull
#define US 1000000ull
#define MS 1000000000ull
#define HZ 3e9
#define BIOS 0x800000u /* BIOS region of the default layout: the top 8 MiB */

static char tmpdir[64], img[256], err[512];
static struct cost_profile prof;
static struct evq q;
static struct spiflash *fl;
static struct spictrl *c;
static const struct mmio_ops *ops;
static struct spictrl_layout lay;
static simtime_t OVH, SMI;

static void put_descriptor(const struct spictrl_layout *l)
{
    uint8_t fd[SPICTRL_FD_SIZE];
    ck_assert_msg(spictrl_build_descriptor(fd, sizeof fd, l, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(spiflash_poke(fl, 0, fd, sizeof fd), 0);
}

static void setup(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/hopsim-spictrl-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    snprintf(img, sizeof img, "%s/flash.img", tmpdir);
    ck_assert_msg(
        cost_load(&prof, HOPSIM_SOURCE_DIR "/profiles/default.profile", err, sizeof err) == 0, "%s",
        err);
    evq_init(&q);
    fl = spiflash_open(NULL, img, &prof, err, sizeof err);
    ck_assert_msg(fl != NULL, "%s", err);
    spictrl_default_layout(&lay, 16 * MiB);
    put_descriptor(&lay);
    struct dev_env env = {.q = &q, .tr = NULL, .place = 0, .cost = &prof, .hz = HZ};
    c = spictrl_create(&env, fl, err, sizeof err);
    ck_assert_msg(c != NULL, "%s", err);
    ops = spictrl_mmio_ops();
    OVH = cost_ps(&prof, C_SPI_CYCLE_OVH, HZ);
    SMI = cost_ps(&prof, C_SMI_LATENCY, HZ);
}

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(p);
}

static void teardown(void)
{
    spictrl_destroy(c);
    spiflash_close(fl);
    evq_fini(&q);
    nftw(tmpdir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* ---- helpers ------------------------------------------------------------------------ */

static uint32_t rd32(uint64_t off, simtime_t now)
{
    return (uint32_t)ops->read(c, off, 4, now);
}

static uint16_t rd16(uint64_t off, simtime_t now)
{
    return (uint16_t)ops->read(c, off, 2, now);
}

static void wr32(uint64_t off, uint32_t v, simtime_t now)
{
    ops->write(c, off, v, 4, now);
}

static void wr16(uint64_t off, uint16_t v, simtime_t now)
{
    ops->write(c, off, v, 2, now);
}

/* Start a cycle through the registers, as a driver does. */
static void go(unsigned cyc, uint32_t addr, unsigned len, simtime_t now)
{
    wr16(SPICTRL_HSFS, SPICTRL_HSFS_FDONE | SPICTRL_HSFS_FCERR | SPICTRL_HSFS_AEL, now);
    wr32(SPICTRL_FADDR, addr, now);
    wr16(SPICTRL_HSFC,
         (uint16_t)(SPICTRL_HSFC_FGO | cyc << SPICTRL_HSFC_FCYCLE_SHIFT |
                    (len - 1) << SPICTRL_HSFC_FDBC_SHIFT),
         now);
}

static simtime_t ft(uint8_t op, size_t n)
{
    return spiflash_frame_time(fl, op, n);
}

static simtime_t ps_of(double clocks, double hz)
{
    return (simtime_t)llround(clocks * 1e12 / hz);
}

/* End of a one-page write of n bytes started at `start` (docs/spi-flash.md). */
static simtime_t write_end(simtime_t start, size_t n)
{
    simtime_t t = start + OVH + ft(SPIFLASH_WREN, 1) + ft(SPIFLASH_PP, 4 + n);
    return t + spiflash_timing(fl)->tpp + ft(SPIFLASH_RDSR1, 2);
}

static void pattern(uint32_t addr, size_t n, uint8_t seed)
{
    uint8_t *b = malloc(n);
    ck_assert_ptr_nonnull(b);
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)(seed + i * 13 + (i >> 8));
    ck_assert_int_eq(spiflash_poke(fl, addr, b, n), 0);
    free(b);
}

static uint8_t peek1(uint32_t a)
{
    uint8_t v;
    spiflash_peek(fl, a, &v, 1);
    return v;
}

static int hw(enum spictrl_fcycle cyc, uint32_t addr, void *buf, unsigned len, bool smm,
              simtime_t now, simtime_t *done)
{
    return spictrl_hwseq(c, cyc, addr, buf, len, smm, now, done);
}

static const struct spictrl_refusal *why(void)
{
    return spictrl_last_refusal(c);
}

/* ---- descriptor ------------------------------------------------------------------------- */

START_TEST(descriptor_sets_regions)
{
    uint16_t s = rd16(SPICTRL_HSFS, 0);
    ck_assert_uint_eq(s & SPICTRL_HSFS_FDV, SPICTRL_HSFS_FDV);
    ck_assert_uint_eq(rd32(SPICTRL_FREG0 + 0, 0), 0x00000000);  /* Descriptor 0-FFF */
    ck_assert_uint_eq(rd32(SPICTRL_FREG0 + 4, 0), 0x0FFF0800);  /* BIOS 800000-FFFFFF */
    ck_assert_uint_eq(rd32(SPICTRL_FREG0 + 8, 0), 0x07FF0003);  /* ME 3000-7FFFFF */
    ck_assert_uint_eq(rd32(SPICTRL_FREG0 + 12, 0), 0x00020001); /* GbE 1000-2FFF */
    ck_assert_uint_eq(rd32(SPICTRL_FREG0 + 16, 0), 0x00007FFF); /* Platform Data: unused */
    ck_assert_uint_eq(rd32(0x68, 0), 0x00007FFF);               /* FREG5 */
    ck_assert_uint_eq(rd32(SPICTRL_BFPREG, 0), 0x0FFF0800);
    ck_assert_uint_eq(rd32(SPICTRL_FRAP, 0), 0x0A0B); /* BRWA: BIOS, GbE; BRRA: + Descriptor */
    /* round trip */
    uint8_t fd[SPICTRL_FD_SIZE];
    struct spictrl_layout back;
    spiflash_peek(fl, 0, fd, sizeof fd);
    ck_assert_uint_eq(fd[0x10] | fd[0x11] << 8 | fd[0x12] << 16 | (uint32_t)fd[0x13] << 24,
                      SPICTRL_FD_SIG);
    ck_assert_int_eq(spictrl_parse_descriptor(fd, sizeof fd, &back), 0);
    ck_assert_uint_eq(back.flash_size, lay.flash_size);
    for (int i = 0; i < SPICTRL_NREGIONS; i++) {
        ck_assert_int_eq(back.region[i].present, lay.region[i].present);
        if (lay.region[i].present) {
            ck_assert_uint_eq(back.region[i].base, lay.region[i].base);
            ck_assert_uint_eq(back.region[i].limit, lay.region[i].limit);
        }
    }
    ck_assert_uint_eq(back.cpu_read, lay.cpu_read);
    ck_assert_uint_eq(back.cpu_write, lay.cpu_write);
    ck_assert_uint_eq(back.me_write, lay.me_write);
    ck_assert_uint_eq(back.gbe_read, lay.gbe_read);
    /* a corrupt pointer is "no descriptor", never a crash */
    fd[0x16] = 0xFF; /* FRBA = 0xFF0 */
    ck_assert_int_eq(spictrl_parse_descriptor(fd, sizeof fd, &back), -1);
}
END_TEST

START_TEST(descriptor_builder_rejects_bad_layouts)
{
    uint8_t fd[SPICTRL_FD_SIZE];
    struct spictrl_layout l = lay;
    l.region[SPICTRL_REGION_BIOS].base = 0x700000; /* inside ME */
    ck_assert_int_eq(spictrl_build_descriptor(fd, sizeof fd, &l, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "overlaps"));
    l = lay;
    l.region[SPICTRL_REGION_BIOS].limit = 0x1FFFFFF;
    ck_assert_int_eq(spictrl_build_descriptor(fd, sizeof fd, &l, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "beyond"));
    l = lay;
    l.region[SPICTRL_REGION_GBE].base = 0x1800;
    ck_assert_int_eq(spictrl_build_descriptor(fd, sizeof fd, &l, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "GbE"));
    l = lay;
    l.region[SPICTRL_REGION_DESC].present = false;
    ck_assert_int_eq(spictrl_build_descriptor(fd, sizeof fd, &l, err, sizeof err), -1);
}
END_TEST

START_TEST(no_descriptor_means_no_regions)
{
    uint8_t ff[SPICTRL_FD_SIZE], b[4] = {1, 2, 3, 4};
    simtime_t done;
    memset(ff, 0xFF, sizeof ff);
    spiflash_poke(fl, 0, ff, sizeof ff);
    spictrl_reset(c, 0);
    ck_assert_uint_eq(rd16(SPICTRL_HSFS, 0) & SPICTRL_HSFS_FDV, 0);
    ck_assert_uint_eq(rd32(SPICTRL_FREG0 + 4, 0), 0x00007FFF);
    ck_assert_uint_eq(rd32(SPICTRL_FRAP, 0), 0);
    spictrl_bios_cntl_write(c, SPICTRL_BIOSWE, false, 0);
    ck_assert_int_eq(hw(SPICTRL_CYC_WRITE, 0x100, b, 4, false, 0, &done), 0); /* anywhere */
    ck_assert_uint_eq(peek1(0x103), 4);
}
END_TEST

/* ---- hardware sequencing through the registers ---------------------------------------------- */

START_TEST(hwseq_read_through_registers)
{
    pattern(BIOS, 64, 0x11);
    simtime_t t = 5 * US;
    go(SPICTRL_CYC_READ, BIOS, 64, t);
    simtime_t end = t + OVH + ft(SPIFLASH_READ, 4 + 64);
    uint32_t st = rd32(SPICTRL_HSFS, end - 1);
    ck_assert_uint_eq(st & SPICTRL_HSFS_SCIP, SPICTRL_HSFS_SCIP);
    ck_assert_uint_eq(st & SPICTRL_HSFS_FDONE, 0);
    ck_assert_uint_eq((st >> 16) & SPICTRL_HSFC_FGO, SPICTRL_HSFC_FGO);
    st = rd32(SPICTRL_HSFS, end);
    ck_assert_uint_eq(st & (SPICTRL_HSFS_SCIP | SPICTRL_HSFS_FDONE | SPICTRL_HSFS_FCERR),
                      SPICTRL_HSFS_FDONE);
    ck_assert_uint_eq((st >> 16) & SPICTRL_HSFC_FGO, 0);
    uint8_t want[64];
    spiflash_peek(fl, BIOS, want, 64);
    for (unsigned i = 0; i < 16; i++) {
        uint32_t w = rd32(SPICTRL_FDATA0 + 4 * i, end);
        uint32_t e = want[4 * i] | want[4 * i + 1] << 8 | want[4 * i + 2] << 16 |
                     (uint32_t)want[4 * i + 3] << 24;
        ck_assert_uint_eq(w, e);
    }
    ck_assert_int_eq(why()->why, SPICTRL_OK);
    /* FDONE is write-1-to-clear */
    wr16(SPICTRL_HSFS, SPICTRL_HSFS_FDONE, end);
    ck_assert_uint_eq(rd16(SPICTRL_HSFS, end) & SPICTRL_HSFS_FDONE, 0);
}
END_TEST

START_TEST(hwseq_write_and_erase_through_registers)
{
    spictrl_bios_cntl_write(c, SPICTRL_BIOSWE, false, 0);
    simtime_t t = 10 * US;
    for (unsigned i = 0; i < 4; i++)
        wr32(SPICTRL_FDATA0 + 4 * i, 0x03020100u + 0x04040404u * i, t);
    go(SPICTRL_CYC_WRITE, BIOS + 0x100, 16, t);
    simtime_t end = write_end(t, 16);
    ck_assert_uint_eq(rd16(SPICTRL_HSFS, end - 1) & SPICTRL_HSFS_SCIP, SPICTRL_HSFS_SCIP);
    ck_assert_uint_eq(rd16(SPICTRL_HSFS, end) & (SPICTRL_HSFS_FDONE | SPICTRL_HSFS_FCERR),
                      SPICTRL_HSFS_FDONE);
    for (unsigned i = 0; i < 16; i++)
        ck_assert_uint_eq(peek1(BIOS + 0x100 + i), i);
    ck_assert_uint_eq(spiflash_stats(fl)->programs, 1);
    /* 4 KiB erase: WREN, 20h, polls until tSE has passed */
    t = end + 1 * US;
    go(SPICTRL_CYC_ERASE_4K, BIOS + 0x123, 1, t);
    simtime_t e = t + OVH + ft(SPIFLASH_WREN, 1) + ft(SPIFLASH_SE, 4);
    e += spiflash_timing(fl)->tse + ft(SPIFLASH_RDSR1, 2);
    ck_assert_uint_eq(rd16(SPICTRL_HSFS, e - 1) & SPICTRL_HSFS_SCIP, SPICTRL_HSFS_SCIP);
    ck_assert_uint_eq(rd16(SPICTRL_HSFS, e) & (SPICTRL_HSFS_FDONE | SPICTRL_HSFS_FCERR),
                      SPICTRL_HSFS_FDONE);
    ck_assert_uint_eq(peek1(BIOS + 0x100), 0xFF);
    ck_assert_uint_eq(spiflash_erase_count(fl, BIOS / 4096), 1);
    /* 64 KiB erase through the direct call */
    simtime_t done;
    uint8_t dummy = 0;
    ck_assert_int_eq(hw(SPICTRL_CYC_ERASE_64K, BIOS + 0x10000, &dummy, 1, false, e, &done), 0);
    ck_assert_uint_eq(done, e + OVH + ft(SPIFLASH_WREN, 1) + ft(SPIFLASH_BE64, 4) +
                                spiflash_timing(fl)->tbe64 + ft(SPIFLASH_RDSR1, 2));
    ck_assert_uint_eq(spiflash_erase_count(fl, (BIOS + 0x1F000) / 4096), 1);
}
END_TEST

START_TEST(hwseq_write_splits_at_pages)
{
    uint8_t d[64];
    simtime_t done;
    for (int i = 0; i < 64; i++)
        d[i] = (uint8_t)i;
    spictrl_bios_cntl_write(c, SPICTRL_BIOSWE, false, 0);
    ck_assert_int_eq(hw(SPICTRL_CYC_WRITE, BIOS + 0xE0, d, 64, false, 0, &done), 0);
    ck_assert_uint_eq(spiflash_stats(fl)->programs, 2); /* 32 bytes in each page */
    for (int i = 0; i < 64; i++)
        ck_assert_uint_eq(peek1(BIOS + 0xE0 + i), i);
    ck_assert_uint_gt(done, 2 * spiflash_timing(fl)->tpp);
}
END_TEST

START_TEST(fdbc_limit)
{
    pattern(BIOS, 128, 0x40);
    /* FDBC is six bits: a wider value keeps its low six bits, i.e. at most 64 bytes */
    wr32(SPICTRL_FADDR, BIOS, 0);
    wr16(SPICTRL_HSFC, SPICTRL_HSFC_FGO | 0x7F00, 0);
    ck_assert_uint_eq((rd16(SPICTRL_HSFC, 0) & SPICTRL_HSFC_FDBC_MASK) >> 8, 63);
    simtime_t end = OVH + ft(SPIFLASH_READ, 4 + 64);
    ck_assert_uint_eq(rd16(SPICTRL_HSFS, end) & SPICTRL_HSFS_FDONE, SPICTRL_HSFS_FDONE);
    ck_assert_uint_eq(rd32(SPICTRL_FDATA0 + 60, end) & 0xFF, peek1(BIOS + 60));
    /* the direct call refuses more than 64 bytes and zero bytes */
    uint8_t buf[65];
    simtime_t done;
    ck_assert_int_eq(hw(SPICTRL_CYC_READ, BIOS, buf, 65, false, end, &done), -1);
    ck_assert_int_eq(why()->why, SPICTRL_DENY_LENGTH);
    ck_assert_int_eq(hw(SPICTRL_CYC_READ, BIOS, buf, 0, false, end, &done), -1);
    ck_assert_int_eq(hw(SPICTRL_CYC_READ, BIOS, buf, 64, false, end, &done), 0);
    ck_assert_uint_eq(buf[63], peek1(BIOS + 63));
}
END_TEST

START_TEST(jedec_sfdp_and_status_cycles)
{
    go(SPICTRL_CYC_READ_JEDEC, 0, 3, 0);
    simtime_t end = OVH + ft(SPIFLASH_RDID, 4);
    ck_assert_uint_eq(rd32(SPICTRL_FDATA0, end) & 0xFFFFFF, 0x1840EF);
    go(SPICTRL_CYC_READ_SFDP, 0, 4, end);
    end += OVH + ft(SPIFLASH_RDSFDP, 5 + 4);
    ck_assert_uint_eq(rd32(SPICTRL_FDATA0, end), 0x50444653); /* "SFDP" */
    uint8_t sr = 0xAA;
    simtime_t done;
    ck_assert_int_eq(hw(SPICTRL_CYC_READ_STATUS, 0, &sr, 1, false, end, &done), 0);
    ck_assert_uint_eq(sr, 0);
}
END_TEST

START_TEST(invalid_cycles_and_range)
{
    go(1, BIOS, 4, 0); /* reserved FCYCLE */
    ck_assert_uint_eq(rd16(SPICTRL_HSFS, OVH) & (SPICTRL_HSFS_FDONE | SPICTRL_HSFS_FCERR),
                      SPICTRL_HSFS_FDONE | SPICTRL_HSFS_FCERR);
    ck_assert_int_eq(why()->why, SPICTRL_DENY_FCYCLE);
    ck_assert_str_eq(why()->text, "invalid HSFC.FCYCLE 1");
    go(SPICTRL_CYC_READ, 16 * MiB - 16, 64, OVH); /* runs past the end of the flash */
    ck_assert_uint_eq(rd16(SPICTRL_HSFS, 2 * OVH) & SPICTRL_HSFS_FCERR, SPICTRL_HSFS_FCERR);
    ck_assert_int_eq(why()->why, SPICTRL_DENY_RANGE);
    ck_assert_str_eq(why()->text, "address beyond the flash");
}
END_TEST

START_TEST(registers_written_during_a_cycle)
{
    go(SPICTRL_CYC_READ, BIOS, 64, 0);
    wr32(SPICTRL_FADDR, 0x123000, 1 * NS);
    ck_assert_uint_eq(rd32(SPICTRL_FADDR, 2 * NS), BIOS);
    uint16_t s = rd16(SPICTRL_HSFS, 2 * NS);
    ck_assert_uint_eq(s & (SPICTRL_HSFS_SCIP | SPICTRL_HSFS_FCERR),
                      SPICTRL_HSFS_SCIP | SPICTRL_HSFS_FCERR);
    ck_assert_int_eq(why()->why, SPICTRL_DENY_BUSY);
    /* a second FGO is ignored too */
    wr16(SPICTRL_HSFC, SPICTRL_HSFC_FGO | 0x0300 | SPICTRL_CYC_READ << 1, 3 * NS);
    simtime_t end = OVH + ft(SPIFLASH_READ, 4 + 64);
    ck_assert_uint_eq(rd16(SPICTRL_HSFS, end) & SPICTRL_HSFS_FDONE, SPICTRL_HSFS_FDONE);
    ck_assert_uint_eq((rd16(SPICTRL_HSFC, end) & SPICTRL_HSFC_FDBC_MASK) >> 8, 63);
}
END_TEST

/* ---- protections ------------------------------------------------------------------------------
 */

START_TEST(protected_ranges_refuse)
{
    uint8_t d[4] = {0, 0, 0, 0}, buf[4];
    simtime_t done, t = 0;
    spictrl_bios_cntl_write(c, SPICTRL_BIOSWE, false, 0);
    ck_assert_int_eq(spictrl_set_pr(c, 2, 0x900000, 0x90FFFF, false, true, err, sizeof err), 0);
    ck_assert_uint_eq(rd32(SPICTRL_PR0 + 8, 0), 0x890F0900u);
    ck_assert_int_eq(hw(SPICTRL_CYC_WRITE, 0x900000, d, 4, false, t, &done), -1);
    ck_assert_uint_eq(done, t + OVH);
    ck_assert_uint_eq(rd16(SPICTRL_HSFS, done) & (SPICTRL_HSFS_FDONE | SPICTRL_HSFS_FCERR),
                      SPICTRL_HSFS_FDONE | SPICTRL_HSFS_FCERR);
    ck_assert_int_eq(why()->why, SPICTRL_DENY_PR);
    ck_assert_int_eq(why()->index, 2);
    ck_assert_str_eq(why()->text, "PR2");
    ck_assert_uint_eq(peek1(0x900000), 0xFF);
    ck_assert_int_eq(hw(SPICTRL_CYC_ERASE_4K, 0x90F000, d, 1, false, done, &done), -1);
    ck_assert_int_eq(hw(SPICTRL_CYC_WRITE, 0x910000, d, 4, false, done, &done), 0);
    ck_assert_uint_eq(peek1(0x910000), 0x00);
    ck_assert_int_eq(hw(SPICTRL_CYC_ERASE_64K, 0x8F0000, d, 1, false, done, &done), 0);
    ck_assert_int_eq(hw(SPICTRL_CYC_READ, 0x900000, buf, 4, false, done, &done), 0); /* no RPE */
    /* RPE refuses reads; PRs written through the register work the same */
    ck_assert_int_eq(spictrl_set_pr(c, 3, 0xA00000, 0xA00FFF, true, false, err, sizeof err), 0);
    ck_assert_int_eq(hw(SPICTRL_CYC_READ, 0xA00010, buf, 4, false, done, &done), -1);
    ck_assert_str_eq(why()->text, "PR3");
    wr32(SPICTRL_PR0 + 16, 0xB00 | 0xB00u << 16 | SPICTRL_PR_WPE, done);
    ck_assert_int_eq(hw(SPICTRL_CYC_WRITE, 0xB00800, d, 4, false, done, &done), -1);
    ck_assert_str_eq(why()->text, "PR4");
    ck_assert_uint_eq(spictrl_refusal_count(c, SPICTRL_DENY_PR), 4);
}
END_TEST

START_TEST(set_pr_rejects_impossible_ranges)
{
    ck_assert_int_eq(spictrl_set_pr(c, 5, 0, 0xFFF, false, true, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "PR5"));
    ck_assert_int_eq(spictrl_set_pr(c, 0, 0x900000, 0x8FFFFF, false, true, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "PR0"));
    ck_assert_int_eq(spictrl_set_pr(c, 1, 0xF00000, 0x1000FFF, false, true, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "beyond"));
    ck_assert_int_eq(spictrl_set_pr(c, 1, 0x800100, 0x800FFF, false, true, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "aligned"));
    ck_assert_int_eq(spictrl_set_pr(c, 1, 0x800000, 0x800FFE, false, true, err, sizeof err), -1);
    ck_assert_uint_eq(rd32(SPICTRL_PR0 + 4, 0), 0);
}
END_TEST

START_TEST(bioswe_needed_for_write_and_erase)
{
    uint8_t d[1] = {0};
    simtime_t done;
    ck_assert_uint_eq(spictrl_bios_cntl_read(c, 0), 0);
    ck_assert_int_eq(hw(SPICTRL_CYC_WRITE, BIOS, d, 1, false, 0, &done), -1);
    ck_assert_str_eq(why()->text, "BIOS_CNTL.BIOSWE=0");
    ck_assert_int_eq(hw(SPICTRL_CYC_ERASE_4K, BIOS, d, 1, false, done, &done), -1);
    ck_assert_int_eq(why()->why, SPICTRL_DENY_BIOSWE);
    ck_assert_int_eq(hw(SPICTRL_CYC_WRITE, 0x1000, d, 1, false, done, &done), -1); /* GbE too */
    ck_assert_int_eq(why()->why, SPICTRL_DENY_BIOSWE);
    ck_assert_uint_eq(peek1(BIOS), 0xFF);
    /* without BLE, setting BIOSWE raises no SMI and sticks */
    spictrl_bios_cntl_write(c, SPICTRL_BIOSWE, false, done);
    ck_assert_uint_eq(spictrl_smi_count(c), 0);
    ck_assert_uint_eq(spictrl_bios_cntl_read(c, done + 10 * SMI), SPICTRL_BIOSWE);
    ck_assert_int_eq(hw(SPICTRL_CYC_WRITE, BIOS, d, 1, false, done + 10 * SMI, &done), 0);
}
END_TEST

START_TEST(frap_grants)
{
    uint8_t d[1] = {0}, buf[4];
    simtime_t done;
    spictrl_bios_cntl_write(c, SPICTRL_BIOSWE, false, 0);
    ck_assert_int_eq(hw(SPICTRL_CYC_WRITE, 0x10, d, 1, false, 0, &done), -1);
    ck_assert_str_eq(why()->text, "FRAP Descriptor region read-only");
    ck_assert_int_eq(hw(SPICTRL_CYC_READ, 0x10, buf, 4, false, done, &done), 0);
    ck_assert_int_eq(hw(SPICTRL_CYC_READ, 0x400000, buf, 4, false, done, &done), -1);
    ck_assert_str_eq(why()->text, "FRAP ME region not readable");
    /* a reads-only BIOS region for the CPU, and a hole outside every region */
    struct spictrl_layout l = lay;
    l.cpu_write = 1u << SPICTRL_REGION_GBE;
    l.region[SPICTRL_REGION_ME].limit = 0x6FFFFF;
    put_descriptor(&l);
    spictrl_reset(c, done);
    spictrl_bios_cntl_write(c, SPICTRL_BIOSWE, false, done);
    ck_assert_int_eq(hw(SPICTRL_CYC_WRITE, BIOS, d, 1, false, done, &done), -1);
    ck_assert_str_eq(why()->text, "FRAP BIOS region read-only");
    ck_assert_int_eq(why()->why, SPICTRL_DENY_FRAP_WRITE);
    ck_assert_int_eq(hw(SPICTRL_CYC_READ, 0x700000, buf, 4, false, done, &done), -1);
    ck_assert_int_eq(why()->why, SPICTRL_DENY_NO_REGION);
}
END_TEST

/* ---- BIOS_CNTL and the SMI
 * ----------------------------------------------------------------------- */

static int handler_calls;
static simtime_t handler_when;

static void counting_handler(void *opaque, struct spictrl *ctl, simtime_t when)
{
    (void)opaque;
    handler_calls++;
    handler_when = when;
    spictrl_smi_default(NULL, ctl, when);
}

START_TEST(ble_smi_default_handler_clears_bioswe)
{
    ck_assert_uint_eq(SMI, 50 * US);
    spictrl_bios_cntl_write(c, SPICTRL_BLE, false, 0);
    simtime_t t0 = 10 * US;
    spictrl_bios_cntl_write(c, SPICTRL_BLE | SPICTRL_BIOSWE, false, t0);
    ck_assert_uint_eq(spictrl_smi_count(c), 1);
    ck_assert_uint_eq(spictrl_bios_cntl_read(c, t0 + SMI - 1), SPICTRL_BLE | SPICTRL_BIOSWE);
    ck_assert_uint_eq(spictrl_bios_cntl_read(c, t0 + SMI), SPICTRL_BLE);
    /* BLE is write-once */
    spictrl_bios_cntl_write(c, 0, false, t0 + SMI);
    ck_assert_uint_eq(spictrl_bios_cntl_read(c, t0 + SMI), SPICTRL_BLE);
    /* SMM itself sets BIOSWE without an SMI */
    spictrl_bios_cntl_write(c, SPICTRL_BLE | SPICTRL_BIOSWE, true, t0 + SMI);
    ck_assert_uint_eq(spictrl_smi_count(c), 1);
    ck_assert_uint_eq(spictrl_bios_cntl_read(c, t0 + 10 * SMI), SPICTRL_BLE | SPICTRL_BIOSWE);
}
END_TEST

START_TEST(smi_handler_runs_from_the_event_queue)
{
    handler_calls = 0;
    spictrl_set_smi_handler(c, counting_handler, NULL);
    spictrl_bios_cntl_write(c, SPICTRL_BLE, false, 0);
    spictrl_bios_cntl_write(c, SPICTRL_BLE | SPICTRL_BIOSWE, false, 7 * US);
    spictrl_bios_cntl_write(c, SPICTRL_BLE | SPICTRL_BIOSWE, false, 8 * US); /* still pending */
    evq_run_until(&q, 1 * MS, NULL);
    ck_assert_int_eq(handler_calls, 1);
    ck_assert_uint_eq(handler_when, 7 * US + SMI);
    ck_assert_uint_eq(spictrl_bios_cntl_read(c, 1 * MS), SPICTRL_BLE);
    ck_assert_int_eq(handler_calls, 1);
}
END_TEST

START_TEST(speed_racer_window_when_smm_bwp_clear)
{
    uint8_t evil[16];
    simtime_t done, t0 = 20 * US;
    memset(evil, 0x66, sizeof evil);
    spictrl_bios_cntl_write(c, SPICTRL_BLE, false, 0); /* BLE on, SMM_BWP off */
    spictrl_bios_cntl_write(c, SPICTRL_BLE | SPICTRL_BIOSWE, false, t0);
    /* another CPU issues a write before the SMI handler clears BIOSWE */
    simtime_t t1 = t0 + SMI / 2;
    ck_assert_int_eq(hw(SPICTRL_CYC_WRITE, BIOS + 0x2000, evil, 16, false, t1, &done), 0);
    ck_assert_uint_eq(done, write_end(t1, 16));
    ck_assert_int_eq(why()->why, SPICTRL_OK);
    for (int i = 0; i < 16; i++)
        ck_assert_uint_eq(peek1(BIOS + 0x2000 + i), 0x66); /* the race was won */
    ck_assert_uint_eq(spictrl_bios_cntl_read(c, done), SPICTRL_BLE);
    /* after the handler, the same write is refused */
    ck_assert_int_eq(hw(SPICTRL_CYC_WRITE, BIOS + 0x3000, evil, 16, false, done, &done), -1);
    ck_assert_int_eq(why()->why, SPICTRL_DENY_BIOSWE);
    /* through the registers too: BIOSWE set at t2, FGO at t2 + SMI - 1 ns */
    simtime_t t2 = done + 1 * MS;
    spictrl_bios_cntl_write(c, SPICTRL_BLE | SPICTRL_BIOSWE, false, t2);
    wr32(SPICTRL_FDATA0, 0x66666666, t2);
    go(SPICTRL_CYC_WRITE, BIOS + 0x4000, 4, t2 + SMI - NS);
    simtime_t end = write_end(t2 + SMI - NS, 4);
    ck_assert_uint_eq(rd16(SPICTRL_HSFS, end) & (SPICTRL_HSFS_FDONE | SPICTRL_HSFS_FCERR),
                      SPICTRL_HSFS_FDONE);
    ck_assert_uint_eq(peek1(BIOS + 0x4003), 0x66);
    ck_assert_uint_eq(spictrl_smi_count(c), 2);
}
END_TEST

START_TEST(smm_bwp_refuses_outside_smm)
{
    uint8_t evil[16];
    simtime_t done, t0 = 20 * US;
    memset(evil, 0x66, sizeof evil);
    spictrl_bios_cntl_write(c, SPICTRL_BLE | SPICTRL_SMM_BWP, false, 0);
    spictrl_bios_cntl_write(c, SPICTRL_BLE | SPICTRL_SMM_BWP | SPICTRL_BIOSWE, false, t0);
    ck_assert_int_eq(hw(SPICTRL_CYC_WRITE, BIOS + 0x2000, evil, 16, false, t0 + SMI / 2, &done),
                     -1);
    ck_assert_str_eq(why()->text, "SMM_BWP");
    ck_assert_uint_eq(peek1(BIOS + 0x2000), 0xFF);
    /* the MMIO path sees the platform's SMM flag */
    spictrl_set_in_smm(c, true);
    wr32(SPICTRL_FDATA0, 0x12345678, done);
    go(SPICTRL_CYC_WRITE, BIOS + 0x2000, 4, done);
    ck_assert_uint_eq(rd16(SPICTRL_HSFS, write_end(done, 4)) & SPICTRL_HSFS_FCERR, 0);
    ck_assert_uint_eq(peek1(BIOS + 0x2000), 0x78);
    spictrl_set_in_smm(c, false);
    /* SMM firmware's own update: BIOSWE set in SMM, write in SMM */
    simtime_t t = write_end(done, 4) + 1 * MS;
    spictrl_bios_cntl_write(c, SPICTRL_BLE | SPICTRL_SMM_BWP | SPICTRL_BIOSWE, true, t);
    ck_assert_int_eq(hw(SPICTRL_CYC_WRITE, BIOS + 0x5000, evil, 16, true, t, &done), 0);
    /* SMM_BWP covers the BIOS region only: GbE stays writable with BIOSWE */
    ck_assert_int_eq(hw(SPICTRL_CYC_WRITE, 0x1000, evil, 16, false, done, &done), 0);
    /* SMM_BWP is write-once */
    spictrl_bios_cntl_write(c, 0, true, done);
    ck_assert_uint_eq(spictrl_bios_cntl_read(c, done), SPICTRL_BLE | SPICTRL_SMM_BWP);
}
END_TEST

/* ---- FLOCKDN and WRSDIS -------------------------------------------------------------------------
 */

START_TEST(flockdn_locks_until_reset)
{
    ck_assert_int_eq(spictrl_set_pr(c, 0, BIOS, 0xFFFFFF, false, true, err, sizeof err), 0);
    uint32_t pr0 = rd32(SPICTRL_PR0, 0);
    wr16(SPICTRL_HSFS, SPICTRL_HSFS_FLOCKDN, 0);
    ck_assert_uint_eq(rd16(SPICTRL_HSFS, 0) & SPICTRL_HSFS_FLOCKDN, SPICTRL_HSFS_FLOCKDN);
    wr32(SPICTRL_PR0, 0, 1 * NS);
    ck_assert_uint_eq(rd32(SPICTRL_PR0, 1 * NS), pr0);
    ck_assert_str_eq(why()->text, "FLOCKDN");
    ck_assert_int_eq(spictrl_set_pr(c, 1, 0, 0xFFF, false, true, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "FLOCKDN"));
    wr32(SPICTRL_FRAP, 0xFFFF0000, 1 * NS);
    ck_assert_uint_eq(rd32(SPICTRL_FRAP, 1 * NS), 0x0A0B);
    wr16(SPICTRL_HSFS, SPICTRL_HSFS_WRSDIS, 1 * NS);
    ck_assert_uint_eq(rd16(SPICTRL_HSFS, 1 * NS) & SPICTRL_HSFS_WRSDIS, 0);
    wr16(SPICTRL_HSFS, 0, 1 * NS); /* FLOCKDN cannot be cleared by software */
    ck_assert_uint_eq(rd16(SPICTRL_HSFS, 1 * NS) & SPICTRL_HSFS_FLOCKDN, SPICTRL_HSFS_FLOCKDN);
    ck_assert_uint_ge(spictrl_refusal_count(c, SPICTRL_DENY_FLOCKDN), 4);
    spictrl_reset(c, 2 * NS);
    ck_assert_uint_eq(rd16(SPICTRL_HSFS, 2 * NS) & (SPICTRL_HSFS_FLOCKDN | SPICTRL_HSFS_FDV),
                      SPICTRL_HSFS_FDV);
    ck_assert_uint_eq(rd32(SPICTRL_PR0, 2 * NS), 0);
    ck_assert_int_eq(spictrl_set_pr(c, 1, 0, 0xFFF, false, true, err, sizeof err), 0);
    /* firmware's lock call */
    spictrl_lock(c, 3 * NS);
    wr32(SPICTRL_PR0 + 4, 0, 3 * NS);
    ck_assert_uint_ne(rd32(SPICTRL_PR0 + 4, 3 * NS), 0);
}
END_TEST

START_TEST(write_status_cycle_and_wrsdis)
{
    uint8_t bp = 0x1C, d[4] = {0, 0, 0, 0};
    simtime_t done;
    spictrl_bios_cntl_write(c, SPICTRL_BIOSWE, false, 0);
    /* the chip's own protection set through a write-status cycle (tW) */
    ck_assert_int_eq(hw(SPICTRL_CYC_WRITE_STATUS, 0, &bp, 1, false, 0, &done), 0);
    ck_assert_uint_eq(done, OVH + ft(SPIFLASH_WREN, 1) + ft(SPIFLASH_WRSR1, 2) +
                                spiflash_timing(fl)->tw + ft(SPIFLASH_RDSR1, 2));
    ck_assert_uint_eq(spiflash_status(fl, 1, done), 0x1C);
    /* the chip ignores the program: FDONE without FCERR, reported as the chip's refusal */
    ck_assert_int_eq(hw(SPICTRL_CYC_WRITE, BIOS, d, 4, false, done, &done), 0);
    ck_assert_uint_eq(rd16(SPICTRL_HSFS, done) & SPICTRL_HSFS_FCERR, 0);
    ck_assert_int_eq(why()->why, SPICTRL_DENY_CHIP);
    ck_assert_uint_eq(peek1(BIOS), 0xFF);
    /* WRSDIS blocks write-status cycles */
    wr16(SPICTRL_HSFS, SPICTRL_HSFS_WRSDIS, done);
    ck_assert_uint_eq(rd16(SPICTRL_HSFS, done) & SPICTRL_HSFS_WRSDIS, SPICTRL_HSFS_WRSDIS);
    bp = 0;
    ck_assert_int_eq(hw(SPICTRL_CYC_WRITE_STATUS, 0, &bp, 1, false, done, &done), -1);
    ck_assert_str_eq(why()->text, "HSFS.WRSDIS");
    ck_assert_uint_eq(spiflash_status(fl, 1, done), 0x1C);
}
END_TEST

/* ---- memory-mapped and image reads
 * ----------------------------------------------------------------- */

START_TEST(mmap_read_timing)
{
    uint8_t buf[100], want[100];
    pattern(BIOS, 256, 0x21);
    /* one 64-byte line with READ 03h at 33 MHz: (8 + 24 + 512) clocks ~ 16.5 us */
    simtime_t t0 = 1 * US, t = spictrl_mmap_read(c, BIOS, buf, 64, t0);
    ck_assert_uint_eq(t - t0, ps_of(544, 33e6));
    ck_assert_uint_ge(t - t0, 16400 * NS);
    ck_assert_uint_le(t - t0, 16600 * NS);
    /* unaligned: three lines */
    simtime_t t1 = spictrl_mmap_read(c, BIOS + 0x30, buf, 100, t);
    ck_assert_uint_eq(t1 - t, 3 * ps_of(544, 33e6));
    spiflash_peek(fl, BIOS + 0x30, want, 100);
    ck_assert_int_eq(memcmp(buf, want, 100), 0);
    /* quad I/O at 104 MHz: 8 + 6 + 2 + 4 + 128 clocks ~ 1.4 us */
    uint8_t vsr = SPIFLASH_VSR_WREN, wr2[2] = {SPIFLASH_WRSR2, SPIFLASH_SR2_QE};
    t1 = spiflash_transaction(fl, &vsr, 1, NULL, 0, t1);
    t1 = spiflash_transaction(fl, wr2, 2, NULL, 0, t1);
    spictrl_set_read_mode(c, SPIFLASH_QUAD_IO_READ, 104e6);
    simtime_t t2 = spictrl_mmap_read(c, BIOS, buf, 64, t1);
    ck_assert_uint_eq(t2 - t1, ps_of(148, 104e6));
    ck_assert_uint_le(t2 - t1, 1500 * NS);
    spiflash_peek(fl, BIOS, want, 64);
    ck_assert_int_eq(memcmp(buf, want, 64), 0);
    /* a line the CPU may not read: 0xFF, AEL, no SPI time */
    simtime_t t3 = spictrl_mmap_read(c, 0x400000, buf, 64, t2);
    ck_assert_uint_eq(t3, t2);
    ck_assert_uint_eq(buf[0], 0xFF);
    ck_assert_uint_eq(rd16(SPICTRL_HSFS, t3) & SPICTRL_HSFS_AEL, SPICTRL_HSFS_AEL);
    ck_assert_int_eq(why()->why, SPICTRL_DENY_FRAP_READ);
}
END_TEST

START_TEST(read_image_timing)
{
    const size_t len = 256 * 1024;
    uint8_t *buf = malloc(len), *want = malloc(len);
    ck_assert_ptr_nonnull(buf);
    ck_assert_ptr_nonnull(want);
    pattern(BIOS, len, 0x5C);
    spiflash_peek(fl, BIOS, want, len);
    /* READ 03h at 50 MHz: 4096 cycles of overhead + (4 + 64) bytes x 8 / 50 MHz */
    spictrl_set_read_mode(c, SPIFLASH_READ, 50e6);
    simtime_t t0 = 1 * US, t = spictrl_read_image(c, BIOS, len, buf, t0);
    ck_assert_uint_eq(t - t0, 4096 * (OVH + ps_of(68 * 8, 50e6)));
    ck_assert_int_eq(memcmp(buf, want, len), 0);
    ck_assert_int_eq(why()->why, SPICTRL_OK);
    /* FAST READ 0Bh at 133 MHz: one dummy byte more per cycle, 2.66 x the clock */
    spictrl_set_read_mode(c, SPIFLASH_FAST_READ, 133e6);
    memset(buf, 0, len);
    simtime_t t1 = spictrl_read_image(c, BIOS, len, buf, t);
    ck_assert_uint_eq(t1 - t, 4096 * (OVH + ps_of(69 * 8, 133e6)));
    ck_assert_int_eq(memcmp(buf, want, len), 0);
    /* 03h at 133 MHz is capped at 50 MHz */
    spictrl_set_read_mode(c, SPIFLASH_READ, 133e6);
    simtime_t t2 = spictrl_read_image(c, BIOS, 640, buf, t1);
    ck_assert_uint_eq(t2 - t1, 10 * (OVH + ps_of(68 * 8, 50e6)));
    /* a refused cycle ends the read: the rest is 0xFF */
    simtime_t t3 = spictrl_read_image(c, 0x2F80, 256, buf, t2); /* GbE, then ME */
    ck_assert_uint_eq(t3, t2 + 2 * (OVH + ps_of(68 * 8, 50e6)) + OVH);
    ck_assert_int_eq(why()->why, SPICTRL_DENY_FRAP_READ);
    ck_assert_uint_eq(buf[127], peek1(0x2FFF));
    ck_assert_uint_eq(buf[128], 0xFF);
    ck_assert_uint_eq(buf[255], 0xFF);
    free(buf);
    free(want);
}
END_TEST

START_TEST(cycles_are_traced)
{
    struct trace_opts o = {.title = "spi"};
    struct trace *tr = trace_open(&o, err, sizeof err);
    ck_assert_msg(tr != NULL, "%s", err);
    struct dev_env env = {.q = &q, .tr = tr, .cost = &prof, .hz = HZ};
    env.place = trace_place(tr, PLACE_DEVICE, 0, "spi");
    struct spictrl *t = spictrl_create(&env, fl, err, sizeof err);
    ck_assert_ptr_nonnull(t);
    uint8_t buf[64];
    simtime_t done;
    ck_assert_int_eq(spictrl_hwseq(t, SPICTRL_CYC_READ, BIOS, buf, 64, false, 0, &done), 0);
    spictrl_mmap_read(t, BIOS, buf, 64, done);
    struct trace_stat st;
    ck_assert(trace_stat_kind(tr, SPAN_FLASH, &st));
    ck_assert_uint_eq(st.count, 2);
    ck_assert_uint_eq(st.max, OVH + ft(SPIFLASH_READ, 68));
    spictrl_destroy(t);
    ck_assert_int_eq(trace_close(tr, err, sizeof err), 0);
}
END_TEST

static Suite *ctrl_suite(void)
{
    Suite *s = suite_create("spi_ctrl");
    TCase *tc = tcase_create("registers");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, descriptor_sets_regions);
    tcase_add_test(tc, descriptor_builder_rejects_bad_layouts);
    tcase_add_test(tc, no_descriptor_means_no_regions);
    tcase_add_test(tc, hwseq_read_through_registers);
    tcase_add_test(tc, hwseq_write_and_erase_through_registers);
    tcase_add_test(tc, hwseq_write_splits_at_pages);
    tcase_add_test(tc, fdbc_limit);
    tcase_add_test(tc, jedec_sfdp_and_status_cycles);
    tcase_add_test(tc, invalid_cycles_and_range);
    tcase_add_test(tc, registers_written_during_a_cycle);
    tcase_add_test(tc, protected_ranges_refuse);
    tcase_add_test(tc, set_pr_rejects_impossible_ranges);
    tcase_add_test(tc, bioswe_needed_for_write_and_erase);
    tcase_add_test(tc, frap_grants);
    tcase_add_test(tc, ble_smi_default_handler_clears_bioswe);
    tcase_add_test(tc, smi_handler_runs_from_the_event_queue);
    tcase_add_test(tc, speed_racer_window_when_smm_bwp_clear);
    tcase_add_test(tc, smm_bwp_refuses_outside_smm);
    tcase_add_test(tc, flockdn_locks_until_reset);
    tcase_add_test(tc, write_status_cycle_and_wrsdis);
    tcase_add_test(tc, mmap_read_timing);
    tcase_add_test(tc, read_image_timing);
    tcase_add_test(tc, cycles_are_traced);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(ctrl_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
