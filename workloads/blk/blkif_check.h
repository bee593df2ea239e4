/*
 * blkback's validation of a READ or WRITE request (io/blkif.h), on its
 * private copy of the request: a pure function of the fields and the vbd's
 * window, with no guest-runtime dependencies, so the same code runs in the
 * backend and, compiled for the host, in the blkif fuzz target
 * (tests/fuzz/fuzz_blkif.c).
 */
#ifndef BLKIF_CHECK_H
#define BLKIF_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include <xen/io/blkif.h>

#define BLKIF_SECTS_PER_PAGE 8u /* 512-byte sectors in a 4 KiB segment page */

/*
 * nseg segments (first[i]..last[i] sectors of a page each) at `sector` of a
 * vbd of `sectors` sectors starting at `start` on a disk of 512 << blk_shift
 * byte blocks. NULL if valid (*nsect = sectors moved), else why not.
 */
static inline const char *blkif_check_rw(unsigned nseg, const uint8_t *first, const uint8_t *last,
                                         uint64_t sector, uint64_t start, uint64_t sectors,
                                         unsigned blk_shift, uint32_t *nsect)
{
    if (nseg == 0 || nseg > BLKIF_MAX_SEGMENTS_PER_REQUEST)
        return "bad nr_segments";
    uint32_t n = 0;
    for (unsigned i = 0; i < nseg; i++) {
        if (first[i] > last[i] || last[i] >= BLKIF_SECTS_PER_PAGE)
            return "bad segment sectors";
        n += last[i] - first[i] + 1u;
    }
    if (sector > sectors || n > sectors - sector)
        return "beyond the disk";
    uint32_t mask = (1u << blk_shift) - 1;
    if (((start + sector) | n) & mask)
        return "not aligned to the disk's block";
    *nsect = n;
    return NULL;
}

#endif
