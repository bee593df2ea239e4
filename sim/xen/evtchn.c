/*
 * Event channels: Xen's 2-level ABI.
 *
 * Pending and mask bitmaps live in the domain's shared_info page (the
 * guest reads and clears them directly); per-port state lives here.
 * Setting a port pending follows Xen's evtchn_2l_set_pending: set the
 * pending bit; if it was clear and the port is unmasked, set the
 * selector bit and evtchn_upcall_pending, and wake the vCPU. A vCPU in
 * SCHEDOP_poll wakes on any polled port even if masked.
 *
 * Errors are Xen's: -EINVAL for a bad, free or wrong-state port, -ESRCH
 * for an unknown domain, -EEXIST for a VIRQ already bound, -ENOSPC when
 * no port is free, -EFAULT for an argument outside guest RAM. Port 0 is
 * reserved, as in Xen. The store channel's far end is the xenstore
 * service (remote_dom = DOMID_STORE).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <unicorn/unicorn.h>

#include "machine.h"
#include "hvm.h"
#include "l4sys.h"

#define BITS_PER_WORD 64

int evtchn_init(struct domain *d)
{
    d->evtchn = calloc(EVTCHN_NR, sizeof(*d->evtchn));
    if (!d->evtchn)
        return -1;
    d->evtchn[0].state = ECS_RESERVED;
    return 0;
}

void evtchn_fini(struct domain *d)
{
    free(d->evtchn);
    d->evtchn = NULL;
}

static bool test_and_set(xen_ulong_t *w, unsigned bit)
{
    xen_ulong_t mask = (xen_ulong_t)1 << bit;
    xen_ulong_t old = __atomic_fetch_or(w, mask, __ATOMIC_SEQ_CST);
    return (old & mask) != 0;
}

static bool test_bit(const xen_ulong_t *w, unsigned bit)
{
    return (__atomic_load_n(w, __ATOMIC_SEQ_CST) >> bit) & 1;
}

bool evtchn_port_pending(struct domain *d, uint32_t port)
{
    if (!d->shinfo || port >= EVTCHN_NR)
        return false;
    return test_bit(&d->shinfo->evtchn_pending[port / BITS_PER_WORD], port % BITS_PER_WORD);
}

static void wake_poller(struct vcpu *v, uint32_t port, simtime_t when)
{
    if (!v->polling)
        return;
    for (uint32_t i = 0; i < v->npoll; i++) {
        if (v->poll_ports[i] != port)
            continue;
        v->polling = false;
        evq_cancel(&v->d->m->q, v->poll_timeout);
        vcpu_set_reg(v, UC_X86_REG_RAX, 0);
        sched_wake(v, when);
        return;
    }
}

void evtchn_set_pending(struct domain *d, uint32_t port, simtime_t when, uint64_t req)
{
    if (port < EVTCHN_NR && d->evtchn && d->evtchn[port].consumer == EVTCHN_CONSUMER_IOREQ) {
        hvm_ioreq_notify(d, port, when); /* Xen's notification_fn: the ioreq's answer */
        return;
    }
    if (d->dead || !d->shinfo || port >= EVTCHN_NR)
        return; /* no shared_info yet: Xen would still latch it; we latch below */
    if (d->l4 && l4sys_irq(d, port, when, req))
        return; /* a task on the microkernel takes its device's interrupt as IPC */
    struct evtchn *c = &d->evtchn[port];
    struct vcpu *v = d->vcpus[c->notify_vcpu < d->nvcpus ? c->notify_vcpu : 0];
    shared_info_t *s = d->shinfo;
    c->req = req;
    if (req) {
        /* the vCPU will work for this request once the event reaches it: at once if it is not
           running; a running vCPU first finishes what it is doing (its slice and the traps it
           ends with are another request's), and its next dispatch hands it the event */
        if (v->state != VCPU_RUNNING)
            v->ctx_req = req;
        v->event_req = req;
    }
    if (test_and_set(&s->evtchn_pending[port / BITS_PER_WORD], port % BITS_PER_WORD))
        return;
    if (!test_bit(&s->evtchn_mask[port / BITS_PER_WORD], port % BITS_PER_WORD)) {
        struct vcpu_info *vi = &s->vcpu_info[v->id];
        if (!test_and_set(&vi->evtchn_pending_sel, port / BITS_PER_WORD)) {
            vi->evtchn_upcall_pending = 1;
            sched_wake(v, when);
        }
    }
    wake_poller(v, port, when);
}

static long get_free_port(struct domain *d)
{
    for (uint32_t p = 1; p < EVTCHN_NR; p++)
        if (d->evtchn[p].state == ECS_FREE)
            return p;
    return -ENOSPC;
}

uint32_t evtchn_alloc_store(struct domain *d)
{
    long p = get_free_port(d);
    if (p < 0)
        return 0;
    d->evtchn[p] = (struct evtchn){.state = ECS_INTERDOMAIN, .remote_dom = DOMID_STORE};
    return (uint32_t)p;
}

static bool port_valid(struct domain *d, uint32_t port)
{
    return port < EVTCHN_NR && d->evtchn[port].state != ECS_FREE &&
           d->evtchn[port].state != ECS_RESERVED;
}

static struct domain *dom_lookup(struct domain *self, domid_t id)
{
    if (id == DOMID_SELF)
        return self;
    return machine_domain(self->m, id);
}

static long op_alloc_unbound(struct vcpu *v, struct evtchn_alloc_unbound *a)
{
    struct domain *d = v->d;
    if (a->dom != DOMID_SELF && a->dom != d->domid && !d->privileged)
        return -EPERM;
    struct domain *ld = dom_lookup(d, a->dom);
    if (!ld)
        return -ESRCH;
    domid_t remote = a->remote_dom == DOMID_SELF ? ld->domid : a->remote_dom;
    long p = get_free_port(ld);
    if (p < 0)
        return p;
    ld->evtchn[p] = (struct evtchn){.state = ECS_UNBOUND, .remote_dom = remote};
    a->port = (evtchn_port_t)p;
    return 0;
}

static long op_bind_interdomain(struct vcpu *v, struct evtchn_bind_interdomain *b, simtime_t now)
{
    struct domain *d = v->d;
    struct domain *rd = dom_lookup(d, b->remote_dom);
    if (!rd || rd->dead)
        return -ESRCH;
    if (b->remote_port >= EVTCHN_NR)
        return -EINVAL;
    struct evtchn *rc = &rd->evtchn[b->remote_port];
    if (rc->state != ECS_UNBOUND || rc->remote_dom != d->domid)
        return -EINVAL;
    long lp = get_free_port(d);
    if (lp < 0)
        return lp;
    d->evtchn[lp] = (struct evtchn){
        .state = ECS_INTERDOMAIN, .remote_dom = rd->domid, .remote_port = b->remote_port};
    rc->state = ECS_INTERDOMAIN;
    rc->remote_dom = d->domid;
    rc->remote_port = (uint32_t)lp;
    b->local_port = (evtchn_port_t)lp;
    /* Xen raises the local port so the binder sees any event that raced the bind. */
    evtchn_set_pending(d, (uint32_t)lp, now, 0);
    return 0;
}

static long op_bind_virq(struct vcpu *v, struct evtchn_bind_virq *b)
{
    struct domain *d = v->d;
    if (b->virq >= NR_VIRQS)
        return -EINVAL;
    if (b->vcpu >= (uint32_t)d->nvcpus)
        return -ENOENT;
    for (uint32_t p = 1; p < EVTCHN_NR; p++)
        if (d->evtchn[p].state == ECS_VIRQ && d->evtchn[p].virq == b->virq &&
            d->evtchn[p].notify_vcpu == b->vcpu)
            return -EEXIST;
    long p = get_free_port(d);
    if (p < 0)
        return p;
    d->evtchn[p] =
        (struct evtchn){.state = ECS_VIRQ, .virq = b->virq, .notify_vcpu = (uint8_t)b->vcpu};
    b->port = (evtchn_port_t)p;
    return 0;
}

/*
 * Xen's evtchn_bind_ipi: a port of this domain whose sends raise it on one
 * of its own vCPUs (-ENOENT for a vCPU it does not have). The guest kicks
 * another of its vCPUs with it, as Linux's xen_send_IPI_one does for its
 * per-CPU IPI ports; the vCPU is fixed (EVTCHNOP_bind_vcpu refuses it).
 */
static long op_bind_ipi(struct vcpu *v, struct evtchn_bind_ipi *b)
{
    struct domain *d = v->d;
    if (b->vcpu >= (uint32_t)d->nvcpus)
        return -ENOENT;
    long p = get_free_port(d);
    if (p < 0)
        return p;
    d->evtchn[p] = (struct evtchn){.state = ECS_IPI, .notify_vcpu = (uint8_t)b->vcpu};
    b->port = (evtchn_port_t)p;
    return 0;
}

void evtchn_send_virq(struct domain *d, int vcpu, uint32_t virq, simtime_t when)
{
    for (uint32_t p = 1; p < EVTCHN_NR; p++)
        if (d->evtchn[p].state == ECS_VIRQ && d->evtchn[p].virq == virq &&
            d->evtchn[p].notify_vcpu == vcpu) {
            evtchn_set_pending(d, p, when, 0);
            return;
        }
}

static long op_send(struct vcpu *v, uint32_t port, simtime_t now, simtime_t *cost)
{
    struct domain *d = v->d;
    struct machine *m = d->m;
    if (!port_valid(d, port))
        return -EINVAL;
    struct evtchn *c = &d->evtchn[port];
    uint64_t req;
    simtime_t work = machine_cost(m, C_EVTCHN_SEND);
    /* evtchn_read_lock(lchn): senders share it; a bind or close of the channel excludes them */
    *cost += xen_lock(v, &c->lock, true, "evtchn", now + *cost, work);
    span_cpu(m, v->pcpu, SPAN_EVTCHN_SEND, vcpu_trace_req(v), now + *cost, now + *cost + work, NULL,
             port);
    *cost += work;
    switch (c->state) {
    case ECS_INTERDOMAIN:
        /* Requests this domain put on a ring now travel through the hypervisor. */
        /* a notify for a batch carries its first request as the context of what it causes */
        if (c->remote_dom == DOMID_STORE) {
            /* store traffic is never on an I/O request's path */
            machine_store_kick(m, d, now + *cost, HOPSIM_NOREQ);
            return 0;
        }
        /* The notify (this send included) is the sender's hop; the event travels from here.
         * It carries the request it moved: the sender's own context if the notify moved that
         * one, else the first it moved (a backend completing one frontend's request while it
         * works for another's must not hand the other's to this frontend). */
        {
            uint64_t moved = HOPSIM_NOREQ;
            if (trace_hop_advance_posted(m->tr, d->place, HOP_H2, HOP_H3, m->pcpus[v->pcpu].place,
                                         now + *cost, port))
                moved = trace_last_advanced(m->tr);
            if (trace_hop_advance_posted(m->tr, d->place, HOP_H6, HOP_H7, m->pcpus[v->pcpu].place,
                                         now + *cost, port) &&
                !moved)
                moved = trace_last_advanced(m->tr);
            req = v->ctx_req;
            if (moved &&
                !(req && trace_req_place(m->tr, req) == (int)m->pcpus[v->pcpu].place &&
                  (trace_req_hop(m->tr, req) == HOP_H3 || trace_req_hop(m->tr, req) == HOP_H7)))
                req = moved;
        }
        {
            struct domain *rd = machine_domain(m, c->remote_dom);
            if (rd && !rd->dead && rd->rt_on_notifier) {
                /* the runtime call will run on the CPU that made this notify */
                struct vcpu *tv = rd->vcpus[rd->evtchn[c->remote_port].notify_vcpu];
                if (tv->state == VCPU_BLOCKED && !tv->queued)
                    tv->pcpu = v->pcpu;
            }
            if (rd && !rd->dead)
                evtchn_set_pending(rd, c->remote_port, now + *cost, req);
        }
        return 0;
    case ECS_IPI:
        /* to one of our own vCPUs: the work it starts there is for the sender's request */
        evtchn_set_pending(d, port, now + *cost, v->ctx_req);
        return 0;
    case ECS_UNBOUND:
        return 0; /* Xen silently drops a send on an unbound port */
    default:
        return -EINVAL;
    }
}

static long op_bind_pirq(struct vcpu *v, struct evtchn_bind_pirq *b)
{
    struct domain *d = v->d;
    if (b->pirq >= NR_PIRQS || !d->pirqs[b->pirq].used)
        return -EINVAL;
    if (d->pirqs[b->pirq].port)
        return -EBUSY;
    long p = get_free_port(d);
    if (p < 0)
        return p;
    d->evtchn[p] = (struct evtchn){.state = ECS_PIRQ, .virq = b->pirq};
    d->pirqs[b->pirq].port = (uint32_t)p;
    b->port = (evtchn_port_t)p;
    return 0;
}

static void port_close(struct domain *d, uint32_t port)
{
    struct evtchn *c = &d->evtchn[port];
    if (c->state == ECS_PIRQ && c->virq < NR_PIRQS)
        d->pirqs[c->virq].port = 0;
    if (c->state == ECS_INTERDOMAIN && c->remote_dom != DOMID_STORE) {
        struct domain *rd = machine_domain(d->m, c->remote_dom);
        if (rd && c->remote_port < EVTCHN_NR) {
            struct evtchn *rc = &rd->evtchn[c->remote_port];
            if (rc->state == ECS_INTERDOMAIN && rc->remote_dom == d->domid) {
                rc->state = ECS_UNBOUND;
                rc->remote_dom = d->domid;
            }
        }
    }
    *c = (struct evtchn){0};
}

static long op_close(struct vcpu *v, uint32_t port)
{
    if (!port_valid(v->d, port))
        return -EINVAL;
    port_close(v->d, port);
    return 0;
}

static long op_unmask(struct vcpu *v, uint32_t port, simtime_t now)
{
    struct domain *d = v->d;
    if (!port_valid(d, port) || !d->shinfo)
        return -EINVAL;
    shared_info_t *s = d->shinfo;
    xen_ulong_t bit = (xen_ulong_t)1 << (port % BITS_PER_WORD);
    __atomic_fetch_and(&s->evtchn_mask[port / BITS_PER_WORD], ~bit, __ATOMIC_SEQ_CST);
    if (test_bit(&s->evtchn_pending[port / BITS_PER_WORD], port % BITS_PER_WORD)) {
        struct vcpu *tv = d->vcpus[d->evtchn[port].notify_vcpu];
        struct vcpu_info *vi = &s->vcpu_info[tv->id];
        if (!test_and_set(&vi->evtchn_pending_sel, port / BITS_PER_WORD)) {
            vi->evtchn_upcall_pending = 1;
            sched_wake(tv, now);
        }
    }
    return 0;
}

/*
 * EVTCHNOP_bind_vcpu (Xen's evtchn_bind_vcpu): the vCPU a channel's
 * notifications go to. Interdomain and unbound channels and global VIRQs
 * move freely; a per-vCPU VIRQ stays where it was bound (-EINVAL); a pirq
 * port moves, and with it the physical interrupt's affinity
 * (pirq_set_affinity): its upcalls land on that vCPU from now on.
 */
static long op_bind_vcpu(struct vcpu *v, struct evtchn_bind_vcpu *b)
{
    struct domain *d = v->d;
    if (b->vcpu >= (uint32_t)d->nvcpus)
        return -ENOENT;
    if (!port_valid(d, b->port))
        return -ENOENT;
    struct evtchn *c = &d->evtchn[b->port];
    switch (c->state) {
    case ECS_VIRQ:
        /* Xen's virq_is_global: all but the per-vCPU ones */
        if (c->virq == VIRQ_TIMER || c->virq == VIRQ_DEBUG || c->virq == VIRQ_XENOPROF ||
            c->virq == VIRQ_XENPMU)
            return -EINVAL;
        break;
    case ECS_UNBOUND:
    case ECS_INTERDOMAIN:
    case ECS_PIRQ:
        break;
    default:
        return -EINVAL;
    }
    c->notify_vcpu = (uint8_t)b->vcpu;
    return 0;
}

static long op_status(struct vcpu *v, struct evtchn_status *st)
{
    struct domain *d = dom_lookup(v->d, st->dom);
    if (!d)
        return -ESRCH;
    if (d != v->d && !v->d->privileged)
        return -EPERM;
    if (st->port >= EVTCHN_NR)
        return -EINVAL;
    struct evtchn *c = &d->evtchn[st->port];
    st->vcpu = c->notify_vcpu;
    switch (c->state) {
    case ECS_FREE:
    case ECS_RESERVED:
        st->status = EVTCHNSTAT_closed;
        break;
    case ECS_UNBOUND:
        st->status = EVTCHNSTAT_unbound;
        st->u.unbound.dom = c->remote_dom;
        break;
    case ECS_INTERDOMAIN:
        st->status = EVTCHNSTAT_interdomain;
        st->u.interdomain.dom = c->remote_dom;
        st->u.interdomain.port = c->remote_port;
        break;
    case ECS_VIRQ:
        st->status = EVTCHNSTAT_virq;
        st->u.virq = c->virq;
        break;
    case ECS_PIRQ:
        st->status = EVTCHNSTAT_pirq;
        st->u.pirq = c->virq;
        break;
    case ECS_IPI:
        st->status = EVTCHNSTAT_ipi;
        break;
    }
    return 0;
}

#define ARG(type, name)                                                                            \
    type *name = guest_ram(v->d, arg, sizeof(type));                                               \
    if (!name)                                                                                     \
        return -EFAULT;

/*
 * Binding, allocating and closing take d->event_lock for writing (and the
 * channel's lock): the model charges them nothing, so they hold it for no
 * time, but they wait for what is ahead of them.
 */
static void control_locks(struct vcpu *v, uint32_t port, simtime_t now, simtime_t *cost)
{
    *cost += xen_lock(v, &v->d->event_lock, false, "event_lock", now + *cost, 0);
    if (port_valid(v->d, port))
        *cost += xen_lock(v, &v->d->evtchn[port].lock, false, "evtchn", now + *cost, 0);
}

long evtchn_op(struct vcpu *v, int cmd, uint64_t arg, simtime_t now, simtime_t *cost)
{
    switch (cmd) {
    case EVTCHNOP_alloc_unbound:
    case EVTCHNOP_bind_interdomain:
    case EVTCHNOP_bind_pirq:
    case EVTCHNOP_bind_virq:
    case EVTCHNOP_bind_ipi:
        control_locks(v, 0, now, cost);
        break;
    case EVTCHNOP_close:
    case EVTCHNOP_bind_vcpu: {
        const uint32_t *port = guest_ram(v->d, arg, sizeof(*port)); /* the first field of both */
        control_locks(v, port ? *port : 0, now, cost);
        break;
    }
    default:
        break;
    }
    switch (cmd) {
    case EVTCHNOP_alloc_unbound: {
        ARG(struct evtchn_alloc_unbound, a);
        return op_alloc_unbound(v, a);
    }
    case EVTCHNOP_bind_interdomain: {
        ARG(struct evtchn_bind_interdomain, b);
        return op_bind_interdomain(v, b, now + *cost);
    }
    case EVTCHNOP_bind_pirq: {
        ARG(struct evtchn_bind_pirq, b);
        return op_bind_pirq(v, b);
    }
    case EVTCHNOP_bind_virq: {
        ARG(struct evtchn_bind_virq, b);
        return op_bind_virq(v, b);
    }
    case EVTCHNOP_bind_ipi: {
        ARG(struct evtchn_bind_ipi, b);
        return op_bind_ipi(v, b);
    }
    case EVTCHNOP_send: {
        ARG(struct evtchn_send, s);
        return op_send(v, s->port, now, cost);
    }
    case EVTCHNOP_close: {
        ARG(struct evtchn_close, c);
        return op_close(v, c->port);
    }
    case EVTCHNOP_unmask: {
        ARG(struct evtchn_unmask, u);
        return op_unmask(v, u->port, now + *cost);
    }
    case EVTCHNOP_bind_vcpu: {
        ARG(struct evtchn_bind_vcpu, b);
        return op_bind_vcpu(v, b);
    }
    case EVTCHNOP_status: {
        ARG(struct evtchn_status, s);
        return op_status(v, s);
    }
    default:
        return -ENOSYS;
    }
}

/* Xen's domain destruction closes every port: peers' ends become unbound. */
void evtchn_domain_dead(struct domain *d, simtime_t when)
{
    (void)when;
    for (uint32_t p = 1; p < EVTCHN_NR; p++)
        if (d->evtchn[p].state != ECS_FREE)
            port_close(d, p);
}
