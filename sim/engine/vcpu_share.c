/*
 * One Unicorn engine for the domUs of one code image (engine.h says which
 * domains and why): finding and setting up the shared engine, switching it
 * between vCPUs, and the pages mapped above RAM, which an engine of its own
 * would map as Unicorn regions but a shared one translates in its fill
 * hook (a region would be seen by every sharer).
 */
#include "engine.h"

#include <stdlib.h>
#include <string.h>

bool engine_shareable(const struct domain *d)
{
    /* for benchmarks: every vCPU on an engine of its own (bench_blk's side-by-side) */
    const char *off = getenv("HOPSIM_ENGINE_SHARE");
    if (off && !strcmp(off, "0"))
        return false;
    if (d->privileged || d->native || d->rt || d->hvm || d->device_model || d->l4 || d->l4_vmm ||
        d->xip || d->booted_from_flash || d->m->sc->domains[d->idx].vcpus != 1 ||
        d->m->sc->domains[d->idx].runtime_image[0])
        return false;
    for (int i = 0; i < d->m->sc->ndevices; i++)
        if (d->m->sc->devices[i].owner == d->idx)
            return false; /* its BARs would be MMIO regions of the engine */
    return true;
}

struct engine *engine_find_shared(struct machine *m, const struct code_cache *cc, uint64_t nr_pages)
{
    for (struct engine *e = m->shared_engines; e; e = e->next)
        if (e->cc == cc && e->nr_pages == nr_pages)
            return e;
    return NULL;
}

int engine_share_setup(struct engine *e, struct domain *d, const struct code_cache *cc)
{
    uint64_t first = UINT64_MAX, last = 0;
    for (uint64_t p = 0; p < d->nr_pages; p++)
        if (domain_page_exec(d, p)) {
            if (first == UINT64_MAX)
                first = p;
            last = p;
        }
    if (first == UINT64_MAX)
        return -1;
    e->shared = true;
    e->cc = cc;
    e->nr_pages = d->nr_pages;
    e->code_first = first;
    e->code_pages = last - first + 1;
    e->code = aligned_alloc(PAGE_SIZE, e->code_pages * PAGE_SIZE);
    e->code_has = calloc(e->code_pages, 1);
    if (!e->code || !e->code_has)
        return -1;
    /* the image's code as the first sharer holds it: every sharer's is the same (the code
     * image's key) and none can change it (W^X, vcpu.c's fill hook) */
    memset(e->code, 0, e->code_pages * PAGE_SIZE);
    for (uint64_t p = first; p <= last; p++) {
        const void *src = domain_page_exec(d, p) ? guest_ram(d, p << PAGE_SHIFT, PAGE_SIZE) : NULL;
        if (src)
            memcpy(e->code + ((p - first) << PAGE_SHIFT), src, PAGE_SIZE);
        e->code_has[p - first] = src != NULL;
    }
    if (uc_mem_map_ptr(e->uc, CODE_ALIAS, e->code_pages * PAGE_SIZE, UC_PROT_READ | UC_PROT_EXEC,
                       e->code) != UC_ERR_OK ||
        uc_context_alloc(e->uc, &e->reset) != UC_ERR_OK ||
        uc_context_save(e->uc, e->reset) != UC_ERR_OK)
        return -1;
    return 0;
}

int engine_join(struct engine *e, struct vcpu *v)
{
    e->refs++;
    if (uc_context_alloc(e->uc, &v->ctx) != UC_ERR_OK)
        return -1;
    /* the engine takes v with a fresh engine's registers */
    if (e->cur && uc_context_save(e->uc, e->cur->ctx) != UC_ERR_OK)
        return -1;
    if (uc_context_restore(e->uc, e->reset) != UC_ERR_OK)
        return -1;
    e->cur = v;
    return 0;
}

/* Unlinks and closes the engine when its last vCPU leaves. */
void engine_leave(struct engine *e, struct vcpu *v)
{
    if (e->cur == v)
        e->cur = NULL;
    if (e->tlb_dom == v->d)
        e->tlb_dom = NULL; /* the domain's memory may be some later domain's */
    if (v->ctx)
        uc_context_free(v->ctx);
    v->ctx = NULL;
    free(v->vmaps);
    v->vmaps = NULL;
    v->nvmaps = 0;
    if (--e->refs > 0)
        return;
    struct engine **p = &v->d->m->shared_engines;
    while (*p && *p != e)
        p = &(*p)->next;
    if (*p)
        *p = e->next;
    if (e->reset)
        uc_context_free(e->reset);
    uc_close(e->uc);
    free(e->code);
    free(e->code_has);
    free(e);
}

void engine_activate(struct engine *e, struct vcpu *v)
{
    if (e->cur != v) {
        if (e->cur)
            uc_context_save(e->uc, e->cur->ctx);
        uc_context_restore(e->uc, v->ctx);
        e->cur = v;
    }
    if (e->tlb_dom != v->d) {
        /* the TLB's entries translate to the previous domain's frames */
        uc_ctl_flush_tlb(e->uc);
        e->tlb_dom = v->d;
        v->d->m->engine_switches++;
    }
}

bool engine_vmap_lookup(const struct vcpu *v, uint64_t va, uint64_t *paddr)
{
    for (int i = 0; i < v->nvmaps; i++) {
        const struct vmap *m = &v->vmaps[i];
        if (va >= m->gpa && va - m->gpa < m->len) {
            *paddr = MACHINE_ALIAS + (m->mfn << PAGE_SHIFT) + (va - m->gpa);
            return true;
        }
    }
    return false;
}

/* As uc_mem_map_ptr refuses them: a range overlapping RAM or another mapping. Only machine
 * memory can be mapped (what the hypervisor maps into a domU is). */
int engine_vmap_add(struct vcpu *v, uint64_t gpa, uint64_t len, void *host)
{
    struct machine *m = v->d->m;
    uint8_t *h = host;
    if (!len || (gpa | len) & (PAGE_SIZE - 1) || gpa < v->d->nr_pages * PAGE_SIZE ||
        gpa + len < gpa || gpa + len > MACHINE_ALIAS || h < m->mem ||
        (uint64_t)(h - m->mem) + len > m->nr_mfns * PAGE_SIZE || (h - m->mem) & (PAGE_SIZE - 1))
        return -1;
    for (int i = 0; i < v->nvmaps; i++)
        if (gpa < v->vmaps[i].gpa + v->vmaps[i].len && v->vmaps[i].gpa < gpa + len)
            return -1;
    struct vmap *n = realloc(v->vmaps, (size_t)(v->nvmaps + 1) * sizeof(*n));
    if (!n)
        return -1;
    v->vmaps = n;
    n[v->nvmaps++] =
        (struct vmap){.gpa = gpa, .len = len, .mfn = (uint64_t)(h - m->mem) >> PAGE_SHIFT};
    return 0;
}

int engine_vmap_remove(struct vcpu *v, uint64_t gpa, uint64_t len)
{
    for (int i = 0; i < v->nvmaps; i++)
        if (v->vmaps[i].gpa == gpa && v->vmaps[i].len == len) {
            v->vmaps[i] = v->vmaps[--v->nvmaps];
            if (v->eng->tlb_dom == v->d)
                uc_ctl_flush_tlb(v->uc);
            return 0;
        }
    return -1;
}

int engine_read(struct vcpu *v, uint64_t gpa, void *buf, size_t len)
{
    const uint64_t ram = v->d->nr_pages * PAGE_SIZE;
    if (gpa < ram) {
        const void *p = gpa + len <= ram ? guest_ram(v->d, gpa, len) : NULL;
        if (!p)
            return -1;
        memcpy(buf, p, len);
        return 0;
    }
    for (uint8_t *out = buf; len;) {
        uint64_t pa, off = gpa & (PAGE_SIZE - 1);
        size_t n = len < PAGE_SIZE - off ? len : PAGE_SIZE - off;
        if (!engine_vmap_lookup(v, gpa, &pa))
            return -1;
        memcpy(out, v->d->m->mem + (pa - MACHINE_ALIAS), n);
        out += n;
        gpa += n;
        len -= n;
    }
    return 0;
}
