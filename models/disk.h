/*
 * Disk models behind the SAS HBA: a 15K SAS hard disk, a SAS SSD, an
 * NVMe-class SSD and a RAM-backed disk, with
 * their data in a raw disk image file. Implemented in models/disk.c;
 * timing formulas in docs/sas-hba.md.
 *
 * A disk answers two questions: when does a media operation issued at
 * `now` finish (disk_schedule, which also advances the disk's head or
 * channel state), and what are the bytes (disk_read / disk_write, plain
 * pread/pwrite on the image). The HBA calls them in that order.
 */
#ifndef HOPSIM_DISK_H
#define HOPSIM_DISK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cost.h"
#include "simtime.h"

/*
 * Same values as enum sas_target_type. NVMe-class and RAM-backed disks use
 * the SSD's timing model (latency + transfer on the earliest free channel)
 * with their own parameters.
 */
enum disk_type { DISK_HDD = 1, DISK_SSD = 2, DISK_NVME = 3, DISK_RAM = 4 };

#define DISK_MAX_CHANNELS 64

struct disk_params {
    enum disk_type type;
    uint32_t block_size; /* 512 or 4096 */
    /* HDD */
    double rpm;
    simtime_t seek_track, seek_avg, seek_full; /* ps: distance 1, (C-1)/3, C-1 */
    double rate_outer, rate_inner;             /* bytes/s at LBA 0 and at the last LBA */
    uint64_t cylinders;                        /* C */
    /* SSD */
    simtime_t read_latency, write_latency; /* ps: the medians */
    double bw;                             /* bytes/s per command */
    unsigned channels;
    /*
     * Service-time variation (SSD, NVMe): each command's latency is drawn
     * from a lognormal through the median (read_latency / write_latency)
     * and read_tail / write_tail at percentile tail_q (e.g. 99.9). A tail
     * of 0, or not above the median, keeps that latency fixed (the RAM
     * disk's). Draws come from the stream `stream` of seed `seed`.
     */
    simtime_t read_tail, write_tail; /* ps */
    double tail_q;                   /* percent */
    uint64_t seed;
    char stream[48];
    bool read_only; /* opened O_RDONLY; disk_write fails (EROFS) */
};

struct disk;

/* Fill `p` for a disk of `type` from the cost profile (hdd_*, ssd_*, nvme_* or ramdisk_*). */
void disk_params_from_cost(struct disk_params *p, enum disk_type type, uint32_t block_size,
                           const struct cost_profile *c);

/*
 * Open the image at `path` for a disk of `size_bytes` (0: the file's size).
 * A missing file is an error unless `create`, which makes a sparse file of
 * `size_bytes`. A file whose size is not a multiple of the block size or
 * is smaller than `size_bytes` is "truncated or corrupt". NULL with a
 * message naming the file in err on failure.
 */
struct disk *disk_open(const struct disk_params *p, const char *path, uint64_t size_bytes,
                       bool create, char *err, size_t errlen);
void disk_close(struct disk *d);

/*
 * A media operation on [lba, lba + nblocks) issued at `now`: returns when
 * it completes. HDD: one at a time in call order (FIFO), seek + rotation +
 * transfer. SSD: on the earliest free channel, latency (drawn, see
 * disk_params) + transfer.
 */
simtime_t disk_schedule(struct disk *d, simtime_t now, bool write, uint64_t lba, uint32_t nblocks);
/* When every operation scheduled so far is done (for FLUSH). */
simtime_t disk_idle_at(const struct disk *d);

/* Data: 0, or -1 with errno (EINVAL for a range beyond the disk, EIO for a short transfer). */
int disk_read(struct disk *d, uint64_t lba, uint32_t nblocks, void *buf);
int disk_write(struct disk *d, uint64_t lba, uint32_t nblocks, const void *buf);

uint64_t disk_blocks(const struct disk *d);
uint32_t disk_block_size(const struct disk *d);
enum disk_type disk_type(const struct disk *d);
const char *disk_path(const struct disk *d);

/* HDD model pieces (tests, docs). */
simtime_t disk_hdd_rev(const struct disk *d);                   /* one revolution, ps */
simtime_t disk_hdd_seek(const struct disk *d, double distance); /* cylinders -> ps */
uint64_t disk_hdd_cylinder(const struct disk *d, uint64_t lba);
double disk_hdd_rate(const struct disk *d, uint64_t lba);  /* media rate at lba, bytes/s */
double disk_hdd_angle(const struct disk *d, uint64_t lba); /* [0, 1) of a revolution */
/* Time to transfer [lba, lba + nblocks) once the head is on it, ps. */
simtime_t disk_hdd_xfer(const struct disk *d, uint64_t lba, uint32_t nblocks);
uint64_t disk_hdd_head(const struct disk *d); /* cylinder under the head */

/* The lognormal shape of the read and write latencies (0: fixed). */
double disk_sigma(const struct disk *d, bool write);
/* One latency draw, ps, as disk_schedule makes it (advances the disk's stream). */
simtime_t disk_draw_latency(struct disk *d, bool write);

#endif
