/*
 * fio-like block test program over struct blkdev (see fio.h).
 *
 * Arguments:
 *   rw=read|write|randread|randwrite|randrw   (randread)
 *   rwmixread=P    percent of reads in randrw (50)
 *   bs=B           bytes per request: a multiple of 512 and of the device's
 *                  sector size, at most 11 pages (4096)
 *   iodepth=N      requests in flight (1; at most 64 and what the device takes)
 *   requests=N     requests to issue (1000)
 *   offset=O size=S   the region, in bytes (0, the rest of the device);
 *                  offset aligned to the sector size, size cut to whole bs
 *   seed=X         xorshift64* seed (1); also stamped into verify patterns
 *   verify=0|1     pattern-check the data (0)
 *
 * Request i of the region is block b (bs bytes at offset + b*bs): b walks
 * the region in order for read/write (wrapping) and is drawn at random for
 * the rand* modes. Every request has the global id HOPSIM_REQ(domid, seq),
 * seq 1, 2, ... (the final verify pass continues the sequence).
 *
 * verify=1: every written sector carries hopsim_pattern_fill(lba, wseq,
 * seed), wseq counting writes from 1; the last wseq that completed per
 * sector of the region is kept (a uint32 per sector, from the page
 * allocator), and every read of a sector written before is checked (one
 * GCHECK per sector; sectors never written are not checked). To keep that
 * exact, no two requests in flight overlap (a conflicting draw is redrawn,
 * or waits for a completion). At the end every written sector is read back
 * and checked (the final verify pass). With verify=0 writes carry no
 * pattern (a buffer that held one has its magic words cleared).
 *
 * Completions arrive in event context (blkdev.h): the callback only queues
 * the slot; checks, GCHECKs and trace_done run in program context.
 */
#include "fio.h"

#include <hopsim/blkpattern.h>

#define FIO_MAX_DEPTH 64
#define MAX_REDRAW 8
#define MAX_REPORTS 10

enum fio_rw { RW_READ, RW_WRITE, RW_RANDREAD, RW_RANDWRITE, RW_RANDRW };

static const char *const rw_names[] = {"read", "write", "randread", "randwrite", "randrw"};

struct fio_slot {
    struct blkdev_req r; /* first: the callback gets &r */
    uint8_t *buf;
    uint32_t wseq;
    uint8_t busy;
    uint8_t dirty; /* the buffer may hold a pattern */
};

struct fio_stats {
    unsigned long reqs, reads, writes, failed, checked, bad, unchecked;
    uint64_t bytes;
};

struct fio {
    struct blkdev *d;
    enum fio_rw rw;
    unsigned mixread, iodepth, inflight;
    uint32_t bs, bs_sect;
    uint64_t first_sect, region_sect, nblk, cursor, rng, seed;
    unsigned long requests, issued;
    int verify, final_pass;
    uint32_t *seqmap; /* per sector of the region: last completed write's wseq, 0 = never */
    uint32_t wseq;
    uint32_t next_seq;
    struct fio_slot slot[FIO_MAX_DEPTH];
    uint8_t doneq[FIO_MAX_DEPTH]; /* completed slots, filled in event context */
    volatile unsigned dq_count;
    unsigned dq_head;
    struct fio_stats main, fin;
};

static struct fio job;

/* ---- random numbers: xorshift64* ---- */

static uint64_t rnd(struct fio *f)
{
    uint64_t x = f->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    f->rng = x;
    return x * 0x2545f4914f6cdd1dull;
}

/* ---- arguments ---- */
ARG_ENUM(rw, "read|write|randread|randwrite|randrw", "access pattern");
ARG_INT_STEP(bs, 512, BLKDEV_MAX_PAGES *PAGE_SIZE, 512,
             "bytes per request, a multiple of the disk's block size");
ARG_INT(iodepth, 1, FIO_MAX_DEPTH, "requests in flight (at most the device's queue)");
ARG_INT(rwmixread, 0, 100, "randrw: percentage of reads");
ARG_INT(requests, 0, INT64_MAX, "requests to issue");
ARG_INT_STEP(offset, 0, INT64_MAX, 512, "first byte of the region the program works on");
ARG_INT(size, 0, INT64_MAX, "bytes in the region (0: to the end of the device)");
ARG_INT(seed, INT64_MIN, INT64_MAX, "seed of the random offsets");
ARG_BOOL(verify, "write a pattern per sector and check every read against it");

static int parse_rw(struct fio *f)
{
    const char *rw = arg_str("rw", "randread");
    for (unsigned i = 0; i < ARRAY_SIZE(rw_names); i++)
        if (!strcmp(rw, rw_names[i])) {
            f->rw = (enum fio_rw)i;
            return 0;
        }
    printf("fio: rw=%s: expected read, write, randread, randwrite or randrw\n", rw);
    return -1;
}

static int parse_region(struct fio *f)
{
    uint64_t dev_bytes = f->d->sectors * BLKDEV_SECTOR;
    long off = arg_int("offset", 0), size = arg_int("size", 0);
    if (off < 0 || size < 0 || (uint64_t)off >= dev_bytes || off % f->d->sector_size) {
        printf("fio: offset=%ld: outside the device (%llu bytes) or not aligned to %u\n", off,
               (unsigned long long)dev_bytes, f->d->sector_size);
        return -1;
    }
    uint64_t sz = size ? (uint64_t)size : dev_bytes - (uint64_t)off;
    if (sz > dev_bytes - (uint64_t)off || sz < f->bs) {
        printf("fio: size=%llu does not fit the device after offset %ld, or is below bs\n",
               (unsigned long long)sz, off);
        return -1;
    }
    f->nblk = sz / f->bs;
    f->first_sect = (uint64_t)off / BLKDEV_SECTOR;
    f->region_sect = f->nblk * f->bs_sect;
    return 0;
}

static int parse_args(struct fio *f)
{
    long bs = arg_int("bs", 4096), depth = arg_int("iodepth", 1);
    long mix = arg_int("rwmixread", 50), reqs = arg_int("requests", 1000);
    if (parse_rw(f))
        return -1;
    if (bs <= 0 || bs % BLKDEV_SECTOR || bs % f->d->sector_size ||
        bs > (long)(BLKDEV_MAX_PAGES * PAGE_SIZE)) {
        printf("fio: bs=%ld: must be a multiple of %u, at most %lu\n", bs, f->d->sector_size,
               BLKDEV_MAX_PAGES * PAGE_SIZE);
        return -1;
    }
    unsigned max_depth = MIN((unsigned)FIO_MAX_DEPTH, f->d->max_inflight);
    if (depth < 1 || depth > (long)max_depth || mix < 0 || mix > 100 || reqs < 0) {
        printf("fio: iodepth=%ld (1..%u), rwmixread=%ld (0..100), requests=%ld: out of range\n",
               depth, max_depth, mix, reqs);
        return -1;
    }
    f->bs = (uint32_t)bs;
    f->bs_sect = f->bs / BLKDEV_SECTOR;
    f->iodepth = (unsigned)depth;
    f->mixread = (unsigned)mix;
    f->requests = (unsigned long)reqs;
    f->seed = (uint64_t)arg_int("seed", 1);
    f->rng = f->seed ? f->seed : 0x9e3779b97f4a7c15ull;
    f->verify = arg_int("verify", 0) != 0;
    return parse_region(f);
}

/* ---- set-up ---- */

static void on_done(struct blkdev_req *r);

static int alloc_buffers(struct fio *f)
{
    unsigned pages = blkdev_nr_pages(f->bs_sect);
    for (unsigned i = 0; i < f->iodepth; i++) {
        struct fio_slot *s = &f->slot[i];
        s->buf = page_zalloc(pages);
        if (!s->buf)
            return -1;
        for (unsigned p = 0; p < pages; p++)
            s->r.pages[p] = s->buf + p * PAGE_SIZE;
        s->r.done = on_done;
        s->r.owner = f;
    }
    if (f->verify) {
        size_t bytes = f->region_sect * sizeof(uint32_t);
        f->seqmap = page_zalloc((bytes + PAGE_SIZE - 1) / PAGE_SIZE);
        if (!f->seqmap) {
            printf("fio: verify needs %llu KiB for a region of %llu sectors: out of memory\n",
                   (unsigned long long)(bytes >> 10), (unsigned long long)f->region_sect);
            return -1;
        }
    }
    return 0;
}

/* ---- completion (event context) ---- */

static void on_done(struct blkdev_req *r)
{
    struct fio *f = r->owner;
    unsigned idx = (unsigned)((struct fio_slot *)r - f->slot);
    f->doneq[(f->dq_head + f->dq_count) % FIO_MAX_DEPTH] = (uint8_t)idx;
    f->dq_count++;
}

/* Next completed slot, or NULL (program context). */
static struct fio_slot *take_done(struct fio *f)
{
    struct fio_slot *s = NULL;
    int fl = irq_save();
    if (f->dq_count) {
        s = &f->slot[f->doneq[f->dq_head]];
        f->dq_head = (f->dq_head + 1) % FIO_MAX_DEPTH;
        f->dq_count--;
    }
    irq_restore(fl);
    return s;
}

/* ---- choosing and preparing requests ---- */

static int overlaps(const struct fio *f, uint64_t sector)
{
    for (unsigned i = 0; i < f->iodepth; i++) {
        const struct fio_slot *s = &f->slot[i];
        if (s->busy && sector < s->r.sector + f->bs_sect && s->r.sector < sector + f->bs_sect)
            return 1;
    }
    return 0;
}

static uint64_t block_sector(const struct fio *f, uint64_t b)
{
    return f->first_sect + b * f->bs_sect;
}

/* Block and direction of the next main-phase request: 1, or 0 if it must wait. */
static int draw(struct fio *f, uint64_t *sector, int *write)
{
    int random = f->rw >= RW_RANDREAD;
    for (unsigned tries = 0; tries < MAX_REDRAW; tries++) {
        uint64_t b = random ? rnd(f) % f->nblk : f->cursor % f->nblk;
        *sector = block_sector(f, b);
        if (f->verify && overlaps(f, *sector)) {
            if (!random)
                return 0; /* sequential: wait for the block to be free */
            continue;
        }
        if (!random)
            f->cursor++;
        *write = f->rw == RW_WRITE || f->rw == RW_RANDWRITE ||
                 (f->rw == RW_RANDRW && rnd(f) % 100 >= f->mixread);
        return 1;
    }
    return 0;
}

static void fill_write(struct fio *f, struct fio_slot *s)
{
    uint64_t lba = s->r.sector;
    if (f->verify) {
        s->wseq = ++f->wseq;
        for (uint32_t i = 0; i < f->bs_sect; i++)
            hopsim_pattern_fill(s->buf + i * HOPSIM_SECTOR, lba + i, s->wseq, f->seed);
        s->dirty = 1;
    } else if (s->dirty) {
        for (uint32_t i = 0; i < f->bs_sect; i++)
            *(uint64_t *)(s->buf + i * HOPSIM_SECTOR) = 0; /* no stale pattern on the disk */
        s->dirty = 0;
    }
}

static struct fio_slot *free_slot(struct fio *f)
{
    for (unsigned i = 0; i < f->iodepth; i++)
        if (!f->slot[i].busy)
            return &f->slot[i];
    return NULL;
}

/* Prepare and submit s (H1); a refused submission is a failed request. */
static void issue(struct fio *f, struct fio_slot *s, uint64_t sector, int write)
{
    struct blkdev_req *r = &s->r;
    r->id = HOPSIM_REQ(xen_domid, ++f->next_seq);
    r->op = write ? BLKDEV_WRITE : BLKDEV_READ;
    r->sector = sector;
    r->nr_sectors = f->bs_sect;
    trace_ctx(r->id);
    trace_begin(SPAN_APP, r->id);
    if (write)
        fill_write(f, s);
    trace_end(SPAN_APP, r->id);
    trace_hop(HOP_H1, r->id);
    s->busy = 1;
    f->inflight++;
    int rc = blkdev_submit(f->d, r);
    if (rc) {
        printf("fio: submit of request 0x%llx refused: %d\n", (unsigned long long)r->id, rc);
        r->status = rc;
        r->proto_status = 0;
        int fl = irq_save();
        on_done(r); /* reaped like any completion */
        irq_restore(fl);
    }
    trace_ctx(HOPSIM_NOREQ);
}

/* ---- checking completions ---- */

static void report_bad(const struct fio_slot *s, uint64_t lba, int rc, uint64_t seq, uint32_t exp)
{
    const struct hopsim_sector_hdr *h =
        (const void *)(s->buf + (lba - s->r.sector) * HOPSIM_SECTOR);
    printf("fio: verify failed at sector %llu (request 0x%llx): check %d, seq %llu expected %u, "
           "magic %llx lba %llu seed %llu\n",
           (unsigned long long)lba, (unsigned long long)s->r.id, rc, (unsigned long long)seq, exp,
           (unsigned long long)h->magic, (unsigned long long)h->lba, (unsigned long long)h->seed);
}

static void check_read(struct fio *f, struct fio_slot *s, struct fio_stats *st)
{
    const uint32_t *exp = f->seqmap + (s->r.sector - f->first_sect);
    for (uint32_t i = 0; i < f->bs_sect; i++) {
        if (!exp[i]) {
            st->unchecked++;
            continue;
        }
        const uint8_t *sec = s->buf + i * HOPSIM_SECTOR;
        uint64_t seq = 0, lba = s->r.sector + i;
        int rc = hopsim_pattern_check(sec, lba, &seq);
        int ok =
            rc == 1 && seq == exp[i] && ((const struct hopsim_sector_hdr *)sec)->seed == f->seed;
        st->checked++;
        if (!GCHECK(ok) && st->bad++ < MAX_REPORTS)
            report_bad(s, lba, rc, seq, exp[i]);
    }
}

static void record_write(struct fio *f, const struct fio_slot *s)
{
    uint32_t *m = f->seqmap + (s->r.sector - f->first_sect);
    uint32_t v = s->r.status ? 0 : s->wseq; /* a failed write leaves the sectors unknown */
    for (uint32_t i = 0; i < f->bs_sect; i++)
        m[i] = v;
}

static void reap(struct fio *f, struct fio_slot *s)
{
    struct blkdev_req *r = &s->r;
    struct fio_stats *st = f->final_pass ? &f->fin : &f->main;
    trace_ctx(r->id);
    trace_begin(SPAN_CHECK, r->id);
    if (!GCHECK_EQ(r->status, 0))
        printf("fio: request 0x%llx (%s sector %llu, %u sectors) failed: %d (protocol status %d)\n",
               (unsigned long long)r->id, r->op == BLKDEV_WRITE ? "write" : "read",
               (unsigned long long)r->sector, r->nr_sectors, r->status, r->proto_status);
    st->reqs++;
    st->failed += r->status != 0;
    st->bytes += (uint64_t)r->nr_sectors * BLKDEV_SECTOR;
    if (r->op == BLKDEV_WRITE) {
        st->writes++;
        if (f->verify)
            record_write(f, s);
    } else {
        st->reads++;
        s->dirty = 1;
        if (f->verify && !r->status)
            check_read(f, s, st);
    }
    trace_end(SPAN_CHECK, r->id);
    trace_done(r->id);
    trace_ctx(HOPSIM_NOREQ);
    s->busy = 0;
    f->inflight--;
}

/* ---- the engine ---- */

/* Main phase: the next request, 1 if issued, 0 if nothing can be issued now. */
static int next_main(struct fio *f, struct fio_slot *s)
{
    uint64_t sector;
    int write;
    if (f->issued == f->requests || !draw(f, &sector, &write))
        return 0;
    f->issued++;
    issue(f, s, sector, write);
    return 1;
}

/* Final pass: the next block holding written sectors, read back. */
static int next_verify(struct fio *f, struct fio_slot *s)
{
    for (; f->cursor < f->nblk; f->cursor++) {
        const uint32_t *m = f->seqmap + f->cursor * f->bs_sect;
        uint32_t i = 0;
        while (i < f->bs_sect && !m[i])
            i++;
        if (i < f->bs_sect) {
            issue(f, s, block_sector(f, f->cursor++), 0);
            return 1;
        }
    }
    return 0;
}

/* Keep iodepth requests in flight until next() has nothing more and all completed. */
static void engine(struct fio *f, int (*next)(struct fio *, struct fio_slot *))
{
    for (;;) {
        unsigned n = 0;
        struct fio_slot *s;
        while (f->inflight < f->iodepth && (s = free_slot(f)) && next(f, s))
            n++;
        if (n)
            blkdev_kick(f->d);
        if (!f->inflight)
            return;
        unsigned long seen = f->d->completions; /* before looking at the queue: no lost wake-up */
        if (!f->dq_count)
            blkdev_wait(f->d, seen);
        while ((s = take_done(f)))
            reap(f, s);
    }
}

/* ---- summary ---- */

static void print_rate(const char *what, const struct fio_stats *st, uint64_t ns)
{
    uint64_t t = ns ? ns : 1;
    uint64_t iops = (uint64_t)st->reqs * 1000000000ull / t;
    uint64_t mbs100 = st->bytes * 100000ull / t; /* MB/s (10^6 B/s) x 100 */
    printf("fio: %s: %lu requests (%lu reads, %lu writes, %lu failed), %llu bytes in %llu ns: "
           "%llu IOPS, %llu.%02llu MB/s\n",
           what, st->reqs, st->reads, st->writes, st->failed, (unsigned long long)st->bytes,
           (unsigned long long)ns, (unsigned long long)iops, (unsigned long long)(mbs100 / 100),
           (unsigned long long)(mbs100 % 100));
}

static void summary(const struct fio *f, uint64_t ns, uint64_t verify_ns)
{
    printf("fio: %s rw=%s bs=%u iodepth=%u region [%llu, +%llu) sectors, seed %llu\n", f->d->name,
           rw_names[f->rw], f->bs, f->iodepth, (unsigned long long)f->first_sect,
           (unsigned long long)f->region_sect, (unsigned long long)f->seed);
    print_rate("job", &f->main, ns);
    if (!f->verify)
        return;
    printf("fio: verify: %lu sectors checked, %lu bad, %lu read before any write\n",
           f->main.checked, f->main.bad, f->main.unchecked);
    print_rate("final verify pass", &f->fin, verify_ns);
    printf("fio: final verify: %lu sectors checked, %lu bad\n", f->fin.checked, f->fin.bad);
}

int fio_run(struct blkdev *d)
{
    struct fio *f = &job;
    f->d = d;
    if (parse_args(f) || alloc_buffers(f))
        return 1;
    uint64_t t0 = time_now_ns();
    engine(f, next_main);
    uint64_t t1 = time_now_ns();
    if (f->verify) {
        f->final_pass = 1;
        f->cursor = 0;
        engine(f, next_verify);
    }
    summary(f, t1 - t0, time_now_ns() - t1);
    return 0;
}
