/*
 * Register-level tests of the DMA remapping unit (models/iommu.c): the
 * tests play system software, building a root table, a context entry and
 * four levels of second-level tables in a small fake physical memory and
 * programming the unit through its registers (32-bit accesses, low half
 * first, as the platform delivers 64-bit ones).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "iommu.h"

#define FRAMES 64
#define WALK 330000  /* ps */
#define INVAL 700000 /* ps */

static uint8_t mem[FRAMES][4096];
static unsigned next_frame;
static struct iommu *u;

static void *frame(void *opaque, uint64_t pa)
{
    (void)opaque;
    return pa / 4096 < FRAMES ? mem[pa / 4096] : NULL;
}

static uint64_t alloc_frame(void)
{
    ck_assert_uint_lt(next_frame, FRAMES);
    return (uint64_t)next_frame++ * 4096;
}

static uint64_t *q(uint64_t pa)
{
    return (uint64_t *)(mem[pa / 4096] + pa % 4096);
}

static void wr32(uint64_t off, uint32_t v)
{
    iommu_mmio_ops.write(u, off, v, 4, 0);
}

static uint32_t rd32(uint64_t off)
{
    return (uint32_t)iommu_mmio_ops.read(u, off, 4, 0);
}

static void wr64(uint64_t off, uint64_t v)
{
    wr32(off, (uint32_t)v);
    wr32(off + 4, (uint32_t)(v >> 32));
}

static uint64_t rd64(uint64_t off)
{
    return rd32(off) | (uint64_t)rd32(off + 4) << 32;
}

static uint64_t root, ctx, pgd;

/* Map bus page `page` to physical frame `pfn` with perm (R/W bits) in pgd's tables. */
static void map(uint64_t page, uint64_t pfn, uint64_t perm)
{
    uint64_t t = pgd;
    for (int level = 3; level > 0; level--) {
        uint64_t *e = q(t + ((page >> (9 * level)) & 511) * 8);
        if (!(*e & 3))
            *e = alloc_frame() | 3;
        t = *e & ~4095ull;
    }
    *q(t + (page & 511) * 8) = pfn << 12 | perm;
}

static void setup(void)
{
    memset(mem, 0, sizeof(mem));
    next_frame = 1; /* frame 0 stays as data */
    u = iommu_create((struct iommu_mem){.frame = frame}, 4, WALK, INVAL);
    ck_assert_ptr_nonnull(u);
    root = alloc_frame();
    ctx = alloc_frame();
    pgd = alloc_frame();
    *q(root) = ctx | 1;                     /* bus 0 */
    *q(ctx + (0x20 * 16)) = pgd | 1;        /* devfn 0x20 = 04.0 */
    *q(ctx + (0x20 * 16) + 8) = 7 << 8 | 2; /* DID 7, 4-level */
    wr64(IOMMU_RTADDR, root);
    wr32(IOMMU_GCMD, IOMMU_GCMD_SRTP);
    wr32(IOMMU_GCMD, IOMMU_GCMD_TE);
}

static void teardown(void)
{
    iommu_destroy(u);
}

START_TEST(test_caps_and_enable)
{
    uint64_t cap = rd64(IOMMU_CAP), ecap = rd64(IOMMU_ECAP);
    ck_assert_uint_eq(((cap >> 24) & 0x3ff) * 16, IOMMU_FRCD);
    ck_assert_uint_eq(((cap >> 40) & 0xff) + 1, IOMMU_NFR);
    ck_assert_uint_eq(((ecap >> 8) & 0x3ff) * 16, IOMMU_IVA);
    ck_assert_uint_eq(rd32(IOMMU_GSTS) & (IOMMU_GSTS_TES | IOMMU_GSTS_RTPS),
                      IOMMU_GSTS_TES | IOMMU_GSTS_RTPS);
    ck_assert_uint_eq(rd64(IOMMU_RTADDR), root);
    wr32(IOMMU_GCMD, 0);
    ck_assert_uint_eq(rd32(IOMMU_GSTS) & IOMMU_GSTS_TES, 0);
    uint64_t pa;
    simtime_t w;
    ck_assert(iommu_translate(u, 0x20, 0x123456789, true, &pa, &w)); /* off: pass-through */
    ck_assert_uint_eq(pa, 0x123456789);
    ck_assert_uint_eq(w, 0);
}
END_TEST

START_TEST(test_translate_hit_miss)
{
    map(0x5000, 3, IOMMU_PTE_R | IOMMU_PTE_W);
    uint64_t pa;
    simtime_t w;
    ck_assert(iommu_translate(u, 0x20, 0x5000123, false, &pa, &w));
    ck_assert_uint_eq(pa, 3 * 4096 + 0x123);
    ck_assert_uint_eq(w, WALK); /* miss: walked */
    ck_assert(iommu_translate(u, 0x20, 0x5000ff0, true, &pa, &w));
    ck_assert_uint_eq(pa, 3 * 4096 + 0xff0);
    ck_assert_uint_eq(w, 0); /* hit */
    struct iommu_stats s = iommu_stats(u);
    ck_assert_uint_eq(s.misses, 1);
    ck_assert_uint_eq(s.hits, 1);
    ck_assert_uint_eq(s.faults, 0);
    ck_assert_uint_eq(rd32(IOMMU_FSTS) & IOMMU_FSTS_PPF, 0);
}
END_TEST

START_TEST(test_faults_recorded)
{
    map(0x6000, 5, IOMMU_PTE_R); /* read-only */
    uint64_t pa;
    simtime_t w;
    ck_assert(!iommu_translate(u, 0x20, 0x6000010, true, &pa, &w)); /* write to R-only */
    ck_assert_uint_eq(rd32(IOMMU_FSTS) & IOMMU_FSTS_PPF, IOMMU_FSTS_PPF);
    uint64_t lo = rd64(IOMMU_FRCD), hi = rd64(IOMMU_FRCD + 8);
    ck_assert_uint_eq(lo, 0x6000000);
    ck_assert(hi & IOMMU_FRCD_F);
    ck_assert_uint_eq((hi >> 32) & 0xff, IOMMU_FR_WRITE);
    ck_assert_uint_eq(hi & 0xffff, 0x20);
    ck_assert(!(hi & IOMMU_FRCD_T_READ));
    ck_assert(!iommu_translate(u, 0x20, 0x7000000, false, &pa, &w)); /* not mapped */
    hi = rd64(IOMMU_FRCD + 16 + 8);
    ck_assert_uint_eq((hi >> 32) & 0xff, IOMMU_FR_READ);
    ck_assert(hi & IOMMU_FRCD_T_READ);
    ck_assert(!iommu_translate(u, 0x28, 0x6000000, false, &pa, &w)); /* no context */
    hi = rd64(IOMMU_FRCD + 32 + 8);
    ck_assert_uint_eq((hi >> 32) & 0xff, IOMMU_FR_CTX_NP);
    ck_assert_uint_eq((rd32(IOMMU_FSTS) >> 8) & 0xff, 2); /* FRI: the last one */
    for (int i = 0; i < 3; i++)
        wr32(IOMMU_FRCD + 16 * i + 12, 1u << 31); /* software clears F */
    ck_assert_uint_eq(rd32(IOMMU_FSTS) & IOMMU_FSTS_PPF, 0);
    unsigned n;
    const struct iommu_fault *f = iommu_fault_log(u, &n);
    ck_assert_uint_eq(n, 3);
    ck_assert_uint_eq(f[0].reason, IOMMU_FR_WRITE);
    ck_assert(f[0].write);
    ck_assert_uint_eq(iommu_stats(u).faults, 3);
}
END_TEST

START_TEST(test_overflow_sets_pfo)
{
    uint64_t pa;
    simtime_t w;
    for (int i = 0; i < IOMMU_NFR + 1; i++)
        ck_assert(!iommu_translate(u, 0x20, 0x9000000 + i * 4096ull, false, &pa, &w));
    ck_assert(rd32(IOMMU_FSTS) & IOMMU_FSTS_PFO);
    wr32(IOMMU_FSTS, IOMMU_FSTS_PFO);
    ck_assert(!(rd32(IOMMU_FSTS) & IOMMU_FSTS_PFO));
}
END_TEST

START_TEST(test_invalidation)
{
    map(0x5000, 3, IOMMU_PTE_R | IOMMU_PTE_W);
    uint64_t pa;
    simtime_t w;
    ck_assert(iommu_translate(u, 0x20, 0x5000000, true, &pa, &w));
    /* software clears the entry but does not invalidate: the IOTLB still translates */
    map(0x5000, 0, 0);
    ck_assert(iommu_translate(u, 0x20, 0x5000000, true, &pa, &w));
    ck_assert_uint_eq(pa, 3 * 4096);
    /* page-selective invalidation of another page leaves it */
    wr64(IOMMU_IVA, 0x6000000);
    wr64(IOMMU_IOTLB, IOMMU_IOTLB_IVT | IOMMU_IOTLB_PAGE | IOMMU_IOTLB_DID(7));
    ck_assert_uint_eq(rd64(IOMMU_IOTLB) & IOMMU_IOTLB_IVT, 0); /* done */
    ck_assert(iommu_translate(u, 0x20, 0x5000000, true, &pa, &w));
    /* ... of another domain too */
    wr64(IOMMU_IVA, 0x5000000);
    wr64(IOMMU_IOTLB, IOMMU_IOTLB_IVT | IOMMU_IOTLB_PAGE | IOMMU_IOTLB_DID(8));
    ck_assert(iommu_translate(u, 0x20, 0x5000000, true, &pa, &w));
    /* the right page and domain: unreachable from now on */
    wr64(IOMMU_IOTLB, IOMMU_IOTLB_IVT | IOMMU_IOTLB_PAGE | IOMMU_IOTLB_DID(7));
    ck_assert(!iommu_translate(u, 0x20, 0x5000000, true, &pa, &w));
    ck_assert_uint_eq(iommu_stats(u).inval_page, 3);
    ck_assert_uint_eq(iommu_take_inval_time(u), 3 * INVAL);
    ck_assert_uint_eq(iommu_take_inval_time(u), 0);
}
END_TEST

START_TEST(test_context_cache_and_domain_invalidation)
{
    map(0x5000, 3, IOMMU_PTE_R | IOMMU_PTE_W);
    uint64_t pa;
    simtime_t w;
    ck_assert(iommu_translate(u, 0x20, 0x5000000, false, &pa, &w));
    /* the device is taken away: context cleared, but cached until CCMD */
    *q(ctx + 0x20 * 16) = 0;
    wr64(IOMMU_IOTLB, IOMMU_IOTLB_IVT | IOMMU_IOTLB_DOMAIN | IOMMU_IOTLB_DID(7));
    ck_assert(iommu_translate(u, 0x20, 0x5000000, false, &pa, &w)); /* context cached, walk ok */
    wr64(IOMMU_CCMD, IOMMU_CCMD_ICC | IOMMU_CCMD_GLOBAL);
    ck_assert_uint_eq(rd64(IOMMU_CCMD) & IOMMU_CCMD_ICC, 0);
    wr64(IOMMU_IOTLB, IOMMU_IOTLB_IVT | IOMMU_IOTLB_GLOBAL);
    ck_assert(!iommu_translate(u, 0x20, 0x5000000, false, &pa, &w));
    ck_assert_uint_eq((rd64(IOMMU_FRCD + 8) >> 32) & 0xff, IOMMU_FR_CTX_NP);
}
END_TEST

START_TEST(test_iotlb_capacity)
{
    for (uint64_t p = 0; p < 5; p++)
        map(0x100 + p, 1 + p, IOMMU_PTE_R);
    uint64_t pa;
    simtime_t w;
    for (uint64_t p = 0; p < 5; p++)
        ck_assert(iommu_translate(u, 0x20, (0x100 + p) << 12, false, &pa, &w));
    /* 4 entries, round robin: page 0x100 was replaced by 0x104 */
    ck_assert(iommu_translate(u, 0x20, 0x104000, false, &pa, &w));
    ck_assert_uint_eq(w, 0);
    ck_assert(iommu_translate(u, 0x20, 0x100000, false, &pa, &w));
    ck_assert_uint_eq(w, WALK);
    ck_assert_uint_eq(iommu_stats(u).misses, 6);
}
END_TEST

static Suite *iommu_suite(void)
{
    Suite *s = suite_create("iommu");
    TCase *tc = tcase_create("registers");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_caps_and_enable);
    tcase_add_test(tc, test_translate_hit_miss);
    tcase_add_test(tc, test_faults_recorded);
    tcase_add_test(tc, test_overflow_sets_pfo);
    tcase_add_test(tc, test_invalidation);
    tcase_add_test(tc, test_context_cache_and_domain_invalidation);
    tcase_add_test(tc, test_iotlb_capacity);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(iommu_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
