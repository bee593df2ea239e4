/*
 * Bus addresses and DMA-able allocations (see dma.h). The phys-to-machine
 * list is only read: one load per translated page.
 */
#include "dma.h"
#include "alloc.h"
#include "console.h"
#include "runtime.h"

const unsigned long *dma_p2m;
unsigned long dma_nr_pages;

int dma_init(void)
{
    if (dma_p2m)
        return 0;
    if (!start_info->mfn_list) {
        printf("dma: start_info has no mfn_list: bus addresses unknown\n");
        return -XEN_ENOSYS;
    }
    dma_nr_pages = start_info->nr_pages;
    dma_p2m = (const unsigned long *)start_info->mfn_list;
    return 0;
}

void *dma_alloc(size_t n, uint64_t *bus)
{
    uint8_t *p = page_zalloc(n);
    if (!p)
        return NULL;
    uint64_t base = virt_to_bus(p);
    for (size_t i = 1; base != DMA_BAD_ADDR && i < n; i++)
        if (virt_to_bus(p + i * PAGE_SIZE) != base + i * PAGE_SIZE)
            base = DMA_BAD_ADDR;
    if (base == DMA_BAD_ADDR) {
        page_free(p, n);
        return NULL;
    }
    *bus = base;
    return p;
}

void dma_free(void *p, size_t n)
{
    page_free(p, n);
}
