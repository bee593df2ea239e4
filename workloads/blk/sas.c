/*
 * Native driver for the hopsim SAS HBA (see sas.h; the register interface
 * and protocol are include/hopsim/sas_hba.h and docs/sas-hba.md).
 *
 * Assumptions:
 * - One HBA, function 0 of some slot on bus 0, BAR0 assigned by firmware;
 *   registers are reached at BAR0's guest-physical address (identity
 *   mapping), with volatile 32-bit accesses; 64-bit registers as two
 *   halves, low first. MMIO reads cost ~850 ns of simulated time: the fast
 *   path reads only ISR (once per interrupt) and never polls registers.
 * - DMA addresses are bus = machine addresses (lib/dma.h). The SQ is one
 *   machine-contiguous block; each slot's SG list is 256 bytes inside one
 *   page (16 per page).
 *
 * Queue rules (docs/sas-hba.md, "Submitting" and "Completing"):
 * - Commands in flight never exceed nslots <= QSIZE - 1, so neither the SQ
 *   (entries not yet fetched) nor the CQ (entries not yet consumed) can
 *   overflow: the driver needs no SQ head tracking.
 * - Ordering: the SQE (and its SG list) is written with ordinary stores,
 *   then the SQ_TAIL doorbell with a volatile MMIO store after a compiler
 *   barrier. x86 keeps stores in order (TSO), and MMIO is uncached, so the
 *   device never sees the doorbell before the entry.
 * - A CQ entry is new when its phase bit equals the expected phase (1 on
 *   the first pass, flipped at each wrap); its other fields are read only
 *   after the phase (read barrier), and CQ_HEAD is written once after the
 *   drain, releasing the entries to the device.
 * - Interrupt handler (upcall context): read ISR, write it back (W1C)
 *   before draining so a completion posted during the drain raises a new
 *   interrupt, drain the CQ, write CQ_HEAD, PHYSDEVOP_eoi, batch hook.
 * - Program-context entry points run with event delivery off, so the
 *   handler never sees a half-updated free list, tag map or SQ tail.
 */
#include "sas.h"

#include "dma.h"
#include "guest.h"
#include "pci.h"
#include "physdev.h"
#include "smp.h"
#include "tagmap.h"

#define SGL_PER_PAGE (PAGE_SIZE / (SAS_MAX_SG * sizeof(struct sas_sg)))

struct sas_hba {
    volatile uint8_t *regs;
    unsigned pci_slot;
    struct pci_irq irq;
    uint32_t max_q, max_sg;
    unsigned ntargets;
    struct sas_target_info tgt[SAS_DRV_MAX_TARGETS];
    /* queues */
    struct sas_sqe *sq;
    struct sas_cqe *cq;
    uint64_t sq_bus, cq_bus;
    uint32_t qsize, sq_tail, cq_head;
    uint16_t phase;
    unsigned unrung; /* SQEs written since the last doorbell */
    /* command slots */
    unsigned nslots, nfree;
    int16_t free_stack[SAS_DRV_MAX_SLOTS];
    struct sas_cmd cmds[SAS_DRV_MAX_SLOTS];
    struct tagmap tags;
    spinlock_t lock; /* queues, slots, tags: submitters on any vCPU, the interrupt on one */
    int dead;
    sas_batch_fn batch;
    void *batch_arg;
    unsigned long irqs, completed, errors;
};

static struct sas_hba hba;

/* ---- registers ---- */

static inline uint32_t rd32(const struct sas_hba *h, unsigned off)
{
    return *(volatile const uint32_t *)(h->regs + off);
}

static inline void wr32(struct sas_hba *h, unsigned off, uint32_t v)
{
    *(volatile uint32_t *)(h->regs + off) = v;
}

static void wr64(struct sas_hba *h, unsigned off, uint64_t v)
{
    wr32(h, off, (uint32_t)v);
    wr32(h, off + 4, (uint32_t)(v >> 32));
}

const char *sas_status_name(int status)
{
    switch (status) {
    case SAS_ST_OK:
        return "ok";
    case SAS_ST_BAD_OPCODE:
        return "bad opcode";
    case SAS_ST_BAD_TARGET:
        return "bad target";
    case SAS_ST_LBA_RANGE:
        return "lba out of range";
    case SAS_ST_BAD_SGL:
        return "bad SG list";
    case SAS_ST_DMA_ERROR:
        return "DMA error";
    case SAS_ST_MEDIA:
        return "media error";
    case SAS_ST_ABORTED:
        return "aborted (device failed)";
    default:
        return "unknown status";
    }
}

/* ---- probe ---- */

static int map_bar(struct sas_hba *h)
{
    int slot = pci_find_device(SAS_PCI_VENDOR, SAS_PCI_DEVICE);
    if (slot < 0) {
        printf("sas: no HBA %04x:%04x on PCI bus 0\n", SAS_PCI_VENDOR, SAS_PCI_DEVICE);
        return -XEN_ENODEV;
    }
    uint64_t bar;
    int rc = pci_bar_mem((unsigned)slot, 0, &bar);
    if (rc) {
        printf("sas: BAR0 of slot %d is not an assigned memory BAR\n", slot);
        return rc;
    }
    pci_enable_device((unsigned)slot);
    h->pci_slot = (unsigned)slot;
    h->regs = (volatile uint8_t *)bar;
    return 0;
}

static int check_identity(struct sas_hba *h)
{
    uint32_t id = rd32(h, SAS_REG_ID), ver = rd32(h, SAS_REG_VERSION);
    if (id != SAS_ID_VALUE || ver >> 16 != SAS_VERSION_VALUE >> 16) {
        printf("sas: unexpected ID %08x / VERSION %08x\n", id, ver);
        return -XEN_ENODEV;
    }
    uint32_t cap = rd32(h, SAS_REG_CAP);
    h->max_q = cap & 0xffff;
    h->max_sg = cap >> 24;
    if (h->max_q < 2 || !h->max_sg) {
        printf("sas: unusable CAP %08x\n", cap);
        return -XEN_ENODEV;
    }
    if (h->max_sg > SAS_MAX_SG)
        h->max_sg = SAS_MAX_SG;
    return 0;
}

static void read_targets(struct sas_hba *h)
{
    unsigned n = rd32(h, SAS_REG_NTARGETS);
    h->ntargets = n < SAS_DRV_MAX_TARGETS ? n : SAS_DRV_MAX_TARGETS;
    for (unsigned t = 0; t < h->ntargets; t++) {
        struct sas_target_info *ti = &h->tgt[t];
        wr32(h, SAS_REG_TGT_SEL, t);
        ti->blocks = rd32(h, SAS_REG_TGT_BLOCKS) | (uint64_t)rd32(h, SAS_REG_TGT_BLOCKS + 4) << 32;
        ti->blksz = rd32(h, SAS_REG_TGT_BLKSZ);
        ti->type = rd32(h, SAS_REG_TGT_TYPE);
        printf("sas: target %u: %s, %llu blocks of %u bytes\n", t,
               ti->type == SAS_TGT_HDD    ? "HDD"
               : ti->type == SAS_TGT_SSD  ? "SSD"
               : ti->type == SAS_TGT_NVME ? "NVMe-class SSD"
               : ti->type == SAS_TGT_RAM  ? "RAM disk"
                                          : "none",
               (unsigned long long)ti->blocks, ti->blksz);
    }
}

static unsigned clamp_qsize(unsigned want, unsigned max)
{
    unsigned q = 2;
    while (q < want && q < max && q < 4096)
        q <<= 1;
    return q > max ? q >> 1 : q;
}

static int alloc_slots(struct sas_hba *h)
{
    h->nslots = MIN(h->qsize - 1, (unsigned)SAS_DRV_MAX_SLOTS);
    size_t pages = (h->nslots + SGL_PER_PAGE - 1) / SGL_PER_PAGE;
    struct sas_sg *sgl = page_zalloc(pages);
    if (!sgl)
        return -XEN_ENOMEM;
    for (unsigned i = 0; i < h->nslots; i++) {
        struct sas_cmd *c = &h->cmds[i];
        c->slot = (int16_t)i;
        c->sg = sgl + (size_t)i * SAS_MAX_SG;
        c->sgl_bus = virt_to_bus(c->sg);
        h->free_stack[i] = (int16_t)(h->nslots - 1 - i);
    }
    h->nfree = h->nslots;
    tagmap_init(&h->tags);
    return 0;
}

static int alloc_queues(struct sas_hba *h, unsigned qsize)
{
    h->qsize = clamp_qsize(qsize, h->max_q);
    size_t sq_pages = (h->qsize * sizeof(struct sas_sqe) + PAGE_SIZE - 1) / PAGE_SIZE;
    size_t cq_pages = (h->qsize * sizeof(struct sas_cqe) + PAGE_SIZE - 1) / PAGE_SIZE;
    h->sq = dma_alloc(sq_pages, &h->sq_bus);
    h->cq = dma_alloc(cq_pages, &h->cq_bus); /* zeroed: every phase bit 0 */
    if (!h->sq || !h->cq) {
        printf("sas: cannot allocate machine-contiguous queues of %u entries\n", h->qsize);
        return -XEN_ENOMEM;
    }
    h->sq_tail = h->cq_head = 0;
    h->phase = 1;
    return alloc_slots(h);
}

static void sas_irq(evtchn_port_t port, void *data);

static int enable(struct sas_hba *h)
{
    wr32(h, SAS_REG_QSIZE, h->qsize);
    wr64(h, SAS_REG_SQ_BASE, h->sq_bus);
    wr64(h, SAS_REG_CQ_BASE, h->cq_bus);
    wr32(h, SAS_REG_IMR, 0);
    wr32(h, SAS_REG_CTRL, SAS_CTRL_ENABLE);
    uint32_t st = rd32(h, SAS_REG_STATUS);
    if (!(st & SAS_STATUS_READY)) {
        printf("sas: not READY after enable: STATUS %x ERR %u\n", st, rd32(h, SAS_REG_ERR));
        return -XEN_EIO;
    }
    return 0;
}

int sas_probe(unsigned qsize, struct sas_hba **out)
{
    struct sas_hba *h = &hba;
    int rc = dma_init();
    if (!rc)
        rc = map_bar(h);
    if (!rc)
        rc = check_identity(h);
    if (rc)
        return rc;
    wr32(h, SAS_REG_CTRL, SAS_CTRL_RESET);
    read_targets(h);
    rc = alloc_queues(h, qsize);
    if (!rc)
        rc = pci_irq_setup(&h->irq, "sas", h->pci_slot, sas_irq, h);
    if (!rc)
        rc = enable(h);
    if (rc)
        return rc;
    printf("sas: HBA in slot %u, regs at 0x%llx, %u-entry queues, %u slots, %u SG, %s pirq %d\n",
           h->pci_slot, (unsigned long long)(uintptr_t)h->regs, h->qsize, h->nslots, h->max_sg,
           h->irq.kind, h->irq.pirq);
    *out = h;
    return 0;
}

int sas_set_coalescing(struct sas_hba *h, unsigned us, unsigned depth)
{
    if (us > SAS_COAL_TIMEOUT_MAX || depth > SAS_COAL_DEPTH_MAX)
        return -XEN_EINVAL;
    wr32(h, SAS_REG_COAL_DEPTH, depth);
    wr32(h, SAS_REG_COAL_TIMEOUT, us);
    if (rd32(h, SAS_REG_COAL_TIMEOUT) != us || rd32(h, SAS_REG_COAL_DEPTH) != depth)
        return -XEN_EIO;
    if (us)
        printf("sas: reply coalescing %u us, depth %u\n", us, depth);
    return 0;
}

unsigned sas_ntargets(const struct sas_hba *h)
{
    return h->ntargets;
}

const struct sas_target_info *sas_target(const struct sas_hba *h, unsigned t)
{
    if (t >= h->ntargets || !h->tgt[t].blocks || h->tgt[t].type == SAS_TGT_NONE)
        return NULL;
    return &h->tgt[t];
}

/* ---- submission ---- */

struct sas_cmd *sas_cmd_alloc(struct sas_hba *h)
{
    struct sas_cmd *c = NULL;
    int f = spin_lock_irqsave(&h->lock);
    if (h->nfree && !h->dead)
        c = &h->cmds[h->free_stack[--h->nfree]];
    spin_unlock_irqrestore(&h->lock, f);
    if (c)
        c->done_hop = 0;
    return c;
}

static void put_slot(struct sas_hba *h, struct sas_cmd *c)
{
    c->in_flight = 0;
    h->free_stack[h->nfree++] = c->slot;
}

void sas_cmd_free(struct sas_hba *h, struct sas_cmd *c)
{
    int f = spin_lock_irqsave(&h->lock);
    put_slot(h, c);
    spin_unlock_irqrestore(&h->lock, f);
}

unsigned sas_free_slots(const struct sas_hba *h)
{
    return h->dead ? 0 : h->nfree;
}

/* Write c into the SQ at the tail (the reserved bytes stay zero from allocation). */
static void write_sqe(struct sas_hba *h, const struct sas_cmd *c)
{
    struct sas_sqe *e = &h->sq[h->sq_tail];
    e->tag = c->tag;
    e->opcode = c->opcode;
    e->target = c->target;
    e->nsg = c->nsg;
    e->nblocks = c->nblocks;
    e->lba = c->lba;
    e->sgl = c->nsg ? c->sgl_bus : 0;
    h->sq_tail = (h->sq_tail + 1) & (h->qsize - 1);
    h->unrung++;
}

int sas_cmd_submit(struct sas_hba *h, struct sas_cmd *c)
{
    int rc = 0, f = spin_lock_irqsave(&h->lock);
    trace_begin(SPAN_DRIVER, c->tag);
    if (h->dead)
        rc = -XEN_EIO;
    else if (tagmap_find(&h->tags, c->tag) >= 0)
        rc = -XEN_EEXIST;
    if (rc) {
        put_slot(h, c);
    } else {
        write_sqe(h, c);
        tagmap_insert(&h->tags, c->slot, c->tag);
        c->in_flight = 1;
    }
    trace_end(SPAN_DRIVER, c->tag);
    spin_unlock_irqrestore(&h->lock, f);
    return rc;
}

void sas_kick(struct sas_hba *h)
{
    int f = spin_lock_irqsave(&h->lock);
    if (h->unrung && !h->dead) {
        wmb(); /* SQEs before the doorbell */
        wr32(h, SAS_REG_SQ_TAIL, h->sq_tail);
    }
    h->unrung = 0;
    spin_unlock_irqrestore(&h->lock, f);
}

void sas_set_batch_hook(struct sas_hba *h, sas_batch_fn fn, void *arg)
{
    int f = spin_lock_irqsave(&h->lock);
    h->batch = fn;
    h->batch_arg = arg;
    spin_unlock_irqrestore(&h->lock, f);
}

unsigned sas_irq_port(const struct sas_hba *h)
{
    return h->irq.port;
}

int sas_irq_affinity(struct sas_hba *h, unsigned cpu)
{
    return evtchn_bind_vcpu(h->irq.port, cpu);
}

/* ---- completion (upcall context) ---- */

/*
 * Completions are collected under the lock and finished (done(), which
 * takes the layer above's locks) after it is dropped: the layer above takes
 * its own lock before ours when it submits, never after.
 */
struct sas_done {
    struct sas_cmd *c;
    int status;
};

static void collect(struct sas_hba *h, struct sas_cmd *c, int status, struct sas_done *out,
                    unsigned *n)
{
    tagmap_remove(&h->tags, c->slot);
    h->completed++;
    if (status) {
        h->errors++;
        printf("sas: tag 0x%llx (op 0x%x target %u lba %llu, %u blocks): status %d, %s\n",
               (unsigned long long)c->tag, c->opcode, c->target, (unsigned long long)c->lba,
               c->nblocks, status, sas_status_name(status));
    }
    out[(*n)++] = (struct sas_done){c, status};
}

static void collect_tag(struct sas_hba *h, uint64_t tag, int status, struct sas_done *out,
                        unsigned *n)
{
    int slot = tagmap_find(&h->tags, tag);
    if (slot < 0) {
        printf("sas: completion for unknown tag 0x%llx (status %d) ignored\n",
               (unsigned long long)tag, status);
        return;
    }
    collect(h, &h->cmds[slot], status, out, n);
}

/* Take the next CQ entry if the device posted one: 1 (its command in *out, if known), or 0. */
static int pop_cqe(struct sas_hba *h, struct sas_done *out, unsigned *n)
{
    const struct sas_cqe *e = &h->cq[h->cq_head];
    if ((READ_ONCE(e->phase) & 1) != h->phase)
        return 0;
    rmb(); /* the entry's fields after its phase */
    uint64_t tag = e->tag;
    int status = e->status;
    if (++h->cq_head == h->qsize) {
        h->cq_head = 0;
        h->phase ^= 1;
    }
    collect_tag(h, tag, status, out, n);
    return 1;
}

/* done() of each, without the lock, then their slots back. */
static void finish(struct sas_hba *h, struct sas_done *d, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        uint64_t tag = d[i].c->tag;
        if (d[i].c->done_hop)
            trace_hop_move(d[i].c->done_hop,
                           tag); /* the device is done with it, interrupt or not */
        trace_begin(SPAN_DRIVER, tag);
        d[i].c->done(d[i].c, d[i].status);
        trace_end(SPAN_DRIVER, tag);
    }
    int f = spin_lock_irqsave(&h->lock);
    for (unsigned i = 0; i < n; i++)
        put_slot(h, d[i].c);
    spin_unlock_irqrestore(&h->lock, f);
}

/*
 * Consume the CQ entry by entry, each command finished before the next
 * entry is looked at (as Linux's nvme_process_cq), so entries the device
 * posts meanwhile are taken in the same pass; then one CQ_HEAD write
 * releases them all to the device.
 */
static void drain_cq(struct sas_hba *h)
{
    unsigned consumed = 0;
    for (;;) {
        struct sas_done d;
        unsigned n = 0;
        int f = spin_lock_irqsave(&h->lock);
        int got = !h->dead && pop_cqe(h, &d, &n);
        spin_unlock_irqrestore(&h->lock, f);
        if (!got)
            break;
        consumed++;
        finish(h, &d, n);
    }
    int f = spin_lock_irqsave(&h->lock);
    if (consumed && !h->dead)
        wr32(h, SAS_REG_CQ_HEAD, h->cq_head);
    spin_unlock_irqrestore(&h->lock, f);
}

/* FATAL: the device aborted everything it held; fail every command in flight. */
static unsigned fatal(struct sas_hba *h, struct sas_done *out)
{
    unsigned n = 0;
    printf("sas: fatal error: STATUS %x ERR %u; failing %u commands\n", rd32(h, SAS_REG_STATUS),
           rd32(h, SAS_REG_ERR), h->nslots - h->nfree);
    h->dead = 1;
    for (unsigned i = 0; i < h->nslots; i++)
        if (h->cmds[i].in_flight && tagmap_find(&h->tags, h->cmds[i].tag) == h->cmds[i].slot)
            collect(h, &h->cmds[i], SAS_ST_ABORTED, out, &n);
    return n;
}

static void sas_irq(evtchn_port_t port, void *data)
{
    (void)port;
    struct sas_hba *h = data;
    int f = spin_lock_irqsave(&h->lock);
    h->irqs++;
    uint32_t isr = rd32(h, SAS_REG_ISR);
    if (isr)
        wr32(h, SAS_REG_ISR, isr);
    spin_unlock_irqrestore(&h->lock, f);
    drain_cq(h);
    if (isr & SAS_ISR_FATAL) {
        struct sas_done aborted[SAS_DRV_MAX_SLOTS];
        unsigned n = 0;
        f = spin_lock_irqsave(&h->lock);
        if (!h->dead)
            n = fatal(h, aborted);
        spin_unlock_irqrestore(&h->lock, f);
        finish(h, aborted, n);
    }
    physdev_eoi(h->irq.pirq);
    if (h->batch)
        h->batch(h->batch_arg);
}

void sas_shutdown(struct sas_hba *h)
{
    int f = spin_lock_irqsave(&h->lock);
    wr32(h, SAS_REG_CTRL, 0);
    h->dead = 1;
    spin_unlock_irqrestore(&h->lock, f);
    pci_irq_release(&h->irq);
    printf("sas: disabled after %lu commands (%lu failed), %lu interrupts\n", h->completed,
           h->errors, h->irqs);
}
