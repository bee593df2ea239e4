/*
 * Building UEFI PI firmware volumes (fv.h, docs/firmware-image.md): the
 * volume header with its block map, FFS files with their sections (raw
 * data, UI name, version) and checksums, GUIDs from names.
 */
#include "fv_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
