/*
 * Page allocator and malloc (see alloc.h).
 *
 * Pages: two bitmaps over the heap, kept in the top pages of RAM: `used`
 * (allocated now) and `dirty` (allocated at some time, so maybe not zero).
 * Domain memory is zeroed by the builder, so page_zalloc only clears pages
 * that were used before; guest stores are slow, this saves most of them.
 * First-fit search from a rotating hint.
 *
 * malloc: size classes of 32..4096 bytes (a 16-byte header + payload) carved
 * from pages, with one free list per class; larger requests take whole
 * pages. Chunk pages are never returned to the page allocator.
 *
 * One spinlock (smp.h) covers both, so any vCPU and any handler may
 * allocate.
 */
#include "alloc.h"
#include "arch.h"
#include "smp.h"
#include "str.h"

static unsigned long heap_first; /* pfn of bit 0 */
static unsigned long heap_pages; /* pages managed */
static unsigned long *used_map, *dirty_map;
static unsigned long hint;
static size_t nfree;
static spinlock_t alloc_lock = SPINLOCK_INIT;

static void mark(unsigned long i, unsigned long n, int used);

void alloc_init(unsigned long first_pfn, unsigned long end_pfn, unsigned long max_pfn)
{
    if (end_pfn <= first_pfn + 2)
        return;
    if (max_pfn < end_pfn)
        max_pfn = end_pfn;
    unsigned long total = max_pfn - first_pfn;
    unsigned long words = (total + BITS_PER_LONG - 1) / BITS_PER_LONG;
    unsigned long map_pages = (2 * words * sizeof(long) + PAGE_SIZE - 1) / PAGE_SIZE;
    unsigned long map_pfn = end_pfn - map_pages;
    used_map = pfn_to_virt(map_pfn);
    dirty_map = used_map + words;
    memset(used_map, 0, 2 * words * sizeof(long));
    heap_first = first_pfn;
    heap_pages = map_pfn - first_pfn;
    nfree = heap_pages;
    hint = 0;
    if (max_pfn > end_pfn) {
        /* the maps' pages and the RAM not yet populated are taken: the balloon frees the latter */
        heap_pages = max_pfn - first_pfn;
        mark(map_pfn - first_pfn, max_pfn - map_pfn, 1);
    }
}

static int page_used(unsigned long i)
{
    return (int)((used_map[i / BITS_PER_LONG] >> (i % BITS_PER_LONG)) & 1);
}

static void mark(unsigned long i, unsigned long n, int used)
{
    for (unsigned long j = i; j < i + n; j++) {
        unsigned long bit = 1ul << (j % BITS_PER_LONG);
        if (used) {
            used_map[j / BITS_PER_LONG] |= bit;
            dirty_map[j / BITS_PER_LONG] |= bit;
        } else {
            used_map[j / BITS_PER_LONG] &= ~bit;
        }
    }
}

/* First index of a run of n free pages in [from, heap_pages), or heap_pages. */
static unsigned long find_run(unsigned long from, unsigned long n)
{
    unsigned long run = 0;
    for (unsigned long i = from; i < heap_pages; i++) {
        if (i % BITS_PER_LONG == 0 && used_map[i / BITS_PER_LONG] == ~0ul) {
            run = 0;
            i += BITS_PER_LONG - 1; /* skip a full word */
            continue;
        }
        run = page_used(i) ? 0 : run + 1;
        if (run == n)
            return i + 1 - n;
    }
    return heap_pages;
}

/* Next fit from the hint: the index of a free run of n pages, or heap_pages. */
static unsigned long find_free(size_t n)
{
    if (!n || n > nfree)
        return heap_pages;
    unsigned long i = find_run(hint, n);
    return i == heap_pages ? find_run(0, n) : i;
}

/* Mark the run at i used and hand it out. */
static void *take(unsigned long i, size_t n)
{
    mark(i, n, 1);
    nfree -= n;
    hint = i + n < heap_pages ? i + n : 0;
    return pfn_to_virt(heap_first + i);
}

static void *alloc_locked(size_t n)
{
    unsigned long i = find_free(n);
    return i == heap_pages ? NULL : take(i, n);
}

static void free_locked(void *p, size_t n)
{
    unsigned long pfn = virt_to_pfn(p);
    if (!p || pfn < heap_first || pfn + n > heap_first + heap_pages)
        return;
    mark(pfn - heap_first, n, 0);
    nfree += n;
}

void *page_alloc(size_t n)
{
    int f = spin_lock_irqsave(&alloc_lock);
    void *p = alloc_locked(n);
    spin_unlock_irqrestore(&alloc_lock, f);
    return p;
}

void *page_zalloc(size_t n)
{
    int f = spin_lock_irqsave(&alloc_lock);
    unsigned long i = find_free(n);
    void *p = NULL;
    if (i != heap_pages) {
        for (unsigned long j = i; j < i + n; j++) /* pages never handed out are zero already */
            if ((dirty_map[j / BITS_PER_LONG] >> (j % BITS_PER_LONG)) & 1)
                memset(pfn_to_virt(heap_first + j), 0, PAGE_SIZE);
        p = take(i, n);
    }
    spin_unlock_irqrestore(&alloc_lock, f);
    return p;
}

void page_free(void *p, size_t n)
{
    int f = spin_lock_irqsave(&alloc_lock);
    free_locked(p, n);
    spin_unlock_irqrestore(&alloc_lock, f);
}

size_t page_free_count(void)
{
    return nfree;
}

/* ---- malloc ---- */

#define MAGIC_SMALL 0x6c6c616du /* "mall" */
#define MAGIC_PAGES 0x65676170u /* "page" */
#define NCLASSES 8              /* 32 << 0 .. 32 << 7 = 4096 */
#define HDR 16

struct hdr {
    uint32_t magic;
    uint32_t arg; /* class, or page count */
    uint64_t pad;
};

static void *free_head[NCLASSES];
static char *bump[NCLASSES];
static size_t bump_left[NCLASSES];

static void *malloc_locked(size_t size)
{
    size_t need = size + HDR;
    if (need > (32u << (NCLASSES - 1))) {
        size_t pages = (need + PAGE_SIZE - 1) / PAGE_SIZE;
        struct hdr *h = alloc_locked(pages);
        if (!h)
            return NULL;
        *h = (struct hdr){MAGIC_PAGES, (uint32_t)pages, 0};
        return (char *)h + HDR;
    }
    unsigned cls = 0;
    while ((32u << cls) < need)
        cls++;
    struct hdr *h = free_head[cls];
    if (h) {
        free_head[cls] = *(void **)((char *)h + HDR);
    } else {
        size_t csize = 32u << cls;
        if (bump_left[cls] < csize) {
            bump[cls] = alloc_locked(1);
            if (!bump[cls])
                return NULL;
            bump_left[cls] = PAGE_SIZE;
        }
        h = (struct hdr *)bump[cls];
        bump[cls] += csize;
        bump_left[cls] -= csize;
    }
    *h = (struct hdr){MAGIC_SMALL, cls, 0};
    return (char *)h + HDR;
}

void *malloc(size_t size)
{
    if (size > (1ul << 30))
        return NULL;
    int f = spin_lock_irqsave(&alloc_lock);
    void *p = malloc_locked(size);
    spin_unlock_irqrestore(&alloc_lock, f);
    return p;
}

void *calloc(size_t n, size_t size)
{
    if (size && n > (1ul << 30) / size)
        return NULL;
    void *p = malloc(n * size);
    if (p)
        memset(p, 0, n * size);
    return p;
}

void free(void *p)
{
    if (!p)
        return;
    struct hdr *h = (struct hdr *)((char *)p - HDR);
    int f = spin_lock_irqsave(&alloc_lock);
    if (h->magic == MAGIC_PAGES) {
        h->magic = 0;
        free_locked(h, h->arg);
    } else if (h->magic == MAGIC_SMALL && h->arg < NCLASSES) {
        h->magic = 0;
        *(void **)p = free_head[h->arg];
        free_head[h->arg] = h;
    }
    spin_unlock_irqrestore(&alloc_lock, f);
}
