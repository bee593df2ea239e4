/*
 * SPI NOR flash chip model: a Winbond W25Q-class serial flash (the
 * W25Q128JV by default) behind one chip select. Interface in
 * models/spi_flash.h, user documentation in docs/spi-flash.md.
 *
 * A transaction is one chip-select period: the opcode and what follows it
 * (address, mode and dummy bytes, write data) as the controller shifts it
 * out, then the bytes it clocks in. Its duration is its clock count over
 * the effective clock: 8 clocks a byte on one line; the 1-4-4 quad read
 * (EBh) carries address, mode, dummy and data on four lines (2 clocks a
 * byte). The effective clock is min(configured clock, the part's limit):
 * READ 03h at most 50 MHz, everything else at most 133 MHz (W25Q128JV).
 *
 * Assumptions and choices:
 * - BUSY is sampled at the start of a status read; a program, erase or
 *   non-volatile status write starts when chip select rises (the
 *   transaction's end) and keeps BUSY set for tPP, tSE, tBE32, tBE64, tCE
 *   or tW (typical values from the cost profile).
 * - The data change of a program or erase is applied when it is accepted
 *   and written to the image file at once; BUSY and WEL carry the timing.
 *   WEL stays set while the operation runs and clears when it completes.
 * - While BUSY, only status reads, suspend/resume and the reset pair
 *   (66h, 99h; the datasheet accepts it during an operation) are taken;
 *   other commands are ignored and counted.
 * - Suspend (75h) clears BUSY at once (tSUS not modelled) and sets SUS;
 *   resume (7Ah) restarts BUSY for the remaining time. While suspended,
 *   program, erase and status writes are refused (the datasheet allows a
 *   program to another sector during an erase suspend; not modelled).
 *   Chip erase and status writes cannot be suspended.
 * - A reset (66h then 99h) or a power cycle ends a running operation (its
 *   data already applied), clears WEL and SUS and reloads the volatile
 *   status bits from the non-volatile ones. tRST is not modelled.
 * - Block protection (BP2-0, TB, SEC, CMP) is decoded per the W25Q
 *   datasheet tables (identical for both parts, scaled by size): SEC = 0
 *   protects size/64 << (BP - 1), SEC = 1 4 KiB << (BP - 1) up to 32 KiB
 *   (BP = 110 with SEC = 1 is not in the table; taken as 32 KiB), BP = 111
 *   everything; TB = 1 from the bottom; CMP = 1 complements. It applies to
 *   program AND erase; a refused command clears WEL and is counted. Chip
 *   erase is refused if anything is protected. WPS (individual block
 *   locks) and SRL (lock-down) are stored but have no effect.
 * - Status writes are refused when SRP = 1 and WP# is low, unless QE = 1
 *   (WP# is then IO2). After 50h, the next status write is volatile: no
 *   WEL needed, no tW, lost at reset or power cycle. 50h stays armed
 *   across status reads; any other command disarms it.
 * - Non-volatile status values live in memory (they survive
 *   spiflash_power_cycle, not the process); contents live in the image.
 * - A transaction that would start before the previous one ended starts
 *   when it ends (one chip select: transactions never overlap).
 * - Guest-reachable mistakes (short frames, unknown opcodes) are ignored
 *   and counted; host misuse is assert()ed.
 */
#include "spi_flash_int.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

static const struct spiflash_part parts[] = {
    /* Winbond W25Q128JV-IQ/JQ: 128 Mbit, fR 133 MHz, READ 03h fR 50 MHz */
    {"W25Q128JV", {0xEF, 0x40, 0x18}, 16u << 20, 50e6, 133e6},
    /* Winbond W25Q64JV-IQ/JQ: 64 Mbit, same command set and clock limits */
    {"W25Q64JV", {0xEF, 0x40, 0x17}, 8u << 20, 50e6, 133e6},
};
#define NPARTS (sizeof parts / sizeof parts[0])

/* ---- parts, timing, clocks ------------------------------------------------ */

const struct spiflash_part *spiflash_part_lookup(const char *name)
{
    for (size_t i = 0; i < NPARTS; i++)
        if (strcasecmp(parts[i].name, name) == 0)
            return &parts[i];
    return NULL;
}

void spiflash_part_names(char *buf, size_t len)
{
    size_t off = 0;
    assert(len > 0);
    buf[0] = '\0';
    for (size_t i = 0; i < NPARTS && off < len; i++)
        off += (size_t)snprintf(buf + off, len - off, "%s%s", i ? ", " : "", parts[i].name);
}

void spiflash_timing_from_cost(struct spiflash_timing *t, const struct cost_profile *c,
                               uint32_t size)
{
    t->tpp = cost_ps(c, C_SPI_TPP, 1);
    t->tse = cost_ps(c, C_SPI_TSE, 1);
    t->tbe32 = cost_ps(c, C_SPI_TBE32, 1);
    t->tbe64 = cost_ps(c, C_SPI_TBE64, 1);
    t->tce = (simtime_t)llround((double)cost_ps(c, C_SPI_TCE, 1) * size / CHIP_ERASE_REF_SIZE);
    t->tw = cost_ps(c, C_SPI_TW, 1);
}

void spiflash_set_clock(struct spiflash *f, double hz)
{
    assert(hz > 0);
    f->clock_hz = hz;
}

double spiflash_clock(const struct spiflash *f)
{
    return f->clock_hz;
}

double spiflash_op_clock(const struct spiflash *f, uint8_t opcode)
{
    double limit = opcode == SPIFLASH_READ ? f->part->read_max_hz : f->part->fast_max_hz;
    return f->clock_hz < limit ? f->clock_hz : limit;
}

uint64_t spiflash_frame_clocks(uint8_t opcode, size_t frame_bytes)
{
    if (frame_bytes == 0)
        return 0;
    if (opcode == SPIFLASH_QUAD_IO_READ) /* opcode on one line, the rest on four */
        return 8 + 2 * (uint64_t)(frame_bytes - 1);
    return 8 * (uint64_t)frame_bytes;
}

simtime_t spiflash_frame_time(const struct spiflash *f, uint8_t opcode, size_t frame_bytes)
{
    double clocks = (double)spiflash_frame_clocks(opcode, frame_bytes);
    return (simtime_t)llround(clocks * 1e12 / spiflash_op_clock(f, opcode));
}

/* ---- the image file ----------------------------------------------------------- */

void spiflash_image_write(struct spiflash *f, uint32_t off, uint32_t len)
{
    const uint8_t *p = f->mem + off;
    while (len > 0) {
        ssize_t n = pwrite(f->fd, p, len, (off_t)off);
        if (n <= 0) {
            if (n < 0 && errno == EINTR)
                continue;
            f->st.io_errors++;
            return;
        }
        p += n;
        off += (uint32_t)n;
        len -= (uint32_t)n;
    }
}

static int image_read_all(struct spiflash *f, char *err, size_t errlen)
{
    size_t done = 0, size = f->part->size;
    while (done < size) {
        ssize_t n = pread(f->fd, f->mem + done, size - done, (off_t)done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            snprintf(err, errlen, "cannot read flash image %s: %s", f->path,
                     n < 0 ? strerror(errno) : "short file");
            return -1;
        }
        done += (size_t)n;
    }
    return 0;
}

/* Create the image filled with 0xFF. */
static int image_create(struct spiflash *f, char *err, size_t errlen)
{
    memset(f->mem, 0xFF, f->part->size);
    spiflash_image_write(f, 0, f->part->size);
    if (f->st.io_errors) {
        snprintf(err, errlen, "cannot write flash image %s: %s", f->path, strerror(errno));
        return -1;
    }
    return 0;
}

static int image_open(struct spiflash *f, char *err, size_t errlen)
{
    struct stat st;
    f->fd = open(f->path, O_RDWR | O_CLOEXEC | O_CREAT | O_EXCL, 0644);
    if (f->fd >= 0)
        return image_create(f, err, errlen);
    if (errno == EEXIST)
        f->fd = open(f->path, O_RDWR | O_CLOEXEC);
    if (f->fd < 0) {
        snprintf(err, errlen, "cannot open flash image %s: %s", f->path, strerror(errno));
        return -1;
    }
    if (fstat(f->fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "flash image %s: not a regular file", f->path);
        return -1;
    }
    if ((uint64_t)st.st_size != f->part->size) {
        snprintf(err, errlen, "flash image %s: %llu bytes, expected %u bytes for the %s", f->path,
                 (unsigned long long)st.st_size, f->part->size, f->part->name);
        return -1;
    }
    return image_read_all(f, err, errlen);
}

/* ---- SFDP (JESD216 rev 1.0: header + 9-DWORD basic flash parameter table) --- */

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void sfdp_build(uint8_t *t, const struct spiflash_part *p)
{
    static const uint8_t header[16] = {
        'S',  'F',  'D',  'P', 0x00, 0x01, 0x00, 0xFF, /* signature, rev 1.0, 1 parameter header */
        0x00, 0x00, 0x01, 9,   0x80, 0x00, 0x00, 0xFF, /* BFPT rev 1.0, 9 DWORDs at 0x80 */
    };
    static const uint32_t bfpt_rest[7] = {
        0x0000EB44, /* 3: 1-4-4 read EBh, 4 dummy + 2 mode clocks; 1-1-4 not supported */
        0x00000000, /* 4: 1-1-2 and 1-2-2 not supported */
        0xFFFFFFEE, /* 5: 2-2-2 and 4-4-4 not supported */
        0xFF00FFFF, /* 6: 2-2-2 parameters (unused) */
        0xFF00FFFF, /* 7: 4-4-4 parameters (unused) */
        0x520F200C, /* 8: erase types 1: 4 KiB 20h, 2: 32 KiB 52h */
        0x0000D810, /* 9: erase type 3: 64 KiB D8h; type 4 absent */
    };
    memset(t, 0xFF, SPIFLASH_SFDP_SIZE);
    memcpy(t, header, sizeof header);
    /* 1: 4 KiB erase (20h), write granularity >= 64 B, non-volatile status
       with 50h for volatile writes, 3-byte addresses, 1-4-4 read supported */
    put32(t + 0x80, 0xFFA020E5);
    put32(t + 0x84, p->size * 8u - 1); /* 2: density in bits - 1 */
    for (int i = 0; i < 7; i++)
        put32(t + 0x88 + 4 * i, bfpt_rest[i]);
}

/* ---- state ------------------------------------------------------------------------ */

/* Complete the running operation if it has ended by `now`. */
static void settle(struct spiflash *f, simtime_t now)
{
    if (f->pend != PEND_NONE && !f->suspended && now >= f->until) {
        f->pend = PEND_NONE;
        f->wel = false;
    }
}

bool spiflash_busy(const struct spiflash *f, simtime_t now)
{
    return f->pend != PEND_NONE && !f->suspended && now < f->until;
}

void spiflash_start_op(struct spiflash *f, enum pend_kind k, simtime_t until)
{
    f->pend = k;
    f->suspended = false;
    f->until = until;
}

uint8_t spiflash_status_value(struct spiflash *f, unsigned idx, simtime_t now)
{
    settle(f, now);
    switch (idx) {
    case 0:
        return (uint8_t)(f->sr[0] | (spiflash_busy(f, now) ? SPIFLASH_SR1_BUSY : 0) |
                         (f->wel ? SPIFLASH_SR1_WEL : 0));
    case 1:
        return (uint8_t)(f->sr[1] | (f->suspended ? SPIFLASH_SR2_SUS : 0));
    default:
        return f->sr[2];
    }
}

/* Back to the power-on state (reset command or power cycle). */
static void volatile_reset(struct spiflash *f)
{
    f->pend = PEND_NONE;
    f->suspended = false;
    f->wel = false;
    f->vsr_armed = false;
    f->rst_armed = false;
    memcpy(f->sr, f->nv, sizeof f->sr);
}

void spiflash_protected_range(const struct spiflash *f, uint32_t *start, uint32_t *len)
{
    uint32_t size = f->part->size, s, l;
    unsigned bp = (f->sr[0] >> 2) & 7;
    bool tb = f->sr[0] & SPIFLASH_SR1_TB, sec = f->sr[0] & SPIFLASH_SR1_SEC;
    if (bp == 0)
        l = 0;
    else if (bp == 7)
        l = size;
    else if (sec)
        l = SPIFLASH_SECTOR << (bp < 4 ? bp - 1 : 3);
    else
        l = (size / 64) << (bp - 1);
    s = tb ? 0 : size - l;
    if (f->sr[1] & SPIFLASH_SR2_CMP) {
        if (l == 0 || l == size) {
            s = 0;
            l = size - l;
        } else {
            s = tb ? l : 0;
            l = size - l;
        }
    }
    *start = s;
    *len = l;
}

bool spiflash_range_protected(const struct spiflash *f, uint32_t addr, uint32_t len)
{
    uint32_t s, l;
    spiflash_protected_range(f, &s, &l);
    return l > 0 && addr < s + l && s < addr + len;
}

uint32_t spiflash_frame_addr(const struct spiflash *f, const struct frame *fr)
{
    uint32_t a = (uint32_t)fr->out[1] << 16 | (uint32_t)fr->out[2] << 8 | fr->out[3];
    return a % f->part->size;
}

/* ---- decode ---------------------------------------------------------------------------- */

static bool is_status_read(uint8_t op)
{
    return op == SPIFLASH_RDSR1 || op == SPIFLASH_RDSR2 || op == SPIFLASH_RDSR3;
}

static bool accepted_while_busy(uint8_t op)
{
    return is_status_read(op) || op == SPIFLASH_SUSPEND || op == SPIFLASH_RESUME ||
           op == SPIFLASH_RSTEN || op == SPIFLASH_RST;
}

static void dispatch(struct spiflash *f, const struct frame *fr, bool vsr, bool rst)
{
    switch (fr->out[0]) {
    case SPIFLASH_READ:
        spiflash_do_read(f, fr, 4);
        break;
    case SPIFLASH_FAST_READ:
        spiflash_do_read(f, fr, 5);
        break;
    case SPIFLASH_QUAD_IO_READ:
        spiflash_do_quad_read(f, fr);
        break;
    case SPIFLASH_RDSFDP:
        spiflash_do_sfdp(f, fr);
        break;
    case SPIFLASH_RDID:
        spiflash_do_rdid(f, fr);
        break;
    case SPIFLASH_RDSR1:
        spiflash_do_rdsr(f, fr, 0);
        break;
    case SPIFLASH_RDSR2:
        spiflash_do_rdsr(f, fr, 1);
        break;
    case SPIFLASH_RDSR3:
        spiflash_do_rdsr(f, fr, 2);
        break;
    case SPIFLASH_WREN:
        f->wel = true;
        break;
    case SPIFLASH_WRDI:
        f->wel = false;
        break;
    case SPIFLASH_VSR_WREN:
        f->vsr_armed = true;
        break;
    case SPIFLASH_WRSR1:
        spiflash_do_wrsr(f, fr, 0, vsr);
        break;
    case SPIFLASH_WRSR2:
        spiflash_do_wrsr(f, fr, 1, vsr);
        break;
    case SPIFLASH_WRSR3:
        spiflash_do_wrsr(f, fr, 2, vsr);
        break;
    case SPIFLASH_PP:
        spiflash_do_program(f, fr);
        break;
    case SPIFLASH_SE:
        spiflash_do_erase(f, fr, SPIFLASH_SECTOR, f->t.tse);
        break;
    case SPIFLASH_BE32:
        spiflash_do_erase(f, fr, SPIFLASH_BLOCK32, f->t.tbe32);
        break;
    case SPIFLASH_BE64:
        spiflash_do_erase(f, fr, SPIFLASH_BLOCK64, f->t.tbe64);
        break;
    case SPIFLASH_CE:
    case SPIFLASH_CE_60:
        spiflash_do_chip_erase(f, fr);
        break;
    case SPIFLASH_SUSPEND:
        spiflash_do_suspend(f, fr);
        break;
    case SPIFLASH_RESUME:
        spiflash_do_resume(f, fr);
        break;
    case SPIFLASH_RSTEN:
        f->rst_armed = true;
        break;
    case SPIFLASH_RST:
        if (rst)
            volatile_reset(f);
        else
            f->st.ignored_other++;
        break;
    default:
        f->st.ignored_other++;
        break;
    }
}

simtime_t spiflash_transaction(struct spiflash *f, const uint8_t *out, size_t nout, uint8_t *in,
                               size_t nin, simtime_t now)
{
    assert(f && (nout == 0 || out) && (nin == 0 || in));
    if (now < f->bus_free)
        now = f->bus_free;
    if (nin)
        memset(in, 0xFF, nin);
    if (nout == 0)
        return now;
    uint8_t op = out[0];
    struct frame fr = {out, nout, in, nin, now, now + spiflash_frame_time(f, op, nout + nin)};
    f->bus_free = fr.end;
    f->st.commands++;
    settle(f, now);
    /* 50h arms only the next status write (status reads keep it); 66h only the next 99h */
    bool vsr = f->vsr_armed, rst = f->rst_armed;
    if (!is_status_read(op))
        f->vsr_armed = false;
    f->rst_armed = false;
    if (spiflash_busy(f, now) && !accepted_while_busy(op)) {
        f->st.ignored_busy++;
        return fr.end;
    }
    dispatch(f, &fr, vsr, rst);
    return fr.end;
}

/* ---- life cycle and host access -------------------------------------------------------- */

struct spiflash *spiflash_open(const char *part, const char *path, const struct cost_profile *cost,
                               char *err, size_t errlen)
{
    assert(path && cost);
    const struct spiflash_part *p = spiflash_part_lookup(part ? part : SPIFLASH_DEFAULT_PART);
    if (!p) {
        char names[128];
        spiflash_part_names(names, sizeof names);
        snprintf(err, errlen, "unknown SPI flash part '%s' (known parts: %s)", part, names);
        return NULL;
    }
    struct spiflash *f = calloc(1, sizeof *f);
    if (!f) {
        snprintf(err, errlen, "flash image %s: out of memory", path);
        return NULL;
    }
    f->fd = -1;
    f->part = p;
    f->path = strdup(path);
    f->mem = malloc(p->size);
    f->erases = calloc(p->size / SPIFLASH_SECTOR, sizeof *f->erases);
    if (!f->path || !f->mem || !f->erases) {
        snprintf(err, errlen, "flash image %s: out of memory", path);
        goto fail;
    }
    if (image_open(f, err, errlen) != 0)
        goto fail;
    spiflash_timing_from_cost(&f->t, cost, p->size);
    f->clock_hz = cost->value[C_SPI_CLOCK] > 0 ? cost->value[C_SPI_CLOCK] : p->read_max_hz;
    f->wp_high = true;
    sfdp_build(f->sfdp, p);
    return f;
fail:
    spiflash_close(f);
    return NULL;
}

void spiflash_close(struct spiflash *f)
{
    if (!f)
        return;
    if (f->fd >= 0)
        close(f->fd);
    free(f->erases);
    free(f->mem);
    free(f->path);
    free(f);
}

const struct spiflash_part *spiflash_part(const struct spiflash *f)
{
    return f->part;
}

uint32_t spiflash_size(const struct spiflash *f)
{
    return f->part->size;
}

const struct spiflash_timing *spiflash_timing(const struct spiflash *f)
{
    return &f->t;
}

void spiflash_set_timing(struct spiflash *f, const struct spiflash_timing *t)
{
    f->t = *t;
}

void spiflash_set_wp(struct spiflash *f, bool high)
{
    f->wp_high = high;
}

uint8_t spiflash_status(struct spiflash *f, unsigned n, simtime_t now)
{
    assert(n >= 1 && n <= 3);
    return spiflash_status_value(f, n - 1, now);
}

simtime_t spiflash_busy_until(const struct spiflash *f)
{
    if (f->pend == PEND_NONE)
        return 0;
    return f->suspended ? SIMTIME_NEVER : f->until;
}

void spiflash_power_cycle(struct spiflash *f)
{
    volatile_reset(f);
}

void spiflash_peek(const struct spiflash *f, uint32_t addr, void *buf, size_t len)
{
    assert((uint64_t)addr + len <= f->part->size);
    memcpy(buf, f->mem + addr, len);
}

int spiflash_poke(struct spiflash *f, uint32_t addr, const void *buf, size_t len)
{
    if ((uint64_t)addr + len > f->part->size)
        return -1;
    memcpy(f->mem + addr, buf, len);
    spiflash_image_write(f, addr, (uint32_t)len);
    return 0;
}

const struct spiflash_stats *spiflash_stats(const struct spiflash *f)
{
    return &f->st;
}

uint32_t spiflash_erase_count(const struct spiflash *f, uint32_t sector)
{
    assert(sector < f->part->size / SPIFLASH_SECTOR);
    return f->erases[sector];
}

const uint8_t *spiflash_sfdp(const struct spiflash *f)
{
    return f->sfdp;
}
