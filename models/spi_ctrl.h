/*
 * Intel-PCH-style SPI controller model (models/spi_ctrl.c) in front of one
 * SPI NOR flash chip (models/spi_flash.h): the SPIBAR registers with
 * hardware sequencing, the flash descriptor's regions and master grants
 * (FREG0-4, FRAP), protected ranges PR0-PR4, FLOCKDN, and BIOS_CNTL
 * (BIOSWE, BLE, SMM_BWP) with its SMI. User documentation, the order of
 * the protection checks and the timing formulas are in docs/spi-flash.md.
 *
 * The platform creates it with a dev_env (event queue for the SMI, trace,
 * cost profile; DMA and IRQ are not used), maps SPIBAR (spictrl_mmio_ops,
 * opaque = the controller) and routes the BIOS_CNTL config byte
 * (SPICTRL_BIOS_CNTL_OFFSET) to spictrl_bios_cntl_read/write. It tells
 * the controller when a CPU is in SMM (spictrl_set_in_smm) and may install
 * its own SMI handler. The flash chip stays the caller's: the controller
 * does not close it.
 */
#ifndef HOPSIM_MODELS_SPI_CTRL_H
#define HOPSIM_MODELS_SPI_CTRL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "device.h"
#include "spi_flash.h"

/* ---- SPIBAR registers ---- */
#define SPICTRL_SPIBAR_SIZE 0x1000
#define SPICTRL_BFPREG 0x00 /* BIOS region base/limit (read-only copy of FREG1) */
#define SPICTRL_HSFS 0x04   /* 16 bits; HSFC is the upper half of the dword */
#define SPICTRL_HSFC 0x06
#define SPICTRL_FADDR 0x08
#define SPICTRL_FDATA0 0x10 /* FDATA0..15: 0x10..0x4c */
#define SPICTRL_FDATA_BYTES 64
#define SPICTRL_FRAP 0x50
#define SPICTRL_FREG0 0x54 /* FREG0..4; FREG5..11 (0x68..0x80) read as unused */
#define SPICTRL_PR0 0x84   /* PR0..PR4: 0x84..0x94 */
#define SPICTRL_NPR 5

/* HSFS */
#define SPICTRL_HSFS_FDONE 0x0001
#define SPICTRL_HSFS_FCERR 0x0002
#define SPICTRL_HSFS_AEL 0x0004
#define SPICTRL_HSFS_SCIP 0x0020
#define SPICTRL_HSFS_WRSDIS 0x0800
#define SPICTRL_HSFS_FDV 0x4000
#define SPICTRL_HSFS_FLOCKDN 0x8000
/* HSFC */
#define SPICTRL_HSFC_FGO 0x0001
#define SPICTRL_HSFC_FCYCLE_SHIFT 1
#define SPICTRL_HSFC_FCYCLE_MASK 0x001E
#define SPICTRL_HSFC_FDBC_SHIFT 8
#define SPICTRL_HSFC_FDBC_MASK 0x3F00 /* bytes - 1 */
#define SPICTRL_HSFC_FSMIE 0x8000
#define SPICTRL_FADDR_MASK 0x07FFFFFFu
/* FRAP */
#define SPICTRL_FRAP_BRRA(v) ((v)&0xFFu)
#define SPICTRL_FRAP_BRWA(v) (((v) >> 8) & 0xFFu)
#define SPICTRL_FRAP_SW_MASK 0xFFFF0000u /* BMRAG, BMWAG: software-writable, FLOCKDN-locked */
/* PRn and FREGn: base bits 14:0, limit bits 30:16, 4 KiB units */
#define SPICTRL_PR_RPE 0x00008000u
#define SPICTRL_PR_WPE 0x80000000u
#define SPICTRL_RANGE_BASE(v) (((v)&0x7FFFu) << 12)
#define SPICTRL_RANGE_LIMIT(v) (((((v) >> 16) & 0x7FFFu) << 12) | 0xFFFu)

/* FCYCLE values */
enum spictrl_fcycle {
    SPICTRL_CYC_READ = 0,
    SPICTRL_CYC_WRITE = 2,
    SPICTRL_CYC_ERASE_4K = 3,
    SPICTRL_CYC_ERASE_64K = 4,
    SPICTRL_CYC_READ_SFDP = 5,
    SPICTRL_CYC_READ_JEDEC = 6,
    SPICTRL_CYC_WRITE_STATUS = 7,
    SPICTRL_CYC_READ_STATUS = 8,
};

/* ---- BIOS_CNTL (a byte of the SPI/LPC function's PCI config space) ---- */
#define SPICTRL_BIOS_CNTL_OFFSET 0xDC
#define SPICTRL_BIOSWE 0x01
#define SPICTRL_BLE 0x02
#define SPICTRL_SMM_BWP 0x20
#define SPICTRL_BILD 0x80

/* ---- the flash descriptor ---- */
#define SPICTRL_FD_SIZE 4096
#define SPICTRL_FD_SIG_OFFSET 0x10
#define SPICTRL_FD_SIG 0x0FF0A55Au

enum spictrl_region {
    SPICTRL_REGION_DESC = 0,
    SPICTRL_REGION_BIOS = 1,
    SPICTRL_REGION_ME = 2,
    SPICTRL_REGION_GBE = 3,
    SPICTRL_REGION_PDR = 4,
    SPICTRL_NREGIONS = 5,
};

struct spictrl_span {
    bool present;
    uint32_t base, limit; /* bytes; limit is the last byte (…FFF) */
};

struct spictrl_layout {
    uint32_t flash_size;
    struct spictrl_span region[SPICTRL_NREGIONS];
    /* master grants (FLMSTR1-3): bit n = region n; the CPU's become FRAP BRRA/BRWA */
    uint8_t cpu_read, cpu_write, me_read, me_write, gbe_read, gbe_write;
};

/* ---- refusals ---- */
enum spictrl_deny {
    SPICTRL_OK = 0,
    SPICTRL_DENY_BUSY,       /* cycle registers written while a cycle runs (SCIP) */
    SPICTRL_DENY_FCYCLE,     /* reserved FCYCLE value */
    SPICTRL_DENY_LENGTH,     /* more than 64 bytes (direct API only: FDBC holds 6 bits) */
    SPICTRL_DENY_RANGE,      /* address beyond the flash */
    SPICTRL_DENY_NO_REGION,  /* address in no descriptor region */
    SPICTRL_DENY_FRAP_READ,  /* region not readable by the CPU (FRAP BRRA) */
    SPICTRL_DENY_FRAP_WRITE, /* region not writable by the CPU (FRAP BRWA) */
    SPICTRL_DENY_BIOSWE,     /* write/erase with BIOS_CNTL.BIOSWE = 0 */
    SPICTRL_DENY_SMM_BWP,    /* BIOS region write/erase with SMM_BWP = 1 outside SMM */
    SPICTRL_DENY_PR,         /* PRn with WPE (write/erase) or RPE (read); index = n */
    SPICTRL_DENY_WRSDIS,     /* write-status cycle with HSFS.WRSDIS = 1 */
    SPICTRL_DENY_FLOCKDN,    /* locked register written (FLOCKDN = 1) */
    SPICTRL_DENY_CHIP,       /* the flash chip ignored the command (BP/SRP/WEL); no FCERR */
    SPICTRL_DENY_COUNT
};

struct spictrl_refusal {
    enum spictrl_deny why;
    int index;     /* PR number or region number; -1 if none */
    uint32_t addr; /* flash address of the cycle */
    simtime_t when;
    char text[64]; /* "PR2", "BIOS_CNTL.BIOSWE=0", "SMM_BWP", "FRAP BIOS region read-only"… */
};

struct spictrl;

/* Runs when an SMI raised by BIOS_CNTL is serviced, `when` = raise time + smi_latency. */
typedef void (*spictrl_smi_fn)(void *opaque, struct spictrl *c, simtime_t when);

/*
 * A controller in front of `flash`. The flash descriptor at offset 0 sets
 * FREG0-4, FRAP BRRA/BRWA and HSFS.FDV. The SPI clock is the profile's
 * spi_clock, reads use READ 03h (spictrl_set_read_mode changes both).
 * NULL with a message in err on failure.
 */
struct spictrl *spictrl_create(const struct dev_env *env, struct spiflash *flash, char *err,
                               size_t errlen);
/* Cancels the pending SMI event; the flash chip is left open. */
void spictrl_destroy(struct spictrl *c);
struct spiflash *spictrl_flash(const struct spictrl *c);
/* SPIBAR register callbacks; opaque is the controller. */
const struct mmio_ops *spictrl_mmio_ops(void);

/* Read opcode (0x03 READ, 0x0B FAST READ, 0xEB quad I/O) and SPI clock in Hz (0: keep). */
void spictrl_set_read_mode(struct spictrl *c, uint8_t opcode, double hz);
/* Platform reset: FLOCKDN, PRs, FRAP software grants, BIOS_CNTL and cycle state clear; the
 * descriptor is parsed again. The flash chip is not reset. */
void spictrl_reset(struct spictrl *c, simtime_t now);

/* ---- BIOS_CNTL and SMM ---- */
uint8_t spictrl_bios_cntl_read(struct spictrl *c, simtime_t now);
/* BLE, SMM_BWP and BILD are write-once (set until reset). Setting BIOSWE with BLE = 1
 * outside SMM raises an SMI serviced smi_latency later. */
void spictrl_bios_cntl_write(struct spictrl *c, uint8_t value, bool in_smm, simtime_t now);
/* NULL restores the default handler (spictrl_smi_default). */
void spictrl_set_smi_handler(struct spictrl *c, spictrl_smi_fn fn, void *opaque);
/* The default handler: clears BIOSWE, as firmware does. */
void spictrl_smi_default(void *opaque, struct spictrl *c, simtime_t when);
void spictrl_set_smi_latency(struct spictrl *c, simtime_t ps);
uint64_t spictrl_smi_count(const struct spictrl *c);
/* Whether a CPU is in SMM, as the register (MMIO) path sees it. */
void spictrl_set_in_smm(struct spictrl *c, bool in_smm);

/* ---- configuration calls (as firmware programs them; refused once FLOCKDN is set) ---- */
/* PRn over bytes [base, limit] (base 4 KiB aligned, limit ending in FFF). -1 with err on
 * a bad index, base > limit, limit beyond the flash, or FLOCKDN. */
int spictrl_set_pr(struct spictrl *c, unsigned idx, uint32_t base, uint32_t limit, bool rpe,
                   bool wpe, char *err, size_t errlen);
/* Set HSFS.FLOCKDN (firmware's lock at end of boot). */
void spictrl_lock(struct spictrl *c, simtime_t now);

/* ---- cycles ---- */
/*
 * One hardware-sequencing cycle as firmware runs it through the registers
 * (clear FDONE/FCERR, FADDR, FDATA, HSFC with FGO, wait for FDONE): `buf`
 * is the data written or read (len 1..64). Waits for a running cycle
 * first. 0 and the completion time in *done, or -1 when refused (FCERR;
 * *done is still set; spictrl_last_refusal says why).
 */
int spictrl_hwseq(struct spictrl *c, enum spictrl_fcycle cyc, uint32_t addr, void *buf,
                  unsigned len, bool in_smm, simtime_t now, simtime_t *done);
/*
 * Read [addr, addr + len) as the CPU's BIOS window would (addr is a flash
 * address): one read transaction per 64-byte line at the configured
 * opcode and clock. Lines the CPU may not read (FRAP, PR with RPE, beyond
 * the flash) read 0xFF and set HSFS.AEL. Returns the completion time.
 */
simtime_t spictrl_mmap_read(struct spictrl *c, uint32_t addr, void *buf, size_t len, simtime_t now);
/*
 * Read [addr, addr + len) through hardware sequencing, 64 bytes a cycle,
 * as the firmware model loads an image. Returns the completion time; on a
 * refused cycle it stops there, the rest of buf is 0xFF and
 * spictrl_last_refusal says why.
 */
simtime_t spictrl_read_image(struct spictrl *c, uint32_t addr, size_t len, void *buf,
                             simtime_t now);

/* The outcome of the latest cycle or locked register write (why = SPICTRL_OK if allowed). */
const struct spictrl_refusal *spictrl_last_refusal(const struct spictrl *c);
uint64_t spictrl_refusal_count(const struct spictrl *c, enum spictrl_deny why);
const char *spictrl_deny_name(enum spictrl_deny why);

/* ---- descriptor helpers ---- */
/* A typical layout: descriptor 4 KiB, GbE 8 KiB, ME up to half the flash, BIOS the top half;
 * the CPU may read descriptor, BIOS and GbE and write BIOS and GbE. */
void spictrl_default_layout(struct spictrl_layout *l, uint32_t flash_size);
/* Build a 4 KiB descriptor for `l` into buf (len >= SPICTRL_FD_SIZE). -1 with err naming the
 * region on an invalid layout (flash size not a power of two in 512 KiB..64 MiB; a region
 * unaligned, base > limit, beyond the flash or overlapping another). */
int spictrl_build_descriptor(uint8_t *buf, size_t len, const struct spictrl_layout *l, char *err,
                             size_t errlen);
/* Parse a descriptor: 0 and the layout, or -1 (no signature, or pointers out of bounds). */
int spictrl_parse_descriptor(const uint8_t *buf, size_t len, struct spictrl_layout *l);

#endif
