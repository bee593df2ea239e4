/*
 * The scheduler: vCPUs on physical CPUs.
 *
 * Each pCPU has a FIFO run queue of its vCPUs (a vCPU stays on the pCPU
 * the scenario placed it on). A pCPU alternates between two events:
 * dispatch (pick the head vCPU, charge a world switch if the loaded domain
 * changes, deliver a pending upcall, run one slice) and trap (handle what
 * ended the slice at slice start + executed cycles). A woken vCPU goes to
 * the head of its queue, like Xen credit's BOOST; it does not preempt a
 * slice already running (slices are at most `sched_slice` long).
 *
 * Waking an idle pCPU takes time before it runs anything: from another
 * pCPU an IPI and the C-state exit (`wake_ipi`); by a device interrupt
 * routed to it, the C-state exit alone (`idle_exit`; Xen moves a pirq's
 * affinity to the vCPU it is bound to, pirq_set_affinity, and the MSI's own
 * flight is the device's `msi_latency`). The pCPU is idle until the wake
 * completes: a halted CPU's exit latency is idle time to Xen (the idle vCPU
 * runs until schedule() switches) and to Linux (tick_nohz_stop_idle at
 * irq_enter), so the busy interval opens when the handler starts.
 */
#include "machine.h"
#include "hvm.h"

#include <stdlib.h>

#include <unicorn/unicorn.h>

/* every vCPU has its vcpu_info in shared_info (no VCPUOP_register_vcpu_info placement) */
_Static_assert(MAX_VCPUS <= XEN_LEGACY_MAX_VCPUS, "a vCPU beyond shared_info's vcpu_info[]");

static void pcpu_dispatch(void *opaque, simtime_t now);
static void pcpu_trap(void *opaque, simtime_t now);

static void rq_push(struct pcpu *p, struct vcpu *v, bool head)
{
    if (v->queued)
        return;
    v->queued = true;
    v->rq_next = NULL;
    if (!p->rq_head) {
        p->rq_head = p->rq_tail = v;
    } else if (head) {
        v->rq_next = p->rq_head;
        p->rq_head = v;
    } else {
        p->rq_tail->rq_next = v;
        p->rq_tail = v;
    }
}

static struct vcpu *rq_pop(struct pcpu *p)
{
    struct vcpu *v = p->rq_head;
    if (!v)
        return NULL;
    p->rq_head = v->rq_next;
    if (!p->rq_head)
        p->rq_tail = NULL;
    v->queued = false;
    v->rq_next = NULL;
    return v;
}

static void pcpu_schedule(struct pcpu *p, struct machine *m, simtime_t when)
{
    if (p->busy || !p->rq_head)
        return;
    if (when < p->idle_since)
        when = p->idle_since;
    p->busy = true;
    evq_schedule(&m->q, when, pcpu_dispatch, p);
}

uint64_t vcpu_trace_req(const struct vcpu *v)
{
    struct trace *tr = v->d->m->tr;
    uint64_t r = v->ctx_req;
    if (r == HOPSIM_NOREQ)
        return r;
    if (trace_req_place(tr, r) == (int)v->d->place)
        return r;
    int hop = trace_req_hop(tr, r);
    if (r == v->event_req && (hop == HOP_H3 || hop == HOP_H7))
        return r;
    return HOPSIM_NOREQ;
}

void sched_wake(struct vcpu *v, simtime_t when)
{
    struct machine *m = v->d->m;
    if (v->d->dead || v->state != VCPU_BLOCKED)
        return;
    /* an HVM vCPU waiting for its ioreq's answer (or its VMM's), a task's vCPU inside a
     * microkernel system call, or not yet started by the toolstack */
    if (v->io.pending || v->l4_wait || (v->d->hvmd && v->d->hvmd->paused))
        return;
    v->state = VCPU_RUNNABLE;
    struct pcpu *p = &m->pcpus[v->pcpu];
    rq_push(p, v, true);
    if (!p->busy) {
        if (when < p->idle_since)
            when = p->idle_since; /* it is still handling an IPI (flush.c) */
        bool irq = m->in_device_irq;
        simtime_t wake = machine_cost(m, irq ? C_IDLE_EXIT : C_WAKE_IPI);
        acct_open(p, when + wake); /* the CPU is halted until then: idle, not busy */
        span_cpu(m, p->id, irq ? SPAN_WAKE : SPAN_IPI, vcpu_trace_req(v), when, when + wake,
                 irq ? "idle exit" : "wake", v->d->domid);
        pcpu_schedule(p, m, when + wake);
    }
}

void sched_block(struct vcpu *v)
{
    v->state = VCPU_BLOCKED;
}

/* Publish system time to the vCPU (Xen's vcpu_time_info version protocol). */
static void update_time(struct vcpu *v, simtime_t t)
{
    if (!v->d->shinfo)
        return;
    struct vcpu_time_info *ti = &v->d->shinfo->vcpu_info[v->id].time;
    ti->version++;
    ti->system_time = t / PS_PER_NS;
    ti->tsc_timestamp = 0;
    ti->tsc_to_system_mul = 0;
    ti->tsc_shift = 0;
    ti->version++;
}

/*
 * The runtime-service call path (Xen's efi_rs_enter/efi_rs_leave): the
 * hypervisor takes the global runtime-services lock, saves the FPU and
 * switches CR3 to the runtime services' page tables, runs the service on
 * this CPU, and undoes it when the service returns (blocks). No world
 * switch: the interrupted domain's context stays loaded underneath.
 *
 * efi_rs_lock is one lock for every runtime call on the machine (the
 * backend's on any of its vCPUs, the OS's SetVariable): a CPU whose call
 * finds it held spins in efi_rs_enter's spin_lock until it is handed over
 * (FIFO), busy and running nothing else; the spin is a `lock_wait` span.
 */

/* efi_rs_lock is handed to the call spinning on p at t. */
static void rs_granted(void *opaque, simtime_t t, simtime_t since)
{
    struct pcpu *p = opaque;
    struct vcpu *v = p->rs_spinner;
    span_cpu(p->m, p->id, SPAN_LOCK_WAIT, v ? vcpu_trace_req(v) : HOPSIM_NOREQ, since, t,
             "efi_rs_lock", 0);
    p->rs_granted = true;
    evq_schedule(&p->m->q, t, pcpu_dispatch, p);
}

/* v's call takes efi_rs_lock at *t: false if the CPU must spin (rs_granted resumes it). */
static bool rs_lock(struct pcpu *p, struct vcpu *v, simtime_t *t)
{
    struct machine *m = v->d->m;
    if (p->rs_granted) {
        p->rs_granted = false;
        return true;
    }
    simtime_t at = vmutex_lock(&m->efi_rs_lock, *t, rs_granted, p);
    if (at == SIMTIME_NEVER) {
        p->rs_spinner = v;
        return false;
    }
    if (at > *t) /* the last holder's release lies ahead in virtual time */
        span_cpu(m, p->id, SPAN_LOCK_WAIT, vcpu_trace_req(v), *t, at, "efi_rs_lock", 0);
    *t = at;
    return true;
}
/* One charged, traced step of the call path; returns its end. */
static simtime_t rs_step(struct pcpu *p, struct vcpu *v, uint16_t kind, const char *what,
                         enum cost_id c, simtime_t t)
{
    simtime_t d = machine_cost(v->d->m, c);
    span_cpu(v->d->m, p->id, kind, vcpu_trace_req(v), t, t + d, what, 0);
    return t + d;
}

static simtime_t rs_enter(struct pcpu *p, struct vcpu *v, simtime_t t)
{
    if (v->in_rs_call)
        return t; /* resumed after a budget stop inside the same call */
    v->in_rs_call = true;
    v->rs_call_start = t;
    t = rs_step(p, v, SPAN_RS_ENTER, "efi_rs_lock", C_RS_LOCK, t);
    t = rs_step(p, v, SPAN_RS_ENTER, "fpu_save", C_FPU_SAVE, t);
    return rs_step(p, v, SPAN_RS_ENTER, "cr3_switch", C_CR3_SWITCH, t);
}

/* Returns the time the exit path takes. */
static simtime_t rs_leave(struct pcpu *p, struct vcpu *v, simtime_t t0)
{
    simtime_t t = rs_step(p, v, SPAN_RS_LEAVE, "cr3_switch", C_CR3_SWITCH, t0);
    t = rs_step(p, v, SPAN_RS_LEAVE, "fpu_restore", C_FPU_RESTORE, t);
    t = rs_step(p, v, SPAN_RS_LEAVE, "efi_rs_unlock", C_RS_LOCK, t);
    span_cpu(v->d->m, p->id, SPAN_RS_CALL, v->ctx_req, v->rs_call_start, t, v->d->name, 0);
    v->in_rs_call = false;
    refill_tlb_lost(p, "cr3", false); /* the EFI and the interrupted context's: refill.c */
    vmutex_unlock(&v->d->m->efi_rs_lock, t);
    return t - t0;
}

/*
 * The dispatch event up to the slice: pick the head vCPU, charge the world
 * switch and the event delivery, publish the time. Returns the vCPU to
 * run, or NULL when the pCPU goes idle or waits (handled here).
 */
/*
 * The next vCPU to run on p. A runtime call in progress holds efi_rs_lock
 * and, like Xen's, is not preempted on its CPU; a call that would have to
 * wait for it on the same CPU goes behind it instead of spinning there.
 */
static struct vcpu *next_vcpu(struct pcpu *p)
{
    struct vcpu *v = p->rs_spinner;
    if (v) {
        p->rs_spinner = NULL;
        return v;
    }
    struct vcpu *first = NULL;
    while ((v = rq_pop(p)) && v->d->rt && !v->in_rs_call && v->d->m->efi_rs_lock.held &&
           v->d->m->efi_rs_lock.owner == p && v != first) {
        if (!first)
            first = v;
        rq_push(p, v, false);
    }
    return v;
}

static struct vcpu *dispatch_prepare(struct pcpu *p, simtime_t now)
{
    struct vcpu *v = next_vcpu(p);
    if (p->ipi_debt) {
        /* flush IPIs that arrived while the dispatch was queued */
        acct_open(p, now);
        now += flush_take_debt(p, now);
    }
    if (!v) {
        p->busy = false;
        p->idle_since = now;
        acct_close(p, now, NULL, 0);
        return NULL;
    }
    struct machine *m = v->d->m;
    simtime_t t = now;
    acct_open(p, now);
    if (v->d->rt && !v->in_rs_call && !v->d->dead && !rs_lock(p, v, &t))
        return NULL; /* spinning for efi_rs_lock: busy, nothing else runs here */
    bool rs_entry = v->d->rt && !v->in_rs_call;
    if (v->d->rt) {
        t = rs_enter(p, v, t);
    } else {
        /* on the microkernel a switch between its tasks and VMs is part of the IPC (an
         * address-space switch, l4_ipc) or of the VM exit and entry (vmexit_roundtrip) */
        bool l4 =
            p->last_dom && (p->last_dom->l4 || p->last_dom->l4_vmm) && (v->d->l4 || v->d->l4_vmm);
        if (p->last_dom && p->last_dom != v->d && !l4) {
            simtime_t ws = machine_cost(m, C_WORLD_SWITCH);
            span_cpu(m, p->id, SPAN_WORLD_SWITCH, vcpu_trace_req(v), t, t + ws, v->d->name,
                     v->d->domid);
            t += ws;
        }
        p->last_dom = v->d;
    }
    if (vcpu_deliver_upcall(v)) {
        if (v->event_req != HOPSIM_NOREQ) /* the event that arrived while it ran (evtchn.c) */
            v->ctx_req = v->event_req;
        /* a native kernel takes a hardware interrupt, a PV guest an injected upcall; a runtime
         * service learns its events from the call itself (the call path is charged above) */
        simtime_t inj = v->d->rt       ? 0
                        : v->d->native ? machine_cost(m, C_IRQ_NATIVE)
                                       : machine_cost(m, C_IRQ_INJECT);
        span_cpu(m, p->id, SPAN_EVENT_DELIVERY, vcpu_trace_req(v), t, t + inj, v->d->name,
                 v->d->domid);
        t += inj;
    }
    if (v->d->dead) {
        p->busy = false;
        p->idle_since = t;
        acct_close(p, t, NULL, 0);
        v->refill_ps = 0;
        pcpu_schedule(p, m, t);
        return NULL;
    }
    t = refill_charge(p, v, rs_entry, t);
    v->event_req = HOPSIM_NOREQ; /* the event has arrived */
    v->state = VCPU_RUNNING;
    p->current = v;
    v->slice_start = t;
    update_time(v, t);
    return v;
}

static uint64_t slice_budget(const struct machine *m)
{
    uint64_t budget = (uint64_t)((double)m->slice_ps * m->hz / 1e12 * 1000.0);
    return budget ? budget : 1000;
}

static void run_slice(struct pcpu *p, struct vcpu *v)
{
    vcpu_run_slice(v, slice_budget(v->d->m));
    if (v->trap != TRAP_HANDLED) /* else sched_fast_trap handled what ended the slice */
        evq_schedule(&v->d->m->q, vcpu_now(v), pcpu_trap, p);
}

/* The slice a dispatch prepared, at the time the world switch and event delivery end. */
static void pcpu_run(void *opaque, simtime_t now)
{
    struct pcpu *p = opaque;
    struct vcpu *v = p->current;
    if (v->d->dead) { /* killed while the CPU switched to it */
        p->current = NULL;
        p->busy = false;
        p->idle_since = now;
        acct_close(p, now, NULL, 0);
        pcpu_schedule(p, v->d->m, now);
        return;
    }
    run_slice(p, v);
}

/*
 * A slice runs in one piece, ahead of the event queue: everything its vCPU
 * does happens in the simulation before the events due meanwhile. It starts
 * as an event at its own start, after the world switch, the runtime-service
 * entry or the event delivery, so that what other CPUs did before that time
 * has happened when it begins (a slice started at the dispatch would run a
 * world switch's microseconds early, and take a lock or fill a device queue
 * entry before work another vCPU did earlier in virtual time).
 */
static void pcpu_dispatch(void *opaque, simtime_t now)
{
    struct pcpu *p = opaque;
    struct vcpu *v = dispatch_prepare(p, now);
    if (!v)
        return;
    if (v->slice_start > now)
        evq_schedule(&v->d->m->q, v->slice_start, pcpu_run, p);
    else
        run_slice(p, v);
}

/* After a hypercall or halt the vCPU goes on, blocks or yields. */
static void requeue(struct pcpu *p, struct vcpu *v, enum hc_action a)
{
    switch (a) {
    case HC_CONTINUE:
        v->state = VCPU_RUNNABLE;
        rq_push(p, v, true);
        break;
    case HC_YIELD:
        v->state = VCPU_RUNNABLE;
        rq_push(p, v, false);
        break;
    case HC_BLOCK:
        /* a vCPU that blocks is done with what it was doing: what wakes it next says whom it
         * works for (an event's request, or a guest mark) */
        v->state = VCPU_BLOCKED;
        v->ctx_req = HOPSIM_NOREQ;
        break;
    case HC_DEAD:
        break;
    }
}

/* hlt: block with event delivery enabled, as SCHEDOP_block does. */
static enum hc_action halt_action(struct vcpu *v)
{
    if (!v->d->shinfo)
        return HC_BLOCK;
    struct vcpu_info *vi = &v->d->shinfo->vcpu_info[v->id];
    vi->evtchn_upcall_mask = 0;
    return vi->evtchn_upcall_pending ? HC_CONTINUE : HC_BLOCK;
}

/* The trap event: handle what ended the slice; returns when the pCPU may dispatch again. */
static simtime_t trap_handle(struct pcpu *p, simtime_t now)
{
    struct vcpu *v = p->current;
    struct machine *m = v->d->m;
    simtime_t cost = 0;
    enum hc_action a = HC_CONTINUE;
    p->current = NULL;
    platform_sync_bars(m);
    switch (v->trap) {
    case TRAP_HYPERCALL:
        a = hypercall_dispatch(v, now, &cost);
        break;
    case TRAP_BUDGET:
        a = v->d->rt && v->in_rs_call ? HC_CONTINUE : HC_YIELD; /* a runtime call runs on */
        break;
    case TRAP_IO:
        a = hvm_exit(v, now, &cost);
        break;
    case TRAP_HALT:
        a = halt_action(v);
        break;
    case TRAP_PRIVOP:
        a = pv_trap_gp(v, now, &cost);
        break;
    case TRAP_FAULT:
    case TRAP_NONE:
    case TRAP_HANDLED:
        domain_kill(v->d, SHUTDOWN_crash, v->fault[0] ? v->fault : "unknown trap");
        a = HC_DEAD;
        break;
    }
    if (v->d->dead)
        a = HC_DEAD;
    if (v->d->rt && v->in_rs_call && (a == HC_BLOCK || a == HC_DEAD))
        cost += rs_leave(p, v, now + cost);
    cost += flush_take_debt(p, now + cost); /* flush IPIs that came during the slice */
    requeue(p, v, a);
    p->busy = false;
    p->idle_since = now + cost;
    acct_close(p, now + cost, v->d, now - v->slice_start + v->refill_ps);
    v->refill_ps = 0;
    return now + cost;
}

static void pcpu_trap(void *opaque, simtime_t now)
{
    struct pcpu *p = opaque;
    struct machine *m = p->current->d->m;
    pcpu_schedule(p, m, trap_handle(p, now));
}

/* An event fired without the queue (sched_fast_trap): its clock, its count, the progress line. */
static void fire_inline(struct machine *m, simtime_t t)
{
    m->q.now = t;
    m->q.fired++;
    if (m->progress && (m->q.fired & 0xffff) == 0)
        m->progress(m);
}

/*
 * A hypercall handled without stopping the engine (from vcpu.c's syscall
 * hook, v->trap == TRAP_HYPERCALL, RIP still at the syscall). The engine
 * runs ahead of the event queue: a slice starts at its dispatch and its
 * trap is an event at slice start + executed cycles. When no event is
 * due before that trap (the queue's earliest is later), firing the trap
 * event now is what the queue would do next; and when the same vCPU is
 * then dispatched again before any other event, that dispatch would follow
 * too. Both are done here, in the queue's order (its clock and event count
 * advance as if they had fired), and the guest goes on in the same engine
 * with a new slice: nothing in the simulation differs, only the engine
 * stops and restarts less (docs/host-speed.md). Only calls that neither
 * move the vCPU's RIP nor change Unicorn's memory map qualify: an event
 * channel send, a physical IRQ's EOI and grant-table operations; anything
 * else, or a dispatch that would deliver an upcall (it moves RIP), a world
 * switch, a runtime service, an HVM guest, the end of the run or its time
 * limit, takes the ordinary path. A dispatch that charges a refill penalty
 * (a grant unmap's flush left the TLB cold: refill.c) starts the slice
 * after it, as pcpu_dispatch does: inline when no event is due before. Returns true if the guest
 * goes on; false with v->trap TRAP_HYPERCALL (not handled: stop as always) or TRAP_HANDLED
 * (handled, its dispatch is an event: stop, and schedule no trap).
 */
bool sched_fast_trap(struct vcpu *v)
{
    struct domain *d = v->d;
    struct machine *m = d->m;
    struct pcpu *p = &m->pcpus[v->pcpu];
    if (!m->fast_traps || d->rt || d->hvm || m->stop || p->current != v)
        return false;
    uint64_t nr = vcpu_reg(v, UC_X86_REG_RAX), op = vcpu_reg(v, UC_X86_REG_RDI);
    if (!(nr == __HYPERVISOR_event_channel_op && op == EVTCHNOP_send) &&
        !(nr == __HYPERVISOR_physdev_op && op == PHYSDEVOP_eoi) &&
        nr != __HYPERVISOR_grant_table_op)
        return false;
    simtime_t now = vcpu_now(v), limit = m->sc->time_limit_ps;
    if (evq_peek(&m->q) <= now || (limit && now > limit))
        return false;
    fire_inline(m, now); /* the trap event */
    simtime_t when = trap_handle(p, now);
    if (p->busy || !p->rq_head) {
        v->trap = TRAP_HANDLED;
        return false;
    }
    if (when < p->idle_since)
        when = p->idle_since;
    const struct vcpu_info *vi = d->shinfo ? &d->shinfo->vcpu_info[v->id] : NULL;
    bool upcall = vi && v->event_callback && vi->evtchn_upcall_pending && !vi->evtchn_upcall_mask;
    if (p->rq_head != v || d->dead || m->stop || upcall || evq_peek(&m->q) <= when ||
        (limit && when > limit)) {
        p->busy = true;
        evq_schedule(&m->q, when, pcpu_dispatch, p);
        v->trap = TRAP_HANDLED;
        return false;
    }
    p->busy = true;
    fire_inline(m, when); /* the dispatch event */
    struct vcpu *next = dispatch_prepare(p, when);
    (void)next; /* v: at the head, same domain, no upcall, alive */
    if (v->slice_start > when) {
        /* a refill penalty came first (a grant unmap's flush left the TLB cold): the slice
         * starts as an event after it (pcpu_dispatch), inline too if none is due before */
        if (evq_peek(&m->q) <= v->slice_start || m->stop || (limit && v->slice_start > limit)) {
            evq_schedule(&m->q, v->slice_start, pcpu_run, p);
            v->trap = TRAP_HANDLED;
            return false;
        }
        fire_inline(m, v->slice_start); /* the slice's start */
    }
    v->fast_traps++;
    m->engine_fast_traps++;
    vcpu_continue_slice(v, slice_budget(m));
    return true;
}

static void boot_done(void *opaque, simtime_t now)
{
    sched_wake(opaque, now);
}

void sched_start(struct machine *m)
{
    /* HOPSIM_STOP_EVERY_TRAP=1: the engine stops at every hypercall (the equivalence test) */
    const char *every = getenv("HOPSIM_STOP_EVERY_TRAP");
    m->fast_traps = !(every && every[0] == '1');
    for (int i = 0; i < m->ndoms; i++) {
        struct domain *d = m->doms[i];
        struct vcpu *v = d->vcpus[0]; /* secondary vCPUs stay down until VCPUOP_up */
        if ((d->booted_from_flash || d->booted_from_disk) && d->boot.done > 0) {
            /* its image is still being read out of flash, or from disk */
            v->state = VCPU_BLOCKED;
            evq_schedule(&m->q, d->boot.done, boot_done, v);
            continue;
        }
        if (d->hvmd && d->hvmd->paused) {
            v->state = VCPU_BLOCKED; /* hvm_unpause() starts it */
            continue;
        }
        v->state = VCPU_RUNNABLE;
        rq_push(&m->pcpus[v->pcpu], v, false);
    }
    for (int i = 0; i < m->npcpus; i++)
        pcpu_schedule(&m->pcpus[i], m, 0);
}
