/*
 * Register-level tests of the emulated e1000 (workloads/hvm/emu_e1000.c),
 * the reusable device-emulation unit, built on the host against a fake
 * host (struct emu_e1k_host): a host buffer is the guest's memory at guest
 * addresses 0..MEM_SIZE (dma() refuses anything outside it), set_irq()
 * records the line, xmit() records frames and can refuse them. Programmed
 * through emu_e1k_read/write as the native driver programs it; checks
 * the EEPROM, descriptors, DD write-back, head registers, ICR and the
 * interrupt line.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "../../workloads/hvm/emu_e1000.c"

#define MEM_SIZE (1u << 20)
#define TX_RING 0x1000u
#define RX_RING 0x2000u
#define TX_BUF 0x10000u
#define RX_BUF 0x40000u /* 2 KiB per descriptor */
#define NDESC 8
#define MAX_TX 8

static const uint8_t mac[6] = {0x00, 0x16, 0x3e, 0x00, 0x00, 0x01};
static uint8_t *mem;
static struct emu_e1k e;
static int irq, irq_changes, ntx, kicks, refuse;
static unsigned tx_len[MAX_TX];
static uint8_t tx_data[MAX_TX][EMU_E1K_TX_MAX];

static void *h_dma(void *ctx, uint64_t gpa, uint64_t len)
{
    (void)ctx;
    ck_assert_uint_le(len, PAGE_SIZE);
    ck_assert_uint_le((gpa & (PAGE_SIZE - 1)) + len, PAGE_SIZE); /* never crosses a page */
    return gpa + len <= MEM_SIZE ? mem + gpa : NULL;
}

static void h_set_irq(void *ctx, int level)
{
    (void)ctx;
    ck_assert_int_ne(level, irq); /* called on changes only */
    irq = level;
    irq_changes++;
}

static int h_xmit(void *ctx, const void *frame, unsigned len)
{
    (void)ctx;
    if (refuse)
        return refuse;
    ck_assert_int_lt(ntx, MAX_TX);
    memcpy(tx_data[ntx], frame, len);
    tx_len[ntx++] = len;
    return 0;
}

static void h_kick(void *ctx)
{
    (void)ctx;
    kicks++;
}

static uint32_t rd(uint32_t off)
{
    return (uint32_t)emu_e1k_read(&e, off, 4);
}

static void wr(uint32_t off, uint32_t v)
{
    emu_e1k_write(&e, off, 4, v);
}

static void setup(void)
{
    mem = calloc(1, MEM_SIZE);
    ck_assert_ptr_nonnull(mem);
    irq = irq_changes = ntx = kicks = refuse = 0;
    const struct emu_e1k_host h = {
        .dma = h_dma, .set_irq = h_set_irq, .xmit = h_xmit, .kick = h_kick};
    emu_e1k_init(&e, &h, mac);
}

static void teardown(void)
{
    free(mem);
}

/* The native driver's order: rings, then receive and transmit on, then the mask. */
static void start(uint32_t rctl)
{
    wr(R_TDBAL, TX_RING);
    wr(R_TDBAH, 0);
    wr(R_TDLEN, NDESC * 16);
    wr(R_TDH, 0);
    wr(R_TDT, 0);
    wr(R_TCTL, TCTL_EN);
    for (unsigned i = 0; i < NDESC; i++) {
        struct rxd *d = (struct rxd *)(mem + RX_RING + 16 * i);
        *d = (struct rxd){.addr = RX_BUF + 2048 * i};
    }
    wr(R_RDBAL, RX_RING);
    wr(R_RDBAH, 0);
    wr(R_RDLEN, NDESC * 16);
    wr(R_RDH, 0);
    wr(R_RDT, NDESC - 1);
    wr(R_RCTL, rctl);
    wr(R_IMS, ICR_TXDW | ICR_RXT0 | ICR_RXO);
}

static struct txd *txd(unsigned i)
{
    return (struct txd *)(mem + TX_RING + 16 * i);
}

static struct rxd *rxd(unsigned i)
{
    return (struct rxd *)(mem + RX_RING + 16 * i);
}

/* A frame of `len` bytes to `dst` with byte i of the payload = i + seed. */
static void frame_fill(uint8_t *f, unsigned len, const uint8_t *dst, uint8_t seed)
{
    memcpy(f, dst, 6);
    memcpy(f + 6, "\x02\x00\x00\x00\x00\x01", 6);
    f[12] = 0x88;
    f[13] = 0xb5;
    for (unsigned i = 14; i < len; i++)
        f[i] = (uint8_t)(i + seed);
}

START_TEST(eeprom_holds_mac_and_checksum)
{
    uint16_t sum = 0, w[64];
    for (unsigned a = 0; a < 64; a++) {
        wr(R_EERD, a << EERD_ADDR_SHIFT | EERD_START);
        uint32_t v = rd(R_EERD);
        ck_assert(v & EERD_DONE);
        w[a] = (uint16_t)(v >> EERD_DATA_SHIFT);
        sum = (uint16_t)(sum + w[a]);
    }
    ck_assert_uint_eq(sum, EEPROM_SUM);
    for (unsigned i = 0; i < 3; i++) {
        ck_assert_uint_eq(w[i] & 0xff, mac[2 * i]);
        ck_assert_uint_eq(w[i] >> 8, mac[2 * i + 1]);
    }
    ck_assert(rd(R_STATUS) & STATUS_LU);                   /* the link is up after reset */
    ck_assert_uint_eq(rd(R_RA + 4), 0x0100 | RAH_AV);      /* RAH0: MAC bytes 4, 5 and AV */
    ck_assert_uint_eq(emu_e1k_read(&e, R_CTRL, 2), ~0ull); /* 32-bit accesses only */
}
END_TEST

START_TEST(tx_gathers_and_completes_when_sent)
{
    start(RCTL_EN | RCTL_BAM);
    uint8_t f[200];
    frame_fill(f, sizeof f, mac, 7);
    memcpy(mem + TX_BUF, f, 120);
    memcpy(mem + TX_BUF + 0x1ff8, f + 120, 80); /* the second buffer crosses a page */
    *txd(0) = (struct txd){.addr = TX_BUF, .length = 120};
    *txd(1) = (struct txd){.addr = TX_BUF + 0x1ff8, .length = 80, .cmd = TXD_CMD_EOP | TXD_CMD_RS};
    wr(R_TDT, 2);
    ck_assert_int_eq(ntx, 1);
    ck_assert_int_eq(kicks, 1);
    ck_assert_uint_eq(tx_len[0], sizeof f);
    ck_assert_mem_eq(tx_data[0], f, sizeof f);
    ck_assert_uint_eq(rd(R_TDH), 2);
    ck_assert_uint_eq(txd(1)->status, 0); /* not sent yet: no DD */
    ck_assert_int_eq(irq, 0);
    emu_e1k_tx_done(&e, 0);
    ck_assert_uint_eq(txd(1)->status & TXD_STAT_DD, TXD_STAT_DD);
    ck_assert_uint_eq(txd(0)->status, 0); /* no RS: no write-back */
    ck_assert_int_eq(irq, 1);
    uint32_t icr = rd(R_ICR);
    ck_assert_uint_eq(icr, ICR_TXDW | ICR_INT_ASSERTED);
    ck_assert_int_eq(irq, 0); /* read-to-clear lowers the line */
    ck_assert_uint_eq(rd(R_ICR), 0);
}
END_TEST

START_TEST(tx_refused_frame_is_fetched_again)
{
    start(RCTL_EN);
    uint8_t f[64];
    frame_fill(f, sizeof f, mac, 1);
    memcpy(mem + TX_BUF, f, sizeof f);
    *txd(0) = (struct txd){.addr = TX_BUF, .length = sizeof f, .cmd = TXD_CMD_EOP | TXD_CMD_RS};
    refuse = -XEN_EAGAIN;
    wr(R_TDT, 1);
    ck_assert_int_eq(ntx, 0);
    ck_assert_uint_eq(rd(R_TDH), 0); /* stays at the frame's first descriptor */
    ck_assert_int_eq(kicks, 0);
    refuse = 0;
    emu_e1k_tx_resume(&e);
    ck_assert_int_eq(ntx, 1);
    ck_assert_uint_eq(rd(R_TDH), 1);
    ck_assert_mem_eq(tx_data[0], f, sizeof f);
    /* a frame the host drops for good completes at once */
    *txd(1) = (struct txd){.addr = TX_BUF, .length = sizeof f, .cmd = TXD_CMD_EOP | TXD_CMD_RS};
    refuse = -XEN_EINVAL;
    wr(R_TDT, 2);
    ck_assert_uint_eq(txd(1)->status & TXD_STAT_DD, TXD_STAT_DD);
    ck_assert_uint_eq(e.st.tx_dropped, 1);
    ck_assert_int_eq(irq, 1);
}
END_TEST

START_TEST(tx_frames_of_an_earlier_reset_complete_nowhere)
{
    start(RCTL_EN);
    uint8_t f[64];
    frame_fill(f, sizeof f, mac, 2);
    memcpy(mem + TX_BUF, f, sizeof f);
    *txd(0) = (struct txd){.addr = TX_BUF, .length = sizeof f, .cmd = TXD_CMD_EOP | TXD_CMD_RS};
    wr(R_TDT, 1);
    ck_assert_int_eq(ntx, 1);
    wr(R_CTRL, CTRL_RST);
    ck_assert_uint_eq(rd(R_TDLEN), 0);
    start(RCTL_EN);
    emu_e1k_tx_done(&e, 0); /* the frame the host still held */
    ck_assert_uint_eq(txd(0)->status, 0);
    ck_assert_uint_eq(rd(R_ICR), 0);
}
END_TEST

START_TEST(rx_writes_frame_and_descriptor)
{
    start(RCTL_EN | RCTL_BAM);
    uint8_t f[300];
    frame_fill(f, sizeof f, mac, 3);
    ck_assert_int_eq(emu_e1k_receive(&e, f, sizeof f), 1);
    ck_assert_mem_eq(mem + RX_BUF, f, sizeof f);
    ck_assert_uint_eq(rxd(0)->length, sizeof f);
    ck_assert_uint_eq(rxd(0)->status, RXD_STAT_DD | RXD_STAT_EOP);
    ck_assert_uint_eq(rxd(0)->errors, 0);
    ck_assert_uint_eq(rd(R_RDH), 1);
    ck_assert_int_eq(irq, 1);
    ck_assert_uint_eq(rd(R_ICR), ICR_RXT0 | ICR_INT_ASSERTED);
}
END_TEST

START_TEST(rx_filters_destination)
{
    static const uint8_t other[6] = {0x00, 0x16, 0x3e, 0x00, 0x00, 0x02};
    static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    static const uint8_t mcast[6] = {0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb};
    uint8_t f[64];
    start(RCTL_EN);
    frame_fill(f, sizeof f, other, 0);
    ck_assert_int_eq(emu_e1k_receive(&e, f, sizeof f), 0);
    frame_fill(f, sizeof f, bcast, 0);
    ck_assert_int_eq(emu_e1k_receive(&e, f, sizeof f), 0); /* BAM off */
    frame_fill(f, sizeof f, mcast, 0);
    ck_assert_int_eq(emu_e1k_receive(&e, f, sizeof f), 0); /* not in the MTA */
    ck_assert_uint_eq(e.st.rx_filtered, 3);
    /* MO = 0: bits 47:36 of 01:00:5e:00:00:fb are 0xfb0 */
    wr(R_MTA + 4 * (0xfb0 >> 5), 1u << (0xfb0 & 31));
    ck_assert_int_eq(emu_e1k_receive(&e, f, sizeof f), 1);
    wr(R_RCTL, RCTL_EN | RCTL_BAM);
    frame_fill(f, sizeof f, bcast, 0);
    ck_assert_int_eq(emu_e1k_receive(&e, f, sizeof f), 1);
    wr(R_RCTL, RCTL_EN | RCTL_UPE);
    frame_fill(f, sizeof f, other, 0);
    ck_assert_int_eq(emu_e1k_receive(&e, f, sizeof f), 1);
    ck_assert_uint_eq(rd(R_RDH), 3);
}
END_TEST

START_TEST(rx_spreads_over_small_buffers_and_overruns)
{
    start(RCTL_EN | 3u << RCTL_BSIZE_SHIFT); /* 256-byte buffers */
    uint8_t f[600];
    frame_fill(f, sizeof f, mac, 5);
    ck_assert_int_eq(emu_e1k_receive(&e, f, sizeof f), 1); /* 3 descriptors */
    ck_assert_uint_eq(rxd(0)->length, 256);
    ck_assert_uint_eq(rxd(0)->status, RXD_STAT_DD);
    ck_assert_uint_eq(rxd(2)->length, 600 - 512);
    ck_assert_uint_eq(rxd(2)->status, RXD_STAT_DD | RXD_STAT_EOP);
    ck_assert_mem_eq(mem + RX_BUF + 2048, f + 256, 256);
    ck_assert_uint_eq(rd(R_RDH), 3);
    /* 4 free descriptors are left ([3, 7)): a frame needing 3 fits, then one needing 3 does not */
    ck_assert_int_eq(emu_e1k_receive(&e, f, sizeof f), 1);
    (void)rd(R_ICR);
    ck_assert_int_eq(emu_e1k_receive(&e, f, sizeof f), 0);
    ck_assert_uint_eq(e.st.rx_dropped, 1);
    ck_assert_uint_eq(rd(R_ICR), ICR_RXO | ICR_INT_ASSERTED);
    /* the driver gives descriptors back: room again */
    wr(R_RDT, 5);
    ck_assert_int_eq(emu_e1k_receive(&e, f, sizeof f), 1);
    ck_assert_uint_eq(rd(R_RDH), 1);
}
END_TEST

START_TEST(rx_outside_guest_memory_is_an_error_not_a_crash)
{
    start(RCTL_EN);
    rxd(0)->addr = MEM_SIZE + 0x1000; /* the guest gave a buffer it does not have */
    uint8_t f[64];
    frame_fill(f, sizeof f, mac, 6);
    ck_assert_int_eq(emu_e1k_receive(&e, f, sizeof f), 1);
    ck_assert_uint_eq(rxd(0)->errors, RXD_ERR_RXE);
    ck_assert_uint_eq(rxd(0)->status, RXD_STAT_DD | RXD_STAT_EOP);
    /* a transmit descriptor pointing outside memory is dropped, not sent */
    *txd(0) = (struct txd){.addr = MEM_SIZE, .length = 64, .cmd = TXD_CMD_EOP | TXD_CMD_RS};
    wr(R_TDT, 1);
    ck_assert_int_eq(ntx, 0);
    ck_assert_uint_eq(e.st.tx_dropped, 1);
    ck_assert_uint_eq(txd(0)->status & TXD_STAT_DD, TXD_STAT_DD);
}
END_TEST

START_TEST(ring_shrunk_under_its_indices_is_not_walked)
{
    start(RCTL_EN);
    for (unsigned i = 0; i < 2 * NDESC; i++)
        *txd(i) = (struct txd){.addr = TX_BUF, .length = 64}; /* no EOP anywhere */
    wr(R_TCTL, 0);
    wr(R_TDLEN, 2 * NDESC * 16);
    wr(R_TDT, 12);           /* stored; transmit is off */
    wr(R_TDLEN, NDESC * 16); /* TDT 12 now lies outside the ring */
    wr(R_TCTL, TCTL_EN);     /* a walk from TDH 0 would never meet TDT 12 */
    ck_assert_int_eq(ntx, 0);
    ck_assert_uint_eq(rd(R_TDH), 0);
    wr(R_RDT, 7);
    wr(R_RDLEN, 0); /* no ring at all: nothing received */
    uint8_t f[64];
    frame_fill(f, sizeof f, mac, 0);
    ck_assert_int_eq(emu_e1k_receive(&e, f, sizeof f), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("emu_e1000");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, eeprom_holds_mac_and_checksum);
    tcase_add_test(tc, tx_gathers_and_completes_when_sent);
    tcase_add_test(tc, tx_refused_frame_is_fetched_again);
    tcase_add_test(tc, tx_frames_of_an_earlier_reset_complete_nowhere);
    tcase_add_test(tc, rx_writes_frame_and_descriptor);
    tcase_add_test(tc, rx_filters_destination);
    tcase_add_test(tc, rx_spreads_over_small_buffers_and_overruns);
    tcase_add_test(tc, rx_outside_guest_memory_is_an_error_not_a_crash);
    tcase_add_test(tc, ring_shrunk_under_its_indices_is_not_walked);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int nf = srunner_ntests_failed(sr);
    srunner_free(sr);
    return nf ? EXIT_FAILURE : EXIT_SUCCESS;
}
