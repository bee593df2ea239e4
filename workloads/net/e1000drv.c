/*
 * Native driver for the Intel 82540EM (e1000) NIC (see e1000drv.h; the
 * platform's model is models/e1000.c, the register layout below is the
 * driver's own copy of Intel's, as a real driver keeps it).
 *
 * Assumptions:
 * - One NIC, function 0 of some slot on bus 0, BAR0 assigned by firmware;
 *   registers are reached at BAR0's guest-physical address (identity
 *   mapping) with volatile, aligned 32-bit accesses (the model ignores any
 *   other write size). MMIO reads cost ~850 ns of simulated time: the fast
 *   path reads only ICR (once per interrupt) and never polls a register;
 *   transmit and receive progress is learnt from the descriptors' DD bits
 *   in memory, never from TDH/RDH.
 * - DMA addresses are bus = machine addresses (lib/dma.h). Each descriptor
 *   ring is one machine-contiguous block (dma_alloc, zeroed); receive
 *   buffers are 2048-byte halves of pages (page_alloc), so a buffer never
 *   crosses a page and needs no machine contiguity beyond its page.
 * - RCTL.BSIZE = 2048 and frames of at most 1522 bytes (the model refuses
 *   longer ones; real hardware does too without RCTL.LPE): every received
 *   frame is one descriptor with EOP. A frame spread over several
 *   descriptors is dropped whole and counted in rx_errors.
 * - Reset (CTRL.RST) completes at once in the model (the bit reads back 0
 *   on the next read); the driver still polls it, bounded, as real
 *   hardware needs. EERD reads complete at once in the model (DONE is set
 *   by the START write); also polled, bounded. The model sets CTRL.SLU
 *   itself on reset, so writing SLU again raises no LSC.
 * - Written as real hardware needs, stored but ignored by the model:
 *   RCTL.BAM and RCTL.SECRC (the model accepts every frame and never
 *   appends an FCS, which is what SECRC asks for), TCTL.PSP/CT/COLD, TIPG,
 *   MTA and RAL/RAH (no address filtering in the model).
 *
 * Transmit ring (software indices; `tx_tail` = next descriptor to write,
 * `tx_clean` = first descriptor not yet completed):
 * - One descriptor always stays unused, so tx_tail == tx_clean means
 *   empty and at most ntx - 1 descriptors are in flight.
 * - A frame of nseg buffers takes nseg consecutive descriptors; the last
 *   has EOP | IFCS | RS, so the NIC writes DD back for it alone (the model
 *   writes DD only for RS descriptors) and raises ICR.TXDW. The shadow
 *   slot of the frame's first descriptor holds the index of its last; the
 *   slot of its last holds done/arg/req.
 * - Each descriptor is written whole (status = 0), so a DD left from the
 *   ring's previous lap never survives into a new frame.
 * - Ordering: descriptors are written with ordinary stores, then the TDT
 *   doorbell with a volatile MMIO store after a compiler barrier. x86
 *   keeps stores in order (TSO) and MMIO is uncached, so the NIC never
 *   fetches a descriptor older than the doorbell.
 * - Completion: from tx_clean, while the next frame's last descriptor has
 *   DD: its descriptors are freed first, then done(arg, 0) runs (so done()
 *   may queue the next frame at once).
 *
 * Receive ring (`rx_next` = next descriptor the NIC fills):
 * - Every descriptor always owns a buffer. RDT points at the descriptor
 *   the driver processed last (initially the last one, nrx - 1): the NIC
 *   owns [RDH, RDT), so that one descriptor is held back and RDH == RDT
 *   only ever means "nothing free for the NIC", never "all free". After a frame is handled its
 * descriptor's status is cleared and it becomes the held-back one; RDT is written once per
 * interrupt, after a compiler barrier (the cleared status must be in memory before the NIC may
 * reuse the descriptor).
 * - A descriptor's length, errors and buffer are read after its DD (read
 *   barrier; TSO keeps loads in order).
 *
 * Interrupt handler (upcall context): read ICR once (the read clears every
 * cause and lowers the line in the model and on real hardware), clean the
 * transmit ring, drain the receive ring, count RXO/LSC, PHYSDEVOP_eoi,
 * then the batch hook. Both rings are scanned whatever ICR says: a DD
 * check is one memory load, and a cause set after the ICR read raises a
 * new interrupt (the read cleared it), so nothing is lost either way.
 *
 * Several vCPUs (a backend domain's, lib/smp.h): the transmit ring --
 * tx_tail, tx_clean, the doorbell, the shadow slots -- is under `lock`
 * (Linux's netif_tx_lock), taken with event delivery off, so transmits
 * queued from any vCPU and the cleaning in the interrupt handler never
 * see a half-written frame or a moving tail. Completed frames are taken
 * off the ring under the lock and their done() runs after it is dropped,
 * so done() may take the caller's own locks (which the caller holds when
 * it queues a frame: its lock before ours, never after) and may queue the
 * next frame at once. The receive ring is the interrupt handler's alone
 * (one event channel, delivered to one vCPU at a time).
 */
#include "e1000drv.h"

#include <hopsim/netpkt.h>

#include "dma.h"
#include "guest.h"
#include "pci.h"
#include "physdev.h"
#include "smp.h"

#define E1K_PCI_VENDOR 0x8086
#define E1K_PCI_DEVICE 0x100E /* 82540EM */

/* registers (offsets in BAR0) */
#define E1K_CTRL 0x0000
#define E1K_STATUS 0x0008
#define E1K_EERD 0x0014
#define E1K_ICR 0x00C0
#define E1K_ITR 0x00C4
#define E1K_IMS 0x00D0
#define E1K_IMC 0x00D8
#define E1K_RCTL 0x0100
#define E1K_TCTL 0x0400
#define E1K_TIPG 0x0410
#define E1K_RDBAL 0x2800
#define E1K_RDBAH 0x2804
#define E1K_RDLEN 0x2808
#define E1K_RDH 0x2810
#define E1K_RDT 0x2818
#define E1K_TDBAL 0x3800
#define E1K_TDBAH 0x3804
#define E1K_TDLEN 0x3808
#define E1K_TDH 0x3810
#define E1K_TDT 0x3818
#define E1K_MTA 0x5200 /* 128 entries */
#define E1K_MTA_WORDS 128
#define E1K_RAL(i) (0x5400 + 8 * (i))
#define E1K_RAH(i) (0x5404 + 8 * (i))
#define E1K_RA_PAIRS 16

/* register bits */
#define E1K_CTRL_SLU (1u << 6)
#define E1K_CTRL_RST (1u << 26)
#define E1K_STATUS_LU (1u << 1)
#define E1K_EERD_START (1u << 0)
#define E1K_EERD_DONE (1u << 4) /* 82540EM: bit 4, address at bit 8 */
#define E1K_EERD_ADDR_SHIFT 8
#define E1K_EERD_DATA_SHIFT 16
#define E1K_ICR_TXDW (1u << 0)
#define E1K_ICR_LSC (1u << 2)
#define E1K_ICR_RXO (1u << 6)
#define E1K_ICR_RXT0 (1u << 7)
#define E1K_RCTL_EN (1u << 1)
#define E1K_RCTL_BAM (1u << 15)        /* accept broadcast */
#define E1K_RCTL_BSIZE_2048 (0u << 16) /* BSIZE 00 with BSEX 0 */
#define E1K_RCTL_SECRC (1u << 26)      /* strip the FCS */
#define E1K_TCTL_EN (1u << 1)
#define E1K_TCTL_PSP (1u << 3)         /* pad short frames */
#define E1K_TCTL_CT (0x0Fu << 4)       /* collision threshold (IEEE) */
#define E1K_TCTL_COLD_FD (0x40u << 12) /* collision distance, full duplex */
#define E1K_TIPG_COPPER 0x0060200Au    /* IPGT 10, IPGR1 8, IPGR2 6 */
#define E1K_RAH_AV (1u << 31)

#define E1K_IMS_ENABLE (E1K_ICR_TXDW | E1K_ICR_RXT0 | E1K_ICR_RXO | E1K_ICR_LSC)
#define E1K_ITR_UNIT_NS 256u
#define E1K_ITR_MAX 0xFFFFu

/* legacy descriptors */
#define E1K_TXD_CMD_EOP 0x01
#define E1K_TXD_CMD_IFCS 0x02
#define E1K_TXD_CMD_RS 0x08
#define E1K_TXD_STAT_DD 0x01
#define E1K_RXD_STAT_DD 0x01
#define E1K_RXD_STAT_EOP 0x02

#define E1K_EEPROM_WORDS 64
#define E1K_EEPROM_SUM 0xBABA
#define E1K_MIN_FRAME 14u
#define E1K_TX_MAX 16384u
#define E1K_POLLS 1000    /* bounded register polls at probe/reset (~0.85 ms of reads) */
#define E1K_DONE_BATCH 32 /* completions taken off the ring per lock hold */

/*
 * Legacy TX descriptor as two quadwords, so a descriptor is written with
 * two stores (every guest store is costly): ctl holds length (bits 0-15),
 * CSO (16-23), CMD (24-31), STA (32-39; the NIC writes DD back into this
 * byte, byte 12 of the descriptor), CSS (40-47) and special (48-63).
 */
struct e1k_txd {
    uint64_t addr;
    uint64_t ctl;
};

#define E1K_TXD_CMD_SHIFT 24
#define E1K_TXD_STA_SHIFT 32

struct e1k_rxd {
    uint64_t addr;
    uint16_t length;
    uint16_t csum;
    uint8_t status;
    uint8_t errors;
    uint16_t special;
};

_Static_assert(sizeof(struct e1k_txd) == 16, "legacy TX descriptor is 16 bytes");
_Static_assert(sizeof(struct e1k_rxd) == 16, "legacy RX descriptor is 16 bytes");

/* Per transmit descriptor: `last` at a frame's first, the rest at its last. */
struct e1k_txslot {
    e1k_tx_done_fn done;
    void *arg;
    uint64_t req;
    uint16_t last;
};

/* A completed transmit, taken off the ring under the lock, finished after it. */
struct e1k_done {
    e1k_tx_done_fn done;
    void *arg;
    uint64_t req;
};

struct e1k {
    spinlock_t lock; /* the transmit ring: submitters on any vCPU, the interrupt on one */
    volatile uint8_t *regs;
    unsigned pci_slot;
    struct pci_irq irq;
    uint8_t mac[6];
    unsigned itr; /* ITR register value (256 ns units) */
    /* transmit */
    struct e1k_txd *txr;
    uint64_t txr_bus;
    struct e1k_txslot *txs;
    unsigned ntx, tx_tail, tx_clean, tx_unrung;
    size_t txr_pages, txs_pages;
    /* receive */
    struct e1k_rxd *rxr;
    uint64_t rxr_bus;
    uint8_t *rxbuf; /* nrx buffers of E1K_RX_BUF bytes, two per page */
    unsigned nrx, rx_next;
    size_t rxr_pages, rxbuf_pages;
    int rx_discard; /* inside a multi-descriptor frame being dropped */
    e1k_rx_fn rx;
    void *rx_ctx;
    e1k_batch_fn batch;
    void *batch_ctx;
    int active, dead;
    struct e1k_stats st;
};

static struct e1k nic;

/* ---- registers ---- */

static inline uint32_t rd32(const struct e1k *n, unsigned off)
{
    return *(volatile const uint32_t *)(n->regs + off);
}

static inline void wr32(struct e1k *n, unsigned off, uint32_t v)
{
    *(volatile uint32_t *)(n->regs + off) = v;
}

static inline unsigned ring_next(unsigned i, unsigned size)
{
    return i + 1 == size ? 0 : i + 1;
}

static size_t pages_for(size_t bytes)
{
    return (bytes + PAGE_SIZE - 1) / PAGE_SIZE;
}

/* ---- probe ---- */

static int check_params(const struct e1k_params *p, unsigned *ntx, unsigned *nrx, unsigned *itr)
{
    unsigned t = p && p->tx_ring ? p->tx_ring : E1K_DEFAULT_RING;
    unsigned r = p && p->rx_ring ? p->rx_ring : E1K_DEFAULT_RING;
    unsigned ns = p ? p->itr_ns : 0;
    if (t < 8 || t > E1K_MAX_RING || t % 8 || r < 8 || r > E1K_MAX_RING || r % 8) {
        printf("e1000: ring sizes %u/%u: need multiples of 8 in 8..%u\n", t, r, E1K_MAX_RING);
        return -XEN_EINVAL;
    }
    if (ns > E1K_ITR_MAX * E1K_ITR_UNIT_NS) {
        printf("e1000: itr_ns %u exceeds the ITR range (%u ns)\n", ns,
               E1K_ITR_MAX * E1K_ITR_UNIT_NS);
        return -XEN_EINVAL;
    }
    *ntx = t;
    *nrx = r;
    /* nearest 256 ns unit; any nonzero interval throttles at least one unit */
    *itr = (ns + E1K_ITR_UNIT_NS / 2) / E1K_ITR_UNIT_NS;
    if (ns && !*itr)
        *itr = 1;
    if (*itr > E1K_ITR_MAX)
        *itr = E1K_ITR_MAX;
    return 0;
}

static int map_bar(struct e1k *n)
{
    int slot = pci_find_device(E1K_PCI_VENDOR, E1K_PCI_DEVICE);
    if (slot < 0) {
        printf("e1000: no NIC %04x:%04x on PCI bus 0\n", E1K_PCI_VENDOR, E1K_PCI_DEVICE);
        return -XEN_ENODEV;
    }
    uint64_t bar;
    int rc = pci_bar_mem((unsigned)slot, 0, &bar);
    if (rc) {
        printf("e1000: BAR0 of slot %d is not an assigned memory BAR\n", slot);
        return rc;
    }
    pci_enable_device((unsigned)slot);
    n->pci_slot = (unsigned)slot;
    n->regs = (volatile uint8_t *)bar;
    return 0;
}

/*
 * Quiesce, then CTRL.RST: every register to its power-on value, DMA in
 * flight cancelled. Interrupts masked and any stale cause cleared after.
 */
static int reset_hw(struct e1k *n)
{
    wr32(n, E1K_IMC, ~0u);
    wr32(n, E1K_RCTL, 0);
    wr32(n, E1K_TCTL, 0);
    wr32(n, E1K_CTRL, rd32(n, E1K_CTRL) | E1K_CTRL_RST);
    int i = 0;
    while ((rd32(n, E1K_CTRL) & E1K_CTRL_RST) && ++i < E1K_POLLS)
        ;
    if (i == E1K_POLLS) {
        printf("e1000: CTRL.RST did not clear\n");
        return -XEN_EIO;
    }
    wr32(n, E1K_IMC, ~0u);
    (void)rd32(n, E1K_ICR);
    return 0;
}

static int eeprom_read(struct e1k *n, unsigned addr, uint16_t *out)
{
    wr32(n, E1K_EERD, addr << E1K_EERD_ADDR_SHIFT | E1K_EERD_START);
    for (int i = 0; i < E1K_POLLS; i++) {
        uint32_t v = rd32(n, E1K_EERD);
        if (v & E1K_EERD_DONE) {
            *out = (uint16_t)(v >> E1K_EERD_DATA_SHIFT);
            return 0;
        }
    }
    printf("e1000: EEPROM read of word %u did not complete\n", addr);
    return -XEN_EIO;
}

/* The MAC from words 0..2 (little-endian byte pairs) after the checksum over 0..63. */
static int read_mac(struct e1k *n)
{
    uint16_t w[E1K_EEPROM_WORDS], sum = 0;
    for (unsigned i = 0; i < E1K_EEPROM_WORDS; i++) {
        int rc = eeprom_read(n, i, &w[i]);
        if (rc)
            return rc;
        sum = (uint16_t)(sum + w[i]);
    }
    if (sum != E1K_EEPROM_SUM) {
        printf("e1000: bad EEPROM checksum: words 0..63 sum to 0x%04x, not 0x%04x\n", sum,
               E1K_EEPROM_SUM);
        return -XEN_EIO;
    }
    for (unsigned i = 0; i < 3; i++) {
        n->mac[2 * i] = (uint8_t)w[i];
        n->mac[2 * i + 1] = (uint8_t)(w[i] >> 8);
    }
    static const uint8_t zero[6];
    if ((n->mac[0] & 1) || !memcmp(n->mac, zero, sizeof zero)) {
        printf("e1000: EEPROM MAC %02x:%02x:%02x:%02x:%02x:%02x is not a unicast address\n",
               n->mac[0], n->mac[1], n->mac[2], n->mac[3], n->mac[4], n->mac[5]);
        return -XEN_EIO;
    }
    return 0;
}

/* Our address in RAL0/RAH0 (AV), the other receive addresses and the multicast table cleared. */
static void set_addresses(struct e1k *n)
{
    const uint8_t *m = n->mac;
    wr32(n, E1K_RAL(0),
         (uint32_t)m[0] | (uint32_t)m[1] << 8 | (uint32_t)m[2] << 16 | (uint32_t)m[3] << 24);
    wr32(n, E1K_RAH(0), (uint32_t)m[4] | (uint32_t)m[5] << 8 | E1K_RAH_AV);
    for (unsigned i = 1; i < E1K_RA_PAIRS; i++) {
        wr32(n, E1K_RAL(i), 0);
        wr32(n, E1K_RAH(i), 0);
    }
    for (unsigned i = 0; i < E1K_MTA_WORDS; i++)
        wr32(n, E1K_MTA + 4 * i, 0);
}

static void free_mem(struct e1k *n)
{
    if (n->txr)
        dma_free(n->txr, n->txr_pages);
    if (n->rxr)
        dma_free(n->rxr, n->rxr_pages);
    if (n->txs)
        page_free(n->txs, n->txs_pages);
    if (n->rxbuf)
        page_free(n->rxbuf, n->rxbuf_pages);
    n->txr = NULL;
    n->rxr = NULL;
    n->txs = NULL;
    n->rxbuf = NULL;
}

/* Both rings (machine-contiguous), the transmit shadow, the receive buffers. */
static int alloc_rings(struct e1k *n)
{
    n->txr_pages = pages_for((size_t)n->ntx * sizeof(struct e1k_txd));
    n->rxr_pages = pages_for((size_t)n->nrx * sizeof(struct e1k_rxd));
    n->txs_pages = pages_for((size_t)n->ntx * sizeof(struct e1k_txslot));
    n->rxbuf_pages = pages_for((size_t)n->nrx * E1K_RX_BUF);
    n->txr = dma_alloc(n->txr_pages, &n->txr_bus);
    n->rxr = dma_alloc(n->rxr_pages, &n->rxr_bus);
    n->txs = page_zalloc(n->txs_pages);
    n->rxbuf = page_alloc(n->rxbuf_pages);
    if (!n->txr || !n->rxr || !n->txs || !n->rxbuf) {
        printf("e1000: cannot allocate rings of %u/%u descriptors and %u receive buffers\n", n->ntx,
               n->nrx, n->nrx);
        return -XEN_ENOMEM;
    }
    for (unsigned i = 0; i < n->nrx; i++) {
        uint64_t bus = virt_to_bus(n->rxbuf + (size_t)i * E1K_RX_BUF);
        if (bus == DMA_BAD_ADDR) {
            printf("e1000: receive buffer %u has no bus address\n", i);
            return -XEN_ENOMEM;
        }
        n->rxr[i].addr = bus; /* the rest stays zero: status 0, not done */
    }
    n->tx_tail = n->tx_clean = n->tx_unrung = 0;
    n->rx_next = 0;
    n->rx_discard = 0;
    return 0;
}

static void e1k_irq(evtchn_port_t port, void *data);

/*
 * Link, rings, receive and transmit on, then the interrupt mask last: the
 * handler is attached already, so the first cause is not lost.
 */
static void enable(struct e1k *n)
{
    wr32(n, E1K_CTRL, rd32(n, E1K_CTRL) | E1K_CTRL_SLU);
    set_addresses(n);
    wr32(n, E1K_ITR, n->itr);

    wr32(n, E1K_TDBAL, (uint32_t)n->txr_bus);
    wr32(n, E1K_TDBAH, (uint32_t)(n->txr_bus >> 32));
    wr32(n, E1K_TDLEN, n->ntx * (uint32_t)sizeof(struct e1k_txd));
    wr32(n, E1K_TDH, 0);
    wr32(n, E1K_TDT, 0);
    wr32(n, E1K_TIPG, E1K_TIPG_COPPER);
    wr32(n, E1K_TCTL, E1K_TCTL_EN | E1K_TCTL_PSP | E1K_TCTL_CT | E1K_TCTL_COLD_FD);

    wr32(n, E1K_RDBAL, (uint32_t)n->rxr_bus);
    wr32(n, E1K_RDBAH, (uint32_t)(n->rxr_bus >> 32));
    wr32(n, E1K_RDLEN, n->nrx * (uint32_t)sizeof(struct e1k_rxd));
    wr32(n, E1K_RDH, 0);
    wmb(); /* the filled descriptors before RDT hands them over */
    wr32(n, E1K_RDT, n->nrx - 1);
    wr32(n, E1K_RCTL, E1K_RCTL_EN | E1K_RCTL_BAM | E1K_RCTL_BSIZE_2048 | E1K_RCTL_SECRC);

    wr32(n, E1K_IMS, E1K_IMS_ENABLE);
}

int e1k_probe(const struct e1k_params *p, struct e1k **out)
{
    struct e1k *n = &nic;
    if (n->active) {
        printf("e1000: already probed\n");
        return -XEN_EBUSY;
    }
    *n = (struct e1k){0};
    int rc = check_params(p, &n->ntx, &n->nrx, &n->itr);
    if (!rc)
        rc = dma_init();
    if (!rc)
        rc = map_bar(n);
    if (!rc)
        rc = reset_hw(n);
    if (!rc)
        rc = read_mac(n);
    if (!rc)
        rc = alloc_rings(n);
    if (!rc)
        rc = pci_irq_setup(&n->irq, "e1000", n->pci_slot, e1k_irq, n);
    if (rc) {
        pci_irq_release(&n->irq);
        free_mem(n);
        return rc;
    }
    enable(n);
    n->active = 1;
    const uint8_t *m = n->mac;
    printf("e1000: NIC in slot %u, regs at 0x%llx, MAC %02x:%02x:%02x:%02x:%02x:%02x, "
           "%u TX / %u RX descriptors, ITR %u ns, %s pirq %d\n",
           n->pci_slot, (unsigned long long)(uintptr_t)n->regs, m[0], m[1], m[2], m[3], m[4], m[5],
           n->ntx, n->nrx, n->itr * E1K_ITR_UNIT_NS, n->irq.kind, n->irq.pirq);
    *out = n;
    return 0;
}

void e1k_mac(const struct e1k *n, uint8_t mac[6])
{
    memcpy(mac, n->mac, 6);
}

void e1k_set_rx(struct e1k *n, e1k_rx_fn fn, void *ctx)
{
    int f = irq_save();
    n->rx = fn;
    n->rx_ctx = ctx;
    irq_restore(f);
}

void e1k_set_batch_hook(struct e1k *n, e1k_batch_fn fn, void *ctx)
{
    int f = irq_save();
    n->batch = fn;
    n->batch_ctx = ctx;
    irq_restore(f);
}

/* ---- transmit ---- */

/* Descriptors free, one always kept unused (no divide: the ring is not a power of two). */
static unsigned tx_free(const struct e1k *n)
{
    unsigned used =
        n->tx_tail >= n->tx_clean ? n->tx_tail - n->tx_clean : n->tx_tail + n->ntx - n->tx_clean;
    return n->ntx - 1 - used;
}

unsigned e1k_irq_port(const struct e1k *n)
{
    return n->irq.port;
}

unsigned e1k_tx_free(const struct e1k *n)
{
    return n->dead || !n->active ? 0 : tx_free(n);
}

static int check_frame(const struct e1k *n, const uint64_t *bus, const uint16_t *len, unsigned nseg)
{
    if (!bus || !len || nseg < 1 || nseg > E1K_MAX_SEGS || nseg > n->ntx - 1)
        return -XEN_EINVAL;
    unsigned total = 0;
    for (unsigned i = 0; i < nseg; i++) {
        if (!len[i] || bus[i] == DMA_BAD_ADDR)
            return -XEN_EINVAL;
        total += len[i];
    }
    return total < E1K_MIN_FRAME || total > E1K_TX_MAX ? -XEN_EINVAL : 0;
}

int e1k_xmit(struct e1k *n, uint64_t req, const uint64_t *bus, const uint16_t *len, unsigned nseg,
             e1k_tx_done_fn done, void *arg)
{
    int rc = check_frame(n, bus, len, nseg);
    if (rc)
        return rc;
    int f = spin_lock_irqsave(&n->lock);
    if (n->dead || !n->active) {
        rc = -XEN_EIO;
    } else if (tx_free(n) < nseg) {
        rc = -XEN_EAGAIN;
    } else {
        trace_begin(SPAN_DRIVER, req);
        unsigned first = n->tx_tail, i = first, last = first;
        for (unsigned k = 0; k < nseg; k++) {
            uint8_t cmd = k + 1 == nseg ? E1K_TXD_CMD_EOP | E1K_TXD_CMD_IFCS | E1K_TXD_CMD_RS : 0;
            /* whole descriptor, status 0: no DD from the previous lap */
            n->txr[i].addr = bus[k];
            n->txr[i].ctl = len[k] | (uint64_t)cmd << E1K_TXD_CMD_SHIFT;
            last = i;
            i = ring_next(i, n->ntx);
        }
        n->txs[first].last = (uint16_t)last;
        n->txs[last].done = done;
        n->txs[last].arg = arg;
        n->txs[last].req = req;
        n->tx_tail = i;
        n->tx_unrung += nseg;
        trace_end(SPAN_DRIVER, req);
    }
    spin_unlock_irqrestore(&n->lock, f);
    return rc;
}

void e1k_kick(struct e1k *n)
{
    int f = spin_lock_irqsave(&n->lock);
    if (n->tx_unrung && !n->dead && n->active) {
        wmb(); /* descriptors before the doorbell */
        wr32(n, E1K_TDT, n->tx_tail);
    }
    n->tx_unrung = 0;
    spin_unlock_irqrestore(&n->lock, f);
}

/* The frame at tx_clean ends: free its descriptors, keep what its owner is told (lock held). */
static void tx_take(struct e1k *n, int status, struct e1k_done *out)
{
    unsigned last = n->txs[n->tx_clean].last;
    const struct e1k_txslot *s = &n->txs[last];
    *out = (struct e1k_done){.done = s->done, .arg = s->arg, .req = s->req};
    n->tx_clean = ring_next(last, n->ntx);
    if (status)
        n->st.tx_errors++;
    else
        n->st.tx_frames++;
}

/* Tell the owners of frames taken off the ring (lock dropped). */
static void tx_finish(const struct e1k_done *d, unsigned k, int status)
{
    for (unsigned i = 0; i < k; i++) {
        trace_begin(SPAN_DRIVER, d[i].req);
        if (d[i].done)
            d[i].done(d[i].arg, status);
        trace_end(SPAN_DRIVER, d[i].req);
    }
}

/* Every frame whose last descriptor the NIC has written back (DD), a batch per lock hold. */
static void tx_clean(struct e1k *n)
{
    struct e1k_done d[E1K_DONE_BATCH];
    unsigned k;
    do {
        k = 0;
        int f = spin_lock_irqsave(&n->lock);
        while (k < E1K_DONE_BATCH && !n->dead && n->tx_clean != n->tx_tail) {
            unsigned last = n->txs[n->tx_clean].last;
            if (!(READ_ONCE(n->txr[last].ctl) >> E1K_TXD_STA_SHIFT & E1K_TXD_STAT_DD))
                break;
            rmb(); /* nothing of the frame is looked at before its DD */
            tx_take(n, 0, &d[k++]);
        }
        spin_unlock_irqrestore(&n->lock, f);
        tx_finish(d, k, 0);
    } while (k == E1K_DONE_BATCH);
}

/* ---- receive ---- */

static void rx_deliver(struct e1k *n, const void *frame, unsigned len)
{
    uint64_t req = hopsim_pkt_req(frame, len);
    trace_begin(SPAN_DRIVER, req);
    n->st.rx_frames++;
    if (n->rx)
        n->rx(n->rx_ctx, frame, len);
    trace_end(SPAN_DRIVER, req);
}

/* Every descriptor the NIC has filled (DD); one RDT write gives them all back. */
static void rx_drain(struct e1k *n)
{
    unsigned i = n->rx_next, given = 0, last = 0;
    for (;;) {
        struct e1k_rxd *d = &n->rxr[i];
        uint8_t st = READ_ONCE(d->status);
        if (!(st & E1K_RXD_STAT_DD))
            break;
        rmb(); /* length, errors and the buffer after DD */
        unsigned len = d->length;
        uint8_t err = d->errors;
        if (!(st & E1K_RXD_STAT_EOP)) {
            /* not possible with 2048-byte buffers: drop the whole frame */
            if (!n->rx_discard)
                n->st.rx_errors++;
            n->rx_discard = 1;
        } else if (n->rx_discard) {
            n->rx_discard = 0; /* the dropped frame's last piece */
        } else if (err || len < E1K_MIN_FRAME || len > E1K_MAX_FRAME) {
            n->st.rx_errors++;
        } else {
            rx_deliver(n, n->rxbuf + (size_t)i * E1K_RX_BUF, len);
        }
        WRITE_ONCE(d->status, 0);
        last = i;
        given++;
        i = ring_next(i, n->nrx);
        n->rx_next = i;
    }
    if (given) {
        wmb(); /* cleared descriptors before the tail moves over them */
        wr32(n, E1K_RDT, last);
    }
}

/* ---- interrupt (upcall context) ---- */

static void e1k_irq(evtchn_port_t port, void *data)
{
    (void)port;
    struct e1k *n = data;
    n->st.irqs++;
    uint32_t icr = rd32(n, E1K_ICR); /* read-to-clear: the one MMIO read per interrupt */
    if (!n->dead) {
        tx_clean(n);
        rx_drain(n);
        if (icr & E1K_ICR_RXO)
            n->st.rx_overruns++;
        if (icr & E1K_ICR_LSC)
            printf("e1000: link %s\n", rd32(n, E1K_STATUS) & E1K_STATUS_LU ? "up" : "down");
    }
    physdev_eoi(n->irq.pirq);
    if (n->batch && !n->dead)
        n->batch(n->batch_ctx);
}

/* ---- shutdown and statistics ---- */

void e1k_shutdown(struct e1k *n)
{
    int f = spin_lock_irqsave(&n->lock);
    if (!n->active || n->dead) {
        spin_unlock_irqrestore(&n->lock, f);
        return;
    }
    /*
     * RCTL and TCTL off, every interrupt masked (IMC), then a reset: it
     * cancels the DMA still in flight (a descriptor being gathered, a frame
     * being written into a receive buffer), so nothing touches the callers'
     * buffers or our rings once this returns.
     */
    reset_hw(n);
    spin_unlock_irqrestore(&n->lock, f);
    tx_clean(n); /* frames already written back were sent */
    struct e1k_done d[E1K_DONE_BATCH];
    unsigned failed = 0, k;
    f = spin_lock_irqsave(&n->lock);
    n->dead = 1;
    n->tx_unrung = 0;
    n->rx = NULL;
    n->batch = NULL;
    do {
        for (k = 0; k < E1K_DONE_BATCH && n->tx_clean != n->tx_tail; k++)
            tx_take(n, -XEN_EIO, &d[k]);
        spin_unlock_irqrestore(&n->lock, f);
        tx_finish(d, k, -XEN_EIO);
        failed += k;
        f = spin_lock_irqsave(&n->lock);
    } while (k == E1K_DONE_BATCH);
    spin_unlock_irqrestore(&n->lock, f);
    pci_irq_release(&n->irq);
    free_mem(n);
    n->active = 0;
    printf("e1000: disabled after %lu frames sent, %lu failed (%u at shutdown), %lu received "
           "(%lu errors, %lu overruns), %lu interrupts\n",
           n->st.tx_frames, n->st.tx_errors, failed, n->st.rx_frames, n->st.rx_errors,
           n->st.rx_overruns, n->st.irqs);
}

void e1k_get_stats(const struct e1k *n, struct e1k_stats *s)
{
    int f = irq_save();
    *s = n->st;
    irq_restore(f);
}
