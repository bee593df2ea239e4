/*
 * UEFI PI firmware volumes: build and parse (see fv.h, docs/firmware-image.md).
 *
 * Assumptions and invariants:
 * - Every field is read through le16/le24/le32/le64 at a checked offset;
 *   no byte is read before the length that covers it has been verified.
 * - The parser believes nothing it has not verified: the header checksum
 *   is checked before FvLength and the block map are used, a file's header
 *   checksum before its Size, its data checksum before its sections.
 * - The first error ends the parse (what follows cannot be trusted); its
 *   message names the absolute offset, the field, expected and found value.
 * - Sections are only read at the top level of a file: encapsulation
 *   sections (COMPRESSION, GUID_DEFINED) are bounds-checked, not opened.
 */
#include "fv.h"

#include <openssl/evp.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* EFI_FIRMWARE_FILE_SYSTEM2_GUID 8c8ce578-8a3d-4f1c-9935-896185c32dd3 */
const struct fv_guid fv_ffs2_guid = {{0x78, 0xe5, 0x8c, 0x8c, 0x3d, 0x8a, 0x1c, 0x4f, 0x99, 0x35,
                                      0x89, 0x61, 0x85, 0xc3, 0x2d, 0xd3}};
/* EFI_FIRMWARE_FILE_SYSTEM3_GUID 5473c07a-3dcb-4dca-bd6f-1e9689e7349a */
const struct fv_guid fv_ffs3_guid = {{0x7a, 0xc0, 0x73, 0x54, 0xcb, 0x3d, 0xca, 0x4d, 0xbd, 0x6f,
                                      0x1e, 0x96, 0x89, 0xe7, 0x34, 0x9a}};

#define FV_BLOCKMAP_OFFSET FV_HEADER_FIXED
#define FV_BUILD_HEADER_LEN (FV_HEADER_FIXED + 16u) /* one entry + terminator */
#define FV_EXT_HEADER_MIN 20u                       /* FvName GUID + ExtHeaderSize */
#define FFS_OFF_CHECK_HEADER 16
#define FFS_OFF_CHECK_FILE 17
#define FFS_OFF_TYPE 18
#define FFS_OFF_ATTR 19
#define FFS_OFF_SIZE 20
#define FFS_OFF_STATE 23
#define FFS_STATE_VALID (EFI_FILE_HEADER_CONSTRUCTION | EFI_FILE_HEADER_VALID | EFI_FILE_DATA_VALID)

/* ---- little-endian access and sums ---- */

static uint16_t le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le24(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16;
}

static uint32_t le32(const uint8_t *p)
{
    return le24(p) | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
    return le32(p) | (uint64_t)le32(p + 4) << 32;
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put24(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t)v);
    p[2] = (uint8_t)(v >> 16);
}

static void put32(uint8_t *p, uint32_t v)
{
    put24(p, v);
    p[3] = (uint8_t)(v >> 24);
}

static void put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t)v);
    put32(p + 4, (uint32_t)(v >> 32));
}

static uint8_t sum8(const uint8_t *p, size_t n)
{
    uint8_t s = 0;
    for (size_t i = 0; i < n; i++)
        s = (uint8_t)(s + p[i]);
    return s;
}

/* n is even */
static uint16_t sum16(const uint8_t *p, size_t n)
{
    uint16_t s = 0;
    for (size_t i = 0; i + 1 < n; i += 2)
        s = (uint16_t)(s + le16(p + i));
    return s;
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
    return (v + a - 1) / a * a;
}

/* Offset of the first byte in p[0..n) that is not v, or n. */
static size_t first_not(const uint8_t *p, size_t n, uint8_t v)
{
    size_t i = 0;
    while (i < n && p[i] == v)
        i++;
    return i;
}

int fw_fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* ---- GUIDs, digests, names ---- */

void fv_guid_format(const struct fv_guid *g, char out[FV_GUID_STR_LEN + 1])
{
    const uint8_t *b = g->b;
    snprintf(out, FV_GUID_STR_LEN + 1, "%08x-%04x-%04x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             (unsigned)le32(b), (unsigned)le16(b + 4), (unsigned)le16(b + 6), b[8], b[9], b[10],
             b[11], b[12], b[13], b[14], b[15]);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int fv_guid_parse(const char *s, struct fv_guid *g)
{
    /* Text order of the 16 bytes: Data1 and Data2/Data3 are little-endian in memory. */
    static const int order[16] = {3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};
    if (strlen(s) != FV_GUID_STR_LEN)
        return -1;
    int k = 0;
    for (int i = 0; i < FV_GUID_STR_LEN; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return -1;
            continue;
        }
        int hi = hexval(s[i]), lo = hexval(s[i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        g->b[order[k++]] = (uint8_t)(hi << 4 | lo);
        i++;
    }
    return 0;
}

bool fv_guid_is_zero(const struct fv_guid *g)
{
    return first_not(g->b, sizeof g->b, 0) == sizeof g->b;
}

int fv_sha256(const void *data, size_t len, uint8_t out[32])
{
    unsigned int n = 0;
    if (!EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) || n != 32)
        return -1;
    return 0;
}

int fv_guid_from_name(const char *name, struct fv_guid *g)
{
    static const char prefix[] = "hopsim-ffs:";
    size_t n = strlen(name);
    uint8_t *msg = malloc(sizeof prefix + n), md[32];
    if (!msg)
        return -1;
    memcpy(msg, prefix, sizeof prefix - 1);
    memcpy(msg + sizeof prefix - 1, name, n);
    int r = fv_sha256(msg, sizeof prefix - 1 + n, md);
    free(msg);
    if (r < 0)
        return -1;
    memcpy(g->b, md, 16);
    g->b[7] = (uint8_t)((g->b[7] & 0x0f) | 0x80); /* Data3 high nibble: version 8 */
    g->b[8] = (uint8_t)((g->b[8] & 0x3f) | 0x80); /* variant 10 */
    return 0;
}

const char *fv_filetype_name(uint8_t t)
{
    static const char *const names[] = {"ALL",
                                        "RAW",
                                        "FREEFORM",
                                        "SECURITY_CORE",
                                        "PEI_CORE",
                                        "DXE_CORE",
                                        "PEIM",
                                        "DRIVER",
                                        "COMBINED_PEIM_DRIVER",
                                        "APPLICATION",
                                        "MM",
                                        "FIRMWARE_VOLUME_IMAGE",
                                        "COMBINED_MM_DXE",
                                        "MM_CORE",
                                        "MM_STANDALONE",
                                        "MM_CORE_STANDALONE"};
    if (t < sizeof names / sizeof names[0])
        return names[t];
    if (t == FV_FILETYPE_PAD)
        return "FFS_PAD";
    if (t >= 0xc0 && t <= 0xdf)
        return "OEM";
    if (t >= 0xe0 && t <= 0xef)
        return "DEBUG";
    if (t >= 0xf0)
        return "FFS";
    return "reserved";
}

const char *fv_section_name(uint8_t t)
{
    static const char *const names[] = {
        [FV_SECTION_COMPRESSION] = "COMPRESSION",
        [FV_SECTION_GUID_DEFINED] = "GUID_DEFINED",
        [FV_SECTION_DISPOSABLE] = "DISPOSABLE",
        [FV_SECTION_PE32] = "PE32",
        [FV_SECTION_PIC] = "PIC",
        [FV_SECTION_TE] = "TE",
        [FV_SECTION_DXE_DEPEX] = "DXE_DEPEX",
        [FV_SECTION_VERSION] = "VERSION",
        [FV_SECTION_USER_INTERFACE] = "USER_INTERFACE",
        [FV_SECTION_COMPATIBILITY16] = "COMPATIBILITY16",
        [FV_SECTION_FIRMWARE_VOLUME_IMAGE] = "FIRMWARE_VOLUME_IMAGE",
        [FV_SECTION_FREEFORM_SUBTYPE_GUID] = "FREEFORM_SUBTYPE_GUID",
        [FV_SECTION_RAW] = "RAW",
        [FV_SECTION_PEI_DEPEX] = "PEI_DEPEX",
        [FV_SECTION_MM_DEPEX] = "MM_DEPEX",
    };
    return t < sizeof names / sizeof names[0] ? names[t] : NULL;
}

/* ---- building ---- */

static bool printable(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > FV_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x20 || s[i] > 0x7e)
            return false;
    return true;
}

static uint32_t ui_section_size(const char *s)
{
    return FV_SECTION_HEADER_SIZE + 2 * ((uint32_t)strlen(s) + 1);
}

static uint32_t version_section_size(const char *s)
{
    return ui_section_size(s) + 2; /* + BuildNumber */
}

static bool spec_ok(const struct fv_file_spec *f)
{
    if (f->type == 0 || f->type > FV_FILETYPE_MM_CORE_STANDALONE || (f->len && !f->payload))
        return false;
    if (f->type == FV_FILETYPE_RAW)
        return (!f->name || !*f->name) && !f->version && !fv_guid_is_zero(&f->guid);
    return f->name && printable(f->name) && (!f->version || printable(f->version));
}

size_t fv_file_size(const struct fv_file_spec *f)
{
    if (!spec_ok(f) || f->len > FFS_MAX_SIZE)
        return 0;
    uint64_t n = FFS_HEADER_SIZE;
    if (f->type == FV_FILETYPE_RAW) {
        n += f->len;
    } else {
        n = align_up(n + ui_section_size(f->name), 4);
        if (f->version)
            n = align_up(n + version_section_size(f->version), 4);
        n += FV_SECTION_HEADER_SIZE + f->len;
    }
    return n > FFS_MAX_SIZE ? 0 : (size_t)n;
}

size_t fv_min_size(const struct fv_file_spec *files, int n)
{
    uint64_t total = FV_BUILD_HEADER_LEN;
    for (int i = 0; i < n; i++) {
        size_t s = fv_file_size(&files[i]);
        if (!s)
            return 0;
        total = align_up(total, FFS_ALIGN) + s;
    }
    return (size_t)align_up(total, FV_BLOCK_SIZE);
}

static void write_fv_header(uint8_t *buf, size_t size)
{
    memset(buf, 0, FV_BUILD_HEADER_LEN);
    memcpy(buf + 16, fv_ffs2_guid.b, 16);
    put64(buf + 32, size);
    put32(buf + FV_SIG_OFFSET, FV_SIGNATURE);
    put32(buf + 44, FV_DEFAULT_ATTRIBUTES);
    put16(buf + 48, FV_BUILD_HEADER_LEN);
    buf[55] = FV_REVISION;
    put32(buf + FV_BLOCKMAP_OFFSET, (uint32_t)(size / FV_BLOCK_SIZE));
    put32(buf + FV_BLOCKMAP_OFFSET + 4, FV_BLOCK_SIZE);
    /* the {0,0} terminator is already zero */
    put16(buf + 50, (uint16_t)(0 - sum16(buf, FV_BUILD_HEADER_LEN)));
}

/* Write a section at p: header, len data bytes, then (if s) s as NUL-terminated UCS-2. */
static uint32_t write_section(uint8_t *p, uint8_t type, const uint8_t *data, uint32_t len,
                              const char *s)
{
    uint32_t size = FV_SECTION_HEADER_SIZE + len;
    if (s) {
        size_t n = strlen(s);
        for (size_t i = 0; i <= n; i++)
            put16(p + FV_SECTION_HEADER_SIZE + len + 2 * i, (uint8_t)s[i]);
        size += 2 * ((uint32_t)n + 1);
    }
    put24(p, size);
    p[3] = type;
    if (len)
        memcpy(p + FV_SECTION_HEADER_SIZE, data, len);
    return size;
}

static void write_sections(uint8_t *file, const struct fv_file_spec *f)
{
    uint32_t pos = FFS_HEADER_SIZE;
    if (f->type == FV_FILETYPE_RAW) {
        if (f->len)
            memcpy(file + pos, f->payload, f->len);
        return;
    }
    pos += write_section(file + pos, FV_SECTION_USER_INTERFACE, NULL, 0, f->name);
    while (pos % 4)
        file[pos++] = 0;
    if (f->version) {
        uint8_t bn[2];
        put16(bn, f->build_number);
        pos += write_section(file + pos, FV_SECTION_VERSION, bn, 2, f->version);
        while (pos % 4)
            file[pos++] = 0;
    }
    write_section(file + pos, FV_SECTION_RAW, f->payload, (uint32_t)f->len, NULL);
}

static void write_file(uint8_t *file, const struct fv_file_spec *f, const struct fv_guid *g,
                       uint32_t size)
{
    memcpy(file, g->b, 16);
    file[FFS_OFF_CHECK_HEADER] = 0;
    file[FFS_OFF_CHECK_FILE] = 0;
    file[FFS_OFF_TYPE] = f->type;
    file[FFS_OFF_ATTR] = FFS_ATTRIB_CHECKSUM;
    put24(file + FFS_OFF_SIZE, size);
    file[FFS_OFF_STATE] = 0;
    write_sections(file, f);
    /* Header checksum with State and Checksum.File taken as zero, then the data checksum. */
    file[FFS_OFF_CHECK_HEADER] = (uint8_t)(0 - sum8(file, FFS_HEADER_SIZE));
    file[FFS_OFF_CHECK_FILE] = (uint8_t)(0 - sum8(file + FFS_HEADER_SIZE, size - FFS_HEADER_SIZE));
    file[FFS_OFF_STATE] = (uint8_t)~FFS_STATE_VALID; /* erase polarity 1 */
}

static int file_guid(const struct fv_file_spec *f, struct fv_guid *g)
{
    if (!fv_guid_is_zero(&f->guid)) {
        *g = f->guid;
        return 0;
    }
    return fv_guid_from_name(f->name, g);
}

/* Resolve every file's GUID and reject duplicates. */
static int build_guids(const struct fv_file_spec *files, int n, struct fv_guid *g, char *err,
                       size_t errlen)
{
    for (int i = 0; i < n; i++) {
        if (!fv_file_size(&files[i]))
            return fw_fail(err, errlen,
                           "file %d (%s): cannot be built (a name of 1-%d printable characters, a "
                           "defined type, at most 16 MiB; a RAW file has a GUID and no name)",
                           i, files[i].name ? files[i].name : "unnamed", FV_NAME_MAX);
        if (file_guid(&files[i], &g[i]) < 0)
            return fw_fail(err, errlen, "file %d: libcrypto SHA-256 failed", i);
        for (int j = 0; j < i; j++)
            if (!memcmp(g[i].b, g[j].b, 16))
                return fw_fail(err, errlen, "file %d (%s): same GUID as file %d", i,
                               files[i].name ? files[i].name : "unnamed", j);
    }
    return 0;
}

int fv_build(uint8_t *buf, size_t size, const struct fv_file_spec *files, int n, char *err,
             size_t errlen)
{
    if (n < 0 || size < FV_BLOCK_SIZE || size % FV_BLOCK_SIZE || size / FV_BLOCK_SIZE > UINT32_MAX)
        return fw_fail(err, errlen, "volume size 0x%zx: expected a non-zero multiple of 0x%x", size,
                       FV_BLOCK_SIZE);
    struct fv_guid *g = calloc(n ? (size_t)n : 1, sizeof *g);
    if (!g)
        return fw_fail(err, errlen, "out of memory");
    int r = build_guids(files, n, g, err, errlen);
    size_t need = r < 0 ? 0 : fv_min_size(files, n);
    if (r == 0 && need > size)
        r = fw_fail(err, errlen, "files need a 0x%zx-byte volume, the volume is 0x%zx bytes", need,
                    size);
    if (r == 0) {
        memset(buf, 0xff, size);
        write_fv_header(buf, size);
        uint64_t off = FV_BUILD_HEADER_LEN;
        for (int i = 0; i < n; i++) {
            off = align_up(off, FFS_ALIGN);
            uint32_t fs = (uint32_t)fv_file_size(&files[i]);
            write_file(buf + off, &files[i], &g[i], fs);
            off += fs;
        }
    }
    free(g);
    return r;
}

/* ---- parsing ---- */

struct pctx {
    struct fv_volume *fv;
    const uint8_t *p; /* fv->data */
    char *err;
    size_t errlen;
};

static unsigned long long ab(const struct pctx *c, uint64_t rel)
{
    return (unsigned long long)(c->fv->offset + rel);
}

/* An error about the volume: "firmware volume at 0x...: " + message. */
static int perr(struct pctx *c, const char *fmt, ...)
{
    if (c->err && c->errlen) {
        int k = snprintf(c->err, c->errlen, "firmware volume at 0x%llx: ", ab(c, 0));
        if (k >= 0 && (size_t)k < c->errlen) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(c->err + k, c->errlen - (size_t)k, fmt, ap);
            va_end(ap);
        }
    }
    return -1;
}

static void read_header_fields(struct fv_volume *fv, const uint8_t *p)
{
    memcpy(fv->fs_guid.b, p + 16, 16);
    fv->length = le64(p + 32);
    fv->attributes = le32(p + 44);
    fv->header_length = le16(p + 48);
    fv->checksum = le16(p + 50);
    fv->ext_header_offset = le16(p + 52);
    fv->revision = p[55];
    fv->erase = fv->attributes & FVB2_ERASE_POLARITY ? 0xff : 0x00;
    fv->ffs = !memcmp(fv->fs_guid.b, fv_ffs2_guid.b, 16)   ? 2
              : !memcmp(fv->fs_guid.b, fv_ffs3_guid.b, 16) ? 3
                                                           : 0;
}

/* Signature, HeaderLength and Checksum: after this the header bytes are trusted. */
static int check_header_integrity(struct pctx *c, size_t avail)
{
    struct fv_volume *fv = c->fv;
    if (avail < FV_HEADER_FIXED)
        return perr(c, "truncated: 0x%zx bytes, a volume header needs 0x%x", avail,
                    FV_HEADER_FIXED);
    uint32_t sig = le32(c->p + FV_SIG_OFFSET);
    if (sig != FV_SIGNATURE)
        return perr(c, "Signature (at 0x%llx): expected 0x%08x \"_FVH\", got 0x%08x", ab(c, 40),
                    FV_SIGNATURE, sig);
    read_header_fields(fv, c->p);
    if (fv->header_length < FV_HEADER_FIXED + 8 || fv->header_length % 2)
        return perr(c, "HeaderLength: expected an even value >= 0x%x, got 0x%x",
                    FV_HEADER_FIXED + 8, fv->header_length);
    if (fv->header_length > avail)
        return perr(c, "truncated: HeaderLength is 0x%x, only 0x%zx bytes available",
                    fv->header_length, avail);
    uint16_t s = sum16(c->p, fv->header_length);
    if (s != 0)
        return perr(c,
                    "Checksum: expected 0x%04x, got 0x%04x (the 0x%x-byte header sums to "
                    "0x%04x, not 0)",
                    (uint16_t)(fv->checksum - s), fv->checksum, fv->header_length, s);
    return 0;
}

static int parse_blockmap(struct pctx *c)
{
    struct fv_volume *fv = c->fv;
    uint64_t total = 0;
    uint32_t o = FV_BLOCKMAP_OFFSET;
    for (;;) {
        if (o + 8 > fv->header_length)
            return perr(c, "block map: no {0,0} terminator before HeaderLength 0x%x",
                        fv->header_length);
        uint32_t num = le32(c->p + o), len = le32(c->p + o + 4);
        o += 8;
        if (!num && !len)
            break;
        if (!num || !len)
            return perr(c,
                        "block map entry %d (at 0x%llx): {NumBlocks %u, Length 0x%x}: both "
                        "must be non-zero",
                        fv->nblockmap, ab(c, o - 8), num, len);
        if (fv->nblockmap == FV_MAX_BLOCKMAP)
            return perr(c, "block map: more than %d entries", FV_MAX_BLOCKMAP);
        fv->blockmap[fv->nblockmap++] = (struct fv_block){num, len};
        total += (uint64_t)num * len;
        if (total > fv->length)
            break;
    }
    if (total != fv->length)
        return perr(c, "block map: covers 0x%llx%s bytes, FvLength is 0x%llx",
                    (unsigned long long)total, total > fv->length ? "+" : "",
                    (unsigned long long)fv->length);
    if (fv->header_length != o)
        return perr(c, "HeaderLength: expected 0x%x (the end of the block map), got 0x%x", o,
                    fv->header_length);
    return 0;
}

static int parse_ext_header(struct pctx *c)
{
    struct fv_volume *fv = c->fv;
    uint32_t e = fv->ext_header_offset;
    if (!e)
        return 0;
    if (e < fv->header_length || e % 4 || e + FV_EXT_HEADER_MIN > fv->length)
        return perr(c, "ExtHeaderOffset: 0x%x is not a 4-byte aligned offset in 0x%x..0x%llx", e,
                    fv->header_length, (unsigned long long)(fv->length - FV_EXT_HEADER_MIN));
    uint32_t size = le32(c->p + e + 16);
    if (size < FV_EXT_HEADER_MIN || size > fv->length - e)
        return perr(c, "extended header (at 0x%llx): ExtHeaderSize 0x%x outside 0x%x..0x%llx",
                    ab(c, e), size, FV_EXT_HEADER_MIN, (unsigned long long)(fv->length - e));
    memcpy(fv->fv_name.b, c->p + e, 16);
    return 0;
}

static int parse_header(struct pctx *c, size_t avail)
{
    struct fv_volume *fv = c->fv;
    if (check_header_integrity(c, avail) < 0)
        return -1;
    if (fv->revision != FV_REVISION)
        return perr(c, "Revision: expected %u, got %u", FV_REVISION, fv->revision);
    if (fv->length < fv->header_length)
        return perr(c, "FvLength: 0x%llx is smaller than HeaderLength 0x%x",
                    (unsigned long long)fv->length, fv->header_length);
    if (fv->length > avail)
        return perr(c, "FvLength: 0x%llx runs past the end of the buffer (0x%zx bytes available)",
                    (unsigned long long)fv->length, avail);
    if (parse_blockmap(c) < 0 || parse_ext_header(c) < 0)
        return -1;
    fv->header_ok = true;
    return 0;
}

/* Erased bytes expected in [from, to) (alignment gaps, free space). */
static int check_erased(struct pctx *c, uint64_t from, uint64_t to, const char *what)
{
    size_t k = first_not(c->p + from, (size_t)(to - from), c->fv->erase);
    if (k == to - from)
        return 0;
    return perr(c, "%s from 0x%llx: byte at 0x%llx is 0x%02x, expected the erase value 0x%02x",
                what, ab(c, from), ab(c, from + k), c->p[from + k], c->fv->erase);
}

/* Copy a NUL-terminated UCS-2 string of len bytes as ASCII (others as '?'). */
static int ucs2_to_ascii(const uint8_t *s, uint32_t len, char *out)
{
    if (len < 2 || len % 2 || le16(s + len - 2) != 0 || len / 2 - 1 > FV_NAME_MAX)
        return -1;
    uint32_t i = 0;
    for (; 2 * i < len; i++) {
        uint16_t ch = le16(s + 2 * i);
        if (!ch)
            break;
        out[i] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
    }
    out[i] = 0;
    return 0;
}

/* Errors about a file: "file at 0x... (GUID): " + message. */
#define FERR(c, f, fmt, ...)                                                                       \
    perr(c, "file at 0x%llx (%s): " fmt, (unsigned long long)(f)->offset, gs, __VA_ARGS__)

static int take_section(struct pctx *c, struct fv_file *f, uint8_t type, const uint8_t *d,
                        uint32_t len, uint64_t at)
{
    char gs[FV_GUID_STR_LEN + 1];
    fv_guid_format(&f->guid, gs);
    if (type == FV_SECTION_USER_INTERFACE) {
        if (f->name[0])
            return FERR(c, f, "section at 0x%llx: a second USER_INTERFACE section", ab(c, at));
        if (ucs2_to_ascii(d, len, f->name) < 0 || !f->name[0])
            return FERR(c, f,
                        "USER_INTERFACE section at 0x%llx: 0x%x bytes are not a "
                        "NUL-terminated UCS-2 name of 1-%d characters",
                        ab(c, at), len, FV_NAME_MAX);
    } else if (type == FV_SECTION_VERSION) {
        if (len < 4 || ucs2_to_ascii(d + 2, len - 2, f->version) < 0)
            return FERR(c, f,
                        "VERSION section at 0x%llx: 0x%x bytes are not BuildNumber + a "
                        "NUL-terminated UCS-2 string",
                        ab(c, at), len);
        f->has_version = true;
        f->build_number = le16(d);
    } else if (type == FV_SECTION_RAW || type == FV_SECTION_PE32 || type == FV_SECTION_TE) {
        bool better = !f->has_payload || (type == FV_SECTION_RAW && f->payload_type != type);
        if (better) {
            f->has_payload = true;
            f->payload_type = type;
            f->payload_offset = c->fv->offset + (uint64_t)(d - c->p);
            f->payload_len = len;
        }
    }
    return 0;
}

static int parse_sections(struct pctx *c, struct fv_file *f, uint64_t rel)
{
    char gs[FV_GUID_STR_LEN + 1];
    fv_guid_format(&f->guid, gs);
    const uint8_t *file = c->p + rel;
    uint32_t pos = f->header_size, end = f->size;
    while ((pos = (uint32_t)align_up(pos, 4)) < end) {
        uint64_t at = rel + pos;
        if (end - pos < FV_SECTION_HEADER_SIZE)
            return FERR(c, f, "section at 0x%llx: truncated header (0x%x bytes left in the file)",
                        ab(c, at), end - pos);
        uint32_t size = le24(file + pos), hs = FV_SECTION_HEADER_SIZE;
        uint8_t type = file[pos + 3];
        if (size == 0xffffff) { /* EFI_COMMON_SECTION_HEADER2 */
            hs = 8;
            size = end - pos < hs ? 0 : le32(file + pos + 4);
        }
        if (size < hs)
            return FERR(c, f,
                        "section at 0x%llx (type 0x%02x): Size 0x%x is smaller than its "
                        "%u-byte header",
                        ab(c, at), type, size, hs);
        if (size > end - pos)
            return FERR(c, f,
                        "section at 0x%llx (type 0x%02x): Size 0x%x runs past the end of "
                        "the file (0x%x bytes left)",
                        ab(c, at), type, size, end - pos);
        if (!fv_section_name(type))
            return FERR(c, f, "section at 0x%llx: Type 0x%02x is not a defined section type",
                        ab(c, at), type);
        if (take_section(c, f, type, file + pos + hs, size - hs, at) < 0)
            return -1;
        pos += size;
    }
    return 0;
}

/* Header fields, header checksum, Size; sets f->size and f->header_size. */
static int parse_file_header(struct pctx *c, struct fv_file *f, uint64_t rel)
{
    const uint8_t *h = c->p + rel;
    uint64_t room = c->fv->length - rel;
    char gs[FV_GUID_STR_LEN + 1];
    memcpy(f->guid.b, h, 16);
    fv_guid_format(&f->guid, gs);
    f->offset = c->fv->offset + rel;
    f->type = h[FFS_OFF_TYPE];
    f->attributes = h[FFS_OFF_ATTR];
    f->state_raw = h[FFS_OFF_STATE];
    f->header_size = FFS_HEADER_SIZE;
    uint64_t size = le24(h + FFS_OFF_SIZE);
    bool large = (f->attributes & FFS_ATTRIB_LARGE_FILE) && c->fv->ffs == 3;
    if (large) {
        if (room < FFS_HEADER2_SIZE)
            return FERR(c, f, "truncated header: 0x%llx bytes left, need 0x%x",
                        (unsigned long long)room, FFS_HEADER2_SIZE);
        f->header_size = FFS_HEADER2_SIZE;
        size = le64(h + FFS_HEADER_SIZE);
    }
    uint8_t s = (uint8_t)(sum8(h, f->header_size) - h[FFS_OFF_CHECK_FILE] - h[FFS_OFF_STATE]);
    if (s != 0)
        return FERR(c, f, "IntegrityCheck.Checksum.Header: expected 0x%02x, got 0x%02x",
                    (uint8_t)(h[FFS_OFF_CHECK_HEADER] - s), h[FFS_OFF_CHECK_HEADER]);
    if ((f->attributes & FFS_ATTRIB_LARGE_FILE) && !large)
        return FERR(c, f, "Attributes 0x%02x: FFS_ATTRIB_LARGE_FILE outside an FFS3 volume",
                    f->attributes);
    if (size < f->header_size)
        return FERR(c, f, "Size: 0x%llx is smaller than the 0x%x-byte file header",
                    (unsigned long long)size, f->header_size);
    if (size > room || size > UINT32_MAX)
        return FERR(c, f,
                    "Size: 0x%llx runs past the end of the volume (0x%llx bytes left, "
                    "the volume ends at 0x%llx)",
                    (unsigned long long)size, (unsigned long long)room, ab(c, c->fv->length));
    f->size = (uint32_t)size;
    return 0;
}

static int check_state(struct pctx *c, struct fv_file *f)
{
    char gs[FV_GUID_STR_LEN + 1];
    fv_guid_format(&f->guid, gs);
    uint8_t st = (uint8_t)(f->state_raw ^ c->fv->erase),
            want = (uint8_t)(FFS_STATE_VALID ^ c->fv->erase);
    f->state = st;
    f->deleted = st & EFI_FILE_DELETED;
    if (st & 0xc0)
        return FERR(c, f, "State: expected 0x%02x, got 0x%02x (reserved bits set)", want,
                    f->state_raw);
    if ((st & (EFI_FILE_HEADER_CONSTRUCTION | EFI_FILE_HEADER_VALID | EFI_FILE_HEADER_INVALID)) !=
        (EFI_FILE_HEADER_CONSTRUCTION | EFI_FILE_HEADER_VALID))
        return FERR(c, f, "State: expected 0x%02x, got 0x%02x (header not marked valid)", want,
                    f->state_raw);
    if (!f->deleted && !(st & EFI_FILE_DATA_VALID))
        return FERR(c, f,
                    "State: expected 0x%02x, got 0x%02x (EFI_FILE_DATA_VALID clear: an "
                    "incomplete write)",
                    want, f->state_raw);
    return 0;
}

static int check_type_and_data(struct pctx *c, struct fv_file *f, uint64_t rel)
{
    const uint8_t *h = c->p + rel;
    char gs[FV_GUID_STR_LEN + 1];
    fv_guid_format(&f->guid, gs);
    if (f->type == 0 || (f->type > FV_FILETYPE_MM_CORE_STANDALONE && f->type < FV_FILETYPE_OEM_MIN))
        return FERR(c, f, "Type: 0x%02x is not a defined file type", f->type);
    uint8_t got = h[FFS_OFF_CHECK_FILE];
    if (f->attributes & FFS_ATTRIB_CHECKSUM) {
        uint8_t want = (uint8_t)(0 - sum8(h + f->header_size, f->size - f->header_size));
        if (got != want)
            return FERR(c, f,
                        "IntegrityCheck.Checksum.File: expected 0x%02x, got 0x%02x (over "
                        "0x%x data bytes)",
                        want, got, f->size - f->header_size);
        f->data_checksummed = true;
    } else if (got != FFS_FIXED_CHECKSUM) {
        return FERR(c, f,
                    "IntegrityCheck.Checksum.File: expected 0x%02x (FFS_ATTRIB_CHECKSUM "
                    "clear), got 0x%02x",
                    FFS_FIXED_CHECKSUM, got);
    }
    for (int i = 0; f->type != FV_FILETYPE_PAD && i < c->fv->nfiles; i++) {
        const struct fv_file *o = &c->fv->files[i];
        if (!o->deleted && o->type != FV_FILETYPE_PAD && !memcmp(o->guid.b, f->guid.b, 16))
            return FERR(c, f, "Name: GUID already used by the file at 0x%llx",
                        (unsigned long long)o->offset);
    }
    return 0;
}

static int file_contents(struct pctx *c, struct fv_file *f, uint64_t rel)
{
    if (f->type == FV_FILETYPE_RAW) {
        f->has_payload = true;
        f->payload_offset = f->offset + f->header_size;
        f->payload_len = f->size - f->header_size;
    } else if (f->type <= FV_FILETYPE_MM_CORE_STANDALONE) {
        if (parse_sections(c, f, rel) < 0)
            return -1;
    }
    if (f->has_payload &&
        fv_sha256(c->p + (f->payload_offset - c->fv->offset), f->payload_len, f->sha256) < 0)
        return perr(c, "libcrypto SHA-256 failed");
    return 0;
}

static int add_file(struct fv_volume *fv, const struct fv_file *f)
{
    if (fv->nfiles == fv->capfiles) {
        int cap = fv->capfiles ? 2 * fv->capfiles : 8;
        struct fv_file *n = realloc(fv->files, (size_t)cap * sizeof *n);
        if (!n)
            return -1;
        fv->files = n;
        fv->capfiles = cap;
    }
    fv->files[fv->nfiles++] = *f;
    return 0;
}

/* One file at rel; *next gets the offset after it (8-byte aligned). */
static int parse_file(struct pctx *c, uint64_t rel, uint64_t *next)
{
    struct fv_file f;
    memset(&f, 0, sizeof f);
    if (parse_file_header(c, &f, rel) < 0 || check_state(c, &f) < 0)
        return -1;
    if (!f.deleted && (check_type_and_data(c, &f, rel) < 0 || file_contents(c, &f, rel) < 0))
        return -1;
    if (add_file(c->fv, &f) < 0)
        return perr(c, "out of memory");
    uint64_t end = rel + f.size;
    *next = align_up(end, FFS_ALIGN);
    if (*next > c->fv->length)
        *next = c->fv->length;
    return check_erased(c, end, *next, "alignment padding");
}

static int parse_files(struct pctx *c)
{
    struct fv_volume *fv = c->fv;
    uint64_t rel = align_up(fv->header_length, FFS_ALIGN);
    if (rel > fv->length)
        rel = fv->length;
    if (check_erased(c, fv->header_length, rel, "alignment padding") < 0)
        return -1;
    while (rel < fv->length) {
        uint64_t left = fv->length - rel;
        if (left < FFS_HEADER_SIZE ||
            first_not(c->p + rel, FFS_HEADER_SIZE, fv->erase) == FFS_HEADER_SIZE) {
            fv->free_offset = fv->offset + rel;
            fv->free_length = left;
            return check_erased(c, rel, fv->length, "free space");
        }
        if (parse_file(c, rel, &rel) < 0)
            return -1;
    }
    fv->free_offset = fv->offset + fv->length;
    return 0;
}

int fv_parse(struct fv_volume *fv, const uint8_t *buf, size_t len, uint64_t base, char *err,
             size_t errlen)
{
    memset(fv, 0, sizeof *fv);
    fv->data = buf;
    fv->offset = base;
    struct pctx c = {fv, buf, err, errlen};
    if (parse_header(&c, len) < 0)
        return -1;
    if (fv->ffs == 0) /* not a file system we know: the contents stay opaque */
        return 0;
    return parse_files(&c);
}

void fv_fini(struct fv_volume *fv)
{
    free(fv->files);
    fv->files = NULL;
    fv->nfiles = fv->capfiles = 0;
}

/* ---- regions, lookups ---- */

static int list_push(struct fv_list *l, struct fv_volume **v)
{
    struct fv_volume *n = realloc(l->v, (size_t)(l->n + 1) * sizeof *n);
    if (!n)
        return -1;
    l->v = n;
    *v = &n[l->n];
    return 0;
}

int fv_scan(struct fv_list *l, const uint8_t *buf, size_t len, uint64_t base, char *err,
            size_t errlen)
{
    memset(l, 0, sizeof *l);
    uint64_t pos = 0;
    while (pos < len) {
        uint64_t blk_end = (pos / FV_BLOCK_SIZE + 1) * FV_BLOCK_SIZE;
        if (blk_end > len)
            blk_end = len;
        if (first_not(buf + pos, (size_t)(blk_end - pos), 0xff) == blk_end - pos) {
            pos = blk_end;
            continue;
        }
        struct fv_volume *v;
        if (list_push(l, &v) < 0)
            return fw_fail(err, errlen, "out of memory");
        int r = fv_parse(v, buf + pos, (size_t)(len - pos), base + pos, err, errlen);
        if (v->header_ok)
            l->n++;
        else
            fv_fini(v);
        if (r < 0)
            return -1;
        pos += v->length;
    }
    return 0;
}

void fv_list_fini(struct fv_list *l)
{
    for (int i = 0; i < l->n; i++)
        fv_fini(&l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

const struct fv_file *fv_find_guid(const struct fv_volume *fv, const struct fv_guid *g)
{
    for (int i = 0; i < fv->nfiles; i++)
        if (!fv->files[i].deleted && !memcmp(fv->files[i].guid.b, g->b, 16))
            return &fv->files[i];
    return NULL;
}

const struct fv_file *fv_find_name(const struct fv_volume *fv, const char *name)
{
    for (int i = 0; i < fv->nfiles; i++)
        if (!fv->files[i].deleted && fv->files[i].name[0] && !strcmp(fv->files[i].name, name))
            return &fv->files[i];
    return NULL;
}

const uint8_t *fv_file_payload(const struct fv_volume *fv, const struct fv_file *f)
{
    return f->has_payload ? fv->data + (f->payload_offset - fv->offset) : NULL;
}
