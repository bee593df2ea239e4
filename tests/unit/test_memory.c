/*
 * Reservations (sim/xen/memory.c) driven directly, with no guest code
 * running: two domains of 4 MiB in 8 MiB RAM ranges on a host whose RAM is
 * exactly what they start with. A frame one gives back is scrubbed and is
 * the frame the other gets; a given-back page is no memory for its old
 * owner (hypercall arguments, grants); max_pages and the host's free
 * memory stop populate with the count done; a frame another domain has
 * mapped by grant stays allocated to its owner.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <xen/memory.h>

#include "machine_fixture.h"

#define SCRATCH 0x10000ull /* below the image (0x100000), inside RAM */
#define LIST 0x11000ull    /* the extent list */
#define PAGES 1024ull      /* 4 MiB */

static struct scenario sc;
static struct machine m;
static struct trace *tr;
static struct domain *A, *B;

static void setup(void)
{
    fixture_scenario(&sc, "memory-test", 1, 8ull << 20, 2);
    for (int i = 0; i < 2; i++)
        sc.domains[i].maxmem_bytes = 8ull << 20;
    struct trace_opts to = {0};
    tr = fixture_machine(&m, &sc, &to);
    A = m.doms[0];
    B = m.doms[1];
}

static void teardown(void)
{
    char err[256];
    machine_destroy(&m);
    trace_close(tr, err, sizeof(err));
}

/* A reservation op by d on its own memory: extents from list[], n of them. */
static long resv(struct domain *d, int op, const uint64_t *list, unsigned n, unsigned order)
{
    struct xen_memory_reservation r = {.nr_extents = n, .extent_order = order, .domid = DOMID_SELF};
    set_xen_guest_handle(r.extent_start, (xen_pfn_t *)(uintptr_t)LIST);
    memcpy(guest_ram(d, SCRATCH, sizeof(r)), &r, sizeof(r));
    memcpy(guest_ram(d, LIST, n * 8), list, n * 8);
    simtime_t cost = 0;
    return memory_reservation_op(d->vcpus[0], op, SCRATCH, &cost);
}

START_TEST(start_state)
{
    ck_assert_uint_eq(A->tot_pages, PAGES);
    ck_assert_uint_eq(A->max_pages, 2 * PAGES);
    ck_assert_uint_eq(A->nr_pages, 2 * PAGES);
    ck_assert_uint_eq(A->si->nr_pages, PAGES);
    ck_assert_uint_eq(m.ram_used, 2 * PAGES);
    ck_assert_ptr_null(guest_ram(A, PAGES * PAGE_SIZE, 1)); /* above the allocation */
    ck_assert_ptr_nonnull(guest_ram(A, (PAGES - 1) * PAGE_SIZE, 1));
}
END_TEST

START_TEST(frame_given_back_goes_to_the_other)
{
    uint64_t gpfn = PAGES - 10, mfn = A->p2m[gpfn];
    memset(guest_ram(A, gpfn * PAGE_SIZE, PAGE_SIZE), 0xa5, PAGE_SIZE);
    /* the host has nothing free: B cannot grow */
    uint64_t up = PAGES + 5;
    ck_assert_int_eq(resv(B, XENMEM_populate_physmap, &up, 1, 0), 0);
    ck_assert_int_eq(resv(A, XENMEM_decrease_reservation, &gpfn, 1, 0), 1);
    ck_assert_uint_eq(A->tot_pages, PAGES - 1);
    ck_assert_uint_eq(A->p2m[gpfn], P2M_INVALID);
    ck_assert_ptr_null(guest_ram(A, gpfn * PAGE_SIZE + 100, 8));
    ck_assert_ptr_null(m.frame_owner[mfn]);
    /* B now gets exactly that frame, scrubbed */
    ck_assert_int_eq(resv(B, XENMEM_populate_physmap, &up, 1, 0), 1);
    ck_assert_uint_eq(B->p2m[up], mfn);
    ck_assert_ptr_eq(m.frame_owner[mfn], B);
    ck_assert_uint_eq(B->tot_pages, PAGES + 1);
    const uint8_t *p = guest_ram(B, up * PAGE_SIZE, PAGE_SIZE);
    ck_assert_ptr_nonnull(p);
    for (size_t i = 0; i < PAGE_SIZE; i++)
        ck_assert_uint_eq(p[i], 0);
    ck_assert_uint_eq(m.ram_used, 2 * PAGES);
}
END_TEST

START_TEST(populate_stops_at_max_pages)
{
    /* A gives 8 pages back: the host has 8 free */
    uint64_t g[8];
    for (int i = 0; i < 8; i++)
        g[i] = PAGES - 100 + (uint64_t)i;
    ck_assert_int_eq(resv(A, XENMEM_decrease_reservation, g, 8, 0), 8);
    /* B's max_mem is lowered (xc_domain_setmaxmem) to 3 pages above what it holds */
    memory_set_max(B, (PAGES + 3) * 4);
    for (int i = 0; i < 8; i++)
        g[i] = PAGES + (uint64_t)i;
    ck_assert_int_eq(resv(B, XENMEM_populate_physmap, g, 8, 0), 3);
    ck_assert_uint_eq(B->tot_pages, PAGES + 3);
    /* the same from increase_reservation (NULL list allowed) */
    ck_assert_int_eq(resv(B, XENMEM_increase_reservation, g, 4, 0), 0);
    memory_set_max(B, 2 * PAGES * 4);
    /* now the host's free memory is the limit: 5 left */
    for (int i = 0; i < 8; i++)
        g[i] = PAGES + 16 + (uint64_t)i;
    ck_assert_int_eq(resv(B, XENMEM_populate_physmap, g, 8, 0), 5);
    ck_assert_uint_eq(m.ram_used, 2 * PAGES);
    /* an order-1 extent populates two frames, aligned */
    uint64_t two = PAGES + 40;
    ck_assert_int_eq(resv(A, XENMEM_decrease_reservation, g, 0, 0), 0);
    ck_assert_int_eq(resv(A, XENMEM_decrease_reservation, &(uint64_t){PAGES - 200}, 1, 1), 1);
    ck_assert_int_eq(resv(B, XENMEM_populate_physmap, &two, 1, 1), 0); /* fragments: no pair */
}
END_TEST

START_TEST(granted_frame_stays_allocated)
{
    /* B maps one of A's pages by grant; A then gives that page back */
    uint64_t gpfn = PAGES - 20, mfn = A->p2m[gpfn];
    A->gt.shared[8] =
        (grant_entry_v1_t){.flags = GTF_permit_access, .domid = B->domid, .frame = (uint32_t)gpfn};
    struct gnttab_map_grant_ref op = {
        .host_addr = HOPSIM_GNT_WINDOW_BASE, .flags = GNTMAP_host_map, .ref = 8, .dom = A->domid};
    memcpy(guest_ram(B, SCRATCH, sizeof(op)), &op, sizeof(op));
    simtime_t cost = 0;
    ck_assert_int_eq(gnttab_op(B->vcpus[0], GNTTABOP_map_grant_ref, SCRATCH, 1, 0, &cost), 0);
    memcpy(&op, guest_ram(B, SCRATCH, sizeof(op)), sizeof(op));
    ck_assert_int_eq(op.status, GNTST_okay);
    ck_assert_int_eq(resv(A, XENMEM_decrease_reservation, &gpfn, 1, 0), 1);
    ck_assert_uint_eq(A->p2m[gpfn], P2M_INVALID);
    ck_assert_uint_eq(A->tot_pages, PAGES); /* still A's: B's mapping holds it */
    ck_assert_ptr_eq(m.frame_owner[mfn], A);
    ck_assert_uint_eq(m.nfree_mfns, 0);
    /* a new grant of the page given back is refused */
    A->gt.shared[9] =
        (grant_entry_v1_t){.flags = GTF_permit_access, .domid = B->domid, .frame = (uint32_t)gpfn};
    op = (struct gnttab_map_grant_ref){.host_addr = HOPSIM_GNT_WINDOW_BASE + PAGE_SIZE,
                                       .flags = GNTMAP_host_map,
                                       .ref = 9,
                                       .dom = A->domid};
    memcpy(guest_ram(B, SCRATCH, sizeof(op)), &op, sizeof(op));
    ck_assert_int_eq(gnttab_op(B->vcpus[0], GNTTABOP_map_grant_ref, SCRATCH, 1, 0, &cost), 0);
    memcpy(&op, guest_ram(B, SCRATCH, sizeof(op)), sizeof(op));
    ck_assert_int_eq(op.status, GNTST_general_error);
}
END_TEST

START_TEST(hostile_lists_do_nothing)
{
    uint64_t g = PAGES - 5;
    struct xen_memory_reservation r = {.nr_extents = 1, .extent_order = 0, .domid = DOMID_SELF};
    simtime_t cost = 0;
    /* the reservation itself outside RAM; the list outside RAM; the list NULL */
    ck_assert_int_eq(memory_reservation_op(A->vcpus[0], XENMEM_decrease_reservation,
                                           A->nr_pages * PAGE_SIZE, &cost),
                     0);
    set_xen_guest_handle(r.extent_start, (xen_pfn_t *)(uintptr_t)(A->nr_pages * PAGE_SIZE - 4));
    memcpy(guest_ram(A, SCRATCH, sizeof(r)), &r, sizeof(r));
    ck_assert_int_eq(
        memory_reservation_op(A->vcpus[0], XENMEM_decrease_reservation, SCRATCH, &cost), 0);
    ck_assert_int_eq(resv(A, XENMEM_decrease_reservation, &g, 1, 10), 0);
    ck_assert_int_eq(resv(A, XENMEM_decrease_reservation, &g, 1, 0), 1);
    /* its list now lies in a page given back */
    set_xen_guest_handle(r.extent_start, (xen_pfn_t *)(uintptr_t)(g * PAGE_SIZE));
    memcpy(guest_ram(A, SCRATCH, sizeof(r)), &r, sizeof(r));
    ck_assert_int_eq(memory_reservation_op(A->vcpus[0], XENMEM_populate_physmap, SCRATCH, &cost),
                     0);
    ck_assert_uint_eq(A->tot_pages, PAGES - 1);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("memory");
    TCase *tc = tcase_create("reservations");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, start_state);
    tcase_add_test(tc, frame_given_back_goes_to_the_other);
    tcase_add_test(tc, populate_stops_at_max_pages);
    tcase_add_test(tc, granted_frame_stays_allocated);
    tcase_add_test(tc, hostile_lists_do_nothing);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
