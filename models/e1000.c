/*
 * The Intel 8254x (e1000, 82540EM) model of models/e1000.h.
 *
 * Transmit: a TDT write at `now` makes the descriptors from the old TDT up
 * to the new one available at `now`. One transmit engine serves them in
 * order: for each descriptor a fetch DMA (dma_latency + 16 / pcie_bw),
 * then a gather DMA of its buffer (dma_latency + length / pcie_bw). At the
 * end of the gather the bytes are appended to the frame being built; at
 * EOP the frame goes to the transmit callback at that time. Then DD is
 * written back if RS (a posted write, not charged), TDH advances and, for
 * RS, ICR.TXDW is set. The gathered bytes wait in the 16 KB transmit FIFO
 * until the wire has sent them (the callback says when): a gather DMA
 * starts only when the FIFO has room for its bytes, so transmit -- and
 * with it DD and TXDW -- runs at the wire's rate once the FIFO is full.
 *
 * Receive: e1000_receive() at `now` checks RCTL.EN, the length (14..1522
 * bytes) and that enough free descriptors exist (the frame is spread over
 * several buffers if longer than RCTL's buffer size); they are reserved at
 * once. The receive DMA engine serves frames in order: per descriptor a
 * fetch DMA plus a data DMA. When that ends the data, length and DD|EOP
 * land in memory, RDH advances and ICR.RXT0 is set. A frame without room
 * is dropped, counted, and sets ICR.RXO.
 *
 * Interrupts: a cause set at time t with a matching IMS bit raises
 * env->irq at t + msi_latency. With ITR != 0 at most one interrupt is
 * raised per ITR * 256 ns interval: a cause inside the interval waits for
 * its end and fires then only if an unmasked cause is still pending. The
 * line is lowered when no unmasked cause is left (ICR read, IMC write).
 *
 * Assumptions and choices:
 * - Link always up at 1000 Mb/s full duplex; setting CTRL.SLU sets LSC.
 * - EERD reads complete at once (DONE is set by the START write).
 * - No address filtering (every frame is accepted), no checksum offload,
 *   no context descriptors, no statistics registers: unknown offsets read
 *   0 and ignore writes. RAL/RAH (16 pairs) and MTA are stored only.
 * - Rings serve at most E1000_MAX_DESC entries; TDT/RDT writes beyond the
 *   ring are ignored. A ring of length 0 is not served.
 * - No Bus Master Enable: transmit waits for it, receive drops.
 * - A bad descriptor address stops the transmit engine until a reset or a
 *   TDT write; a bad buffer address drops the frame (tx_errors/dma_errors).
 * - CTRL.RST resets every register (MAC reloaded from the EEPROM into
 *   RAL0/RAH0 with AV), cancels DMA in flight; counters are kept.
 * - Registers are 32-bit: reads of 1, 2 or 4 bytes return that part;
 *   writes must be 4 bytes, aligned (others are ignored).
 */
#include "e1000.h"

#include <hopsim/netpkt.h>

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static void tx_kick(struct e1000 *nic, simtime_t now);
static void tx_event(void *opaque, simtime_t now);

/* ---- small helpers --------------------------------------------------------- */

static simtime_t later(simtime_t a, simtime_t b)
{
    return a > b ? a : b;
}

/* DMA through the platform; a bad bus address is counted. */
static bool dma_copy(struct e1000 *nic, uint64_t bus, void *buf, size_t len, bool to_host)
{
    if (dev_dma_copy(&nic->env, bus, buf, len, to_host))
        return true;
    nic->cnt.dma_errors++;
    return false;
}

static void span(const struct e1000 *nic, int kind, uint64_t req, simtime_t start, simtime_t end,
                 const char *name, int64_t arg)
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

static uint32_t ring_size(uint32_t len)
{
    uint32_t n = len / DESC_SIZE;
    return n < E1000_MAX_DESC ? n : E1000_MAX_DESC;
}

static uint64_t ring_base(uint32_t lo, uint32_t hi)
{
    return ((uint64_t)hi << 32 | lo) & ~15ull;
}

/* ---- interrupts ---------------------------------------------------------------- */

static void irq_fire(struct e1000 *nic, simtime_t now)
{
    simtime_t when = now + dev_msi_time(&nic->env);
    bool msi = pci_msi(nic->pci, NULL, NULL);
    nic->irq_up = true;
    pci_func_set_intx(nic->pci, !msi);
    span(nic, SPAN_IRQ, HOPSIM_NOREQ, now, when, msi ? "msi" : "intx", nic->icr);
    if (nic->itr)
        nic->irq_next = now + (simtime_t)nic->itr * ITR_UNIT_PS;
    if (nic->env.irq.raise)
        nic->env.irq.raise(nic->env.irq.opaque, when);
}

static void irq_deferred(void *opaque, simtime_t now)
{
    struct e1000 *nic = opaque;
    nic->irq_ev = 0;
    if (nic->icr & nic->ims)
        irq_fire(nic, now);
}

/* An unmasked cause is (newly) pending at `now`: interrupt, subject to ITR. */
static void irq_update(struct e1000 *nic, simtime_t now)
{
    if (!(nic->icr & nic->ims) || nic->irq_ev)
        return;
    if (!nic->itr || now >= nic->irq_next) {
        irq_fire(nic, now);
        return;
    }
    nic->irq_ev =
        evq_schedule(nic->env.q, later(nic->irq_next, evq_now(nic->env.q)), irq_deferred, nic);
}

/* Lower the line when no unmasked cause is left. */
static void irq_sync(struct e1000 *nic, simtime_t now)
{
    if (!nic->irq_up || (nic->icr & nic->ims))
        return;
    nic->irq_up = false;
    pci_func_set_intx(nic->pci, false);
    if (nic->env.irq.lower)
        nic->env.irq.lower(nic->env.irq.opaque, now);
}

static void cause_set(struct e1000 *nic, uint32_t bits, simtime_t now)
{
    nic->icr |= bits;
    if (bits & nic->ims)
        irq_update(nic, now);
}

/* ---- transmit ------------------------------------------------------------------- */

static uint64_t tx_desc_bus(const struct e1000 *nic, uint32_t idx)
{
    return ring_base(nic->tdbal, nic->tdbah) + (uint64_t)idx * DESC_SIZE;
}

static void tx_schedule(struct e1000 *nic, enum tx_stage st, simtime_t start, simtime_t end)
{
    nic->tx_stage = st;
    nic->tx_t = start;
    nic->tx_ev = evq_schedule(nic->env.q, later(end, evq_now(nic->env.q)), tx_event, nic);
}

/* Forget the frames that have left the wire by `now`. */
static void fifo_drain(struct e1000 *nic, simtime_t now)
{
    while (nic->fifo_n && nic->fifo[nic->fifo_head].end <= now) {
        nic->fifo_bytes -= nic->fifo[nic->fifo_head].len;
        nic->fifo_head = (nic->fifo_head + 1) % FIFO_FRAMES;
        nic->fifo_n--;
    }
}

/* Earliest time >= now at which `bytes` more fit the FIFO beside the frame being gathered. */
static simtime_t fifo_room(struct e1000 *nic, size_t bytes, simtime_t now)
{
    fifo_drain(nic, now);
    size_t used = nic->frame_len + nic->fifo_bytes;
    simtime_t t = now;
    for (uint32_t i = 0; i < nic->fifo_n && used + bytes > E1000_TX_FIFO; i++) {
        const uint32_t k = (nic->fifo_head + i) % FIFO_FRAMES;
        used -= nic->fifo[k].len;
        t = later(t, nic->fifo[k].end);
    }
    return t; /* a frame larger than the FIFO streams through it (cut-through) */
}

static void fifo_push(struct e1000 *nic, simtime_t end, size_t len)
{
    if (nic->fifo_n == FIFO_FRAMES) { /* not reached: frames are >= 14 bytes */
        nic->fifo_bytes -= nic->fifo[nic->fifo_head].len;
        nic->fifo_head = (nic->fifo_head + 1) % FIFO_FRAMES;
        nic->fifo_n--;
    }
    nic->fifo[(nic->fifo_head + nic->fifo_n) % FIFO_FRAMES].end = end;
    nic->fifo[(nic->fifo_head + nic->fifo_n) % FIFO_FRAMES].len = (uint32_t)len;
    nic->fifo_n++;
    nic->fifo_bytes += len;
}

static void tx_frame_end(struct e1000 *nic, simtime_t now)
{
    if (nic->frame_bad) {
        nic->cnt.tx_errors++;
    } else {
        nic->cnt.tx_frames++;
        simtime_t end = nic->tx ? nic->tx(nic->tx_opaque, nic->frame, nic->frame_len, now) : now;
        if (end > now)
            fifo_push(nic, end, nic->frame_len);
    }
    nic->frame_len = 0;
    nic->frame_bad = false;
    nic->tx_req = HOPSIM_NOREQ;
}

/*
 * A test frame (include/hopsim/netpkt.h) carries its request id: once the
 * gathered bytes hold the tag, the request enters H5 (device) at the
 * fetch of the frame's first descriptor.
 */
static void tx_trace_frame(struct e1000 *nic)
{
    if (nic->tx_req || nic->frame_bad || nic->frame_len < HOPSIM_PKT_HDR)
        return;
    nic->tx_req = hopsim_pkt_req(nic->frame, nic->frame_len);
    if (nic->tx_req && nic->env.tr)
        trace_hop(nic->env.tr, nic->tx_req, HOP_H5, nic->env.place, nic->frame_start);
}

/* Append the gathered buffer to the frame being built. */
static void tx_gather(struct e1000 *nic)
{
    size_t len = nic->txd.length;
    if (nic->frame_bad)
        return;
    if (nic->frame_len + len > E1000_TX_MAX ||
        !dma_copy(nic, nic->txd.addr, nic->frame + nic->frame_len, len, false)) {
        nic->frame_bad = true;
        return;
    }
    nic->frame_len += len;
}

static void tx_data_done(struct e1000 *nic, simtime_t now)
{
    uint32_t n = ring_size(nic->tdlen);
    tx_gather(nic);
    tx_trace_frame(nic);
    span(nic, SPAN_DMA, nic->tx_req, nic->tx_t, now, "tx-data", nic->txd.length);
    if (nic->txd.cmd & E1000_TXD_CMD_EOP)
        tx_frame_end(nic, now);
    if (nic->txd.cmd & E1000_TXD_CMD_RS) {
        uint8_t st = E1000_TXD_STAT_DD;
        dma_copy(nic, tx_desc_bus(nic, nic->tdh) + 12, &st, 1, true);
    }
    nic->tdh = n ? (nic->tdh + 1) % n : 0;
    if (nic->txd.cmd & E1000_TXD_CMD_RS)
        cause_set(nic, E1000_ICR_TXDW, now);
}

static void tx_fetch_done(struct e1000 *nic, simtime_t now)
{
    span(nic, SPAN_DMA, nic->tx_req, nic->tx_t, now, "tx-desc", DESC_SIZE);
    if (nic->frame_len == 0 && !nic->frame_bad && !nic->tx_req)
        nic->frame_start = nic->tx_t;
    if (!dma_copy(nic, tx_desc_bus(nic, nic->tdh), &nic->txd, sizeof nic->txd, false)) {
        nic->tx_stalled = true;
        return;
    }
    simtime_t start = fifo_room(nic, nic->txd.length, now);
    tx_schedule(nic, TX_DATA, start, start + dev_dma_time(&nic->env, nic->txd.length));
}

static void tx_event(void *opaque, simtime_t now)
{
    struct e1000 *nic = opaque;
    enum tx_stage st = nic->tx_stage;
    nic->tx_ev = 0;
    nic->tx_stage = TX_IDLE;
    if (st == TX_FETCH)
        tx_fetch_done(nic, now);
    else if (st == TX_DATA)
        tx_data_done(nic, now);
    tx_kick(nic, now);
}

static bool tx_ready(const struct e1000 *nic)
{
    return nic->tx_stage == TX_IDLE && !nic->tx_stalled && (nic->tctl & E1000_TCTL_EN) &&
           nic->tdh != nic->tdt && ring_size(nic->tdlen) > 0 && pci_bus_master(nic->pci);
}

/* Begin fetching the descriptor at TDH if there is one to serve. */
static void tx_kick(struct e1000 *nic, simtime_t now)
{
    if (!tx_ready(nic))
        return;
    now = later(now, nic->tx_avail[nic->tdh]);
    tx_schedule(nic, TX_FETCH, now, now + dev_dma_time(&nic->env, DESC_SIZE));
}

static void tdt_write(struct e1000 *nic, uint32_t v, simtime_t now)
{
    uint32_t n = ring_size(nic->tdlen);
    if (v >= n)
        return;
    for (uint32_t i = nic->tdt; i != v; i = (i + 1) % n)
        nic->tx_avail[i] = now;
    nic->tdt = v;
    nic->tx_stalled = false;
    tx_kick(nic, now);
}

static void tx_stop(struct e1000 *nic)
{
    if (nic->tx_ev)
        evq_cancel(nic->env.q, nic->tx_ev);
    nic->tx_ev = 0;
    nic->tx_stage = TX_IDLE;
    nic->tx_stalled = false;
    nic->frame_len = 0;
    nic->frame_bad = false;
    nic->tx_req = HOPSIM_NOREQ;
    nic->fifo_n = 0; /* a reset flushes the FIFO; the wire keeps what it has */
    nic->fifo_bytes = 0;
}

/* ---- receive -------------------------------------------------------------------- */

static uint32_t rx_buf_size(uint32_t rctl)
{
    static const uint32_t normal[4] = {2048, 1024, 512, 256};
    static const uint32_t ext[4] = {2048, 16384, 8192, 4096};
    unsigned code = (rctl >> E1000_RCTL_BSIZE_SHIFT) & 3;
    return (rctl & E1000_RCTL_BSEX) ? ext[code] : normal[code];
}

static uint64_t rx_desc_bus(const struct e1000 *nic, uint32_t idx)
{
    return ring_base(nic->rdbal, nic->rdbah) + (uint64_t)idx * DESC_SIZE;
}

/* Write one buffer's worth of the frame and its descriptor. */
static void rx_put(struct e1000 *nic, uint32_t idx, const uint8_t *p, size_t len, bool eop)
{
    struct e1000_rx_desc d;
    uint64_t bus = rx_desc_bus(nic, idx);
    if (!dma_copy(nic, bus, &d, sizeof d, false))
        return;
    if (!dma_copy(nic, d.addr, (void *)p, len, true))
        return;
    d.length = (uint16_t)len;
    d.csum = 0;
    d.errors = 0;
    d.status = E1000_RXD_STAT_DD | (eop ? E1000_RXD_STAT_EOP : 0);
    dma_copy(nic, bus, &d, sizeof d, true);
}

static void rx_event(void *opaque, simtime_t now)
{
    struct rx_pend *p = opaque;
    struct e1000 *nic = p->nic;
    uint32_t n = ring_size(nic->rdlen), bsize = rx_buf_size(nic->rctl);
    assert(nic->rx_head == p);
    nic->rx_head = p->next;
    if (!nic->rx_head)
        nic->rx_tail = NULL;
    span(nic, SPAN_DMA, p->req, p->start, now, "rx", (int64_t)p->len);
    for (uint32_t i = 0; i < p->ndesc && n > 0; i++) {
        size_t off = (size_t)i * bsize, len = p->len - off < bsize ? p->len - off : bsize;
        rx_put(nic, (p->first + i) % n, p->data + off, len, i + 1 == p->ndesc);
    }
    nic->rdh = n ? (p->first + p->ndesc) % n : 0;
    nic->cnt.rx_frames++;
    free(p);
    cause_set(nic, E1000_ICR_RXT0, now);
}

static uint32_t rx_free_desc(const struct e1000 *nic)
{
    uint32_t n = ring_size(nic->rdlen);
    return n ? (nic->rdt + n - nic->rx_next) % n : 0;
}

/* Per descriptor: a fetch DMA and a data DMA of its part of the frame. */
static simtime_t rx_dma_time(const struct e1000 *nic, size_t len, uint32_t ndesc)
{
    uint32_t bsize = rx_buf_size(nic->rctl);
    simtime_t t = 0;
    for (uint32_t i = 0; i < ndesc; i++) {
        size_t off = (size_t)i * bsize;
        t += dev_dma_time(&nic->env, DESC_SIZE) +
             dev_dma_time(&nic->env, len - off < bsize ? len - off : bsize);
    }
    return t;
}

static void rx_queue(struct e1000 *nic, const uint8_t *frame, size_t len, uint32_t ndesc,
                     simtime_t now)
{
    struct rx_pend *p = malloc(sizeof *p + len);
    assert(p);
    p->nic = nic;
    p->next = NULL;
    p->len = len;
    memcpy(p->data, frame, len);
    p->req = hopsim_pkt_req(frame, len);
    if (p->req && nic->env.tr) /* a reply stays in H5; a new frame's request starts here */
        trace_hop(nic->env.tr, p->req, HOP_H5, nic->env.place, now);
    p->first = nic->rx_next;
    p->ndesc = ndesc;
    nic->rx_next = (nic->rx_next + ndesc) % ring_size(nic->rdlen);
    p->start = later(now, nic->rx_free);
    nic->rx_free = p->start + rx_dma_time(nic, len, ndesc);
    p->ev = evq_schedule(nic->env.q, later(nic->rx_free, evq_now(nic->env.q)), rx_event, p);
    if (nic->rx_tail)
        nic->rx_tail->next = p;
    else
        nic->rx_head = p;
    nic->rx_tail = p;
}

bool e1000_receive(struct e1000 *nic, const uint8_t *frame, size_t len, simtime_t now)
{
    if (len < E1000_MIN_FRAME || len > E1000_MAX_FRAME) {
        nic->cnt.rx_malformed++;
        return false;
    }
    if (!(nic->rctl & E1000_RCTL_EN) || !pci_bus_master(nic->pci)) {
        nic->cnt.rx_dropped++;
        return false;
    }
    uint32_t bsize = rx_buf_size(nic->rctl);
    uint32_t ndesc = (uint32_t)((len + bsize - 1) / bsize);
    if (rx_free_desc(nic) < ndesc) {
        nic->cnt.rx_dropped++;
        cause_set(nic, E1000_ICR_RXO, now);
        return false;
    }
    rx_queue(nic, frame, len, ndesc, now);
    return true;
}

static void rx_stop(struct e1000 *nic)
{
    while (nic->rx_head) {
        struct rx_pend *p = nic->rx_head;
        nic->rx_head = p->next;
        evq_cancel(nic->env.q, p->ev);
        free(p);
    }
    nic->rx_tail = NULL;
    nic->rx_free = 0;
}

/* ---- control ----------------------------------------------------------------------- */

static void eeprom_build(struct e1000 *nic, const uint8_t mac[6])
{
    uint16_t *w = nic->eeprom, sum = 0;
    memset(w, 0, sizeof nic->eeprom);
    for (int i = 0; i < 3; i++)
        w[i] = (uint16_t)(mac[2 * i] | mac[2 * i + 1] << 8);
    w[0x0D] = E1000_PCI_DEVICE;
    w[0x0E] = E1000_PCI_VENDOR;
    for (int i = 0; i < E1000_EEPROM_WORDS - 1; i++)
        sum = (uint16_t)(sum + w[i]);
    w[E1000_EEPROM_WORDS - 1] = (uint16_t)(E1000_EEPROM_SUM - sum);
}

/* Every register to its power-on value; the MAC from the EEPROM into RAL0/RAH0. */
static void regs_reset(struct e1000 *nic)
{
    nic->ctrl = E1000_CTRL_FD | E1000_CTRL_SLU;
    nic->eerd = nic->icr = nic->ims = nic->itr = nic->rctl = nic->tctl = 0;
    nic->rdbal = nic->rdbah = nic->rdlen = nic->rdh = nic->rdt = nic->rx_next = 0;
    nic->tdbal = nic->tdbah = nic->tdlen = nic->tdh = nic->tdt = 0;
    memset(nic->ra, 0, sizeof nic->ra);
    memset(nic->mta, 0, sizeof nic->mta);
    nic->ra[0] = (uint32_t)nic->eeprom[0] | (uint32_t)nic->eeprom[1] << 16;
    nic->ra[1] = nic->eeprom[2] | E1000_RAH_AV;
    nic->irq_next = 0;
}

static void nic_reset(struct e1000 *nic, simtime_t now)
{
    tx_stop(nic);
    rx_stop(nic);
    if (nic->irq_ev)
        evq_cancel(nic->env.q, nic->irq_ev);
    nic->irq_ev = 0;
    regs_reset(nic);
    irq_sync(nic, now);
}

static void ctrl_write(struct e1000 *nic, uint32_t v, simtime_t now)
{
    if (v & E1000_CTRL_RST) {
        nic_reset(nic, now);
        return;
    }
    bool link_up = (v & E1000_CTRL_SLU) && !(nic->ctrl & E1000_CTRL_SLU);
    nic->ctrl = v;
    if (link_up)
        cause_set(nic, E1000_ICR_LSC, now);
}

static void eerd_write(struct e1000 *nic, uint32_t v)
{
    if (!(v & E1000_EERD_START)) {
        nic->eerd = v & ~E1000_EERD_DONE;
        return;
    }
    unsigned addr = (v >> E1000_EERD_ADDR_SHIFT) & 0xff;
    uint16_t data = addr < E1000_EEPROM_WORDS ? nic->eeprom[addr] : 0xffff;
    nic->eerd = (v & 0xff00) | E1000_EERD_DONE | (uint32_t)data << E1000_EERD_DATA_SHIFT;
}

static uint32_t icr_read(struct e1000 *nic, simtime_t now)
{
    uint32_t v = nic->icr;
    if (v & nic->ims)
        v |= E1000_ICR_INT_ASSERTED;
    nic->icr = 0;
    irq_sync(nic, now);
    return v;
}

static void ims_write(struct e1000 *nic, uint32_t v, simtime_t now)
{
    nic->ims |= v;
    irq_update(nic, now);
}

static void imc_write(struct e1000 *nic, uint32_t v, simtime_t now)
{
    nic->ims &= ~v;
    irq_sync(nic, now);
}

static void rdt_write(struct e1000 *nic, uint32_t v)
{
    if (v < ring_size(nic->rdlen))
        nic->rdt = v;
}

static void tctl_write(struct e1000 *nic, uint32_t v, simtime_t now)
{
    nic->tctl = v;
    tx_kick(nic, now);
}

/* Bus Master Enable 0 -> 1: transmit resumes. */
static void nic_command(void *opaque, uint16_t old_cmd, uint16_t new_cmd)
{
    struct e1000 *nic = opaque;
    if ((new_cmd & PCI_COMMAND_MASTER) && !(old_cmd & PCI_COMMAND_MASTER))
        tx_kick(nic, evq_now(nic->env.q));
}

/* ---- registers ------------------------------------------------------------------- */

static bool in_table(uint64_t off, uint64_t base, unsigned words)
{
    return off >= base && off < base + 4ull * words;
}

static uint32_t reg_read(struct e1000 *nic, uint64_t off, simtime_t now)
{
    if (in_table(off, E1000_MTA, MTA_WORDS))
        return nic->mta[(off - E1000_MTA) / 4];
    if (in_table(off, E1000_RAL0, 2 * RA_PAIRS))
        return nic->ra[(off - E1000_RAL0) / 4];
    switch (off) {
    case E1000_CTRL:
        return nic->ctrl;
    case E1000_STATUS:
        return E1000_STATUS_FD | E1000_STATUS_LU | E1000_STATUS_SPEED_1000;
    case E1000_EERD:
        return nic->eerd;
    case E1000_ICR:
        return icr_read(nic, now);
    case E1000_ITR:
        return nic->itr;
    case E1000_IMS:
        return nic->ims;
    case E1000_RCTL:
        return nic->rctl;
    case E1000_TCTL:
        return nic->tctl;
    case E1000_RDBAL:
        return nic->rdbal;
    case E1000_RDBAH:
        return nic->rdbah;
    case E1000_RDLEN:
        return nic->rdlen;
    case E1000_RDH:
        return nic->rdh;
    case E1000_RDT:
        return nic->rdt;
    case E1000_TDBAL:
        return nic->tdbal;
    case E1000_TDBAH:
        return nic->tdbah;
    case E1000_TDLEN:
        return nic->tdlen;
    case E1000_TDH:
        return nic->tdh;
    case E1000_TDT:
        return nic->tdt;
    default: /* ICS, IMC (write-only) and unmodelled offsets */
        return 0;
    }
}

static uint64_t e1000_mmio_read(void *opaque, uint64_t offset, unsigned size, simtime_t now)
{
    uint32_t v = reg_read(opaque, offset & ~3ull, now);
    v >>= 8 * (offset & 3);
    return size >= 4 ? v : v & ((1u << (8 * size)) - 1);
}

static void reg_write(struct e1000 *nic, uint64_t off, uint32_t v, simtime_t now)
{
    switch (off) {
    case E1000_CTRL:
        ctrl_write(nic, v, now);
        break;
    case E1000_EERD:
        eerd_write(nic, v);
        break;
    case E1000_ICR: /* write 1 to clear */
        nic->icr &= ~v;
        irq_sync(nic, now);
        break;
    case E1000_ITR:
        nic->itr = v & 0xffff;
        break;
    case E1000_ICS:
        cause_set(nic, v, now);
        break;
    case E1000_IMS:
        ims_write(nic, v, now);
        break;
    case E1000_IMC:
        imc_write(nic, v, now);
        break;
    case E1000_RCTL:
        nic->rctl = v;
        break;
    case E1000_TCTL:
        tctl_write(nic, v, now);
        break;
    case E1000_RDBAL:
        nic->rdbal = v & ~15u;
        break;
    case E1000_RDBAH:
        nic->rdbah = v;
        break;
    case E1000_RDLEN:
        nic->rdlen = v & LEN_MASK;
        break;
    case E1000_RDH:
        nic->rdh = nic->rx_next = v < ring_size(nic->rdlen) ? v : 0;
        break;
    case E1000_RDT:
        rdt_write(nic, v);
        break;
    case E1000_TDBAL:
        nic->tdbal = v & ~15u;
        break;
    case E1000_TDBAH:
        nic->tdbah = v;
        break;
    case E1000_TDLEN:
        nic->tdlen = v & LEN_MASK;
        break;
    case E1000_TDH:
        nic->tdh = v < ring_size(nic->tdlen) ? v : 0;
        break;
    case E1000_TDT:
        tdt_write(nic, v, now);
        break;
    default: /* read-only and unmodelled offsets */
        break;
    }
}

static void e1000_mmio_write(void *opaque, uint64_t offset, uint64_t value, unsigned size,
                             simtime_t now)
{
    struct e1000 *nic = opaque;
    uint32_t v = (uint32_t)value;
    if (size != 4 || (offset & 3))
        return;
    if (in_table(offset, E1000_MTA, MTA_WORDS))
        nic->mta[(offset - E1000_MTA) / 4] = v;
    else if (in_table(offset, E1000_RAL0, 2 * RA_PAIRS))
        nic->ra[(offset - E1000_RAL0) / 4] = v;
    else
        reg_write(nic, offset, v, now);
}

static const struct mmio_ops e1000_mmio = {.read = e1000_mmio_read, .write = e1000_mmio_write};

const struct mmio_ops *e1000_mmio_ops(void)
{
    return &e1000_mmio;
}

/* ---- life cycle -------------------------------------------------------------------- */

struct e1000 *e1000_create(const struct dev_env *env, struct pci_bus *bus, unsigned slot,
                           uint8_t gsi, const uint8_t mac[6], e1000_tx_fn tx, void *tx_opaque,
                           char *err, size_t errlen)
{
    assert(env && env->q && env->cost && env->dma.map && mac);
    struct e1000 *nic = calloc(1, sizeof *nic);
    if (!nic) {
        snprintf(err, errlen, "e1000: out of memory");
        return NULL;
    }
    nic->env = *env;
    nic->tx = tx;
    nic->tx_opaque = tx_opaque;
    nic->pci = pci_func_create(bus, slot, E1000_PCI_VENDOR, E1000_PCI_DEVICE, E1000_PCI_CLASS,
                               E1000_PCI_REVISION, gsi);
    if (!nic->pci) {
        snprintf(err, errlen, "e1000: PCI slot %u is taken or out of range", slot);
        free(nic);
        return NULL;
    }
    int rc = pci_func_add_bar(nic->pci, 0, E1000_BAR0_SIZE, 0, &e1000_mmio, nic);
    assert(rc == 0);
    (void)rc;
    pci_func_set_subsystem(nic->pci, E1000_PCI_VENDOR, 0x001E);
    pci_func_enable_msi_cap(nic->pci);
    pci_func_set_command_hook(nic->pci, nic_command, nic);
    eeprom_build(nic, mac);
    regs_reset(nic);
    return nic;
}

void e1000_destroy(struct e1000 *nic)
{
    if (!nic)
        return;
    tx_stop(nic);
    rx_stop(nic);
    if (nic->irq_ev)
        evq_cancel(nic->env.q, nic->irq_ev);
    pci_func_destroy(nic->pci);
    free(nic);
}

struct pci_func *e1000_pci(const struct e1000 *nic)
{
    return nic->pci;
}

void e1000_get_counters(const struct e1000 *nic, struct e1000_counters *out)
{
    *out = nic->cnt;
}
