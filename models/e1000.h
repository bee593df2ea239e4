/*
 * An Intel 8254x (e1000, 82540EM) Gigabit Ethernet controller model
 * (models/e1000.c): the register subset a real driver needs, legacy
 * descriptors, transmit and receive rings, interrupt causes with masking
 * and throttling (ITR), the EEPROM read through EERD.
 *
 * The platform creates it with a dev_env (event queue, trace, cost
 * profile, DMA translation, interrupt line), maps BAR0 (128 KiB of
 * registers) through the PCI bus and delivers env->irq as MSI or INTx.
 * The wire is someone else's: frames leave through the transmit callback
 * given at creation, and arrive through e1000_receive().
 */
#ifndef HOPSIM_MODELS_E1000_H
#define HOPSIM_MODELS_E1000_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "device.h"
#include "pci.h"

#define E1000_PCI_VENDOR 0x8086
#define E1000_PCI_DEVICE 0x100E  /* 82540EM */
#define E1000_PCI_CLASS 0x020000 /* network, Ethernet */
#define E1000_PCI_REVISION 0x03
#define E1000_BAR0_SIZE 0x20000 /* 128 KiB */

/* register offsets in BAR0 */
#define E1000_CTRL 0x0000
#define E1000_STATUS 0x0008
#define E1000_EERD 0x0014
#define E1000_ICR 0x00C0
#define E1000_ITR 0x00C4
#define E1000_ICS 0x00C8
#define E1000_IMS 0x00D0
#define E1000_IMC 0x00D8
#define E1000_RCTL 0x0100
#define E1000_TCTL 0x0400
#define E1000_RDBAL 0x2800
#define E1000_RDBAH 0x2804
#define E1000_RDLEN 0x2808
#define E1000_RDH 0x2810
#define E1000_RDT 0x2818
#define E1000_TDBAL 0x3800
#define E1000_TDBAH 0x3804
#define E1000_TDLEN 0x3808
#define E1000_TDH 0x3810
#define E1000_TDT 0x3818
#define E1000_MTA 0x5200 /* 128 entries */
#define E1000_RAL0 0x5400
#define E1000_RAH0 0x5404 /* 16 RAL/RAH pairs up to 0x547C */

/* register bits */
#define E1000_CTRL_FD (1u << 0)
#define E1000_CTRL_SLU (1u << 6) /* set link up */
#define E1000_CTRL_RST (1u << 26)
#define E1000_STATUS_FD (1u << 0)
#define E1000_STATUS_LU (1u << 1)
#define E1000_STATUS_SPEED_1000 (2u << 6)
#define E1000_EERD_START (1u << 0)
#define E1000_EERD_DONE (1u << 4)
#define E1000_EERD_ADDR_SHIFT 8
#define E1000_EERD_DATA_SHIFT 16
#define E1000_ICR_TXDW (1u << 0)
#define E1000_ICR_LSC (1u << 2)
#define E1000_ICR_RXO (1u << 6)
#define E1000_ICR_RXT0 (1u << 7)
#define E1000_ICR_INT_ASSERTED (1u << 31)
#define E1000_RCTL_EN (1u << 1)
#define E1000_RCTL_BSIZE_SHIFT 16  /* 2 bits: 2048, 1024, 512, 256 */
#define E1000_RCTL_BSEX (1u << 25) /* sizes x16: -, 16384, 8192, 4096 */
#define E1000_TCTL_EN (1u << 1)
#define E1000_RAH_AV (1u << 31)

/* legacy descriptors, 16 bytes */
#define E1000_TXD_CMD_EOP 0x01
#define E1000_TXD_CMD_IFCS 0x02
#define E1000_TXD_CMD_RS 0x08
#define E1000_TXD_STAT_DD 0x01
#define E1000_RXD_STAT_DD 0x01
#define E1000_RXD_STAT_EOP 0x02

struct e1000_tx_desc {
    uint64_t addr;
    uint16_t length;
    uint8_t cso;
    uint8_t cmd;
    uint8_t status;
    uint8_t css;
    uint16_t special;
};

struct e1000_rx_desc {
    uint64_t addr;
    uint16_t length;
    uint16_t csum;
    uint8_t status;
    uint8_t errors;
    uint16_t special;
};

#define E1000_EEPROM_WORDS 64
#define E1000_EEPROM_SUM 0xBABA /* words 0..63 add up to this */
#define E1000_MAX_DESC 4096     /* ring entries the model serves (Linux e1000's maximum) */
#define E1000_MIN_FRAME 14      /* an Ethernet header */
#define E1000_MAX_FRAME 1522    /* with a VLAN tag, without FCS */
#define E1000_TX_MAX 16384      /* largest frame gathered on transmit */
#define E1000_TX_FIFO                                                                              \
    16384 /* transmit packet buffer (82540EM default PBA: 48 KB RX / 16 KB TX)                     \
           */

/*
 * The wire side of transmit: `frame` is valid during the call only.
 * Returns when the frame's last bit has left the NIC (the end of its
 * serialisation on the wire): until then it occupies the transmit FIFO.
 */
typedef simtime_t (*e1000_tx_fn)(void *opaque, const uint8_t *frame, size_t len, simtime_t when);

struct e1000_counters {
    uint64_t tx_frames;    /* handed to the transmit callback */
    uint64_t rx_frames;    /* written into the receive ring */
    uint64_t rx_dropped;   /* no free descriptor, receiver off or no Bus Master */
    uint64_t rx_malformed; /* shorter than 14 or longer than 1522 bytes */
    uint64_t tx_errors;    /* frames dropped on transmit (too long, bad buffer address) */
    uint64_t dma_errors;   /* DMA to or from an unreachable bus address */
    uint64_t interrupts;   /* raised (MSI or INTx assertions), ITR-throttled */
    uint64_t deferred;     /* of those, raised at the end of an ITR interval (held back) */
};

struct e1000;

/*
 * A NIC on `bus` at `slot`, INTA# routed to `gsi`, with `mac` in its
 * EEPROM. `tx` may be NULL (frames vanish). The env is copied. NULL with
 * a message in err if the slot is taken or memory runs out.
 */
struct e1000 *e1000_create(const struct dev_env *env, struct pci_bus *bus, unsigned slot,
                           uint8_t gsi, const uint8_t mac[6], e1000_tx_fn tx, void *tx_opaque,
                           char *err, size_t errlen);
/* Cancels pending events, removes the PCI function. NULL is allowed. */
void e1000_destroy(struct e1000 *nic);
struct pci_func *e1000_pci(const struct e1000 *nic);
/* The register callbacks of BAR0 (also reachable through pci_bar_mmio). */
const struct mmio_ops *e1000_mmio_ops(void);

/*
 * The wire delivers a frame (no FCS) at `now`. The frame is copied. True
 * if it was accepted into the receive ring (written there after its DMA).
 */
bool e1000_receive(struct e1000 *nic, const uint8_t *frame, size_t len, simtime_t now);
void e1000_get_counters(const struct e1000 *nic, struct e1000_counters *out);

#endif
