/*
 * Native block layer (see native_blk.h): turns a blkdev request into one
 * SAS command on one target. Each page of the request is one SG element
 * at the page's bus address (lib/dma.h); 512-byte sectors become device
 * blocks (512 or 4096 bytes; blkdev_check enforces the alignment).
 *
 * Hops: the request enters H4 here as it is handed to the driver (native
 * has no H2/H3), the device model marks H5 when it fetches the command,
 * and the completion (interrupt context) marks H8 as it hands the result
 * to the application's callback. Submission runs in program context; the
 * driver serialises it against its interrupt handler.
 */
#include "native_blk.h"

#include "dma.h"

struct native_blk {
    struct blkdev dev;
    struct sas_hba *h;
    uint8_t target;
    uint8_t blk_shift; /* log2(block size / 512) */
    char name[16];
};

static struct native_blk nblk;

static int status_errno(int sas_status)
{
    if (sas_status == SAS_ST_OK)
        return 0;
    return sas_status == SAS_ST_BAD_OPCODE ? -XEN_EOPNOTSUPP : -XEN_EIO;
}

/* Interrupt context. */
static void nb_done(struct sas_cmd *c, int status)
{
    struct blkdev_req *r = c->arg;
    r->proto_status = status;
    r->status = status_errno(status);
    trace_hop(HOP_H8, r->id);
    r->done(r);
    nblk.dev.completions++;
}

/* One SG element per page; -XEN_EFAULT if a page has no bus address. */
static int fill_sg(struct sas_cmd *c, const struct blkdev_req *r)
{
    uint32_t bytes = r->nr_sectors * BLKDEV_SECTOR;
    unsigned n = blkdev_nr_pages(r->nr_sectors);
    for (unsigned i = 0; i < n; i++) {
        uint64_t bus = virt_to_bus(r->pages[i]);
        if (bus == DMA_BAD_ADDR || (bus & (PAGE_SIZE - 1)))
            return -XEN_EFAULT;
        uint32_t len = bytes > PAGE_SIZE ? (uint32_t)PAGE_SIZE : bytes;
        sas_sg_set(&c->sg[i], bus, len);
        bytes -= len;
    }
    c->nsg = (uint16_t)n;
    return 0;
}

static int nb_submit(struct blkdev *d, struct blkdev_req *r)
{
    struct native_blk *nb = (struct native_blk *)d;
    int rc = blkdev_check(d, r);
    if (rc)
        return rc;
    struct sas_cmd *c = sas_cmd_alloc(nb->h);
    if (!c)
        return -XEN_EAGAIN;
    c->tag = r->id;
    c->target = nb->target;
    c->done = nb_done;
    c->done_hop = HOP_H8;
    c->arg = r;
    c->nsg = 0;
    c->lba = r->sector >> nb->blk_shift;
    c->nblocks = r->nr_sectors >> nb->blk_shift;
    c->opcode = r->op == BLKDEV_READ    ? SAS_OP_READ
                : r->op == BLKDEV_WRITE ? SAS_OP_WRITE
                                        : SAS_OP_FLUSH;
    if (r->op != BLKDEV_FLUSH && (rc = fill_sg(c, r))) {
        sas_cmd_free(nb->h, c);
        return rc;
    }
    trace_hop(HOP_H4, r->id);
    return sas_cmd_submit(nb->h, c);
}

static void nb_kick(struct blkdev *d)
{
    sas_kick(((struct native_blk *)d)->h);
}

static void nb_close(struct blkdev *d)
{
    sas_shutdown(((struct native_blk *)d)->h);
}

static const struct blkdev_ops nb_ops = {
    .submit = nb_submit,
    .kick = nb_kick,
    .close = nb_close,
};

struct blkdev *native_blk_open(struct sas_hba *h, unsigned target)
{
    const struct sas_target_info *ti = sas_target(h, target);
    if (!ti || (ti->blksz != 512 && ti->blksz != 4096)) {
        printf("native_blk: no usable target %u (%u targets)\n", target, sas_ntargets(h));
        return NULL;
    }
    struct native_blk *nb = &nblk;
    nb->h = h;
    nb->target = (uint8_t)target;
    nb->blk_shift = ti->blksz == 4096 ? 3 : 0;
    snprintf(nb->name, sizeof(nb->name), "sas%u", target);
    nb->dev = (struct blkdev){
        .name = nb->name,
        .sectors = ti->blocks << nb->blk_shift,
        .sector_size = ti->blksz,
        .max_inflight = sas_free_slots(h),
        .can_flush = 1,
        .ops = &nb_ops,
    };
    return &nb->dev;
}
