/*
 * Fuzz target: blkback's request validation (workloads/blk/blkif_check.h),
 * the guest code itself compiled for the host. The input is a raw
 * blkif_request_t as a frontend would put it in the shared ring, plus the
 * vbd's window and the disk's block size; the request is copied out the
 * way blkback copies it (each field once, at most
 * BLKIF_MAX_SEGMENTS_PER_REQUEST segments) and checked. An accepted
 * request must describe only sectors inside the window, within each
 * segment's page, aligned to the disk's blocks -- what blkback then hands
 * to the HBA without further checks.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "blk/blkif_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    blkif_request_t rq;
    struct {
        uint64_t start, sectors;
        uint8_t blk_shift;
    } vbd;
    if (size < sizeof(rq) + sizeof(vbd))
        return 0;
    memcpy(&rq, data, sizeof(rq));
    memcpy(&vbd, data + sizeof(rq), sizeof(vbd));
    unsigned shift = vbd.blk_shift & 1 ? 3 : 0; /* 512- or 4096-byte blocks */
    uint8_t first[BLKIF_MAX_SEGMENTS_PER_REQUEST], last[BLKIF_MAX_SEGMENTS_PER_REQUEST];
    unsigned n = rq.nr_segments < BLKIF_MAX_SEGMENTS_PER_REQUEST ? rq.nr_segments
                                                                 : BLKIF_MAX_SEGMENTS_PER_REQUEST;
    for (unsigned i = 0; i < n; i++) {
        first[i] = rq.seg[i].first_sect;
        last[i] = rq.seg[i].last_sect;
    }
    uint32_t nsect = 0;
    const char *why = blkif_check_rw(rq.nr_segments, first, last, rq.sector_number, vbd.start,
                                     vbd.sectors, shift, &nsect);
    if (why)
        return 0;
    if (rq.nr_segments == 0 || rq.nr_segments > BLKIF_MAX_SEGMENTS_PER_REQUEST)
        abort();
    uint64_t sum = 0;
    for (unsigned i = 0; i < rq.nr_segments; i++) {
        if (first[i] > last[i] || last[i] >= BLKIF_SECTS_PER_PAGE)
            abort();
        sum += last[i] - first[i] + 1u;
    }
    if (sum != nsect || rq.sector_number + nsect > vbd.sectors || rq.sector_number + nsect < nsect)
        abort();
    if (((vbd.start + rq.sector_number) | nsect) & ((1u << shift) - 1))
        abort();
    return 0;
}
