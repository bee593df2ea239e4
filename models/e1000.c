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
#include "e1000_int.h"

#include <hopsim/netpkt.h>

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- interrupts ---------------------------------------------------------------- */

static void irq_fire(struct e1000 *nic, simtime_t now)
{
    simtime_t when = now + dev_msi_time(&nic->env);
    bool msi = pci_msi(nic->pci, NULL, NULL);
    nic->irq_up = true;
    nic->cnt.interrupts++;
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
    if (nic->icr & nic->ims) {
        nic->cnt.deferred++;
        irq_fire(nic, now);
    }
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

void e1000_cause_set(struct e1000 *nic, uint32_t bits, simtime_t now)
{
    nic->icr |= bits;
    if (bits & nic->ims)
        irq_update(nic, now);
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
    e1000_tx_stop(nic);
    e1000_rx_stop(nic);
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
        e1000_cause_set(nic, E1000_ICR_LSC, now);
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
    e1000_tx_kick(nic, now);
}

/* Bus Master Enable 0 -> 1: transmit resumes. */
static void nic_command(void *opaque, uint16_t old_cmd, uint16_t new_cmd)
{
    struct e1000 *nic = opaque;
    if ((new_cmd & PCI_COMMAND_MASTER) && !(old_cmd & PCI_COMMAND_MASTER))
        e1000_tx_kick(nic, evq_now(nic->env.q));
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
        e1000_cause_set(nic, v, now);
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
        e1000_tdt_write(nic, v, now);
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
    e1000_tx_stop(nic);
    e1000_rx_stop(nic);
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
