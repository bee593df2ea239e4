/*
 * Native driver for the Intel 8254x (e1000) NIC, the 82540EM the platform
 * models (models/e1000.h has the registers; the guest uses its own copy of
 * the register layout in e1000drv.c, as a driver would).
 *
 * One NIC, found by vendor:device on PCI bus 0; BAR0 at its guest-physical
 * address (identity mapping); MSI through PHYSDEVOP_map_pirq (INTx if MSI
 * is refused); legacy descriptors; one 2048-byte receive buffer per
 * descriptor (two per page), so a frame of up to 1522 bytes is one
 * descriptor. Transmit takes frames of up to E1K_MAX_SEGS buffers at bus
 * addresses the caller gives (its own RAM through virt_to_bus, or a
 * grant-mapped page's dev_bus_addr): no copy on transmit.
 *
 * Entry points run in program or event context; the driver serialises
 * them against its interrupt handler (irq_save). Callbacks run in the
 * interrupt handler (event context): tx done() per frame, rx() per frame,
 * then the batch hook once per interrupt.
 */
#ifndef NET_E1000DRV_H
#define NET_E1000DRV_H

#include <stdint.h>

#define E1K_DEFAULT_RING 256 /* descriptors per ring (Linux e1000's default) */
#define E1K_MAX_RING 4096
#define E1K_MAX_SEGS 18  /* buffers per transmitted frame (XEN_NETBK_LEGACY_SLOTS_MAX) */
#define E1K_RX_BUF 2048u /* bytes per receive buffer (RCTL.BSIZE) */
#define E1K_MAX_FRAME 1522u

struct e1k;

/* Transmit finished: status 0 (sent), -XEN_EIO (the NIC failed or was shut down). */
typedef void (*e1k_tx_done_fn)(void *arg, int status);
/* A received frame (no FCS), valid during the call; the buffer is reused after it. */
typedef void (*e1k_rx_fn)(void *ctx, const void *frame, unsigned len);
typedef void (*e1k_batch_fn)(void *ctx);

/* NULL params, or a ring size of 0, take the defaults in parentheses. */
struct e1k_params {
    unsigned tx_ring, rx_ring; /* descriptors, 8..E1K_MAX_RING, multiples of 8 (256) */
    unsigned itr_ns;           /* interrupt throttling interval, 0 = off (0); 256 ns units */
};

struct e1k_stats {
    unsigned long irqs, tx_frames, tx_errors, rx_frames, rx_errors, rx_overruns;
};

/*
 * Find, reset and start the NIC: 0 and *out, or a negative Xen errno with a
 * message: -XEN_EINVAL (bad params), -XEN_ENODEV (no NIC), -XEN_EIO (reset
 * or EEPROM read failed, bad EEPROM checksum or MAC), -XEN_ENOMEM,
 * -XEN_EBUSY (already probed and not shut down), or the interrupt set-up's.
 */
int e1k_probe(const struct e1k_params *p, struct e1k **out);
/* The MAC address from the NIC's EEPROM. */
void e1k_mac(const struct e1k *n, uint8_t mac[6]);
/* Receive callback (NULL: frames are dropped after the count) and the per-interrupt hook. */
void e1k_set_rx(struct e1k *n, e1k_rx_fn fn, void *ctx);
void e1k_set_batch_hook(struct e1k *n, e1k_batch_fn fn, void *ctx);

/*
 * Queue one frame of nseg buffers (bus[i], len[i]; total 14..16384 bytes)
 * for transmit; done(arg, status) runs once when the NIC has sent it.
 * 0; -XEN_EAGAIN when fewer than nseg descriptors are free; -XEN_EINVAL for
 * a bad frame; -XEN_EIO when the NIC is shut down. Started at the next kick.
 * `req` is the request the descriptor writes are traced under (0: none).
 */
int e1k_xmit(struct e1k *n, uint64_t req, const uint64_t *bus, const uint16_t *len, unsigned nseg,
             e1k_tx_done_fn done, void *arg);
/* One TDT write if anything was queued since the last one. */
void e1k_kick(struct e1k *n);
/* The event-channel port its interrupt arrives on. */
unsigned e1k_irq_port(const struct e1k *n);
/* Transmit descriptors free now (0 once shut down). */
unsigned e1k_tx_free(const struct e1k *n);
/*
 * Disable receive and transmit, mask and release the interrupt, reset the
 * NIC (no DMA remains in flight) and free the rings. Transmits the NIC has
 * already written back complete with 0, every other one queued with
 * -XEN_EIO, before this returns (done() runs here, event delivery off).
 */
void e1k_shutdown(struct e1k *n);
void e1k_get_stats(const struct e1k *n, struct e1k_stats *s);

#endif
