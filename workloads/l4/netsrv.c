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
#include "srv.h"

#define PMAP_SIZE 512
#define CQ_SIZE 512

struct client {
    struct srv_client s; /* first: the session (srv.h) */
    uint8_t mac[6];
    struct srv_pmap_ent pmap[PMAP_SIZE];
    uint64_t rx_page[NET_RX_PAGES];
    unsigned nrx, rx_prod, rx_cons;
    uint64_t cq[CQ_SIZE]; /* NET_CQ_* entries */
    unsigned cq_head, cq_tail;
    unsigned long tx, rx, rx_dropped;
};

static struct client clients[SRV_MAX_CLIENTS];
static struct e1k *nic;

static void cq_put(struct client *c, uint64_t e)
{
    if (((c->cq_tail + 1) % CQ_SIZE) == c->cq_head)
        return; /* cannot happen: entries are bounded by frames in flight and receive pages */
    c->cq[c->cq_tail] = e;
    c->cq_tail = (c->cq_tail + 1) % CQ_SIZE;
    c->s.notify = 1;
}

static void tx_done(void *arg, int status)
{
    struct client *c = arg;
    if (c->s.used && !c->s.closed)
        cq_put(c, NET_CQ_TX(status));
}

/* The real NIC's receive path (its interrupt handler): to the client whose MAC it is for. */
static void rx(void *ctx, const void *frame, unsigned len)
{
    (void)ctx;
    const uint8_t *dst = frame;
    for (unsigned i = 0; i < SRV_MAX_CLIENTS; i++) {
        struct client *c = &clients[i];
        if (!c->s.used || c->s.closed || !c->nrx || memcmp(dst, c->mac, 6))
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

static struct srv_client *client(unsigned slot)
{
    return &clients[slot].s;
}

/* OPEN: mr[0] the client's MAC (big-endian, low 48 bits). */
static long op_open(unsigned slot, uint32_t from, const struct l4_msg *in, struct l4_msg *m)
{
    (void)m;
    struct client *c = &clients[slot];
    memset(c, 0, sizeof(*c));
    c->s.pmap = c->pmap;
    c->s.pmap_size = PMAP_SIZE;
    for (unsigned b = 0; b < 6; b++)
        c->mac[b] = (uint8_t)(in->mr[0] >> (8 * (5 - b)));
    printf("netsrv: client %u is thread 0x%x, MAC %02x:%02x:%02x:%02x:%02x:%02x\n", slot, from,
           c->mac[0], c->mac[1], c->mac[2], c->mac[3], c->mac[4], c->mac[5]);
    return 0;
}

/* NET_RXRING: mr[0] n, mr[1..n] the pages (each mapped to us before). */
static long op_rxring(struct client *c, const struct l4_msg *m)
{
    unsigned n = (unsigned)m->mr[0];
    if (!n || n > NET_RX_PAGES || m->nmr < 1 + n)
        return -XEN_EINVAL;
    for (unsigned k = 0; k < n; k++) {
        if (!srv_pmap_slot(&c->s, m->mr[1 + k], 0))
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
        const struct srv_pmap_ent *e = srv_pmap_slot(&c->s, w & ~0xfffull, 0);
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

/* Every call but OPEN and MAP. */
static long call(unsigned slot, const struct l4_msg *in, struct l4_msg *out)
{
    struct client *c = &clients[slot];
    if (in->label == NET_RXRING)
        return op_rxring(c, in);
    if (in->label == NET_XMIT)
        return op_xmit(c, in);
    if (in->label == SRV_FETCH) {
        op_fetch(c, in, out);
        return 0;
    }
    return -XEN_ENOSYS;
}

int app_main(void)
{
    int rc = e1k_probe(NULL, &nic);
    if (rc) {
        printf("netsrv: no usable e1000: %d\n", rc);
        return 1;
    }
    static const struct srv_ops ops = {
        .name = "netsrv", .client = client, .open = op_open, .call = call};
    e1k_set_rx(nic, rx, NULL);
    e1k_set_batch_hook(nic, srv_batch, NULL);
    unsigned port = e1k_irq_port(nic);
    printf("netsrv: serving the e1000 (interrupt %u as IPC)\n", port);
    if (srv_run(&ops, port))
        return 1;
    for (unsigned i = 0; i < SRV_MAX_CLIENTS; i++)
        if (clients[i].s.used)
            printf("netsrv: client %u: %lu frames sent, %lu received, %lu dropped\n", i,
                   clients[i].tx, clients[i].rx, clients[i].rx_dropped);
    e1k_shutdown(nic);
    return 0;
}
