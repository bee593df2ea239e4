/*
 * Cache and TLB refill penalties: what the code that runs next on a
 * physical CPU loses to misses because another context ran there, or its
 * translations were dropped. Charged before its slice (slices execute
 * atomically, so the misses spread over its first instructions are
 * gathered in front of them), traced as a `refill` span on the CPU's lane
 * with the request the vCPU works for, and accounted as its domain's time.
 *
 * TLB: which address space's translations the CPU holds.
 *  - A world switch: Xen's context_switch() (xen/arch/x86/domain.c) loads
 *    the next vCPU's page tables with write_ptbase() -> switch_cr3_cr4()
 *    (xen/arch/x86/flushtlb.c). Without PCID the CR3 write drops every
 *    non-global entry; with PCID, switch_cr3_cr4 flushes the old PCID's
 *    entries when the PCID changes (invpcid_flush_single_context), so
 *    neither keeps the previous domain's translations for its return.
 *    Xen's own mappings are global and survive: only the guest's re-walk.
 *  - A runtime-service entry: efi_rs_enter() (xen/common/efi/runtime.c)
 *    switches CR3 to the EFI page tables, efi_rs_leave() back to the
 *    interrupted context's: the runtime code's translations are cold at
 *    every call, and the interrupted domain's are gone when it runs again
 *    on that CPU (the "cr3" refill, with no world switch).
 *  - A flush: flush_area_local() with FLUSH_TLB (a grant unmap's local
 *    flush, a shootdown IPI: sim/xen/flush.c) drops the non-global entries
 *    of whoever is loaded; for HVM it also calls hvm_flush_guest_tlbs() ->
 *    hvm_asid_flush_core() (xen/arch/x86/hvm/asid.c), which starts a new
 *    ASID generation on the CPU.
 *  - VMX with VPID: an HVM vCPU's translations are tagged with its ASID.
 *    hvm_asid_handle_vmenter() keeps the vCPU's ASID while its generation
 *    is the CPU's current one, so a VM entry after another domain ran does
 *    not flush them: its re-entry re-walks nothing (the pCPU's asid_gen vs
 *    the vCPU's vpid_gen). What other contexts evicted by capacity is not
 *    modelled. Microkernel tasks (sim/l4) are taken as untagged (no PCID).
 * A cold context re-walks `tlb_refill_pages` pages at `page_walk` cycles
 * each (deterministic).
 *
 * Caches: they are physically tagged and survive every switch, but
 * another domain's run evicts part of this one's working set. When the
 * CPU last ran another domain, the next one pays `cache_refill` cycles on
 * average; how much the other evicted varies, so each penalty is drawn
 * uniform in [0, 2 x cache_refill] from the pCPU's stream "pcpuN.refill"
 * of the scenario's seed (the shape is an estimate: docs/cost-profiles.md).
 */
#include "machine.h"

#include <math.h>

/* the runtime services' page tables (efi_l4_pgtable): one address space per machine */
static const char rs_page_tables;

void refill_tlb_lost(struct pcpu *p, const char *why, bool tagged_too)
{
    p->tlb_as = NULL;
    p->tlb_lost = why;
    if (tagged_too)
        p->asid_gen++;
}

/* The address space v runs in: its domain's, or the EFI page tables for a runtime service. */
static const void *as_of(const struct domain *d)
{
    return d->rt ? (const void *)&rs_page_tables : (const void *)d;
}

simtime_t refill_charge(struct pcpu *p, struct vcpu *v, bool rs_entry, simtime_t t)
{
    struct machine *m = p->m;
    const struct domain *d = v->d;
    const void *as = as_of(d);
    const char *why = rs_entry                            ? "rs_entry"
                      : p->cache_dom && p->cache_dom != d ? "world_switch"
                      : p->tlb_lost                       ? p->tlb_lost
                                                          : "cold";
    bool cold;
    if (d->hvm) { /* VPID-tagged guest translations */
        cold = v->vpid_gen != p->asid_gen + 1;
        v->vpid_gen = p->asid_gen + 1;
    } else {
        cold = p->tlb_as != as;
    }
    p->tlb_as = as;
    p->tlb_lost = NULL;
    uint64_t pages = cold ? (uint64_t)m->cost->value[C_TLB_REFILL_PAGES] : 0;
    simtime_t d_ps = (simtime_t)pages * machine_cost(m, C_PAGE_WALK);
    if (p->cache_dom != d) {
        if (p->cache_dom) /* a CPU's first code starts cold too, but has nobody to blame */
            d_ps += (simtime_t)llround(2.0 * (double)machine_cost(m, C_CACHE_REFILL) *
                                       rng_uniform(&p->rng));
        p->cache_dom = d;
    }
    if (!d_ps)
        return t;
    span_cpu(m, p->id, SPAN_REFILL, vcpu_trace_req(v), t, t + d_ps, why, (int64_t)pages);
    v->refill_ps += d_ps;
    return t + d_ps;
}
