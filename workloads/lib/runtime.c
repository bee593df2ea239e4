/*
 * Guest start-up and shutdown (see runtime.h), test-assertion reporting.
 *
 * Memory layout assumptions (include/hopsim/abi.h): the image is loaded at
 * its ELF addresses (from 0x100000), then the builder's start_info, store
 * ring, console ring and boot stack follow it. The heap starts above the
 * highest of these and runs to nr_pages. Frames above nr_pages and below
 * HOPSIM_MMIO_BASE are the physmap hole, where shared_info and grant-table
 * frames are placed.
 */
#include <stdarg.h>

#include "alloc.h"
#include "args.h"
#include "balloon.h"
#include "console.h"
#include "events.h"
#include "gnttab.h"
#include "hypercall.h"
#include "runtime.h"
#include "str.h"
#include "trace.h"
#include "xenbus.h"

extern char _end[];

start_info_t *start_info;
domid_t xen_domid;
unsigned long gcheck_passed, gcheck_failed;

static unsigned long hole_next, hole_end;

unsigned long physmap_hole_alloc(unsigned long n)
{
    if (hole_next + n > hole_end)
        panic("physmap hole exhausted");
    unsigned long pfn = hole_next;
    hole_next += n;
    return pfn;
}

long physmap_add(unsigned space, unsigned long idx, unsigned long gpfn)
{
    struct xen_add_to_physmap xatp = {
        .domid = DOMID_SELF,
        .size = 0,
        .space = space,
        .idx = idx,
        .gpfn = gpfn,
    };
    return HYPERVISOR_memory_op(XENMEM_add_to_physmap, &xatp);
}

long physmap_map_foreign(domid_t dom, xen_ulong_t gfn, void **va)
{
    static xen_ulong_t idx;
    static xen_pfn_t gpfn;
    static int err;
    idx = gfn;
    gpfn = physmap_hole_alloc(1);
    err = 0;
    struct xen_add_to_physmap_batch b = {
        .domid = DOMID_SELF, .space = XENMAPSPACE_gmfn_foreign, .size = 1, .u.foreign_domid = dom};
    set_xen_guest_handle(b.idxs, &idx);
    set_xen_guest_handle(b.gpfns, &gpfn);
    set_xen_guest_handle(b.errs, &err);
    long rc = HYPERVISOR_memory_op(XENMEM_add_to_physmap_batch, &b);
    if (!rc)
        rc = err;
    if (!rc)
        *va = pfn_to_virt(gpfn);
    return rc;
}

static void map_shared_info(void)
{
    unsigned long gpfn = physmap_hole_alloc(1);
    long rc = physmap_add(XENMAPSPACE_shared_info, 0, gpfn);
    if (rc)
        panic("mapping shared_info failed: %ld", rc);
    shared_info = pfn_to_virt(gpfn);
}

static unsigned long max_ul(unsigned long a, unsigned long b)
{
    return a > b ? a : b;
}

/* First free page: above the image and everything the builder placed after it. */
static unsigned long heap_first_pfn(const start_info_t *si, unsigned long boot_rsp)
{
    unsigned long end = ALIGN_UP((unsigned long)_end, PAGE_SIZE);
    end = max_ul(end, ALIGN_UP((unsigned long)si + sizeof(*si), PAGE_SIZE));
    end = max_ul(end, ALIGN_UP(boot_rsp, PAGE_SIZE));
    if (si->store_mfn && si->store_mfn < si->nr_pages)
        end = max_ul(end, (si->store_mfn + 1) << PAGE_SHIFT);
    if (!(si->flags & SIF_INITDOMAIN) && si->console.domU.mfn &&
        si->console.domU.mfn < si->nr_pages)
        end = max_ul(end, (si->console.domU.mfn + 1) << PAGE_SHIFT);
    return end >> PAGE_SHIFT;
}

/*
 * The end of RAM: the memory map's highest RAM entry (XENMEM_memory_map, as
 * Linux's xen_memory_setup reads it), else nr_pages. RAM past nr_pages is
 * unpopulated at start -- in the balloon -- and the physmap hole begins
 * above it.
 */
static unsigned long ram_end_pfn(const start_info_t *si)
{
    struct __attribute__((packed)) {
        uint64_t addr, size;
        uint32_t type;
    } e820[4];
    struct xen_memory_map map = {.nr_entries = ARRAY_SIZE(e820)};
    set_xen_guest_handle(map.buffer, e820);
    unsigned long end = si->nr_pages;
    if (HYPERVISOR_memory_op(XENMEM_memory_map, &map) == 0)
        for (unsigned i = 0; i < map.nr_entries && i < ARRAY_SIZE(e820); i++)
            if (e820[i].type == 1 && (e820[i].addr + e820[i].size) >> PAGE_SHIFT > end)
                end = (unsigned long)((e820[i].addr + e820[i].size) >> PAGE_SHIFT);
    return end;
}

void guest_start(start_info_t *si, unsigned long boot_rsp)
{
    start_info = si;
    if (memcmp(si->magic, "xen-3.0-x86_64", 14))
        printf("warning: start_info magic is '%.32s'\n", si->magic);
    args_init((const char *)si->cmd_line);

    unsigned long max_pfn = ram_end_pfn(si);
    hole_next = max_pfn;
    hole_end = HOPSIM_MMIO_BASE >> PAGE_SHIFT;
    map_shared_info();
    events_init();

    unsigned long first = heap_first_pfn(si, boot_rsp);
    if (first + 16 > si->nr_pages)
        panic("no memory left for the heap (nr_pages %lu, heap at pfn %lu)", si->nr_pages, first);
    alloc_init(first, si->nr_pages, max_pfn);

    gnttab_init();
    irq_enable();
    xenbus_init();
    balloon_init(max_pfn);

    guest_exit(app_main());
}

void guest_exit(int status)
{
    console_flush();
    struct sched_shutdown sd = {.reason = status ? SHUTDOWN_crash : SHUTDOWN_poweroff};
    for (;;) {
        HYPERVISOR_sched_op(SCHEDOP_shutdown, &sd);
        HYPERVISOR_sched_op(SCHEDOP_block, NULL);
    }
}

void panic(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("panic: ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    guest_exit(1);
}

int gcheck_fail_(const char *file, int line, const char *expr)
{
    gcheck_failed++;
    printf("GCHECK failed: %s:%d: %s\n", file, line, expr);
    return 0;
}

int gcheck_fail_eq_(const char *file, int line, const char *a, const char *b, long va, long vb)
{
    gcheck_failed++;
    printf("GCHECK failed: %s:%d: %s == %s (%ld != %ld)\n", file, line, a, b, va, vb);
    return 0;
}
