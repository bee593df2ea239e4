/*
 * netsrv.elf, the network driver server of `l4-vmm` (docs/l4.md): a
 * user-level task on the microkernel that owns the e1000 and runs the
 * same native driver as every other design (net/e1000drv.c). Its clients
 * are the VMs' VMMs (the protocol in l4sys.h, NET_*):
 *
 *  - transmit: a client's frame lies in pages it mapped to the server
 *    (flexpage map, as the block server's DMA pages); the server queues it
 *    on the real NIC at their bus addresses, and its transmit completion
 *    is queued for the client;
 *  - receive: each client maps a ring of receive pages to the server (CPU
 *    reachable in its window) and names their addresses with NET_RXRING;
 *    the real driver's receive callback copies a frame addressed to a
 *    client's MAC into its next free page and queues it for the client.
 *
 * A client learns of queued work from its software interrupt and fetches
 * it with a call; the server never blocks on a client. The NIC's interrupt
 * arrives as IPC. It ends when its last client has closed or died.
 */
#include <hopsim/netpkt.h>

#include "../net/e1000drv.h"
#include "dma.h"
#include "guest.h"
#include "l4sys.h"

#define PMAP_SIZE 512
#define CQ_SIZE 512

struct pmap_ent {
    uint64_t page; /* client address + 1; 0: empty */
    uint64_t bus;
};

struct client {
    int used, closed;
    uint32_t tid;
    unsigned irq;
    uint8_t mac[6];
    struct pmap_ent pmap[PMAP_SIZE];
    uint64_t rx_page[NET_RX_PAGES];
    unsigned nrx, rx_prod, rx_cons;
    uint64_t cq[CQ_SIZE]; /* NET_CQ_* entries */
    unsigned cq_head, cq_tail;
    int notify;
    unsigned long tx, rx, rx_dropped;
};

static struct client clients[SRV_MAX_CLIENTS];
static struct e1k *nic;
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

static void cq_put(struct client *c, uint64_t e)
{
    if (((c->cq_tail + 1) % CQ_SIZE) == c->cq_head)
        return; /* cannot happen: entries are bounded by frames in flight and receive pages */
    c->cq[c->cq_tail] = e;
    c->cq_tail = (c->cq_tail + 1) % CQ_SIZE;
    c->notify = 1;
}

static void tx_done(void *arg, int status)
{
    struct client *c = arg;
    if (c->used && !c->closed)
        cq_put(c, NET_CQ_TX(status));
}

/* The real NIC's receive path (its interrupt handler): to the client whose MAC it is for. */
static void rx(void *ctx, const void *frame, unsigned len)
{
    (void)ctx;
    const uint8_t *dst = frame;
    for (unsigned i = 0; i < SRV_MAX_CLIENTS; i++) {
        struct client *c = &clients[i];
        if (!c->used || c->closed || !c->nrx || memcmp(dst, c->mac, 6))
            continue;
        uint64_t req = hopsim_pkt_req(frame, len);
        if (req != HOPSIM_NOREQ) {
            trace_ctx(req);
            trace_hop(HOP_H6, req);
        }
        if (c->rx_prod - c->rx_cons == c->nrx || len > PAGE_SIZE) {
            c->rx_dropped++;
            if (req != HOPSIM_NOREQ)
                trace_ctx(HOPSIM_NOREQ);
            return;
        }
        unsigned k = c->rx_prod++ % c->nrx;
        memcpy((void *)(uintptr_t)(SRV_WINDOW_BASE + SRV_CLIENT_BASE(i) + c->rx_page[k]), frame,
               len);
        c->rx++;
        cq_put(c, NET_CQ_RX(k, len));
        if (req != HOPSIM_NOREQ)
            trace_ctx(HOPSIM_NOREQ);
        return;
    }
}

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

static long op_open(uint32_t from, const struct l4_msg *in, struct l4_msg *m)
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
        for (unsigned b = 0; b < 6; b++)
            c->mac[b] = (uint8_t)(in->mr[0] >> (8 * (5 - b)));
        opened++;
        m->mr[1] = i;
        m->mr[2] = c->irq;
        m->nmr = 3;
        printf("netsrv: client %u is thread 0x%x, MAC %02x:%02x:%02x:%02x:%02x:%02x\n", i, from,
               c->mac[0], c->mac[1], c->mac[2], c->mac[3], c->mac[4], c->mac[5]);
        return 0;
    }
    return -XEN_ENOSPC;
}

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
    e->page = page + 1;
    e->bus = q.msg.mr[0];
    return 0;
}

/* NET_RXRING: mr[0] n, mr[1..n] the pages (each mapped to us before). */
static long op_rxring(struct client *c, const struct l4_msg *m)
{
    unsigned n = (unsigned)m->mr[0];
    if (!n || n > NET_RX_PAGES || m->nmr < 1 + n)
        return -XEN_EINVAL;
    for (unsigned k = 0; k < n; k++) {
        if (!pmap_slot(c, m->mr[1 + k], 0))
            return -XEN_EFAULT;
        c->rx_page[k] = m->mr[1 + k];
    }
    c->nrx = n;
    c->rx_prod = c->rx_cons = 0;
    return 0;
}

/* NET_XMIT: mr[0] req, mr[1] nseg, mr[2 + i] page | (len - 1). */
static long op_xmit(struct client *c, const struct l4_msg *m)
{
    unsigned nseg = (unsigned)m->mr[1];
    uint64_t bus[E1K_MAX_SEGS];
    uint16_t len[E1K_MAX_SEGS];
    if (!nseg || nseg > E1K_MAX_SEGS || m->nmr < 2 + nseg)
        return -XEN_EINVAL;
    for (unsigned i = 0; i < nseg; i++) {
        uint64_t w = m->mr[2 + i];
        const struct pmap_ent *e = pmap_slot(c, w & ~0xfffull, 0);
        if (!e)
            return -XEN_EFAULT; /* not a page the client mapped to us */
        bus[i] = e->bus;
        len[i] = (uint16_t)((w & 0xfff) + 1);
    }
    uint64_t req = m->mr[0];
    if (req != HOPSIM_NOREQ)
        trace_ctx(req);
    int rc = e1k_xmit(nic, req, bus, len, nseg, tx_done, c);
    if (!rc)
        e1k_kick(nic);
    if (req != HOPSIM_NOREQ)
        trace_ctx(HOPSIM_NOREQ); /* the reply serves no hop of it */
    if (!rc)
        c->tx++;
    return rc;
}

/* NET_FETCH: mr[0] receive pages the client is done with; reply: n, entries. */
static void op_fetch(struct client *c, const struct l4_msg *in, struct l4_msg *m)
{
    unsigned done = (unsigned)in->mr[0];
    if (done <= c->rx_prod - c->rx_cons)
        c->rx_cons += done;
    unsigned n = 0;
    while (c->cq_head != c->cq_tail && n < L4_MRS - 2) {
        m->mr[2 + n++] = c->cq[c->cq_head];
        c->cq_head = (c->cq_head + 1) % CQ_SIZE;
    }
    m->mr[1] = n | (uint64_t)(c->cq_head != c->cq_tail) << 16;
    m->nmr = 2 + n;
}

static void serve(uint32_t from)
{
    struct l4_msg in = u.msg;
    struct client *c = client_of(from);
    memset(&u.msg, 0, sizeof(u.msg));
    u.msg.nmr = 1;
    long rc;
    if (in.label == SRV_OPEN)
        rc = op_open(from, &in, &u.msg);
    else if (!c)
        rc = -XEN_EPERM;
    else if (in.label == SRV_MAP)
        rc = op_map(c, &in);
    else if (in.label == NET_RXRING)
        rc = op_rxring(c, &in);
    else if (in.label == NET_XMIT)
        rc = op_xmit(c, &in);
    else if (in.label == SRV_FETCH) {
        op_fetch(c, &in, &u.msg);
        rc = 0;
    } else
        rc = -XEN_ENOSYS;
    u.msg.mr[0] = (uint64_t)rc;
}

static void reap(void)
{
    for (unsigned i = 0; i < SRV_MAX_CLIENTS; i++) {
        struct client *c = &clients[i];
        if (!c->used || c->closed)
            continue;
        struct l4_utcb p = {.dest = c->tid, .from = L4_NILTHREAD, .timeout = 0};
        p.msg.label = SRV_PING;
        if (l4_sys(L4_SYS_IPC, &p) == -L4_ENOPARTNER)
            c->closed = 1;
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
    int rc = e1k_probe(NULL, &nic);
    if (rc) {
        printf("netsrv: no usable e1000: %d\n", rc);
        return 1;
    }
    e1k_set_rx(nic, rx, NULL);
    e1k_set_batch_hook(nic, batch, NULL);
    unsigned port = e1k_irq_port(nic);
    struct l4_utcb a = {.dest = port};
    struct l4_utcb d = {.dest = L4_IRQ_TASK_DEATH};
    if (l4_sys(L4_SYS_IRQ_ATTACH, &a) || l4_sys(L4_SYS_IRQ_ATTACH, &d)) {
        printf("netsrv: cannot attach the NIC's interrupt (port %u)\n", port);
        return 1;
    }
    printf("netsrv: serving the e1000 (interrupt %u as IPC)\n", port);
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
                evtchn_run(port);
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
    for (unsigned i = 0; i < SRV_MAX_CLIENTS; i++)
        if (clients[i].used)
            printf("netsrv: client %u: %lu frames sent, %lu received, %lu dropped\n", i,
                   clients[i].tx, clients[i].rx, clients[i].rx_dropped);
    e1k_shutdown(nic);
    return 0;
}
