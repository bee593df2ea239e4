/*
 * The VMM's host side of the emulated e1000 (hvm/emu_e1000.c, the unit
 * hvm-emul's device model hosts in dm_e1000.c) under `l4-vmm`:
 *
 *  - guest memory: the VM's RAM the kernel mapped into this VMM;
 *  - the interrupt: INTx through the kernel (vmm.c's ioserv_set_intx);
 *  - transmit: each frame is copied into transmit pages of the VMM's own,
 *    mapped to the network driver server (flexpage, once per page), and
 *    handed to it with a NET_XMIT call; the server's transmit completion
 *    comes back through FETCH and completes the guest's descriptors;
 *  - receive: the VMM maps a ring of receive pages to the server, which
 *    copies each frame for this VM's MAC into the next one; FETCH names
 *    them and the emulation writes them into the guest's receive ring.
 *
 * Hops (as dm_e1000.c's): a test frame's request enters H4 here as it is
 * handed to the server; the real NIC makes it H5; its answer is H6 from
 * the server's receive callback until the VMM raises the VM's INTx line
 * (H7, vmm.c).
 */
#include "vmm_e1000.h"

#include <hopsim/netpkt.h>

#include "../hvm/emu_e1000.h"
#include "../hvm/ioserv.h"
#include "dma.h"
#include "guest.h"
#include "l4sys.h"
#include "vmm.h"

#define TX_PAGES ((EMU_E1K_TX_MAX + PAGE_SIZE - 1) / PAGE_SIZE)
#define RX_PAGES 16

static struct {
    struct emu_fn fn;
    struct emu_e1k emu;
    uint32_t server;
    unsigned slot, irq, rx_done;
    uint8_t *tx[EMU_E1K_TXQ][TX_PAGES];
    uint8_t tx_mapped[EMU_E1K_TXQ][TX_PAGES];
    unsigned bhead, bn;
    uint8_t *rx[RX_PAGES];
    int dead;
    unsigned long tx_failed, maps;
} ve;

static struct l4_utcb cu;

static long call(void)
{
    cu.dest = cu.from = ve.server;
    cu.timeout = L4_NEVER;
    long r = l4_sys(L4_SYS_IPC, &cu);
    if (r) {
        if (!ve.dead)
            printf("vmm_e1000: the network server is unreachable: %ld\n", r);
        ve.dead = 1;
        return -XEN_EIO;
    }
    return (long)cu.msg.mr[0];
}

/* Map our page p to the server (its address there: window + our slot + p). */
static long map_page(const void *p)
{
    uint64_t gpa = (uint64_t)(uintptr_t)p;
    memset(&cu.msg, 0, sizeof(cu.msg));
    cu.msg.label = SRV_MAP;
    cu.msg.item = L4_ITEM_MAP;
    cu.msg.fpage = (struct l4_fpage){.base = gpa, .order = 0, .rights = L4_R | L4_W};
    cu.msg.send_base = SRV_CLIENT_BASE(ve.slot) + gpa;
    long r = call();
    if (!r)
        ve.maps++;
    return r;
}

static void *host_dma(void *ctx, uint64_t gpa, uint64_t len)
{
    (void)ctx;
    return ioserv_guest(&ve.fn, gpa, len);
}

static void host_set_irq(void *ctx, int level)
{
    (void)ctx;
    ioserv_set_intx(&ve.fn, level);
}

static int host_xmit(void *ctx, const void *frame, unsigned len)
{
    (void)ctx;
    if (ve.dead)
        return -XEN_EIO;
    if (ve.bn == EMU_E1K_TXQ)
        return -XEN_EAGAIN;
    unsigned slot = (ve.bhead + ve.bn) % EMU_E1K_TXQ, nseg = 0;
    memset(&cu.msg, 0, sizeof(cu.msg));
    uint64_t seg[TX_PAGES];
    for (unsigned off = 0; off < len; off += PAGE_SIZE, nseg++) {
        unsigned n = len - off < PAGE_SIZE ? len - off : PAGE_SIZE;
        memcpy(ve.tx[slot][nseg], (const uint8_t *)frame + off, n);
        if (!ve.tx_mapped[slot][nseg]) {
            if (map_page(ve.tx[slot][nseg]))
                return -XEN_EIO;
            ve.tx_mapped[slot][nseg] = 1;
        }
        seg[nseg] = (uint64_t)(uintptr_t)ve.tx[slot][nseg] | (n - 1);
    }
    uint64_t req = hopsim_pkt_req(frame, len);
    if (req != HOPSIM_NOREQ) {
        trace_ctx(req);
        trace_hop(HOP_H4, req);
    }
    memset(&cu.msg, 0, sizeof(cu.msg));
    cu.msg.label = NET_XMIT;
    cu.msg.nmr = 2 + nseg;
    cu.msg.mr[0] = req;
    cu.msg.mr[1] = nseg;
    for (unsigned i = 0; i < nseg; i++)
        cu.msg.mr[2 + i] = seg[i];
    long rc = call();
    if (req != HOPSIM_NOREQ)
        trace_ctx(HOPSIM_NOREQ); /* the exit's answer serves no hop of it */
    if (rc == -XEN_EAGAIN)
        return (int)rc;
    if (rc) {
        ve.tx_failed++;
        return (int)rc; /* dropped: its descriptors complete */
    }
    ve.bn++;
    return 0;
}

static void host_kick(void *ctx)
{
    (void)ctx; /* the server rang the real doorbell with each frame */
}

void l4_e1k_irq(void)
{
    unsigned more = 1;
    int tx = 0;
    /* until nothing is left and the server knows which receive pages are free again */
    while (!ve.dead && (more || ve.rx_done)) {
        memset(&cu.msg, 0, sizeof(cu.msg));
        cu.msg.label = SRV_FETCH;
        cu.msg.nmr = 1;
        cu.msg.mr[0] = ve.rx_done;
        ve.rx_done = 0;
        if (call())
            break;
        unsigned n = (unsigned)cu.msg.mr[1] & 0xffff;
        more = (unsigned)(cu.msg.mr[1] >> 16) & 1;
        struct l4_msg got = cu.msg;
        for (unsigned i = 0; i < n && i < L4_MRS - 2; i++) {
            uint64_t e = got.mr[2 + i];
            if (!NET_CQ_IS_RX(e)) {
                ve.bhead = (ve.bhead + 1) % EMU_E1K_TXQ;
                ve.bn--;
                if (NET_CQ_TX_STATUS(e))
                    ve.tx_failed++;
                emu_e1k_tx_done(&ve.emu, NET_CQ_TX_STATUS(e));
                tx = 1;
                continue;
            }
            unsigned k = NET_CQ_RX_PAGE(e), len = NET_CQ_RX_LEN(e);
            if (k < RX_PAGES && len <= PAGE_SIZE) {
                uint64_t req = hopsim_pkt_req(ve.rx[k], len);
                if (req != HOPSIM_NOREQ)
                    l4_vmm_posted(req);
                emu_e1k_receive(&ve.emu, ve.rx[k], len);
            }
            ve.rx_done++;
        }
    }
    if (tx)
        emu_e1k_tx_resume(&ve.emu);
}

unsigned l4_e1k_irq_number(void)
{
    return ve.irq;
}

static uint64_t fn_read(struct emu_fn *f, uint64_t off, unsigned size)
{
    (void)f;
    return emu_e1k_read(&ve.emu, off, size);
}

static void fn_write(struct emu_fn *f, uint64_t off, unsigned size, uint64_t val)
{
    (void)f;
    emu_e1k_write(&ve.emu, off, size, val);
}

static const struct emu_ops e1k_ops = {.read = fn_read, .write = fn_write};

int l4_e1k_init(unsigned slot, const uint8_t mac[6], const char *server)
{
    ve.server = l4_task_thread(server);
    if (!ve.server) {
        printf("vmm_e1000: no network server task '%s'\n", server);
        return -XEN_ENODEV;
    }
    memset(&cu.msg, 0, sizeof(cu.msg));
    cu.msg.label = SRV_OPEN;
    cu.msg.nmr = 1;
    for (unsigned b = 0; b < 6; b++)
        cu.msg.mr[0] = cu.msg.mr[0] << 8 | mac[b];
    long r = call();
    if (r)
        return (int)r;
    ve.slot = (unsigned)cu.msg.mr[1];
    ve.irq = (unsigned)cu.msg.mr[2];
    struct l4_utcb a = {.dest = ve.irq};
    if (l4_sys(L4_SYS_IRQ_ATTACH, &a))
        return -XEN_EIO;
    for (unsigned i = 0; i < EMU_E1K_TXQ; i++)
        for (unsigned k = 0; k < TX_PAGES; k++)
            if (!(ve.tx[i][k] = page_zalloc(1)))
                return -XEN_ENOMEM;
    struct l4_msg ring = {.label = NET_RXRING, .nmr = 1 + RX_PAGES, .mr = {RX_PAGES}};
    for (unsigned k = 0; k < RX_PAGES; k++) {
        if (!(ve.rx[k] = page_zalloc(1)) || map_page(ve.rx[k]))
            return -XEN_ENOMEM;
        ring.mr[1 + k] = (uint64_t)(uintptr_t)ve.rx[k];
    }
    cu.msg = ring;
    if ((r = call()))
        return (int)r;
    const struct emu_e1k_host host = {
        .dma = host_dma, .set_irq = host_set_irq, .xmit = host_xmit, .kick = host_kick};
    emu_e1k_init(&ve.emu, &host, mac);
    ve.fn = (struct emu_fn){.name = "e1000",
                            .slot = slot,
                            .vendor = EMU_E1K_VENDOR,
                            .device = EMU_E1K_DEVICE,
                            .class_code = EMU_E1K_CLASS,
                            .bar_size = EMU_E1K_BAR0_SIZE,
                            .ops = &e1k_ops};
    printf("vmm_e1000: network server 0x%x, client %u, frames on interrupt %u\n", ve.server,
           ve.slot, ve.irq);
    return ioserv_add(&ve.fn);
}

void l4_e1k_close(void)
{
    if (!ve.server)
        return;
    const struct emu_e1k_stats *s = &ve.emu.st;
    printf("vmm_e1000: %lu frames carried to the server (%lu failed, %lu dropped), %lu received "
           "for the guest (%lu dropped, %lu not addressed to it), %lu pages mapped to it\n",
           s->tx_frames, ve.tx_failed, s->tx_dropped, s->rx_frames, s->rx_dropped, s->rx_filtered,
           ve.maps);
    if (ve.dead)
        return;
    struct l4_utcb c = {.dest = ve.server, .from = L4_NILTHREAD, .timeout = L4_NEVER};
    c.msg.label = SRV_CLOSE;
    l4_sys(L4_SYS_IPC, &c);
    ve.dead = 1;
}
