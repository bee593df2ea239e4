/*
 * Walking a firmware volume's FFS files and their sections (fv.h): each
 * file's header checksum, state, type, data checksum and top-level
 * sections, the erased gaps between files. The parser's invariants are
 * stated at the top of firmware-model/fv.c.
 */
#include "fv_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Erased bytes expected in [from, to) (alignment gaps, free space). */
static int check_erased(struct pctx *c, uint64_t from, uint64_t to, const char *what)
{
    size_t k = first_not(c->p + from, (size_t)(to - from), c->fv->erase);
    if (k == to - from)
        return 0;
    return fv_perr(c, "%s from 0x%llx: byte at 0x%llx is 0x%02x, expected the erase value 0x%02x",
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
    fv_perr(c, "file at 0x%llx (%s): " fmt, (unsigned long long)(f)->offset, gs, __VA_ARGS__)

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
        return fv_perr(c, "libcrypto SHA-256 failed");
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
        return fv_perr(c, "out of memory");
    uint64_t end = rel + f.size;
    *next = align_up(end, FFS_ALIGN);
    if (*next > c->fv->length)
        *next = c->fv->length;
    return check_erased(c, end, *next, "alignment padding");
}

int fv_parse_files(struct pctx *c)
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
