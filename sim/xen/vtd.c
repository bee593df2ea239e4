/*
 * The hypervisor's VT-d driver (interface and policy in vtd.h).
 *
 * Tables live in machine frames reserved for them (vtd_frames_needed),
 * written as Xen writes them, and the unit is programmed through its
 * registers: RTADDR + GCMD.SRTP, then GCMD.TE; context-cache and IOTLB
 * invalidations through CCMD and the IOTLB register, as Xen's
 * flush_context_reg / flush_iotlb_reg do (register-based invalidation).
 *
 * Grant mappings are reference-counted in the leaf entry's ignored bits
 * 52..60 (a page granted twice stays reachable until both are unmapped);
 * bit 61 marks the domain's own memory, which grant unmaps never remove.
 * Domain ids in context entries are the domid + 1 (DID 0 is reserved
 * when caching mode is reported; kept free here too).
 */
#include "vtd.h"

#include <string.h>

#include "iommu.h"
#include "machine.h"
#include "pci.h"

#define PTE_ADDR 0x000ffffffffff000ull
#define PTE_CNT_SHIFT 52
#define PTE_CNT_MASK (0x1ffull << PTE_CNT_SHIFT)
#define PTE_OWN (1ull << 61)

static void wr32(struct machine *m, uint64_t off, uint32_t v)
{
    iommu_mmio_ops.write(m->iommu, off, v, 4, evq_now(&m->q));
}

static uint32_t rd32(struct machine *m, uint64_t off)
{
    return (uint32_t)iommu_mmio_ops.read(m->iommu, off, 4, evq_now(&m->q));
}

static void wr64(struct machine *m, uint64_t off, uint64_t v)
{
    wr32(m, off, (uint32_t)v);
    wr32(m, off + 4, (uint32_t)(v >> 32));
}

static void *frame_of(void *opaque, uint64_t pa)
{
    struct machine *m = opaque;
    return pa >> PAGE_SHIFT < m->nr_mfns ? machine_frame(m, pa >> PAGE_SHIFT) : NULL;
}

uint64_t vtd_frames_needed(uint64_t machine_frames, int ndomains)
{
    /* per table: every leaf (one per 512 frames) and the three levels above; + root, context */
    return (uint64_t)(ndomains + 1) * (machine_frames / 512 + 8) + 2;
}

static uint64_t *table(struct machine *m, uint64_t mfn)
{
    return machine_frame(m, mfn);
}

/* The leaf entry for frame `page` in the tables at pgd, creating levels; NULL if out of frames. */
static uint64_t *leaf(struct machine *m, uint64_t pgd, uint64_t page, bool create)
{
    uint64_t t = pgd;
    for (int level = 3; level > 0; level--) {
        uint64_t *e = &table(m, t)[(page >> (9 * level)) & 511];
        if (!(*e & (IOMMU_PTE_R | IOMMU_PTE_W))) {
            if (!create)
                return NULL;
            uint64_t f = machine_alloc_mfns(m, 1);
            if (f == UINT64_MAX)
                return NULL;
            *e = (f << PAGE_SHIFT) | IOMMU_PTE_R | IOMMU_PTE_W;
        }
        t = (*e & PTE_ADDR) >> PAGE_SHIFT;
    }
    return &table(m, t)[page & 511];
}

static int map_own(struct domain *d, uint64_t first, uint64_t n)
{
    for (uint64_t f = first; f < first + n; f++) {
        uint64_t *e = leaf(d->m, d->vtd_pgd, f, true);
        if (!e)
            return -1;
        *e = (f << PAGE_SHIFT) | PTE_OWN | IOMMU_PTE_R | IOMMU_PTE_W;
    }
    return 0;
}

/* The tables of a device-owning domain: its RAM, or all RAM for the hardware domain. */
static int build_domain(struct machine *m, struct domain *d)
{
    if (d->vtd_pgd)
        return 0;
    d->vtd_pgd = machine_alloc_mfns(m, 1);
    if (d->vtd_pgd == UINT64_MAX)
        return -1;
    d->vtd_strict = !d->privileged;
    if (d->vtd_strict)
        return map_own(d, d->first_mfn, d->init_pages);
    for (int i = 0; i < m->ndoms; i++)
        if (map_own(d, m->doms[i]->first_mfn, m->doms[i]->init_pages) < 0)
            return -1;
    return 0;
}

static uint16_t did_of(const struct domain *d)
{
    return (uint16_t)(d->domid + 1);
}

static void set_context(struct machine *m, const struct plat_dev *pd, const struct domain *d)
{
    uint64_t *ctx = table(m, m->vtd_ctx);
    unsigned devfn = pci_func_slot(pd->f) << 3;
    if (d) {
        ctx[devfn * 2] = (d->vtd_pgd << PAGE_SHIFT) | 1;
        ctx[devfn * 2 + 1] = (uint64_t)did_of(d) << 8 | 2; /* AW 2: 48-bit, 4 levels */
    } else {
        ctx[devfn * 2] = ctx[devfn * 2 + 1] = 0;
    }
}

int vtd_init(struct machine *m, char *err, size_t errlen)
{
    if (!m->sc->machine.iommu || m->ndevs == 0)
        return 0;
    for (int i = 0; i < m->ndevs; i++)
        if (m->devs[i].owner->native) {
            /* no hypervisor to program it: translation stays off, as firmware leaves it */
            if (!m->quiet)
                fprintf(m->console_out, "iommu: %s is a native kernel: DMA remapping left off\n",
                        m->devs[i].owner->name);
            return 0;
        }
    m->iommu = iommu_create((struct iommu_mem){.opaque = m, .frame = frame_of},
                            (unsigned)m->cost->value[C_IOTLB_ENTRIES],
                            machine_cost(m, C_IOTLB_MISS), machine_cost(m, C_IOTLB_INVAL));
    m->vtd_root = machine_alloc_mfns(m, 1);
    m->vtd_ctx = machine_alloc_mfns(m, 1);
    if (!m->iommu || m->vtd_root == UINT64_MAX || m->vtd_ctx == UINT64_MAX) {
        snprintf(err, errlen, "iommu: cannot set up the remapping structures");
        return -1;
    }
    table(m, m->vtd_root)[0] = (m->vtd_ctx << PAGE_SHIFT) | 1; /* bus 0 */
    for (int i = 0; i < m->ndevs; i++) {
        struct plat_dev *pd = &m->devs[i];
        if (build_domain(m, pd->owner) < 0) {
            snprintf(err, errlen, "iommu: out of frames for %s's DMA tables", pd->owner->name);
            return -1;
        }
        set_context(m, pd, pd->owner);
    }
    wr64(m, IOMMU_RTADDR, m->vtd_root << PAGE_SHIFT);
    wr32(m, IOMMU_GCMD, IOMMU_GCMD_SRTP);
    wr64(m, IOMMU_CCMD, IOMMU_CCMD_ICC | IOMMU_CCMD_GLOBAL);
    wr64(m, IOMMU_IOTLB, IOMMU_IOTLB_IVT | IOMMU_IOTLB_GLOBAL);
    wr32(m, IOMMU_GCMD, IOMMU_GCMD_TE);
    iommu_take_inval_time(m->iommu); /* boot-time flushes: before any I/O */
    if (!(rd32(m, IOMMU_GSTS) & IOMMU_GSTS_TES)) {
        snprintf(err, errlen, "iommu: translation did not enable");
        return -1;
    }
    return 0;
}

void vtd_assign(struct plat_dev *pd)
{
    struct machine *m = pd->m;
    if (!m->iommu)
        return;
    if (build_domain(m, pd->owner) < 0) {
        set_context(m, pd, NULL); /* no tables: the device reaches nothing */
        if (!m->failure[0])
            snprintf(m->failure, sizeof m->failure, "iommu: out of frames for %s's DMA tables",
                     pd->owner->name);
    } else {
        set_context(m, pd, pd->owner);
    }
    wr64(m, IOMMU_CCMD, IOMMU_CCMD_ICC | IOMMU_CCMD_GLOBAL);
    wr64(m, IOMMU_IOTLB, IOMMU_IOTLB_IVT | IOMMU_IOTLB_GLOBAL);
    iommu_take_inval_time(m->iommu);
}

void vtd_destroy(struct machine *m)
{
    iommu_destroy(m->iommu);
    m->iommu = NULL;
}

void vtd_grant_map(struct domain *d, uint64_t mfn, bool writable)
{
    if (!d->m->iommu || !d->vtd_pgd || !d->vtd_strict)
        return;
    uint64_t *e = leaf(d->m, d->vtd_pgd, mfn, true);
    if (!e)
        return; /* out of table frames: the page stays unreachable, DMA to it faults */
    if (*e & PTE_OWN)
        return;
    uint64_t cnt = ((*e & PTE_CNT_MASK) >> PTE_CNT_SHIFT) + 1;
    if (cnt > (PTE_CNT_MASK >> PTE_CNT_SHIFT))
        return;
    uint64_t perm = (*e & IOMMU_PTE_W) | IOMMU_PTE_R | (writable ? IOMMU_PTE_W : 0);
    *e = (mfn << PAGE_SHIFT) | cnt << PTE_CNT_SHIFT | perm;
}

simtime_t vtd_grant_unmap(struct domain *d, uint64_t mfn)
{
    struct machine *m = d->m;
    if (!m->iommu || !d->vtd_pgd || !d->vtd_strict)
        return 0;
    uint64_t *e = leaf(m, d->vtd_pgd, mfn, false);
    if (!e || (*e & PTE_OWN) || !(*e & PTE_CNT_MASK))
        return 0;
    uint64_t cnt = ((*e & PTE_CNT_MASK) >> PTE_CNT_SHIFT) - 1;
    if (cnt) {
        *e = (*e & ~PTE_CNT_MASK) | cnt << PTE_CNT_SHIFT;
        return 0;
    }
    *e = 0;
    wr64(m, IOMMU_IVA, mfn << PAGE_SHIFT); /* AM 0: this page */
    wr64(m, IOMMU_IOTLB, IOMMU_IOTLB_IVT | IOMMU_IOTLB_PAGE | IOMMU_IOTLB_DID(did_of(d)));
    return iommu_take_inval_time(m->iommu);
}

/*
 * A frame enters or leaves a driver domain's memory (a reservation op,
 * memory.c): its own-memory entry follows, as Xen's p2m changes update the
 * IOMMU tables of a strict domain (iommu_map / iommu_unmap + flush).
 */
void vtd_own_page(struct domain *d, uint64_t mfn, bool present)
{
    struct machine *m = d->m;
    if (!m->iommu || !d->vtd_pgd || !d->vtd_strict)
        return;
    uint64_t *e = leaf(m, d->vtd_pgd, mfn, present);
    if (!e)
        return; /* out of table frames (present) or never mapped (absent) */
    if (present) {
        *e = (mfn << PAGE_SHIFT) | PTE_OWN | IOMMU_PTE_R | IOMMU_PTE_W;
        return;
    }
    *e = 0;
    wr64(m, IOMMU_IVA, mfn << PAGE_SHIFT);
    wr64(m, IOMMU_IOTLB, IOMMU_IOTLB_IVT | IOMMU_IOTLB_PAGE | IOMMU_IOTLB_DID(did_of(d)));
    iommu_take_inval_time(m->iommu);
}

void vtd_domain_dead(struct domain *d)
{
    struct machine *m = d->m;
    if (!m->iommu || !d->vtd_pgd)
        return;
    for (int i = 0; i < m->ndevs; i++)
        if (m->devs[i].owner == d)
            set_context(m, &m->devs[i], NULL);
    wr64(m, IOMMU_CCMD, IOMMU_CCMD_ICC | IOMMU_CCMD_GLOBAL);
    wr64(m, IOMMU_IOTLB, IOMMU_IOTLB_IVT | IOMMU_IOTLB_DOMAIN | IOMMU_IOTLB_DID(did_of(d)));
    iommu_take_inval_time(m->iommu);
}

/* The domain whose RAM holds mfn, NULL for the hypervisor's own frames. */
static struct domain *frame_owner(struct machine *m, uint64_t mfn)
{
    for (int i = 0; i < m->ndoms; i++) {
        struct domain *d = m->doms[i];
        if (m->frame_owner && mfn < m->nr_mfns && m->frame_owner[mfn] == d)
            return d;
    }
    return NULL;
}

/*
 * The platform's witness of DMA isolation: a write that lands in a frame
 * neither the device's owner holds nor has mapped by grant is counted and
 * named -- whatever the IOMMU (on or off) let through.
 */
static void check_foreign(struct plat_dev *pd, uint64_t pa)
{
    struct domain *o = pd->owner;
    uint64_t mfn = pa >> PAGE_SHIFT;
    if (pd->m->frame_owner && mfn < pd->m->nr_mfns && pd->m->frame_owner[mfn] == o)
        return;
    for (uint32_t h = 0; h < MAPTRACK_MAX; h++)
        if (o->maptrack[h].in_use && o->maptrack[h].mfn == mfn)
            return;
    struct domain *victim = frame_owner(pd->m, mfn);
    pd->foreign_writes++;
    if (!pd->m->quiet)
        fprintf(pd->m->console_out,
                "platform: DMA write by 00:%02x.0 (owner %s) into %s frame 0x%llx, not granted "
                "to %s\n",
                pci_func_slot(pd->f), o->name, victim ? victim->name : "the hypervisor's",
                (unsigned long long)mfn, o->name);
}

void *vtd_dma(struct plat_dev *pd, uint64_t bus, uint64_t len, bool write)
{
    struct machine *m = pd->m;
    uint64_t pa = bus;
    simtime_t walk = 0;
    uint16_t sid = (uint16_t)(pci_func_slot(pd->f) << 3);
    if (m->iommu && !iommu_translate(m->iommu, sid, bus, write, &pa, &walk)) {
        pd->dma_stall += walk;
        pd->dma_faults++;
        if (!m->quiet)
            fprintf(m->console_out,
                    "(XEN) [VT-D]DMAR:[DMA %s] Request device [0000:00:%02x.0] fault addr %llx "
                    "(owner %s d%u)\n",
                    write ? "Write" : "Read", pci_func_slot(pd->f),
                    (unsigned long long)(bus & ~(PAGE_SIZE - 1)), pd->owner->name,
                    pd->owner->domid);
        return NULL;
    }
    pd->dma_stall += walk;
    if (pa >= m->nr_mfns * PAGE_SIZE || (pa & (PAGE_SIZE - 1)) + len > PAGE_SIZE)
        return NULL;
    if (write && !pd->owner->native)
        check_foreign(pd, pa);
    return m->mem + pa;
}

uint64_t vtd_faults(const struct machine *m)
{
    return m->iommu ? iommu_stats(m->iommu).faults : 0;
}

uint64_t vtd_foreign_writes(const struct machine *m)
{
    uint64_t n = 0;
    for (int i = 0; i < m->ndevs; i++)
        n += m->devs[i].foreign_writes;
    return n;
}

void vtd_report(const struct machine *m, FILE *out)
{
    uint64_t foreign = vtd_foreign_writes(m);
    if (foreign)
        fprintf(out,
                "dma: %llu DMA writes landed outside the memory their device's owner may "
                "reach\n",
                (unsigned long long)foreign);
    if (!m->iommu)
        return;
    struct iommu_stats s = iommu_stats(m->iommu);
    fprintf(out,
            "iommu: %llu translations, %llu IOTLB hits, %llu misses; invalidations %llu page, "
            "%llu domain, %llu global; %llu DMA faults\n",
            (unsigned long long)s.translations, (unsigned long long)s.hits,
            (unsigned long long)s.misses, (unsigned long long)s.inval_page,
            (unsigned long long)s.inval_domain, (unsigned long long)s.inval_global,
            (unsigned long long)s.faults);
    unsigned n;
    const struct iommu_fault *f = iommu_fault_log(m->iommu, &n);
    for (unsigned i = 0; i < n && i < 8; i++)
        fprintf(out, "iommu: fault %u: device 00:%02x.%u %s at 0x%llx: reason %02xh (%s)\n", i,
                f[i].sid >> 3 & 31, f[i].sid & 7u, f[i].write ? "write" : "read",
                (unsigned long long)f[i].addr, f[i].reason, iommu_fault_reason(f[i].reason));
    if (n > 8)
        fprintf(out, "iommu: ... %u more faults\n", n - 8);
}
