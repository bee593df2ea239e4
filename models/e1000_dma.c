/*
 * The transmit and receive DMA engines of the e1000 model (models/e1000.h);
 * their timing and the assumptions behind it are described at the top of
 * models/e1000.c.
 */
#include "e1000_int.h"

#include <hopsim/netpkt.h>

#include <assert.h>
#include <stdlib.h>
#include <string.h>

static void tx_event(void *opaque, simtime_t now);

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
        e1000_cause_set(nic, E1000_ICR_TXDW, now);
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
    e1000_tx_kick(nic, now);
}

static bool tx_ready(const struct e1000 *nic)
{
    return nic->tx_stage == TX_IDLE && !nic->tx_stalled && (nic->tctl & E1000_TCTL_EN) &&
           nic->tdh != nic->tdt && ring_size(nic->tdlen) > 0 && pci_bus_master(nic->pci);
}

/* Begin fetching the descriptor at TDH if there is one to serve. */
void e1000_tx_kick(struct e1000 *nic, simtime_t now)
{
    if (!tx_ready(nic))
        return;
    now = later(now, nic->tx_avail[nic->tdh]);
    tx_schedule(nic, TX_FETCH, now, now + dev_dma_time(&nic->env, DESC_SIZE));
}

void e1000_tdt_write(struct e1000 *nic, uint32_t v, simtime_t now)
{
    uint32_t n = ring_size(nic->tdlen);
    if (v >= n)
        return;
    for (uint32_t i = nic->tdt; i != v; i = (i + 1) % n)
        nic->tx_avail[i] = now;
    nic->tdt = v;
    nic->tx_stalled = false;
    e1000_tx_kick(nic, now);
}

void e1000_tx_stop(struct e1000 *nic)
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
    e1000_cause_set(nic, E1000_ICR_RXT0, now);
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
        e1000_cause_set(nic, E1000_ICR_RXO, now);
        return false;
    }
    rx_queue(nic, frame, len, ndesc, now);
    return true;
}

void e1000_rx_stop(struct e1000 *nic)
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
