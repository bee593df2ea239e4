/*
 * Grant tables (see gnttab.h).
 *
 * Our table: frames at consecutive gpfns reserved in the physmap hole at
 * start-up (room for every frame we may grow to), so entry `ref` is simply
 * table[ref]. Free refs and free window slots are bitmaps (bss, zero =
 * free), taken and given back under one spinlock (smp.h), so any vCPU
 * and any handler may grant or map.
 */
#include "gnttab.h"
#include "console.h"
#include "hypercall.h"
#include "runtime.h"
#include "smp.h"

#define ENTRIES_PER_FRAME (PAGE_SIZE / sizeof(grant_entry_v1_t))
#define MAX_REFS (GNTTAB_MAX_FRAMES * ENTRIES_PER_FRAME)
#define NR_SLOTS HOPSIM_GNT_WINDOW_PAGES

static grant_entry_v1_t *table;
static unsigned long table_pfn;
static unsigned nr_frames, max_frames;
static unsigned long ref_used[MAX_REFS / BITS_PER_LONG];
static unsigned ref_hint;
static unsigned long slot_used[NR_SLOTS / BITS_PER_LONG];
static unsigned slot_hint;
static spinlock_t bits_lock = SPINLOCK_INIT;

int gnttab_query_size(domid_t dom, uint32_t *nr, uint32_t *max)
{
    struct gnttab_query_size q = {.dom = dom};
    int rc = HYPERVISOR_grant_table_op(GNTTABOP_query_size, &q, 1);
    if (rc)
        return rc;
    if (q.status != GNTST_okay)
        return q.status;
    *nr = q.nr_frames;
    *max = q.max_nr_frames;
    return 0;
}

static int map_frame(unsigned idx)
{
    long rc = physmap_add(XENMAPSPACE_grant_table, idx, table_pfn + idx);
    if (rc)
        printf("gnttab: mapping table frame %u failed: %ld\n", idx, rc);
    return (int)rc;
}

/* GNTTABOP_setup_table to one more frame, then map it. */
static int grow(void)
{
    if (nr_frames >= max_frames)
        return -1;
    xen_pfn_t frames[GNTTAB_MAX_FRAMES];
    struct gnttab_setup_table st = {.dom = DOMID_SELF, .nr_frames = nr_frames + 1};
    set_xen_guest_handle(st.frame_list, frames);
    int rc = HYPERVISOR_grant_table_op(GNTTABOP_setup_table, &st, 1);
    if (rc || st.status != GNTST_okay) {
        printf("gnttab: setup_table(%u) failed: rc %d status %d\n", nr_frames + 1, rc, st.status);
        return -1;
    }
    if (map_frame(nr_frames))
        return -1;
    nr_frames++;
    return 0;
}

int gnttab_init(void)
{
    uint32_t nr, max;
    int rc = gnttab_query_size(DOMID_SELF, &nr, &max);
    if (rc)
        panic("GNTTABOP_query_size failed: %d", rc);
    max_frames = max < GNTTAB_MAX_FRAMES ? max : GNTTAB_MAX_FRAMES;
    if (!max_frames)
        panic("grant table has no frames (max_nr_frames 0)");
    if (nr > max_frames)
        nr = max_frames;
    table_pfn = physmap_hole_alloc(max_frames);
    table = pfn_to_virt(table_pfn);
    for (unsigned i = 0; i < nr; i++)
        if (map_frame(i))
            panic("cannot map grant table frame %u", i);
    nr_frames = nr;
    if (!nr_frames && grow())
        panic("cannot set up the grant table");
    ref_used[0] = (1ul << GNTTAB_NR_RESERVED_ENTRIES) - 1;
    ref_hint = GNTTAB_NR_RESERVED_ENTRIES;
    return 0;
}

unsigned gnttab_nr_entries(void)
{
    return nr_frames * ENTRIES_PER_FRAME;
}

/* Find and take a clear bit in map[0..n) starting at *hint; -1 if none. */
static long take_bit(unsigned long *map, unsigned n, unsigned *hint)
{
    for (unsigned pass = 0; pass < 2; pass++) {
        unsigned from = pass ? 0 : *hint, to = pass ? *hint : n;
        for (unsigned w = from / BITS_PER_LONG; w * BITS_PER_LONG < to; w++) {
            unsigned long free = ~map[w];
            if (w == from / BITS_PER_LONG)
                free &= ~0ul << (from % BITS_PER_LONG);
            if (!free)
                continue;
            unsigned i = w * BITS_PER_LONG + ctz_ulong(free);
            if (i >= to)
                break;
            map[w] |= 1ul << (i % BITS_PER_LONG);
            *hint = i + 1 < n ? i + 1 : 0;
            return i;
        }
    }
    return -1;
}

static void put_bit(unsigned long *map, unsigned i)
{
    map[i / BITS_PER_LONG] &= ~(1ul << (i % BITS_PER_LONG));
}

int gnttab_grant_access(domid_t domid, unsigned long pfn, int readonly)
{
    long ref;
    int f = spin_lock_irqsave(&bits_lock);
    while ((ref = take_bit(ref_used, gnttab_nr_entries(), &ref_hint)) < 0)
        if (grow()) {
            spin_unlock_irqrestore(&bits_lock, f);
            return -1;
        }
    spin_unlock_irqrestore(&bits_lock, f);
    grant_entry_v1_t *e = &table[ref];
    e->domid = domid;
    e->frame = (uint32_t)pfn;
    wmb();
    e->flags = (uint16_t)(GTF_permit_access | (readonly ? GTF_readonly : 0));
    return (int)ref;
}

int gnttab_end_access(grant_ref_t ref)
{
    if (ref < GNTTAB_NR_RESERVED_ENTRIES || ref >= gnttab_nr_entries())
        return -XEN_EINVAL;
    uint16_t flags = READ_ONCE(table[ref].flags);
    do {
        if (flags & (GTF_reading | GTF_writing))
            return -XEN_EBUSY;
    } while (!__atomic_compare_exchange_n(&table[ref].flags, &flags, 0, 0, __ATOMIC_SEQ_CST,
                                          __ATOMIC_SEQ_CST));
    int f = spin_lock_irqsave(&bits_lock);
    put_bit(ref_used, ref);
    spin_unlock_irqrestore(&bits_lock, f);
    return 0;
}

uint16_t gnttab_entry_flags(grant_ref_t ref)
{
    return ref < gnttab_nr_entries() ? READ_ONCE(table[ref].flags) : 0;
}

/* ---- window slots ---- */

void *gnttab_slot_alloc(void)
{
    int f = spin_lock_irqsave(&bits_lock);
    long i = take_bit(slot_used, NR_SLOTS, &slot_hint);
    spin_unlock_irqrestore(&bits_lock, f);
    if (i < 0)
        return NULL;
    return (void *)(HOPSIM_GNT_WINDOW_BASE + (uint64_t)i * PAGE_SIZE);
}

void gnttab_slot_free(void *addr)
{
    uint64_t a = (uint64_t)addr;
    if (a < HOPSIM_GNT_WINDOW_BASE || a >= HOPSIM_GNT_WINDOW_BASE + NR_SLOTS * PAGE_SIZE)
        return;
    int f = spin_lock_irqsave(&bits_lock);
    put_bit(slot_used, (unsigned)((a - HOPSIM_GNT_WINDOW_BASE) / PAGE_SIZE));
    spin_unlock_irqrestore(&bits_lock, f);
}

/* ---- map / unmap ---- */

int gnttab_map_at(domid_t dom, grant_ref_t ref, uint32_t flags, uint64_t host_addr,
                  grant_handle_t *handle)
{
    struct gnttab_map_grant_ref op = {
        .host_addr = host_addr,
        .flags = flags,
        .ref = ref,
        .dom = dom,
    };
    int rc = HYPERVISOR_grant_table_op(GNTTABOP_map_grant_ref, &op, 1);
    if (rc)
        return rc;
    if (op.status == GNTST_okay && handle)
        *handle = op.handle;
    return op.status;
}

int gnttab_unmap_at(uint64_t host_addr, grant_handle_t handle)
{
    struct gnttab_unmap_grant_ref op = {
        .host_addr = host_addr,
        .dev_bus_addr = 0,
        .handle = handle,
    };
    int rc = HYPERVISOR_grant_table_op(GNTTABOP_unmap_grant_ref, &op, 1);
    return rc ? rc : op.status;
}

void *gnttab_map(domid_t dom, grant_ref_t ref, int readonly, grant_handle_t *handle, int *status)
{
    void *slot = gnttab_slot_alloc();
    int st = GNTST_no_space;
    if (slot) {
        uint32_t flags = GNTMAP_host_map | (readonly ? GNTMAP_readonly : 0);
        st = gnttab_map_at(dom, ref, flags, (uint64_t)slot, handle);
        if (st != GNTST_okay) {
            gnttab_slot_free(slot);
            slot = NULL;
        }
    }
    if (status)
        *status = st;
    return slot;
}

int gnttab_unmap(void *addr, grant_handle_t handle)
{
    int st = gnttab_unmap_at((uint64_t)addr, handle);
    if (st == GNTST_okay)
        gnttab_slot_free(addr);
    return st;
}

/* ---- copy ---- */

int gnttab_copy_ops(struct gnttab_copy *ops, unsigned n)
{
    return HYPERVISOR_grant_table_op(GNTTABOP_copy, ops, n);
}

#define COPY_BATCH 4

/* Split at our page boundaries; the remote range is passed through as is. */
static int copy_ref(domid_t dom, grant_ref_t ref, unsigned off, uint64_t local, unsigned len,
                    int to_ref)
{
    struct gnttab_copy ops[COPY_BATCH];
    if (!len)
        return GNTST_okay;
    do {
        unsigned n = 0;
        for (; len && n < COPY_BATCH; n++) {
            unsigned chunk = (unsigned)(PAGE_SIZE - (local & (PAGE_SIZE - 1)));
            if (chunk > len)
                chunk = len;
            struct gnttab_copy_ptr remote = {.u.ref = ref, .domid = dom, .offset = (uint16_t)off};
            struct gnttab_copy_ptr mine = {.u.gmfn = local >> PAGE_SHIFT,
                                           .domid = DOMID_SELF,
                                           .offset = (uint16_t)(local & (PAGE_SIZE - 1))};
            ops[n] = (struct gnttab_copy){
                .source = to_ref ? mine : remote,
                .dest = to_ref ? remote : mine,
                .len = (uint16_t)chunk,
                .flags = to_ref ? GNTCOPY_dest_gref : GNTCOPY_source_gref,
            };
            off += chunk;
            local += chunk;
            len -= chunk;
        }
        int rc = gnttab_copy_ops(ops, n);
        if (rc)
            return rc;
        for (unsigned i = 0; i < n; i++)
            if (ops[i].status != GNTST_okay)
                return ops[i].status;
    } while (len);
    return GNTST_okay;
}

int gnttab_copy_from_ref(domid_t dom, grant_ref_t ref, unsigned off, void *dst, unsigned len)
{
    return copy_ref(dom, ref, off, (uint64_t)dst, len, 0);
}

int gnttab_copy_to_ref(domid_t dom, grant_ref_t ref, unsigned off, const void *src, unsigned len)
{
    return copy_ref(dom, ref, off, (uint64_t)src, len, 1);
}
