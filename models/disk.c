/*
 * Disk models: a 15K SAS hard disk, a SAS SSD, an NVMe-class SSD and a
 * RAM-backed disk over a raw image file
 * (interface in disk.h; formulas in docs/sas-hba.md).
 *
 * Assumptions and choices:
 * - Data: the image is read and written with pread/pwrite at the moment
 *   the HBA moves the data, so writes land in the file and outlive the
 *   run. No host caching beyond the kernel's, no fsync (FLUSH is a timing
 *   event in the simulated machine, not a host durability barrier).
 * - The HDD image stands for the whole platter surface, whatever its
 *   size: LBA fraction x = lba / blocks maps linearly to the radius
 *   (cylinder floor(x * C), C = hdd_cylinders) and to the zoned media rate
 *   (rate_outer at x = 0 down to rate_inner at x = 1). A 64 MiB image thus
 *   seeks and streams like the full-size drive the profile describes.
 * - The recording is one continuous spiral: a track holds rate x T bytes
 *   (T = one revolution), so the revolutions from LBA 0 to L are
 *   r(L) = integral of block_size / (rate(u / blocks) * T) du, and LBA L
 *   sits at angle frac(r(L)). Reading [L, L+n) takes T * (r(L+n) - r(L)),
 *   and ends at exactly the angle of L+n: back-to-back sequential commands
 *   continue where the last one ended, or wait a revolution if they come
 *   late (no read-ahead or write cache is modelled).
 * - The spindle angle is absolute: (t mod T) / T, with T rounded to ps.
 * - Seek: Ruemmler & Wilkes ("An introduction to disk drive modeling",
 *   IEEE Computer 1994): a + b sqrt(d) for short seeks, c + e d for long
 *   ones, with the boundary at the average distance D/3 (D = C - 1 is the
 *   full stroke); calibrated through (1, seek_track), (D/3, seek_avg) and
 *   (D, seek_full), continuous at D/3. d = 0 costs nothing. Reads and
 *   writes use the same figures.
 * - One HDD command at a time, in call order (the HBA calls in the order
 *   commands reach the media stage: FIFO). The SSD serves each command on
 *   the earliest free of its channels (lowest index on a tie), for
 *   latency + bytes / bw.
 * - Flash service time varies: each SSD/NVMe command's latency (before the
 *   transfer) is drawn from a lognormal through the profile's median and
 *   its datasheet QoS percentile (*_tail at *_tail_quantile), from the
 *   disk's own seeded stream (sim/engine/rng.h). Reads stuck behind a
 *   program, an erase or garbage collection on the same die are what makes
 *   flash tails (Yan et al., "Tiny-Tail Flash", FAST 2017); the lognormal
 *   is an estimate of the shape, the two points are the datasheet's.
 *   The HDD varies through its geometry (seek distance, rotational
 *   position) and the RAM disk not at all.
 * - All timing arithmetic is deterministic given the seed (no host time);
 *   each component is rounded to the nearest ps.
 */
#include "disk.h"
#include "rng.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct disk {
    struct disk_params p;
    char *path;
    int fd;
    uint64_t blocks;
    /* HDD */
    simtime_t rev;        /* ps per revolution */
    double sa, sb;        /* short seeks: sa + sb sqrt(d) ps */
    double lc, le;        /* long seeks: lc + le d ps */
    double d_avg;         /* boundary: (C - 1) / 3 */
    uint64_t head;        /* cylinder under the head */
    simtime_t busy_until; /* end of the last scheduled operation */
    /* SSD */
    simtime_t ch_free[DISK_MAX_CHANNELS];
    struct rng rng;
    double sigma_r, sigma_w; /* lognormal shapes of the latencies (0: fixed) */
};

void disk_params_from_cost(struct disk_params *p, enum disk_type type, uint32_t block_size,
                           const struct cost_profile *c)
{
    memset(p, 0, sizeof *p);
    p->type = type;
    p->block_size = block_size;
    p->rpm = c->value[C_HDD_RPM];
    p->seek_track = cost_ps(c, C_HDD_SEEK_TRACK, 1);
    p->seek_avg = cost_ps(c, C_HDD_SEEK_AVG, 1);
    p->seek_full = cost_ps(c, C_HDD_SEEK_FULL, 1);
    p->rate_outer = c->value[C_HDD_RATE_OUTER];
    p->rate_inner = c->value[C_HDD_RATE_INNER];
    p->cylinders = (uint64_t)c->value[C_HDD_CYLINDERS];
    static const enum cost_id flash[][4] = {
        [DISK_SSD] = {C_SSD_READ_LAT, C_SSD_WRITE_LAT, C_SSD_BW, C_SSD_CHANNELS},
        [DISK_NVME] = {C_NVME_READ_LAT, C_NVME_WRITE_LAT, C_NVME_BW, C_NVME_CHANNELS},
        [DISK_RAM] = {C_RAM_LAT, C_RAM_LAT, C_RAM_BW, C_RAM_CHANNELS},
    };
    const enum cost_id *f = flash[type == DISK_NVME || type == DISK_RAM ? type : DISK_SSD];
    p->read_latency = cost_ps(c, f[0], 1);
    p->write_latency = cost_ps(c, f[1], 1);
    p->bw = c->value[f[2]];
    p->channels = (unsigned)c->value[f[3]];
    if (type == DISK_SSD || type == DISK_NVME) {
        bool nv = type == DISK_NVME;
        p->read_tail = cost_ps(c, nv ? C_NVME_READ_TAIL : C_SSD_READ_TAIL, 1);
        p->write_tail = cost_ps(c, nv ? C_NVME_WRITE_TAIL : C_SSD_WRITE_TAIL, 1);
        p->tail_q = c->value[nv ? C_NVME_TAIL_Q : C_SSD_TAIL_Q];
    }
}

/* ---- parameters and the image file ------------------------------------- */

static const char *hdd_params_error(const struct disk_params *p)
{
    if (!(p->rpm > 0))
        return "hdd_rpm must be > 0";
    if (p->cylinders < 5)
        return "hdd_cylinders must be >= 5";
    if (!(p->rate_outer > 0 && p->rate_inner > 0))
        return "hdd_rate_outer and hdd_rate_inner must be > 0";
    if (p->seek_track > p->seek_avg || p->seek_avg > p->seek_full)
        return "seeks must grow: hdd_seek_track <= hdd_seek_avg <= hdd_seek_full";
    return NULL;
}

static const char *params_error(const struct disk_params *p)
{
    if (p->block_size != 512 && p->block_size != 4096)
        return "block size must be 512 or 4096";
    if (p->type == DISK_HDD)
        return hdd_params_error(p);
    if (p->type != DISK_SSD && p->type != DISK_NVME && p->type != DISK_RAM)
        return "unknown disk type";
    static const char *const prefix[] = {
        [DISK_SSD] = "ssd", [DISK_NVME] = "nvme", [DISK_RAM] = "ramdisk"};
    static char msg[48];
    if (!(p->bw > 0)) {
        snprintf(msg, sizeof msg, "%s_bw must be > 0", prefix[p->type]);
        return msg;
    }
    if (p->channels < 1 || p->channels > DISK_MAX_CHANNELS) {
        snprintf(msg, sizeof msg, "%s_channels must be 1..64", prefix[p->type]);
        return msg;
    }
    if ((p->read_tail || p->write_tail) && !(p->tail_q > 50 && p->tail_q < 100)) {
        snprintf(msg, sizeof msg, "%s_tail_quantile must be in (50, 100)", prefix[p->type]);
        return msg;
    }
    return NULL;
}

/* Check the image's size against the block size and the requested size. */
static int image_size_check(const char *path, uint64_t have, uint64_t want, uint32_t bs, char *err,
                            size_t errlen)
{
    if (have % bs != 0 || have == 0) {
        snprintf(err, errlen,
                 "truncated or corrupt disk image %s: %llu bytes, expected a nonzero multiple "
                 "of the %u-byte block size",
                 path, (unsigned long long)have, bs);
        return -1;
    }
    if (have < want) {
        snprintf(err, errlen, "truncated or corrupt disk image %s: %llu bytes, expected %llu", path,
                 (unsigned long long)have, (unsigned long long)want);
        return -1;
    }
    return 0;
}

/* Open (or create) the image; the usable size in bytes goes to *size. */
static int image_open(const char *path, uint64_t *size, bool create, bool ro, uint32_t bs,
                      char *err, size_t errlen)
{
    struct stat st;
    int fd = open(path, (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC | (create ? O_CREAT : 0), 0644);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open disk image %s: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "disk image %s: not a regular file", path);
        goto fail;
    }
    if (create && st.st_size == 0 && *size > 0) {
        if (ftruncate(fd, (off_t)*size) != 0) {
            snprintf(err, errlen, "cannot size disk image %s: %s", path, strerror(errno));
            goto fail;
        }
        st.st_size = (off_t)*size;
    }
    if (image_size_check(path, (uint64_t)st.st_size, *size, bs, err, errlen) != 0)
        goto fail;
    if (*size == 0)
        *size = (uint64_t)st.st_size;
    return fd;
fail:
    close(fd);
    return -1;
}

/* Seek curve through (1, track), (D/3, avg), (D, full). */
static void hdd_calibrate(struct disk *d)
{
    const struct disk_params *p = &d->p;
    double D = (double)(p->cylinders - 1);
    double trk = (double)p->seek_track, avg = (double)p->seek_avg, full = (double)p->seek_full;
    d->rev = (simtime_t)llround(60e12 / p->rpm);
    d->d_avg = D / 3.0;
    d->sb = (avg - trk) / (sqrt(d->d_avg) - 1.0);
    d->sa = trk - d->sb;
    d->le = (full - avg) / (D - d->d_avg);
    d->lc = avg - d->le * d->d_avg;
}

struct disk *disk_open(const struct disk_params *p, const char *path, uint64_t size_bytes,
                       bool create, char *err, size_t errlen)
{
    const char *perr = params_error(p);
    if (perr) {
        snprintf(err, errlen, "disk image %s: %s", path, perr);
        return NULL;
    }
    if (size_bytes % p->block_size != 0) {
        snprintf(err, errlen,
                 "disk image %s: size %llu is not a multiple of the %u-byte block size", path,
                 (unsigned long long)size_bytes, p->block_size);
        return NULL;
    }
    if (create && size_bytes == 0) {
        snprintf(err, errlen, "disk image %s: a size is needed to create it", path);
        return NULL;
    }
    struct disk *d = calloc(1, sizeof *d);
    if (!d || !(d->path = strdup(path))) {
        snprintf(err, errlen, "disk image %s: out of memory", path);
        goto fail;
    }
    d->p = *p;
    d->fd = image_open(path, &size_bytes, create, p->read_only, p->block_size, err, errlen);
    if (d->fd < 0)
        goto fail;
    d->blocks = size_bytes / p->block_size;
    if (p->type == DISK_HDD)
        hdd_calibrate(d);
    rng_stream(&d->rng, p->seed, p->stream);
    d->sigma_r =
        rng_lognormal_sigma((double)p->read_latency, (double)p->read_tail, p->tail_q / 100);
    d->sigma_w =
        rng_lognormal_sigma((double)p->write_latency, (double)p->write_tail, p->tail_q / 100);
    return d;
fail:
    if (d)
        free(d->path);
    free(d);
    return NULL;
}

void disk_close(struct disk *d)
{
    if (!d)
        return;
    close(d->fd);
    free(d->path);
    free(d);
}

/* ---- HDD geometry and timing -------------------------------------------- */

simtime_t disk_hdd_rev(const struct disk *d)
{
    return d->rev;
}

simtime_t disk_hdd_seek(const struct disk *d, double distance)
{
    if (distance <= 0)
        return 0;
    double t = distance < d->d_avg ? d->sa + d->sb * sqrt(distance) : d->lc + d->le * distance;
    return (simtime_t)llround(t);
}

uint64_t disk_hdd_cylinder(const struct disk *d, uint64_t lba)
{
    uint64_t c = (uint64_t)floor((double)lba * (double)d->p.cylinders / (double)d->blocks);
    return c < d->p.cylinders ? c : d->p.cylinders - 1;
}

static double rate_at(const struct disk *d, double lba)
{
    double x = lba / (double)d->blocks;
    return d->p.rate_outer - (d->p.rate_outer - d->p.rate_inner) * x;
}

double disk_hdd_rate(const struct disk *d, uint64_t lba)
{
    return rate_at(d, (double)lba);
}

/* Seconds of media transfer from LBA 0 to `lba` along the spiral. */
static double spiral_seconds(const struct disk *d, double lba)
{
    double ro = d->p.rate_outer, ri = d->p.rate_inner;
    double bytes_total = (double)d->blocks * d->p.block_size;
    if (ro == ri)
        return lba * d->p.block_size / ro;
    return bytes_total / (ro - ri) * log(ro / rate_at(d, lba));
}

double disk_hdd_angle(const struct disk *d, uint64_t lba)
{
    double revs = spiral_seconds(d, (double)lba) * 1e12 / (double)d->rev;
    return revs - floor(revs);
}

simtime_t disk_hdd_xfer(const struct disk *d, uint64_t lba, uint32_t nblocks)
{
    double s = spiral_seconds(d, (double)lba + nblocks) - spiral_seconds(d, (double)lba);
    return (simtime_t)llround(s * 1e12);
}

uint64_t disk_hdd_head(const struct disk *d)
{
    return d->head;
}

/* Rotational wait at time t for the angle of `lba` to come under the head. */
static simtime_t hdd_rot_wait(const struct disk *d, simtime_t t, uint64_t lba)
{
    double rev = (double)d->rev;
    double w = (disk_hdd_angle(d, lba) - (double)(t % d->rev) / rev) * rev; /* ps */
    if (w <= -0.5) /* passed: wait for the next turn (within rounding: on time) */
        w += rev;
    return w > 0 ? (simtime_t)llround(w) : 0;
}

static simtime_t hdd_schedule(struct disk *d, simtime_t now, uint64_t lba, uint32_t nblocks)
{
    simtime_t t = now > d->busy_until ? now : d->busy_until;
    uint64_t cyl = disk_hdd_cylinder(d, lba);
    uint64_t dist = cyl > d->head ? cyl - d->head : d->head - cyl;
    t += disk_hdd_seek(d, (double)dist);
    t += hdd_rot_wait(d, t, lba);
    t += disk_hdd_xfer(d, lba, nblocks);
    d->head = disk_hdd_cylinder(d, lba + nblocks - 1);
    d->busy_until = t;
    return t;
}

/* ---- SSD timing ---------------------------------------------------------- */

double disk_sigma(const struct disk *d, bool write)
{
    return write ? d->sigma_w : d->sigma_r;
}

simtime_t disk_draw_latency(struct disk *d, bool write)
{
    simtime_t median = write ? d->p.write_latency : d->p.read_latency;
    double sigma = write ? d->sigma_w : d->sigma_r;
    if (sigma <= 0)
        return median;
    return (simtime_t)llround(rng_lognormal(&d->rng, (double)median, sigma));
}

static simtime_t ssd_schedule(struct disk *d, simtime_t now, bool write, uint32_t nblocks)
{
    unsigned best = 0;
    for (unsigned c = 1; c < d->p.channels; c++)
        if (d->ch_free[c] < d->ch_free[best])
            best = c;
    simtime_t t = now > d->ch_free[best] ? now : d->ch_free[best];
    double bytes = (double)nblocks * d->p.block_size;
    t += disk_draw_latency(d, write);
    t += (simtime_t)llround(bytes * 1e12 / d->p.bw);
    d->ch_free[best] = t;
    return t;
}

simtime_t disk_schedule(struct disk *d, simtime_t now, bool write, uint64_t lba, uint32_t nblocks)
{
    assert(lba <= d->blocks && nblocks <= d->blocks - lba);
    if (nblocks == 0)
        return now > disk_idle_at(d) ? now : disk_idle_at(d);
    if (d->p.type == DISK_HDD)
        return hdd_schedule(d, now, lba, nblocks);
    return ssd_schedule(d, now, write, nblocks);
}

simtime_t disk_idle_at(const struct disk *d)
{
    if (d->p.type == DISK_HDD)
        return d->busy_until;
    simtime_t t = 0;
    for (unsigned c = 0; c < d->p.channels; c++)
        if (d->ch_free[c] > t)
            t = d->ch_free[c];
    return t;
}

/* ---- data ------------------------------------------------------------------ */

static bool range_ok(const struct disk *d, uint64_t lba, uint32_t nblocks)
{
    return lba <= d->blocks && nblocks <= d->blocks - lba;
}

/* nblocks from lba to or from buf, resuming short transfers: 0, or -1 with errno. */
static int disk_io(struct disk *d, uint64_t lba, uint32_t nblocks, void *buf, bool write)
{
    if (!range_ok(d, lba, nblocks)) {
        errno = EINVAL;
        return -1;
    }
    size_t len = (size_t)nblocks * d->p.block_size, done = 0;
    off_t off = (off_t)(lba * d->p.block_size);
    while (done < len) {
        char *p = (char *)buf + done;
        ssize_t n = write ? pwrite(d->fd, p, len - done, off + (off_t)done)
                          : pread(d->fd, p, len - done, off + (off_t)done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            errno = n < 0 ? errno : EIO;
            return -1;
        }
        done += (size_t)n;
    }
    return 0;
}

int disk_read(struct disk *d, uint64_t lba, uint32_t nblocks, void *buf)
{
    return disk_io(d, lba, nblocks, buf, false);
}

int disk_write(struct disk *d, uint64_t lba, uint32_t nblocks, const void *buf)
{
    if (d->p.read_only) {
        errno = EROFS;
        return -1;
    }
    return disk_io(d, lba, nblocks, (void *)buf, true); /* only read from when writing */
}

uint64_t disk_blocks(const struct disk *d)
{
    return d->blocks;
}

uint32_t disk_block_size(const struct disk *d)
{
    return d->p.block_size;
}

enum disk_type disk_type(const struct disk *d)
{
    return d->p.type;
}

const char *disk_path(const struct disk *d)
{
    return d->path;
}
