/*
 * A PV guest's exception handlers: HYPERVISOR_set_trap_table and the #GP a
 * PV kernel's privileged instruction raises.
 *
 * An x86-64 PV kernel runs in ring 3, so cli, sti, wrmsr, rdmsr, swapgs,
 * mov to or from a control register and the other instructions vcpu.c
 * recognises raise #GP. Xen takes the fault (handle_gp in
 * xen/arch/x86/traps.c; the privileged-op emulator is not modelled: every
 * such instruction is reported as Xen reports the ones it does not emulate)
 * and, in pv_inject_event (xen/arch/x86/pv/traps.c), either bounces it to
 * the handler the guest registered for vector 13 or, without one, crashes
 * the domain ("Unhandled general protection fault"). The bounce frame is
 * create_bounce_frame's (xen/arch/x86/x86_64/entry.S): below the 16-byte
 * aligned stack pointer ss, rsp, rflags, cs, rip, the error code, r11, rcx
 * (lowest), with IF in the saved rflags = events were unmasked; the event
 * mask is set on entry if the trap_info has TI_SET_IF. The guest returns
 * with HYPERVISOR_iret as from an upcall.
 *
 * Cost: the fault enters Xen and returns to the guest through the same
 * ring transitions as a hypercall (`hypercall`), and the bounce frame is
 * what an upcall's delivery writes (`virq_inject`): the two are charged.
 */
#include "machine.h"

#include <errno.h>
#include <string.h>

#include <unicorn/unicorn.h>

#define TRAP_GP 13
#define TRAP_MASK_EVENTS 4 /* trap_info.flags bit TI_GET_IF tests: mask events on entry */
#define XEN_CS64 0xe033    /* FLAT_KERNEL_CS64 */
#define XEN_SS64 0xe02b    /* FLAT_KERNEL_SS64 */
#define RFLAGS_IF 0x200ull

/* struct trap_info (xen/arch-x86/xen.h) as a 64-bit guest lays it out. */
struct guest_trap_info {
    uint8_t vector;
    uint8_t flags;
    uint16_t cs;
    uint32_t pad;
    uint64_t address;
};

static bool canonical(uint64_t a)
{
    return (uint64_t)((int64_t)(a << 16) >> 16) == a;
}

/*
 * HYPERVISOR_set_trap_table(traps): entries up to the first with address 0
 * replace this vCPU's handlers for their vectors (do_set_trap_table in
 * xen/arch/x86/pv/traps.c); a NULL list clears the table.
 */
long do_set_trap_table(struct vcpu *v, uint64_t list)
{
    if (!list) {
        memset(v->traps, 0, sizeof v->traps);
        return 0;
    }
    for (unsigned i = 0; i < 256; i++) {
        const struct guest_trap_info *t = guest_ram(v->d, list + i * sizeof *t, sizeof *t);
        if (!t)
            return -EFAULT;
        if (!t->address)
            return 0;
        if (!canonical(t->address))
            return -EINVAL;
        v->traps[t->vector].address = t->address;
        v->traps[t->vector].cs = t->cs;
        v->traps[t->vector].flags = t->flags;
    }
    return 0;
}

/*
 * The vCPU stopped at the privileged instruction v->privop_at (v->fault
 * names it): bounce #GP (error code 0) to the guest's handler, or crash
 * the domain when it has none. Returns what the vCPU does next.
 */
enum hc_action pv_trap_gp(struct vcpu *v, simtime_t now, simtime_t *cost_ps)
{
    struct domain *d = v->d;
    struct machine *m = d->m;
    const uint64_t handler = v->traps[TRAP_GP].address;
    if (!handler || !d->shinfo) {
        domain_kill(d, SHUTDOWN_crash, v->fault);
        return HC_DEAD;
    }
    struct vcpu_info *vi = &d->shinfo->vcpu_info[v->id];
    uint64_t rsp = vcpu_reg(v, UC_X86_REG_RSP);
    uint64_t top = rsp & ~15ull;
    uint64_t *frame = guest_ram(d, top - 64, 64);
    if (!frame) {
        domain_kill(d, SHUTDOWN_crash, "#GP bounce frame outside RAM (bad stack pointer)");
        return HC_DEAD;
    }
    uint64_t rflags = vcpu_reg(v, UC_X86_REG_RFLAGS) & ~RFLAGS_IF;
    frame[0] = vcpu_reg(v, UC_X86_REG_RCX);
    frame[1] = vcpu_reg(v, UC_X86_REG_R11);
    frame[2] = 0; /* error code: no selector involved */
    frame[3] = v->privop_at;
    frame[4] = XEN_CS64;
    frame[5] = rflags | (vi->evtchn_upcall_mask ? 0 : RFLAGS_IF);
    frame[6] = rsp;
    frame[7] = XEN_SS64;
    if (v->traps[TRAP_GP].flags & TRAP_MASK_EVENTS)
        vi->evtchn_upcall_mask = 1;
    vcpu_set_reg(v, UC_X86_REG_RSP, top - 64);
    vcpu_set_reg(v, UC_X86_REG_RIP, handler);
    simtime_t cost = machine_cost(m, C_HYPERCALL) + machine_cost(m, C_IRQ_INJECT);
    span_cpu(m, v->pcpu, SPAN_EVENT_DELIVERY, vcpu_trace_req(v), now, now + cost, "#GP",
             (int64_t)v->privop_at);
    *cost_ps = cost;
    return HC_CONTINUE;
}
