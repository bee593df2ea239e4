/*
 * The SAS HBA's command engine (models/sas_hba.h): command contexts, the SQ
 * fetch engine, each command's stages and its completion into the CQ. The
 * stages, their timing and the assumptions behind them are described at
 * the top of models/sas_hba.c.
 */
#include "sas_hba_int.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void cmd_begin(struct sas_cmd *c, enum cmd_stage st, simtime_t now);

/* ---- command contexts ------------------------------------------------------- */

void sas_free_reset(struct sas_hba *h)
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
void sas_abort_all(struct sas_hba *h)
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
    sas_free_reset(h);
    h->held_head = h->held_tail = NULL;
    h->fetching = false;
    h->flush_waiting = 0;
}

void sas_queues_clear(struct sas_hba *h)
{
    h->size = 0;
    h->sqb = h->cqb = 0;
    h->sq_head = h->sq_tail = h->cq_head = h->cq_tail = 0;
    h->phase = 1;
}

void sas_fatal(struct sas_hba *h, uint32_t err, simtime_t now)
{
    sas_abort_all(h);
    h->status = (h->status & ~SAS_STATUS_READY) | SAS_STATUS_FATAL;
    h->err = err;
    sas_isr_set(h, SAS_ISR_FATAL, now, HOPSIM_NOREQ);
}

/* ---- the SQ fetch engine ---------------------------------------------------- */

void sas_kick_fetch(struct sas_hba *h, simtime_t now)
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
        sas_fatal(h, SAS_ERR_SQ_DMA, now);
        return;
    }
    h->sq_head = (h->sq_head + 1) % h->size;
    c->sq_head = (uint16_t)h->sq_head;
    c->seq = h->fetch_seq++;
    if (c->sqe.tag != HOPSIM_NOREQ && h->env.tr)
        trace_hop(h->env.tr, c->sqe.tag, HOP_H5, h->env.place, c->t);
    span(h, c->sqe.tag, SPAN_DMA, c->t, now, "sqe", sizeof c->sqe);
    cmd_begin(c, CS_FW, now);
    sas_kick_fetch(h, now);
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

void sas_release_held(struct sas_hba *h, simtime_t now)
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
        sas_fatal(h, SAS_ERR_CQ_DMA, now);
        return;
    }
    h->completed++;
    h->cnt.completions++;
    uint64_t tag = c->sqe.tag;
    cmd_free(c);
    if (sas_coal_hold(h, tag, now)) {
        sas_kick_fetch(h, now);
        return;
    }
    simtime_t seen = sas_isr_set(h, SAS_ISR_CQ, now, tag);
    /* the device's hop ends with its completion interrupt (or the CQE, when masked) */
    if (tag != HOPSIM_NOREQ && h->env.irq.complete)
        h->env.irq.complete(h->env.irq.opaque, tag, now, seen, seen > now ? h->irq_name : NULL,
                            h->isr);
    sas_kick_fetch(h, now);
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
void sas_hba_command(void *opaque, uint16_t old_cmd, uint16_t new_cmd)
{
    struct sas_hba *h = opaque;
    if (!(new_cmd & PCI_COMMAND_MASTER) || (old_cmd & PCI_COMMAND_MASTER))
        return;
    simtime_t now = evq_now(h->env.q);
    for (unsigned i = 0; i < SAS_HBA_CONTEXTS; i++)
        if (h->cmd[i].stage != CS_FREE && h->cmd[i].parked)
            cmd_begin(&h->cmd[i], h->cmd[i].stage, now);
    sas_kick_fetch(h, now);
}
