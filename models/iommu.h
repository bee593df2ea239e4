/*
 * A VT-d-like DMA remapping unit (Intel VT-d specification, chapters 3, 6,
 * 7 and 10): the register interface system software programs, the
 * translation structures it walks in memory, an IOTLB and a context cache,
 * and primary fault logging.
 *
 * Structures (in memory, read through `mem`; all little-endian):
 *  - root table: 256 16-byte root entries, one per bus; bit 0 P, 63:12
 *    the context table's address (RTADDR_REG points at the root table);
 *  - context table: 256 16-byte entries, one per devfn; low qword bit 0 P,
 *    63:12 SLPTPTR; high qword 2:0 AW (2 = 48-bit, 4 levels), 23:8 DID;
 *  - second-level paging: 4 levels of 512 8-byte entries, bit 0 R, bit 1 W,
 *    51:12 the next table or the page (4 KiB pages only).
 *
 * Registers (offsets as the spec's chapter 10): VER 0x00, CAP 0x08, ECAP
 * 0x10, GCMD 0x18, GSTS 0x1C, RTADDR 0x20, CCMD 0x28, FSTS 0x34, FECTL
 * 0x38, fault recording registers at CAP.FRO*16 (IOMMU_FRCD), IVA and
 * IOTLB at ECAP.IRO*16 (IOMMU_IVA, IOMMU_IOTLB). Commands complete at once
 * (ICC, IVT and the GSTS bits read back done), but an invalidation is
 * priced: iommu_take_inval_time() hands its cost to the caller, who
 * charges the software waiting for it.
 *
 * Translation (iommu_translate) is what a DMA request sees: with
 * translation disabled (GSTS.TES 0) the bus address is the physical
 * address; otherwise the IOTLB is searched by (DID, page) and a miss walks
 * the context and the four paging levels, each a memory read priced by
 * the caller's profile (`iotlb_miss`). A failed walk records a fault in
 * the next fault recording register (reason, source-id, address, type)
 * and sets FSTS.PPF; the DMA gets nothing.
 */
#ifndef HOPSIM_IOMMU_H
#define HOPSIM_IOMMU_H

#include <stdbool.h>
#include <stdint.h>

#include "device.h"

#define IOMMU_VER 0x00
#define IOMMU_CAP 0x08
#define IOMMU_ECAP 0x10
#define IOMMU_GCMD 0x18
#define IOMMU_GSTS 0x1c
#define IOMMU_RTADDR 0x20
#define IOMMU_CCMD 0x28
#define IOMMU_FSTS 0x34
#define IOMMU_FECTL 0x38
#define IOMMU_FRCD 0x400 /* CAP.FRO = 0x40 */
#define IOMMU_IVA 0x500  /* ECAP.IRO = 0x50 */
#define IOMMU_IOTLB 0x508
#define IOMMU_NFR 8 /* fault recording registers */

#define IOMMU_GCMD_TE (1u << 31)
#define IOMMU_GCMD_SRTP (1u << 30)
#define IOMMU_GSTS_TES (1u << 31)
#define IOMMU_GSTS_RTPS (1u << 30)
#define IOMMU_CCMD_ICC (1ull << 63)
#define IOMMU_CCMD_GLOBAL (1ull << 61)
#define IOMMU_IOTLB_IVT (1ull << 63)
#define IOMMU_IOTLB_GLOBAL (1ull << 60)
#define IOMMU_IOTLB_DOMAIN (2ull << 60)
#define IOMMU_IOTLB_PAGE (3ull << 60)
#define IOMMU_IOTLB_DID(d) ((uint64_t)(d) << 32)
#define IOMMU_FSTS_PFO (1u << 0)
#define IOMMU_FSTS_PPF (1u << 1)
#define IOMMU_FRCD_F (1ull << 63) /* in the high qword */
#define IOMMU_FRCD_T_READ (1ull << 62)

#define IOMMU_PTE_R 1ull
#define IOMMU_PTE_W 2ull

/* Fault reasons (VT-d spec, appendix A). */
#define IOMMU_FR_ROOT_NP 0x1
#define IOMMU_FR_CTX_NP 0x2
#define IOMMU_FR_ADDR_WIDTH 0x4
#define IOMMU_FR_WRITE 0x5
#define IOMMU_FR_READ 0x6

/* Host pointer to the 4 KiB frame at physical address pa, NULL if no memory is there. */
struct iommu_mem {
    void *opaque;
    void *(*frame)(void *opaque, uint64_t pa);
};

struct iommu_fault {
    uint16_t sid; /* bus << 8 | devfn */
    uint8_t reason;
    bool write;
    uint64_t addr; /* page address of the request */
};

struct iommu_stats {
    uint64_t translations, hits, misses, faults, inval_page, inval_domain, inval_global;
};

struct iommu;

/* iotlb_entries: IOTLB size; walk: time of one miss (context + 4 levels). */
struct iommu *iommu_create(struct iommu_mem mem, unsigned iotlb_entries, simtime_t walk,
                           simtime_t inval);
void iommu_destroy(struct iommu *u);
extern const struct mmio_ops iommu_mmio_ops; /* opaque: the struct iommu */

/*
 * A DMA request from source sid to bus address `bus` (one page at most):
 * the physical address in *pa and true, or false with a fault recorded.
 * *walk_time gets what the translation added (0 on an IOTLB hit).
 */
bool iommu_translate(struct iommu *u, uint16_t sid, uint64_t bus, bool write, uint64_t *pa,
                     simtime_t *walk_time);
/* Time of the invalidations programmed since the last call (and reset). */
simtime_t iommu_take_inval_time(struct iommu *u);
struct iommu_stats iommu_stats(const struct iommu *u);
/* Every fault recorded in the run, in order (the registers hold the last IOMMU_NFR). */
const struct iommu_fault *iommu_fault_log(const struct iommu *u, unsigned *n);
const char *iommu_fault_reason(uint8_t reason);

#endif
