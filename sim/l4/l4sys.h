/*
 * The microkernel placed in the machine (`l4-vmm`, docs/l4.md): domains of
 * mode "l4" are tasks with one thread each; an HVM domain with a `vmm` is
 * a VM whose vCPU is a kernel thread and whose exits are calls to that
 * task's thread (the user-level VMM). The tasks call the kernel with the
 * system call of include/hopsim/l4.h; the hardware interrupts of the
 * devices a task owns reach it as IPC once it attached them.
 *
 * Time and traces: every message transfer is an `ipc` span (plus `map`
 * for the pages a flexpage mapped) on the CPU that made it, priced by
 * the kernel model (`l4_ipc`, `l4_map_page`); an exit's round trip through
 * the VMM is a `vmm_exit` span, the VMM driving its VM's interrupt line
 * an `inject` span.
 */
#ifndef HOPSIM_L4SYS_H
#define HOPSIM_L4SYS_H

#include <hopsim/l4.h>

#include "machine.h"

/* After the domains are built and numbered: the kernel, a task per l4 domain and VM. */
int l4sys_setup(struct machine *m, char *err, size_t errlen);
void l4sys_destroy(struct machine *m);
/* The system call (hypercall-page entry L4_SYSCALL_NR): rdi op, rsi the UTCB. */
long l4sys_call(struct vcpu *v, uint64_t op, uint64_t utcb, simtime_t now, simtime_t *cost,
                enum hc_action *act);
/* A VM's exit (after its hardware cost *cost): a call to its VMM's thread. */
enum hc_action l4sys_exit(struct vcpu *v, simtime_t now, simtime_t *cost);
/* An interrupt for port `port` of task d: true when it went as IPC to an attached thread. */
bool l4sys_irq(struct domain *d, uint32_t port, simtime_t when, uint64_t req);
/* A task or VM died: its task is deleted (a VMM's VM dies with it). */
void l4sys_domain_dead(struct domain *d);

#endif
