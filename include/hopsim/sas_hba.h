/*
 * The hopsim SAS HBA: register-level interface shared by the device model
 * (models/sas_hba.c) and the native driver (workloads/blk/sas.c).
 * Documented for users in docs/sas-hba.md.
 *
 * A queue-based host bus adapter in the style of NVMe / MPT3 "fusion":
 * one submission queue (SQ) and one completion queue (CQ) in host memory,
 * a doorbell register, completion interrupts (MSI or INTx), error status.
 * All addresses the device sees are bus addresses (machine addresses; no
 * IOMMU unless the platform has one). Little-endian, naturally aligned.
 *
 * PCI identity: vendor 0x1d0f ("hopsim"), device 0x5a5a, class 0x010700
 * (mass storage / SAS). BAR0: 4 KiB of memory-mapped registers.
 */
#ifndef HOPSIM_SAS_HBA_H
#define HOPSIM_SAS_HBA_H

#include <stdint.h>

#define SAS_PCI_VENDOR 0x1d0f
#define SAS_PCI_DEVICE 0x5a5a
#define SAS_PCI_CLASS 0x010700
#define SAS_BAR0_SIZE 4096

/* ---- registers (BAR0 offsets), 32-bit unless noted ---- */
#define SAS_REG_ID 0x00      /* RO: 0x53415348 "HSAS" */
#define SAS_REG_VERSION 0x04 /* RO: 0x00010000 */
/* CAP: bits 0-15 max queue entries, 16-23 max targets, 24-31 max SG entries */
#define SAS_REG_CAP 0x08    /* RO */
#define SAS_REG_CTRL 0x0c   /* RW: CTRL_* */
#define SAS_REG_STATUS 0x10 /* RO: STATUS_* */
#define SAS_REG_ISR 0x14    /* RW1C: interrupt cause, ISR_* */
#define SAS_REG_IMR 0x18    /* RW: interrupt mask, ISR_* bits, 1 = masked */
/* Queue bases: 64-bit bus addresses, 4 KiB aligned, low half first */
#define SAS_REG_SQ_BASE 0x20    /* RW: lo 0x20, hi 0x24 */
#define SAS_REG_CQ_BASE 0x28    /* RW: lo 0x28, hi 0x2c */
#define SAS_REG_QSIZE 0x30      /* RW: entries in each queue, power of two, 2..max */
#define SAS_REG_SQ_TAIL 0x34    /* WO doorbell: index of the next free SQ slot */
#define SAS_REG_CQ_HEAD 0x38    /* WO: index of the next CQ entry the driver will read */
#define SAS_REG_SQ_HEAD 0x3c    /* RO: next SQ entry the device will fetch */
#define SAS_REG_NTARGETS 0x40   /* RO: attached disks */
#define SAS_REG_TGT_SEL 0x44    /* RW: select a target for the TGT_* registers */
#define SAS_REG_TGT_BLOCKS 0x48 /* RO: capacity in blocks, lo 0x48, hi 0x4c */
#define SAS_REG_TGT_BLKSZ 0x50  /* RO: block size in bytes (512 or 4096) */
#define SAS_REG_TGT_TYPE 0x54   /* RO: SAS_TGT_* */
#define SAS_REG_ERR 0x58        /* RO: SAS_ERR_* of the last fatal error */
#define SAS_REG_COMPLETED 0x5c  /* RO: commands completed since enable (wraps) */
/*
 * Reply coalescing, after MPI2's IOC Page 1 (CoalescingTimeout in
 * microseconds, CoalescingDepth in replies; the REPLY_COALESCING flag is
 * "timeout != 0" here): with COAL_TIMEOUT != 0 a completion's interrupt is
 * held until COAL_DEPTH completions wait for one (0: no depth limit) or
 * COAL_TIMEOUT us have passed since the first of them was posted, whichever
 * comes first. Writes take effect for completions posted afterwards; 0
 * after reset (every completion interrupts at once).
 */
#define SAS_REG_COAL_TIMEOUT 0x60 /* RW: microseconds, 0 = off */
#define SAS_REG_COAL_DEPTH 0x64   /* RW: replies, 0..255 (0 = the timeout alone) */
#define SAS_COAL_TIMEOUT_MAX 65535u
#define SAS_COAL_DEPTH_MAX 255u

#define SAS_ID_VALUE 0x53415348u
#define SAS_VERSION_VALUE 0x00010000u

#define SAS_CTRL_ENABLE (1u << 0) /* 0->1: latch queue registers, go READY */
#define SAS_CTRL_RESET (1u << 1)  /* self-clearing: abort everything, back to disabled */

#define SAS_STATUS_READY (1u << 0)
#define SAS_STATUS_FATAL (1u << 1) /* queue misconfiguration or SQ fetch DMA error */

#define SAS_ISR_CQ (1u << 0)    /* completion(s) posted */
#define SAS_ISR_FATAL (1u << 1) /* entered FATAL */

/* NVME: NVMe-class flash media; RAM: a RAM-backed disk (both behind the same command interface) */
enum sas_target_type {
    SAS_TGT_NONE = 0,
    SAS_TGT_HDD = 1,
    SAS_TGT_SSD = 2,
    SAS_TGT_NVME = 3,
    SAS_TGT_RAM = 4
};

enum sas_err {
    SAS_ERR_NONE = 0,
    SAS_ERR_QSIZE = 1,    /* QSIZE not a power of two or out of range */
    SAS_ERR_QALIGN = 2,   /* queue base not 4 KiB aligned */
    SAS_ERR_SQ_DMA = 3,   /* SQ entry fetch hit a bad bus address */
    SAS_ERR_CQ_DMA = 4,   /* CQ entry post hit a bad bus address */
    SAS_ERR_DOORBELL = 5, /* SQ_TAIL >= QSIZE */
};

/* ---- submission queue entry: 64 bytes ---- */
/* opcodes are the SCSI CDB ones: READ(10), WRITE(10), SYNCHRONIZE CACHE(10) */
enum sas_opcode { SAS_OP_READ = 0x28, SAS_OP_WRITE = 0x2a, SAS_OP_FLUSH = 0x35 };

#define SAS_MAX_SG 16

struct sas_sg {
    uint64_t addr; /* bus address */
    uint32_t len;  /* bytes, 1..4096, must not cross a 4 KiB page */
    uint32_t rsvd;
};

struct sas_sqe {
    uint64_t tag;     /* echoed in the completion; hopsim traces use it as the request id */
    uint8_t opcode;   /* enum sas_opcode */
    uint8_t target;   /* disk index */
    uint16_t nsg;     /* entries in the SG list (0 for FLUSH) */
    uint32_t nblocks; /* blocks to transfer */
    uint64_t lba;
    uint64_t sgl; /* bus address of nsg struct sas_sg */
    uint8_t rsvd[32];
};

/* ---- completion queue entry: 16 bytes ---- */
enum sas_status {
    SAS_ST_OK = 0,
    SAS_ST_BAD_OPCODE = 1,
    SAS_ST_BAD_TARGET = 2,
    SAS_ST_LBA_RANGE = 3, /* lba + nblocks beyond the disk */
    SAS_ST_BAD_SGL = 4,   /* nsg 0 / > max, an element crossing a page, lengths != transfer */
    SAS_ST_DMA_ERROR = 5, /* a data or SGL bus address outside memory */
    SAS_ST_MEDIA = 6,     /* the disk image could not be read or written */
};

struct sas_cqe {
    uint64_t tag;
    uint16_t status;  /* enum sas_status */
    uint16_t sq_head; /* device's SQ head after this command was fetched */
    uint16_t phase;   /* bit 0: flips each time the CQ wraps; starts at 1 */
    uint16_t rsvd;
};

#endif
