/*
 * Internal to the SPI NOR flash chip model (models/spi_flash.c: parts,
 * timing, the image file, SFDP, status and protection state, command
 * decode, life cycle; models/spi_flash_ops.c: the commands the chip
 * executes -- reads, status writes, program, erase, suspend/resume).
 * Users of the model include spi_flash.h.
 */
#ifndef HOPSIM_MODELS_SPI_FLASH_INT_H
#define HOPSIM_MODELS_SPI_FLASH_INT_H

#include "spi_flash.h"

#define SR1_STORED 0xFC /* BP0-2, TB, SEC, SRP; BUSY and WEL are state */
#define SR2_WRITABLE (SPIFLASH_SR2_SRL | SPIFLASH_SR2_QE | SPIFLASH_SR2_CMP)
#define SR3_WRITABLE (SPIFLASH_SR3_WPS | SPIFLASH_SR3_DRV)
#define CHIP_ERASE_REF_SIZE (16u << 20) /* spi_tce is for the 128 Mbit part */

enum pend_kind { PEND_NONE, PEND_PROGRAM, PEND_ERASE, PEND_CHIP_ERASE, PEND_STATUS };

struct spiflash {
    const struct spiflash_part *part;
    struct spiflash_timing t;
    double clock_hz;
    char *path;
    int fd;
    uint8_t *mem;     /* the contents, mirrored to the image file */
    uint32_t *erases; /* per 4 KiB sector */
    uint8_t sr[3];    /* status registers in effect (SR1: only SR1_STORED bits) */
    uint8_t nv[3];    /* non-volatile values, loaded at power-up and reset */
    bool wel;
    bool vsr_armed; /* 50h seen: the next status write is volatile */
    bool rst_armed; /* 66h seen: 99h resets */
    bool wp_high;
    /* the program / erase / status write running (or suspended) */
    enum pend_kind pend;
    bool suspended;
    simtime_t until;     /* its end, while running */
    simtime_t remaining; /* while suspended */
    simtime_t bus_free;  /* end of the last transaction */
    struct spiflash_stats st;
    uint8_t sfdp[SPIFLASH_SFDP_SIZE];
};

/* A transaction being decoded. */
struct frame {
    const uint8_t *out;
    size_t nout;
    uint8_t *in;
    size_t nin;
    simtime_t now, end;
};

/* Defined in spi_flash.c. */
bool spiflash_busy(const struct spiflash *f, simtime_t now);
uint32_t spiflash_frame_addr(const struct spiflash *f, const struct frame *fr);
void spiflash_image_write(struct spiflash *f, uint32_t off, uint32_t len);
bool spiflash_range_protected(const struct spiflash *f, uint32_t addr, uint32_t len);
void spiflash_start_op(struct spiflash *f, enum pend_kind k, simtime_t until);
uint8_t spiflash_status_value(struct spiflash *f, unsigned idx, simtime_t now);

/* Defined in spi_flash_ops.c. */
void spiflash_do_chip_erase(struct spiflash *f, const struct frame *fr);
void spiflash_do_erase(struct spiflash *f, const struct frame *fr, uint32_t len, simtime_t dur);
void spiflash_do_program(struct spiflash *f, const struct frame *fr);
void spiflash_do_quad_read(struct spiflash *f, const struct frame *fr);
void spiflash_do_rdid(struct spiflash *f, const struct frame *fr);
void spiflash_do_rdsr(struct spiflash *f, const struct frame *fr, unsigned idx);
void spiflash_do_read(struct spiflash *f, const struct frame *fr, size_t hdr);
void spiflash_do_resume(struct spiflash *f, const struct frame *fr);
void spiflash_do_sfdp(struct spiflash *f, const struct frame *fr);
void spiflash_do_suspend(struct spiflash *f, const struct frame *fr);
void spiflash_do_wrsr(struct spiflash *f, const struct frame *fr, unsigned idx, bool vol);

#endif
