/*
 * Hypercall dispatch on Xen's x86-64 PV ABI: number in %rax, arguments in
 * %rdi, %rsi, %rdx, %r10, %r8, result in %rax (negative errno on error).
 * The guest reaches us through the hypercall page the domain builder wrote
 * (`syscall` inside each 32-byte stub).
 *
 * Every hypercall is charged `hypercall` (entry + exit) plus the work of
 * its operation, and traced as one `hypercall` span on the physical CPU
 * with the operation's own spans inside it. Guest pointers are checked to
 * lie inside the domain's RAM (-EFAULT otherwise): a bad argument is an
 * error code for that guest, never a simulator failure.
 */
#include "machine.h"
#include "hvm.h"
#include "l4sys.h"

#include <errno.h>
#include <string.h>

#include <unicorn/unicorn.h>
#include <xen/callback.h>
#include <xen/memory.h>
#include <xen/sched.h>
#include <xen/vcpu.h>
#include <xen/features.h>
#include <xen/version.h>

static const char *hc_name(uint64_t nr)
{
    switch (nr) {
    case __HYPERVISOR_set_callbacks:
        return "set_callbacks";
    case L4_SYSCALL_NR:
        return "l4_syscall";
    case __HYPERVISOR_set_trap_table:
        return "set_trap_table";
    case __HYPERVISOR_memory_op:
        return "memory_op";
    case __HYPERVISOR_console_io:
        return "console_io";
    case __HYPERVISOR_xen_version:
        return "xen_version";
    case __HYPERVISOR_grant_table_op:
        return "grant_table_op";
    case __HYPERVISOR_iret:
        return "iret";
    case __HYPERVISOR_vcpu_op:
        return "vcpu_op";
    case __HYPERVISOR_sched_op:
        return "sched_op";
    case __HYPERVISOR_callback_op:
        return "callback_op";
    case __HYPERVISOR_event_channel_op:
        return "event_channel_op";
    case __HYPERVISOR_physdev_op:
        return "physdev_op";
    default:
        return "unknown";
    }
}

#define ARG(type, name, addr)                                                                      \
    type *name = guest_ram(v->d, (addr), sizeof(type));                                            \
    if (!name)                                                                                     \
        return -EFAULT;

/* ---- sched_op ---- */

static void poll_timeout(void *opaque, simtime_t now)
{
    struct vcpu *v = opaque;
    if (!v->polling)
        return;
    v->polling = false;
    vcpu_set_reg(v, UC_X86_REG_RAX, 0);
    sched_wake(v, now);
}

static long sched_poll(struct vcpu *v, uint64_t arg, simtime_t now, enum hc_action *act)
{
    ARG(struct sched_poll, sp, arg);
    if (sp->nr_ports > 8)
        return -EINVAL;
    uint32_t *ports = guest_ram(v->d, (uint64_t)(uintptr_t)sp->ports.p, sp->nr_ports * 4);
    if (sp->nr_ports && !ports)
        return -EFAULT;
    bool pending = false;
    for (uint32_t i = 0; i < sp->nr_ports; i++) {
        if (ports[i] >= EVTCHN_NR)
            return -EINVAL;
        pending |= evtchn_port_pending(v->d, ports[i]);
        v->poll_ports[i] = ports[i];
    }
    if (pending)
        return 0;
    v->npoll = sp->nr_ports;
    v->polling = true;
    if (sp->timeout) {
        simtime_t t = sp->timeout * PS_PER_NS;
        v->poll_timeout = evq_schedule(&v->d->m->q, t > now ? t : now, poll_timeout, v);
    }
    *act = HC_BLOCK;
    return 0;
}

static long do_sched_op(struct vcpu *v, int cmd, uint64_t arg, simtime_t now, enum hc_action *act)
{
    struct vcpu_info *vi = &v->d->shinfo->vcpu_info[v->id];
    switch (cmd) {
    case SCHEDOP_yield:
        *act = HC_YIELD;
        return 0;
    case SCHEDOP_block:
        vi->evtchn_upcall_mask = 0;
        if (!vi->evtchn_upcall_pending)
            *act = HC_BLOCK;
        return 0;
    case SCHEDOP_shutdown: {
        ARG(struct sched_shutdown, s, arg);
        char why[64];
        snprintf(why, sizeof(why), "SCHEDOP_shutdown reason %u", s->reason);
        domain_kill(v->d, (int)s->reason, why);
        *act = HC_DEAD;
        return 0;
    }
    case SCHEDOP_poll:
        return sched_poll(v, arg, now, act);
    default:
        return -ENOSYS;
    }
}

/* ---- vcpu_op ---- */

static void timer_fire(void *opaque, simtime_t now)
{
    struct vcpu *v = opaque;
    v->timer = 0;
    evtchn_send_virq(v->d, v->id, VIRQ_TIMER, now);
}

/*
 * VCPUOP_initialise (Xen's arch_set_info_guest for a PV vCPU): the new
 * vCPU's general registers, its kernel stack and its event callback come
 * from the guest's vcpu_guest_context, as Linux's cpu_initialize_context
 * fills it. Only a vCPU that is down and not yet initialised takes one
 * (-EEXIST otherwise, as Xen answers); VCPUOP_up then makes it runnable.
 */
static long vcpu_initialise(struct vcpu *v, struct vcpu *t, uint64_t arg)
{
    ARG(struct vcpu_guest_context, c, arg);
    if (t->state != VCPU_DOWN || t->initialised)
        return -EEXIST;
    if (!guest_ram(v->d, c->user_regs.rip, 1) || !guest_ram(v->d, c->user_regs.rsp - 8, 8) ||
        (c->event_callback_eip && !guest_ram(v->d, c->event_callback_eip, 1)))
        return -EINVAL;
    const struct cpu_user_regs *r = &c->user_regs;
    vcpu_set_reg(t, UC_X86_REG_RIP, r->rip);
    vcpu_set_reg(t, UC_X86_REG_RSP, r->rsp);
    vcpu_set_reg(t, UC_X86_REG_RDI, r->rdi);
    vcpu_set_reg(t, UC_X86_REG_RSI, r->rsi);
    vcpu_set_reg(t, UC_X86_REG_RDX, r->rdx);
    vcpu_set_reg(t, UC_X86_REG_RBP, r->rbp);
    t->event_callback = c->event_callback_eip;
    t->initialised = true;
    /* a vCPU starts with event delivery masked, as Xen's vcpu_info does */
    if (v->d->shinfo)
        v->d->shinfo->vcpu_info[t->id].evtchn_upcall_mask = 1;
    return 0;
}

static long do_vcpu_op(struct vcpu *v, int cmd, uint64_t vcpuid, uint64_t arg, simtime_t now)
{
    if (vcpuid >= (uint64_t)v->d->nvcpus)
        return -ENOENT;
    struct machine *m = v->d->m;
    struct vcpu *t = v->d->vcpus[vcpuid];
    switch (cmd) {
    case VCPUOP_initialise:
        return vcpu_initialise(v, t, arg);
    case VCPUOP_up:
        /* Xen: -EINVAL for a vCPU never initialised; up on a running one is a no-op */
        if (!t->initialised)
            return -EINVAL;
        if (t->state == VCPU_DOWN) {
            t->state = VCPU_BLOCKED;
            sched_wake(t, now);
        }
        return 0;
    case VCPUOP_set_singleshot_timer: {
        if (vcpuid != (uint64_t)v->id)
            return -EINVAL;
        ARG(struct vcpu_set_singleshot_timer, t, arg);
        simtime_t when = t->timeout_abs_ns * PS_PER_NS;
        if ((t->flags & VCPU_SSHOTTMR_future) && when < now)
            return -ETIME;
        evq_cancel(&m->q, v->timer);
        v->timer = evq_schedule(&m->q, when > now ? when : now, timer_fire, v);
        return 0;
    }
    case VCPUOP_stop_singleshot_timer:
        evq_cancel(&m->q, v->timer);
        v->timer = 0;
        return 0;
    case VCPUOP_is_up:
        return v->d->vcpus[vcpuid]->state != VCPU_DOWN;
    default:
        return -ENOSYS;
    }
}

/* ---- memory_op ---- */

static bool physmap_gpfn_free(struct domain *d, uint64_t gpfn)
{
    if (gpfn < d->nr_pages || gpfn >= (HOPSIM_MMIO_BASE >> PAGE_SHIFT))
        return false;
    if (d->shinfo_gpfn == gpfn)
        return false;
    for (int i = 0; i < GNT_MAX_FRAMES; i++)
        if (d->gt.frame_gpfn[i] == gpfn)
            return false;
    return true;
}

long domain_map_shared_info(struct domain *d, uint64_t gpfn)
{
    if (d->shinfo_gpfn == gpfn)
        return 0; /* already there: re-adding the same mapping is a no-op */
    for (int i = 0; i < d->nvcpus; i++) {
        if (d->shinfo_gpfn)
            vcpu_unmap(d->vcpus[i], d->shinfo_gpfn << PAGE_SHIFT, PAGE_SIZE);
        if (vcpu_map(d->vcpus[i], gpfn << PAGE_SHIFT, PAGE_SIZE, d->shinfo, true) < 0)
            return -EINVAL;
    }
    d->shinfo_gpfn = gpfn;
    return 0;
}

static long add_to_physmap(struct vcpu *v, struct xen_add_to_physmap *x)
{
    struct domain *d = v->d;
    if (x->domid != DOMID_SELF && x->domid != d->domid)
        return -EPERM;
    bool same = x->space == XENMAPSPACE_shared_info && x->gpfn == d->shinfo_gpfn;
    if (!same && !physmap_gpfn_free(d, x->gpfn))
        return -EINVAL;
    switch (x->space) {
    case XENMAPSPACE_shared_info:
        return x->idx == 0 ? domain_map_shared_info(d, x->gpfn) : -EINVAL;
    case XENMAPSPACE_grant_table:
        if (x->idx & XENMAPIDX_grant_table_status)
            return -EINVAL; /* v1 tables have no status frames */
        return gnttab_map_frame_gpfn(d, (uint32_t)x->idx, x->gpfn);
    default:
        return -ENOSYS;
    }
}

static long do_memory_op(struct vcpu *v, int cmd, uint64_t arg, simtime_t *cost)
{
    switch (cmd & MEMOP_CMD_MASK) {
    case XENMEM_add_to_physmap: {
        ARG(struct xen_add_to_physmap, x, arg);
        return add_to_physmap(v, x);
    }
    case XENMEM_acquire_resource:
        return hvm_acquire_resource(v, arg);
    case XENMEM_add_to_physmap_batch:
        return hvm_foreign_map(v, arg);
    default:
        return memory_reservation_op(v, cmd, arg, cost); /* memory.c; -ENOSYS for the rest */
    }
}

/* ---- small ops ---- */

static long do_console_io(struct vcpu *v, int cmd, uint64_t count, uint64_t buf)
{
    if (cmd == CONSOLEIO_read)
        return 0;
    if (cmd != CONSOLEIO_write)
        return -ENOSYS;
    if (count > 65536)
        return -EINVAL;
    const char *p = guest_ram(v->d, buf, count);
    if (count && !p)
        return -EFAULT;
    domain_console(v->d, p, count);
    return 0;
}

static long do_callback_op(struct vcpu *v, int cmd, uint64_t arg)
{
    if (cmd == CALLBACKOP_register) {
        ARG(struct callback_register, cb, arg);
        if (cb->type == CALLBACKTYPE_event)
            v->event_callback = cb->address;
        else if (cb->type > CALLBACKTYPE_nmi)
            return -EINVAL;
        return 0;
    }
    if (cmd == CALLBACKOP_unregister) {
        ARG(struct callback_unregister, cb, arg);
        if (cb->type == CALLBACKTYPE_event)
            v->event_callback = 0;
        return 0;
    }
    return -ENOSYS;
}

/*
 * XENVER_get_features, as Xen's kernel.c answers a translated PV guest:
 * hopsim translates every guest frame number itself (grant entries,
 * store_mfn, console mfn, add_to_physmap, gnttab_copy's gmfn are all guest
 * frames), so auto_translated_physmap, with the writable_page_tables and
 * pae_pgdir_above_4gb it implies; the guest is not 1:1 with machine memory
 * (not_direct_mapped); the hardware domain gets XENFEAT_dom0.
 */
static uint32_t features(const struct domain *d)
{
    uint32_t f = (1u << XENFEAT_writable_page_tables) | (1u << XENFEAT_auto_translated_physmap) |
                 (1u << XENFEAT_pae_pgdir_above_4gb) | (1u << XENFEAT_not_direct_mapped);
    if (d->privileged)
        f |= 1u << XENFEAT_dom0;
    return f;
}

static long do_xen_version(struct vcpu *v, int cmd, uint64_t arg)
{
    if (cmd == XENVER_version)
        return (4 << 16) | 17;
    if (cmd == XENVER_get_features) {
        ARG(xen_feature_info_t, fi, arg);
        if (fi->submap_idx >= XENFEAT_NR_SUBMAPS)
            return -EINVAL;
        fi->submap = features(v->d);
        return 0;
    }
    if (cmd == XENVER_pagesize)
        return PAGE_SIZE;
    if (cmd == XENVER_extraversion) {
        ARG(xen_extraversion_t, ev, arg);
        memset(*ev, 0, sizeof(*ev));
        memcpy(*ev, "-hopsim", 7);
        return 0;
    }
    return -ENOSYS;
}

/* HYPERVISOR_iret: pop struct iret_context (rax r11 rcx flags rip cs rflags rsp ss). */
static long do_iret(struct vcpu *v)
{
    uint64_t rsp = vcpu_reg(v, UC_X86_REG_RSP);
    uint64_t *c = guest_ram(v->d, rsp, 9 * 8);
    if (!c) {
        domain_kill(v->d, SHUTDOWN_crash, "iret frame outside RAM");
        return 0;
    }
    vcpu_set_reg(v, UC_X86_REG_RAX, c[0]);
    vcpu_set_reg(v, UC_X86_REG_R11, c[1]);
    vcpu_set_reg(v, UC_X86_REG_RCX, c[2]);
    vcpu_set_reg(v, UC_X86_REG_RIP, c[4]);
    vcpu_set_reg(v, UC_X86_REG_RFLAGS, (c[6] & 0xcd5) | 0x202);
    vcpu_set_reg(v, UC_X86_REG_RSP, c[7]);
    v->d->shinfo->vcpu_info[v->id].evtchn_upcall_mask = !(c[6] & 0x200);
    return 0;
}

enum hc_action hypercall_dispatch(struct vcpu *v, simtime_t now, simtime_t *cost_ps)
{
    struct machine *m = v->d->m;
    uint64_t nr = vcpu_reg(v, UC_X86_REG_RAX);
    uint64_t a1 = vcpu_reg(v, UC_X86_REG_RDI), a2 = vcpu_reg(v, UC_X86_REG_RSI);
    uint64_t a3 = vcpu_reg(v, UC_X86_REG_RDX);
    enum hc_action act = HC_CONTINUE;
    /* A native kernel makes no hypercalls: the runtime's calls are kernel function calls;
     * a runtime service runs at hypervisor privilege and calls Xen's functions directly. */
    simtime_t cost = v->d->native || v->d->rt ? 0 : machine_cost(m, C_HYPERCALL);
    long r;
    v->d->hypercalls++;
    m->total_hypercalls++;
    /* the hypercall serves the vCPU's request only while that request is in this domain */
    uint64_t req = vcpu_trace_req(v);
    switch (nr) {
    case __HYPERVISOR_sched_op:
        r = do_sched_op(v, (int)a1, a2, now, &act);
        break;
    case __HYPERVISOR_event_channel_op:
        r = evtchn_op(v, (int)a1, a2, now, &cost);
        break;
    case __HYPERVISOR_grant_table_op:
        r = gnttab_op(v, (int)a1, a2, (uint32_t)a3, now, &cost);
        break;
    case __HYPERVISOR_memory_op:
        r = do_memory_op(v, (int)a1, a2, &cost);
        break;
    case __HYPERVISOR_console_io:
        r = do_console_io(v, (int)a1, a2, a3);
        cost += machine_cost(m, C_CONSOLE_IO);
        break;
    case __HYPERVISOR_vcpu_op:
        r = do_vcpu_op(v, (int)a1, a2, a3, now);
        break;
    case __HYPERVISOR_callback_op:
        r = do_callback_op(v, (int)a1, a2);
        break;
    case __HYPERVISOR_set_callbacks:
        v->event_callback = a1;
        r = 0;
        break;
    case __HYPERVISOR_set_trap_table:
        r = do_set_trap_table(v, a1);
        break;
    case __HYPERVISOR_xen_version:
        r = do_xen_version(v, (int)a1, a2);
        break;
    case __HYPERVISOR_physdev_op:
        r = physdev_op(v, (int)a1, a2);
        break;
    case __HYPERVISOR_iret:
        r = do_iret(v);
        break;
    case __HYPERVISOR_dm_op:
        r = hvm_dm_op(v, a1, a2, a3, now + cost);
        break;
    case L4_SYSCALL_NR: /* a task on the microkernel calls it (sim/l4/) */
        r = l4sys_call(v, a1, a2, now, &cost, &act);
        break;
    default:
        r = -ENOSYS;
        break;
    }
    if (r == -ENOSYS || r == -EFAULT) {
        v->d->guest_errors++;
        span_cpu(m, v->pcpu, SPAN_GUEST_ERROR, req, now, now, hc_name(nr), r);
    }
    if (!v->d->native && !v->d->rt)
        span_cpu(m, v->pcpu, SPAN_HYPERCALL, req, now, now + cost, hc_name(nr), (int64_t)a1);
    if (nr != __HYPERVISOR_iret && !v->d->dead)
        vcpu_set_reg(v, UC_X86_REG_RAX, (uint64_t)r);
    *cost_ps = cost;
    if (v->d->dead)
        return HC_DEAD;
    return act;
}
