/*
 * Guest-side test of multi-vCPU PV guests (smp.h, events.c): vCPU bring-up
 * with VCPUOP_initialise / VCPUOP_up, per-vCPU event delivery with
 * EVTCHNOP_bind_vcpu, and spinlocks under contention. One domain with
 * vcpus >= 2 (workloads/scenarios/smp.lua); every check is a GCHECK.
 *
 *   bring-up: VCPUOP_up before VCPUOP_initialise is -EINVAL, a second
 *             initialise -EEXIST, a vCPU past the last -ENOENT; smp_init
 *             brings all of them up and VCPUOP_is_up says so.
 *   binding:  a loopback channel (alloc_unbound to ourselves + bind to it)
 *             bound to vCPU k: its handler runs on vCPU k (smp_id), and
 *             EVTCHNOP_status reports vcpu k. Bad vCPU or port: -ENOENT;
 *             the per-vCPU VIRQ_TIMER cannot move: -EINVAL.
 *   IPIs:     EVTCHNOP_bind_ipi to vCPU k: a send from vCPU 0 runs the
 *             handler on vCPU k; EVTCHNOP_status says ipi, vcpu k; the port
 *             cannot move (bind_vcpu -EINVAL); a vCPU past the last -ENOENT.
 *   locks:    every secondary vCPU adds to one counter ROUNDS times with a
 *             read / hypercall / write critical section (the hypercall ends
 *             the slice in the middle, so the vCPUs really interleave):
 *             under the lock no update is lost, and contention was seen.
 */
#include "guest.h"
#include "smp.h"

#include <xen/vcpu.h>
#include <xen/version.h>

#define ROUNDS 200

static volatile unsigned ran_on = ~0u, runs;
static evtchn_port_t work_port, work_send, back_port, back_send;
static volatile unsigned long counter;
static volatile unsigned finished;
static spinlock_t counter_lock = SPINLOCK_INIT;
static volatile int mode; /* 0: record the vCPU; 1: add to the counter */

static void back_handler(evtchn_port_t port, void *data)
{
    (void)port;
    (void)data;
}

static void work_handler(evtchn_port_t port, void *data)
{
    (void)port;
    (void)data;
    if (mode == 0) {
        ran_on = smp_id();
    } else {
        for (unsigned i = 0; i < ROUNDS; i++) {
            int f = spin_lock_irqsave(&counter_lock);
            unsigned long c = counter;
            HYPERVISOR_xen_version(XENVER_version, NULL); /* ends the slice inside the lock */
            counter = c + 1;
            spin_unlock_irqrestore(&counter_lock, f);
        }
        __atomic_fetch_add(&finished, 1u, __ATOMIC_SEQ_CST);
    }
    __atomic_fetch_add(&runs, 1u, __ATOMIC_SEQ_CST);
    evtchn_send(back_send); /* wake vCPU 0 */
}

/* A channel to ourselves: *recv gets the events, *send raises them. */
static int loopback(evtchn_port_t *recv, evtchn_port_t *send)
{
    int rc = evtchn_alloc_unbound(xen_domid, recv);
    return rc ? rc : evtchn_bind_interdomain(xen_domid, *recv, send);
}

static void test_bringup(unsigned n)
{
    struct vcpu_guest_context dummy;
    memset(&dummy, 0, sizeof(dummy));
    GCHECK_EQ(HYPERVISOR_vcpu_op(VCPUOP_up, 1, NULL), -XEN_EINVAL);
    GCHECK_EQ(HYPERVISOR_vcpu_op(VCPUOP_is_up, 1, NULL), 0);
    GCHECK_EQ(HYPERVISOR_vcpu_op(VCPUOP_is_up, n, NULL), -XEN_ENOENT);
    GCHECK_EQ(smp_init(n), n);
    for (unsigned k = 0; k < n; k++)
        GCHECK_EQ(HYPERVISOR_vcpu_op(VCPUOP_is_up, k, NULL), 1);
    GCHECK_EQ(HYPERVISOR_vcpu_op(VCPUOP_initialise, 1, &dummy), -XEN_EEXIST);
}

static void test_binding(unsigned n)
{
    for (unsigned k = 0; k < n; k++) {
        GCHECK_EQ(evtchn_bind_vcpu(work_port, k), 0);
        struct evtchn_status st;
        GCHECK_EQ(evtchn_status(DOMID_SELF, work_port, &st), 0);
        GCHECK_EQ(st.vcpu, k);
        unsigned before = runs;
        evtchn_send(work_send);
        WAIT_UNTIL(runs != before);
        GCHECK_EQ(ran_on, k);
    }
    GCHECK_EQ(evtchn_bind_vcpu(work_port, n), -XEN_ENOENT);
    GCHECK_EQ(evtchn_bind_vcpu(4000, 0), -XEN_ENOENT);
    evtchn_port_t timer;
    GCHECK_EQ(evtchn_bind_virq(VIRQ_TIMER, &timer), 0);
    GCHECK_EQ(evtchn_bind_vcpu(timer, 1), -XEN_EINVAL);
    evtchn_close(timer);
}

/* A port per secondary vCPU that vCPU 0 kicks it with (Linux's per-CPU IPI ports). */
static void test_ipi(unsigned n)
{
    for (unsigned k = 1; k < n; k++) {
        evtchn_port_t ipi;
        if (!GCHECK_EQ(evtchn_bind_ipi(k, &ipi), 0))
            return;
        struct evtchn_status st;
        GCHECK_EQ(evtchn_status(DOMID_SELF, ipi, &st), 0);
        GCHECK_EQ(st.status, EVTCHNSTAT_ipi);
        GCHECK_EQ(st.vcpu, k);
        GCHECK_EQ(evtchn_bind_vcpu(ipi, 0), -XEN_EINVAL);
        evtchn_attach(ipi, work_handler, NULL);
        unsigned before = runs;
        ran_on = ~0u;
        evtchn_send(ipi);
        WAIT_UNTIL(runs != before);
        GCHECK_EQ(ran_on, k);
        GCHECK_EQ(evtchn_unbind(ipi), 0);
    }
    evtchn_port_t bad;
    GCHECK_EQ(evtchn_bind_ipi(n, &bad), -XEN_ENOENT);
}

/* Each secondary vCPU runs the counter loop from its own channel. */
static void test_locks(unsigned n)
{
    evtchn_port_t recv[SMP_MAX_CPUS], send[SMP_MAX_CPUS];
    mode = 1;
    for (unsigned k = 1; k < n; k++) {
        if (!GCHECK_EQ(loopback(&recv[k], &send[k]), 0))
            return;
        evtchn_bind_vcpu(recv[k], k);
        evtchn_attach(recv[k], work_handler, NULL);
    }
    unsigned long contended = spin_contended;
    for (unsigned k = 1; k < n; k++)
        evtchn_send(send[k]);
    WAIT_UNTIL(finished == n - 1);
    GCHECK_EQ(counter, (unsigned long)ROUNDS * (n - 1));
    GCHECK(n < 3 || spin_contended > contended);
    printf("smp: %u vCPUs added %lu under one lock, %lu contended acquisitions\n", n - 1, counter,
           spin_contended - contended);
}

int app_main(void)
{
    unsigned n = smp_possible();
    printf("smp: %u vCPUs\n", n);
    if (!GCHECK(n >= 2))
        return 1;
    if (!GCHECK_EQ(loopback(&work_port, &work_send), 0) ||
        !GCHECK_EQ(loopback(&back_port, &back_send), 0))
        return 1;
    evtchn_attach(back_port, back_handler, NULL);
    evtchn_attach(work_port, work_handler, NULL);
    test_bringup(n);
    test_binding(n);
    test_ipi(n);
    test_locks(n);
    return 0;
}
