/*
 * vCPU bring-up and spinlocks (see smp.h).
 */
#include "smp.h"

#include <xen/vcpu.h>

#include "alloc.h"
#include "console.h"
#include "events.h"
#include "hypercall.h"
#include "str.h"

unsigned smp_ncpus = 1;
volatile unsigned long spin_contended;

extern char hypervisor_callback[];

unsigned smp_possible(void)
{
    unsigned n = 1;
    while (n < SMP_MAX_CPUS && HYPERVISOR_vcpu_op(VCPUOP_is_up, n, NULL) >= 0)
        n++;
    return n;
}

/* A secondary vCPU: its work is the handlers of the ports bound to it. */
static void __noreturn secondary_start(unsigned id)
{
    (void)id;
    irq_enable();
    for (;;)
        events_wait();
}

static struct vcpu_guest_context ctxt;

static int bring_up(unsigned id)
{
    /* a stack aligned to its size: allocate twice the size and align inside */
    char *raw = page_alloc(2 * CPU_STACK_SIZE / PAGE_SIZE);
    if (!raw)
        return -XEN_ENOMEM;
    char *stack = (char *)ALIGN_UP((unsigned long)raw, CPU_STACK_SIZE);
    ((struct cpu_area *)stack)->id = id;
    memset(&ctxt, 0, sizeof(ctxt));
    ctxt.flags = VGCF_in_kernel | VGCF_online;
    ctxt.user_regs.rip = (unsigned long)secondary_start;
    ctxt.user_regs.rsp = (unsigned long)stack + CPU_STACK_SIZE - 8; /* as after a call */
    ctxt.user_regs.rdi = id;
    ctxt.event_callback_eip = (unsigned long)hypervisor_callback;
    int rc = HYPERVISOR_vcpu_op(VCPUOP_initialise, id, &ctxt);
    if (!rc)
        rc = HYPERVISOR_vcpu_op(VCPUOP_up, id, NULL);
    if (rc)
        page_free(raw, 2 * CPU_STACK_SIZE / PAGE_SIZE);
    return rc;
}

unsigned smp_init(unsigned want)
{
    unsigned n = smp_possible();
    if (want > n)
        want = n;
    while (smp_ncpus < want) {
        int rc = bring_up(smp_ncpus);
        if (rc) {
            printf("smp: vCPU %u did not come up: %d\n", smp_ncpus, rc);
            break;
        }
        smp_ncpus++;
    }
    return smp_ncpus;
}

int spin_lock_irqsave(spinlock_t *l)
{
    int f = irq_save();
    while (__atomic_exchange_n(&l->v, 1ul, __ATOMIC_ACQUIRE)) {
        __atomic_fetch_add(&spin_contended, 1ul, __ATOMIC_RELAXED);
        HYPERVISOR_sched_op(SCHEDOP_yield, NULL);
    }
    return f;
}

void spin_unlock_irqrestore(spinlock_t *l, int flags)
{
    __atomic_store_n(&l->v, 0ul, __ATOMIC_RELEASE);
    irq_restore(flags);
}
