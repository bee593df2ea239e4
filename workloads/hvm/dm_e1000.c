/*
 * The device model's host side of the emulated e1000 (see dm_e1000.h):
 *
 *  - guest memory: the guest's RAM the ioreq server mapped
 *    (XENMAPSPACE_gmfn_foreign), so the emulation's descriptor and buffer
 *    accesses are DMA into the guest's memory (ioserv_guest);
 *  - the interrupt: INTx pin A through XEN_DMOP_set_pci_intx_level
 *    (ioserv_set_intx), the emulated function having no MSI;
 *  - transmit: each frame is copied into a bounce buffer of the device
 *    model's own (its pages: the real NIC DMAs from dom0's memory) and
 *    queued on the real NIC with e1k_xmit, one TDT doorbell per guest TDT
 *    write; the real driver's completion completes the guest's descriptors;
 *  - receive: the real driver's receive callback (its interrupt handler)
 *    hands every frame to the emulation, which writes it into the guest's
 *    receive ring and raises ICR.RXT0.
 *
 * Hops (traces/FORMAT.md; docs/hvm-emul.md): a test frame's request enters
 * H4 here as it is handed to the real driver; the real NIC's transmit
 * makes it H5; its answer, taken from the real NIC in the receive
 * callback, is H6 here while the emulation posts it; the INTx edge that
 * follows moves it to H7 (sim/hvm/dmop.c). Work after a request has left
 * for the device -- the real doorbell, the ioreq's answer -- is done with
 * no request context: it lies in no hop of that request.
 */
#include "dm_e1000.h"

#include <hopsim/netpkt.h>

#include "../net/e1000drv.h"
#include "dma.h"
#include "emu_e1000.h"
#include "guest.h"

#define BOUNCE_PAGES ((EMU_E1K_TX_MAX + PAGE_SIZE - 1) / PAGE_SIZE)

static struct {
    struct emu_fn fn;
    struct emu_e1k emu;
    struct e1k *real;
    uint8_t *bounce[EMU_E1K_TXQ][BOUNCE_PAGES]; /* one page each: no machine contiguity needed */
    uint64_t bounce_bus[EMU_E1K_TXQ][BOUNCE_PAGES];
    unsigned bhead, bn; /* bounce buffers in use: [bhead, bhead + bn), in transmit order */
    unsigned long tx_failed;
} dm;

/* ---- the emulation's host ---- */

static void *host_dma(void *ctx, uint64_t gpa, uint64_t len)
{
    (void)ctx;
    return ioserv_guest(&dm.fn, gpa, len);
}

static void host_set_irq(void *ctx, int level)
{
    (void)ctx;
    ioserv_set_intx(&dm.fn, level);
}

static void real_tx_done(void *arg, int status)
{
    (void)arg;
    dm.bhead = (dm.bhead + 1) % EMU_E1K_TXQ;
    dm.bn--;
    if (status)
        dm.tx_failed++;
    emu_e1k_tx_done(&dm.emu, status);
}

static int host_xmit(void *ctx, const void *frame, unsigned len)
{
    (void)ctx;
    if (dm.bn == EMU_E1K_TXQ || e1k_tx_free(dm.real) < (len + PAGE_SIZE - 1) / PAGE_SIZE)
        return -XEN_EAGAIN; /* the real ring is full: fetched again after its next completion */
    unsigned slot = (dm.bhead + dm.bn) % EMU_E1K_TXQ;
    uint16_t seglen[BOUNCE_PAGES];
    unsigned nseg = 0;
    for (unsigned off = 0; off < len; off += PAGE_SIZE, nseg++) {
        seglen[nseg] = (uint16_t)(len - off < PAGE_SIZE ? len - off : PAGE_SIZE);
        memcpy(dm.bounce[slot][nseg], (const uint8_t *)frame + off, seglen[nseg]);
    }
    uint64_t req = hopsim_pkt_req(frame, len);
    if (req != HOPSIM_NOREQ) {
        trace_ctx(req);
        trace_hop(HOP_H4, req);
    }
    int rc = e1k_xmit(dm.real, req, dm.bounce_bus[slot], seglen, nseg, real_tx_done, NULL);
    if (req != HOPSIM_NOREQ)
        trace_ctx(HOPSIM_NOREQ); /* the doorbell and the ioreq's answer serve no hop of it */
    if (!rc)
        dm.bn++;
    return rc;
}

static void host_kick(void *ctx)
{
    (void)ctx;
    e1k_kick(dm.real);
}

/* The real NIC's receive path (its interrupt handler, event context). */
static void real_rx(void *ctx, const void *frame, unsigned len)
{
    (void)ctx;
    uint64_t req = hopsim_pkt_req(frame, len);
    if (req != HOPSIM_NOREQ) {
        trace_ctx(req);
        trace_hop(HOP_H6, req);
        /* the frame goes onto the emulated NIC's receive ring: this device model's response,
         * which its next INTx edge carries to the guest (sim/hvm/dmop.c) */
        trace_hop_ring(HOP_H6, req, ioserv_ring(&dm.fn));
        trace_begin(SPAN_RING_PUT, req);
    }
    emu_e1k_receive(&dm.emu, frame, len);
    if (req != HOPSIM_NOREQ) {
        trace_end(SPAN_RING_PUT, req);
        trace_ctx(HOPSIM_NOREQ);
    }
}

/* After each real interrupt: completions may have made room for what the guest queued. */
static void real_batch(void *ctx)
{
    (void)ctx;
    emu_e1k_tx_resume(&dm.emu);
}

/* ---- the emulated PCI function ---- */

static uint64_t fn_read(struct emu_fn *f, uint64_t off, unsigned size)
{
    (void)f;
    return emu_e1k_read(&dm.emu, off, size);
}

static void fn_write(struct emu_fn *f, uint64_t off, unsigned size, uint64_t val)
{
    (void)f;
    emu_e1k_write(&dm.emu, off, size, val);
}

static const struct emu_ops e1k_ops = {.read = fn_read, .write = fn_write};

int dm_e1000_init(unsigned slot, const uint8_t mac[6])
{
    int rc = e1k_probe(NULL, &dm.real);
    if (rc) {
        printf("dm_e1000: no real e1000 to carry the guest's frames: %d\n", rc);
        return rc;
    }
    for (unsigned i = 0; i < EMU_E1K_TXQ; i++)
        for (unsigned k = 0; k < BOUNCE_PAGES; k++) {
            dm.bounce[i][k] = dma_alloc(1, &dm.bounce_bus[i][k]);
            if (!dm.bounce[i][k]) {
                printf("dm_e1000: cannot allocate transmit bounce buffers\n");
                return -XEN_ENOMEM;
            }
        }
    const struct emu_e1k_host host = {
        .dma = host_dma, .set_irq = host_set_irq, .xmit = host_xmit, .kick = host_kick};
    emu_e1k_init(&dm.emu, &host, mac);
    e1k_set_rx(dm.real, real_rx, NULL);
    e1k_set_batch_hook(dm.real, real_batch, NULL);
    dm.fn = (struct emu_fn){.name = "e1000",
                            .slot = slot,
                            .vendor = EMU_E1K_VENDOR,
                            .device = EMU_E1K_DEVICE,
                            .class_code = EMU_E1K_CLASS,
                            .bar_size = EMU_E1K_BAR0_SIZE,
                            .ops = &e1k_ops};
    return ioserv_add(&dm.fn);
}

void dm_e1000_report(void)
{
    if (!dm.real)
        return;
    const struct emu_e1k_stats *s = &dm.emu.st;
    printf("dm_e1000: %lu frames carried to the real NIC (%lu failed, %lu dropped), %lu received "
           "for the guest (%lu dropped, %lu not addressed to it)\n",
           s->tx_frames, dm.tx_failed, s->tx_dropped, s->rx_frames, s->rx_dropped, s->rx_filtered);
}
