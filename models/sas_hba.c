/*
 * The SAS HBA device model: the register interface of
 * include/hopsim/sas_hba.h (user documentation in docs/sas-hba.md).
 *
 * Each command moves through stages, each an event on the shared queue:
 *
 *   FETCH (SQE DMA) -> FW (firmware) -> SGL (SG list DMA)
 *     READ:  -> MEDIA -> DATA_IN (DMA to host)  -> POST (CQE DMA)
 *     WRITE: -> DATA_OUT (DMA from host) -> MEDIA -> POST
 *     FLUSH: FW -> [FLUSH_WAIT] -> MEDIA (until the disk is idle) -> POST
 *   any error status: -> POST
 *
 * A DMA stage of n bytes takes dma_latency + n / pcie_bw; FW takes
 * hba_cmd_overhead on the one firmware processor (commands queue for it);
 * MEDIA takes what the disk says (disk_schedule). After the CQE is
 * written, ISR.CQ is set and, unless masked, the interrupt line is raised
 * msi_latency later.
 *
 * Assumptions and choices:
 * - SQ entries are fetched one at a time, in order, each no earlier than
 *   the doorbell write that made it available (MMIO `now` may be ahead of
 *   the event queue: a vCPU slice runs atomically at its start).
 * - At most SAS_HBA_CONTEXTS commands are in the device; fetching pauses
 *   while all contexts are busy and resumes when one completes.
 * - Data is copied when its DMA stage ends (guest memory is read or
 *   written at that moment) through a bounce buffer of the command; disk
 *   images are read or written when the media stage ends.
 * - The CQ holds at most QSIZE - 1 unconsumed entries (NVMe's rule: full
 *   when tail + 1 == head). Completions that find it full wait, in order,
 *   until a CQ_HEAD write makes room. A slot is taken when the command
 *   completes; the CQE lands when the POST stage ends.
 * - FLUSH (SCSI SYNCHRONIZE CACHE) first waits until every WRITE to its
 *   target fetched before it has reached the media stage (or failed),
 *   then completes when that disk has nothing scheduled any more.
 * - Bus Master Enable off: a DMA stage about to begin waits ("parked")
 *   until the driver sets it again; it then begins at the event queue's
 *   time (config writes carry no time of their own).
 * - Fatal errors (bad QSIZE or alignment at enable, doorbell out of range,
 *   SQ fetch or CQ post to a bad bus address) abort every command in the
 *   device, set STATUS.FATAL, ERR and ISR.FATAL; only a reset or clearing
 *   CTRL.ENABLE leaves that state. Doorbells are ignored unless READY.
 * - Interrupts: each CQE posting with ISR.CQ unmasked raises the line (an
 *   MSI each time; for INTx the platform treats repeated raises as one
 *   level). The line is lowered when no unmasked cause is left in ISR.
 *   No interrupt moderation.
 * - Registers are 32-bit: reads of 1, 2 or 4 bytes return that part of
 *   the register; writes must be 4 bytes, aligned (others are ignored).
 * - Guest mistakes never crash the host: they end in a status code or a
 *   fatal error. Host invariants are assert()s.
 */
#include "sas_hba.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum cmd_stage {
    CS_FREE,
    CS_FETCH,      /* SQE DMA read */
    CS_FW,         /* firmware decodes and validates */
    CS_SGL,        /* SG list DMA read */
    CS_DATA_OUT,   /* WRITE: data DMA host -> device */
    CS_MEDIA,      /* disk media operation */
    CS_DATA_IN,    /* READ: data DMA device -> host */
    CS_HELD,       /* completion waiting for CQ space */
    CS_FLUSH_WAIT, /* FLUSH waiting for earlier WRITEs to reach the media */
    CS_POST,       /* CQE DMA write */
};

struct sas_cmd {
    struct sas_hba *h;
    enum cmd_stage stage;
    bool parked; /* waiting for Bus Master Enable to begin `stage` */
    evq_handle ev;
    simtime_t t; /* when the current stage began */
    struct sas_sqe sqe;
    struct sas_sg sg[SAS_MAX_SG];
    uint32_t bytes; /* data transfer size */
    uint8_t *buf;   /* bounce buffer, `bytes` long */
    uint16_t sq_head, status, cq_slot, cq_phase;
    uint64_t seq; /* fetch order */
    struct sas_cmd *next_held;
};

struct sas_hba {
    struct dev_env env;
    struct pci_func *pci;
    struct disk *disk[SAS_HBA_MAX_TARGETS];
    unsigned ntargets;
    /* registers as the driver wrote them */
    uint32_t ctrl, status, isr, imr, err, completed, tgt_sel, qsize;
    uint64_t sq_base, cq_base;
    /* queue state, latched at enable */
    uint32_t size;
    uint64_t sqb, cqb;
    uint32_t sq_head, sq_tail, cq_head, cq_tail;
    uint16_t phase;
    simtime_t avail_at[SAS_HBA_MAX_QUEUE]; /* doorbell time of each SQ slot */
    bool fetching;
    uint64_t fetch_seq;
    unsigned flush_waiting;
    simtime_t fw_free; /* the firmware processor is busy until then */
    struct sas_cmd *held_head, *held_tail;
    bool irq_up;
    unsigned nfree;
    uint16_t free_stack[SAS_HBA_CONTEXTS];
    struct sas_cmd cmd[SAS_HBA_CONTEXTS];
};

static void cmd_begin(struct sas_cmd *c, enum cmd_stage st, simtime_t now);

/* ---- small helpers ------------------------------------------------------- */

static simtime_t later(simtime_t a, simtime_t b)
{
    return a > b ? a : b;
}

static void span(const struct sas_hba *h, uint64_t req, int kind, simtime_t start, simtime_t end,
                 const char *name, int64_t arg)
{
    if (!h->env.tr)
        return;
    struct trace_span s = {
        .req = req,
        .hop = req != HOPSIM_NOREQ ? HOP_H5 : HOP_NONE,
        .kind = (uint16_t)kind,
        .place = h->env.place,
        .start = start,
        .end = end,
        .name = name,
        .arg = arg,
    };
    trace_span(h->env.tr, &s);
}

/* ---- interrupts ------------------------------------------------------------ */

/* Returns when the interrupt reaches the CPU. */
static simtime_t irq_raise(struct sas_hba *h, simtime_t now, uint64_t req)
{
    simtime_t when = now + dev_msi_time(&h->env);
    bool msi = pci_msi(h->pci, NULL, NULL);
    h->irq_up = true;
    pci_func_set_intx(h->pci, !msi);
    span(h, req, SPAN_IRQ, now, when, msi ? "msi" : "intx", h->isr);
    if (h->env.irq.raise)
        h->env.irq.raise(h->env.irq.opaque, when);
    return when;
}

/* Lower the line when ISR holds no unmasked cause any more. */
static void irq_sync(struct sas_hba *h, simtime_t now)
{
    if (!h->irq_up || (h->isr & ~h->imr))
        return;
    h->irq_up = false;
    pci_func_set_intx(h->pci, false);
    if (h->env.irq.lower)
        h->env.irq.lower(h->env.irq.opaque, now);
}

/*
 * Set ISR bits; raise the line for those not masked. Returns when the host
 * learns of them: the interrupt's arrival, or `now` when masked (the driver
 * finds them by polling).
 */
static simtime_t isr_set(struct sas_hba *h, uint32_t bits, simtime_t now, uint64_t req)
{
    h->isr |= bits;
    if (bits & ~h->imr)
        return irq_raise(h, now, req);
    return now;
}

/* ---- command contexts ------------------------------------------------------- */

static void free_reset(struct sas_hba *h)
{
    h->nfree = 0;
    for (unsigned i = SAS_HBA_CONTEXTS; i-- > 0;)
        h->free_stack[h->nfree++] = (uint16_t)i;
}

static struct sas_cmd *cmd_alloc(struct sas_hba *h)
{
    assert(h->nfree > 0);
    struct sas_cmd *c = &h->cmd[h->free_stack[--h->nfree]];
    assert(c->stage == CS_FREE);
    memset(&c->sqe, 0, sizeof c->sqe);
    c->parked = false;
    c->ev = 0;
    c->buf = NULL;
    c->next_held = NULL;
    return c;
}

static void cmd_free(struct sas_cmd *c)
{
    struct sas_hba *h = c->h;
    assert(c->stage != CS_FREE && h->nfree < SAS_HBA_CONTEXTS);
    free(c->buf);
    c->buf = NULL;
    c->stage = CS_FREE;
    h->free_stack[h->nfree++] = (uint16_t)(c - h->cmd);
}

/* Drop every command in the device: pending events are cancelled. */
static void abort_all(struct sas_hba *h)
{
    for (unsigned i = 0; i < SAS_HBA_CONTEXTS; i++) {
        struct sas_cmd *c = &h->cmd[i];
        if (c->stage == CS_FREE)
            continue;
        if (c->ev)
            evq_cancel(h->env.q, c->ev);
        c->ev = 0;
        free(c->buf);
        c->buf = NULL;
        c->stage = CS_FREE;
    }
    free_reset(h);
    h->held_head = h->held_tail = NULL;
    h->fetching = false;
    h->flush_waiting = 0;
}

static void queues_clear(struct sas_hba *h)
{
    h->size = 0;
    h->sqb = h->cqb = 0;
    h->sq_head = h->sq_tail = h->cq_head = h->cq_tail = 0;
    h->phase = 1;
}

static void fatal(struct sas_hba *h, uint32_t err, simtime_t now)
{
    abort_all(h);
    h->status = (h->status & ~SAS_STATUS_READY) | SAS_STATUS_FATAL;
    h->err = err;
    isr_set(h, SAS_ISR_FATAL, now, HOPSIM_NOREQ);
}

/* ---- the SQ fetch engine ---------------------------------------------------- */

static void kick_fetch(struct sas_hba *h, simtime_t now)
{
    if (!(h->status & SAS_STATUS_READY) || h->fetching || h->sq_head == h->sq_tail || h->nfree == 0)
        return;
    h->fetching = true;
    cmd_begin(cmd_alloc(h), CS_FETCH, now);
}

static void fetch_done(struct sas_cmd *c, simtime_t now)
{
    struct sas_hba *h = c->h;
    uint64_t bus = h->sqb + (uint64_t)h->sq_head * sizeof(struct sas_sqe);
    h->fetching = false;
    if (!dev_dma_copy(&h->env, bus, &c->sqe, sizeof c->sqe, false)) {
        cmd_free(c);
        fatal(h, SAS_ERR_SQ_DMA, now);
        return;
    }
    h->sq_head = (h->sq_head + 1) % h->size;
    c->sq_head = (uint16_t)h->sq_head;
    c->seq = h->fetch_seq++;
    if (c->sqe.tag != HOPSIM_NOREQ && h->env.tr)
        trace_hop(h->env.tr, c->sqe.tag, HOP_H5, h->env.place, c->t);
    span(h, c->sqe.tag, SPAN_DMA, c->t, now, "sqe", sizeof c->sqe);
    cmd_begin(c, CS_FW, now);
    kick_fetch(h, now);
}

/* ---- completion ----------------------------------------------------------- */

static bool cq_full(const struct sas_hba *h)
{
    return (h->cq_tail + 1) % h->size == h->cq_head;
}

static void cq_reserve(struct sas_hba *h, struct sas_cmd *c)
{
    c->cq_slot = (uint16_t)h->cq_tail;
    c->cq_phase = h->phase;
    if (++h->cq_tail == h->size) {
        h->cq_tail = 0;
        h->phase ^= 1;
    }
}

static void complete(struct sas_cmd *c, uint16_t status, simtime_t now)
{
    struct sas_hba *h = c->h;
    c->status = status;
    free(c->buf);
    c->buf = NULL;
    if (cq_full(h)) {
        c->stage = CS_HELD;
        if (h->held_tail)
            h->held_tail->next_held = c;
        else
            h->held_head = c;
        h->held_tail = c;
        return;
    }
    cq_reserve(h, c);
    cmd_begin(c, CS_POST, now);
}

static void release_held(struct sas_hba *h, simtime_t now)
{
    while (h->held_head && !cq_full(h)) {
        struct sas_cmd *c = h->held_head;
        h->held_head = c->next_held;
        if (!h->held_head)
            h->held_tail = NULL;
        c->next_held = NULL;
        cq_reserve(h, c);
        cmd_begin(c, CS_POST, now);
    }
}

static void post_done(struct sas_cmd *c, simtime_t now)
{
    struct sas_hba *h = c->h;
    struct sas_cqe e = {
        .tag = c->sqe.tag, .status = c->status, .sq_head = c->sq_head, .phase = c->cq_phase};
    uint64_t bus = h->cqb + (uint64_t)c->cq_slot * sizeof e;
    span(h, c->sqe.tag, SPAN_DMA, c->t, now, "cqe", sizeof e);
    if (!dev_dma_copy(&h->env, bus, &e, sizeof e, true)) {
        cmd_free(c);
        fatal(h, SAS_ERR_CQ_DMA, now);
        return;
    }
    h->completed++;
    uint64_t tag = c->sqe.tag;
    cmd_free(c);
    simtime_t seen = isr_set(h, SAS_ISR_CQ, now, tag);
    /* the device's hop ends with its completion interrupt (or the CQE, when masked) */
    if (tag != HOPSIM_NOREQ && h->env.irq.complete)
        h->env.irq.complete(h->env.irq.opaque, tag, seen);
    kick_fetch(h, now);
}

/* ---- command stages ---------------------------------------------------------- */

/* Status of a freshly fetched command before its SG list is read. */
static uint16_t validate(struct sas_cmd *c)
{
    const struct sas_sqe *q = &c->sqe;
    const struct sas_hba *h = c->h;
    if (q->opcode != SAS_OP_READ && q->opcode != SAS_OP_WRITE && q->opcode != SAS_OP_FLUSH)
        return SAS_ST_BAD_OPCODE;
    if (q->target >= h->ntargets)
        return SAS_ST_BAD_TARGET;
    if (q->opcode == SAS_OP_FLUSH)
        return SAS_ST_OK;
    struct disk *d = h->disk[q->target];
    if (q->lba > disk_blocks(d) || q->nblocks > disk_blocks(d) - q->lba)
        return SAS_ST_LBA_RANGE;
    uint64_t bytes = (uint64_t)q->nblocks * disk_block_size(d);
    if (q->nsg == 0 || q->nsg > SAS_MAX_SG || bytes == 0 || bytes > SAS_MAX_SG * 4096ull)
        return SAS_ST_BAD_SGL;
    c->bytes = (uint32_t)bytes;
    return SAS_ST_OK;
}

static bool sgl_valid(const struct sas_cmd *c)
{
    uint64_t sum = 0;
    for (unsigned i = 0; i < c->sqe.nsg; i++) {
        const struct sas_sg *g = &c->sg[i];
        if (g->len == 0 || g->len > 4096 || (g->addr & 4095) + g->len > 4096)
            return false;
        sum += g->len;
    }
    return sum == c->bytes;
}

/* Move the data between the bounce buffer and the SG list. */
static bool data_copy(struct sas_cmd *c, bool to_host)
{
    uint8_t *p = c->buf;
    for (unsigned i = 0; i < c->sqe.nsg; i++) {
        if (!dev_dma_copy(&c->h->env, c->sg[i].addr, p, c->sg[i].len, to_host))
            return false;
        p += c->sg[i].len;
    }
    return true;
}

/* Is a WRITE to f's target, fetched before f, still short of its media stage? */
static bool earlier_write_pending(const struct sas_hba *h, const struct sas_cmd *f)
{
    for (unsigned i = 0; i < SAS_HBA_CONTEXTS; i++) {
        const struct sas_cmd *c = &h->cmd[i];
        bool before_media = c->stage == CS_FW || c->stage == CS_SGL || c->stage == CS_DATA_OUT;
        if (before_media && c->sqe.opcode == SAS_OP_WRITE && c->sqe.target == f->sqe.target &&
            c->seq < f->seq)
            return true;
    }
    return false;
}

/* Waiting FLUSHes whose earlier WRITEs have all reached the media go on. */
static void flush_check(struct sas_hba *h, simtime_t now)
{
    for (unsigned i = 0; h->flush_waiting > 0 && i < SAS_HBA_CONTEXTS; i++) {
        struct sas_cmd *c = &h->cmd[i];
        if (c->stage == CS_FLUSH_WAIT && !earlier_write_pending(h, c)) {
            h->flush_waiting--;
            cmd_begin(c, CS_MEDIA, now);
        }
    }
}

static void fw_done(struct sas_cmd *c, simtime_t now)
{
    uint16_t st = validate(c);
    if (st != SAS_ST_OK) {
        complete(c, st, now);
    } else if (c->sqe.opcode != SAS_OP_FLUSH) {
        cmd_begin(c, CS_SGL, now);
    } else if (earlier_write_pending(c->h, c)) {
        c->stage = CS_FLUSH_WAIT;
        c->h->flush_waiting++;
    } else {
        cmd_begin(c, CS_MEDIA, now);
    }
}

static void sgl_done(struct sas_cmd *c, simtime_t now)
{
    size_t len = c->sqe.nsg * sizeof(struct sas_sg);
    span(c->h, c->sqe.tag, SPAN_DMA, c->t, now, "sgl", (int64_t)len);
    if (!dev_dma_copy(&c->h->env, c->sqe.sgl, c->sg, len, false)) {
        complete(c, SAS_ST_DMA_ERROR, now);
        return;
    }
    if (!sgl_valid(c)) {
        complete(c, SAS_ST_BAD_SGL, now);
        return;
    }
    c->buf = malloc(c->bytes);
    assert(c->buf);
    cmd_begin(c, c->sqe.opcode == SAS_OP_WRITE ? CS_DATA_OUT : CS_MEDIA, now);
}

static void data_out_done(struct sas_cmd *c, simtime_t now)
{
    span(c->h, c->sqe.tag, SPAN_DMA, c->t, now, "data-out", c->bytes);
    if (!data_copy(c, false))
        complete(c, SAS_ST_DMA_ERROR, now);
    else
        cmd_begin(c, CS_MEDIA, now);
}

static void media_done(struct sas_cmd *c, simtime_t now)
{
    struct disk *d = c->h->disk[c->sqe.target];
    const struct sas_sqe *q = &c->sqe;
    const char *what = q->opcode == SAS_OP_READ    ? "read"
                       : q->opcode == SAS_OP_WRITE ? "write"
                                                   : "flush";
    span(c->h, q->tag, SPAN_MEDIA, c->t, now, what, (int64_t)q->lba);
    if (q->opcode == SAS_OP_FLUSH)
        complete(c, SAS_ST_OK, now);
    else if (q->opcode == SAS_OP_WRITE)
        complete(c, disk_write(d, q->lba, q->nblocks, c->buf) ? SAS_ST_MEDIA : SAS_ST_OK, now);
    else if (disk_read(d, q->lba, q->nblocks, c->buf) != 0)
        complete(c, SAS_ST_MEDIA, now);
    else
        cmd_begin(c, CS_DATA_IN, now);
}

static void data_in_done(struct sas_cmd *c, simtime_t now)
{
    span(c->h, c->sqe.tag, SPAN_DMA, c->t, now, "data-in", c->bytes);
    complete(c, data_copy(c, true) ? SAS_ST_OK : SAS_ST_DMA_ERROR, now);
}

static void cmd_event(void *opaque, simtime_t now)
{
    struct sas_cmd *c = opaque;
    struct sas_hba *h = c->h;
    c->ev = 0;
    switch (c->stage) {
    case CS_FETCH:
        fetch_done(c, now);
        break;
    case CS_FW:
        fw_done(c, now);
        break;
    case CS_SGL:
        sgl_done(c, now);
        break;
    case CS_DATA_OUT:
        data_out_done(c, now);
        break;
    case CS_MEDIA:
        media_done(c, now);
        break;
    case CS_DATA_IN:
        data_in_done(c, now);
        break;
    case CS_POST:
        post_done(c, now);
        break;
    default:
        assert(!"sas_hba: event for a command in a stage without one");
    }
    flush_check(h, now);
}

static void cmd_schedule(struct sas_cmd *c, enum cmd_stage st, simtime_t start, simtime_t end)
{
    struct evq *q = c->h->env.q;
    c->stage = st;
    c->t = start;
    c->ev = evq_schedule(q, later(end, evq_now(q)), cmd_event, c);
}

static bool stage_is_dma(enum cmd_stage st)
{
    return st == CS_FETCH || st == CS_SGL || st == CS_DATA_OUT || st == CS_DATA_IN || st == CS_POST;
}

static simtime_t media_end(struct sas_cmd *c, simtime_t now)
{
    struct disk *d = c->h->disk[c->sqe.target];
    if (c->sqe.opcode == SAS_OP_FLUSH)
        return later(now, disk_idle_at(d));
    return disk_schedule(d, now, c->sqe.opcode == SAS_OP_WRITE, c->sqe.lba, c->sqe.nblocks);
}

/* Begin stage `st` at `now`: schedule its end (or park it until Bus Master Enable). */
static void cmd_begin(struct sas_cmd *c, enum cmd_stage st, simtime_t now)
{
    struct sas_hba *h = c->h;
    c->parked = stage_is_dma(st) && !pci_bus_master(h->pci);
    if (c->parked) {
        c->stage = st;
        return;
    }
    switch (st) {
    case CS_FETCH:
        now = later(now, h->avail_at[h->sq_head]);
        cmd_schedule(c, st, now, now + dev_dma_time(&h->env, sizeof(struct sas_sqe)));
        break;
    case CS_FW:
        now = later(now, h->fw_free);
        h->fw_free = now + cost_ps(h->env.cost, C_HBA_CMD, h->env.hz);
        cmd_schedule(c, st, now, h->fw_free);
        break;
    case CS_SGL:
        cmd_schedule(c, st, now, now + dev_dma_time(&h->env, c->sqe.nsg * sizeof(struct sas_sg)));
        break;
    case CS_DATA_OUT:
    case CS_DATA_IN:
        cmd_schedule(c, st, now, now + dev_dma_time(&h->env, c->bytes));
        break;
    case CS_MEDIA:
        cmd_schedule(c, st, now, media_end(c, now));
        break;
    case CS_POST:
        cmd_schedule(c, st, now, now + dev_dma_time(&h->env, sizeof(struct sas_cqe)));
        break;
    default:
        assert(!"sas_hba: no such stage to begin");
    }
}

/* Bus Master Enable 0 -> 1: parked DMA stages begin, fetching resumes. */
static void hba_command(void *opaque, uint16_t old_cmd, uint16_t new_cmd)
{
    struct sas_hba *h = opaque;
    if (!(new_cmd & PCI_COMMAND_MASTER) || (old_cmd & PCI_COMMAND_MASTER))
        return;
    simtime_t now = evq_now(h->env.q);
    for (unsigned i = 0; i < SAS_HBA_CONTEXTS; i++)
        if (h->cmd[i].stage != CS_FREE && h->cmd[i].parked)
            cmd_begin(&h->cmd[i], h->cmd[i].stage, now);
    kick_fetch(h, now);
}

/* ---- control ----------------------------------------------------------------- */

static void hba_enable(struct sas_hba *h, simtime_t now)
{
    uint32_t n = h->qsize;
    if (n < 2 || n > SAS_HBA_MAX_QUEUE || (n & (n - 1)) != 0) {
        fatal(h, SAS_ERR_QSIZE, now);
        return;
    }
    if ((h->sq_base | h->cq_base) & 4095) {
        fatal(h, SAS_ERR_QALIGN, now);
        return;
    }
    queues_clear(h);
    h->size = n;
    h->sqb = h->sq_base;
    h->cqb = h->cq_base;
    h->completed = 0;
    h->status = SAS_STATUS_READY;
}

static void hba_disable(struct sas_hba *h, simtime_t now)
{
    abort_all(h);
    queues_clear(h);
    h->status = 0;
    h->isr = 0;
    irq_sync(h, now);
}

static void hba_reset(struct sas_hba *h, simtime_t now)
{
    hba_disable(h, now);
    h->ctrl = h->imr = h->err = h->completed = h->tgt_sel = h->qsize = 0;
    h->sq_base = h->cq_base = 0;
}

static void ctrl_write(struct sas_hba *h, uint32_t v, simtime_t now)
{
    if (v & SAS_CTRL_RESET) {
        hba_reset(h, now);
        return;
    }
    bool was = h->ctrl & SAS_CTRL_ENABLE, en = v & SAS_CTRL_ENABLE;
    h->ctrl = en ? SAS_CTRL_ENABLE : 0;
    if (en && !was)
        hba_enable(h, now);
    else if (!en && was)
        hba_disable(h, now);
}

static void sq_doorbell(struct sas_hba *h, uint32_t tail, simtime_t now)
{
    if (!(h->status & SAS_STATUS_READY))
        return;
    if (tail >= h->size) {
        fatal(h, SAS_ERR_DOORBELL, now);
        return;
    }
    for (uint32_t i = h->sq_tail; i != tail; i = (i + 1) % h->size)
        h->avail_at[i] = now;
    h->sq_tail = tail;
    kick_fetch(h, now);
}

static void cq_doorbell(struct sas_hba *h, uint32_t head, simtime_t now)
{
    if (!(h->status & SAS_STATUS_READY))
        return;
    uint32_t posted = (h->cq_tail + h->size - h->cq_head) % h->size;
    if (head >= h->size || (head + h->size - h->cq_head) % h->size > posted) {
        fatal(h, SAS_ERR_DOORBELL, now);
        return;
    }
    h->cq_head = head;
    release_held(h, now);
}

static void imr_write(struct sas_hba *h, uint32_t v, simtime_t now)
{
    uint32_t unmasked = h->imr & ~v & h->isr; /* pending causes this write reveals */
    h->imr = v & (SAS_ISR_CQ | SAS_ISR_FATAL);
    if (unmasked)
        irq_raise(h, now, HOPSIM_NOREQ);
    irq_sync(h, now);
}

/* ---- registers ------------------------------------------------------------------ */

static uint32_t cap_value(void)
{
    return SAS_HBA_MAX_QUEUE | (uint32_t)SAS_HBA_MAX_TARGETS << 16 | (uint32_t)SAS_MAX_SG << 24;
}

static struct disk *selected_target(const struct sas_hba *h)
{
    return h->tgt_sel < h->ntargets ? h->disk[h->tgt_sel] : NULL;
}

static uint32_t reg_read(const struct sas_hba *h, uint64_t off)
{
    const struct disk *d = selected_target(h);
    switch (off) {
    case SAS_REG_ID:
        return SAS_ID_VALUE;
    case SAS_REG_VERSION:
        return SAS_VERSION_VALUE;
    case SAS_REG_CAP:
        return cap_value();
    case SAS_REG_CTRL:
        return h->ctrl;
    case SAS_REG_STATUS:
        return h->status;
    case SAS_REG_ISR:
        return h->isr;
    case SAS_REG_IMR:
        return h->imr;
    case SAS_REG_SQ_BASE:
        return (uint32_t)h->sq_base;
    case SAS_REG_SQ_BASE + 4:
        return (uint32_t)(h->sq_base >> 32);
    case SAS_REG_CQ_BASE:
        return (uint32_t)h->cq_base;
    case SAS_REG_CQ_BASE + 4:
        return (uint32_t)(h->cq_base >> 32);
    case SAS_REG_QSIZE:
        return h->qsize;
    case SAS_REG_SQ_HEAD:
        return h->sq_head;
    case SAS_REG_NTARGETS:
        return h->ntargets;
    case SAS_REG_TGT_SEL:
        return h->tgt_sel;
    case SAS_REG_TGT_BLOCKS:
        return d ? (uint32_t)disk_blocks(d) : 0;
    case SAS_REG_TGT_BLOCKS + 4:
        return d ? (uint32_t)(disk_blocks(d) >> 32) : 0;
    case SAS_REG_TGT_BLKSZ:
        return d ? disk_block_size(d) : 0;
    case SAS_REG_TGT_TYPE:
        return d ? (uint32_t)disk_type(d) : SAS_TGT_NONE;
    case SAS_REG_ERR:
        return h->err;
    case SAS_REG_COMPLETED:
        return h->completed;
    default: /* write-only doorbells and unused offsets */
        return 0;
    }
}

static uint64_t sas_mmio_read(void *opaque, uint64_t offset, unsigned size, simtime_t now)
{
    (void)now;
    uint32_t v = reg_read(opaque, offset & ~3ull);
    v >>= 8 * (offset & 3);
    return size >= 4 ? v : v & ((1u << (8 * size)) - 1);
}

static void sas_mmio_write(void *opaque, uint64_t offset, uint64_t value, unsigned size,
                           simtime_t now)
{
    struct sas_hba *h = opaque;
    uint32_t v = (uint32_t)value;
    if (size != 4 || (offset & 3))
        return;
    switch (offset) {
    case SAS_REG_CTRL:
        ctrl_write(h, v, now);
        break;
    case SAS_REG_ISR:
        h->isr &= ~v;
        irq_sync(h, now);
        break;
    case SAS_REG_IMR:
        imr_write(h, v, now);
        break;
    case SAS_REG_SQ_BASE:
        h->sq_base = (h->sq_base & ~0xffffffffull) | v;
        break;
    case SAS_REG_SQ_BASE + 4:
        h->sq_base = (h->sq_base & 0xffffffffull) | (uint64_t)v << 32;
        break;
    case SAS_REG_CQ_BASE:
        h->cq_base = (h->cq_base & ~0xffffffffull) | v;
        break;
    case SAS_REG_CQ_BASE + 4:
        h->cq_base = (h->cq_base & 0xffffffffull) | (uint64_t)v << 32;
        break;
    case SAS_REG_QSIZE:
        h->qsize = v;
        break;
    case SAS_REG_SQ_TAIL:
        sq_doorbell(h, v, now);
        break;
    case SAS_REG_CQ_HEAD:
        cq_doorbell(h, v, now);
        break;
    case SAS_REG_TGT_SEL:
        h->tgt_sel = v;
        break;
    default: /* read-only and unused offsets */
        break;
    }
}

static const struct mmio_ops sas_mmio = {.read = sas_mmio_read, .write = sas_mmio_write};

const struct mmio_ops *sas_hba_mmio_ops(void)
{
    return &sas_mmio;
}

/* ---- life cycle ------------------------------------------------------------------ */

struct sas_hba *sas_hba_create(const struct dev_env *env, struct pci_bus *bus, unsigned slot,
                               uint8_t gsi, char *err, size_t errlen)
{
    assert(env && env->q && env->cost && env->dma.map);
    struct sas_hba *h = calloc(1, sizeof *h);
    if (!h) {
        snprintf(err, errlen, "sas_hba: out of memory");
        return NULL;
    }
    h->env = *env;
    h->pci = pci_func_create(bus, slot, SAS_PCI_VENDOR, SAS_PCI_DEVICE, SAS_PCI_CLASS,
                             SAS_HBA_PCI_REVISION, gsi);
    if (!h->pci) {
        snprintf(err, errlen, "sas_hba: PCI slot %u is taken or out of range", slot);
        goto fail;
    }
    int rc = pci_func_add_bar(h->pci, 0, SAS_BAR0_SIZE, 0, &sas_mmio, h);
    assert(rc == 0);
    (void)rc;
    pci_func_set_subsystem(h->pci, SAS_PCI_VENDOR, SAS_PCI_DEVICE);
    pci_func_enable_msi_cap(h->pci);
    pci_func_set_command_hook(h->pci, hba_command, h);
    for (unsigned i = 0; i < SAS_HBA_CONTEXTS; i++)
        h->cmd[i].h = h;
    free_reset(h);
    queues_clear(h);
    return h;
fail:
    free(h);
    return NULL;
}

void sas_hba_destroy(struct sas_hba *h)
{
    if (!h)
        return;
    abort_all(h);
    for (unsigned i = 0; i < h->ntargets; i++)
        disk_close(h->disk[i]);
    pci_func_destroy(h->pci);
    free(h);
}

int sas_hba_attach(struct sas_hba *h, struct disk *d)
{
    assert(d);
    if (h->ntargets >= SAS_HBA_MAX_TARGETS)
        return -1;
    h->disk[h->ntargets] = d;
    return (int)h->ntargets++;
}

struct pci_func *sas_hba_pci(const struct sas_hba *h)
{
    return h->pci;
}
