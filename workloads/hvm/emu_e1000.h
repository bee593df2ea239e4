/*
 * An emulated Intel 82540EM (e1000) for a guest whose unmodified native
 * e1000 driver (net/e1000drv.c) runs against it: QEMU's hw/net/e1000.c
 * role. A reusable unit: it decodes register accesses and moves
 * descriptors and buffers in the guest's memory, and everything else --
 * how guest memory is reached, how the interrupt line is driven, where a
 * transmitted frame goes and where received ones come from -- is supplied
 * by its host through struct emu_e1k_host. The Xen device model
 * (dm_e1000.c: ioreq server, dom0's real e1000 driver) is one host.
 *
 * Register subset: the one the native driver and Linux's e1000 use for
 * legacy descriptors -- CTRL (RST, SLU), STATUS, EERD (a 64-word EEPROM
 * holding the MAC, checksum 0xBABA), ICR (read-to-clear), ICS, IMS, IMC,
 * ITR (stored, not throttled), RCTL (EN, UPE, MPE, BAM, BSIZE/BSEX),
 * TCTL (EN), TIPG, RDBAL/H, RDLEN, RDH, RDT, TDBAL/H, TDLEN, TDH, TDT,
 * MTA[128], RAL/RAH[16]. 32-bit accesses only (others read all ones and
 * are dropped, as QEMU's e1000 does for sizes it does not implement).
 *
 * Transmit: a TDT write fetches descriptors from TDH, gathers a frame's
 * buffers (EOP ends it) and hands it to host->xmit; a frame's descriptors
 * get DD written back (those with RS) when the host reports it sent
 * (emu_e1k_tx_done, in order), then ICR.TXDW. Receive: emu_e1k_receive
 * filters the destination (RAL/RAH, broadcast with BAM, multicast through
 * MTA with MO = 0 or MPE, anything with UPE), writes the frame into the
 * buffers of descriptors [RDH, RDT), DD | EOP on the last, then ICR.RXT0;
 * no free descriptor: dropped, ICR.RXO. The line is (ICR & IMS) != 0.
 */
#ifndef HVM_EMU_E1000_H
#define HVM_EMU_E1000_H

#include <stdint.h>

#define EMU_E1K_VENDOR 0x8086
#define EMU_E1K_DEVICE 0x100E  /* 82540EM */
#define EMU_E1K_CLASS 0x020000 /* network, Ethernet */
#define EMU_E1K_BAR0_SIZE 0x20000u
#define EMU_E1K_TX_MAX 16384u /* bytes gathered into one transmitted frame */
#define EMU_E1K_TXQ 64        /* frames handed to the host and not yet sent */

struct emu_e1k;

struct emu_e1k_host {
    void *ctx;
    /*
     * Guest memory [gpa, gpa + len) for the emulation's DMA (len <= 4096,
     * never crossing a page), or NULL when the guest cannot offer it there.
     */
    void *(*dma)(void *ctx, uint64_t gpa, uint64_t len);
    /* Drive the interrupt line (called on every change of level). */
    void (*set_irq)(void *ctx, int level);
    /*
     * Carry one frame (len bytes, no FCS, valid during the call only) to
     * the wire. 0: taken, emu_e1k_tx_done follows once it is sent; -XEN_EAGAIN: no room now
     * (the emulation stops fetching until emu_e1k_tx_resume); any other
     * negative value: the frame is dropped (its descriptors complete).
     */
    int (*xmit)(void *ctx, const void *frame, unsigned len);
    /* Start what xmit took since the last kick (one doorbell per TDT write). */
    void (*kick)(void *ctx);
};

struct emu_e1k_stats {
    unsigned long tx_frames, tx_dropped, rx_frames, rx_dropped, rx_filtered;
};

/* The emulation's state (its fields are the emulation's own). */
struct emu_e1k_txf {
    uint32_t first, last; /* the frame's first and last descriptor */
    uint32_t gen;         /* the reset generation the frame was fetched in */
};

struct emu_e1k {
    struct emu_e1k_host h;
    uint8_t mac[6];
    uint16_t eeprom[64];
    uint32_t ctrl, status, eerd, icr, ims, itr, rctl, tctl, tipg;
    uint32_t rdbal, rdbah, rdlen, rdh, rdt, tdbal, tdbah, tdlen, tdh, tdt;
    uint32_t mta[128], ra[32];
    int irq;
    uint32_t gen; /* bumped by every reset: frames of an earlier one complete nowhere */
    /* transmit: the frame being gathered, and the frames the host holds */
    uint8_t frame[EMU_E1K_TX_MAX];
    unsigned flen;
    int infr, fbad;  /* inside a frame (its first descriptor fetched), and it is bad */
    uint32_t ffirst; /* that frame's first descriptor */
    struct emu_e1k_txf txq[EMU_E1K_TXQ];
    unsigned txq_head, txq_n;
    int tx_blocked;
    struct emu_e1k_stats st;
};

/* Power-on state with `mac` in the EEPROM; the host's callbacks are copied. */
void emu_e1k_init(struct emu_e1k *e, const struct emu_e1k_host *h, const uint8_t mac[6]);
/* BAR0 register accesses at offset `off`. */
uint64_t emu_e1k_read(struct emu_e1k *e, uint64_t off, unsigned size);
void emu_e1k_write(struct emu_e1k *e, uint64_t off, unsigned size, uint64_t val);
/* The oldest frame the host took is sent (status 0) or failed: its descriptors complete. */
void emu_e1k_tx_done(struct emu_e1k *e, int status);
/* The host has room again: fetch what the guest queued meanwhile. */
void emu_e1k_tx_resume(struct emu_e1k *e);
/* A frame from the wire (no FCS): 1 written into the guest's ring, 0 dropped or filtered. */
int emu_e1k_receive(struct emu_e1k *e, const void *frame, unsigned len);

#endif
