/*
 * SPI NOR flash chip model (models/spi_flash.c): a Winbond W25Q-class
 * serial flash with the JEDEC command set, real BUSY timing, the WEL
 * rules, block protection (BP0-2, TB, SEC, CMP) on program and erase,
 * SRP + WP#, and contents in a raw image file. User documentation and
 * timing formulas in docs/spi-flash.md.
 *
 * The chip is driven one chip-select transaction at a time
 * (spiflash_transaction): the bytes the controller shifts out (opcode,
 * address, dummy bytes, write data) and the number of bytes it then
 * clocks in. Each transaction carries its start time; it lasts its clock
 * count over the effective clock (the configured SPI clock, capped per
 * command at the part's limit), and a program, erase or status write
 * starts when chip select rises at its end.
 */
#ifndef HOPSIM_MODELS_SPI_FLASH_H
#define HOPSIM_MODELS_SPI_FLASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cost.h"
#include "simtime.h"

#define SPIFLASH_PAGE 256u    /* program page */
#define SPIFLASH_SECTOR 4096u /* smallest erase unit */
#define SPIFLASH_BLOCK32 (32u * 1024)
#define SPIFLASH_BLOCK64 (64u * 1024)
#define SPIFLASH_SFDP_SIZE 256u
#define SPIFLASH_DEFAULT_PART "W25Q128JV"

/* Status register 1 */
#define SPIFLASH_SR1_BUSY 0x01
#define SPIFLASH_SR1_WEL 0x02
#define SPIFLASH_SR1_BP0 0x04
#define SPIFLASH_SR1_BP1 0x08
#define SPIFLASH_SR1_BP2 0x10
#define SPIFLASH_SR1_TB 0x20
#define SPIFLASH_SR1_SEC 0x40
#define SPIFLASH_SR1_SRP 0x80
/* Status register 2 */
#define SPIFLASH_SR2_SRL 0x01
#define SPIFLASH_SR2_QE 0x02
#define SPIFLASH_SR2_LB 0x38 /* LB1-LB3, one-time programmable */
#define SPIFLASH_SR2_CMP 0x40
#define SPIFLASH_SR2_SUS 0x80
/* Status register 3 */
#define SPIFLASH_SR3_WPS 0x04
#define SPIFLASH_SR3_DRV 0x60

/* Opcodes the model decodes. */
enum spiflash_opcode {
    SPIFLASH_WRSR1 = 0x01,
    SPIFLASH_PP = 0x02,
    SPIFLASH_READ = 0x03,
    SPIFLASH_WRDI = 0x04,
    SPIFLASH_RDSR1 = 0x05,
    SPIFLASH_WREN = 0x06,
    SPIFLASH_FAST_READ = 0x0B,
    SPIFLASH_WRSR3 = 0x11,
    SPIFLASH_RDSR3 = 0x15,
    SPIFLASH_SE = 0x20,
    SPIFLASH_WRSR2 = 0x31,
    SPIFLASH_RDSR2 = 0x35,
    SPIFLASH_VSR_WREN = 0x50,
    SPIFLASH_BE32 = 0x52,
    SPIFLASH_RDSFDP = 0x5A,
    SPIFLASH_CE_60 = 0x60,
    SPIFLASH_RSTEN = 0x66,
    SPIFLASH_SUSPEND = 0x75,
    SPIFLASH_RESUME = 0x7A,
    SPIFLASH_RST = 0x99,
    SPIFLASH_RDID = 0x9F,
    SPIFLASH_CE = 0xC7,
    SPIFLASH_BE64 = 0xD8,
    SPIFLASH_QUAD_IO_READ = 0xEB, /* 1-4-4: needs SR2.QE */
};

struct spiflash_part {
    const char *name;
    uint8_t jedec[3];   /* 9Fh: manufacturer, memory type, capacity */
    uint32_t size;      /* bytes */
    double read_max_hz; /* READ 03h */
    double fast_max_hz; /* every other command */
};

/* Program/erase/status-write durations (ps), typical values. */
struct spiflash_timing {
    simtime_t tpp, tse, tbe32, tbe64, tce, tw;
};

/* What the chip did with the commands it was given. */
struct spiflash_stats {
    uint64_t commands;          /* transactions with an opcode */
    uint64_t ignored_busy;      /* not accepted while BUSY */
    uint64_t ignored_suspended; /* program/erase/status write while suspended */
    uint64_t ignored_wel;       /* program/erase/status write with WEL = 0 */
    uint64_t ignored_protected; /* program/erase hitting the BP/TB/SEC/CMP area */
    uint64_t ignored_srp;       /* status write with SRP = 1 and WP# low */
    uint64_t ignored_other;     /* unknown opcode, short frame, quad read with QE = 0 */
    uint64_t programs, erases, status_writes;
    uint64_t io_errors; /* image file writes that failed (contents kept in memory) */
};

struct spiflash;

/* The part named `name` (case-insensitive), or NULL. */
const struct spiflash_part *spiflash_part_lookup(const char *name);
/* The known part names, comma-separated, into buf. */
void spiflash_part_names(char *buf, size_t len);

/* Fill typical timings from the cost profile; tCE is scaled by size / 16 MiB. */
void spiflash_timing_from_cost(struct spiflash_timing *t, const struct cost_profile *c,
                               uint32_t size);

/*
 * A chip of part `part` (NULL: SPIFLASH_DEFAULT_PART) over the image at
 * `path`: an existing file must be exactly the part's size; a missing one
 * is created filled with 0xFF. Timings and the SPI clock (spi_clock) come
 * from `cost`. NULL with a message in err (naming the unknown part and the
 * known ones, or the file and both sizes).
 */
struct spiflash *spiflash_open(const char *part, const char *path, const struct cost_profile *cost,
                               char *err, size_t errlen);
void spiflash_close(struct spiflash *f);

const struct spiflash_part *spiflash_part(const struct spiflash *f);
uint32_t spiflash_size(const struct spiflash *f);
const struct spiflash_timing *spiflash_timing(const struct spiflash *f);
void spiflash_set_timing(struct spiflash *f, const struct spiflash_timing *t);

/* The SPI clock the controller drives (Hz, > 0). */
void spiflash_set_clock(struct spiflash *f, double hz);
double spiflash_clock(const struct spiflash *f);
/* Effective clock of `opcode`: min(clock, part limit for it). */
double spiflash_op_clock(const struct spiflash *f, uint8_t opcode);
/* Clock count of a frame of `frame_bytes` bytes (opcode included) for `opcode`. */
uint64_t spiflash_frame_clocks(uint8_t opcode, size_t frame_bytes);
/* Duration of such a frame at the effective clock, ps. */
simtime_t spiflash_frame_time(const struct spiflash *f, uint8_t opcode, size_t frame_bytes);

/*
 * One chip-select transaction starting at `now` (or when the previous one
 * ended, if later): shift out `out[0..nout)`, then clock in `nin` bytes
 * into `in` (0xFF where the chip drives nothing). Returns the time chip
 * select rises. Commands not accepted are counted in the stats.
 */
simtime_t spiflash_transaction(struct spiflash *f, const uint8_t *out, size_t nout, uint8_t *in,
                               size_t nin, simtime_t now);

/* Drive the WP# pin (true: high, writes to the status registers allowed). Default high. */
void spiflash_set_wp(struct spiflash *f, bool high);
/* Status register n (1..3) as a status read at `now` would return it; no bus time. */
uint8_t spiflash_status(struct spiflash *f, unsigned n, simtime_t now);
/* When the running program/erase/status write ends (0 if none; SIMTIME_NEVER if suspended). */
simtime_t spiflash_busy_until(const struct spiflash *f);
/* The protected range decoded from BP/TB/SEC/CMP: [*start, *start + *len). */
void spiflash_protected_range(const struct spiflash *f, uint32_t *start, uint32_t *len);
/* Power off and on: volatile status bits reload from the non-volatile ones, WEL and SUS clear. */
void spiflash_power_cycle(struct spiflash *f);

/* Host access to the contents (image building, checks): no timing, no protection. */
void spiflash_peek(const struct spiflash *f, uint32_t addr, void *buf, size_t len);
/* Host write (reaches the image file). -1 if the range is outside the chip. */
int spiflash_poke(struct spiflash *f, uint32_t addr, const void *buf, size_t len);

const struct spiflash_stats *spiflash_stats(const struct spiflash *f);
/* Erase cycles of 4 KiB sector `sector` (chip erase counts for every sector). */
uint32_t spiflash_erase_count(const struct spiflash *f, uint32_t sector);
/* The SFDP table (SPIFLASH_SFDP_SIZE bytes). */
const uint8_t *spiflash_sfdp(const struct spiflash *f);

#endif
