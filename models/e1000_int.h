/*
 * Internal to the e1000 model (models/e1000.c: registers, interrupts,
 * control and life cycle; models/e1000_dma.c: the transmit and receive
 * DMA engines). Not for users of the model: they include e1000.h.
 */
#ifndef HOPSIM_MODELS_E1000_INT_H
#define HOPSIM_MODELS_E1000_INT_H

#include "e1000.h"

#define RA_PAIRS 16
#define MTA_WORDS 128
#define DESC_SIZE 16
#define LEN_MASK 0x000FFF80u
#define ITR_UNIT_PS 256000ull /* 256 ns */
#define FIFO_FRAMES (E1000_TX_FIFO / E1000_MIN_FRAME + 1)

enum tx_stage { TX_IDLE, TX_FETCH, TX_DATA };

/* A received frame waiting for its DMA to end. */
struct rx_pend {
    struct e1000 *nic;
    evq_handle ev;
    struct rx_pend *next;
    simtime_t start;
    uint64_t req;          /* a test frame's request id, or 0 */
    uint32_t first, ndesc; /* reserved descriptors */
    size_t len;
    uint8_t data[];
};

struct e1000 {
    struct dev_env env;
    struct pci_func *pci;
    e1000_tx_fn tx;
    void *tx_opaque;
    uint16_t eeprom[E1000_EEPROM_WORDS];
    /* registers */
    uint32_t ctrl, eerd, icr, ims, itr, rctl, tctl;
    uint32_t rdbal, rdbah, rdlen, rdh, rdt;
    uint32_t tdbal, tdbah, tdlen, tdh, tdt;
    uint32_t ra[2 * RA_PAIRS], mta[MTA_WORDS];
    /* transmit engine */
    enum tx_stage tx_stage;
    evq_handle tx_ev;
    simtime_t tx_t; /* when the current step began */
    bool tx_stalled;
    struct e1000_tx_desc txd;
    simtime_t tx_avail[E1000_MAX_DESC];
    uint8_t frame[E1000_TX_MAX];
    size_t frame_len;
    bool frame_bad;
    uint64_t tx_req; /* the test frame being gathered (0: none, or not yet known) */
    /* transmit FIFO: frames gathered, not yet fully on the wire, in wire order */
    struct {
        simtime_t end;
        uint32_t len;
    } fifo[FIFO_FRAMES];
    uint32_t fifo_head, fifo_n;
    size_t fifo_bytes;     /* sum of their lengths */
    simtime_t frame_start; /* fetch of its first descriptor */
    /* receive engine */
    uint32_t rx_next;  /* first descriptor not reserved */
    simtime_t rx_free; /* the receive DMA engine is busy until then */
    struct rx_pend *rx_head, *rx_tail;
    /* interrupts */
    bool irq_up;
    simtime_t irq_next; /* ITR: no interrupt before this */
    evq_handle irq_ev;
    struct e1000_counters cnt;
};

/* ---- small helpers --------------------------------------------------------- */

static inline simtime_t later(simtime_t a, simtime_t b)
{
    return a > b ? a : b;
}

/* DMA through the platform; a bad bus address is counted. */
static inline bool dma_copy(struct e1000 *nic, uint64_t bus, void *buf, size_t len, bool to_host)
{
    if (dev_dma_copy(&nic->env, bus, buf, len, to_host))
        return true;
    nic->cnt.dma_errors++;
    return false;
}

static inline void span(const struct e1000 *nic, int kind, uint64_t req, simtime_t start,
                        simtime_t end, const char *name, int64_t arg)
{
    if (!nic->env.tr)
        return;
    struct trace_span s = {
        .req = req,
        .hop = HOP_NONE,
        .kind = (uint16_t)kind,
        .place = nic->env.place,
        .start = start,
        .end = end,
        .name = name,
        .arg = arg,
    };
    trace_span(nic->env.tr, &s);
}

static inline uint32_t ring_size(uint32_t len)
{
    uint32_t n = len / DESC_SIZE;
    return n < E1000_MAX_DESC ? n : E1000_MAX_DESC;
}

static inline uint64_t ring_base(uint32_t lo, uint32_t hi)
{
    return ((uint64_t)hi << 32 | lo) & ~15ull;
}

/* Interrupt causes (e1000.c): set `bits` in ICR at `now`, interrupt if unmasked. */
void e1000_cause_set(struct e1000 *nic, uint32_t bits, simtime_t now);

/* The DMA engines (e1000_dma.c). */
void e1000_tx_kick(struct e1000 *nic, simtime_t now); /* fetch at TDH if there is work */
void e1000_tdt_write(struct e1000 *nic, uint32_t v, simtime_t now);
void e1000_tx_stop(struct e1000 *nic); /* cancel transmit, flush the FIFO */
void e1000_rx_stop(struct e1000 *nic); /* cancel receive DMA in flight */

#endif
