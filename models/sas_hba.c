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
 * - Reply coalescing (COAL_TIMEOUT != 0, MPI2 IOC Page 1's
 *   CoalescingTimeout / CoalescingDepth): a CQE posted with ISR.CQ
 *   unmasked sets ISR.CQ but holds its interrupt; one interrupt is raised
 *   when COAL_DEPTH CQEs are held or COAL_TIMEOUT us after the first held
 *   one landed (or when SAS_HBA_MAX_QUEUE are held). A CQ_HEAD write that
 *   leaves the CQ empty drops the held interrupt: the driver, handling an earlier one, has consumed
 * every completion it would have reported. Masking ISR.CQ while completions are held delivers them
 * as masked ones (the driver polls).
 * - Registers are 32-bit: reads of 1, 2 or 4 bytes return that part of
 *   the register; writes must be 4 bytes, aligned (others are ignored).
 * - Guest mistakes never crash the host: they end in a status code or a
 *   fatal error. Host invariants are assert()s.
 */
#include "sas_hba_int.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- interrupts ------------------------------------------------------------ */

/* Returns when the interrupt reaches the CPU. */
static simtime_t irq_raise(struct sas_hba *h, simtime_t now, uint64_t req)
{
    simtime_t when = now + dev_msi_time(&h->env);
    bool msi = pci_msi(h->pci, NULL, NULL);
    h->irq_up = true;
    h->cnt.interrupts++;
    pci_func_set_intx(h->pci, !msi);
    h->irq_name = msi ? "msi" : "intx";
    if (req == HOPSIM_NOREQ || !h->env.irq.complete) /* else the platform traces it */
        span(h, req, SPAN_IRQ, now, when, h->irq_name, h->isr);
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
simtime_t sas_isr_set(struct sas_hba *h, uint32_t bits, simtime_t now, uint64_t req)
{
    h->isr |= bits;
    if (bits & ~h->imr)
        return irq_raise(h, now, req);
    return now;
}

/* ---- reply coalescing ------------------------------------------------------- */

static void coal_clear(struct sas_hba *h)
{
    if (h->coal_ev)
        evq_cancel(h->env.q, h->coal_ev);
    h->coal_ev = 0;
    h->ncoal = 0;
}

/* The held interrupt is due at `now`: raise it, report what it carries. */
static void coal_fire(struct sas_hba *h, simtime_t now)
{
    unsigned n = h->ncoal;
    h->ncoal = 0;
    if (h->coal_ev)
        evq_cancel(h->env.q, h->coal_ev);
    h->coal_ev = 0;
    if (!n)
        return;
    simtime_t seen = now;
    const char *irq = NULL;
    if ((h->isr & SAS_ISR_CQ) && !(h->imr & SAS_ISR_CQ)) {
        uint64_t first = HOPSIM_NOREQ;
        for (unsigned i = 0; i < n && first == HOPSIM_NOREQ; i++)
            first = h->coal_tag[i];
        seen = irq_raise(h, now, first);
        irq = h->irq_name;
    }
    if (!h->env.irq.complete)
        return;
    for (unsigned i = 0; i < n; i++)
        if (h->coal_tag[i] != HOPSIM_NOREQ)
            h->env.irq.complete(h->env.irq.opaque, h->coal_tag[i], now, seen, irq, h->isr);
}

static void coal_timeout(void *opaque, simtime_t now)
{
    struct sas_hba *h = opaque;
    h->coal_ev = 0;
    coal_fire(h, now);
}

bool sas_coal_hold(struct sas_hba *h, uint64_t tag, simtime_t now)
{
    if (!h->coal_us || (h->imr & SAS_ISR_CQ))
        return false;
    h->isr |= SAS_ISR_CQ;
    if (!h->ncoal)
        h->coal_first = now;
    h->coal_tag[h->ncoal++] = tag;
    h->cnt.held++;
    /* a driver that keeps the CQ from ever emptying under a long timeout cannot make the
     * device hold more than its largest queue's worth */
    if ((h->coal_depth && h->ncoal >= h->coal_depth) || h->ncoal == SAS_HBA_MAX_QUEUE) {
        coal_fire(h, now);
        return true;
    }
    if (!h->coal_ev) {
        simtime_t due = h->coal_first + (simtime_t)h->coal_us * PS_PER_US;
        h->coal_ev = evq_schedule(h->env.q, later(due, evq_now(h->env.q)), coal_timeout, h);
    }
    return true;
}

/* ---- control ----------------------------------------------------------------- */

static void hba_enable(struct sas_hba *h, simtime_t now)
{
    uint32_t n = h->qsize;
    if (n < 2 || n > SAS_HBA_MAX_QUEUE || (n & (n - 1)) != 0) {
        sas_fatal(h, SAS_ERR_QSIZE, now);
        return;
    }
    if ((h->sq_base | h->cq_base) & 4095) {
        sas_fatal(h, SAS_ERR_QALIGN, now);
        return;
    }
    sas_queues_clear(h);
    h->size = n;
    h->sqb = h->sq_base;
    h->cqb = h->cq_base;
    h->completed = 0;
    h->status = SAS_STATUS_READY;
}

static void hba_disable(struct sas_hba *h, simtime_t now)
{
    coal_clear(h);
    sas_abort_all(h);
    sas_queues_clear(h);
    h->status = 0;
    h->isr = 0;
    irq_sync(h, now);
}

static void hba_reset(struct sas_hba *h, simtime_t now)
{
    hba_disable(h, now);
    h->ctrl = h->imr = h->err = h->completed = h->tgt_sel = h->qsize = 0;
    h->coal_us = h->coal_depth = 0;
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
        sas_fatal(h, SAS_ERR_DOORBELL, now);
        return;
    }
    for (uint32_t i = h->sq_tail; i != tail; i = (i + 1) % h->size)
        h->avail_at[i] = now;
    h->sq_tail = tail;
    sas_kick_fetch(h, now);
}

static void cq_doorbell(struct sas_hba *h, uint32_t head, simtime_t now)
{
    if (!(h->status & SAS_STATUS_READY))
        return;
    uint32_t posted = (h->cq_tail + h->size - h->cq_head) % h->size;
    if (head >= h->size || (head + h->size - h->cq_head) % h->size > posted) {
        sas_fatal(h, SAS_ERR_DOORBELL, now);
        return;
    }
    h->cq_head = head;
    if (h->cq_head == h->cq_tail && h->ncoal) /* all consumed: nothing left to report */
        coal_clear(h);
    sas_release_held(h, now);
}

static void imr_write(struct sas_hba *h, uint32_t v, simtime_t now)
{
    uint32_t unmasked = h->imr & ~v & h->isr; /* pending causes this write reveals */
    h->imr = v & (SAS_ISR_CQ | SAS_ISR_FATAL);
    if ((h->imr & SAS_ISR_CQ) && h->ncoal) /* held completions: now masked ones */
        coal_fire(h, now);
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
    case SAS_REG_COAL_TIMEOUT:
        return h->coal_us;
    case SAS_REG_COAL_DEPTH:
        return h->coal_depth;
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
    case SAS_REG_COAL_TIMEOUT:
        h->coal_us = h->cnt.coal_us = v > SAS_COAL_TIMEOUT_MAX ? SAS_COAL_TIMEOUT_MAX : v;
        break;
    case SAS_REG_COAL_DEPTH:
        h->coal_depth = h->cnt.coal_depth = v > SAS_COAL_DEPTH_MAX ? SAS_COAL_DEPTH_MAX : v;
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
    pci_func_set_command_hook(h->pci, sas_hba_command, h);
    for (unsigned i = 0; i < SAS_HBA_CONTEXTS; i++)
        h->cmd[i].h = h;
    sas_free_reset(h);
    sas_queues_clear(h);
    return h;
fail:
    free(h);
    return NULL;
}

void sas_hba_destroy(struct sas_hba *h)
{
    if (!h)
        return;
    coal_clear(h);
    sas_abort_all(h);
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

void sas_hba_get_counters(const struct sas_hba *h, struct sas_hba_counters *out)
{
    *out = h->cnt;
}
