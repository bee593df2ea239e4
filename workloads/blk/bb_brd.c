/*
 * store=brd: blkback serves its vbds from a RAM disk in this domain's own
 * memory, as a Linux dom0 exporting /dev/ram0 does (drivers/block/brd.c):
 * no controller, no interrupt. blkback's dispatch_rw_block_io() submits
 * the bio, brd_submit_bio() copies each segment at once (brd_do_bvec) and
 * ends the bio in the submitter's context, so __end_block_io_op() -- the
 * unmap of the request's grants with its TLB flush, and the response --
 * runs on the vCPU whose ring kthread took the request, not on one
 * interrupt vCPU. With several rings on several vCPUs the unmaps (and
 * their flushes, which take Xen's flush_lock) run concurrently.
 *
 * Like brd the disk is sparse: a page is allocated the first time a write
 * reaches it (brd_insert_page) and a read of a page never written returns
 * zeros (copy_from_brd). Pages are indexed by their disk page number in an
 * insert-only open-addressing table; when the table or this domain's
 * memory is full, a write fails (brd: -ENOSPC, BLK_STS_RESOURCE) and the
 * request gets BLKIF_RSP_ERROR.
 */
#include "bb.h"

#define BRD_SLOTS 16384u /* pages a brd disk may hold: 64 MiB written at most */

struct brd_page {
    uint64_t key; /* disk page number + 1; 0: empty */
    uint8_t *page;
};

static struct brd_page *brd_table;
static unsigned brd_pages;
static spinlock_t brd_lock = SPINLOCK_INIT; /* brd's brd_lock around the insert */
static int brd_full_said;

int brd_init(void)
{
    size_t bytes = BRD_SLOTS * sizeof(struct brd_page);
    brd_table = page_alloc((bytes + PAGE_SIZE - 1) / PAGE_SIZE);
    if (!brd_table) {
        printf("blkback: store=brd: no memory for the page table\n");
        return -1;
    }
    memset(brd_table, 0, bytes);
    return 0;
}

static struct brd_page *slot(uint64_t pgno)
{
    uint64_t key = pgno + 1;
    unsigned i = (unsigned)((key * 0x9e3779b97f4a7c15ull) >> 50) & (BRD_SLOTS - 1);
    for (unsigned n = 0; n < BRD_SLOTS; n++, i = (i + 1) & (BRD_SLOTS - 1)) {
        uint64_t k = __atomic_load_n(&brd_table[i].key, __ATOMIC_ACQUIRE);
        if (!k || k == key)
            return &brd_table[i];
    }
    return NULL; /* full, and not there */
}

/* The page holding disk page pgno, or NULL; with alloc, inserted if missing (NULL: full). */
static uint8_t *lookup(uint64_t pgno, int alloc)
{
    struct brd_page *e = slot(pgno);
    if (e && e->key)
        return e->page;
    if (!alloc)
        return NULL;
    int f = spin_lock_irqsave(&brd_lock);
    e = slot(pgno); /* again under the lock: another vCPU may have inserted it */
    uint8_t *pg = e && e->key ? e->page : NULL;
    if (e && !e->key && brd_pages < BRD_SLOTS * 3 / 4 && (pg = page_alloc(1)) != NULL) {
        memset(pg, 0, PAGE_SIZE);
        e->page = pg;
        __atomic_store_n(&e->key, pgno + 1, __ATOMIC_RELEASE);
        brd_pages++;
    }
    spin_unlock_irqrestore(&brd_lock, f);
    if (!pg && !brd_full_said++)
        printf("blkback: store=brd: disk full (%u pages): writes fail\n", brd_pages);
    return pg;
}

/* Copy len bytes at disk byte pos from (write) or to (read) buf, a page at a time. */
static int copy_disk(uint64_t pos, uint8_t *buf, uint32_t len, int write)
{
    while (len) {
        uint32_t off = (uint32_t)(pos & (PAGE_SIZE - 1)), n = PAGE_SIZE - off;
        n = n < len ? n : len;
        uint8_t *pg = lookup(pos / PAGE_SIZE, write);
        if (write) {
            if (!pg)
                return -1;
            memcpy(pg + off, buf, n);
        } else if (pg) {
            memcpy(buf, pg + off, n);
        } else {
            memset(buf, 0, n);
        }
        pos += n;
        buf += n;
        len -= n;
    }
    return 0;
}

int16_t brd_serve(struct vbd *v, struct bb_req *p)
{
    if (p->op == BLKIF_OP_FLUSH_DISKCACHE)
        return BLKIF_RSP_OKAY; /* nothing volatile to flush: brd takes REQ_PREFLUSH as a no-op */
    int write = p->op == BLKIF_OP_WRITE;
    uint64_t pos = (v->start + p->sector) * 512;
    int16_t st = BLKIF_RSP_OKAY;
    trace_begin(SPAN_MEMCPY, p->id);
    for (unsigned i = 0; i < p->nseg; i++) {
        const struct bb_seg *s = &p->seg[i];
        uint32_t len = (uint32_t)(s->last - s->first + 1) * 512;
        uint8_t *page = bb_mode == GM_COPY ? p->bounce[i] : s->addr;
        if (!page || copy_disk(pos, page + s->first * 512, len, write)) {
            st = BLKIF_RSP_ERROR;
            break;
        }
        pos += len;
    }
    trace_end(SPAN_MEMCPY, p->id);
    /* copy mode: the read's data goes from our bounce pages to the frontend's */
    if (st == BLKIF_RSP_OKAY && !write && bb_mode == GM_COPY && copy_segs(v, p, 1))
        st = BLKIF_RSP_ERROR;
    return st;
}
