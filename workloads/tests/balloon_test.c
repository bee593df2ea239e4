/*
 * Guest-side test of the hypervisor's reservations (sim/xen/memory.c):
 * XENMEM_current/maximum_reservation, XENMEM_memory_map, decrease,
 * populate and increase with max_pages, and hostile reservation requests
 * answered as Xen answers them (the number of extents done, or -EPERM /
 * -ESRCH / -EFAULT). Every check is a GCHECK. The domain's memory_mb must
 * be 8 and its maxmem_mb 12; `other` is the domid of a second domain
 * (role=idle, which only powers off). With touch=1 it finally reads a page
 * it gave back: the domain must crash on that access.
 */
#include "guest.h"

ARG_ENUM(role, "test|idle", "test: run the checks; idle: power off at once");
ARG_INT(other, 0, 65535, "domid of another domain (its reservation is not ours to change)");
ARG_BOOL(touch, "end by reading a page given back (the domain must crash)");

#define RAM_PAGES 2048 /* memory_mb = 8 */
#define MAX_PAGES 3072 /* maxmem_mb = 12 */

static xen_pfn_t list[1024];

static long resv(unsigned op, xen_pfn_t *l, unsigned long n, unsigned order, domid_t dom)
{
    struct xen_memory_reservation r = {.nr_extents = n, .extent_order = order, .domid = dom};
    set_xen_guest_handle(r.extent_start, l);
    return HYPERVISOR_memory_op(op, &r);
}

static long cur(domid_t dom)
{
    return HYPERVISOR_memory_op(XENMEM_current_reservation, &dom);
}

static long max_resv(domid_t dom)
{
    return HYPERVISOR_memory_op(XENMEM_maximum_reservation, &dom);
}

static void hostile(void)
{
    /* extent_order above a domU's maximum (9), and far above */
    list[0] = 5000;
    GCHECK_EQ(resv(XENMEM_populate_physmap, list, 1, 10, DOMID_SELF), 0);
    GCHECK_EQ(resv(XENMEM_decrease_reservation, list, 1, 63, DOMID_SELF), 0);
    GCHECK_EQ(resv(XENMEM_increase_reservation, list, 1, 200, DOMID_SELF), 0);
    /* nr_extents beyond what a continuation can encode, and beyond the caller's memory */
    GCHECK_EQ(resv(XENMEM_decrease_reservation, list, 1ul << 27, 0, DOMID_SELF), 0);
    GCHECK_EQ(resv(XENMEM_populate_physmap, list, 1ul << 24, 0, DOMID_SELF), 0);
    GCHECK_EQ(resv(XENMEM_decrease_reservation, list, ~0ul, 0, DOMID_SELF), 0);
    /* bad handles: outside RAM, NULL, and the reservation itself outside RAM */
    GCHECK_EQ(resv(XENMEM_populate_physmap, (xen_pfn_t *)0xdead000000ul, 4, 0, DOMID_SELF), 0);
    GCHECK_EQ(resv(XENMEM_decrease_reservation, NULL, 4, 0, DOMID_SELF), 0);
    GCHECK_EQ(resv(XENMEM_populate_physmap, NULL, 4, 0, DOMID_SELF), 0);
    GCHECK_EQ(HYPERVISOR_memory_op(XENMEM_decrease_reservation, (void *)0x7fff00000000ul), 0);
    GCHECK_EQ(HYPERVISOR_memory_op(XENMEM_current_reservation, (void *)0x7fff00000000ul),
              -XEN_EFAULT);
    /* gfns outside RAM or absurd */
    list[0] = 1ul << 60;
    list[1] = MAX_PAGES;
    GCHECK_EQ(resv(XENMEM_decrease_reservation, list, 2, 0, DOMID_SELF), 0);
    GCHECK_EQ(resv(XENMEM_populate_physmap, list + 1, 1, 0, DOMID_SELF), 0);
    list[0] = ~0ul - 3; /* an extent wrapping around */
    GCHECK_EQ(resv(XENMEM_decrease_reservation, list, 1, 2, DOMID_SELF), 0);
    /* misaligned extent */
    list[0] = RAM_PAGES + 1;
    GCHECK_EQ(resv(XENMEM_populate_physmap, list, 1, 1, DOMID_SELF), 0);
    /* address_bits <= PAGE_SHIFT, populate-on-demand */
    struct xen_memory_reservation r = {
        .nr_extents = 1, .extent_order = 0, .mem_flags = XENMEMF_address_bits(12), .domid = 0};
    r.domid = DOMID_SELF;
    list[0] = RAM_PAGES;
    set_xen_guest_handle(r.extent_start, list);
    GCHECK_EQ(HYPERVISOR_memory_op(XENMEM_populate_physmap, &r), 0);
    r.mem_flags = XENMEMF_populate_on_demand;
    GCHECK_EQ(HYPERVISOR_memory_op(XENMEM_populate_physmap, &r), 0);
    /* a continuation's start extent at or past the end comes back as is */
    r.mem_flags = 0;
    GCHECK_EQ(HYPERVISOR_memory_op(XENMEM_populate_physmap | (5u << 6), &r), 5);
    /* another domain: not ours (-EPERM); no such domain (nothing done / -ESRCH) */
    domid_t other = (domid_t)arg_int("other", 0);
    GCHECK_EQ(resv(XENMEM_decrease_reservation, list, 1, 0, other), -XEN_EPERM);
    GCHECK_EQ(resv(XENMEM_increase_reservation, NULL, 1, 0, other), -XEN_EPERM);
    GCHECK_EQ(cur(other), -XEN_EPERM);
    GCHECK_EQ(resv(XENMEM_decrease_reservation, list, 1, 0, 999), 0);
    GCHECK_EQ(max_resv(999), -XEN_ESRCH);
    /* memory_map with its buffer outside RAM */
    struct xen_memory_map mm = {.nr_entries = 1};
    set_xen_guest_handle(mm.buffer, (void *)0xdead000000ul);
    GCHECK_EQ(HYPERVISOR_memory_op(XENMEM_memory_map, &mm), -XEN_EFAULT);
    /* none of it changed the reservation */
    GCHECK_EQ(cur(DOMID_SELF), RAM_PAGES);
}

int app_main(void)
{
    if (!strcmp(arg_str("role", "test"), "idle"))
        return 0;
    unsigned long *p2m = (unsigned long *)start_info->mfn_list;
    GCHECK_EQ(start_info->nr_pages, RAM_PAGES);
    GCHECK_EQ(cur(DOMID_SELF), RAM_PAGES);
    GCHECK_EQ(max_resv(DOMID_SELF), MAX_PAGES);
    GCHECK_EQ(p2m[RAM_PAGES], ~0ul); /* above the initial allocation: not populated */
    struct {
        uint64_t addr, size;
        uint32_t type;
    } __attribute__((packed)) e820[2];
    struct xen_memory_map mm = {.nr_entries = 2};
    set_xen_guest_handle(mm.buffer, e820);
    GCHECK_EQ(HYPERVISOR_memory_op(XENMEM_memory_map, &mm), 0);
    GCHECK_EQ(mm.nr_entries, 1);
    GCHECK_EQ(e820[0].addr + e820[0].size, (uint64_t)MAX_PAGES * PAGE_SIZE);

    hostile();

    /* give 8 pages back */
    char *pages = page_alloc(8);
    GCHECK(pages != NULL);
    memset(pages, 0x5a, 8 * PAGE_SIZE);
    for (unsigned i = 0; i < 8; i++)
        list[i] = virt_to_pfn(pages) + i;
    GCHECK_EQ(resv(XENMEM_decrease_reservation, list, 8, 0, DOMID_SELF), 8);
    GCHECK_EQ(cur(DOMID_SELF), RAM_PAGES - 8);
    /* not populated any more: a second decrease does nothing */
    GCHECK_EQ(resv(XENMEM_decrease_reservation, list, 8, 0, DOMID_SELF), 0);
    /* back again: fresh frames, scrubbed */
    GCHECK_EQ(resv(XENMEM_populate_physmap, list, 8, 0, DOMID_SELF), 8);
    GCHECK_EQ(list[0], virt_to_pfn(pages)); /* translated: the gfn comes back as it went */
    GCHECK_EQ(cur(DOMID_SELF), RAM_PAGES);
    unsigned long nonzero = 0;
    for (unsigned long k = 0; k < 8 * PAGE_SIZE; k++)
        nonzero += pages[k] != 0;
    GCHECK_EQ(nonzero, 0);
    pages[0] = 1; /* writable again */
    /* populated already: nothing done */
    GCHECK_EQ(resv(XENMEM_populate_physmap, list, 1, 0, DOMID_SELF), 0);

    /* balloon up into the RAM above nr_pages, to max_pages */
    for (unsigned i = 0; i < 1024; i++)
        list[i] = RAM_PAGES + i;
    GCHECK_EQ(resv(XENMEM_populate_physmap, list, 1024, 0, DOMID_SELF), 1024);
    GCHECK_EQ(cur(DOMID_SELF), MAX_PAGES);
    volatile char *top = pfn_to_virt(MAX_PAGES - 1);
    top[0] = 7;
    GCHECK_EQ(top[0], 7);
    /* at max_pages: an order-2 extent given back, then increase stops at the limit */
    list[0] = MAX_PAGES - 4;
    GCHECK_EQ(resv(XENMEM_decrease_reservation, list, 1, 2, DOMID_SELF), 1);
    GCHECK_EQ(cur(DOMID_SELF), MAX_PAGES - 4);
    GCHECK_EQ(resv(XENMEM_increase_reservation, NULL, 10, 0, DOMID_SELF), 4);
    GCHECK_EQ(cur(DOMID_SELF), MAX_PAGES);
    list[0] = MAX_PAGES - 4;
    GCHECK_EQ(resv(XENMEM_populate_physmap, list, 1, 0, DOMID_SELF), 0);
    printf("reservation checks done: holds %ld pages of %ld\n", cur(DOMID_SELF),
           max_resv(DOMID_SELF));

    if (arg_int("touch", 0)) {
        list[0] = virt_to_pfn(pages);
        GCHECK_EQ(resv(XENMEM_decrease_reservation, list, 1, 0, DOMID_SELF), 1);
        printf("reading a page given back\n");
        volatile char *gone = pages;
        printf("read %d: the page was still there\n", gone[0]);
    }
    return 0;
}
