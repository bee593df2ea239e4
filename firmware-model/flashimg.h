/*
 * Whole SPI flash images: an Intel flash descriptor (4 KiB at offset 0)
 * and a BIOS region holding UEFI PI firmware volumes (fv.h). Build an
 * image, open one with full validation, and find a file's payload in it
 * (what the firmware model reads over SPI and measures). Also the
 * `hopsim flash build|inspect` commands. Implemented in
 * firmware-model/flashimg.c; the layout is in docs/firmware-image.md.
 *
 * Assumptions:
 * - One flash component (FLMAP0.NC = 0) of 512 KiB..64 MiB, a power of two.
 * - Descriptor in the pre-Skylake ("ICH8"-era) layout: FLMAP0..2 at
 *   0x14..0x1c, FLCOMP at FCBA, FLREG0..4 at FRBA, FLMSTR1..3 at FMBA.
 *   A region whose base exceeds its limit is unused (0x00007fff).
 * - Volumes sit in the BIOS region; 4 KiB blocks of 0xff between them are
 *   skipped, anything else must be a valid volume (fv_scan).
 * - An opened image points into the caller's buffer, which must outlive it.
 */
#ifndef HOPSIM_FLASHIMG_H
#define HOPSIM_FLASHIMG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fv.h"

#define FLASHIMG_DESC_SIZE 0x1000u
#define FLASHIMG_FLVALSIG 0x0ff0a55au
#define FLASHIMG_SIG_OFFSET 0x10u
#define FLASHIMG_FLMAP0 0x14u
#define FLASHIMG_FLMAP1 0x18u
#define FLASHIMG_FLMAP2 0x1cu
#define FLASHIMG_FCBA 0x30u     /* FLCOMP */
#define FLASHIMG_FRBA 0x40u     /* FLREG0.. */
#define FLASHIMG_FMBA 0x80u     /* FLMSTR1.. */
#define FLASHIMG_FLUMAP1 0xefcu /* VSCC table base/length (upper map) */
#define FLASHIMG_REGION_UNUSED 0x00007fffu
#define FLASHIMG_DEFAULT_SIZE (16u << 20)
#define FLASHIMG_MIN_SIZE (512u << 10)
#define FLASHIMG_MAX_SIZE (64u << 20)
#define FLASHIMG_PD_BASE 0x1000u /* platform data: one 4 KiB block after the descriptor */
#define FLASHIMG_ME_BASE 0x2000u /* ME: from here up to the BIOS region */

enum flashimg_region_id {
    FLASHIMG_REGION_DESC = 0,
    FLASHIMG_REGION_BIOS = 1,
    FLASHIMG_REGION_ME = 2,
    FLASHIMG_REGION_GBE = 3,
    FLASHIMG_REGION_PD = 4,
    FLASHIMG_NREGIONS = 5
};

#define FLASHIMG_NMASTERS 3 /* FLMSTR1 CPU/BIOS, FLMSTR2 ME, FLMSTR3 GbE */

struct flashimg_region {
    uint32_t flreg; /* the raw FLREGn */
    bool used;
    uint32_t base, limit; /* byte addresses, limit inclusive */
};

struct flashimg {
    const uint8_t *data;
    size_t len;
    bool desc_ok; /* the descriptor passed every check */
    uint32_t flmap0, flmap1, flmap2, flcomp;
    struct flashimg_region region[FLASHIMG_NREGIONS];
    uint32_t master[FLASHIMG_NMASTERS]; /* FLMSTRn: read grants bits 23:16, write 31:24 */
    struct fv_list fvs;                 /* volumes in the BIOS region */
};

/* Where a file's payload lies in the flash. */
struct flashimg_payload {
    struct fv_guid guid;
    uint64_t file_offset; /* FFS file header */
    uint64_t offset;      /* payload bytes */
    uint32_t length;
    uint8_t sha256[32];
};

/* One volume to build: its files and size (0: the smallest that holds them). */
struct flashimg_volume_spec {
    const struct fv_file_spec *files;
    int nfiles;
    uint32_t size;
};

struct flashimg_layout {
    uint32_t size;      /* 0: FLASHIMG_DEFAULT_SIZE */
    uint32_t bios_base; /* 0: size / 2; the BIOS region runs to the end of the flash */
};

/* "descriptor", "bios", "me", "gbe", "pd" */
const char *flashimg_region_name(int id);

/*
 * Build an image: descriptor, platform data, ME region (erased), BIOS
 * region with the volumes back to back from its base, everything else
 * 0xff. *out is malloc'd (*outlen bytes). 0 ok; -1 with a message.
 */
int flashimg_build(const struct flashimg_layout *lay, const struct flashimg_volume_spec *vols,
                   int nvols, uint8_t **out, size_t *outlen, char *err, size_t errlen);

/*
 * Open and validate an image: descriptor (signature, maps, component
 * density, regions in bounds and disjoint, a BIOS region), that bytes
 * outside every region are erased, then every volume in the BIOS region. 0 ok; -1 with a precise
 * message, fi keeping what was verified. Always flashimg_close afterwards.
 */
/* On failure too, fi keeps what was verified (for reporting): always flashimg_close it. */
int flashimg_open(struct flashimg *fi, const uint8_t *data, size_t len, char *err, size_t errlen);
void flashimg_close(struct flashimg *fi);

/* BIOS region bounds (base, length in bytes). 0 ok, -1 if there is none. */
int flashimg_bios_region(const struct flashimg *fi, uint32_t *base, uint32_t *len);

/* A valid file by UI name or GUID, in any volume; NULL if none. *vol (if given) gets its volume. */
const struct fv_file *flashimg_find_file(const struct flashimg *fi, const char *name,
                                         const struct fv_volume **vol);
const struct fv_file *flashimg_find_guid(const struct flashimg *fi, const struct fv_guid *g,
                                         const struct fv_volume **vol);

/* A named file's payload location and SHA-256. 0 ok, -1 no such file or it has no payload. */
int flashimg_payload(const struct flashimg *fi, const char *name, struct flashimg_payload *p);

/*
 * `hopsim flash build|inspect ...`: argv[0] is "build" or "inspect".
 * Returns the exit code: 0 ok, 1 corrupt image or I/O error, 2 usage.
 */
int flash_main(int argc, char **argv);

#endif
