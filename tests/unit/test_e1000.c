/*
 * Register-level tests of the e1000 model (models/e1000.c), with no guest
 * and no wire: a host buffer stands in for memory at bus address MEM_BASE
 * (the fake DMA returns NULL outside it), an IRQ line counts raises, a
 * transmit callback records frames, the test owns the event queue and
 * calls e1000_receive() itself. Rings are programmed through the BAR0
 * mmio_ops; data, descriptors, head registers, ICR, interrupts and exact
 * times are checked against the default cost profile.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e1000.h"
#include "fake_platform.h"

#ifndef HOPSIM_SOURCE_DIR
#error "HOPSIM_SOURCE_DIR must name the repository root"
#endif

#define TX_RING (MEM_BASE + 0x0000)
#define RX_RING (MEM_BASE + 0x1000)
#define TX_BUF (MEM_BASE + 0x10000) /* 2 KiB per descriptor slot */
#define RX_BUF (MEM_BASE + 0x40000) /* 2 KiB per descriptor slot */
#define NDESC 8
#define US 1000000ull
#define HZ 3e9
#define MAX_TX 16

static const uint8_t mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
static char err[512];
static struct cost_profile prof;
static struct evq q;
static struct pci_bus *bus;
static struct e1000 *nic;
static const struct mmio_ops *ops;
static void *regs;
static struct dev_env env;
static int ntx;
static size_t tx_len[MAX_TX];
static simtime_t tx_when[MAX_TX];
static uint8_t tx_data[MAX_TX][4096];
static simtime_t tx_wire_ps; /* 0: an infinitely fast wire */

static simtime_t on_tx(void *opaque, const uint8_t *frame, size_t len, simtime_t when)
{
    (void)opaque;
    ck_assert_int_lt(ntx, MAX_TX);
    ck_assert_uint_le(len, sizeof tx_data[0]);
    memcpy(tx_data[ntx], frame, len);
    tx_len[ntx] = len;
    tx_when[ntx] = when;
    ntx++;
    return when + tx_wire_ps * len; /* the test's wire: tx_wire_ps per byte */
}

static void setup(void)
{
    ck_assert_msg(
        cost_load(&prof, HOPSIM_SOURCE_DIR "/profiles/default.profile", err, sizeof err) == 0, "%s",
        err);
    mem = aligned_alloc(4096, MEM_SIZE);
    ck_assert_ptr_nonnull(mem);
    memset(mem, 0, MEM_SIZE);
    nraise = nlower = ntx = 0;
    tx_wire_ps = 0;
    evq_init(&q);
    env = (struct dev_env){.q = &q,
                           .tr = NULL,
                           .place = 0,
                           .cost = &prof,
                           .hz = HZ,
                           .dma = {NULL, fake_map},
                           .irq = {NULL, on_raise, on_lower}};
    bus = pci_bus_create(NULL, NULL);
    nic = e1000_create(&env, bus, 3, 11, mac, on_tx, NULL, err, sizeof err);
    ck_assert_msg(nic != NULL, "%s", err);
    ops = pci_bar_mmio(e1000_pci(nic), 0, &regs);
    ck_assert_ptr_eq(ops, e1000_mmio_ops());
    pci_cfg_write(e1000_pci(nic), PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
}

static void teardown(void)
{
    e1000_destroy(nic);
    pci_bus_destroy(bus);
    evq_fini(&q);
    free(mem);
}

/* ---- helpers ---------------------------------------------------------------- */

static uint32_t rd(uint64_t off)
{
    return (uint32_t)ops->read(regs, off, 4, evq_now(&q));
}

static void wr(uint64_t off, uint32_t v, simtime_t now)
{
    ops->write(regs, off, v, 4, now);
}

static void run(void)
{
    while (evq_step(&q))
        ;
}

static simtime_t dma(uint64_t bytes)
{
    return cost_ps(&prof, C_DMA_LATENCY, HZ) + cost_bytes_ps(&prof, C_PCIE_BW, bytes);
}

static simtime_t msi(void)
{
    return cost_ps(&prof, C_MSI_LATENCY, HZ);
}

static void *at(uint64_t busaddr)
{
    return mem + (busaddr - MEM_BASE);
}

static struct e1000_tx_desc *txd(unsigned i)
{
    return at(TX_RING + i * 16ull);
}

static struct e1000_rx_desc *rxd(unsigned i)
{
    return at(RX_RING + i * 16ull);
}

static struct e1000_counters counters(void)
{
    struct e1000_counters c;
    e1000_get_counters(nic, &c);
    return c;
}

static void tx_setup(uint32_t head)
{
    wr(E1000_TDBAL, (uint32_t)TX_RING, 0);
    wr(E1000_TDBAH, 0, 0);
    wr(E1000_TDLEN, NDESC * 16, 0);
    wr(E1000_TDH, head, 0);
    wr(E1000_TDT, head, 0);
    wr(E1000_TCTL, E1000_TCTL_EN, 0);
}

/* Descriptor i over `len` bytes of pattern `seed` in slot i's buffer. */
static void put_tx(unsigned i, uint16_t len, uint8_t cmd, uint8_t seed)
{
    uint8_t *b = at(TX_BUF + i * 2048ull);
    for (unsigned k = 0; k < len; k++)
        b[k] = (uint8_t)(seed + k);
    *txd(i) = (struct e1000_tx_desc){.addr = TX_BUF + i * 2048ull, .length = len, .cmd = cmd};
}

static void rx_setup(uint32_t head, uint32_t tail)
{
    for (unsigned i = 0; i < NDESC; i++)
        *rxd(i) = (struct e1000_rx_desc){.addr = RX_BUF + i * 2048ull};
    wr(E1000_RDBAL, (uint32_t)RX_RING, 0);
    wr(E1000_RDBAH, 0, 0);
    wr(E1000_RDLEN, NDESC * 16, 0);
    wr(E1000_RDH, head, 0);
    wr(E1000_RDT, tail, 0);
    wr(E1000_RCTL, E1000_RCTL_EN, 0);
}

static void make_frame(uint8_t *f, size_t len, uint8_t seed)
{
    for (size_t k = 0; k < len; k++)
        f[k] = (uint8_t)(seed * 7 + k);
}

/* ---- identity and EEPROM ------------------------------------------------------ */

START_TEST(identity_and_eeprom)
{
    struct pci_func *f = e1000_pci(nic);
    ck_assert_uint_eq(pci_cfg_read(f, PCI_VENDOR_ID, 2), 0x8086);
    ck_assert_uint_eq(pci_cfg_read(f, PCI_DEVICE_ID, 2), 0x100E);
    ck_assert_uint_eq(pci_cfg_read(f, PCI_REVISION_ID, 4) >> 8, 0x020000);
    ck_assert_uint_eq(pci_bar_size(f, 0), 128 * 1024);
    ck_assert(pci_cfg_read(f, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
    uint32_t st = rd(E1000_STATUS);
    ck_assert(st & E1000_STATUS_LU);
    ck_assert(st & E1000_STATUS_FD);
    ck_assert_uint_eq(st & (3u << 6), E1000_STATUS_SPEED_1000);
    uint16_t sum = 0;
    for (unsigned w = 0; w < E1000_EEPROM_WORDS; w++) {
        wr(E1000_EERD, E1000_EERD_START | w << E1000_EERD_ADDR_SHIFT, 0);
        uint32_t v = rd(E1000_EERD);
        ck_assert(v & E1000_EERD_DONE);
        uint16_t data = (uint16_t)(v >> E1000_EERD_DATA_SHIFT);
        if (w < 3)
            ck_assert_uint_eq(data, mac[2 * w] | mac[2 * w + 1] << 8);
        sum = (uint16_t)(sum + data);
    }
    ck_assert_uint_eq(sum, E1000_EEPROM_SUM);
    ck_assert_uint_eq(rd(E1000_RAL0), 0x12005452u);
    ck_assert_uint_eq(rd(E1000_RAH0), 0x5634u | E1000_RAH_AV);
    /* MTA and other RA entries are accepted and read back */
    wr(E1000_MTA + 4 * 5, 0xdeadbeef, 0);
    ck_assert_uint_eq(rd(E1000_MTA + 4 * 5), 0xdeadbeef);
    ck_assert_uint_eq(ops->read(regs, E1000_RAH0 + 2, 2, 0), E1000_RAH_AV >> 16);
}
END_TEST

/* ---- transmit ------------------------------------------------------------------ */

START_TEST(tx_single_frame)
{
    tx_setup(0);
    wr(E1000_IMS, E1000_ICR_TXDW, 0);
    put_tx(0, 60, E1000_TXD_CMD_EOP | E1000_TXD_CMD_IFCS | E1000_TXD_CMD_RS, 1);
    simtime_t t0 = 5 * US;
    wr(E1000_TDT, 1, t0);
    run();
    simtime_t end = t0 + dma(16) + dma(60);
    ck_assert_int_eq(ntx, 1);
    ck_assert_uint_eq(tx_len[0], 60);
    ck_assert_mem_eq(tx_data[0], at(TX_BUF), 60);
    ck_assert_uint_eq(tx_when[0], end);
    ck_assert_uint_eq(txd(0)->status, E1000_TXD_STAT_DD);
    ck_assert_uint_eq(rd(E1000_TDH), 1);
    ck_assert_int_eq(nraise, 1);
    ck_assert_uint_eq(raise_when[0], end + msi());
    ck_assert_uint_eq(rd(E1000_ICR), E1000_ICR_TXDW | E1000_ICR_INT_ASSERTED);
    ck_assert_uint_eq(counters().tx_frames, 1);
}
END_TEST

START_TEST(tx_multi_descriptor_frame)
{
    tx_setup(0);
    wr(E1000_IMS, E1000_ICR_TXDW, 0);
    put_tx(0, 100, 0, 10);
    put_tx(1, 200, 0, 20);
    put_tx(2, 50, E1000_TXD_CMD_EOP | E1000_TXD_CMD_RS, 30);
    simtime_t t0 = 2 * US;
    wr(E1000_TDT, 3, t0);
    run();
    ck_assert_int_eq(ntx, 1);
    ck_assert_uint_eq(tx_len[0], 350);
    ck_assert_mem_eq(tx_data[0], at(TX_BUF), 100);
    ck_assert_mem_eq(tx_data[0] + 100, at(TX_BUF + 2048), 200);
    ck_assert_mem_eq(tx_data[0] + 300, at(TX_BUF + 4096), 50);
    simtime_t end = t0 + 3 * dma(16) + dma(100) + dma(200) + dma(50);
    ck_assert_uint_eq(tx_when[0], end);
    ck_assert_uint_eq(txd(0)->status, 0); /* no RS: no write-back */
    ck_assert_uint_eq(txd(1)->status, 0);
    ck_assert_uint_eq(txd(2)->status, E1000_TXD_STAT_DD);
    ck_assert_uint_eq(rd(E1000_TDH), 3);
    ck_assert_int_eq(nraise, 1);
    ck_assert_uint_eq(raise_when[0], end + msi());
}
END_TEST

/*
 * The 16 KB transmit FIFO: eight 2000-byte frames fit; each later frame's
 * gather waits until the frame eight before it has left the wire.
 */
START_TEST(tx_fifo_backpressure)
{
    enum { N = 12, LEN = 2000, FIT = E1000_TX_FIFO / LEN };
    tx_wire_ps = 8000; /* 1 GbE: 8 ns a byte */
    tx_setup(0);
    wr(E1000_TDLEN, 32 * 16, 0); /* room for N frames */
    for (unsigned i = 0; i < N; i++)
        put_tx(i, LEN, E1000_TXD_CMD_EOP | E1000_TXD_CMD_RS, (uint8_t)i);
    simtime_t t0 = 1 * US;
    wr(E1000_TDT, N, t0);
    run();
    ck_assert_int_eq(ntx, N);
    for (unsigned k = 0; k < FIT; k++) /* no waiting: DMA pace */
        ck_assert_uint_eq(tx_when[k], t0 + (k + 1) * (dma(16) + dma(LEN)));
    for (unsigned k = FIT; k < N; k++) {
        simtime_t left = tx_when[k - FIT] + tx_wire_ps * LEN, fetched = tx_when[k - 1] + dma(16);
        ck_assert_uint_eq(tx_when[k], (left > fetched ? left : fetched) + dma(LEN));
        ck_assert_uint_ge(left, fetched); /* the wire, not the bus, sets the pace */
    }
    ck_assert_uint_eq(txd(N - 1)->status, E1000_TXD_STAT_DD);
    tx_wire_ps = 0;
}
END_TEST

START_TEST(tx_waits_for_later_tail_write)
{
    tx_setup(0);
    put_tx(0, 64, E1000_TXD_CMD_EOP | E1000_TXD_CMD_RS, 1);
    put_tx(1, 64, E1000_TXD_CMD_EOP | E1000_TXD_CMD_RS, 2);
    wr(E1000_TDT, 1, 1 * US);
    wr(E1000_TDT, 2, 100 * US); /* a vCPU ahead of the queue */
    run();
    ck_assert_int_eq(ntx, 2);
    ck_assert_uint_eq(tx_when[0], 1 * US + dma(16) + dma(64));
    ck_assert_uint_eq(tx_when[1], 100 * US + dma(16) + dma(64));
    ck_assert_mem_eq(tx_data[1], at(TX_BUF + 2048), 64);
}
END_TEST

START_TEST(tx_disabled_or_no_bus_master)
{
    tx_setup(0);
    wr(E1000_TCTL, 0, 0);
    put_tx(0, 64, E1000_TXD_CMD_EOP | E1000_TXD_CMD_RS, 1);
    wr(E1000_TDT, 1, 0);
    run();
    ck_assert_int_eq(ntx, 0);
    pci_cfg_write(e1000_pci(nic), PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
    wr(E1000_TCTL, E1000_TCTL_EN, 0);
    run();
    ck_assert_int_eq(ntx, 0);
    pci_cfg_write(e1000_pci(nic), PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    run();
    ck_assert_int_eq(ntx, 1);
    ck_assert_uint_eq(rd(E1000_TDH), 1);
}
END_TEST

/* ---- receive ------------------------------------------------------------------- */

START_TEST(rx_into_ring)
{
    uint8_t f[100];
    make_frame(f, sizeof f, 3);
    rx_setup(0, NDESC - 1);
    wr(E1000_IMS, E1000_ICR_RXT0, 0);
    simtime_t t0 = 7 * US;
    ck_assert(e1000_receive(nic, f, sizeof f, t0));
    ck_assert_uint_eq(rd(E1000_RDH), 0); /* not before the DMA ends */
    run();
    simtime_t end = t0 + dma(16) + dma(sizeof f);
    ck_assert_mem_eq(at(RX_BUF), f, sizeof f);
    ck_assert_uint_eq(rxd(0)->length, sizeof f);
    ck_assert_uint_eq(rxd(0)->status, E1000_RXD_STAT_DD | E1000_RXD_STAT_EOP);
    ck_assert_uint_eq(rxd(0)->addr, RX_BUF);
    ck_assert_uint_eq(rd(E1000_RDH), 1);
    ck_assert_int_eq(nraise, 1);
    ck_assert_uint_eq(raise_when[0], end + msi());
    ck_assert_uint_eq(rd(E1000_ICR), E1000_ICR_RXT0 | E1000_ICR_INT_ASSERTED);
    ck_assert_uint_eq(counters().rx_frames, 1);
}
END_TEST

START_TEST(rx_back_to_back_serialised)
{
    uint8_t f[200];
    make_frame(f, sizeof f, 4);
    rx_setup(0, NDESC - 1);
    ck_assert(e1000_receive(nic, f, sizeof f, 0));
    ck_assert(e1000_receive(nic, f, 60, 0));
    run();
    ck_assert_uint_eq(evq_now(&q), 2 * dma(16) + dma(200) + dma(60));
    ck_assert_uint_eq(rxd(1)->length, 60);
    ck_assert_uint_eq(rd(E1000_RDH), 2);
}
END_TEST

START_TEST(rx_spans_small_buffers)
{
    uint8_t f[600];
    make_frame(f, sizeof f, 5);
    rx_setup(0, NDESC - 1);
    wr(E1000_RCTL, E1000_RCTL_EN | 3u << E1000_RCTL_BSIZE_SHIFT, 0); /* 256-byte buffers */
    ck_assert(e1000_receive(nic, f, sizeof f, 0));
    run();
    ck_assert_uint_eq(rd(E1000_RDH), 3);
    ck_assert_uint_eq(rxd(0)->length, 256);
    ck_assert_uint_eq(rxd(0)->status, E1000_RXD_STAT_DD);
    ck_assert_uint_eq(rxd(2)->length, 88);
    ck_assert_uint_eq(rxd(2)->status, E1000_RXD_STAT_DD | E1000_RXD_STAT_EOP);
    ck_assert_mem_eq(at(RX_BUF + 2048), f + 256, 256);
    ck_assert_mem_eq(at(RX_BUF + 4096), f + 512, 88);
    ck_assert_uint_eq(evq_now(&q), 3 * dma(16) + 2 * dma(256) + dma(88));
}
END_TEST

START_TEST(rings_wrap)
{
    /* transmit: descriptors 6, 7, 0, 1 */
    tx_setup(6);
    unsigned order[4] = {6, 7, 0, 1};
    for (unsigned k = 0; k < 4; k++)
        put_tx(order[k], 64, E1000_TXD_CMD_EOP | E1000_TXD_CMD_RS, (uint8_t)k);
    wr(E1000_TDT, 2, 0);
    run();
    ck_assert_int_eq(ntx, 4);
    for (unsigned k = 0; k < 4; k++) {
        ck_assert_mem_eq(tx_data[k], at(TX_BUF + order[k] * 2048ull), 64);
        ck_assert_uint_eq(txd(order[k])->status, E1000_TXD_STAT_DD);
    }
    ck_assert_uint_eq(rd(E1000_TDH), 2);
    /* receive: head 6, tail 5 (7 free) */
    rx_setup(6, 5);
    uint8_t f[64];
    for (unsigned k = 0; k < 4; k++) {
        make_frame(f, sizeof f, (uint8_t)k);
        ck_assert(e1000_receive(nic, f, sizeof f, evq_now(&q)));
    }
    run();
    ck_assert_uint_eq(rd(E1000_RDH), 2);
    for (unsigned k = 0; k < 4; k++) {
        make_frame(f, sizeof f, (uint8_t)k);
        ck_assert_uint_eq(rxd(order[k])->status, E1000_RXD_STAT_DD | E1000_RXD_STAT_EOP);
        ck_assert_mem_eq(at(RX_BUF + order[k] * 2048ull), f, sizeof f);
    }
    ck_assert_uint_eq(rxd(2)->status, 0);
}
END_TEST

START_TEST(rx_no_descriptor_drops)
{
    uint8_t f[64];
    make_frame(f, sizeof f, 1);
    rx_setup(0, 2); /* two free */
    wr(E1000_IMS, E1000_ICR_RXO, 0);
    ck_assert(e1000_receive(nic, f, sizeof f, 0));
    ck_assert(e1000_receive(nic, f, sizeof f, 0));
    ck_assert(!e1000_receive(nic, f, sizeof f, 1 * US)); /* reserved ones count as used */
    ck_assert_uint_eq(counters().rx_dropped, 1);
    ck_assert_int_eq(nraise, 1);
    ck_assert_uint_eq(raise_when[0], 1 * US + msi());
    run();
    ck_assert_uint_eq(rd(E1000_RDH), 2);
    ck_assert_uint_eq(counters().rx_frames, 2);
    ck_assert_uint_eq(rd(E1000_ICR) & ~E1000_ICR_INT_ASSERTED, E1000_ICR_RXO | E1000_ICR_RXT0);
    /* after the driver returns descriptors, frames are taken again */
    wr(E1000_RDT, 4, evq_now(&q));
    ck_assert(e1000_receive(nic, f, sizeof f, evq_now(&q)));
    /* receiver off: dropped without RXO */
    wr(E1000_RCTL, 0, 0);
    ck_assert(!e1000_receive(nic, f, sizeof f, evq_now(&q)));
    ck_assert_uint_eq(counters().rx_dropped, 2);
    run();
    ck_assert_uint_eq(rd(E1000_ICR) & E1000_ICR_RXO, 0);
}
END_TEST

START_TEST(rx_malformed_dropped)
{
    static uint8_t f[1600];
    rx_setup(0, NDESC - 1);
    ck_assert(!e1000_receive(nic, f, 13, 0));
    ck_assert(!e1000_receive(nic, f, 1523, 0));
    ck_assert(e1000_receive(nic, f, 14, 0));
    ck_assert(e1000_receive(nic, f, 1522, 0));
    run();
    struct e1000_counters c = counters();
    ck_assert_uint_eq(c.rx_malformed, 2);
    ck_assert_uint_eq(c.rx_dropped, 0);
    ck_assert_uint_eq(c.rx_frames, 2);
    ck_assert_uint_eq(rd(E1000_RDH), 2);
    ck_assert_uint_eq(rxd(0)->length, 14);
    ck_assert_uint_eq(rxd(1)->length, 1522);
}
END_TEST

/* ---- interrupts ------------------------------------------------------------------ */

START_TEST(icr_ims_imc_ics)
{
    wr(E1000_ICS, E1000_ICR_TXDW, 1 * US); /* masked: no interrupt */
    ck_assert_int_eq(nraise, 0);
    ck_assert_uint_eq(rd(E1000_ICR), E1000_ICR_TXDW); /* no INT_ASSERTED: masked */
    ck_assert_uint_eq(rd(E1000_ICR), 0);              /* read-to-clear */
    wr(E1000_ICS, E1000_ICR_LSC, 2 * US);
    wr(E1000_IMS, E1000_ICR_LSC | E1000_ICR_RXT0, 3 * US); /* reveals the pending cause */
    ck_assert_int_eq(nraise, 1);
    ck_assert_uint_eq(raise_when[0], 3 * US + msi());
    ck_assert_uint_eq(rd(E1000_IMS), E1000_ICR_LSC | E1000_ICR_RXT0);
    ck_assert_uint_eq(rd(E1000_ICR), E1000_ICR_LSC | E1000_ICR_INT_ASSERTED);
    ck_assert_int_eq(nlower, 1);
    wr(E1000_ICS, E1000_ICR_RXT0, 4 * US);
    ck_assert_int_eq(nraise, 2);
    ck_assert_uint_eq(raise_when[1], 4 * US + msi());
    wr(E1000_IMC, E1000_ICR_RXT0, 5 * US);
    ck_assert_int_eq(nlower, 2); /* nothing unmasked left */
    ck_assert_uint_eq(rd(E1000_IMS), E1000_ICR_LSC);
    wr(E1000_ICS, E1000_ICR_RXT0, 6 * US);
    ck_assert_int_eq(nraise, 2);
    wr(E1000_ICR, E1000_ICR_RXT0, 6 * US); /* write 1 to clear */
    ck_assert_uint_eq(rd(E1000_ICR), 0);
    /* setting link up signals LSC */
    wr(E1000_CTRL, 0, 7 * US);
    wr(E1000_CTRL, E1000_CTRL_SLU, 7 * US);
    ck_assert_int_eq(nraise, 3);
}
END_TEST

START_TEST(itr_one_interrupt_per_interval)
{
    simtime_t interval = 40 * 256 * 1000ull; /* 10.24 us */
    wr(E1000_ITR, 40, 0);
    wr(E1000_IMS, E1000_ICR_TXDW | E1000_ICR_RXT0, 0);
    wr(E1000_ICS, E1000_ICR_TXDW, 10 * US);
    wr(E1000_ICS, E1000_ICR_RXT0, 11 * US);
    ck_assert_int_eq(nraise, 1);
    ck_assert_uint_eq(raise_when[0], 10 * US + msi());
    evq_run_until(&q, 15 * US, NULL);
    ck_assert_int_eq(nraise, 1);
    ck_assert_uint_eq(rd(E1000_ICR) & ~E1000_ICR_INT_ASSERTED, E1000_ICR_TXDW | E1000_ICR_RXT0);
    run(); /* both handled by the driver: the interval ends with nothing pending */
    ck_assert_int_eq(nraise, 1);
    /* a cause inside the next interval waits for its end */
    wr(E1000_ICS, E1000_ICR_TXDW, 30 * US);
    wr(E1000_ICS, E1000_ICR_RXT0, 31 * US);
    ck_assert_int_eq(nraise, 2);
    run();
    ck_assert_int_eq(nraise, 3);
    ck_assert_uint_eq(raise_when[2], 30 * US + interval + msi());
    ck_assert_uint_eq(counters().interrupts, 3);
    ck_assert_uint_eq(counters().deferred, 1); /* the one held back to the interval's end */
}
END_TEST

/* ---- reset and tracing ---------------------------------------------------------- */

START_TEST(ctrl_reset)
{
    tx_setup(0);
    rx_setup(0, 5);
    wr(E1000_IMS, E1000_ICR_RXT0, 0);
    wr(E1000_ITR, 100, 0);
    wr(E1000_RAL0, 0x11111111, 0);
    wr(E1000_RAH0, 0x2222, 0);
    wr(E1000_MTA, 0xffffffff, 0);
    uint8_t f[64] = {0};
    ck_assert(e1000_receive(nic, f, sizeof f, 0)); /* in flight: cancelled */
    put_tx(0, 64, E1000_TXD_CMD_EOP | E1000_TXD_CMD_RS, 1);
    wr(E1000_TDT, 1, 0);
    wr(E1000_CTRL, E1000_CTRL_RST, 0);
    ck_assert_uint_eq(rd(E1000_CTRL) & E1000_CTRL_RST, 0); /* self-clearing */
    ck_assert_uint_eq(rd(E1000_RCTL), 0);
    ck_assert_uint_eq(rd(E1000_TCTL), 0);
    ck_assert_uint_eq(rd(E1000_IMS), 0);
    ck_assert_uint_eq(rd(E1000_ITR), 0);
    ck_assert_uint_eq(rd(E1000_TDLEN), 0);
    ck_assert_uint_eq(rd(E1000_RDLEN), 0);
    ck_assert_uint_eq(rd(E1000_TDT), 0);
    ck_assert_uint_eq(rd(E1000_RDT), 0);
    ck_assert_uint_eq(rd(E1000_TDBAL), 0);
    ck_assert_uint_eq(rd(E1000_MTA), 0);
    ck_assert_uint_eq(rd(E1000_RAL0), 0x12005452u);
    ck_assert_uint_eq(rd(E1000_RAH0), 0x5634u | E1000_RAH_AV);
    ck_assert(rd(E1000_STATUS) & E1000_STATUS_LU);
    run();
    ck_assert_int_eq(ntx, 0);
    ck_assert_uint_eq(counters().rx_frames, 0);
    ck_assert_int_eq(nraise, 0);
    ck_assert_uint_eq(evq_pending(&q), 0);
}
END_TEST

START_TEST(trace_spans)
{
    struct trace_opts o = {.title = "e1000"};
    struct trace *tr = trace_open(&o, err, sizeof err);
    ck_assert_ptr_nonnull(tr);
    e1000_destroy(nic);
    env.tr = tr;
    env.place = trace_place(tr, PLACE_DEVICE, 1, "e1000");
    nic = e1000_create(&env, bus, 3, 11, mac, on_tx, NULL, err, sizeof err);
    ck_assert_msg(nic != NULL, "%s", err);
    ck_assert_ptr_null(e1000_create(&env, bus, 3, 11, mac, NULL, NULL, err, sizeof err));
    ck_assert_str_eq(err, "e1000: PCI slot 3 is taken or out of range");
    ops = pci_bar_mmio(e1000_pci(nic), 0, &regs);
    pci_cfg_write(e1000_pci(nic), PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    tx_setup(0);
    rx_setup(0, NDESC - 1);
    wr(E1000_IMS, E1000_ICR_TXDW, 0);
    put_tx(0, 60, E1000_TXD_CMD_EOP | E1000_TXD_CMD_RS, 1);
    wr(E1000_TDT, 1, 0);
    uint8_t f[60] = {0};
    ck_assert(e1000_receive(nic, f, sizeof f, 0));
    run();
    struct trace_stat st;
    ck_assert(trace_stat_kind(tr, SPAN_DMA, &st));
    ck_assert_uint_eq(st.count, 3); /* tx descriptor, tx data, rx */
    ck_assert_uint_eq(st.sum, 2 * dma(16) + 2 * dma(60));
    ck_assert(trace_stat_kind(tr, SPAN_IRQ, &st));
    ck_assert_uint_eq(st.count, 1);
    ck_assert_uint_eq(st.sum, msi());
    e1000_destroy(nic);
    nic = NULL;
    ck_assert_int_eq(trace_close(tr, err, sizeof err), 0);
}
END_TEST

static Suite *e1000_suite(void)
{
    Suite *s = suite_create("e1000");
    TCase *tc = tcase_create("registers");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, identity_and_eeprom);
    tcase_add_test(tc, tx_single_frame);
    tcase_add_test(tc, tx_multi_descriptor_frame);
    tcase_add_test(tc, tx_fifo_backpressure);
    tcase_add_test(tc, tx_waits_for_later_tail_write);
    tcase_add_test(tc, tx_disabled_or_no_bus_master);
    tcase_add_test(tc, rx_into_ring);
    tcase_add_test(tc, rx_back_to_back_serialised);
    tcase_add_test(tc, rx_spans_small_buffers);
    tcase_add_test(tc, rings_wrap);
    tcase_add_test(tc, rx_no_descriptor_drops);
    tcase_add_test(tc, rx_malformed_dropped);
    tcase_add_test(tc, icr_ims_imc_ics);
    tcase_add_test(tc, itr_one_interrupt_per_interval);
    tcase_add_test(tc, ctrl_reset);
    tcase_add_test(tc, trace_spans);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(e1000_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
