/*
 * Unicorn engines and the vCPUs that run on them (vcpu.c, vcpu_share.c;
 * private to those two files).
 *
 * A vCPU of dom0, a driver domain, an HVM or runtime-service domain, a
 * microkernel task or a native kernel has an engine of its own. The
 * single-vCPU-image PV domUs without devices that run the same code image
 * (blockprice.c's key: the cost profile and every executable page, number
 * and contents) in the same amount of RAM share one engine: its translated
 * code, its translation-block hash table and jump cache serve all of them,
 * so 64 frontends keep one copy of their frontend's translation warm in
 * the host's caches instead of 64 (docs/host-speed.md, "64 domUs").
 *
 * On a shared engine the fill hook translates a data page to the domain's
 * machine frame (the machine-memory alias every engine maps), and a code
 * page to the engine's private copy of the image's executable pages, the
 * same for every sharer, so a block translated for one domU is found for
 * all. The registers of the vCPUs not running are kept in uc_contexts;
 * switching the engine to another domain flushes its TLB (the entries hold
 * the previous domain's frames).
 */
#ifndef HOPSIM_ENGINE_H
#define HOPSIM_ENGINE_H

#include "machine.h"

#include <unicorn/unicorn.h>

/* Where every engine sees the whole machine memory (vcpu.c). */
#define MACHINE_ALIAS (1ull << 48)
/* Where a shared engine sees its copy of the image's executable pages (vcpu_share.c). */
#define CODE_ALIAS (1ull << 49)

struct engine {
    uc_engine *uc;
    struct vcpu *cur; /* whose registers it holds: the vCPU its hooks run for */
    bool shared;
    /* shared engines only */
    const struct domain *tlb_dom; /* whose frames its TLB holds, NULL: none */
    struct engine *next;          /* the machine's list */
    const struct code_cache *cc;
    uint64_t nr_pages;
    uint64_t code_first, code_pages; /* the executable pages' span, copied to code */
    uint8_t *code;
    uint8_t *code_has; /* per page of the span: executable when copied (the others are data) */
    uc_context *reset; /* a fresh engine's registers: each joining vCPU starts from them */
    int refs;
};

/* A page-aligned range above a shared engine's RAM mapped to machine frames (the shared-info
 * page, grant-table frames: what vcpu_map maps into an engine of its own). */
struct vmap {
    uint64_t gpa, len, mfn;
};

/* A shared engine's copy holds code page pfn (made executable before the engine was set up;
 * a page made so later is translated to the domain's own frame). */
static inline bool engine_code_page(const struct engine *e, uint64_t pfn)
{
    return pfn - e->code_first < e->code_pages && e->code_has[pfn - e->code_first];
}

/* vcpu_share.c */
bool engine_shareable(const struct domain *d);
/* The shared engine for d's image and RAM size, or NULL if there is none yet. */
struct engine *engine_find_shared(struct machine *m, const struct code_cache *cc,
                                  uint64_t nr_pages);
/* Make e (fresh, hooks not yet added) a shared engine for d's image: maps the code copy. */
int engine_share_setup(struct engine *e, struct domain *d, const struct code_cache *cc);
/* v joins e (counted) with a fresh engine's registers; on failure the caller leaves. */
int engine_join(struct engine *e, struct vcpu *v);
void engine_leave(struct engine *e, struct vcpu *v);
/* Before v runs a slice on its shared engine: its registers and its domain's translations. */
void engine_activate(struct engine *e, struct vcpu *v);
/* Fill-hook translation of a page above RAM on a shared engine: false if none is mapped. */
bool engine_vmap_lookup(const struct vcpu *v, uint64_t va, uint64_t *paddr);
int engine_vmap_add(struct vcpu *v, uint64_t gpa, uint64_t len, void *host);
int engine_vmap_remove(struct vcpu *v, uint64_t gpa, uint64_t len);
/* What a shared engine's vCPU reads at gpa (RAM, or a page mapped above it). */
int engine_read(struct vcpu *v, uint64_t gpa, void *buf, size_t len);

#endif
