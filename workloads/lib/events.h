/*
 * Event channels (Xen's 2-level ABI in shared_info), the upcall, virtual
 * time and blocking.
 *
 * Sleeping (VIRQ_TIMER) is for vCPU 0's program context.
 *
 * Every port starts masked (events_init masks them all); a handler is
 * attached with evtchn_attach(), which sets it and then unmasks the port
 * through EVTCHNOP_unmask (Xen re-raises an event that arrived while the
 * port was masked). Handlers run in upcall context: upcalls masked, on the
 * interrupted stack. They must not block, wait, or use xenbus.
 *
 * "irq" below means event delivery for this vCPU (vcpu_info's
 * evtchn_upcall_mask), as in Mini-OS. Waiting follows Xen's rule:
 * SCHEDOP_block re-enables delivery and returns at once if an event is
 * pending, so "disable; check condition; block" loses no wake-up. Use
 * WAIT_UNTIL(cond) for that pattern.
 */
#ifndef GUEST_EVENTS_H
#define GUEST_EVENTS_H

#include "xenif.h"

#define NR_EVTCHN_PORTS (sizeof(xen_ulong_t) * 8 * sizeof(xen_ulong_t) * 8) /* 4096 */

typedef void (*evtchn_handler_t)(evtchn_port_t port, void *data);

extern shared_info_t *shared_info;

void events_init(void);

/* Hypercall wrappers: 0 or a negative Xen errno (-XEN_EINVAL ...). */
int evtchn_alloc_unbound(domid_t remote, evtchn_port_t *port);
int evtchn_bind_interdomain(domid_t remote, evtchn_port_t remote_port, evtchn_port_t *local);
int evtchn_bind_virq(uint32_t virq, evtchn_port_t *port);
int evtchn_close(evtchn_port_t port);
int evtchn_send(evtchn_port_t port);
int evtchn_status(domid_t dom, evtchn_port_t port, struct evtchn_status *st);
/* EVTCHNOP_bind_ipi: a port whose sends raise it on our own vCPU cpu (fixed: no bind_vcpu). */
int evtchn_bind_ipi(unsigned cpu, evtchn_port_t *port);
/* EVTCHNOP_bind_vcpu: port's events go to vCPU cpu (its handler runs there). */
int evtchn_bind_vcpu(evtchn_port_t port, unsigned cpu);
/* The vCPU port notifies. */
unsigned evtchn_cpu(evtchn_port_t port);
/* EVTCHNOP_unmask: clears the mask; a pending event is then delivered. */
int evtchn_unmask(evtchn_port_t port);

/* Local bit operations on shared_info. */
void evtchn_mask(evtchn_port_t port);
void evtchn_clear(evtchn_port_t port); /* clear the pending bit */
int evtchn_is_pending(evtchn_port_t port);
int evtchn_is_masked(evtchn_port_t port);

/* Handler table. */
void evtchn_set_handler(evtchn_port_t port, evtchn_handler_t fn, void *data);
int evtchn_attach(evtchn_port_t port, evtchn_handler_t fn, void *data); /* set + unmask */
void evtchn_detach(evtchn_port_t port);                                 /* mask + clear */
/* Detach, then wait until no vCPU is still inside the port's handler (Linux's free_irq): the
 * handler's data may be freed afterwards. Never from that handler itself. */
void evtchn_detach_sync(evtchn_port_t port);
int evtchn_unbind(evtchn_port_t port); /* detach + close */

/* Event delivery on/off for this vCPU. */
void irq_disable(void);
void irq_enable(void); /* runs handlers for anything that became pending */
int irq_save(void);    /* disable, return previous state */
void irq_restore(int flags);

/* Run port's handler now, as the upcall would (a task on the microkernel, whose
 * interrupts come as IPC rather than upcalls: workloads/l4/). */
void evtchn_run(evtchn_port_t port);
/* Handle every pending unmasked port now (called by the upcall). */
void events_scan(void);
/* Events dispatched to handlers so far. */
extern volatile unsigned long events_handled;

/* SCHEDOP_block: returns with delivery enabled once an event is pending. */
void events_block(void);
/* Block until some event is pending and its handler has run. */
void events_wait(void);
/*
 * Wait until cond holds, blocking between checks. cond is evaluated with
 * delivery disabled (so no wake-up is lost) and must not wait itself.
 */
#define WAIT_UNTIL(cond)                                                                           \
    do {                                                                                           \
        for (;;) {                                                                                 \
            irq_disable();                                                                         \
            if (cond) {                                                                            \
                irq_enable();                                                                      \
                break;                                                                             \
            }                                                                                      \
            events_block();                                                                        \
        }                                                                                          \
    } while (0)

/* Xen system time in ns (vcpu_time_info; updated at each vCPU entry). */
uint64_t time_now_ns(void);
/* VCPUOP_set_singleshot_timer: VIRQ_TIMER at abs_ns. */
int timer_set(uint64_t abs_ns);
/* vCPU 0 wakes by abs_ns at the latest: arms VIRQ_TIMER unless it already fires sooner. */
void timer_wake_by(uint64_t abs_ns);
/*
 * Deferred program-context work (the balloon driver): when vCPU 0's
 * program would block, pending() is asked with delivery off and, if it
 * says so, work() runs with delivery on instead of blocking.
 */
void events_set_idle_work(int (*pending)(void), void (*work)(void));
/*
 * vCPU 0's program context as a schedulable thread beside the handlers:
 * the backend's xenbus work (Linux's xenwatch and xenbus kthreads) must
 * not wait behind the ring and interrupt work its vCPU's handlers do
 * (Linux's per-ring kthreads and the device's completion work). Once
 * events_program_priority() is called, a handler that makes the program
 * context runnable calls events_wake_program(); from then until the
 * program context next blocks, vCPU 0's upcall runs only the handlers of
 * ports marked with evtchn_program_port() and leaves every other port it
 * finds pending masked, as deferred work; blocking unmasks them
 * (EVTCHNOP_unmask, which raises a still-pending event again) and they
 * run. This is CFS's wakeup preemption of a mostly sleeping thread
 * (check_preempt_wakeup; place_entity's sleeper credit): the woken
 * xenwatch runs before the busy kthreads until it sleeps again, waiting
 * for xenstored's reply.
 */
void events_program_priority(void);
void events_wake_program(void);
void evtchn_program_port(evtchn_port_t port);
/* Handler runs deferred so far; wake-ups of the program context so far. */
extern volatile unsigned long events_deferred, events_prog_wakes;
/* Block until system time >= abs_ns (uses VIRQ_TIMER). */
void sleep_until_ns(uint64_t abs_ns);
void sleep_ns(uint64_t ns);

#endif
