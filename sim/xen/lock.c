/*
 * Xen's locks on the I/O path as virtual-time locks (sim/engine/vlock.h).
 *
 * Which lock each operation takes, and in which mode, follows Xen 4.17
 * (the ABI of Debian 12's headers):
 *
 *  - grant table, gt->lock (xen/common/grant_table.c), a per-CPU rwlock:
 *    map_grant_ref and unmap_common take the *granter's* table for reading
 *    (grant_read_lock(rgt)) for their checks and active-entry update --
 *    readers never wait for each other; setup_table takes the write side.
 *    When the mapping domain has IOMMU mappings (gnttab_need_iommu_mapping)
 *    the IOMMU update is made under double_gt_lock(lgt, rgt): both tables
 *    for writing, so one backend's grant operations serialise there.
 *  - maptrack: a handle comes off the mapping vCPU's free list
 *    (_get_maptrack_handle, v->maptrack_freelist_lock) and goes back onto
 *    the list of the vCPU that made the mapping (put_maptrack_handle), so an
 *    unmap on another vCPU contends with that vCPU's maps.
 *  - event channels (xen/common/event_channel.c): evtchn_send takes the
 *    sending channel's rwlock for reading (evtchn_read_lock(lchn)); bind,
 *    close and bind_vcpu take d->event_lock and the channel for writing.
 *  - flush_lock (xen/arch/x86/smp.c, flush_area_mask): global, held from
 *    sending the TLB-flush IPIs to the last acknowledgement (flush.c).
 *  - efi_rs_lock (xen/common/efi/runtime.c, taken in efi_rs_enter): global, held
 *    for a whole runtime-service call (sched.c, platform.c's SetVariable).
 *
 * The hold is the critical section the model charges for the operation
 * (grant_map, grant_unmap, evtchn_send, maptrack_lock, the IOTLB
 * invalidation, the IPI round trip); operations the model charges nothing
 * for hold a lock for no time but still wait for those ahead. The waiting
 * CPU spins: the wait is charged to it and traced as a `lock_wait` span on
 * its track, named after the lock, with the callers still ahead as arg.
 */
#include "machine.h"

simtime_t xen_lock(struct vcpu *v, struct vlock *l, bool shared, const char *name, simtime_t t,
                   simtime_t hold)
{
    unsigned ahead = vlock_ahead(l, t);
    simtime_t wait = shared ? vlock_acquire_shared(l, t, hold) : vlock_acquire(l, t, hold);
    if (wait)
        span_cpu(v->d->m, v->pcpu, SPAN_LOCK_WAIT, vcpu_trace_req(v), t, t + wait, name,
                 (int64_t)ahead);
    return wait;
}
