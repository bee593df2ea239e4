/*
 * Several vCPUs in one guest: bring-up, the current vCPU's id, spinlocks.
 *
 * Bring-up is Xen PV's (Linux's xen_cpu_up / cpu_initialize_context):
 * for each further vCPU the guest fills a vcpu_guest_context (entry point,
 * stack, event callback) and makes VCPUOP_initialise then VCPUOP_up. The
 * number of vCPUs the domain has is found as Linux's xen_fill_possible_map
 * does, with VCPUOP_is_up answering -ENOENT past the last one.
 *
 * Every vCPU runs on a CPU_STACK_SIZE stack aligned to its size; the
 * stack's lowest bytes hold the vCPU's id (struct cpu_area), so
 * smp_id() is a mask of %rsp -- the old Linux current_thread_info trick.
 * vCPU 0's stack is the runtime stack in start.S (zeroed .bss: id 0).
 * Upcalls run on the interrupted stack, so they see the right id too.
 *
 * A secondary vCPU enables event delivery and waits for events: the
 * handlers bound to it (evtchn_bind_vcpu) are its work. Program context
 * (app_main, xenbus, sleeping) stays on vCPU 0.
 *
 * Spinlocks: a test-and-set lock taken with this vCPU's event delivery
 * off (so a handler on the same vCPU can never spin on its own holder).
 * A vCPU that finds the lock held gives its pCPU back with SCHEDOP_yield
 * before trying again, as Linux's paravirt spinlocks hand a contended
 * wait to the hypervisor (xen_qlock_wait polls an event channel); the
 * waiting is charged as hypercalls on the waiter's CPU and shows in its
 * trace lane.
 */
#ifndef GUEST_SMP_H
#define GUEST_SMP_H

#include "arch.h"

#define SMP_MAX_CPUS 32
#define CPU_STACK_SIZE (128 * 1024) /* start.S's RUNTIME_STACK_SIZE */

struct cpu_area {
    unsigned id;
};

static inline unsigned smp_id(void)
{
    unsigned long sp;
    __asm__ volatile("movq %%rsp, %0" : "=r"(sp));
    return ((const struct cpu_area *)(sp & ~(unsigned long)(CPU_STACK_SIZE - 1)))->id;
}

/* vCPUs brought up so far (1 until smp_init). */
extern unsigned smp_ncpus;

/* vCPUs the domain has (VCPUOP_is_up probing). */
unsigned smp_possible(void);
/* Bring up vCPUs 1 .. want-1 (clamped to what the domain has): the number online. */
unsigned smp_init(unsigned want);

typedef struct {
    volatile unsigned long v;
} spinlock_t;
#define SPINLOCK_INIT                                                                              \
    {                                                                                              \
        0                                                                                          \
    }

/* Take l with this vCPU's event delivery off; returns the previous delivery state. */
int spin_lock_irqsave(spinlock_t *l);
void spin_unlock_irqrestore(spinlock_t *l, int flags);
/* Times a vCPU found a lock held and yielded (contention seen by this domain). */
extern volatile unsigned long spin_contended;

#endif
