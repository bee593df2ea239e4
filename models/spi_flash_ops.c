/*
 * The commands the SPI NOR flash chip executes (models/spi_flash.h): reads
 * (03h/0Bh/EBh, SFDP, JEDEC ID, status), status writes, page program,
 * sector/block/chip erase, suspend and resume. Decode and the BUSY/WEL
 * rules around them are in models/spi_flash.c, whose top comment states the
 * assumptions.
 */
#include "spi_flash_int.h"

#include <assert.h>
#include <string.h>

/* ---- reads ------------------------------------------------------------------------ */

/* Data bytes clocked in after a header of `hdr` bytes, from `src` (wrapping at `size`). */
static void read_stream(const struct frame *fr, size_t hdr, const uint8_t *src, uint32_t start,
                        uint32_t size)
{
    size_t skip = fr->nout - hdr; /* bytes the controller sent past the header */
    for (size_t i = 0; i < fr->nin; i++)
        fr->in[i] = src[(start + skip + i) % size];
}

void spiflash_do_read(struct spiflash *f, const struct frame *fr, size_t hdr)
{
    if (fr->nout < hdr) {
        f->st.ignored_other++;
        return;
    }
    read_stream(fr, hdr, f->mem, spiflash_frame_addr(f, fr), f->part->size);
}

void spiflash_do_quad_read(struct spiflash *f, const struct frame *fr)
{
    if (!(f->sr[1] & SPIFLASH_SR2_QE)) { /* IO2/IO3 are WP#/HOLD#: not accepted */
        f->st.ignored_other++;
        return;
    }
    spiflash_do_read(f, fr, 7); /* EB, 3 address, mode, 2 dummy (4 clocks) */
}

void spiflash_do_sfdp(struct spiflash *f, const struct frame *fr)
{
    if (fr->nout < 5) {
        f->st.ignored_other++;
        return;
    }
    uint32_t a = (uint32_t)fr->out[1] << 16 | (uint32_t)fr->out[2] << 8 | fr->out[3];
    a += (uint32_t)(fr->nout - 5);
    for (size_t i = 0; i < fr->nin; i++, a++)
        fr->in[i] = a < SPIFLASH_SFDP_SIZE ? f->sfdp[a] : 0xFF;
}

void spiflash_do_rdid(struct spiflash *f, const struct frame *fr)
{
    for (size_t i = 0; i < fr->nin; i++)
        fr->in[i] = f->part->jedec[(fr->nout - 1 + i) % 3];
}

void spiflash_do_rdsr(struct spiflash *f, const struct frame *fr, unsigned idx)
{
    uint8_t v = spiflash_status_value(f, idx, fr->now); /* sampled at the start */
    memset(fr->in, v, fr->nin);
}

/* ---- writes ------------------------------------------------------------------------ */

/* Common gate of program, erase and status write: false (counted) if refused. */
static bool write_allowed(struct spiflash *f, bool need_wel)
{
    if (f->suspended) {
        f->st.ignored_suspended++;
        return false;
    }
    if (need_wel && !f->wel) {
        f->st.ignored_wel++;
        return false;
    }
    return true;
}

static uint8_t sr_merge(unsigned idx, uint8_t old, uint8_t v)
{
    switch (idx) {
    case 0:
        return v & SR1_STORED;
    case 1: /* LB1-3 are one-time programmable: they can be set, never cleared */
        return (uint8_t)((old & ~SR2_WRITABLE) | (v & SR2_WRITABLE) | (v & SPIFLASH_SR2_LB));
    default:
        return (uint8_t)((old & ~SR3_WRITABLE) | (v & SR3_WRITABLE));
    }
}

static bool srp_locked(const struct spiflash *f)
{
    return (f->sr[0] & SPIFLASH_SR1_SRP) && !f->wp_high && !(f->sr[1] & SPIFLASH_SR2_QE);
}

void spiflash_do_wrsr(struct spiflash *f, const struct frame *fr, unsigned idx, bool vol)
{
    size_t n = fr->nout - 1;
    if (n == 0) {
        f->st.ignored_other++;
        return;
    }
    if (!write_allowed(f, !vol))
        return;
    if (srp_locked(f)) {
        f->st.ignored_srp++;
        f->wel = false;
        return;
    }
    f->sr[idx] = sr_merge(idx, f->sr[idx], fr->out[1]);
    bool both = idx == 0 && n >= 2; /* 01h with two bytes also writes SR2 */
    if (both)
        f->sr[1] = sr_merge(1, f->sr[1], fr->out[2]);
    f->st.status_writes++;
    if (vol)
        return;
    f->nv[idx] = f->sr[idx];
    if (both)
        f->nv[1] = f->sr[1];
    spiflash_start_op(f, PEND_STATUS, fr->end + f->t.tw);
}

void spiflash_do_program(struct spiflash *f, const struct frame *fr)
{
    if (fr->nout < 5) {
        f->st.ignored_other++;
        return;
    }
    if (!write_allowed(f, true))
        return;
    uint32_t addr = spiflash_frame_addr(f, fr), page = addr & ~(SPIFLASH_PAGE - 1);
    if (spiflash_range_protected(f, page, SPIFLASH_PAGE)) {
        f->st.ignored_protected++;
        f->wel = false;
        return;
    }
    uint8_t latch[SPIFLASH_PAGE];
    memset(latch, 0xFF, sizeof latch);
    for (size_t i = 0; i < fr->nout - 4; i++) /* past the page end: wraps to its start */
        latch[(addr + i) % SPIFLASH_PAGE] = fr->out[4 + i];
    for (uint32_t i = 0; i < SPIFLASH_PAGE; i++)
        f->mem[page + i] &= latch[i]; /* program only clears bits */
    spiflash_image_write(f, page, SPIFLASH_PAGE);
    f->st.programs++;
    spiflash_start_op(f, PEND_PROGRAM, fr->end + f->t.tpp);
}

static void erase_range(struct spiflash *f, uint32_t base, uint32_t len)
{
    memset(f->mem + base, 0xFF, len);
    spiflash_image_write(f, base, len);
    for (uint32_t s = base / SPIFLASH_SECTOR; s < (base + len) / SPIFLASH_SECTOR; s++)
        f->erases[s]++;
    f->st.erases++;
}

void spiflash_do_erase(struct spiflash *f, const struct frame *fr, uint32_t len, simtime_t dur)
{
    if (fr->nout < 4) {
        f->st.ignored_other++;
        return;
    }
    if (!write_allowed(f, true))
        return;
    uint32_t base = spiflash_frame_addr(f, fr) & ~(len - 1);
    if (spiflash_range_protected(f, base, len)) {
        f->st.ignored_protected++;
        f->wel = false;
        return;
    }
    erase_range(f, base, len);
    spiflash_start_op(f, PEND_ERASE, fr->end + dur);
}

void spiflash_do_chip_erase(struct spiflash *f, const struct frame *fr)
{
    uint32_t s, l;
    if (!write_allowed(f, true))
        return;
    spiflash_protected_range(f, &s, &l);
    if (l > 0) { /* refused if any region is protected */
        f->st.ignored_protected++;
        f->wel = false;
        return;
    }
    erase_range(f, 0, f->part->size);
    spiflash_start_op(f, PEND_CHIP_ERASE, fr->end + f->t.tce);
}

/* ---- suspend, resume, reset ---------------------------------------------------------- */

void spiflash_do_suspend(struct spiflash *f, const struct frame *fr)
{
    bool can = f->pend == PEND_PROGRAM || f->pend == PEND_ERASE;
    if (!can || !spiflash_busy(f, fr->now)) {
        f->st.ignored_other++;
        return;
    }
    f->remaining = f->until > fr->end ? f->until - fr->end : 0;
    f->suspended = true;
}

void spiflash_do_resume(struct spiflash *f, const struct frame *fr)
{
    if (!f->suspended) {
        f->st.ignored_other++;
        return;
    }
    f->suspended = false;
    f->until = fr->end + f->remaining;
}
