/*
 * Memory allocation for guest programs: whole pages (page_alloc) and small
 * objects (malloc/free). The heap is the RAM above everything the domain
 * builder put after the image (start_info, store and console rings, boot
 * stack) up to nr_pages. Safe from any vCPU and from event handlers (one
 * spinlock, taken with delivery off).
 */
#ifndef GUEST_ALLOC_H
#define GUEST_ALLOC_H

#include <stddef.h>

/*
 * Heap = pages [first_pfn, end_pfn), the populated RAM; with max_pfn above
 * end_pfn the maps cover [first_pfn, max_pfn) and the pages from end_pfn
 * on are taken until the balloon driver populates them and frees them in.
 */
void alloc_init(unsigned long first_pfn, unsigned long end_pfn, unsigned long max_pfn);
/* n contiguous pages, page aligned; contents undefined. NULL when out of memory. */
void *page_alloc(size_t n);
/* Same, zero-filled (pages never used before are zero already and cost no stores). */
void *page_zalloc(size_t n);
void page_free(void *p, size_t n);
size_t page_free_count(void);

void *malloc(size_t size); /* 16-byte aligned */
void *calloc(size_t n, size_t size);
void free(void *p);

#endif
