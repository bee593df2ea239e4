/*
 * Unit tests for UEFI PI firmware volumes (firmware-model/fv.c) and SPI
 * flash images (firmware-model/flashimg.c): build -> parse round trips,
 * one test per corruption with its exact message, lookups, erased free
 * space, flash descriptor checks and the `hopsim flash` command.
 *
 * Corruptions are made on a freshly built volume; where a field is covered
 * by a checksum the test recomputes that checksum, so the check under test
 * (and not an earlier one) must catch it. Expected messages are built from
 * the offsets the parser reported for the intact volume. Temporary files
 * go to a mkdtemp directory under /tmp, removed in teardown.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* mkdtemp */
#endif
#include <check.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "flashimg.h"
#include "fv.h"

#define VOL_SIZE 0x10000u
#define VOL_BASE 0x800000u /* where the volume pretends to sit in the flash */

static uint8_t vol[VOL_SIZE];
static uint8_t pay0[1000], pay1[13], pay2[77];
static struct fv_file_spec specs[3];
static struct fv_volume fv; /* the intact volume, parsed */
static char err[512], want[512];
static char tmpdir[64];

static void fill(uint8_t *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(seed + i * 7 + (i >> 8));
}

static void setup(void)
{
    fill(pay0, sizeof pay0, 1);
    fill(pay1, sizeof pay1, 2);
    fill(pay2, sizeof pay2, 3);
    memset(specs, 0, sizeof specs);
    specs[0] = (struct fv_file_spec){.name = "alpha",
                                     .version = "1.0",
                                     .build_number = 7,
                                     .type = FV_FILETYPE_DRIVER,
                                     .payload = pay0,
                                     .len = sizeof pay0};
    specs[1] = (struct fv_file_spec){
        .name = "beta", .type = FV_FILETYPE_FREEFORM, .payload = pay1, .len = sizeof pay1};
    specs[2] = (struct fv_file_spec){.type = FV_FILETYPE_RAW, .payload = pay2, .len = sizeof pay2};
    ck_assert_int_eq(fv_guid_parse("01234567-89ab-cdef-0123-456789abcdef", &specs[2].guid), 0);
    ck_assert_int_eq(fv_build(vol, VOL_SIZE, specs, 3, err, sizeof err), 0);
    ck_assert_int_eq(fv_parse(&fv, vol, VOL_SIZE, VOL_BASE, err, sizeof err), 0);
    ck_assert_int_eq(fv.nfiles, 3);
    err[0] = want[0] = 0;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/fv-test-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void)
{
    fv_fini(&fv);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    ck_assert_int_eq(system(cmd), 0);
}

/* ---- helpers: positions and checksum repair ---- */

static uint8_t *file_hdr(int i) /* in vol */
{
    return vol + (fv.files[i].offset - VOL_BASE);
}

static uint8_t sum8(const uint8_t *p, size_t n)
{
    uint8_t s = 0;
    while (n--)
        s = (uint8_t)(s + *p++);
    return s;
}

static void fix_fv_checksum(void)
{
    vol[50] = vol[51] = 0;
    uint16_t s = 0;
    for (int i = 0; i < 72; i += 2)
        s = (uint16_t)(s + (vol[i] | vol[i + 1] << 8));
    s = (uint16_t)-s;
    vol[50] = (uint8_t)s;
    vol[51] = (uint8_t)(s >> 8);
}

static void fix_file_header(int i)
{
    uint8_t *h = file_hdr(i);
    h[16] = 0;
    h[16] = (uint8_t)(0 - (uint8_t)(sum8(h, 24) - h[17] - h[23]));
}

static void fix_file_data(int i)
{
    uint8_t *h = file_hdr(i);
    h[17] = (uint8_t)(0 - sum8(h + 24, fv.files[i].size - 24));
}

static void put24(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8), p[2] = (uint8_t)(v >> 16);
}

/* Parse vol (len bytes) expecting failure with exactly `want`. */
static void expect_fail(size_t len)
{
    struct fv_volume v;
    int r = fv_parse(&v, vol, len, VOL_BASE, err, sizeof err);
    fv_fini(&v);
    ck_assert_int_eq(r, -1);
    ck_assert_str_eq(err, want);
}

static void guid_str(int i, char *out)
{
    fv_guid_format(&fv.files[i].guid, out);
}

static void evp_sha256(const uint8_t *p, size_t n, uint8_t md[32])
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    unsigned int len = 0;
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(EVP_DigestInit_ex(c, EVP_sha256(), NULL), 1);
    ck_assert_int_eq(EVP_DigestUpdate(c, p, n), 1);
    ck_assert_int_eq(EVP_DigestFinal_ex(c, md, &len), 1);
    ck_assert_uint_eq(len, 32);
    EVP_MD_CTX_free(c);
}

/* ---- round trip ---- */

START_TEST(round_trip)
{
    const uint8_t *pays[3] = {pay0, pay1, pay2};
    ck_assert_uint_eq(fv.length, VOL_SIZE);
    ck_assert_uint_eq(fv.offset, VOL_BASE);
    ck_assert_int_eq(fv.ffs, 2);
    ck_assert_uint_eq(fv.header_length, 72);
    ck_assert_uint_eq(fv.attributes & FVB2_ERASE_POLARITY, FVB2_ERASE_POLARITY);
    ck_assert_int_eq(fv.nblockmap, 1);
    ck_assert_uint_eq(fv.blockmap[0].num, VOL_SIZE / 4096);
    ck_assert_uint_eq(fv.blockmap[0].len, 4096);
    ck_assert_uint_eq(fv.files[0].offset, VOL_BASE + 72);
    for (int i = 0; i < 3; i++) {
        const struct fv_file *f = &fv.files[i];
        ck_assert_uint_eq(f->offset % 8, 0);
        ck_assert_uint_eq(f->type, specs[i].type);
        ck_assert_uint_eq(f->state_raw, 0xf8);
        ck_assert(!f->deleted);
        ck_assert(f->data_checksummed);
        ck_assert(f->has_payload);
        ck_assert_uint_eq(f->payload_len, specs[i].len);
        ck_assert_mem_eq(fv_file_payload(&fv, f), pays[i], specs[i].len);
        ck_assert_mem_eq(vol + (f->payload_offset - VOL_BASE), pays[i], specs[i].len);
        uint8_t md[32];
        evp_sha256(pays[i], specs[i].len, md);
        ck_assert_mem_eq(f->sha256, md, 32);
        ck_assert_uint_eq(f->size, fv_file_size(&specs[i]));
        if (i)
            ck_assert_uint_eq(f->offset, (fv.files[i - 1].offset + fv.files[i - 1].size + 7) & ~7u);
    }
    ck_assert_str_eq(fv.files[0].name, "alpha");
    ck_assert(fv.files[0].has_version);
    ck_assert_str_eq(fv.files[0].version, "1.0");
    ck_assert_uint_eq(fv.files[0].build_number, 7);
    ck_assert_uint_eq(fv.files[0].payload_type, FV_SECTION_RAW);
    ck_assert_str_eq(fv.files[1].name, "beta");
    ck_assert(!fv.files[1].has_version);
    ck_assert_str_eq(fv.files[2].name, "");
    ck_assert_uint_eq(fv.files[2].payload_type, 0);
    ck_assert_mem_eq(fv.files[2].guid.b, specs[2].guid.b, 16);
}
END_TEST

START_TEST(free_space_is_erased)
{
    const struct fv_file *last = &fv.files[2];
    uint64_t end = last->offset + last->size - VOL_BASE;
    ck_assert_uint_eq(fv.free_offset, VOL_BASE + ((end + 7) & ~7ull));
    ck_assert_uint_eq(fv.free_offset + fv.free_length, VOL_BASE + VOL_SIZE);
    for (uint64_t i = end; i < VOL_SIZE; i++)
        ck_assert_uint_eq(vol[i], 0xff);
    for (int i = 0; i < 2; i++) /* alignment gaps between files */
        for (uint64_t o = fv.files[i].offset + fv.files[i].size; o < fv.files[i + 1].offset; o++)
            ck_assert_uint_eq(vol[o - VOL_BASE], 0xff);
    for (int i = 0; i < 16; i++)
        ck_assert_uint_eq(vol[i], 0); /* ZeroVector */
}
END_TEST

START_TEST(find_and_guids)
{
    ck_assert_ptr_eq(fv_find_name(&fv, "beta"), &fv.files[1]);
    ck_assert_ptr_eq(fv_find_name(&fv, "alpha"), &fv.files[0]);
    ck_assert_ptr_null(fv_find_name(&fv, "gamma"));
    ck_assert_ptr_null(fv_find_name(&fv, ""));
    ck_assert_ptr_eq(fv_find_guid(&fv, &specs[2].guid), &fv.files[2]);
    struct fv_guid g;
    ck_assert_int_eq(fv_guid_from_name("beta", &g), 0);
    ck_assert_mem_eq(g.b, fv.files[1].guid.b, 16);
    ck_assert_ptr_eq(fv_find_guid(&fv, &g), &fv.files[1]);
    ck_assert_uint_eq(g.b[7] >> 4, 8); /* version 8 */
    ck_assert_uint_eq(g.b[8] >> 6, 2); /* variant 10 */
    char s[FV_GUID_STR_LEN + 1];
    fv_guid_format(&fv_ffs2_guid, s);
    ck_assert_str_eq(s, "8c8ce578-8a3d-4f1c-9935-896185c32dd3");
    ck_assert_int_eq(fv_guid_parse(s, &g), 0);
    ck_assert_mem_eq(g.b, fv_ffs2_guid.b, 16);
    ck_assert_mem_eq(vol + 16, fv_ffs2_guid.b, 16);
    ck_assert_int_eq(fv_guid_parse("8c8ce578-8a3d-4f1c-9935-896185c32dd", &g), -1);
    ck_assert_int_eq(fv_guid_parse("8c8ce578-8a3d-4f1c+9935-896185c32dd3", &g), -1);
    ck_assert_int_eq(fv_guid_parse("8c8ce578-8a3d-4f1c-9935-896185c32dg3", &g), -1);
}
END_TEST

/* ---- volume header corruptions ---- */

START_TEST(truncated_volume)
{
    snprintf(want, sizeof want,
             "firmware volume at 0x800000: truncated: 0x28 bytes, a volume header needs 0x38");
    expect_fail(40);
    snprintf(want, sizeof want,
             "firmware volume at 0x800000: truncated: HeaderLength is 0x48, only 0x40 bytes "
             "available");
    expect_fail(64);
    snprintf(want, sizeof want,
             "firmware volume at 0x800000: FvLength: 0x10000 runs past the end of the buffer "
             "(0x8000 bytes available)");
    expect_fail(VOL_SIZE / 2);
}
END_TEST

START_TEST(bad_signature)
{
    vol[42] = 'x'; /* "_FxH" */
    snprintf(want, sizeof want,
             "firmware volume at 0x800000: Signature (at 0x800028): expected 0x4856465f "
             "\"_FVH\", got 0x48786c5f");
    vol[41] = 'l';
    expect_fail(VOL_SIZE);
}
END_TEST

START_TEST(header_checksum_off_by_one)
{
    unsigned good = vol[50] | vol[51] << 8, bad = (good + 1) & 0xffff;
    vol[50] = (uint8_t)bad;
    vol[51] = (uint8_t)(bad >> 8);
    snprintf(want, sizeof want,
             "firmware volume at 0x800000: Checksum: expected 0x%04x, got 0x%04x (the 0x48-byte "
             "header sums to 0x0001, not 0)",
             good, bad);
    expect_fail(VOL_SIZE);
    /* a covered field changed, checksum left alone: caught by the checksum too */
    vol[50] = (uint8_t)good, vol[51] = (uint8_t)(good >> 8);
    vol[55] = 3; /* Revision: the high byte of a 16-bit word */
    snprintf(want, sizeof want,
             "firmware volume at 0x800000: Checksum: expected 0x%04x, got 0x%04x (the 0x48-byte "
             "header sums to 0x0100, not 0)",
             (good - 0x100) & 0xffff, good);
    expect_fail(VOL_SIZE);
    fix_fv_checksum();
    snprintf(want, sizeof want, "firmware volume at 0x800000: Revision: expected 2, got 3");
    expect_fail(VOL_SIZE);
}
END_TEST

START_TEST(fvlength_past_buffer)
{
    vol[32 + 2] = 0x02; /* FvLength 0x20000 */
    fix_fv_checksum();
    snprintf(want, sizeof want,
             "firmware volume at 0x800000: FvLength: 0x20000 runs past the end of the buffer "
             "(0x10000 bytes available)");
    expect_fail(VOL_SIZE);
}
END_TEST

START_TEST(block_map_inconsistent)
{
    vol[56] = 15; /* NumBlocks 15 x 4096 != 0x10000 */
    fix_fv_checksum();
    snprintf(want, sizeof want,
             "firmware volume at 0x800000: block map: covers 0xf000 bytes, FvLength is 0x10000");
    expect_fail(VOL_SIZE);
    vol[56] = 16;
    memset(vol + 60, 0, 4); /* Length 0 with NumBlocks 16 */
    fix_fv_checksum();
    snprintf(want, sizeof want,
             "firmware volume at 0x800000: block map entry 0 (at 0x800038): {NumBlocks 16, "
             "Length 0x0}: both must be non-zero");
    expect_fail(VOL_SIZE);
}
END_TEST

/* ---- file corruptions ---- */

START_TEST(file_header_checksum)
{
    char g[FV_GUID_STR_LEN + 1];
    uint8_t *h = file_hdr(1);
    uint8_t stored = h[16];
    h[20] ^= 0x01; /* Size, covered by the header checksum */
    snprintf(want, sizeof want,
             "firmware volume at 0x800000: file at 0x%llx (%s): IntegrityCheck.Checksum.Header: "
             "expected 0x%02x, got 0x%02x",
             (unsigned long long)fv.files[1].offset, (guid_str(1, g), g),
             (uint8_t)(stored - (h[20] & 1 ? 1 : -1)), stored);
    expect_fail(VOL_SIZE);
    /* the files before the bad one were verified and are kept */
    struct fv_volume v;
    ck_assert_int_eq(fv_parse(&v, vol, VOL_SIZE, VOL_BASE, err, sizeof err), -1);
    ck_assert(v.header_ok);
    ck_assert_int_eq(v.nfiles, 1);
    ck_assert_str_eq(v.files[0].name, "alpha");
    fv_fini(&v);
}
END_TEST

START_TEST(file_data_checksum)
{
    char g[FV_GUID_STR_LEN + 1];
    uint8_t *h = file_hdr(0);
    vol[fv.files[0].payload_offset - VOL_BASE + 500] += 1;
    snprintf(want, sizeof want,
             "firmware volume at 0x800000: file at 0x%llx (%s): IntegrityCheck.Checksum.File: "
             "expected 0x%02x, got 0x%02x (over 0x%x data bytes)",
             (unsigned long long)fv.files[0].offset, (guid_str(0, g), g), (uint8_t)(h[17] - 1),
             h[17], fv.files[0].size - 24);
    expect_fail(VOL_SIZE);
}
END_TEST

START_TEST(file_size_past_volume)
{
    char g[FV_GUID_STR_LEN + 1];
    uint64_t room = VOL_BASE + VOL_SIZE - fv.files[2].offset;
    put24(file_hdr(2) + 20, (uint32_t)room + 8);
    fix_file_header(2);
    snprintf(want, sizeof want,
             "firmware volume at 0x800000: file at 0x%llx (%s): Size: 0x%llx runs past the end "
             "of the volume (0x%llx bytes left, the volume ends at 0x810000)",
             (unsigned long long)fv.files[2].offset, (guid_str(2, g), g),
             (unsigned long long)room + 8, (unsigned long long)room);
    expect_fail(VOL_SIZE);
    put24(file_hdr(2) + 20, 20); /* smaller than the header */
    fix_file_header(2);
    snprintf(want, sizeof want,
             "firmware volume at 0x800000: file at 0x%llx (%s): Size: 0x14 is smaller than the "
             "0x18-byte file header",
             (unsigned long long)fv.files[2].offset, g);
    expect_fail(VOL_SIZE);
}
END_TEST

START_TEST(bad_section_size)
{
    char g[FV_GUID_STR_LEN + 1];
    guid_str(1, g);
    /* file 1: UI "beta" (4 + 10 bytes) at +24, pad to 40, RAW section at +40 */
    uint8_t *raw = file_hdr(1) + 40;
    ck_assert_uint_eq(raw[3], FV_SECTION_RAW);
    put24(raw, 4 + 13 + 1);
    fix_file_data(1);
    snprintf(want, sizeof want,
             "firmware volume at 0x800000: file at 0x%llx (%s): section at 0x%llx (type 0x19): "
             "Size 0x12 runs past the end of the file (0x11 bytes left)",
             (unsigned long long)fv.files[1].offset, g,
             (unsigned long long)fv.files[1].offset + 40);
    expect_fail(VOL_SIZE);
    put24(raw, 3);
    fix_file_data(1);
    snprintf(want, sizeof want,
             "firmware volume at 0x800000: file at 0x%llx (%s): section at 0x%llx (type 0x19): "
             "Size 0x3 is smaller than its 4-byte header",
             (unsigned long long)fv.files[1].offset, g,
             (unsigned long long)fv.files[1].offset + 40);
    expect_fail(VOL_SIZE);
    put24(raw, 4 + 13);
    raw[3] = 0x42; /* undefined section type */
    fix_file_data(1);
    snprintf(want, sizeof want,
             "firmware volume at 0x800000: file at 0x%llx (%s): section at 0x%llx: Type 0x42 is "
             "not a defined section type",
             (unsigned long long)fv.files[1].offset, g,
             (unsigned long long)fv.files[1].offset + 40);
    expect_fail(VOL_SIZE);
}
END_TEST

START_TEST(bad_ui_section)
{
    char g[FV_GUID_STR_LEN + 1];
    guid_str(1, g);
    uint8_t *ui = file_hdr(1) + 24; /* "beta\0" in UCS-2: 4 + 10 bytes */
    ui[4 + 8] = 'x';                /* no NUL terminator */
    fix_file_data(1);
    snprintf(want, sizeof want,
             "firmware volume at 0x800000: file at 0x%llx (%s): USER_INTERFACE section at 0x%llx: "
             "0xa bytes are not a NUL-terminated UCS-2 name of 1-255 characters",
             (unsigned long long)fv.files[1].offset, g,
             (unsigned long long)fv.files[1].offset + 24);
    expect_fail(VOL_SIZE);
}
END_TEST

START_TEST(state_bits)
{
    char g[FV_GUID_STR_LEN + 1];
    guid_str(1, g);
    uint8_t *h = file_hdr(1);
    h[23] = 0xfc; /* header valid, data not valid: an interrupted write */
    snprintf(want, sizeof want,
             "firmware volume at 0x800000: file at 0x%llx (%s): State: expected 0xf8, got 0xfc "
             "(EFI_FILE_DATA_VALID clear: an incomplete write)",
             (unsigned long long)fv.files[1].offset, g);
    expect_fail(VOL_SIZE);
    h[23] = 0x78; /* reserved bit 7 (inverted) */
    snprintf(want, sizeof want,
             "firmware volume at 0x800000: file at 0x%llx (%s): State: expected 0xf8, got 0x78 "
             "(reserved bits set)",
             (unsigned long long)fv.files[1].offset, g);
    expect_fail(VOL_SIZE);
    h[23] = 0xd8; /* EFI_FILE_HEADER_INVALID */
    snprintf(want, sizeof want,
             "firmware volume at 0x800000: file at 0x%llx (%s): State: expected 0xf8, got 0xd8 "
             "(header not marked valid)",
             (unsigned long long)fv.files[1].offset, g);
    expect_fail(VOL_SIZE);
    /* deleted: still a valid volume, the file is listed but never found */
    h[23] = 0xe8;
    h[30] ^= 0xff; /* and its data is not trusted (nor checked) */
    struct fv_volume v;
    ck_assert_int_eq(fv_parse(&v, vol, VOL_SIZE, VOL_BASE, err, sizeof err), 0);
    ck_assert_int_eq(v.nfiles, 3);
    ck_assert(v.files[1].deleted);
    ck_assert_ptr_null(fv_find_name(&v, "beta"));
    ck_assert_ptr_null(fv_find_guid(&v, &fv.files[1].guid));
    ck_assert_ptr_nonnull(fv_find_name(&v, "alpha"));
    fv_fini(&v);
}
END_TEST

START_TEST(garbage_in_free_space)
{
    uint64_t at = fv.free_offset + 100;
    vol[at - VOL_BASE] = 0x00;
    snprintf(want, sizeof want,
             "firmware volume at 0x800000: free space from 0x%llx: byte at 0x%llx is 0x00, "
             "expected the erase value 0xff",
             (unsigned long long)fv.free_offset, (unsigned long long)at);
    expect_fail(VOL_SIZE);
    /* a non-erased byte where the next file header would be: taken as a header, which fails */
    vol[at - VOL_BASE] = 0xff;
    vol[fv.free_offset - VOL_BASE] = 0x5a;
    snprintf(want, sizeof want,
             "firmware volume at 0x800000: file at 0x%llx (ffffff5a-ffff-ffff-ffff-ffffffffffff): "
             "IntegrityCheck.Checksum.Header: expected 0xba, got 0xff",
             (unsigned long long)fv.free_offset);
    expect_fail(VOL_SIZE);
}
END_TEST

START_TEST(duplicate_guid)
{
    char g[FV_GUID_STR_LEN + 1];
    memcpy(file_hdr(1), file_hdr(0), 16);
    fix_file_header(1);
    guid_str(0, g);
    snprintf(want, sizeof want,
             "firmware volume at 0x800000: file at 0x%llx (%s): Name: GUID already used by the "
             "file at 0x%llx",
             (unsigned long long)fv.files[1].offset, g, (unsigned long long)fv.files[0].offset);
    expect_fail(VOL_SIZE);
}
END_TEST

START_TEST(build_errors)
{
    static uint8_t big[VOL_SIZE];
    struct fv_file_spec s = {
        .name = "big", .type = FV_FILETYPE_DRIVER, .payload = big, .len = sizeof big};
    ck_assert_int_eq(fv_build(vol, VOL_SIZE, &s, 1, err, sizeof err), -1);
    ck_assert_str_eq(err, "files need a 0x11000-byte volume, the volume is 0x10000 bytes");
    ck_assert_uint_eq(fv_min_size(&s, 1), 0x11000);
    ck_assert_int_eq(fv_build(vol, 1000, specs, 1, err, sizeof err), -1);
    ck_assert_str_eq(err, "volume size 0x3e8: expected a non-zero multiple of 0x1000");
    struct fv_file_spec two[2] = {specs[0], specs[0]};
    ck_assert_int_eq(fv_build(vol, VOL_SIZE, two, 2, err, sizeof err), -1);
    ck_assert_str_eq(err, "file 1 (alpha): same GUID as file 0");
    two[1].name = "bad\tname";
    ck_assert_int_eq(fv_build(vol, VOL_SIZE, two, 2, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "file 1 (bad\tname): cannot be built"));
    ck_assert_uint_eq(fv_file_size(&two[1]), 0);
    two[1] = specs[2];
    memset(&two[1].guid, 0, sizeof two[1].guid); /* a RAW file needs a GUID */
    ck_assert_uint_eq(fv_file_size(&two[1]), 0);
    /* an empty volume is valid: header, then free space */
    ck_assert_int_eq(fv_build(vol, 4096, NULL, 0, err, sizeof err), 0);
    struct fv_volume v;
    ck_assert_int_eq(fv_parse(&v, vol, 4096, 0, err, sizeof err), 0);
    ck_assert_int_eq(v.nfiles, 0);
    ck_assert_uint_eq(v.free_offset, 72);
    fv_fini(&v);
}
END_TEST

/* ---- flash images ---- */

static uint8_t *build_flash(size_t *len)
{
    struct flashimg_volume_spec vs[2] = {{specs, 2, 0}, {specs + 2, 1, 0x8000}};
    struct flashimg_layout lay = {.size = 1u << 20, .bios_base = 0x80000};
    uint8_t *img;
    ck_assert_int_eq(flashimg_build(&lay, vs, 2, &img, len, err, sizeof err), 0);
    ck_assert_uint_eq(*len, 1u << 20);
    return img;
}

START_TEST(flash_round_trip)
{
    size_t len;
    uint8_t *img = build_flash(&len);
    struct flashimg fi;
    ck_assert_int_eq(flashimg_open(&fi, img, len, err, sizeof err), 0);
    ck_assert(fi.desc_ok);
    uint32_t base, blen;
    ck_assert_int_eq(flashimg_bios_region(&fi, &base, &blen), 0);
    ck_assert_uint_eq(base, 0x80000);
    ck_assert_uint_eq(blen, 0x80000);
    ck_assert(!fi.region[FLASHIMG_REGION_GBE].used);
    ck_assert_uint_eq(fi.region[FLASHIMG_REGION_GBE].flreg, 0x7fff);
    ck_assert_uint_eq(fi.region[FLASHIMG_REGION_ME].base, 0x2000);
    ck_assert_uint_eq(fi.region[FLASHIMG_REGION_ME].limit, 0x7ffff);
    ck_assert_uint_eq(fi.region[FLASHIMG_REGION_PD].base, 0x1000);
    ck_assert_uint_eq(fi.master[0], 0x12130000);
    ck_assert_int_eq(fi.fvs.n, 2);
    ck_assert_uint_eq(fi.fvs.v[0].offset, 0x80000);
    ck_assert_uint_eq(fi.fvs.v[0].length, fv_min_size(specs, 2));
    ck_assert_uint_eq(fi.fvs.v[1].offset, 0x80000 + fi.fvs.v[0].length);
    ck_assert_uint_eq(fi.fvs.v[1].length, 0x8000);
    uint64_t end = fi.fvs.v[1].offset + fi.fvs.v[1].length;

    struct flashimg_payload p;
    ck_assert_int_eq(flashimg_payload(&fi, "alpha", &p), 0);
    ck_assert_uint_eq(p.length, sizeof pay0);
    ck_assert_mem_eq(img + p.offset, pay0, sizeof pay0);
    uint8_t md[32];
    evp_sha256(img + p.offset, p.length, md);
    ck_assert_mem_eq(p.sha256, md, 32);
    ck_assert_uint_eq(p.file_offset, 0x80000 + 72);
    ck_assert_int_eq(flashimg_payload(&fi, "nope", &p), -1);
    const struct fv_volume *v = NULL;
    const struct fv_file *f = flashimg_find_guid(&fi, &specs[2].guid, &v);
    ck_assert_ptr_nonnull(f);
    ck_assert_ptr_eq(v, &fi.fvs.v[1]);
    ck_assert_mem_eq(fv_file_payload(v, f), pay2, sizeof pay2);
    ck_assert_ptr_eq(flashimg_find_file(&fi, "beta", &v), &fi.fvs.v[0].files[1]);
    flashimg_close(&fi);
    for (size_t i = end; i < len; i++)
        ck_assert_uint_eq(img[i], 0xff);
    free(img);
}
END_TEST

static void wr32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> 8 * i);
}

/* Open img expecting failure with exactly `want`. */
static void expect_flash_fail(const uint8_t *img, size_t len)
{
    struct flashimg fi;
    int r = flashimg_open(&fi, img, len, err, sizeof err);
    flashimg_close(&fi);
    ck_assert_int_eq(r, -1);
    ck_assert_str_eq(err, want);
}

START_TEST(flash_descriptor_errors)
{
    size_t len;
    uint8_t *img = build_flash(&len);
    img[0x10] = 0x5b;
    snprintf(want, sizeof want,
             "flash descriptor: FLVALSIG (at 0x10): expected 0x0ff0a55a, got 0x0ff0a55b");
    expect_flash_fail(img, len);
    img[0x10] = 0x5a;
    snprintf(want, sizeof want,
             "flash descriptor: FLCOMP (at 0x30): component density code 1 means 0x100000 bytes, "
             "the image is 0x80000 bytes");
    expect_flash_fail(img, len / 2);
    wr32(img + 0x44, 0x01000080); /* FLREG1: limit 0x100fff, past the image */
    snprintf(want, sizeof want,
             "flash descriptor: FLREG1 (bios, at 0x44) 0x01000080: region 0x80000..0x100fff runs "
             "past the end of the 0x100000-byte image");
    expect_flash_fail(img, len);
    wr32(img + 0x44, 0x00007fff); /* unused */
    snprintf(want, sizeof want,
             "flash descriptor: FLREG1 (bios, at 0x44) 0x00007fff: unused; there is no BIOS "
             "region");
    expect_flash_fail(img, len);
    wr32(img + 0x44, 0x007f0000); /* 0..0x7ffff: over the descriptor */
    snprintf(want, sizeof want,
             "flash descriptor: FLREG1 (bios) 0x0..0x7ffff overlaps FLREG0 (descriptor) "
             "0x0..0xfff");
    expect_flash_fail(img, len);
    wr32(img + 0x44, 0x00ff0090); /* BIOS from 0x90000: the volumes fall outside every region */
    snprintf(want, sizeof want,
             "flash image: byte at 0x80000 is 0x00, outside every region (expected the erase "
             "value 0xff)");
    expect_flash_fail(img, len);
    wr32(img + 0x44, 0x00ff0080);
    wr32(img + 0x40, 0x00000001); /* FLREG0 base 0x1000 */
    snprintf(want, sizeof want,
             "flash descriptor: FLREG0 (descriptor, at 0x40): expected base 0, got 0x00000001");
    expect_flash_fail(img, len);
    snprintf(want, sizeof want, "flash image: truncated: 0x800 bytes, the descriptor needs 0x1000");
    expect_flash_fail(img, 0x800);
    free(img);
}
END_TEST

START_TEST(flash_bad_volume)
{
    size_t len;
    uint8_t *img = build_flash(&len);
    img[0x80000 + 40] = 'X'; /* first volume's signature */
    snprintf(want, sizeof want,
             "firmware volume at 0x80000: Signature (at 0x80028): expected 0x4856465f \"_FVH\", "
             "got 0x48564658");
    expect_flash_fail(img, len);
    img[0x80000 + 40] = '_';
    /* second volume: a flipped byte in its only file's header */
    struct flashimg fi;
    ck_assert_int_eq(flashimg_open(&fi, img, len, err, sizeof err), 0);
    uint64_t at = fi.fvs.v[1].files[0].offset, vat = fi.fvs.v[1].offset;
    flashimg_close(&fi);
    img[at + 18] ^= 0x04; /* Type RAW -> 0x05 */
    char g[FV_GUID_STR_LEN + 1];
    fv_guid_format(&specs[2].guid, g);
    snprintf(want, sizeof want,
             "firmware volume at 0x%llx: file at 0x%llx (%s): IntegrityCheck.Checksum.Header: "
             "expected 0x%02x, got 0x%02x",
             (unsigned long long)vat, (unsigned long long)at, g, (uint8_t)(img[at + 16] - 4),
             img[at + 16]);
    expect_flash_fail(img, len);
    ck_assert_int_eq(flashimg_open(&fi, img, len, err, sizeof err), -1);
    ck_assert_int_eq(fi.fvs.n, 2); /* the first intact, the second's header verified */
    ck_assert_int_eq(fi.fvs.v[1].nfiles, 0);
    ck_assert_ptr_nonnull(flashimg_find_file(&fi, "alpha", NULL));
    flashimg_close(&fi);
    /* stray data in the BIOS region after the volumes */
    img[at + 18] ^= 0x04;
    img[0xc0000] = 0;
    snprintf(want, sizeof want,
             "firmware volume at 0xc0000: Signature (at 0xc0028): expected 0x4856465f \"_FVH\", "
             "got 0xffffffff");
    expect_flash_fail(img, len);
    free(img);
}
END_TEST

START_TEST(flash_layout_errors)
{
    uint8_t *img;
    size_t len;
    struct flashimg_volume_spec vs = {specs, 3, 0x2000};
    struct flashimg_layout lay = {.size = 3u << 20};
    ck_assert_int_eq(flashimg_build(&lay, &vs, 1, &img, &len, err, sizeof err), -1);
    ck_assert_str_eq(err, "flash size 0x300000: expected a power of two from 512 KiB to 64 MiB");
    lay = (struct flashimg_layout){.size = 1u << 20, .bios_base = 0x1000};
    ck_assert_int_eq(flashimg_build(&lay, &vs, 1, &img, &len, err, sizeof err), -1);
    ck_assert_str_eq(err, "BIOS base 0x1000: expected a 4 KiB-aligned offset in 0x2000..0xff000");
    lay.bios_base = 0xff000;
    ck_assert_int_eq(flashimg_build(&lay, &vs, 1, &img, &len, err, sizeof err), -1);
    ck_assert_str_eq(err, "volume 0 (0x2000 bytes) does not fit in the BIOS region (0x1000 bytes "
                          "left at 0xff000)");
    ck_assert_ptr_null(img);
    lay.bios_base = 0x2000; /* no ME region */
    ck_assert_int_eq(flashimg_build(&lay, &vs, 1, &img, &len, err, sizeof err), 0);
    struct flashimg fi;
    ck_assert_int_eq(flashimg_open(&fi, img, len, err, sizeof err), 0);
    ck_assert(!fi.region[FLASHIMG_REGION_ME].used);
    flashimg_close(&fi);
    free(img);
}
END_TEST

/* ---- the command ---- */

static int run_flash(const char *a0, const char *a1, const char *a2, const char *a3, const char *a4)
{
    char *argv[] = {(char *)a0, (char *)a1, (char *)a2, (char *)a3, (char *)a4, NULL};
    int argc = 0;
    while (argv[argc])
        argc++;
    fflush(stdout);
    return flash_main(argc, argv);
}

START_TEST(flash_command)
{
    char elf[128], fd[128], arg[300];
    snprintf(elf, sizeof elf, "%s/rt.elf", tmpdir);
    snprintf(fd, sizeof fd, "%s/p.fd", tmpdir);
    FILE *f = fopen(elf, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(pay0, 1, sizeof pay0, f), sizeof pay0);
    fclose(f);
    ck_assert_ptr_nonnull(freopen("/dev/null", "w", stdout));
    ck_assert_ptr_nonnull(freopen("/dev/null", "w", stderr));
    snprintf(arg, sizeof arg, "hopsim-rt=%s", elf);
    ck_assert_int_eq(run_flash("build", "-o", fd, "--file", arg), 0);
    ck_assert_int_eq(run_flash("inspect", fd, NULL, NULL, NULL), 0);
    ck_assert_int_eq(run_flash("build", "-o", fd, NULL, NULL), 2);
    ck_assert_int_eq(run_flash("build", "--file", "x=/nonexistent", "-o", fd), 2);
    ck_assert_int_eq(run_flash("build", "--size", "3M", "--file", arg), 2);
    ck_assert_int_eq(run_flash("inspect", NULL, NULL, NULL, NULL), 2);
    ck_assert_int_eq(run_flash("frobnicate", NULL, NULL, NULL, NULL), 2);

    /* the built image holds the file, found through the library */
    uint8_t *img = malloc(16u << 20);
    f = fopen(fd, "rb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fread(img, 1, 16u << 20, f), 16u << 20);
    fclose(f);
    struct flashimg fi;
    struct flashimg_payload p;
    ck_assert_int_eq(flashimg_open(&fi, img, 16u << 20, err, sizeof err), 0);
    ck_assert_int_eq(flashimg_payload(&fi, "hopsim-rt", &p), 0);
    ck_assert_uint_eq(p.offset, 0x800000 + 72 + 24 + 4 + 20 + 4); /* UI "hopsim-rt" = 24 */
    ck_assert_mem_eq(img + p.offset, pay0, sizeof pay0);
    flashimg_close(&fi);
    /* one flipped header byte: inspect exits 1 */
    img[0x800048 + 5] ^= 0x10;
    f = fopen(fd, "wb");
    ck_assert_uint_eq(fwrite(img, 1, 16u << 20, f), 16u << 20);
    fclose(f);
    free(img);
    ck_assert_int_eq(run_flash("inspect", fd, NULL, NULL, NULL), 1);
}
END_TEST

static Suite *fv_suite(void)
{
    Suite *s = suite_create("fv");
    TCase *tc = tcase_create("volume");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, round_trip);
    tcase_add_test(tc, free_space_is_erased);
    tcase_add_test(tc, find_and_guids);
    tcase_add_test(tc, truncated_volume);
    tcase_add_test(tc, bad_signature);
    tcase_add_test(tc, header_checksum_off_by_one);
    tcase_add_test(tc, fvlength_past_buffer);
    tcase_add_test(tc, block_map_inconsistent);
    tcase_add_test(tc, file_header_checksum);
    tcase_add_test(tc, file_data_checksum);
    tcase_add_test(tc, file_size_past_volume);
    tcase_add_test(tc, bad_section_size);
    tcase_add_test(tc, bad_ui_section);
    tcase_add_test(tc, state_bits);
    tcase_add_test(tc, garbage_in_free_space);
    tcase_add_test(tc, duplicate_guid);
    tcase_add_test(tc, build_errors);
    suite_add_tcase(s, tc);
    TCase *tf = tcase_create("flash");
    tcase_add_checked_fixture(tf, setup, teardown);
    tcase_add_test(tf, flash_round_trip);
    tcase_add_test(tf, flash_descriptor_errors);
    tcase_add_test(tf, flash_bad_volume);
    tcase_add_test(tf, flash_layout_errors);
    tcase_add_test(tf, flash_command);
    suite_add_tcase(s, tf);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(fv_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
