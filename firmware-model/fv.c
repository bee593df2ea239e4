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
#include "fv_int.h"

#include <nettle/sha2.h>

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
    struct sha256_ctx c;
    sha256_init(&c);
    sha256_update(&c, len, data);
    sha256_digest(&c, SHA256_DIGEST_SIZE, out);
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

/* ---- parsing ---- */

int fv_perr(struct pctx *c, const char *fmt, ...)
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
        return fv_perr(c, "truncated: 0x%zx bytes, a volume header needs 0x%x", avail,
                       FV_HEADER_FIXED);
    uint32_t sig = le32(c->p + FV_SIG_OFFSET);
    if (sig != FV_SIGNATURE)
        return fv_perr(c, "Signature (at 0x%llx): expected 0x%08x \"_FVH\", got 0x%08x", ab(c, 40),
                       FV_SIGNATURE, sig);
    read_header_fields(fv, c->p);
    if (fv->header_length < FV_HEADER_FIXED + 8 || fv->header_length % 2)
        return fv_perr(c, "HeaderLength: expected an even value >= 0x%x, got 0x%x",
                       FV_HEADER_FIXED + 8, fv->header_length);
    if (fv->header_length > avail)
        return fv_perr(c, "truncated: HeaderLength is 0x%x, only 0x%zx bytes available",
                       fv->header_length, avail);
    uint16_t s = sum16(c->p, fv->header_length);
    if (s != 0)
        return fv_perr(c,
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
            return fv_perr(c, "block map: no {0,0} terminator before HeaderLength 0x%x",
                           fv->header_length);
        uint32_t num = le32(c->p + o), len = le32(c->p + o + 4);
        o += 8;
        if (!num && !len)
            break;
        if (!num || !len)
            return fv_perr(c,
                           "block map entry %d (at 0x%llx): {NumBlocks %u, Length 0x%x}: both "
                           "must be non-zero",
                           fv->nblockmap, ab(c, o - 8), num, len);
        if (fv->nblockmap == FV_MAX_BLOCKMAP)
            return fv_perr(c, "block map: more than %d entries", FV_MAX_BLOCKMAP);
        fv->blockmap[fv->nblockmap++] = (struct fv_block){num, len};
        total += (uint64_t)num * len;
        if (total > fv->length)
            break;
    }
    if (total != fv->length)
        return fv_perr(c, "block map: covers 0x%llx%s bytes, FvLength is 0x%llx",
                       (unsigned long long)total, total > fv->length ? "+" : "",
                       (unsigned long long)fv->length);
    if (fv->header_length != o)
        return fv_perr(c, "HeaderLength: expected 0x%x (the end of the block map), got 0x%x", o,
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
        return fv_perr(c, "ExtHeaderOffset: 0x%x is not a 4-byte aligned offset in 0x%x..0x%llx", e,
                       fv->header_length, (unsigned long long)(fv->length - FV_EXT_HEADER_MIN));
    uint32_t size = le32(c->p + e + 16);
    if (size < FV_EXT_HEADER_MIN || size > fv->length - e)
        return fv_perr(c, "extended header (at 0x%llx): ExtHeaderSize 0x%x outside 0x%x..0x%llx",
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
        return fv_perr(c, "Revision: expected %u, got %u", FV_REVISION, fv->revision);
    if (fv->length < fv->header_length)
        return fv_perr(c, "FvLength: 0x%llx is smaller than HeaderLength 0x%x",
                       (unsigned long long)fv->length, fv->header_length);
    if (fv->length > avail)
        return fv_perr(c,
                       "FvLength: 0x%llx runs past the end of the buffer (0x%zx bytes available)",
                       (unsigned long long)fv->length, avail);
    if (parse_blockmap(c) < 0 || parse_ext_header(c) < 0)
        return -1;
    fv->header_ok = true;
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
    return fv_parse_files(&c);
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
