/*
 * Domain memory reservations, as Xen's common/memory.c keeps them: each
 * domain's tot_pages (the frames it holds) and max_pages (XEN_DOMCTL_max_mem,
 * set by the toolstack), XENMEM_current_reservation /
 * XENMEM_maximum_reservation, and the three reservation operations a
 * balloon driver uses -- XENMEM_decrease_reservation (give frames back),
 * XENMEM_populate_physmap (take frames at given guest frames: what Linux's
 * drivers/xen/balloon.c increase_reservation calls) and
 * XENMEM_increase_reservation (take frames without placing them).
 *
 * The pseudo-physical map: gpfn g of a domain is backed by machine frame
 * p2m[g] or is unpopulated. The domain's host view of its RAM (d->ram) is a
 * reservation of the whole RAM range in which each populated page is the
 * machine-memory memfd's frame, mapped with MAP_FIXED; an unpopulated page
 * is an inaccessible anonymous page, and the vCPUs' TLB fill hook refuses
 * it, so a guest access faults as an absent page does in Xen. Frames given
 * back are scrubbed (Xen scrubs freed domain pages) and go to the host's
 * free pool, last in first out, where any domain's populate_physmap finds
 * them. The pool's size is the machine's RAM (machine{ memory_mb }) less
 * what domains hold.
 *
 * A frame something else still references -- another domain's grant
 * mapping, or a ring the xenstore service reads -- leaves the guest's
 * physmap but is not freed, and stays counted in tot_pages: in Xen the
 * page's other references keep it allocated to the domain
 * (guest_remove_page drops only the allocation reference).
 *
 * Guest input is checked as Xen's do_memory_op checks it: an unreadable
 * reservation, nr_extents above UINT_MAX >> MEMOP_EXTENT_SHIFT, a start
 * extent past the end, an extent_order above the caller's maximum
 * (CONFIG_DOMU_MAX_ORDER 9, CONFIG_HWDOM_MAX_ORDER 12), an extent list
 * outside the caller's memory or address_bits <= PAGE_SHIFT return the
 * number of extents done so far (none), as Xen does; another domain's
 * reservation needs privilege (-EPERM); an unknown domain is 0 done. The
 * operations stop at the first extent they cannot do and return how many
 * they did (Xen's nr_done): past max_pages, out of host frames, a frame
 * not populated (decrease) or already populated / outside the RAM range
 * (populate).
 */
#include "machine.h"
#include "vtd.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <xen/memory.h>

#define DOMU_MAX_ORDER 9   /* Xen: CONFIG_DOMU_MAX_ORDER = PAGETABLE_ORDER */
#define HWDOM_MAX_ORDER 12 /* Xen: CONFIG_HWDOM_MAX_ORDER */

/* ---- the host's frames ---- */

static uint64_t host_free_pages(const struct machine *m)
{
    return m->ram_used < m->ram_limit ? m->ram_limit - m->ram_used : 0;
}

/* One frame below `limit` (machine frame number, 0 = any): the free pool first, else fresh. */
static uint64_t frame_alloc(struct machine *m, uint64_t limit)
{
    if (m->nfree_mfns && (!limit || m->free_mfns[m->nfree_mfns - 1] < limit))
        return m->free_mfns[--m->nfree_mfns];
    if (m->next_mfn >= m->nr_mfns || (limit && m->next_mfn >= limit))
        return UINT64_MAX;
    return m->next_mfn++;
}

/* 2^order contiguous fresh frames (Xen's alloc_domheap_pages of that order). */
static uint64_t frames_alloc(struct machine *m, unsigned order, uint64_t limit)
{
    uint64_t n = 1ull << order;
    if (!order)
        return frame_alloc(m, limit);
    uint64_t first = (m->next_mfn + n - 1) & ~(n - 1);
    if (first > m->nr_mfns || n > m->nr_mfns - first || (limit && first + n > limit))
        return UINT64_MAX;
    /* the frames skipped for alignment go to the pool */
    for (uint64_t f = m->next_mfn; f < first; f++)
        m->free_mfns[m->nfree_mfns++] = f;
    m->next_mfn = first + n;
    return first;
}

static void frame_free(struct machine *m, uint64_t mfn)
{
    memset(machine_frame(m, mfn), 0, PAGE_SIZE); /* scrubbed before anyone gets it again */
    m->free_mfns[m->nfree_mfns++] = mfn;
    m->frame_owner[mfn] = NULL;
}

/* ---- a domain's physmap ---- */

static int host_map(struct domain *d, uint64_t gpfn, uint64_t mfn)
{
    void *p = mmap(d->ram + (gpfn << PAGE_SHIFT), PAGE_SIZE, PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_FIXED, d->m->mem_fd, (off_t)(mfn << PAGE_SHIFT));
    return p == MAP_FAILED ? -1 : 0;
}

static int host_unmap(struct domain *d, uint64_t gpfn)
{
    void *p = mmap(d->ram + (gpfn << PAGE_SHIFT), PAGE_SIZE, PROT_NONE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
    return p == MAP_FAILED ? -1 : 0;
}

int memory_domain_init(struct domain *d)
{
    struct machine *m = d->m;
    size_t size = d->nr_pages * PAGE_SIZE;
    void *r = mmap(NULL, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (r == MAP_FAILED)
        return -1;
    d->ram = r;
    if (d->init_pages &&
        mmap(d->ram, d->init_pages * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
             m->mem_fd, (off_t)(d->first_mfn << PAGE_SHIFT)) == MAP_FAILED)
        return -1;
    d->p2m = malloc(d->nr_pages * sizeof(*d->p2m));
    if (!d->p2m)
        return -1;
    for (uint64_t g = 0; g < d->nr_pages; g++)
        d->p2m[g] = g < d->init_pages ? d->first_mfn + g : P2M_INVALID;
    d->p2m_linear = d->init_pages == d->nr_pages;
    if (!m->frame_owner) {
        m->frame_owner = calloc(m->nr_mfns, sizeof(*m->frame_owner));
        m->free_mfns = malloc(m->nr_mfns * sizeof(*m->free_mfns));
        m->frame_maps = calloc(m->nr_mfns, sizeof(*m->frame_maps));
        if (!m->frame_owner || !m->free_mfns || !m->frame_maps)
            return -1;
    }
    for (uint64_t g = 0; g < d->init_pages; g++)
        m->frame_owner[d->first_mfn + g] = d;
    d->tot_pages = d->init_pages;
    m->ram_used += d->init_pages;
    d->store_gpfn = d->console_gpfn = P2M_INVALID;
    return 0;
}

void memory_domain_fini(struct domain *d)
{
    if (d->ram)
        munmap(d->ram, d->nr_pages * PAGE_SIZE);
    free(d->p2m);
}

void memory_set_max(struct domain *d, uint64_t max_kb)
{
    d->max_pages = max_kb / (PAGE_SIZE / 1024);
}

/* Does anything outside d's physmap still use frame mfn (Xen: a page reference)? */
static bool frame_pinned(const struct domain *d, uint64_t gpfn, uint64_t mfn)
{
    struct machine *m = d->m;
    if (gpfn == d->store_gpfn || gpfn == d->console_gpfn)
        return true;                /* the xenstore service and the console read them */
    return m->frame_maps[mfn] != 0; /* grant mappings of it (gnttab.c) */
}

/* Xen's guest_remove_page: gpfn leaves d's physmap; its frame is freed unless still referenced. */
static bool remove_page(struct domain *d, uint64_t gpfn, simtime_t *cost)
{
    struct machine *m = d->m;
    if (!domain_gpfn_present(d, gpfn))
        return false;
    uint64_t mfn = d->p2m[gpfn];
    if (host_unmap(d, gpfn) < 0)
        return false;
    d->p2m[gpfn] = P2M_INVALID;
    d->p2m_linear = false;
    d->exec_pages[gpfn >> 3] &= (uint8_t) ~(1u << (gpfn & 7));
    *cost += machine_cost(m, C_MEMOP_PAGE);
    vtd_own_page(d, mfn, false);
    d->pages_released++;
    if (frame_pinned(d, gpfn, mfn))
        return true; /* stays allocated to d (tot_pages) while referenced */
    *cost += cost_bytes_ps(m->cost, C_MEMCPY_BW, PAGE_SIZE); /* the scrub */
    frame_free(m, mfn);
    d->tot_pages--;
    m->ram_used--;
    return true;
}

/* Frame mfn becomes d's (tot_pages, the host's RAM in use); placed at gpfn unless P2M_INVALID. */
static void assign_page(struct domain *d, uint64_t gpfn, uint64_t mfn, simtime_t *cost)
{
    struct machine *m = d->m;
    m->frame_owner[mfn] = d;
    d->tot_pages++;
    m->ram_used++;
    *cost += machine_cost(m, C_MEMOP_PAGE);
    if (gpfn == P2M_INVALID)
        return;
    d->p2m[gpfn] = mfn;
    d->p2m_linear = false;
    vtd_own_page(d, mfn, true);
    d->pages_populated++;
}

/* ---- the operations ---- */

struct memop_args {
    struct domain *caller;
    struct domain *d; /* whose reservation */
    uint64_t list;    /* extent list in the caller's memory (0: a null handle) */
    uint64_t nr_extents;
    unsigned order;
    uint64_t limit; /* address_bits: frames below this machine frame number, 0 = any */
    uint64_t nr_done;
};

/*
 * Extent i of the list, read when it is used (Xen's __copy_from_guest_offset):
 * a decrease may take away the very page the list lies in, and the next
 * read then fails instead of touching it.
 */
static bool get_extent(const struct memop_args *a, uint64_t i, uint64_t *gpfn)
{
    const xen_pfn_t *p = guest_ram(a->caller, a->list + i * sizeof(xen_pfn_t), sizeof(xen_pfn_t));
    if (!p)
        return false;
    *gpfn = *p;
    return true;
}

static void put_extent(const struct memop_args *a, uint64_t i, uint64_t v)
{
    xen_pfn_t *p = guest_ram(a->caller, a->list + i * sizeof(xen_pfn_t), sizeof(xen_pfn_t));
    if (p)
        *p = v;
}

/* Can d take n more frames: max_pages and the host's free RAM. */
static bool may_allocate(const struct domain *d, uint64_t n)
{
    return d->tot_pages + n <= d->max_pages && host_free_pages(d->m) >= n;
}

static void increase_reservation(struct memop_args *a, simtime_t *cost)
{
    struct domain *d = a->d;
    uint64_t n = 1ull << a->order;
    for (uint64_t i = a->nr_done; i < a->nr_extents; i++, a->nr_done = i) {
        uint64_t mfn;
        if (!may_allocate(d, n) || (mfn = frames_alloc(d->m, a->order, a->limit)) == UINT64_MAX)
            return;
        for (uint64_t j = 0; j < n; j++)
            assign_page(d, P2M_INVALID, mfn + j, cost);
        /* a translated guest is not told the machine frame (Xen: !paging_mode_translate) */
        if (a->list && d->p2m_machine)
            put_extent(a, i, mfn);
    }
}

static void populate_physmap(struct memop_args *a, simtime_t *cost)
{
    struct domain *d = a->d;
    uint64_t n = 1ull << a->order;
    for (uint64_t i = a->nr_done; i < a->nr_extents; i++, a->nr_done = i) {
        uint64_t gpfn, mfn;
        if (!get_extent(a, i, &gpfn) || gpfn & (n - 1) || gpfn >= d->nr_pages ||
            n > d->nr_pages - gpfn)
            return;
        for (uint64_t j = 0; j < n; j++)
            if (d->p2m[gpfn + j] != P2M_INVALID)
                return;
        if (!may_allocate(d, n) || (mfn = frames_alloc(d->m, a->order, a->limit)) == UINT64_MAX)
            return;
        for (uint64_t j = 0; j < n; j++) {
            if (host_map(d, gpfn + j, mfn + j) < 0) {
                for (uint64_t k = j; k < n; k++)
                    frame_free(d->m, mfn + k);
                return;
            }
            assign_page(d, gpfn + j, mfn + j, cost);
        }
        /* the frame for the guest's mfn_list: machine for a device owner, else its own gfn */
        if (d->p2m_machine)
            put_extent(a, i, mfn);
    }
}

static void decrease_reservation(struct memop_args *a, simtime_t *cost)
{
    struct domain *d = a->d;
    uint64_t n = 1ull << a->order;
    bool removed = false;
    for (uint64_t i = a->nr_done; i < a->nr_extents; i++, a->nr_done = i) {
        uint64_t gpfn, j = 0;
        if (!get_extent(a, i, &gpfn) || gpfn >= d->nr_pages || n > d->nr_pages - gpfn)
            break;
        for (; j < n && remove_page(d, gpfn + j, cost); j++)
            removed = true;
        if (j < n)
            break;
    }
    if (removed) {
        /* the domain's translations of the removed pages go: its engines' TLBs, a flush */
        for (int i = 0; i < d->nvcpus; i++)
            vcpu_flush_tlb(d->vcpus[i]);
        *cost += machine_cost(d->m, C_TLB_FLUSH);
    }
}

static struct domain *target_domain(struct vcpu *v, domid_t id)
{
    if (id == DOMID_SELF || id == v->d->domid)
        return v->d;
    struct domain *d = machine_domain(v->d->m, id);
    return d && !d->dead ? d : NULL;
}

static long reservation(struct vcpu *v, int op, unsigned start, uint64_t arg, simtime_t *cost)
{
    struct domain *cd = v->d;
    struct xen_memory_reservation *r = guest_ram(cd, arg, sizeof(*r));
    if (!r || r->nr_extents > (UINT_MAX >> MEMOP_EXTENT_SHIFT) || start >= r->nr_extents)
        return start;
    struct memop_args a = {
        .caller = cd, .nr_extents = r->nr_extents, .order = r->extent_order, .nr_done = start};
    unsigned bits = XENMEMF_get_address_bits(r->mem_flags);
    if (bits) {
        if (bits <= PAGE_SHIFT)
            return start;
        if (bits - PAGE_SHIFT < 64)
            a.limit = 1ull << (bits - PAGE_SHIFT);
    }
    if (op == XENMEM_populate_physmap && (r->mem_flags & XENMEMF_populate_on_demand))
        return start; /* populate-on-demand is for HVM guests (p2m PoD entries) */
    a.d = target_domain(v, r->domid);
    if (!a.d)
        return start;
    if (a.d != cd && !cd->privileged)
        return -EPERM;
    if (a.d->hvm || a.d->native || a.d->rt || a.d->l4 || a.d->l4_task)
        return start; /* hopsim balloons PV domains only (HVM, L4: a model maps its RAM) */
    if (a.order > (cd->privileged ? HWDOM_MAX_ORDER : DOMU_MAX_ORDER))
        return start;
    /* guest_handle_subrange_okay: the list [start, nr_extents) in the caller's memory */
    uint64_t base = (uint64_t)(uintptr_t)r->extent_start.p;
    bool null = !base;
    if (null && op != XENMEM_increase_reservation)
        return start;
    if (!null && !guest_ram(cd, base, r->nr_extents * sizeof(xen_pfn_t)))
        return start;
    a.list = base;
    switch (op) {
    case XENMEM_increase_reservation:
        increase_reservation(&a, cost);
        break;
    case XENMEM_populate_physmap:
        populate_physmap(&a, cost);
        break;
    default:
        decrease_reservation(&a, cost);
        break;
    }
    if (a.nr_done != start)
        balloon_note(cd->m, a.d);
    return (long)a.nr_done;
}

/*
 * XENMEM_memory_map: the pseudo-physical map the toolstack gave the domain
 * (XENMEM_set_memory_map, as libxl's libxl__arch_domain_construct_memmap
 * does): one E820 RAM entry over its RAM range, maxmem. A PV guest learns
 * from it how far it may balloon up (Linux's xen_memory_setup).
 */
struct e820_entry {
    uint64_t addr, size;
    uint32_t type;
} __attribute__((packed));
#define E820_RAM 1

static long memory_map(struct vcpu *v, uint64_t arg)
{
    struct xen_memory_map *map = guest_ram(v->d, arg, sizeof(*map));
    if (!map)
        return -EFAULT;
    unsigned n = map->nr_entries < 1 ? map->nr_entries : 1;
    struct e820_entry *e =
        n ? guest_ram(v->d, (uint64_t)(uintptr_t)map->buffer.p, n * sizeof(*e)) : NULL;
    if (n && !e)
        return -EFAULT;
    if (n)
        *e = (struct e820_entry){.addr = 0, .size = v->d->nr_pages * PAGE_SIZE, .type = E820_RAM};
    map->nr_entries = n;
    return 0;
}

long memory_reservation_op(struct vcpu *v, int cmd, uint64_t arg, simtime_t *cost)
{
    int op = cmd & MEMOP_CMD_MASK;
    unsigned start = (unsigned)cmd >> MEMOP_EXTENT_SHIFT;
    switch (op) {
    case XENMEM_increase_reservation:
    case XENMEM_decrease_reservation:
    case XENMEM_populate_physmap:
        return reservation(v, op, start, arg, cost);
    case XENMEM_memory_map:
        return memory_map(v, arg);
    case XENMEM_current_reservation:
    case XENMEM_maximum_reservation: {
        domid_t *id = guest_ram(v->d, arg, sizeof(*id));
        if (!id)
            return -EFAULT;
        /* Xen: the domain is looked up first (-ESRCH), then XSM_TARGET (-EPERM) */
        struct domain *d = target_domain(v, *id);
        if (!d)
            return -ESRCH;
        if (d != v->d && !v->d->privileged)
            return -EPERM;
        return (long)(op == XENMEM_current_reservation ? d->tot_pages : d->max_pages);
    }
    default:
        return -ENOSYS;
    }
}
