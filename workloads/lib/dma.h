/*
 * Bus addresses for device DMA from a driver domain (no IOMMU: bus address
 * == machine address).
 *
 * Our own RAM: the machine frame of guest frame pfn is mfn_list[pfn], Xen
 * PV's phys-to-machine list, whose guest address the builder leaves in
 * start_info->mfn_list (nr_pages entries). Grant-mapped foreign pages are
 * not in it: their bus address is the dev_bus_addr GNTTABOP_map_grant_ref
 * returns for a GNTMAP_device_map mapping.
 *
 * Assumption: the list stays where the builder put it and is never handed
 * out by the page allocator (it lies below the heap, with start_info).
 */
#ifndef GUEST_DMA_H
#define GUEST_DMA_H

#include <stddef.h>
#include <stdint.h>

#include "arch.h"

#define DMA_BAD_ADDR (~0ull)

extern const unsigned long *dma_p2m; /* start_info->mfn_list, NULL before dma_init */
extern unsigned long dma_nr_pages;

/* Finds the phys-to-machine list: 0, or -XEN_ENOSYS when the builder gave none. */
int dma_init(void);

/* Bus address of our own RAM at p, or DMA_BAD_ADDR (outside RAM, or no dma_init). */
static inline uint64_t virt_to_bus(const void *p)
{
    unsigned long pfn = (unsigned long)p >> PAGE_SHIFT;
    if (unlikely(!dma_p2m || pfn >= dma_nr_pages))
        return DMA_BAD_ADDR;
    return ((uint64_t)dma_p2m[pfn] << PAGE_SHIFT) | ((unsigned long)p & (PAGE_SIZE - 1));
}

/*
 * n zeroed pages that are contiguous in bus space too (queues a device
 * reads as one block); *bus gets their bus address. NULL when out of memory
 * or when the frames are not machine-contiguous.
 */
void *dma_alloc(size_t n, uint64_t *bus);
void dma_free(void *p, size_t n);

#endif
