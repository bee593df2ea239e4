/*
 * The driver servers' common part (srv.h): sessions, MAP, notification,
 * the reaper and the receive loop. A server is a task that never blocks on
 * a client (the classic L4 server rule): it answers each call with a send
 * of timeout 0 joined to its next open receive (reply-and-wait), tells a
 * client of completions by its software interrupt, and learns of a
 * client's death from the kernel's task-death interrupt.
 */
#include "srv.h"

#include "guest.h"

static const struct srv_ops *ops;
static struct l4_utcb u;
static unsigned opened;

struct srv_pmap_ent *srv_pmap_slot(struct srv_client *c, uint64_t page, int insert)
{
    unsigned h = (unsigned)((page >> 12) * 2654435761u) % c->pmap_size;
    for (unsigned i = 0; i < c->pmap_size; i++) {
        struct srv_pmap_ent *e = &c->pmap[(h + i) % c->pmap_size];
        if (e->page == page + 1)
            return e;
        if (!e->page)
            return insert ? e : NULL;
    }
    return NULL;
}

void srv_batch(void *arg)
{
    (void)arg;
    if (!ops)
        return; /* not serving yet: no client to tell */
    for (unsigned i = 0; i < SRV_MAX_CLIENTS; i++) {
        struct srv_client *c = ops->client(i);
        if (!c->used || !c->notify)
            continue;
        c->notify = 0;
        struct l4_utcb t = {.dest = c->irq};
        l4_sys(L4_SYS_IRQ_TRIGGER, &t);
    }
}

/* The open client that is thread `tid`: its slot, or -1. */
static int slot_of(uint32_t tid)
{
    for (unsigned i = 0; i < SRV_MAX_CLIENTS; i++) {
        const struct srv_client *c = ops->client(i);
        if (c->used && !c->closed && c->tid == tid)
            return (int)i;
    }
    return -1;
}

static long op_open(uint32_t from, const struct l4_msg *in, struct l4_msg *out)
{
    if (slot_of(from) >= 0)
        return -XEN_EEXIST;
    for (unsigned i = 0; i < SRV_MAX_CLIENTS; i++) {
        if (ops->client(i)->used)
            continue;
        out->nmr = 3;
        long rc = ops->open(i, from, in, out);
        if (rc)
            return rc;
        struct srv_client *c = ops->client(i);
        c->used = 1;
        c->tid = from;
        c->irq = L4_IRQ_TASK_DEATH + 1 + i;
        out->mr[1] = i;
        out->mr[2] = c->irq;
        opened++;
        return 0;
    }
    return -XEN_ENOSPC;
}

/* MAP: the page the client just mapped into its part of our window; its bus address, from
 * the kernel. */
static long op_map(unsigned slot, const struct l4_msg *m)
{
    struct srv_client *c = ops->client(slot);
    if (m->item != L4_ITEM_MAP || m->fpage.order != 0)
        return -XEN_EINVAL;
    uint64_t page = m->send_base - SRV_CLIENT_BASE(slot);
    struct l4_utcb q = {.window = {.base = SRV_WINDOW_BASE + m->send_base}};
    if (l4_sys(L4_SYS_PHYS, &q) || !(q.msg.mr[1] & L4_W))
        return -XEN_EFAULT;
    struct srv_pmap_ent *e = srv_pmap_slot(c, page, 1);
    if (!e)
        return -XEN_ENOSPC;
    if (!e->page)
        c->npages++;
    e->page = page + 1;
    e->bus = q.msg.mr[0];
    return 0;
}

/* A client's call; the reply is built in u.msg. */
static void serve(uint32_t from)
{
    struct l4_msg in = u.msg;
    int slot = slot_of(from);
    memset(&u.msg, 0, sizeof(u.msg));
    u.msg.nmr = 1;
    long rc;
    if (in.label == SRV_OPEN)
        rc = op_open(from, &in, &u.msg);
    else if (slot < 0)
        rc = -XEN_EPERM;
    else if (in.label == SRV_MAP)
        rc = op_map((unsigned)slot, &in);
    else
        rc = ops->call((unsigned)slot, &in, &u.msg);
    u.msg.mr[0] = (uint64_t)rc;
}

/* Which clients are gone: a send that cannot find its partner. */
static void reap(void)
{
    for (unsigned i = 0; i < SRV_MAX_CLIENTS; i++) {
        struct srv_client *c = ops->client(i);
        if (!c->used || c->closed)
            continue;
        struct l4_utcb p = {.dest = c->tid, .from = L4_NILTHREAD, .timeout = 0};
        p.msg.label = SRV_PING;
        if (l4_sys(L4_SYS_IPC, &p) == -L4_ENOPARTNER) {
            if (ops->gone)
                ops->gone(i);
            c->closed = 1;
        }
    }
}

static int live_clients(void)
{
    int n = 0;
    for (unsigned i = 0; i < SRV_MAX_CLIENTS; i++) {
        const struct srv_client *c = ops->client(i);
        n += c->used && !c->closed;
    }
    return n;
}

int srv_run(const struct srv_ops *o, unsigned port)
{
    ops = o;
    struct l4_utcb a = {.dest = port};
    struct l4_utcb d = {.dest = L4_IRQ_TASK_DEATH};
    if (l4_sys(L4_SYS_IRQ_ATTACH, &a) || l4_sys(L4_SYS_IRQ_ATTACH, &d)) {
        printf("%s: cannot attach the device's interrupt (port %u)\n", ops->name, port);
        return 1;
    }
    u.window = (struct l4_fpage){
        .base = SRV_WINDOW_BASE, .order = SRV_WINDOW_ORDER, .rights = L4_R | L4_W};
    u.dest = L4_NILTHREAD;
    for (;;) {
        u.from = L4_ANY;
        u.timeout = L4_NEVER;
        long r = l4_sys(L4_SYS_IPC, &u);
        u.dest = L4_NILTHREAD;
        if (r < 0)
            continue;
        if (l4_is_irq(u.from)) {
            if (u.msg.mr[0] == port)
                evtchn_run(port); /* the driver's handler, as an upcall would run it */
            else if (u.msg.mr[0] == L4_IRQ_TASK_DEATH)
                reap();
        } else if (u.msg.label == SRV_CLOSE) {
            int slot = slot_of(u.from);
            if (slot >= 0)
                ops->client((unsigned)slot)->closed = 1;
        } else {
            serve(u.from);
            u.dest = u.from;
        }
        if (opened && !live_clients())
            break;
    }
    printf("%s: every client is gone; %u served\n", ops->name, opened);
    return 0;
}
