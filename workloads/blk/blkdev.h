/*
 * The block-device interface the test program is written against, so the
 * same program runs over the native block layer (native_blk.c, straight
 * onto the SAS driver) and over blkfront (the Xen split driver).
 *
 * Units follow io/blkif.h: sector numbers and counts are in 512-byte
 * sectors whatever the device's logical block size (`sector_size`, 512
 * or 4096); a request must start and end on a logical block.
 *
 * A request is a caller-owned struct blkdev_req that must stay untouched
 * from submit until its `done` callback has run. Data lives in whole pages:
 * pages[i] is page-aligned and carries bytes [i*4096, (i+1)*4096) of the
 * transfer; only the last page may be partly used.
 *
 * Submission is batched: submit() queues (nothing reaches the device or
 * the backend yet), kick() starts everything queued since the last kick.
 * Completions arrive in event context (an interrupt handler, or blkfront's
 * event-channel handler): `done` must not block; it should record the
 * completion and leave the work to program context, which waits with
 * blkdev_wait(). Every driver bumps `completions` after each callback.
 *
 * Status: 0, or a negative Xen errno (-XEN_EIO, -XEN_EOPNOTSUPP);
 * proto_status keeps what the protocol itself said (BLKIF_RSP_* from a
 * blkif backend, SAS_ST_* from the HBA).
 */
#ifndef BLK_BLKDEV_H
#define BLK_BLKDEV_H

#include <stdint.h>

#include "guest.h"

#define BLKDEV_SECTOR 512u
#define BLKDEV_MAX_PAGES 11 /* BLKIF_MAX_SEGMENTS_PER_REQUEST: one page per segment */

enum blkdev_op { BLKDEV_READ = 0, BLKDEV_WRITE = 1, BLKDEV_FLUSH = 2 };

struct blkdev_req {
    /* set by the caller */
    uint8_t op;          /* enum blkdev_op */
    uint32_t nr_sectors; /* 512-byte sectors; 0 for FLUSH */
    uint64_t sector;
    uint64_t id; /* the global request id, HOPSIM_REQ(frontend domid, seq) */
    void *pages[BLKDEV_MAX_PAGES];
    void (*done)(struct blkdev_req *r);
    void *owner; /* the caller's */
    /* set by the driver before done() */
    int status;
    int proto_status;
};

struct blkdev;

struct blkdev_ops {
    /* Queue r: 0, -XEN_EAGAIN (no room now), -XEN_EINVAL (malformed), -XEN_EIO (device gone). */
    int (*submit)(struct blkdev *d, struct blkdev_req *r);
    /* Start everything queued since the last kick (doorbell, ring push + notify). */
    void (*kick)(struct blkdev *d);
    /* Every request must have completed. Tears the device (or the connection) down. */
    void (*close)(struct blkdev *d);
    /*
     * Optional, for a device whose connection can go away (a split driver's
     * backend): attention() (event delivery off, must not block) says there
     * is news for the device; service() (program context) deals with it --
     * a frontend reconnects to a new backend and resubmits what was lost.
     */
    int (*attention)(struct blkdev *d);
    void (*service)(struct blkdev *d);
};

struct blkdev {
    const char *name;
    uint64_t sectors;      /* capacity, 512-byte sectors */
    uint32_t sector_size;  /* logical block size, bytes */
    uint32_t max_inflight; /* requests that may be outstanding at once */
    uint32_t can_flush;    /* BLKDEV_FLUSH supported */
    volatile unsigned long completions;
    const struct blkdev_ops *ops;
};

static inline int blkdev_submit(struct blkdev *d, struct blkdev_req *r)
{
    return d->ops->submit(d, r);
}

static inline void blkdev_kick(struct blkdev *d)
{
    d->ops->kick(d);
}

static inline void blkdev_close(struct blkdev *d)
{
    d->ops->close(d);
}

/* Block until a completion callback has run since `completions` read `seen`. */
static inline void blkdev_wait(struct blkdev *d, unsigned long seen)
{
    int news = 0;
    for (;;) {
        WAIT_UNTIL(d->completions != seen || (d->ops->attention && (news = d->ops->attention(d))));
        if (d->completions != seen || !news)
            return;
        news = 0;
        d->ops->service(d);
    }
}

/* Validation shared by the drivers: -XEN_EINVAL unless r fits d. */
static inline int blkdev_check(const struct blkdev *d, const struct blkdev_req *r)
{
    uint32_t per_block = d->sector_size / BLKDEV_SECTOR;
    if (r->op == BLKDEV_FLUSH)
        return d->can_flush ? 0 : -XEN_EOPNOTSUPP;
    if (r->op != BLKDEV_READ && r->op != BLKDEV_WRITE)
        return -XEN_EINVAL;
    if (!r->nr_sectors || r->nr_sectors > BLKDEV_MAX_PAGES * (PAGE_SIZE / BLKDEV_SECTOR))
        return -XEN_EINVAL;
    if (r->sector > d->sectors || r->nr_sectors > d->sectors - r->sector)
        return -XEN_EINVAL;
    if ((r->sector | r->nr_sectors) & (per_block - 1))
        return -XEN_EINVAL;
    return 0;
}

/* Pages a request of n sectors spans. */
static inline unsigned blkdev_nr_pages(uint32_t nr_sectors)
{
    return (nr_sectors + (PAGE_SIZE / BLKDEV_SECTOR) - 1) / (PAGE_SIZE / BLKDEV_SECTOR);
}

#endif
