/*
 * Unit tests for the disk models (models/disk.c): the HDD's seek curve,
 * rotational position, zoned transfer rate and FIFO service; the SSD's
 * latency + bandwidth and channel parallelism (with the latency held at
 * its median: these are the deterministic mechanisms); the seeded
 * service-time distributions against the datasheet figures they are
 * shaped from; image file errors; data
 * that really lands in the image. Parameters come from the default cost
 * profile; images live in a mkdtemp directory removed after each test.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* mkdtemp, nftw */
#endif
#include <check.h>
#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "disk.h"

#ifndef HOPSIM_SOURCE_DIR
#error "HOPSIM_SOURCE_DIR must name the repository root"
#endif

#define IMG_SIZE (64ull << 20)
#define MS (1e9) /* ps */

static char tmpdir[64], path[256], err[512];
static struct cost_profile prof;
static struct disk_params hdd, ssd;

static void setup(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/hopsim-disk-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    snprintf(path, sizeof path, "%s/disk.img", tmpdir);
    ck_assert_msg(
        cost_load(&prof, HOPSIM_SOURCE_DIR "/profiles/default.profile", err, sizeof err) == 0, "%s",
        err);
    disk_params_from_cost(&hdd, DISK_HDD, 512, &prof);
    disk_params_from_cost(&ssd, DISK_SSD, 4096, &prof);
}

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(p);
}

static void teardown(void)
{
    nftw(tmpdir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static struct disk *open_new(const struct disk_params *p)
{
    struct disk *d = disk_open(p, path, IMG_SIZE, true, err, sizeof err);
    ck_assert_msg(d != NULL, "%s", err);
    return d;
}

static void write_file(const char *p, size_t len)
{
    FILE *f = fopen(p, "w");
    ck_assert_ptr_nonnull(f);
    for (size_t i = 0; i < len; i++)
        fputc((int)(i & 0xff), f);
    fclose(f);
}

/* |a - b| <= tol */
#define ck_assert_near(a, b, tol)                                                                  \
    ck_assert_msg(fabs((double)(a) - (double)(b)) <= (tol), "%s = %.3f, expected %.3f +- %g", #a,  \
                  (double)(a), (double)(b), (double)(tol))

START_TEST(params_from_profile)
{
    ck_assert_double_eq(hdd.rpm, 15000);
    ck_assert_uint_eq(hdd.seek_track, 200000000ull);
    ck_assert_uint_eq(hdd.seek_avg, 3400000000ull);
    ck_assert_uint_eq(hdd.seek_full, 6500000000ull);
    ck_assert_double_eq(hdd.rate_outer, 204e6);
    ck_assert_double_eq(hdd.rate_inner, 122e6);
    ck_assert_uint_eq(hdd.cylinders, 115000);
    ck_assert_uint_eq(ssd.read_latency, 90000000ull);
    ck_assert_uint_eq(ssd.write_latency, 30000000ull);
    ck_assert_double_eq(ssd.bw, 1e9);
    ck_assert_uint_eq(ssd.channels, 8);
    ck_assert_uint_eq(ssd.read_tail, 500000000ull);
    ck_assert_uint_eq(ssd.write_tail, 500000000ull);
    ck_assert_double_eq(ssd.tail_q, 99.9);
}
END_TEST

/* The SSD's mechanisms with the latency fixed at its median (no tail). */
static struct disk_params fixed(struct disk_params p)
{
    p.read_tail = p.write_tail = 0;
    return p;
}

START_TEST(hdd_seek_curve)
{
    struct disk *d = open_new(&hdd);
    double D = (double)(hdd.cylinders - 1);
    ck_assert_uint_eq(disk_hdd_seek(d, 0), 0);
    ck_assert_uint_eq(disk_hdd_seek(d, 1), hdd.seek_track);
    ck_assert_near(disk_hdd_seek(d, D / 3), hdd.seek_avg, 1);
    ck_assert_near(disk_hdd_seek(d, D), hdd.seek_full, 1);
    /* short seeks follow a + b sqrt(d) */
    double b = (3.4 * MS - 0.2 * MS) / (sqrt(D / 3) - 1), a = 0.2 * MS - b;
    ck_assert_near(disk_hdd_seek(d, 100), a + b * 10, 1);
    /* long seeks are linear */
    double e = (6.5 * MS - 3.4 * MS) / (D - D / 3);
    ck_assert_near(disk_hdd_seek(d, 60000), 3.4 * MS + e * (60000 - D / 3), 1);
    /* monotone, continuous at the boundary */
    simtime_t prev = 0;
    for (double x = 1; x <= D; x *= 1.7) {
        ck_assert_uint_ge(disk_hdd_seek(d, x), prev);
        prev = disk_hdd_seek(d, x);
    }
    ck_assert_near(disk_hdd_seek(d, D / 3 - 0.01), disk_hdd_seek(d, D / 3 + 0.01), 2000);
    disk_close(d);
}
END_TEST

START_TEST(hdd_rotation_from_known_angle)
{
    struct disk *d = open_new(&hdd);
    simtime_t rev = disk_hdd_rev(d);
    ck_assert_uint_eq(rev, 4000000000ull); /* 15,000 rpm */
    ck_assert_double_eq(disk_hdd_angle(d, 0), 0);
    simtime_t x0 = disk_hdd_xfer(d, 0, 1);
    ck_assert_near(x0, 512 / 204e6 * 1e12, 10);
    /* at a quarter turn, LBA 0 (angle 0) is three quarters away */
    simtime_t t = disk_schedule(d, rev / 4, false, 0, 1);
    ck_assert_uint_eq(t, rev + x0);
    /* the next block follows without waiting... */
    simtime_t t2 = disk_schedule(d, t, false, 1, 1);
    ck_assert_uint_eq(t2, t + disk_hdd_xfer(d, 1, 1));
    ck_assert_uint_eq(disk_hdd_cylinder(d, 1), 0);
    /* ...but one that comes 1 us late waits for the next turn */
    simtime_t t3 = disk_schedule(d, t2 + 1000000, false, 2, 1);
    ck_assert_uint_eq(disk_hdd_cylinder(d, 2), 1); /* one track-to-track seek */
    ck_assert_near(t3, t2 + rev + disk_hdd_xfer(d, 2, 1), 2);
    ck_assert_uint_eq(disk_hdd_head(d), 1);
    disk_close(d);
}
END_TEST

START_TEST(hdd_seek_plus_rotation)
{
    struct disk *d = open_new(&hdd);
    uint64_t n = disk_blocks(d), lba = n / 2 + 12345;
    uint64_t cyl = disk_hdd_cylinder(d, lba);
    ck_assert_uint_eq(cyl, (uint64_t)floor((double)lba * 115000 / (double)n));
    simtime_t now = 5 * MS + 123;
    simtime_t seek = disk_hdd_seek(d, (double)cyl);
    double phase = (double)((now + seek) % disk_hdd_rev(d)) / (double)disk_hdd_rev(d);
    double w = disk_hdd_angle(d, lba) - phase;
    w = w < 0 ? w + 1 : w;
    double want = (double)(now + seek) + w * 4e9 + (double)disk_hdd_xfer(d, lba, 8);
    ck_assert_near(disk_schedule(d, now, false, lba, 8), want, 1);
    ck_assert_uint_eq(disk_hdd_head(d), disk_hdd_cylinder(d, lba + 7));
    disk_close(d);
}
END_TEST

START_TEST(hdd_zoned_rate)
{
    struct disk *d = open_new(&hdd);
    uint64_t n = disk_blocks(d);
    ck_assert_uint_eq(n, IMG_SIZE / 512);
    ck_assert_double_eq(disk_hdd_rate(d, 0), 204e6);
    ck_assert_near(disk_hdd_rate(d, n / 2), 163e6, 1e-3);
    ck_assert_near(disk_hdd_rate(d, n - 1), 122e6, 1000);
    /* one block: bytes / local rate */
    ck_assert_near(disk_hdd_xfer(d, n - 1, 1), 512 / 122e6 * 1e12, 25); /* rate varies in it */
    ck_assert_near(disk_hdd_xfer(d, n / 2, 1), 512 / 163e6 * 1e12, 10);
    /* the whole disk: the integral of 1 / rate */
    double whole = (double)IMG_SIZE / (204e6 - 122e6) * log(204.0 / 122.0) * 1e12;
    ck_assert_near(disk_hdd_xfer(d, 0, (uint32_t)n), whole, 2);
    /* sequential transfers add up and the angle follows the spiral */
    ck_assert_near(disk_hdd_xfer(d, 0, 100) + disk_hdd_xfer(d, 100, 100), disk_hdd_xfer(d, 0, 200),
                   2);
    double turns = (double)disk_hdd_xfer(d, 0, 1000) / 4e9;
    ck_assert_near(disk_hdd_angle(d, 1000), turns - floor(turns), 1e-9);
    disk_close(d);
}
END_TEST

START_TEST(hdd_fifo)
{
    struct disk *d = open_new(&hdd);
    uint64_t far = disk_blocks(d) - 64;
    simtime_t t1 = disk_schedule(d, 0, false, far, 8);
    simtime_t dist = disk_hdd_cylinder(d, far);
    ck_assert_uint_ge(t1, disk_hdd_seek(d, (double)dist));
    /* issued at the same time, served after the first: from its end, back to cylinder 0 */
    simtime_t seek_back = disk_hdd_seek(d, (double)disk_hdd_cylinder(d, far + 7));
    double phase = (double)((t1 + seek_back) % 4000000000ull) / 4e9;
    double w = disk_hdd_angle(d, 0) - phase;
    w = w < 0 ? w + 1 : w;
    simtime_t t2 = disk_schedule(d, 0, true, 0, 8);
    ck_assert_near(t2, (double)(t1 + seek_back) + w * 4e9 + (double)disk_hdd_xfer(d, 0, 8), 1);
    ck_assert_uint_eq(disk_idle_at(d), t2);
    disk_close(d);
}
END_TEST

START_TEST(ssd_latency_and_bandwidth)
{
    struct disk_params p = fixed(ssd);
    struct disk *d = open_new(&p);
    ck_assert_uint_eq(disk_blocks(d), IMG_SIZE / 4096);
    ck_assert_uint_eq(disk_block_size(d), 4096);
    ck_assert_int_eq(disk_type(d), DISK_SSD);
    ck_assert_uint_eq(disk_schedule(d, 1000, false, 0, 1), 1000 + 90000000ull + 4096000ull);
    ck_assert_uint_eq(disk_schedule(d, 1000, true, 8, 4), 1000 + 30000000ull + 16384000ull);
    disk_close(d);
}
END_TEST

START_TEST(ssd_channels_in_parallel)
{
    struct disk_params p = fixed(ssd);
    struct disk *d = open_new(&p);
    simtime_t one = 90000000ull + 4096000ull;
    for (unsigned i = 0; i < 8; i++)
        ck_assert_uint_eq(disk_schedule(d, 0, false, i, 1), one);
    /* the ninth waits for the earliest free channel */
    ck_assert_uint_eq(disk_schedule(d, 0, false, 8, 1), 2 * one);
    ck_assert_uint_eq(disk_schedule(d, 3 * one, false, 9, 1), 4 * one);
    ck_assert_uint_eq(disk_idle_at(d), 4 * one);
    disk_close(d);
}
END_TEST

/* NVMe-class: 8 us + 4 KiB at 2400 MB/s, six commands at once (default.profile). */
START_TEST(nvme_latency_and_channels)
{
    struct disk_params p;
    disk_params_from_cost(&p, DISK_NVME, 4096, &prof);
    p = fixed(p);
    struct disk *d = open_new(&p);
    ck_assert_int_eq(disk_type(d), DISK_NVME);
    simtime_t one = 8000000ull + (simtime_t)llround(4096 * 1e12 / 2400e6);
    for (unsigned i = 0; i < 6; i++)
        ck_assert_uint_eq(disk_schedule(d, 0, false, i, 1), one);
    ck_assert_uint_eq(disk_schedule(d, 0, false, 6, 1), 2 * one);
    ck_assert_uint_eq(disk_schedule(d, 5 * one, true, 7, 1), 6 * one);
    disk_close(d);
}
END_TEST

/* RAM-backed: 0.1 us + 4 KiB at 8 GB/s, 64 commands at once: a 4 KiB read takes 0.612 us. */
START_TEST(ramdisk_latency_and_channels)
{
    struct disk_params p;
    disk_params_from_cost(&p, DISK_RAM, 512, &prof);
    struct disk *d = open_new(&p);
    ck_assert_int_eq(disk_type(d), DISK_RAM);
    simtime_t one = 100000ull + 512000ull;
    for (unsigned i = 0; i < 64; i++)
        ck_assert_uint_eq(disk_schedule(d, 0, i & 1, (uint64_t)i * 8, 8), one);
    ck_assert_uint_eq(disk_schedule(d, 0, false, 0, 8), 2 * one);
    p.channels = 0;
    ck_assert_ptr_null(disk_open(&p, path, IMG_SIZE, true, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "ramdisk_channels"));
    disk_close(d);
}
END_TEST

START_TEST(image_missing)
{
    char want[512];
    ck_assert_ptr_null(disk_open(&hdd, path, IMG_SIZE, false, err, sizeof err));
    snprintf(want, sizeof want, "cannot open disk image %s: No such file or directory", path);
    ck_assert_str_eq(err, want);
    ck_assert_int_eq(access(path, F_OK), -1); /* not created */
    ck_assert_ptr_null(disk_open(&hdd, path, 0, true, err, sizeof err));
    snprintf(want, sizeof want, "disk image %s: a size is needed to create it", path);
    ck_assert_str_eq(err, want);
}
END_TEST

START_TEST(image_truncated)
{
    char want[512];
    write_file(path, 1000);
    ck_assert_ptr_null(disk_open(&hdd, path, 0, false, err, sizeof err));
    snprintf(want, sizeof want,
             "truncated or corrupt disk image %s: 1000 bytes, expected a nonzero multiple of the "
             "512-byte block size",
             path);
    ck_assert_str_eq(err, want);
    write_file(path, 4096);
    ck_assert_ptr_null(disk_open(&hdd, path, 8192, false, err, sizeof err));
    snprintf(want, sizeof want, "truncated or corrupt disk image %s: 4096 bytes, expected 8192",
             path);
    ck_assert_str_eq(err, want);
    /* create does not rescue a short existing file */
    ck_assert_ptr_null(disk_open(&hdd, path, 8192, true, err, sizeof err));
    ck_assert_str_eq(err, want);
    /* with 4096-byte blocks the same file is one whole block */
    struct disk *d = disk_open(&ssd, path, 0, false, err, sizeof err);
    ck_assert_msg(d != NULL, "%s", err);
    ck_assert_uint_eq(disk_blocks(d), 1);
    disk_close(d);
    write_file(path, 6144);
    ck_assert_ptr_null(disk_open(&ssd, path, 0, false, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "truncated or corrupt disk image"));
}
END_TEST

START_TEST(image_bad_parameters)
{
    struct disk_params p = hdd;
    p.block_size = 1024;
    ck_assert_ptr_null(disk_open(&p, path, IMG_SIZE, true, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "block size must be 512 or 4096"));
    ck_assert_ptr_null(disk_open(&hdd, path, 1000, true, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "not a multiple of the 512-byte block size"));
    p = ssd;
    p.channels = 0;
    ck_assert_ptr_null(disk_open(&p, path, IMG_SIZE, true, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "ssd_channels"));
    p = hdd;
    p.seek_avg = p.seek_full + 1;
    ck_assert_ptr_null(disk_open(&p, path, IMG_SIZE, true, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "seeks must grow"));
    ck_assert_int_eq(access(path, F_OK), -1);
}
END_TEST

START_TEST(data_lands_in_file)
{
    struct disk *d = open_new(&hdd);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_size, (off_t)IMG_SIZE);
    ck_assert_int_lt(st.st_blocks * 512, (blkcnt_t)(IMG_SIZE / 2)); /* sparse */
    static uint8_t buf[4096], back[4096];
    for (unsigned i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)(i * 7 + 3);
    ck_assert_int_eq(disk_write(d, 100, 8, buf), 0);
    ck_assert_int_eq(disk_read(d, disk_blocks(d) - 1, 2, back), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(disk_write(d, disk_blocks(d), 1, buf), -1);
    ck_assert_str_eq(disk_path(d), path);
    disk_close(d);
    /* the bytes are in the file at 100 * 512 */
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fseek(f, 100 * 512, SEEK_SET), 0);
    ck_assert_uint_eq(fread(back, 1, sizeof back, f), sizeof back);
    fclose(f);
    ck_assert_mem_eq(back, buf, sizeof buf);
    /* and survive a reopen (size from the file) */
    d = disk_open(&hdd, path, 0, false, err, sizeof err);
    ck_assert_msg(d != NULL, "%s", err);
    ck_assert_uint_eq(disk_blocks(d), IMG_SIZE / 512);
    memset(back, 0, sizeof back);
    ck_assert_int_eq(disk_read(d, 100, 8, back), 0);
    ck_assert_mem_eq(back, buf, sizeof buf);
    disk_close(d);
    /* a bigger file serves a smaller disk */
    d = disk_open(&ssd, path, 1 << 20, false, err, sizeof err);
    ck_assert_msg(d != NULL, "%s", err);
    ck_assert_uint_eq(disk_blocks(d), 256);
    disk_close(d);
}
END_TEST

static int cmp_time(const void *a, const void *b)
{
    simtime_t x = *(const simtime_t *)a, y = *(const simtime_t *)b;
    return (x > y) - (x < y);
}

#define DRAWS 100000
static simtime_t draws[DRAWS];

/* Sorted latency draws of a disk opened from p; their mean in *mean. */
static void draw_sorted(const struct disk_params *p, bool write, double *mean)
{
    struct disk *d = open_new(p);
    double sum = 0;
    for (int i = 0; i < DRAWS; i++)
        sum += (double)(draws[i] = disk_draw_latency(d, write));
    disk_close(d);
    qsort(draws, DRAWS, sizeof draws[0], cmp_time);
    *mean = sum / DRAWS;
}

#define US 1e6 /* ps */

/* SAS SSD reads: median 90 us, 500 us at the 99.9th percentile (Intel DC S3700 QoS). */
START_TEST(ssd_read_latency_distribution)
{
    struct disk_params p = ssd;
    p.seed = 11;
    snprintf(p.stream, sizeof p.stream, "dev0.disk0");
    double mean, sigma = log(500.0 / 90.0) / 3.090232306;
    draw_sorted(&p, false, &mean);
    ck_assert_near(draws[DRAWS / 2], 90 * US, 90 * US * 0.02);
    ck_assert_near(draws[(int)(DRAWS * 0.999)], 500 * US, 500 * US * 0.08);
    ck_assert_near(draws[(int)(DRAWS * 0.99)], 90 * US * exp(2.3263479 * sigma), 327 * US * 0.04);
    ck_assert_near(mean, 90 * US * exp(sigma * sigma / 2), 105 * US * 0.015);
    ck_assert_uint_gt(draws[(int)(DRAWS * 0.99)], draws[DRAWS / 2]);
    /* writes: median 30 us, 500 us at 99.9 % */
    draw_sorted(&p, true, &mean);
    ck_assert_near(draws[DRAWS / 2], 30 * US, 30 * US * 0.02);
    ck_assert_near(draws[(int)(DRAWS * 0.999)], 500 * US, 500 * US * 0.1);
}
END_TEST

/* NVMe (Optane P4800X): median 8 us, 60 us at 99.999 %: check the shape's median and 99th
   percentile (the 99.999th needs far more draws than a unit test makes). */
START_TEST(nvme_read_latency_distribution)
{
    struct disk_params p;
    disk_params_from_cost(&p, DISK_NVME, 4096, &prof);
    ck_assert_uint_eq(p.read_tail, 60 * 1000000ull);
    ck_assert_uint_eq(p.write_tail, 100 * 1000000ull);
    ck_assert_double_eq(p.tail_q, 99.999);
    p.seed = 12;
    double mean, sigma = log(60.0 / 8.0) / 4.264890794;
    draw_sorted(&p, false, &mean);
    ck_assert_near(draws[DRAWS / 2], 8 * US, 8 * US * 0.02);
    ck_assert_near(draws[(int)(DRAWS * 0.99)], 8 * US * exp(2.3263479 * sigma), 24 * US * 0.04);
    ck_assert_uint_le(draws[(int)(DRAWS * 0.9999)], 60 * US);
}
END_TEST

/* Same seed and stream: the same service times; another seed or stream: others. The RAM
   disk has no tail. */
START_TEST(latency_draws_reproducible)
{
    struct disk_params p = ssd, q = ssd, r = ssd;
    p.seed = q.seed = 5;
    r.seed = 6;
    snprintf(p.stream, sizeof p.stream, "dev0.disk0");
    snprintf(q.stream, sizeof q.stream, "dev0.disk0");
    snprintf(r.stream, sizeof r.stream, "dev0.disk0");
    struct disk *a = open_new(&p);
    simtime_t seq[64];
    int same_as_other_seed = 0;
    for (int i = 0; i < 64; i++)
        seq[i] = disk_schedule(a, 0, false, (uint64_t)i, 1);
    disk_close(a);
    struct disk *b = open_new(&q);
    for (int i = 0; i < 64; i++)
        ck_assert_uint_eq(disk_schedule(b, 0, false, (uint64_t)i, 1), seq[i]);
    disk_close(b);
    struct disk *c = open_new(&r);
    for (int i = 0; i < 64; i++)
        same_as_other_seed += disk_schedule(c, 0, false, (uint64_t)i, 1) == seq[i];
    disk_close(c);
    ck_assert_int_lt(same_as_other_seed, 4);
    struct disk_params m;
    disk_params_from_cost(&m, DISK_RAM, 512, &prof);
    struct disk *d = open_new(&m);
    ck_assert_double_eq(disk_sigma(d, false), 0.0);
    ck_assert_uint_eq(disk_draw_latency(d, false), 100000ull);
    disk_close(d);
    struct disk_params bad = ssd;
    bad.tail_q = 100;
    ck_assert_ptr_null(disk_open(&bad, path, IMG_SIZE, true, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "ssd_tail_quantile"));
}
END_TEST

static Suite *disk_suite(void)
{
    Suite *s = suite_create("disk");
    TCase *tc = tcase_create("models");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, params_from_profile);
    tcase_add_test(tc, hdd_seek_curve);
    tcase_add_test(tc, hdd_rotation_from_known_angle);
    tcase_add_test(tc, hdd_seek_plus_rotation);
    tcase_add_test(tc, hdd_zoned_rate);
    tcase_add_test(tc, hdd_fifo);
    tcase_add_test(tc, ssd_latency_and_bandwidth);
    tcase_add_test(tc, ssd_channels_in_parallel);
    tcase_add_test(tc, nvme_latency_and_channels);
    tcase_add_test(tc, ramdisk_latency_and_channels);
    tcase_add_test(tc, ssd_read_latency_distribution);
    tcase_add_test(tc, nvme_read_latency_distribution);
    tcase_add_test(tc, latency_draws_reproducible);
    tcase_add_test(tc, image_missing);
    tcase_add_test(tc, image_truncated);
    tcase_add_test(tc, image_bad_parameters);
    tcase_add_test(tc, data_lands_in_file);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(disk_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
