/*
 * TLB shootdowns after grant unmaps, as Xen performs them.
 *
 * Xen's gnttab_unmap_grant_ref and gnttab_unmap_and_replace
 * (xen/common/grant_table.c) unmap a batch of up to GNTTAB_UNMAP_BATCH_SIZE
 * (32) operations, then call gnttab_flush_tlb(current->domain) once for the
 * batch: flush_tlb_mask(d->dirty_cpumask) (`domain_dirty_cpumask` before
 * Xen 4.10). The mask holds the physical CPUs where the domain's page
 * tables may still be cached: context_switch() (xen/arch/x86/domain.c) sets
 * a CPU's bit when it loads one of the domain's vCPUs, and __context_switch()
 * clears it when another domain's state replaces it -- switching to the idle
 * vCPU is lazy and leaves the bit set.
 *
 * flush_area_mask (xen/arch/x86/smp.c) flushes the local TLB
 * (flush_area_local) if the calling CPU is in the mask; if any other CPU
 * is, it takes the global flush_lock, sends INVALIDATE_TLB_VECTOR to them
 * (send_IPI_mask) and spins until each has cleared its bit in
 * flush_cpumask, which smp_invalidate_interrupt does after its own
 * flush_area_local. So the unmapping CPU pays its local flush plus the
 * wait for the slowest acknowledgement, and every remote CPU in the mask
 * is interrupted for the handler.
 *
 * hopsim's mask: the pCPUs whose loaded context (pcpu.last_dom) is the
 * domain -- exactly what context_switch/__context_switch maintain, since
 * the scheduler charges a world switch where Xen's __context_switch runs --
 * plus the calling CPU. A runtime service (uefi-rt) has no context of its
 * own: efi_rs_enter (xen/common/efi/runtime.c) switches CR3 to the
 * runtime page tables for the call and efi_rs_leave switches it back,
 * which drops their non-global TLB entries, so its mask is the pCPUs where
 * one of its calls is live.
 *
 * Virtual time: the IPI reaches a remote CPU `tlb_ipi_latency` after the
 * local flush. An idle remote CPU runs the handler then (a span on its
 * lane, busy time in its accounting). A remote CPU in the middle of a run
 * slice cannot be interrupted inside the slice (slices execute atomically,
 * docs/architecture.md "Time"), so its handler time is owed and charged at
 * its next entry into the hypervisor (trap or dispatch), traced there. The
 * initiator's wait is what real hardware gives -- IPI latency plus the
 * handler up to its acknowledgement -- whatever the remote CPU was doing.
 * Remote spans carry no request: they are interference, not a hop of it.
 */
#include "machine.h"

uint64_t flush_dirty_mask(const struct domain *d, int self)
{
    const struct machine *m = d->m;
    uint64_t mask = 1ull << self;
    for (int i = 0; i < m->npcpus; i++) {
        if (d->rt) {
            for (int k = 0; k < d->nvcpus; k++)
                if (d->vcpus[k]->in_rs_call && d->vcpus[k]->pcpu == i)
                    mask |= 1ull << i;
        } else if (m->pcpus[i].last_dom == d) {
            mask |= 1ull << i;
        }
    }
    return mask;
}

/* The flush IPI reaches remote CPU p at `t`. */
static void remote_flush(struct machine *m, struct pcpu *p, int from, simtime_t t)
{
    simtime_t h = machine_cost(m, C_TLB_IPI_HANDLER);
    p->flush_ipis++;
    refill_tlb_lost(p, "flush", true); /* flush_area_local in smp_invalidate_interrupt */
    if (p->busy) {
        p->ipi_debt += h; /* inside a slice or before a queued dispatch: at its next trap */
        return;
    }
    if (t < p->idle_since)
        t = p->idle_since;
    span_cpu(m, p->id, SPAN_TLB_FLUSH, HOPSIM_NOREQ, t, t + h, "flush IPI", from);
    acct_open(p, t);
    acct_close(p, t + h, NULL, 0);
    p->idle_since = t + h;
}

simtime_t flush_tlb_domain(struct vcpu *v, uint64_t req, simtime_t t)
{
    struct domain *d = v->d;
    struct machine *m = d->m;
    uint64_t mask = flush_dirty_mask(d, v->pcpu), remote = mask & ~(1ull << v->pcpu);
    simtime_t local = machine_cost(m, C_TLB_FLUSH);
    span_cpu(m, v->pcpu, SPAN_TLB_FLUSH, req, t, t + local, "local", 0);
    refill_tlb_lost(&m->pcpus[v->pcpu], "flush", true);
    d->tlb_flushes++;
    if (!remote)
        return local;
    /* the global flush_lock is held from sending the IPIs to the last acknowledgement */
    simtime_t wait = machine_cost(m, C_TLB_IPI_LATENCY) + machine_cost(m, C_TLB_IPI_HANDLER);
    simtime_t spin = xen_lock(v, &m->flush_lock, false, "flush_lock", t + local, wait);
    simtime_t sent = t + local + spin;
    int n = 0;
    for (int i = 0; i < m->npcpus; i++)
        if (remote >> i & 1) {
            remote_flush(m, &m->pcpus[i], v->pcpu, sent + machine_cost(m, C_TLB_IPI_LATENCY));
            n++;
        }
    /* spin until the last remote handler has cleared its bit in flush_cpumask */
    span_cpu(m, v->pcpu, SPAN_TLB_FLUSH, req, sent, sent + wait, "wait for acks", n);
    d->tlb_remote_cpus += (uint64_t)n;
    return local + spin + wait;
}

simtime_t flush_take_debt(struct pcpu *p, simtime_t t)
{
    simtime_t debt = p->ipi_debt;
    if (debt) {
        span_cpu(p->m, p->id, SPAN_TLB_FLUSH, HOPSIM_NOREQ, t, t + debt, "flush IPI", -1);
        p->ipi_debt = 0;
    }
    return debt;
}
