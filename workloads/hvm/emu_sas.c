/*
 * An emulated hopsim SAS HBA (include/hopsim/sas_hba.h, docs/sas-hba.md)
 * for an HVM guest, carried out by the device model's real SAS driver
 * (blk/sas.c, the same driver backend.elf uses): QEMU's role for an
 * emulated disk controller in Xen.
 *
 * The guest's queues and SG lists live in its RAM, which the device model
 * has mapped (ioserv_guest). A doorbell (SQ_TAIL) fetches every new SQE,
 * checks it as the hardware would (status codes of sas_hba.h), and
 * issues it to the real HBA with the guest's tag: data moves through
 * bounce pages of the device model's own (its real device DMAs into
 * them; reads are copied into the guest's pages on completion, writes out
 * of them before submission). A completion is posted into the guest's CQ
 * with the phase protocol, ISR.CQ set and INTx asserted while
 * ISR & ~IMR != 0. SQEs that find no free real command slot wait for the
 * next completion.
 *
 * Hops: the real submission is H4 (the work after it -- the doorbell, the
 * ioreq's answer -- is done with no request context: it is in no hop of the
 * request, which has left for the device); the real device's completion interrupt
 * moves the request to H6 here (the platform's rule for a backend); the
 * INTx edge that follows the posted completion moves it on to H7.
 */
#include "emu_sas.h"

#include "../blk/sas.h"
#include "dma.h"
#include "guest.h"
#include "ioserv.h"

#define EMU_QMAX 1024
#define EMU_INFLIGHT 64

struct emu_sas;

struct emu_cmd {
    struct emu_sas *e;
    uint64_t tag;
    uint8_t opcode;
    uint16_t nsg;
    uint64_t gpa[SAS_MAX_SG];
    uint32_t len[SAS_MAX_SG];
    void *bounce[SAS_MAX_SG];
    uint64_t bounce_bus[SAS_MAX_SG];
    int next_free;
};

/* One emulated HBA: one guest's (a device model serving several guests has one each). */
struct emu_sas {
    struct emu_fn fn;
    unsigned idx; /* which guest: its partition of every target */
    uint32_t ctrl, status, isr, imr, err, completed, qsize, tgt_sel;
    uint64_t sq_base, cq_base;
    uint32_t sq_tail, sq_head, cq_tail, cq_head;
    uint16_t phase;
    struct emu_cmd cmds[EMU_INFLIGHT];
    int free_head;
    unsigned long issued, refused;
};

static struct emu_sas inst[EMU_SAS_MAX];
static unsigned ninst, nparts = 1;
static struct sas_hba *real; /* the device model's real HBA, shared by every emulated one */
static unsigned ntargets;

static long fault_at, compromise_at;
static int fault_as_process;
static void (*compromise_fn)(void);

void emu_sas_partition(unsigned n)
{
    nparts = n ? n : 1;
}

int emu_sas_part(unsigned idx, unsigned target, uint64_t *base, uint64_t *blocks)
{
    const struct sas_target_info *ti = real ? sas_target(real, target) : NULL;
    if (!ti || idx >= nparts)
        return -XEN_EINVAL;
    *blocks = ti->blocks / nparts;
    *base = idx * *blocks;
    return 0;
}

struct sas_hba *emu_sas_hba(void)
{
    return real;
}

struct emu_fn *emu_sas_fn(unsigned idx)
{
    return idx < ninst ? &inst[idx].fn : NULL;
}

void emu_sas_compromise(long n, void (*probe)(void))
{
    compromise_at = n;
    compromise_fn = probe;
}

void emu_sas_fault(long n, int as_process)
{
    fault_at = n;
    fault_as_process = as_process;
}

/* The injected fault (see emu_sas.h). */
static void emu_fault(struct emu_sas *e)
{
    if (!fault_as_process)
        panic("emu_sas: fault in the device emulation at command %lu", e->issued + 1);
    printf("emu_sas: the emulating process faulted at command %lu; the host reaps it and its "
           "VM\n",
           e->issued + 1);
    e->status = 0; /* its state is gone: nothing more reaches the guest */
    ioserv_kill_guest(&e->fn);
}

static void update_irq(struct emu_sas *e)
{
    ioserv_set_intx(&e->fn, (e->isr & ~e->imr) != 0);
}

static void fatal(struct emu_sas *e, uint32_t err)
{
    e->status = (e->status & ~SAS_STATUS_READY) | SAS_STATUS_FATAL;
    e->err = err;
    e->isr |= SAS_ISR_FATAL;
    update_irq(e);
}

/* Post one completion into the guest's CQ. */
static void post(struct emu_sas *e, uint64_t tag, uint16_t status)
{
    if (((e->cq_tail + 1) & (e->qsize - 1)) == e->cq_head) {
        fatal(e, SAS_ERR_CQ_DMA); /* the guest let its CQ overflow */
        return;
    }
    struct sas_cqe *q =
        ioserv_guest(&e->fn, e->cq_base + (uint64_t)e->cq_tail * sizeof(*q), sizeof(*q));
    if (!q) {
        fatal(e, SAS_ERR_CQ_DMA);
        return;
    }
    /* the emulated completion entry is this device model's response on the guest's ring: the
     * next INTx edge carries it (sim/hvm/dmop.c) */
    trace_begin(SPAN_RING_PUT, tag);
    q->tag = tag;
    q->status = status;
    q->sq_head = (uint16_t)e->sq_head;
    wmb(); /* the entry before its phase */
    q->phase = e->phase;
    trace_end(SPAN_RING_PUT, tag);
    if (++e->cq_tail == e->qsize) {
        e->cq_tail = 0;
        e->phase ^= 1;
    }
    e->completed++;
    e->isr |= SAS_ISR_CQ;
}

static struct emu_cmd *cmd_get(struct emu_sas *e)
{
    if (e->free_head < 0)
        return NULL;
    struct emu_cmd *c = &e->cmds[e->free_head];
    e->free_head = c->next_free;
    return c;
}

static void cmd_put(struct emu_cmd *c)
{
    struct emu_sas *e = c->e;
    c->next_free = e->free_head;
    e->free_head = (int)(c - e->cmds);
}

static void real_done(struct sas_cmd *rc, int status)
{
    struct emu_cmd *c = rc->arg;
    struct emu_sas *e = c->e;
    if (c->opcode == SAS_OP_READ && status == SAS_ST_OK)
        for (unsigned i = 0; i < c->nsg; i++) {
            void *dst = ioserv_guest(&e->fn, c->gpa[i], c->len[i]);
            if (dst)
                memcpy(dst, c->bounce[i], c->len[i]);
            else
                status = SAS_ST_DMA_ERROR;
        }
    if (e->status & SAS_STATUS_READY) { /* after a reset the guest no longer waits for it */
        /* in H6 (taken off the real device), now posted on this guest's ring: its INTx edge
         * carries it on, another guest's does not (0: the host tracks it itself, l4 VMM) */
        uint32_t ring = ioserv_ring(&e->fn);
        if (ring) {
            trace_hop_move(HOP_H6, c->tag);
            trace_hop_ring(HOP_H6, c->tag, ring);
        }
        post(e, c->tag, (uint16_t)(status == SAS_ST_ABORTED ? SAS_ST_MEDIA : status));
    }
    cmd_put(c);
}

/* Check one SQE as the device would; SAS_ST_OK or the completion status to post. */
static int check_sqe(const struct sas_sqe *q, const struct sas_target_info **ti, uint64_t *part)
{
    if (q->opcode != SAS_OP_READ && q->opcode != SAS_OP_WRITE && q->opcode != SAS_OP_FLUSH)
        return SAS_ST_BAD_OPCODE;
    *ti = sas_target(real, q->target);
    if (!*ti)
        return SAS_ST_BAD_TARGET;
    *part = (*ti)->blocks / nparts; /* the guest's own partition of the target */
    if (q->opcode == SAS_OP_FLUSH)
        return SAS_ST_OK;
    if (q->lba > *part || q->nblocks > *part - q->lba)
        return SAS_ST_LBA_RANGE;
    if (q->nsg == 0 || q->nsg > SAS_MAX_SG)
        return SAS_ST_BAD_SGL;
    return SAS_ST_OK;
}

/* Gather the guest's SG list into c; SAS_ST_OK or an error status. */
static int load_sgl(struct emu_sas *e, const struct sas_sqe *q, const struct sas_target_info *ti,
                    struct emu_cmd *c)
{
    const struct sas_sg *sg = ioserv_guest(&e->fn, q->sgl, (uint64_t)q->nsg * sizeof(*sg));
    if (!sg)
        return SAS_ST_DMA_ERROR;
    uint64_t total = 0;
    for (unsigned i = 0; i < q->nsg; i++) {
        uint64_t a = sg[i].addr;
        uint32_t len = sg[i].len;
        if (len == 0 || len > PAGE_SIZE || (a & (PAGE_SIZE - 1)) + len > PAGE_SIZE)
            return SAS_ST_BAD_SGL;
        if (!ioserv_guest(&e->fn, a, len))
            return SAS_ST_DMA_ERROR;
        c->gpa[i] = a;
        c->len[i] = len;
        total += len;
    }
    if (total != (uint64_t)q->nblocks * ti->blksz)
        return SAS_ST_BAD_SGL;
    c->nsg = q->nsg;
    return SAS_ST_OK;
}

/* Issue one SQE to the real HBA: 1 issued, 0 completed at once, -1 no real slot (retry). */
static int issue(struct emu_sas *e, const struct sas_sqe *q)
{
    if (fault_at && e->idx == 0 && (long)e->issued + 1 == fault_at) {
        emu_fault(e);
        return -1;
    }
    const struct sas_target_info *ti = NULL;
    uint64_t part = 0;
    int st = check_sqe(q, &ti, &part);
    struct emu_cmd *c = NULL;
    if (st == SAS_ST_OK) {
        if (!(c = cmd_get(e)))
            return -1;
        c->tag = q->tag;
        c->opcode = q->opcode;
        c->nsg = 0;
        if (q->opcode != SAS_OP_FLUSH)
            st = load_sgl(e, q, ti, c);
    }
    struct sas_cmd *rc = NULL;
    if (st == SAS_ST_OK && !(rc = sas_cmd_alloc(real))) {
        cmd_put(c);
        return -1;
    }
    if (st != SAS_ST_OK) {
        if (c)
            cmd_put(c);
        post(e, q->tag, (uint16_t)st);
        return 0;
    }
    rc->tag = q->tag;
    rc->lba = q->opcode == SAS_OP_FLUSH ? q->lba : e->idx * part + q->lba;
    rc->nblocks = q->nblocks;
    rc->opcode = q->opcode;
    rc->target = q->target;
    rc->nsg = c->nsg;
    rc->done = real_done;
    rc->arg = c;
    for (unsigned i = 0; i < c->nsg; i++) {
        if (q->opcode == SAS_OP_WRITE)
            memcpy(c->bounce[i], ioserv_guest(&e->fn, c->gpa[i], c->len[i]), c->len[i]);
        sas_sg_set(&rc->sg[i], c->bounce_bus[i], c->len[i]);
    }
    trace_hop(HOP_H4, q->tag);
    int sub = sas_cmd_submit(real, rc);
    /* the doorbell and the ioreq's answer that follow serve no hop of this request: the
     * doorbell is where it leaves for the device (H5), the answer comes after */
    trace_ctx(HOPSIM_NOREQ);
    if (sub < 0) {
        e->refused++;
        cmd_put(c);
        post(e, q->tag, SAS_ST_MEDIA);
        return 0;
    }
    e->issued++;
    if (compromise_at && e->idx == 0 && (long)e->issued == compromise_at && compromise_fn)
        compromise_fn(); /* hostile code in this guest's emulation (dm_probe.c) */
    return 1;
}

/* Fetch and issue SQEs from the head up to the tail the guest rang. */
static void process_sq(struct emu_sas *e)
{
    int any = 0;
    while ((e->status & SAS_STATUS_READY) && e->sq_head != e->sq_tail) {
        const struct sas_sqe *q =
            ioserv_guest(&e->fn, e->sq_base + (uint64_t)e->sq_head * sizeof(*q), sizeof(*q));
        if (!q) {
            fatal(e, SAS_ERR_SQ_DMA);
            break;
        }
        int r = issue(e, q);
        if (r < 0)
            break; /* the real HBA is full: the rest waits for a completion */
        any |= r;
        e->sq_head = (e->sq_head + 1) & (e->qsize - 1);
    }
    if (any)
        sas_kick(real);
    update_irq(e);
}

/* The real HBA's interrupt, after its completions: more may now be issued. */
static void real_batch(void *arg)
{
    (void)arg;
    for (unsigned i = 0; i < ninst; i++)
        process_sq(&inst[i]);
}

static void enable(struct emu_sas *e)
{
    uint32_t q = e->qsize;
    if (q < 2 || q > EMU_QMAX || (q & (q - 1))) {
        fatal(e, SAS_ERR_QSIZE);
        return;
    }
    if ((e->sq_base | e->cq_base) & (PAGE_SIZE - 1)) {
        fatal(e, SAS_ERR_QALIGN);
        return;
    }
    e->sq_head = e->sq_tail = e->cq_tail = e->cq_head = 0;
    e->phase = 1;
    e->completed = 0;
    e->status = SAS_STATUS_READY;
    e->err = SAS_ERR_NONE;
}

static void reset(struct emu_sas *e)
{
    e->ctrl = e->status = e->isr = e->err = 0;
    e->imr = ~0u;
    e->sq_head = e->sq_tail = e->cq_head = e->cq_tail = 0;
    update_irq(e);
}

static uint64_t sas_read(struct emu_fn *f, uint64_t off, unsigned size)
{
    struct emu_sas *e = f->opaque;
    if (size != 4)
        return ~0ull;
    const struct sas_target_info *ti = sas_target(real, e->tgt_sel);
    uint64_t part = ti ? ti->blocks / nparts : 0;
    switch (off) {
    case SAS_REG_ID:
        return SAS_ID_VALUE;
    case SAS_REG_VERSION:
        return SAS_VERSION_VALUE;
    case SAS_REG_CAP:
        return EMU_QMAX | (uint32_t)ntargets << 16 | (uint32_t)SAS_MAX_SG << 24;
    case SAS_REG_CTRL:
        return e->ctrl;
    case SAS_REG_STATUS:
        return e->status;
    case SAS_REG_ISR:
        return e->isr;
    case SAS_REG_IMR:
        return e->imr;
    case SAS_REG_SQ_BASE:
        return (uint32_t)e->sq_base;
    case SAS_REG_SQ_BASE + 4:
        return (uint32_t)(e->sq_base >> 32);
    case SAS_REG_CQ_BASE:
        return (uint32_t)e->cq_base;
    case SAS_REG_CQ_BASE + 4:
        return (uint32_t)(e->cq_base >> 32);
    case SAS_REG_QSIZE:
        return e->qsize;
    case SAS_REG_SQ_HEAD:
        return e->sq_head;
    case SAS_REG_NTARGETS:
        return ntargets;
    case SAS_REG_TGT_SEL:
        return e->tgt_sel;
    case SAS_REG_TGT_BLOCKS:
        return (uint32_t)part;
    case SAS_REG_TGT_BLOCKS + 4:
        return (uint32_t)(part >> 32);
    case SAS_REG_TGT_BLKSZ:
        return ti ? ti->blksz : 0;
    case SAS_REG_TGT_TYPE:
        return ti ? ti->type : SAS_TGT_NONE;
    case SAS_REG_ERR:
        return e->err;
    case SAS_REG_COMPLETED:
        return e->completed;
    default:
        return 0;
    }
}

static void set_lo(uint64_t *r, uint32_t v)
{
    *r = (*r & ~0xffffffffull) | v;
}

static void set_hi(uint64_t *r, uint32_t v)
{
    *r = (*r & 0xffffffffull) | (uint64_t)v << 32;
}

static void sas_write(struct emu_fn *f, uint64_t off, unsigned size, uint64_t val)
{
    struct emu_sas *e = f->opaque;
    uint32_t v = (uint32_t)val;
    if (size != 4)
        return;
    int ready = (e->status & SAS_STATUS_READY) != 0;
    switch (off) {
    case SAS_REG_CTRL:
        if (v & SAS_CTRL_RESET) {
            reset(e);
            return;
        }
        if ((v & SAS_CTRL_ENABLE) && !(e->ctrl & SAS_CTRL_ENABLE))
            enable(e);
        if (!(v & SAS_CTRL_ENABLE))
            e->status &= ~SAS_STATUS_READY;
        e->ctrl = v & SAS_CTRL_ENABLE;
        return;
    case SAS_REG_ISR:
        e->isr &= ~v;
        update_irq(e);
        return;
    case SAS_REG_IMR:
        e->imr = v;
        update_irq(e);
        return;
    case SAS_REG_SQ_BASE:
    case SAS_REG_SQ_BASE + 4:
    case SAS_REG_CQ_BASE:
    case SAS_REG_CQ_BASE + 4:
    case SAS_REG_QSIZE:
        if (ready)
            return; /* latched while enabled */
        if (off == SAS_REG_QSIZE)
            e->qsize = v;
        else if (off == SAS_REG_SQ_BASE)
            set_lo(&e->sq_base, v);
        else if (off == SAS_REG_SQ_BASE + 4)
            set_hi(&e->sq_base, v);
        else if (off == SAS_REG_CQ_BASE)
            set_lo(&e->cq_base, v);
        else
            set_hi(&e->cq_base, v);
        return;
    case SAS_REG_SQ_TAIL:
        if (!ready)
            return;
        if (v >= e->qsize) {
            fatal(e, SAS_ERR_DOORBELL);
            return;
        }
        e->sq_tail = v;
        process_sq(e);
        return;
    case SAS_REG_CQ_HEAD:
        if (ready && v < e->qsize)
            e->cq_head = v;
        return;
    case SAS_REG_TGT_SEL:
        e->tgt_sel = v;
        return;
    default:
        return;
    }
}

static const struct emu_ops sas_ops = {.read = sas_read, .write = sas_write};

int emu_sas_init(unsigned slot, struct emu_fn **out)
{
    if (ninst == EMU_SAS_MAX)
        return -XEN_ENOSPC;
    if (!real) {
        int rc = sas_probe(SAS_DEFAULT_QSIZE, &real);
        if (rc) {
            printf("emu_sas: no real SAS HBA to carry the guest's I/O: %d\n", rc);
            return rc;
        }
        ntargets = sas_ntargets(real);
        sas_set_batch_hook(real, real_batch, NULL);
    }
    struct emu_sas *e = &inst[ninst];
    e->idx = ninst++;
    e->free_head = -1;
    for (int i = EMU_INFLIGHT - 1; i >= 0; i--) {
        struct emu_cmd *c = &e->cmds[i];
        c->e = e;
        for (unsigned k = 0; k < SAS_MAX_SG; k++) {
            c->bounce[k] = dma_alloc(1, &c->bounce_bus[k]);
            if (!c->bounce[k])
                return -XEN_ENOMEM;
        }
        c->next_free = e->free_head;
        e->free_head = i;
    }
    e->imr = ~0u;
    e->fn = (struct emu_fn){.name = "SAS HBA",
                            .slot = slot,
                            .vendor = SAS_PCI_VENDOR,
                            .device = SAS_PCI_DEVICE,
                            .class_code = SAS_PCI_CLASS,
                            .bar_size = SAS_BAR0_SIZE,
                            .ops = &sas_ops,
                            .opaque = e};
    *out = &e->fn;
    return ioserv_add(&e->fn);
}

void emu_sas_report(void)
{
    for (unsigned i = 0; i < ninst; i++) {
        char who[24] = "";
        if (ninst > 1)
            snprintf(who, sizeof(who), "guest %u: ", i + 1);
        printf("emu_sas: %s%lu commands issued to the real HBA, %u completed to the guest\n", who,
               inst[i].issued, inst[i].completed);
    }
}
