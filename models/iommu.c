/*
 * The VT-d-like DMA remapping unit (interface and layout in iommu.h).
 *
 * Caches: the IOTLB holds `iotlb_entries` (DID, page) -> (frame, R/W)
 * translations, replaced round-robin (deterministic); the context cache
 * holds the context entry per source-id. Both are filled by walks and
 * emptied only by the invalidation commands software issues, as in
 * hardware: a stale entry keeps translating until invalidated.
 */
#include "iommu.h"

#include <stdlib.h>
#include <string.h>

#define CAP_VALUE                                                                                  \
    ((uint64_t)(IOMMU_NFR - 1) << 40 | (uint64_t)(IOMMU_FRCD / 16) << 24 | 47ull << 16 |           \
     (1ull << 10) /* SAGAW 48-bit */ | 2ull /* ND: 256 domains */)
#define ECAP_VALUE ((uint64_t)(IOMMU_IVA / 16) << 8)

struct tlb_entry {
    bool valid;
    uint16_t did;
    uint64_t page; /* bus address >> 12 */
    uint64_t frame;
    uint8_t perm;
};

struct ctx_entry {
    bool valid;
    uint16_t did;
    uint64_t slptptr;
};

struct iommu {
    struct iommu_mem mem;
    simtime_t walk, inval, inval_owed;
    uint32_t gsts, fsts, fectl;
    uint64_t rtaddr, ccmd, iva, iotlb_reg;
    uint64_t frcd[IOMMU_NFR][2];
    unsigned next_frcd;
    struct tlb_entry *tlb;
    unsigned ntlb, tlb_next;
    struct ctx_entry ctx[65536];
    struct iommu_stats st;
    struct iommu_fault *log;
    unsigned nlog, caplog;
};

struct iommu *iommu_create(struct iommu_mem mem, unsigned iotlb_entries, simtime_t walk,
                           simtime_t inval)
{
    struct iommu *u = calloc(1, sizeof(*u));
    if (!u)
        return NULL;
    u->mem = mem;
    u->walk = walk;
    u->inval = inval;
    u->ntlb = iotlb_entries ? iotlb_entries : 1;
    u->tlb = calloc(u->ntlb, sizeof(*u->tlb));
    if (!u->tlb) {
        free(u);
        return NULL;
    }
    return u;
}

void iommu_destroy(struct iommu *u)
{
    if (!u)
        return;
    free(u->tlb);
    free(u->log);
    free(u);
}

/* ---- memory reads of the structures ---- */

static bool read_q(struct iommu *u, uint64_t pa, uint64_t *v)
{
    uint8_t *f = u->mem.frame(u->mem.opaque, pa & ~4095ull);
    if (!f)
        return false;
    memcpy(v, f + (pa & 4095), 8);
    return true;
}

/* ---- faults ---- */

static void record_fault(struct iommu *u, uint16_t sid, uint64_t addr, bool write, uint8_t reason)
{
    u->st.faults++;
    struct iommu_fault f = {.sid = sid, .reason = reason, .write = write, .addr = addr & ~4095ull};
    if (u->nlog == u->caplog) {
        unsigned cap = u->caplog ? 2 * u->caplog : 16;
        struct iommu_fault *p = realloc(u->log, cap * sizeof(*p));
        if (p) {
            u->log = p;
            u->caplog = cap;
        }
    }
    if (u->nlog < u->caplog)
        u->log[u->nlog++] = f;
    uint64_t *r = u->frcd[u->next_frcd];
    if (r[1] & IOMMU_FRCD_F) {
        u->fsts |= IOMMU_FSTS_PFO; /* every register full: the fault is lost to software */
        return;
    }
    r[0] = f.addr;
    r[1] = IOMMU_FRCD_F | (write ? 0 : IOMMU_FRCD_T_READ) | (uint64_t)reason << 32 | sid;
    u->fsts = (u->fsts & ~(0xffu << 8)) | (uint32_t)u->next_frcd << 8 | IOMMU_FSTS_PPF;
    u->next_frcd = (u->next_frcd + 1) % IOMMU_NFR;
}

/* ---- translation ---- */

static struct tlb_entry *tlb_find(struct iommu *u, uint16_t did, uint64_t page)
{
    for (unsigned i = 0; i < u->ntlb; i++)
        if (u->tlb[i].valid && u->tlb[i].did == did && u->tlb[i].page == page)
            return &u->tlb[i];
    return NULL;
}

/* The context of sid, from the cache or the root and context tables: 0 or a fault reason. */
static uint8_t context(struct iommu *u, uint16_t sid, struct ctx_entry *out)
{
    if (u->ctx[sid].valid) {
        *out = u->ctx[sid];
        return 0;
    }
    uint64_t root, lo, hi;
    if (!read_q(u, u->rtaddr + (uint64_t)(sid >> 8) * 16, &root) || !(root & 1))
        return IOMMU_FR_ROOT_NP;
    uint64_t ce = (root & ~4095ull) + (uint64_t)(sid & 0xff) * 16;
    if (!read_q(u, ce, &lo) || !read_q(u, ce + 8, &hi) || !(lo & 1))
        return IOMMU_FR_CTX_NP;
    *out = (struct ctx_entry){.valid = true, .did = (uint16_t)(hi >> 8), .slptptr = lo & ~4095ull};
    u->ctx[sid] = *out;
    return 0;
}

/* Four-level walk of page: 0 and the leaf entry, or a fault reason. */
static uint8_t walk(struct iommu *u, uint64_t slptptr, uint64_t page, bool write, uint64_t *leaf)
{
    uint64_t table = slptptr;
    uint8_t fr = write ? IOMMU_FR_WRITE : IOMMU_FR_READ;
    for (int level = 3; level >= 0; level--) {
        uint64_t e;
        unsigned idx = (unsigned)(page >> (9 * level)) & 511;
        if (!read_q(u, table + idx * 8ull, &e) || !(e & (IOMMU_PTE_R | IOMMU_PTE_W)))
            return fr;
        table = e & 0x000ffffffffff000ull;
        if (level == 0)
            *leaf = e;
    }
    return 0;
}

bool iommu_translate(struct iommu *u, uint16_t sid, uint64_t bus, bool write, uint64_t *pa,
                     simtime_t *walk_time)
{
    *walk_time = 0;
    if (!(u->gsts & IOMMU_GSTS_TES)) {
        *pa = bus;
        return true;
    }
    u->st.translations++;
    uint64_t page = bus >> 12;
    uint8_t need = write ? IOMMU_PTE_W : IOMMU_PTE_R;
    if (bus >> 48) {
        record_fault(u, sid, bus, write, IOMMU_FR_ADDR_WIDTH);
        return false;
    }
    struct ctx_entry c;
    uint8_t fr = context(u, sid, &c);
    if (fr) {
        *walk_time = u->walk;
        record_fault(u, sid, bus, write, fr);
        return false;
    }
    struct tlb_entry *t = tlb_find(u, c.did, page);
    if (t && (t->perm & need)) {
        u->st.hits++;
        *pa = (t->frame << 12) | (bus & 4095);
        return true;
    }
    u->st.misses++;
    *walk_time = u->walk;
    uint64_t leaf = 0;
    fr = walk(u, c.slptptr, page, write, &leaf);
    if (!fr && !(leaf & need))
        fr = write ? IOMMU_FR_WRITE : IOMMU_FR_READ;
    if (fr) {
        record_fault(u, sid, bus, write, fr);
        return false;
    }
    if (!t) {
        t = &u->tlb[u->tlb_next];
        u->tlb_next = (u->tlb_next + 1) % u->ntlb;
    }
    *t = (struct tlb_entry){.valid = true,
                            .did = c.did,
                            .page = page,
                            .frame = (leaf & 0x000ffffffffff000ull) >> 12,
                            .perm = (uint8_t)(leaf & 3)};
    *pa = (t->frame << 12) | (bus & 4095);
    return true;
}

/* ---- invalidation ---- */

static void iotlb_invalidate(struct iommu *u, uint64_t cmd)
{
    uint64_t granularity = cmd & (3ull << 60);
    uint16_t did = (uint16_t)(cmd >> 32);
    uint64_t page = u->iva >> 12, pages = 1ull << (u->iva & 0x3f);
    for (unsigned i = 0; i < u->ntlb; i++) {
        struct tlb_entry *t = &u->tlb[i];
        if (!t->valid)
            continue;
        if (granularity == IOMMU_IOTLB_GLOBAL ||
            (granularity == IOMMU_IOTLB_DOMAIN && t->did == did) ||
            (granularity == IOMMU_IOTLB_PAGE && t->did == did && t->page >= (page & ~(pages - 1)) &&
             t->page < (page & ~(pages - 1)) + pages))
            t->valid = false;
    }
    if (granularity == IOMMU_IOTLB_GLOBAL)
        u->st.inval_global++;
    else if (granularity == IOMMU_IOTLB_DOMAIN)
        u->st.inval_domain++;
    else
        u->st.inval_page++;
    u->inval_owed += u->inval;
}

simtime_t iommu_take_inval_time(struct iommu *u)
{
    simtime_t t = u->inval_owed;
    u->inval_owed = 0;
    return t;
}

/* ---- registers ---- */

static uint64_t reg64(struct iommu *u, uint64_t off)
{
    switch (off) {
    case IOMMU_CAP:
        return CAP_VALUE;
    case IOMMU_ECAP:
        return ECAP_VALUE;
    case IOMMU_RTADDR:
        return u->rtaddr;
    case IOMMU_CCMD:
        return u->ccmd;
    case IOMMU_IVA:
        return u->iva;
    case IOMMU_IOTLB:
        return u->iotlb_reg;
    default:
        if (off >= IOMMU_FRCD && off < IOMMU_FRCD + IOMMU_NFR * 16)
            return u->frcd[(off - IOMMU_FRCD) / 16][((off - IOMMU_FRCD) / 8) & 1];
        return 0;
    }
}

static uint64_t iommu_read(void *opaque, uint64_t off, unsigned size, simtime_t now)
{
    struct iommu *u = opaque;
    (void)now;
    uint64_t v;
    switch (off & ~3ull) {
    case IOMMU_VER:
        v = 0x10; /* 1.0 */
        break;
    case IOMMU_GSTS:
        v = u->gsts;
        break;
    case IOMMU_FSTS:
        v = u->fsts;
        break;
    case IOMMU_FECTL:
        v = u->fectl;
        break;
    default:
        v = reg64(u, off & ~7ull) >> (8 * (off & 4));
    }
    v >>= 8 * (off & 3);
    return size >= 4 ? (uint32_t)v : v & ((1u << (8 * size)) - 1);
}

static void set_half(uint64_t *r, uint64_t off, uint64_t value)
{
    unsigned shift = (off & 4) ? 32 : 0;
    *r = (*r & ~(0xffffffffull << shift)) | ((value & 0xffffffffull) << shift);
}

static void iommu_write(void *opaque, uint64_t off, uint64_t value, unsigned size, simtime_t now)
{
    struct iommu *u = opaque;
    (void)now;
    if (size != 4 || (off & 3))
        return; /* the spec's registers take 32- or 64-bit accesses */
    switch (off) {
    case IOMMU_GCMD:
        if (value & IOMMU_GCMD_SRTP)
            u->gsts |= IOMMU_GSTS_RTPS;
        u->gsts = (value & IOMMU_GCMD_TE) ? u->gsts | IOMMU_GSTS_TES : u->gsts & ~IOMMU_GSTS_TES;
        return;
    case IOMMU_FSTS:
        u->fsts &= ~((uint32_t)value & IOMMU_FSTS_PFO); /* RW1C */
        return;
    case IOMMU_FECTL:
        u->fectl = (uint32_t)value & (1u << 31);
        return;
    case IOMMU_RTADDR:
    case IOMMU_RTADDR + 4:
        set_half(&u->rtaddr, off, value);
        u->rtaddr &= ~4095ull;
        return;
    case IOMMU_IVA:
    case IOMMU_IVA + 4:
        set_half(&u->iva, off, value);
        return;
    case IOMMU_CCMD:
        set_half(&u->ccmd, off, value);
        return;
    case IOMMU_CCMD + 4:
        set_half(&u->ccmd, off, value);
        if (u->ccmd & IOMMU_CCMD_ICC) {
            memset(u->ctx, 0, sizeof(u->ctx)); /* every granularity: done globally */
            u->ccmd &= ~IOMMU_CCMD_ICC;
            u->inval_owed += u->inval;
        }
        return;
    case IOMMU_IOTLB:
        set_half(&u->iotlb_reg, off, value);
        return;
    case IOMMU_IOTLB + 4:
        set_half(&u->iotlb_reg, off, value);
        if (u->iotlb_reg & IOMMU_IOTLB_IVT) {
            iotlb_invalidate(u, u->iotlb_reg);
            u->iotlb_reg &= ~IOMMU_IOTLB_IVT;
        }
        return;
    default:
        if (off >= IOMMU_FRCD && off < IOMMU_FRCD + IOMMU_NFR * 16 && (off & 15) == 12 &&
            (value & (1u << 31))) {
            /* F is RW1C; PPF stays set while any register holds a fault */
            u->frcd[(off - IOMMU_FRCD) / 16][1] &= ~IOMMU_FRCD_F;
            bool any = false;
            for (int i = 0; i < IOMMU_NFR; i++)
                any |= (u->frcd[i][1] & IOMMU_FRCD_F) != 0;
            if (!any)
                u->fsts &= ~IOMMU_FSTS_PPF;
        }
        return;
    }
}

const struct mmio_ops iommu_mmio_ops = {.read = iommu_read, .write = iommu_write};

struct iommu_stats iommu_stats(const struct iommu *u)
{
    return u->st;
}

const struct iommu_fault *iommu_fault_log(const struct iommu *u, unsigned *n)
{
    *n = u->nlog;
    return u->log;
}

const char *iommu_fault_reason(uint8_t reason)
{
    switch (reason) {
    case IOMMU_FR_ROOT_NP:
        return "root entry not present";
    case IOMMU_FR_CTX_NP:
        return "context entry not present";
    case IOMMU_FR_ADDR_WIDTH:
        return "address beyond the guest address width";
    case IOMMU_FR_WRITE:
        return "write to a page not mapped writable";
    case IOMMU_FR_READ:
        return "read of a page not mapped readable";
    default:
        return "unknown";
    }
}
