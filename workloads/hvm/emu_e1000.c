/*
 * The emulated e1000 (see emu_e1000.h). Register layout and behaviour
 * follow Intel's 8254x Software Developer's Manual (the emulation keeps its
 * own copy of the layout, as QEMU's hw/net/e1000_regs.h does): legacy
 * descriptors of 16 bytes, the NIC owns transmit descriptors [TDH, TDT)
 * and receive descriptors [RDH, RDT), DD written back into the status
 * byte (byte 12) of a descriptor after the rest of it.
 *
 * Transmit is fetched at the TDT write, as QEMU's start_xmit does; a frame
 * is carried by the host and its descriptors complete when the host says
 * it was sent (not when it was queued), so the guest's buffers stay the
 * guest's until the wire has the frame. A frame the host cannot take now
 * is fetched again once it has room (TDH stays at its first descriptor).
 */
#include "emu_e1000.h"

#include <xen/errno.h>

/* arch.h and str.h only (no runtime): tests/unit/test_emu_e1000.c builds this file on the host */
#include "../lib/arch.h"
#include "../lib/str.h"

/* registers (offsets in BAR0) */
#define R_CTRL 0x0000
#define R_STATUS 0x0008
#define R_EERD 0x0014
#define R_ICR 0x00C0
#define R_ITR 0x00C4
#define R_ICS 0x00C8
#define R_IMS 0x00D0
#define R_IMC 0x00D8
#define R_RCTL 0x0100
#define R_TCTL 0x0400
#define R_TIPG 0x0410
#define R_RDBAL 0x2800
#define R_RDBAH 0x2804
#define R_RDLEN 0x2808
#define R_RDH 0x2810
#define R_RDT 0x2818
#define R_TDBAL 0x3800
#define R_TDBAH 0x3804
#define R_TDLEN 0x3808
#define R_TDH 0x3810
#define R_TDT 0x3818
#define R_MTA 0x5200 /* 128 entries */
#define R_RA 0x5400  /* 16 RAL/RAH pairs */

#define CTRL_FD (1u << 0)
#define CTRL_SLU (1u << 6)
#define CTRL_RST (1u << 26)
#define STATUS_FD (1u << 0)
#define STATUS_LU (1u << 1)
#define STATUS_SPEED_1000 (2u << 6)
#define EERD_START (1u << 0)
#define EERD_DONE (1u << 4)
#define EERD_ADDR_SHIFT 8
#define EERD_DATA_SHIFT 16
#define ICR_TXDW (1u << 0)
#define ICR_LSC (1u << 2)
#define ICR_RXO (1u << 6)
#define ICR_RXT0 (1u << 7)
#define ICR_INT_ASSERTED (1u << 31)
#define RCTL_EN (1u << 1)
#define RCTL_UPE (1u << 3)
#define RCTL_MPE (1u << 4)
#define RCTL_MO_SHIFT 12
#define RCTL_BAM (1u << 15)
#define RCTL_BSIZE_SHIFT 16
#define RCTL_BSEX (1u << 25)
#define TCTL_EN (1u << 1)
#define RAH_AV (1u << 31)

#define TXD_CMD_EOP 0x01
#define TXD_CMD_RS 0x08
#define TXD_STAT_DD 0x01
#define RXD_STAT_DD 0x01
#define RXD_STAT_EOP 0x02
#define RXD_ERR_RXE 0x80

#define DESC_SIZE 16u
#define EEPROM_SUM 0xBABA
#define MIN_FRAME 14u
#define MAX_DESC 4096u /* ring entries served (Linux e1000's maximum) */

struct txd {
    uint64_t addr;
    uint16_t length;
    uint8_t cso, cmd, status, css;
    uint16_t special;
};

struct rxd {
    uint64_t addr;
    uint16_t length, csum;
    uint8_t status, errors;
    uint16_t special;
};

_Static_assert(sizeof(struct txd) == DESC_SIZE, "legacy TX descriptor is 16 bytes");
_Static_assert(sizeof(struct rxd) == DESC_SIZE, "legacy RX descriptor is 16 bytes");

static unsigned ring_size(uint32_t len)
{
    unsigned n = len / DESC_SIZE;
    return n > MAX_DESC ? MAX_DESC : n;
}

static void *desc_at(struct emu_e1k *e, uint32_t lo, uint32_t hi, uint32_t i)
{
    uint64_t a = ((uint64_t)hi << 32 | lo) + (uint64_t)i * DESC_SIZE;
    return e->h.dma(e->h.ctx, a, DESC_SIZE); /* 16-byte aligned base: never crosses a page */
}

/* Copy between the guest's [gpa, gpa + len) and buf, page by page: 0, or -1 if unreachable. */
static int guest_copy(struct emu_e1k *e, uint64_t gpa, void *buf, unsigned len, int to_guest)
{
    uint8_t *b = buf;
    while (len) {
        unsigned n = (unsigned)(PAGE_SIZE - (gpa & (PAGE_SIZE - 1)));
        if (n > len)
            n = len;
        uint8_t *g = e->h.dma(e->h.ctx, gpa, n);
        if (!g)
            return -1;
        if (to_guest)
            memcpy(g, b, n);
        else
            memcpy(b, g, n);
        gpa += n;
        b += n;
        len -= n;
    }
    return 0;
}

static void update_irq(struct emu_e1k *e)
{
    int level = (e->icr & e->ims) != 0;
    if (level == e->irq)
        return;
    e->irq = level;
    e->h.set_irq(e->h.ctx, level);
}

static void cause(struct emu_e1k *e, uint32_t bits)
{
    e->icr |= bits;
    update_irq(e);
}

/* ---- reset and EEPROM ---- */

static void regs_reset(struct emu_e1k *e)
{
    e->ctrl = CTRL_FD | CTRL_SLU; /* the link comes up by itself, as the platform's NIC does */
    e->eerd = e->icr = e->ims = e->itr = e->rctl = e->tctl = e->tipg = 0;
    e->rdbal = e->rdbah = e->rdlen = e->rdh = e->rdt = 0;
    e->tdbal = e->tdbah = e->tdlen = e->tdh = e->tdt = 0;
    memset(e->mta, 0, sizeof e->mta);
    memset(e->ra, 0, sizeof e->ra);
    e->ra[0] = (uint32_t)e->eeprom[0] | (uint32_t)e->eeprom[1] << 16;
    e->ra[1] = e->eeprom[2] | RAH_AV;
    e->flen = 0;
    e->fbad = e->infr = 0;
    e->tx_blocked = 0;
    e->gen++; /* frames the host still holds complete nowhere */
    update_irq(e);
}

void emu_e1k_init(struct emu_e1k *e, const struct emu_e1k_host *h, const uint8_t mac[6])
{
    memset(e, 0, sizeof(*e));
    e->h = *h;
    memcpy(e->mac, mac, 6);
    uint16_t sum = 0;
    for (unsigned i = 0; i < 3; i++)
        e->eeprom[i] = (uint16_t)(mac[2 * i] | mac[2 * i + 1] << 8);
    for (unsigned i = 0; i < 63; i++)
        sum = (uint16_t)(sum + e->eeprom[i]);
    e->eeprom[63] = (uint16_t)(EEPROM_SUM - sum);
    regs_reset(e);
}

static void eerd_write(struct emu_e1k *e, uint32_t v)
{
    if (!(v & EERD_START)) {
        e->eerd = v & ~EERD_DONE;
        return;
    }
    unsigned a = (v >> EERD_ADDR_SHIFT) & 0xff;
    uint16_t data = a < 64 ? e->eeprom[a] : 0xffff;
    e->eerd = (v & 0xff00) | EERD_DONE | (uint32_t)data << EERD_DATA_SHIFT;
}

/* ---- transmit ---- */

/* DD into every RS descriptor of [first, last]. */
static void tx_writeback(struct emu_e1k *e, uint32_t first, uint32_t last)
{
    unsigned n = ring_size(e->tdlen);
    for (uint32_t i = first;; i = (i + 1) % n) {
        struct txd *d = desc_at(e, e->tdbal, e->tdbah, i);
        if (d && (d->cmd & TXD_CMD_RS))
            d->status |= TXD_STAT_DD;
        if (i == last || !n)
            break;
    }
}

/* Gather descriptors [TDH, TDT) into frames for the host. */
static void tx_process(struct emu_e1k *e)
{
    unsigned n = ring_size(e->tdlen), taken = 0, done = 0;
    /* a ring shrunk under its indices is not walked (the loop would never meet TDT) */
    if (!(e->tctl & TCTL_EN) || !n || e->tx_blocked || e->tdh >= n || e->tdt >= n)
        return;
    while (e->tdh != e->tdt && e->txq_n < EMU_E1K_TXQ) {
        uint32_t i = e->tdh;
        if (!e->infr) {
            e->infr = 1;
            e->ffirst = i;
        }
        uint32_t first = e->ffirst;
        struct txd *dp = desc_at(e, e->tdbal, e->tdbah, i), d;
        if (dp) {
            d = *dp;
        } else {
            d = (struct txd){.cmd = TXD_CMD_EOP}; /* unreachable descriptor: ends a bad frame */
            e->fbad = 1;
        }
        if (d.length && !e->fbad) {
            if (e->flen + d.length > EMU_E1K_TX_MAX ||
                guest_copy(e, d.addr, e->frame + e->flen, d.length, 0) < 0)
                e->fbad = 1;
            else
                e->flen += d.length;
        }
        e->tdh = (i + 1) % n;
        if (!(d.cmd & TXD_CMD_EOP))
            continue;
        int rc =
            e->fbad || e->flen < MIN_FRAME ? -XEN_EINVAL : e->h.xmit(e->h.ctx, e->frame, e->flen);
        if (rc == -XEN_EAGAIN) {
            e->tdh = first; /* fetched again when the host has room */
            e->tx_blocked = 1;
        } else if (rc == 0) {
            unsigned slot = (e->txq_head + e->txq_n++) % EMU_E1K_TXQ;
            e->txq[slot] = (struct emu_e1k_txf){.first = first, .last = i, .gen = e->gen};
            e->st.tx_frames++;
            taken++;
        } else {
            e->st.tx_dropped++;
            tx_writeback(e, first, i);
            done++;
        }
        e->flen = 0;
        e->fbad = e->infr = 0;
        if (e->tx_blocked)
            break;
    }
    if (taken)
        e->h.kick(e->h.ctx);
    if (done)
        cause(e, ICR_TXDW);
}

void emu_e1k_tx_done(struct emu_e1k *e, int status)
{
    (void)status; /* a legacy descriptor reports no transmit error the driver looks at */
    if (!e->txq_n)
        return;
    struct emu_e1k_txf f = e->txq[e->txq_head];
    e->txq_head = (e->txq_head + 1) % EMU_E1K_TXQ;
    e->txq_n--;
    if (f.gen == e->gen) {
        tx_writeback(e, f.first, f.last);
        cause(e, ICR_TXDW);
    }
    tx_process(e); /* a full queue stopped the fetch */
}

void emu_e1k_tx_resume(struct emu_e1k *e)
{
    e->tx_blocked = 0;
    tx_process(e);
}

/* ---- receive ---- */

static unsigned rx_bufsize(uint32_t rctl)
{
    static const unsigned sz[2][4] = {{2048, 1024, 512, 256}, {0, 16384, 8192, 4096}};
    unsigned s = sz[(rctl & RCTL_BSEX) != 0][(rctl >> RCTL_BSIZE_SHIFT) & 3];
    return s ? s : 2048;
}

/* Destination address filter (8254x manual, "Receive Address Filtering"). */
static int rx_accept(const struct emu_e1k *e, const uint8_t *dst)
{
    static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    if (e->rctl & RCTL_UPE)
        return 1;
    if (!memcmp(dst, bcast, 6))
        return (e->rctl & RCTL_BAM) != 0;
    if (dst[0] & 1) {
        if (e->rctl & RCTL_MPE)
            return 1;
        /* RCTL.MO 0..3: the hash is bits 47:36, 46:35, 45:34 or 43:32 of the address */
        static const unsigned shifts[4] = {4, 3, 2, 0};
        unsigned shift = shifts[(e->rctl >> RCTL_MO_SHIFT) & 3];
        unsigned h = ((unsigned)dst[4] >> shift | (unsigned)dst[5] << (8 - shift)) & 0xfff;
        return (e->mta[h >> 5] >> (h & 31)) & 1;
    }
    for (unsigned i = 0; i < 16; i++) {
        uint32_t lo = e->ra[2 * i], hi = e->ra[2 * i + 1];
        const uint8_t a[6] = {(uint8_t)lo,         (uint8_t)(lo >> 8), (uint8_t)(lo >> 16),
                              (uint8_t)(lo >> 24), (uint8_t)hi,        (uint8_t)(hi >> 8)};
        if ((hi & RAH_AV) && !memcmp(dst, a, 6))
            return 1;
    }
    return 0;
}

int emu_e1k_receive(struct emu_e1k *e, const void *frame, unsigned len)
{
    unsigned n = ring_size(e->rdlen), bsize = rx_bufsize(e->rctl);
    if (!(e->rctl & RCTL_EN) || !n || len < MIN_FRAME) {
        e->st.rx_dropped++;
        return 0;
    }
    if (!rx_accept(e, frame)) {
        e->st.rx_filtered++;
        return 0;
    }
    unsigned need = (len + bsize - 1) / bsize, avail = (e->rdt + n - e->rdh) % n;
    if (e->rdt >= n || e->rdh >= n || avail < need) {
        e->st.rx_dropped++;
        cause(e, ICR_RXO);
        return 0;
    }
    const uint8_t *f = frame;
    for (unsigned k = 0, off = 0; k < need; k++, off += bsize) {
        struct rxd *d = desc_at(e, e->rdbal, e->rdbah, e->rdh);
        unsigned piece = len - off < bsize ? len - off : bsize;
        if (d) {
            uint8_t err = guest_copy(e, d->addr, (void *)(f + off), piece, 1) < 0 ? RXD_ERR_RXE : 0;
            d->length = (uint16_t)piece;
            d->csum = 0;
            d->errors = err;
            d->special = 0;
            barrier(); /* the descriptor's fields before its DD */
            d->status = RXD_STAT_DD | (k + 1 == need ? RXD_STAT_EOP : 0);
        }
        e->rdh = (e->rdh + 1) % n;
    }
    e->st.rx_frames++;
    cause(e, ICR_RXT0);
    return 1;
}

/* ---- registers ---- */

uint64_t emu_e1k_read(struct emu_e1k *e, uint64_t off, unsigned size)
{
    if (size != 4 || (off & 3) || off >= EMU_E1K_BAR0_SIZE)
        return ~0ull;
    if (off >= R_MTA && off < R_MTA + 4 * 128)
        return e->mta[(off - R_MTA) / 4];
    if (off >= R_RA && off < R_RA + 4 * 32)
        return e->ra[(off - R_RA) / 4];
    switch (off) {
    case R_CTRL:
        return e->ctrl;
    case R_STATUS:
        return STATUS_FD | STATUS_SPEED_1000 | (e->ctrl & CTRL_SLU ? STATUS_LU : 0);
    case R_EERD:
        return e->eerd;
    case R_ICR: {
        uint32_t v = e->icr | (e->icr & e->ims ? ICR_INT_ASSERTED : 0);
        e->icr = 0; /* read-to-clear */
        update_irq(e);
        return v;
    }
    case R_ITR:
        return e->itr;
    case R_IMS:
        return e->ims;
    case R_RCTL:
        return e->rctl;
    case R_TCTL:
        return e->tctl;
    case R_TIPG:
        return e->tipg;
    case R_RDBAL:
        return e->rdbal;
    case R_RDBAH:
        return e->rdbah;
    case R_RDLEN:
        return e->rdlen;
    case R_RDH:
        return e->rdh;
    case R_RDT:
        return e->rdt;
    case R_TDBAL:
        return e->tdbal;
    case R_TDBAH:
        return e->tdbah;
    case R_TDLEN:
        return e->tdlen;
    case R_TDH:
        return e->tdh;
    case R_TDT:
        return e->tdt;
    default:
        return 0; /* unimplemented registers read as zero */
    }
}

void emu_e1k_write(struct emu_e1k *e, uint64_t off, unsigned size, uint64_t val)
{
    uint32_t v = (uint32_t)val;
    if (size != 4 || (off & 3) || off >= EMU_E1K_BAR0_SIZE)
        return;
    if (off >= R_MTA && off < R_MTA + 4 * 128) {
        e->mta[(off - R_MTA) / 4] = v;
        return;
    }
    if (off >= R_RA && off < R_RA + 4 * 32) {
        e->ra[(off - R_RA) / 4] = v;
        return;
    }
    switch (off) {
    case R_CTRL:
        if (v & CTRL_RST) {
            regs_reset(e);
            return;
        }
        if ((v & CTRL_SLU) && !(e->ctrl & CTRL_SLU)) {
            e->ctrl = v;
            cause(e, ICR_LSC);
            return;
        }
        e->ctrl = v;
        return;
    case R_EERD:
        eerd_write(e, v);
        return;
    case R_ICR:
        e->icr &= ~v; /* write-1-to-clear */
        update_irq(e);
        return;
    case R_ICS:
        cause(e, v);
        return;
    case R_IMS:
        e->ims |= v;
        update_irq(e);
        return;
    case R_IMC:
        e->ims &= ~v;
        update_irq(e);
        return;
    case R_ITR:
        e->itr = v & 0xffff;
        return;
    case R_RCTL:
        e->rctl = v;
        return;
    case R_TCTL:
        e->tctl = v;
        tx_process(e);
        return;
    case R_TIPG:
        e->tipg = v;
        return;
    case R_RDBAL:
        e->rdbal = v & ~0xfu;
        return;
    case R_RDBAH:
        e->rdbah = v;
        return;
    case R_RDLEN:
        e->rdlen = v & 0xfff80u;
        return;
    case R_RDH:
        e->rdh = v < ring_size(e->rdlen) ? v : 0;
        return;
    case R_RDT:
        if (v < ring_size(e->rdlen))
            e->rdt = v;
        return;
    case R_TDBAL:
        e->tdbal = v & ~0xfu;
        return;
    case R_TDBAH:
        e->tdbah = v;
        return;
    case R_TDLEN:
        e->tdlen = v & 0xfff80u;
        return;
    case R_TDH:
        e->tdh = v < ring_size(e->tdlen) ? v : 0;
        return;
    case R_TDT:
        if (v < ring_size(e->tdlen)) {
            e->tdt = v;
            tx_process(e);
        }
        return;
    default:
        return; /* unimplemented registers ignore writes */
    }
}
