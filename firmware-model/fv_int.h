/*
 * Internal to the firmware-volume code (firmware-model/fv.c: GUIDs, names,
 * the volume header and block map, volume lists and lookups;
 * fv_ffs.c: walking the FFS files and their sections; fv_build.c:
 * building volumes). Users include fv.h.
 */
#ifndef HOPSIM_FIRMWARE_MODEL_FV_INT_H
#define HOPSIM_FIRMWARE_MODEL_FV_INT_H

#include "fv.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

struct pctx {
    struct fv_volume *fv;
    const uint8_t *p; /* fv->data */
    char *err;
    size_t errlen;
};

/* ---- little-endian access and sums ---- */

static inline uint16_t le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t le24(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16;
}

static inline uint32_t le32(const uint8_t *p)
{
    return le24(p) | (uint32_t)p[3] << 24;
}

static inline uint64_t le64(const uint8_t *p)
{
    return le32(p) | (uint64_t)le32(p + 4) << 32;
}

static inline void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static inline void put24(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t)v);
    p[2] = (uint8_t)(v >> 16);
}

static inline void put32(uint8_t *p, uint32_t v)
{
    put24(p, v);
    p[3] = (uint8_t)(v >> 24);
}

static inline void put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t)v);
    put32(p + 4, (uint32_t)(v >> 32));
}

static inline uint8_t sum8(const uint8_t *p, size_t n)
{
    uint8_t s = 0;
    for (size_t i = 0; i < n; i++)
        s = (uint8_t)(s + p[i]);
    return s;
}

/* n is even */
static inline uint16_t sum16(const uint8_t *p, size_t n)
{
    uint16_t s = 0;
    for (size_t i = 0; i + 1 < n; i += 2)
        s = (uint16_t)(s + le16(p + i));
    return s;
}

static inline uint64_t align_up(uint64_t v, uint64_t a)
{
    return (v + a - 1) / a * a;
}

/* Offset of the first byte in p[0..n) that is not v, or n. */
static inline size_t first_not(const uint8_t *p, size_t n, uint8_t v)
{
    size_t i = 0;
    while (i < n && p[i] == v)
        i++;
    return i;
}

static inline unsigned long long ab(const struct pctx *c, uint64_t rel)
{
    return (unsigned long long)(c->fv->offset + rel);
}

/* An error about the volume: "firmware volume at 0x...: " + message. */

/* Defined in fv.c. */
int fv_perr(struct pctx *c, const char *fmt, ...);

/* Defined in fv_ffs.c. */
int fv_parse_files(struct pctx *c);

#endif
