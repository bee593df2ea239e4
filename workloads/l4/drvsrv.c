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
#include "srv.h"

#define PMAP_SIZE 2048 /* mapped DMA pages per client (open addressing) */
#define CQ_SIZE 512

struct client {
    struct srv_client s; /* first: the session (srv.h) */
    struct srv_pmap_ent pmap[PMAP_SIZE];
    struct {
        uint64_t tag;
        int status;
    } cq[CQ_SIZE];
    unsigned cq_head, cq_tail;
    unsigned long submitted, completed, refused, outside;
};

static struct client clients[SRV_MAX_CLIENTS];
static struct sas_hba *hba;

static void done(struct sas_cmd *rc, int status)
{
    struct client *c = rc->arg;
    c->completed++;
    if (c->s.closed || !c->s.used)
        return;
    if (((c->cq_tail + 1) % CQ_SIZE) == c->cq_head) {
        printf("drvsrv: client %u's completion queue overflowed\n", (unsigned)(c - clients));
        return;
    }
    c->cq[c->cq_tail].tag = rc->tag;
    c->cq[c->cq_tail].status = status;
    c->cq_tail = (c->cq_tail + 1) % CQ_SIZE;
    c->s.notify = 1;
}

static struct srv_client *client(unsigned slot)
{
    return &clients[slot].s;
}

/* OPEN: the targets, each as the client's own partition of it. */
static long op_open(unsigned slot, uint32_t from, const struct l4_msg *in, struct l4_msg *m)
{
    (void)in;
    struct client *c = &clients[slot];
    memset(c, 0, sizeof(*c));
    c->s.pmap = c->pmap;
    c->s.pmap_size = PMAP_SIZE;
    unsigned n = sas_ntargets(hba);
    n = n > (L4_MRS - 4) / 2 ? (L4_MRS - 4) / 2 : n;
    m->mr[3] = n;
    for (unsigned t = 0; t < n; t++) {
        const struct sas_target_info *ti = sas_target(hba, t);
        m->mr[4 + 2 * t] = ti ? SRV_PART(ti->blocks) : 0;
        m->mr[5 + 2 * t] = ti ? (ti->blksz | (uint64_t)ti->type << 32) : 0;
    }
    m->nmr = 4 + 2 * n;
    printf("drvsrv: client %u is thread 0x%x\n", slot, from);
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
        const struct srv_pmap_ent *e = srv_pmap_slot(&c->s, page, 0);
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

/* Every call but OPEN and MAP. */
static long call(unsigned slot, const struct l4_msg *in, struct l4_msg *out)
{
    struct client *c = &clients[slot];
    if (in->label == SRV_SUBMIT)
        return op_submit(c, in);
    if (in->label == SRV_FETCH) {
        op_fetch(c, out);
        return 0;
    }
    return -XEN_ENOSYS;
}

static void gone(unsigned slot)
{
    printf("drvsrv: client %u is gone (%lu commands issued, %lu completed)\n", slot,
           clients[slot].submitted, clients[slot].completed);
}

int app_main(void)
{
    static const struct srv_ops ops = {
        .name = "drvsrv", .client = client, .open = op_open, .call = call, .gone = gone};
    int rc = sas_probe(SAS_DEFAULT_QSIZE, &hba);
    if (rc) {
        printf("drvsrv: no usable SAS HBA: %d\n", rc);
        return 1;
    }
    sas_set_batch_hook(hba, srv_batch, NULL);
    unsigned port = sas_irq_port(hba);
    printf("drvsrv: serving the SAS HBA (interrupt %u as IPC)\n", port);
    return srv_run(&ops, port);
}
