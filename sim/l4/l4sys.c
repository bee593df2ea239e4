/*
 * The microkernel in the machine (see l4sys.h; the kernel's semantics are
 * l4.c's, the ABI include/hopsim/l4.h, the placement docs/l4.md).
 *
 * Roles: a thread's wake callback gets its vCPU. A task's vCPU blocked in
 * a system call has `l4_wait` set (nothing but the kernel wakes it); a
 * VM's vCPU in an exit has its `io.pending` set, as an HVM vCPU waiting
 * for an ioreq. Memory: a task's pages enter the mapping database the
 * first time it sends them (sigma0 handing its frames to the root task);
 * the VM's RAM is its VMM's to map (L4_SYS_VM_MEM), as a VMM is its VM's
 * pager.
 */
#include "l4sys.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <unicorn/unicorn.h>

#include "hvm.h"
#include "l4.h"

static struct vcpu *tvcpu(struct l4_kernel *k, uint32_t tid)
{
    struct l4_thread *t = l4_thread(k, tid);
    return t ? t->wake_arg : NULL;
}

/* The request a vCPU's kernel entry works for (a VM in an exit: the exit's). */
static uint64_t vreq(const struct vcpu *v)
{
    return v->io.pending ? v->io.req : vcpu_trace_req(v);
}

/* Every message transfer: an `ipc` span (and `map` for its pages) on the CPU that made it. */
static void observe(void *obs, uint32_t from, uint32_t to, int64_t label, simtime_t start,
                    int pages)
{
    struct machine *m = obs;
    struct l4_kernel *k = m->l4;
    bool irq = (from & 0xff000000u) == 0xff000000u;
    struct vcpu *s = irq ? NULL : tvcpu(k, from), *r = tvcpu(k, to);
    struct vcpu *on = s ? s : r;
    if (!on)
        return;
    uint64_t req = irq ? m->l4_irq_req[from & 0xffffff] : vreq(s);
    const char *name = irq                           ? "irq"
                       : label == L4_LABEL_EXCEPTION ? "exit"
                       : r && r->d->l4_vmm           ? "resume"
                                                     : "ipc";
    simtime_t end = start + k->ipc_cost;
    span_cpu(m, on->pcpu, SPAN_IPC, req, start, end, name, (int64_t)to);
    if (!pages)
        return;
    span_cpu(m, on->pcpu, SPAN_MAP, req, end, end + (simtime_t)pages * k->map_cost, "map", pages);
    /* the pages are now in the receiving task's address space: its CPU reaches them there */
    struct l4_thread *rt = l4_thread(k, to);
    if (!r || !rt || !r->d->l4)
        return;
    uint64_t dst = rt->window.base + rt->msg.send_base;
    for (int i = 0; i < pages; i++) {
        uint64_t f, va = dst + (uint64_t)i * PAGE_SIZE;
        uint8_t rights;
        if (va / PAGE_SIZE < r->d->nr_pages || va + PAGE_SIZE > HOPSIM_MMIO_BASE ||
            l4_lookup(k, r->d->l4_task, va, &f, &rights) < 0 || f >= m->nr_mfns)
            continue; /* outside the task's hole: in the mapping database only */
        vcpu_map(r, va, PAGE_SIZE, machine_frame(m, f), (rights & L4_W) != 0);
    }
}

/*
 * A mapping left `task`'s address space (l4.c: revoked, granted away, replaced): a page
 * observe() mapped into its hole is unmapped from its vCPU, so a later access faults. The
 * task's own RAM, which enters the database as sigma0's roots when first sent, stays: it is
 * the task's memory, not a mapping.
 */
static void unmapped(void *obs, uint32_t task, uint64_t va)
{
    struct machine *m = obs;
    for (int i = 0; i < m->ndoms; i++) {
        struct domain *d = m->doms[i];
        if (!d->l4 || d->l4_task != (int)task)
            continue;
        if (d->dead || va / PAGE_SIZE < d->nr_pages || va + PAGE_SIZE > HOPSIM_MMIO_BASE)
            return;
        for (int c = 0; c < d->nvcpus; c++)
            vcpu_unmap(d->vcpus[c], va, PAGE_SIZE);
        return;
    }
}

/* A task's thread: its system call completed (or failed) while it was blocked. */
static void task_wake(struct l4_kernel *k, struct l4_thread *t, void *arg)
{
    (void)k;
    struct vcpu *v = arg;
    if (v->d->dead || !v->l4_wait)
        return;
    v->l4_wait = false;
    struct l4_utcb *u = guest_ram(v->d, v->l4_utcb, sizeof(*u));
    if (u && t->result == 0) {
        u->msg = t->msg;
        u->from = t->from;
    }
    vcpu_set_reg(v, UC_X86_REG_RAX, (uint64_t)(int64_t)t->result);
    /* what woke it says whom it works for next */
    bool irq = (t->from & 0xff000000u) == 0xff000000u;
    struct vcpu *s = irq ? NULL : tvcpu(k, t->from);
    uint64_t req = irq ? v->d->m->l4_irq_req[t->from & 0xffffff] : s ? vreq(s) : HOPSIM_NOREQ;
    if (req != HOPSIM_NOREQ) {
        v->ctx_req = req;
        v->event_req = req;
    }
    sched_wake(v, t->done_at);
}

/* A VM's vCPU thread: its VMM answered the exit (or is gone). */
static void vm_wake(struct l4_kernel *k, struct l4_thread *t, void *arg)
{
    (void)k;
    struct vcpu *v = arg;
    struct domain *d = v->d;
    if (d->dead || !v->io.pending)
        return;
    v->io.pending = false;
    if (t->result < 0) {
        domain_kill(d, SHUTDOWN_crash, "its VMM is gone: the exit's IPC failed");
        return;
    }
    span_cpu(d->m, v->pcpu, SPAN_VMM_EXIT, v->io.req, v->io.start, t->done_at, hvm_io_name(&v->io),
             (int64_t)v->io.addr);
    if (hvm_complete_io(v, t->msg.mr[0]) == 0)
        sched_wake(v, t->done_at);
}

int l4sys_setup(struct machine *m, char *err, size_t errlen)
{
    bool any = false;
    for (int i = 0; i < m->ndoms; i++)
        any |= m->doms[i]->l4 || m->doms[i]->l4_vmm;
    if (!any)
        return 0;
    struct l4_kernel *k = calloc(1, sizeof(*k));
    if (!k) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    l4_init_profile(k, &m->q, m->cost, m->hz);
    k->observe = observe;
    k->unmapped = unmapped;
    k->obs = m;
    m->l4 = k;
    /* the tasks first, so a VM names its VMM's thread as its exception handler */
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < m->ndoms; i++) {
            struct domain *d = m->doms[i];
            if (pass == 0 ? !d->l4 : !d->l4_vmm)
                continue;
            int task = l4_task_create(k, d->name);
            struct vcpu *v = d->vcpus[0];
            uint32_t exc = d->l4_vmm ? d->l4_vmm->vcpus[0]->l4_tid : L4_NILTHREAD;
            if (task > 0)
                v->l4_tid = l4_thread_create(k, task, L4_NILTHREAD, exc,
                                             d->l4_vmm ? vm_wake : task_wake, v);
            if (task <= 0 || !v->l4_tid || d->nvcpus != 1) {
                snprintf(err, errlen, "%s: %s", d->name,
                         d->nvcpus != 1 ? "a task on the microkernel has one vCPU (thread)"
                                        : "the microkernel's task or thread table is full");
                return -1;
            }
            d->l4_task = task;
        }
    return 0;
}

void l4sys_destroy(struct machine *m)
{
    if (!m->l4)
        return;
    l4_fini(m->l4);
    free(m->l4);
    m->l4 = NULL;
}

/* sigma0: the caller's own RAM pages in fp enter the mapping database as roots. */
static int own_pages(struct machine *m, struct domain *d, const struct l4_fpage *fp)
{
    if (fp->order > 16)
        return -L4_ERIGHTS;
    uint64_t first = fp->base / PAGE_SIZE, n = 1ull << fp->order;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t f, va = (first + i) * PAGE_SIZE;
        uint8_t r;
        if (l4_lookup(m->l4, d->l4_task, va, &f, &r) == 0)
            continue;
        if (first + i >= d->nr_pages)
            return -L4_ERIGHTS; /* not its memory */
        l4_map_root(m->l4, d->l4_task, va, d->first_mfn + first + i, L4_R | L4_W);
    }
    return 0;
}

static bool has_window(const struct l4_fpage *w)
{
    return w->base || w->order;
}

/* L4_SYS_IPC. */
static long sys_ipc(struct vcpu *v, struct l4_utcb *u, simtime_t now, simtime_t *cost,
                    enum hc_action *act)
{
    struct machine *m = v->d->m;
    struct l4_kernel *k = m->l4;
    struct l4_thread *t = l4_thread(k, v->l4_tid);
    struct l4_msg msg = u->msg;
    const struct l4_fpage *win = has_window(&u->window) ? &u->window : NULL;
    uint32_t dest = u->dest, from = u->from;
    if (!t || msg.nmr > L4_MRS || msg.item > L4_ITEM_GRANT)
        return -L4_ERIGHTS;
    if (dest != L4_NILTHREAD && msg.item != L4_ITEM_NONE) {
        int rc = own_pages(m, v->d, &msg.fpage);
        if (rc < 0)
            return rc;
    }
    uint64_t sent = t->sent, got = t->received;
    long rc = 0;
    if (dest != L4_NILTHREAD && dest == from) {
        rc = l4_call(k, v->l4_tid, dest, &msg, win, u->timeout);
    } else {
        if (dest != L4_NILTHREAD) {
            /* a send before a receive is a reply: the client waits for it, or is gone */
            rc = l4_send(k, v->l4_tid, dest, &msg, from != L4_NILTHREAD ? 0 : u->timeout);
            if (t->sent > sent)
                k->at = t->done_at; /* the receive starts after the reply */
        }
        if (from != L4_NILTHREAD && (rc == 0 || rc == -L4_ETIMEOUT || rc == -L4_ENOPARTNER))
            rc = l4_receive(k, v->l4_tid, from, win, dest != L4_NILTHREAD ? L4_NEVER : u->timeout);
    }
    if (t->sent > sent || t->received > got)
        *cost = t->done_at > now ? t->done_at - now : 0;
    if (rc == 1) {
        v->l4_wait = true;
        *act = HC_BLOCK;
        return 0;
    }
    if (rc == 0 && from != L4_NILTHREAD) {
        u->msg = t->msg;
        u->from = t->from;
    }
    return rc;
}

/* The VM whose vCPU thread `tid` the caller is the exception handler of; NULL if none. */
static struct domain *my_vm(struct vcpu *v, uint32_t tid)
{
    struct l4_thread *t = l4_thread(v->d->m->l4, tid);
    struct vcpu *vm = t ? t->wake_arg : NULL;
    if (!vm || !vm->d->l4_vmm || t->exc_handler != v->l4_tid || vm->d->dead)
        return NULL;
    return vm->d;
}

/* L4_SYS_VM_MEM: the VM's RAM into its VMM at window.base (mr[0]: the pages it reserved). */
static long sys_vm_mem(struct vcpu *v, struct l4_utcb *u, simtime_t now, simtime_t *cost)
{
    struct machine *m = v->d->m;
    struct domain *vm = my_vm(v, u->dest);
    uint64_t base = u->window.base, room = u->msg.mr[0];
    if (!vm)
        return -L4_ENOPARTNER;
    if (base % PAGE_SIZE || base / PAGE_SIZE < v->d->nr_pages || room < vm->nr_pages ||
        base + vm->nr_pages * PAGE_SIZE > HOPSIM_MMIO_BASE)
        return -L4_EWINDOW;
    if (vcpu_map(v, base, vm->nr_pages * PAGE_SIZE, vm->ram, true) < 0)
        return -L4_EWINDOW;
    *cost = (simtime_t)vm->nr_pages * m->l4->map_cost;
    span_cpu(m, v->pcpu, SPAN_MAP, vcpu_trace_req(v), now, now + *cost, "vm memory",
             (int64_t)vm->nr_pages);
    m->l4->pages_mapped += vm->nr_pages;
    u->msg.mr[0] = vm->nr_pages * PAGE_SIZE;
    return 0;
}

/* L4_SYS_VCPU_IRQ: the VMM drives an interrupt line of its VM; a rising edge is injected. */
static long sys_vcpu_irq(struct vcpu *v, struct l4_utcb *u, simtime_t now, simtime_t *cost)
{
    struct machine *m = v->d->m;
    struct domain *vm = my_vm(v, u->dest);
    if (!vm)
        return -L4_ENOPARTNER;
    int edge =
        hvm_intx_level(vm, (unsigned)u->msg.mr[0], (unsigned)u->msg.mr[1], (unsigned)u->msg.mr[2]);
    if (edge < 0)
        return -L4_ERIGHTS;
    if (!edge)
        return 0;
    /* the VMM marked the completions it posted H7 (they travel through the kernel to the VM
     * now); the injection serves the last of them */
    uint64_t req = vcpu_trace_req(v);
    *cost = m->l4->ipc_cost;
    span_cpu(m, v->pcpu, SPAN_INJECT, req, now, now + *cost, vm->name, (int64_t)u->msg.mr[0]);
    hvm_intx_raise(vm, (unsigned)u->msg.mr[0], (unsigned)u->msg.mr[1], now + *cost, req);
    return 0;
}

/* L4_SYS_IRQ_ATTACH: a hardware interrupt (an event-channel port bound to a pirq of the
 * caller's device) or a software interrupt. */
static long sys_irq_attach(struct vcpu *v, struct l4_utcb *u)
{
    uint32_t irq = u->dest;
    if (irq < L4_SOFT_IRQ_BASE &&
        (irq >= EVTCHN_NR || !v->d->evtchn || v->d->evtchn[irq].state != ECS_PIRQ))
        return -L4_ERIGHTS;
    return l4_irq_attach(v->d->m->l4, irq, v->l4_tid);
}

long l4sys_call(struct vcpu *v, uint64_t op, uint64_t utcb, simtime_t now, simtime_t *cost,
                enum hc_action *act)
{
    struct machine *m = v->d->m;
    struct l4_kernel *k = m->l4;
    struct l4_utcb *u = guest_ram(v->d, utcb, sizeof(*u));
    if (!k || !v->d->l4 || !v->l4_tid)
        return -ENOSYS;
    if (!u)
        return -EFAULT;
    long rc;
    uint64_t f;
    uint8_t r;
    k->at = now;
    switch (op) {
    case L4_SYS_IPC:
        v->l4_utcb = utcb;
        rc = sys_ipc(v, u, now, cost, act);
        break;
    case L4_SYS_UNMAP:
        rc = l4_unmap(k, v->d->l4_task, &u->window, (unsigned)u->msg.mr[0]);
        *cost = (simtime_t)rc * k->map_cost;
        break;
    case L4_SYS_IRQ_ATTACH:
        rc = sys_irq_attach(v, u);
        break;
    case L4_SYS_IRQ_TRIGGER:
        if (u->dest <= L4_IRQ_TASK_DEATH || u->dest >= L4_MAX_IRQS) {
            rc = -L4_ERIGHTS;
            break;
        }
        m->l4_irq_req[u->dest] = vcpu_trace_req(v);
        l4_irq_raise(k, u->dest);
        *cost = k->ipc_cost;
        rc = 0;
        break;
    case L4_SYS_TASK_THREAD:
        rc = -L4_ENOPARTNER;
        u->name[sizeof(u->name) - 1] = 0;
        for (int i = 0; i < m->ndoms; i++)
            if (m->doms[i]->l4_task && !strcmp(m->doms[i]->name, u->name)) {
                u->dest = m->doms[i]->vcpus[0]->l4_tid;
                rc = 0;
            }
        break;
    case L4_SYS_PHYS:
        rc = l4_lookup(k, v->d->l4_task, u->window.base & ~(PAGE_SIZE - 1), &f, &r);
        if (rc == 0) {
            u->msg.mr[0] = f * PAGE_SIZE;
            u->msg.mr[1] = r;
        }
        break;
    case L4_SYS_VM_MEM:
        rc = sys_vm_mem(v, u, now, cost);
        break;
    case L4_SYS_VCPU_IRQ:
        rc = sys_vcpu_irq(v, u, now, cost);
        break;
    case L4_SYS_VM_KILL: {
        struct domain *vm = my_vm(v, u->dest);
        rc = vm ? 0 : -L4_ENOPARTNER;
        if (vm)
            domain_kill(vm, SHUTDOWN_crash, "its VMM ended it");
        break;
    }
    default:
        rc = -ENOSYS;
    }
    k->at = 0;
    return rc;
}

enum hc_action l4sys_exit(struct vcpu *v, simtime_t now, simtime_t *cost)
{
    struct domain *d = v->d;
    struct machine *m = d->m;
    struct l4_kernel *k = m->l4;
    struct hvm_io *io = &v->io;
    struct l4_msg msg = {.nmr = 3,
                         .mr = {L4_EXIT_WORD0(io->kind == HVM_IO_MMIO ? L4_EXIT_MMIO : L4_EXIT_PIO,
                                              io->dir == IOREQ_WRITE, io->size),
                                io->addr, io->data}};
    io->pending = true;
    io->start = now;
    io->req = v->ctx_req;
    /* a request the guest's driver handed to the device now travels through the kernel */
    if (trace_hop_advance(m->tr, d->place, HOP_H2, HOP_H3, m->pcpus[v->pcpu].place, now))
        io->req = trace_last_advanced(m->tr);
    struct l4_thread *t = k ? l4_thread(k, v->l4_tid) : NULL;
    uint64_t sent = t ? t->sent : 0;
    if (k)
        k->at = now + *cost;
    int rc = t ? l4_vcpu_exit(k, v->l4_tid, &msg) : -L4_ENOPARTNER;
    if (k)
        k->at = 0;
    if (rc < 0) {
        io->pending = false;
        domain_kill(d, SHUTDOWN_crash, "its VMM is gone: the exit's IPC failed");
        return HC_DEAD;
    }
    if (t->sent > sent && t->done_at > now)
        *cost = t->done_at - now;
    return HC_BLOCK; /* until the VMM's reply (vm_wake) */
}

bool l4sys_irq(struct domain *d, uint32_t port, simtime_t when, uint64_t req)
{
    struct machine *m = d->m;
    struct l4_kernel *k = m->l4;
    if (!k || !d->l4 || port >= L4_SOFT_IRQ_BASE || d->evtchn[port].state != ECS_PIRQ ||
        k->irqs[port].handler != d->vcpus[0]->l4_tid)
        return false;
    m->l4_irq_req[port] = req;
    k->at = when;
    l4_irq_raise(k, port);
    k->at = 0;
    return true;
}

void l4sys_domain_dead(struct domain *d)
{
    struct machine *m = d->m;
    struct l4_kernel *k = m->l4;
    if (!k || !d->l4_task)
        return;
    struct vcpu *v = d->vcpus[0];
    if (d->l4_vmm) {
        /* the VM's end is its last exit: its VMM learns of it when it next receives */
        v->io.pending = false;
        struct l4_msg msg = {
            .nmr = 2, .mr = {L4_EXIT_WORD0(L4_EXIT_SHUTDOWN, 0, 0), (uint64_t)d->shutdown_reason}};
        l4_vcpu_exit(k, v->l4_tid, &msg);
        return; /* its task goes with its VMM's */
    }
    int task = d->l4_task;
    d->l4_task = 0;
    v->l4_wait = false;
    /* a VMM's VMs were its to run: their tasks go with it */
    for (int i = 0; i < m->ndoms; i++) {
        struct domain *vm = m->doms[i];
        if (vm->l4_vmm != d || !vm->l4_task)
            continue;
        if (!vm->dead)
            domain_kill(vm, SHUTDOWN_crash, "its VMM task is gone");
        l4_task_delete(k, vm->l4_task);
        vm->l4_task = 0;
    }
    l4_task_delete(k, task);
    l4_irq_raise(k, L4_IRQ_TASK_DEATH);
}
