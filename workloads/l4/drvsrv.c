/*
 * drvsrv.elf, the block driver server of `l4-vmm` (docs/l4.md): a
 * user-level task on the microkernel that owns the SAS HBA and runs the
 * same native driver as every other design (blk/sas.c). Its clients are
 * the VMs' VMMs, which reach it by IPC (the protocol in l4sys.h). A
 * client's DMA pages come as flexpage mappings into the server's receive
 * window; the server asks the kernel for each page's bus address when it
 * arrives, and issues only SG entries whose pages the client mapped. The
 * Each client (a session) gets its own partition of every target -- slot
 * i's is the i-th of SRV_MAX_CLIENTS equal extents -- and addresses it from
 * block 0; a command outside it is refused, so a VMM (compromised or not)
 * reaches no other VM's disk data. The
 * HBA's completion interrupt arrives as IPC to this task's thread, which
 * runs the driver's handler; each completion is queued for its client,
 * whose software interrupt is then triggered (it fetches them with a
 * call: the server never blocks on a client).
 *
 * It ends when its last client has closed or died (the kernel's
 * task-death interrupt).
 */
#include "../blk/sas.h"
#include "dma.h"
#include "guest.h"
#include "l4sys.h"

#define PMAP_SIZE 2048 /* mapped DMA pages per client (open addressing) */
#define CQ_SIZE 512

struct pmap_ent {
    uint64_t page; /* client address + 1; 0: empty */
    uint64_t bus;
};

struct client {
    int used, closed;
    uint32_t tid;
    unsigned irq;
    struct pmap_ent pmap[PMAP_SIZE];
    unsigned npages;
    struct {
        uint64_t tag;
        int status;
    } cq[CQ_SIZE];
    unsigned cq_head, cq_tail;
    int notify;
    unsigned long submitted, completed, refused, outside;
};

static struct client clients[SRV_MAX_CLIENTS];
static struct sas_hba *hba;
static struct l4_utcb u;
static unsigned opened;

static struct pmap_ent *pmap_slot(struct client *c, uint64_t page, int insert)
{
    unsigned h = (unsigned)((page >> 12) * 2654435761u) % PMAP_SIZE;
    for (unsigned i = 0; i < PMAP_SIZE; i++) {
        struct pmap_ent *e = &c->pmap[(h + i) % PMAP_SIZE];
        if (e->page == page + 1)
            return e;
        if (!e->page)
            return insert ? e : NULL;
    }
    return NULL;
}

static void done(struct sas_cmd *rc, int status)
{
    struct client *c = rc->arg;
    c->completed++;
    if (c->closed || !c->used)
        return;
    if (((c->cq_tail + 1) % CQ_SIZE) == c->cq_head) {
        printf("drvsrv: client %u's completion queue overflowed\n", (unsigned)(c - clients));
        return;
    }
    c->cq[c->cq_tail].tag = rc->tag;
    c->cq[c->cq_tail].status = status;
    c->cq_tail = (c->cq_tail + 1) % CQ_SIZE;
    c->notify = 1;
}

/* After each interrupt's completions: tell the clients that have new ones. */
static void batch(void *arg)
{
    (void)arg;
    for (unsigned i = 0; i < SRV_MAX_CLIENTS; i++) {
        struct client *c = &clients[i];
        if (!c->used || !c->notify)
            continue;
        c->notify = 0;
        struct l4_utcb t = {.dest = c->irq};
        l4_sys(L4_SYS_IRQ_TRIGGER, &t);
    }
}

static struct client *client_of(uint32_t tid)
{
    for (unsigned i = 0; i < SRV_MAX_CLIENTS; i++)
        if (clients[i].used && !clients[i].closed && clients[i].tid == tid)
            return &clients[i];
    return NULL;
}

static long op_open(uint32_t from, struct l4_msg *m)
{
    if (client_of(from))
        return -XEN_EEXIST;
    for (unsigned i = 0; i < SRV_MAX_CLIENTS; i++) {
        struct client *c = &clients[i];
        if (c->used)
            continue;
        memset(c, 0, sizeof(*c));
        c->used = 1;
        c->tid = from;
        c->irq = L4_IRQ_TASK_DEATH + 1 + i;
        opened++;
        unsigned n = sas_ntargets(hba);
        n = n > (L4_MRS - 4) / 2 ? (L4_MRS - 4) / 2 : n;
        m->mr[1] = i;
        m->mr[2] = c->irq;
        m->mr[3] = n;
        for (unsigned t = 0; t < n; t++) {
            const struct sas_target_info *ti = sas_target(hba, t);
            m->mr[4 + 2 * t] = ti ? SRV_PART(ti->blocks) : 0;
            m->mr[5 + 2 * t] = ti ? (ti->blksz | (uint64_t)ti->type << 32) : 0;
        }
        m->nmr = 4 + 2 * n;
        printf("drvsrv: client %u is thread 0x%x\n", i, from);
        return 0;
    }
    return -XEN_ENOSPC;
}

/* The page the client just mapped: its bus address, from the kernel. */
static long op_map(struct client *c, const struct l4_msg *m)
{
    if (m->item != L4_ITEM_MAP || m->fpage.order != 0)
        return -XEN_EINVAL;
    uint64_t page = m->send_base - SRV_CLIENT_BASE(c - clients);
    struct l4_utcb q = {.window = {.base = SRV_WINDOW_BASE + m->send_base}};
    if (l4_sys(L4_SYS_PHYS, &q) || !(q.msg.mr[1] & L4_W))
        return -XEN_EFAULT;
    struct pmap_ent *e = pmap_slot(c, page, 1);
    if (!e)
        return -XEN_ENOSPC;
    if (!e->page)
        c->npages++;
    e->page = page + 1;
    e->bus = q.msg.mr[0];
    return 0;
}

static long op_submit(struct client *c, const struct l4_msg *m)
{
    unsigned nsg = (unsigned)(m->mr[2] >> 48) & 0xff;
    if (nsg > SAS_MAX_SG || m->nmr < 3 + nsg)
        return -XEN_EINVAL;
    uint64_t lba = m->mr[1], nblocks = (uint32_t)m->mr[2];
    uint8_t opcode = (uint8_t)(m->mr[2] >> 32), target = (uint8_t)(m->mr[2] >> 40);
    const struct sas_target_info *ti = sas_target(hba, target);
    uint64_t part = ti ? SRV_PART(ti->blocks) : 0;
    if (opcode != SAS_OP_FLUSH && (!ti || lba >= part || nblocks > part - lba)) {
        if (!c->outside++)
            printf("drvsrv: client %u: blocks %llu+%llu of target %u are outside its partition "
                   "(%llu blocks): refused\n",
                   (unsigned)(c - clients), (unsigned long long)lba, (unsigned long long)nblocks,
                   target, (unsigned long long)part);
        c->refused++;
        return -XEN_EACCES;
    }
    struct sas_cmd *rc = sas_cmd_alloc(hba);
    if (!rc)
        return -XEN_EBUSY;
    rc->tag = m->mr[0];
    rc->lba = opcode == SAS_OP_FLUSH ? lba : (uint64_t)(c - clients) * part + lba;
    rc->nblocks = (uint32_t)nblocks;
    rc->opcode = opcode;
    rc->target = target;
    rc->nsg = (uint16_t)nsg;
    rc->done = done;
    rc->arg = c;
    for (unsigned i = 0; i < nsg; i++) {
        uint64_t w = m->mr[3 + i], page = w & ~0xfffull;
        const struct pmap_ent *e = pmap_slot(c, page, 0);
        if (!e) { /* a page the client did not map to us: never handed to the device */
            sas_cmd_free(hba, rc);
            c->refused++;
            return -XEN_EFAULT;
        }
        sas_sg_set(&rc->sg[i], e->bus, (uint32_t)(w & 0xfff) + 1);
    }
    int r = sas_cmd_submit(hba, rc); /* gives the slot back itself on failure */
    if (r)
        return r;
    sas_kick(hba);
    c->submitted++;
    return 0;
}

static void op_fetch(struct client *c, struct l4_msg *m)
{
    unsigned n = 0;
    while (c->cq_head != c->cq_tail && n < SRV_FETCH_MAX) {
        m->mr[2 + 2 * n] = c->cq[c->cq_head].tag;
        m->mr[3 + 2 * n] = (uint64_t)(int64_t)c->cq[c->cq_head].status;
        c->cq_head = (c->cq_head + 1) % CQ_SIZE;
        n++;
    }
    m->mr[1] = n | (uint64_t)(c->cq_head != c->cq_tail) << 16;
    m->nmr = 2 + 2 * n;
}

/* A client's request; the reply is built in u.msg. */
static void serve(uint32_t from)
{
    struct l4_msg in = u.msg;
    struct client *c = client_of(from);
    memset(&u.msg, 0, sizeof(u.msg));
    u.msg.nmr = 1;
    long rc;
    if (in.label == SRV_OPEN)
        rc = op_open(from, &u.msg);
    else if (!c)
        rc = -XEN_EPERM;
    else if (in.label == SRV_MAP)
        rc = op_map(c, &in);
    else if (in.label == SRV_SUBMIT)
        rc = op_submit(c, &in);
    else if (in.label == SRV_FETCH) {
        op_fetch(c, &u.msg);
        rc = 0;
    } else
        rc = -XEN_ENOSYS;
    u.msg.mr[0] = (uint64_t)rc;
}

/* Which clients are gone: a send that cannot find its partner. */
static void reap(void)
{
    for (unsigned i = 0; i < SRV_MAX_CLIENTS; i++) {
        struct client *c = &clients[i];
        if (!c->used || c->closed)
            continue;
        struct l4_utcb p = {.dest = c->tid, .from = L4_NILTHREAD, .timeout = 0};
        p.msg.label = SRV_PING;
        if (l4_sys(L4_SYS_IPC, &p) == -L4_ENOPARTNER) {
            printf("drvsrv: client %u is gone (%lu commands issued, %lu completed)\n", i,
                   c->submitted, c->completed);
            c->closed = 1;
        }
    }
}

static int live_clients(void)
{
    int n = 0;
    for (unsigned i = 0; i < SRV_MAX_CLIENTS; i++)
        n += clients[i].used && !clients[i].closed;
    return n;
}

int app_main(void)
{
    int rc = sas_probe(SAS_DEFAULT_QSIZE, &hba);
    if (rc) {
        printf("drvsrv: no usable SAS HBA: %d\n", rc);
        return 1;
    }
    sas_set_batch_hook(hba, batch, NULL);
    unsigned port = sas_irq_port(hba);
    struct l4_utcb a = {.dest = port};
    struct l4_utcb d = {.dest = L4_IRQ_TASK_DEATH};
    if (l4_sys(L4_SYS_IRQ_ATTACH, &a) || l4_sys(L4_SYS_IRQ_ATTACH, &d)) {
        printf("drvsrv: cannot attach the HBA's interrupt (port %u)\n", port);
        return 1;
    }
    printf("drvsrv: serving the SAS HBA (interrupt %u as IPC)\n", port);
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
            struct client *c = client_of(u.from);
            if (c)
                c->closed = 1;
        } else {
            serve(u.from);
            u.dest = u.from;
        }
        if (opened && !live_clients())
            break;
    }
    printf("drvsrv: every client is gone; %u served\n", opened);
    return 0;
}
