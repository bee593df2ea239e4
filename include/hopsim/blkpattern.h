/*
 * The verify pattern of the block test program, shared by the guest (which
 * writes and checks it) and the host (`hopsim disk-check`, which checks a
 * disk image after a run).
 *
 * Every 512-byte sector written with verify on carries a header -- magic,
 * its own LBA, the write sequence number, the run's seed -- and fill words
 * derived from those, so a sector is self-describing: it proves it was
 * written by this program, to this LBA, in this write. A sector at the
 * wrong LBA, torn, or overwritten by anything else fails the check.
 * Sectors a malicious frontend tries to write carry HOPSIM_EVIL_MAGIC, so a
 * rejected write that landed anyway is visible in the image.
 */
#ifndef HOPSIM_BLKPATTERN_H
#define HOPSIM_BLKPATTERN_H

#include <stdint.h>

#define HOPSIM_SECTOR 512u
#define HOPSIM_PATTERN_MAGIC 0x4b4c425053504f48ull /* "HOPSPBLK" */
#define HOPSIM_EVIL_MAGIC 0x4c495645504f4845ull    /* "EHOPEVIL" */

struct hopsim_sector_hdr {
    uint64_t magic;
    uint64_t lba; /* in 512-byte sectors */
    uint64_t seq; /* write sequence number, 1.. */
    uint64_t seed;
};

static inline uint64_t hopsim_pattern_word(uint64_t lba, uint64_t seq, uint64_t seed, uint32_t i)
{
    uint64_t x = lba * 0x9e3779b97f4a7c15ull ^ seq * 0xbf58476d1ce4e5b9ull ^ seed ^ i;
    x ^= x >> 31;
    x *= 0x94d049bb133111ebull;
    return x ^ (x >> 29);
}

/* Fill one sector. */
static inline void hopsim_pattern_fill(void *sector, uint64_t lba, uint64_t seq, uint64_t seed)
{
    uint64_t *w = (uint64_t *)sector;
    w[0] = HOPSIM_PATTERN_MAGIC;
    w[1] = lba;
    w[2] = seq;
    w[3] = seed;
    for (uint32_t i = 4; i < HOPSIM_SECTOR / 8; i++)
        w[i] = hopsim_pattern_word(lba, seq, seed, i);
}

/*
 * Check one sector expected at `lba`. Returns 1 if it is a consistent
 * pattern for that LBA (and *seq gets its write sequence), 0 if it is all
 * zeros (never written: images are created zero-filled), -1 for anything
 * else: a pattern that is wrong (wrong LBA, torn, corrupted, its magic
 * overwritten) or foreign data.
 */
static inline int hopsim_pattern_check(const void *sector, uint64_t lba, uint64_t *seq)
{
    const uint64_t *w = (const uint64_t *)sector;
    if (w[0] != HOPSIM_PATTERN_MAGIC) {
        for (uint32_t i = 0; i < HOPSIM_SECTOR / 8; i++)
            if (w[i])
                return -1;
        return 0;
    }
    if (w[1] != lba)
        return -1;
    for (uint32_t i = 4; i < HOPSIM_SECTOR / 8; i++)
        if (w[i] != hopsim_pattern_word(lba, w[2], w[3], i))
            return -1;
    if (seq)
        *seq = w[2];
    return 1;
}

#endif
