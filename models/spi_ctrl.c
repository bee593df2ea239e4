/*
 * Intel-PCH-style SPI controller: SPIBAR hardware sequencing in front of
 * one SPI NOR chip (models/spi_flash.c), with the protections firmware
 * and attackers meet on real platforms: descriptor regions and master
 * grants (FRAP), protected ranges PR0-PR4, FLOCKDN, WRSDIS and BIOS_CNTL
 * (BIOSWE, BLE, SMM_BWP) with its SMI. Interface in models/spi_ctrl.h,
 * user documentation in docs/spi-flash.md.
 *
 * A cycle started at `now` (an FGO write, or spictrl_hwseq) begins when
 * the SPI bus is free, takes spi_cycle_overhead, then its SPI
 * transactions on the chip: a read is one read transaction; a write is,
 * per 256-byte page it touches, WREN + page program + status polls until
 * BUSY clears; an erase is WREN + erase + polls. SCIP (and FGO) read 1
 * until the cycle's end, then FDONE (with FCERR if refused). A refused
 * cycle does no SPI traffic and ends after the overhead.
 *
 * Assumptions and choices:
 * - Checks run at the cycle's start, in this order, the first failing one
 *   named in the refusal: FCYCLE valid; within the flash; descriptor
 *   regions and FRAP grants (if FDV); BIOSWE (every write/erase); SMM_BWP
 *   (writes/erases touching the BIOS region, unless in SMM); PR0..PR4
 *   (WPE for write/erase, RPE for read; lowest index first); WRSDIS (write
 *   status). Without a valid descriptor the flash is one BIOS region with
 *   no region checks.
 * - Cycle data and status land when the cycle ends: FDATA is filled and
 *   FDONE set lazily, at the first access at or after the end time (MMIO
 *   `now` may be ahead of the event queue).
 * - The status polls are modelled as the first poll (BUSY) and the poll
 *   issued when BUSY clears; the polls in between change nothing.
 * - If the chip ignores a command (its own BP/SRP protection), the
 *   controller cannot know: FDONE without FCERR, recorded as
 *   SPICTRL_DENY_CHIP for the caller.
 * - BIOS_CNTL: BLE, SMM_BWP and BILD are write-once; BIOSWE set from 0 to
 *   1 with BLE = 1 outside SMM raises an SMI; the BIOSWE bit IS set (this
 *   is the Speed Racer window) until the handler, smi_latency later,
 *   clears it. The handler runs from an event at that time or, lazily, at
 *   the first controller access at or after it, whichever comes first.
 *   Only one SMI is pending at a time.
 * - FLOCKDN locks PR0-4, FRAP's software grants, WRSDIS and itself until
 *   spictrl_reset; locked writes are ignored and recorded as refusals.
 * - Registers accept 1-, 2- and 4-byte naturally aligned accesses; others
 *   are ignored. The guest can never crash the model: a bad descriptor is
 *   "no descriptor", bad register values match nothing.
 */
#include "spi_ctrl_int.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const spictrl_region_names[SPICTRL_NREGIONS] = {"Descriptor", "BIOS", "ME", "GbE",
                                                            "Platform Data"};

static const char *const deny_names[SPICTRL_DENY_COUNT] = {
    [SPICTRL_OK] = "OK",
    [SPICTRL_DENY_BUSY] = "SCIP",
    [SPICTRL_DENY_FCYCLE] = "FCYCLE",
    [SPICTRL_DENY_LENGTH] = "FDBC",
    [SPICTRL_DENY_RANGE] = "RANGE",
    [SPICTRL_DENY_NO_REGION] = "NO_REGION",
    [SPICTRL_DENY_FRAP_READ] = "FRAP_READ",
    [SPICTRL_DENY_FRAP_WRITE] = "FRAP_WRITE",
    [SPICTRL_DENY_BIOSWE] = "BIOSWE",
    [SPICTRL_DENY_SMM_BWP] = "SMM_BWP",
    [SPICTRL_DENY_PR] = "PR",
    [SPICTRL_DENY_WRSDIS] = "WRSDIS",
    [SPICTRL_DENY_FLOCKDN] = "FLOCKDN",
    [SPICTRL_DENY_CHIP] = "CHIP",
};

static void ctrl_sync(struct spictrl *c, simtime_t now);

const char *spictrl_deny_name(enum spictrl_deny why)
{
    assert(why < SPICTRL_DENY_COUNT);
    return deny_names[why];
}

static void deny_text(char *buf, size_t len, enum spictrl_deny why, int index)
{
    switch (why) {
    case SPICTRL_OK:
        snprintf(buf, len, "allowed");
        break;
    case SPICTRL_DENY_BUSY:
        snprintf(buf, len, "cycle in progress (HSFS.SCIP)");
        break;
    case SPICTRL_DENY_FCYCLE:
        snprintf(buf, len, "invalid HSFC.FCYCLE %d", index);
        break;
    case SPICTRL_DENY_LENGTH:
        snprintf(buf, len, "more than 64 bytes (FDBC > 63)");
        break;
    case SPICTRL_DENY_RANGE:
        snprintf(buf, len, "address beyond the flash");
        break;
    case SPICTRL_DENY_NO_REGION:
        snprintf(buf, len, "address in no flash region");
        break;
    case SPICTRL_DENY_FRAP_READ:
        snprintf(buf, len, "FRAP %s region not readable", spictrl_region_names[index]);
        break;
    case SPICTRL_DENY_FRAP_WRITE:
        snprintf(buf, len, "FRAP %s region read-only", spictrl_region_names[index]);
        break;
    case SPICTRL_DENY_BIOSWE:
        snprintf(buf, len, "BIOS_CNTL.BIOSWE=0");
        break;
    case SPICTRL_DENY_SMM_BWP:
        snprintf(buf, len, "SMM_BWP");
        break;
    case SPICTRL_DENY_PR:
        snprintf(buf, len, "PR%d", index);
        break;
    case SPICTRL_DENY_WRSDIS:
        snprintf(buf, len, "HSFS.WRSDIS");
        break;
    case SPICTRL_DENY_FLOCKDN:
        snprintf(buf, len, "FLOCKDN");
        break;
    default:
        snprintf(buf, len, "flash chip ignored the command (BP/SRP protection)");
        break;
    }
}

/* Record the outcome of a cycle or a locked write. */
void spictrl_record(struct spictrl *c, enum spictrl_deny why, int index, uint32_t addr,
                    simtime_t when)
{
    c->last.why = why;
    c->last.index = index;
    c->last.addr = addr;
    c->last.when = when;
    deny_text(c->last.text, sizeof c->last.text, why, index);
    if (why != SPICTRL_OK)
        c->refusals[why]++;
}

/* FLOCKDN gate for a write to a lockable register: true (recorded) if locked. */
static bool locked(struct spictrl *c, simtime_t now)
{
    if (!(c->hsfs & SPICTRL_HSFS_FLOCKDN))
        return false;
    spictrl_record(c, SPICTRL_DENY_FLOCKDN, -1, 0, now);
    return true;
}

/* ---- SMI ------------------------------------------------------------------------------ */

static void run_smi(struct spictrl *c)
{
    c->smi_pending = false;
    evq_cancel(c->env.q, c->smi_ev);
    c->smi_ev = 0;
    c->smi_fn(c->smi_opaque, c, c->smi_at);
}

static void smi_event(void *opaque, simtime_t now)
{
    struct spictrl *c = opaque;
    c->smi_ev = 0;
    if (c->smi_pending)
        ctrl_sync(c, now);
}

static void raise_smi(struct spictrl *c, simtime_t now)
{
    c->smi_count++;
    if (c->smi_pending)
        return;
    c->smi_pending = true;
    c->smi_at = now + c->smi_latency;
    c->smi_ev = evq_schedule(c->env.q, later(c->smi_at, evq_now(c->env.q)), smi_event, c);
}

void spictrl_smi_default(void *opaque, struct spictrl *c, simtime_t when)
{
    (void)opaque;
    uint8_t v = spictrl_bios_cntl_read(c, when);
    spictrl_bios_cntl_write(c, v & (uint8_t)~SPICTRL_BIOSWE, true, when);
}

/* Bring the lazy state up to `now`: a due SMI, then a finished cycle. */
static void ctrl_sync(struct spictrl *c, simtime_t now)
{
    if (c->smi_pending && now >= c->smi_at)
        run_smi(c);
    if (c->cyc_pending && now >= c->cyc_end)
        spictrl_cycle_finish(c);
}

uint8_t spictrl_bios_cntl_read(struct spictrl *c, simtime_t now)
{
    ctrl_sync(c, now);
    return c->bios_cntl;
}

void spictrl_bios_cntl_write(struct spictrl *c, uint8_t value, bool in_smm, simtime_t now)
{
    ctrl_sync(c, now);
    uint8_t old = c->bios_cntl;
    uint8_t v = (uint8_t)((value & BIOS_CNTL_BITS) | (old & BIOS_CNTL_ONCE));
    c->bios_cntl = v;
    if ((v & SPICTRL_BIOSWE) && !(old & SPICTRL_BIOSWE) && (v & SPICTRL_BLE) && !in_smm)
        raise_smi(c, now);
}

void spictrl_set_smi_handler(struct spictrl *c, spictrl_smi_fn fn, void *opaque)
{
    c->smi_fn = fn ? fn : spictrl_smi_default;
    c->smi_opaque = fn ? opaque : NULL;
}

void spictrl_set_smi_latency(struct spictrl *c, simtime_t ps)
{
    c->smi_latency = ps;
}

uint64_t spictrl_smi_count(const struct spictrl *c)
{
    return c->smi_count;
}

void spictrl_set_in_smm(struct spictrl *c, bool in_smm)
{
    c->in_smm = in_smm;
}

/* ---- registers ------------------------------------------------------------------------ */

static uint32_t reg_read(const struct spictrl *c, uint64_t off)
{
    if (off >= SPICTRL_FDATA0 && off < FDATA_END)
        return spictrl_get32(c->fdata + (off - SPICTRL_FDATA0));
    if (off >= SPICTRL_FREG0 && off <= FREG_LAST) {
        unsigned i = (unsigned)(off - SPICTRL_FREG0) / 4;
        return i < SPICTRL_NREGIONS ? c->freg[i] : FREG_UNUSED;
    }
    if (off >= SPICTRL_PR0 && off < PR_END)
        return c->pr[(off - SPICTRL_PR0) / 4];
    switch (off) {
    case SPICTRL_BFPREG:
        return c->freg[SPICTRL_REGION_BIOS];
    case SPICTRL_HSFS: {
        uint32_t s = c->hsfs | (c->cyc_pending ? SPICTRL_HSFS_SCIP : 0);
        uint32_t f = c->hsfc | (c->cyc_pending ? SPICTRL_HSFC_FGO : 0);
        return s | f << 16;
    }
    case SPICTRL_FADDR:
        return c->faddr;
    case SPICTRL_FRAP:
        return c->frap;
    default:
        return 0;
    }
}

static uint64_t spictrl_mmio_read(void *opaque, uint64_t offset, unsigned size, simtime_t now)
{
    struct spictrl *c = opaque;
    ctrl_sync(c, now);
    uint32_t v = reg_read(c, offset & ~3ull) >> (8 * (offset & 3));
    return size >= 4 ? v : v & ((1u << (8 * size)) - 1);
}

static uint32_t merge(uint32_t old, uint32_t v, uint32_t mask)
{
    return (old & ~mask) | (v & mask);
}

/* Cycle registers written while a cycle runs: FCERR, write ignored. */
static bool cycle_busy(struct spictrl *c, simtime_t now)
{
    if (!c->cyc_pending)
        return false;
    c->hsfs |= SPICTRL_HSFS_FCERR;
    spictrl_record(c, SPICTRL_DENY_BUSY, -1, c->faddr, now);
    return true;
}

static void hsfs_write(struct spictrl *c, uint16_t v, uint16_t mask, simtime_t now)
{
    c->hsfs &= (uint16_t) ~(v & mask & HSFS_W1C);
    if ((mask & SPICTRL_HSFS_WRSDIS) && ((v ^ c->hsfs) & SPICTRL_HSFS_WRSDIS) && !locked(c, now))
        c->hsfs ^= SPICTRL_HSFS_WRSDIS;
    if (v & mask & SPICTRL_HSFS_FLOCKDN)
        c->hsfs |= SPICTRL_HSFS_FLOCKDN;
}

static void hsfc_write(struct spictrl *c, uint16_t v, uint16_t mask, simtime_t now)
{
    if (!mask || cycle_busy(c, now))
        return;
    c->hsfc = (uint16_t)merge(c->hsfc, v, mask & HSFC_RW);
    if (v & mask & SPICTRL_HSFC_FGO)
        spictrl_start_from_regs(c, now);
}

static void reg_write(struct spictrl *c, uint64_t off, uint32_t v, uint32_t mask, simtime_t now)
{
    if (off >= SPICTRL_FDATA0 && off < FDATA_END) {
        if (cycle_busy(c, now))
            return;
        uint8_t *p = c->fdata + (off - SPICTRL_FDATA0);
        spictrl_put32(p, merge(spictrl_get32(p), v, mask));
    } else if (off >= SPICTRL_PR0 && off < PR_END) {
        if (!locked(c, now))
            c->pr[(off - SPICTRL_PR0) / 4] = merge(c->pr[(off - SPICTRL_PR0) / 4], v, mask);
    } else if (off == SPICTRL_HSFS) {
        hsfs_write(c, (uint16_t)v, (uint16_t)mask, now); /* W1C before a new FGO */
        hsfc_write(c, (uint16_t)(v >> 16), (uint16_t)(mask >> 16), now);
    } else if (off == SPICTRL_FADDR) {
        if (!cycle_busy(c, now))
            c->faddr = merge(c->faddr, v, mask) & SPICTRL_FADDR_MASK;
    } else if (off == SPICTRL_FRAP) {
        if ((mask & SPICTRL_FRAP_SW_MASK) && !locked(c, now))
            c->frap = merge(c->frap, v, mask & SPICTRL_FRAP_SW_MASK);
    } /* BFPREG, FREGn and unused offsets are read-only */
}

static void spictrl_mmio_write(void *opaque, uint64_t offset, uint64_t value, unsigned size,
                               simtime_t now)
{
    struct spictrl *c = opaque;
    if ((size != 1 && size != 2 && size != 4) || (offset % size) != 0)
        return;
    unsigned shift = 8 * (unsigned)(offset & 3);
    uint32_t mask = (size == 4 ? 0xFFFFFFFFu : (1u << (8 * size)) - 1) << shift;
    ctrl_sync(c, now);
    reg_write(c, offset & ~3ull, (uint32_t)value << shift, mask, now);
}

static const struct mmio_ops spictrl_mmio = {.read = spictrl_mmio_read,
                                             .write = spictrl_mmio_write};

const struct mmio_ops *spictrl_mmio_ops(void)
{
    return &spictrl_mmio;
}

/* ---- configuration ---------------------------------------------------------------------- */

int spictrl_set_pr(struct spictrl *c, unsigned idx, uint32_t base, uint32_t limit, bool rpe,
                   bool wpe, char *err, size_t errlen)
{
    uint32_t size = spiflash_size(c->flash);
    if (idx >= SPICTRL_NPR) {
        snprintf(err, errlen, "PR%u: no such protected range (PR0-PR%d)", idx, SPICTRL_NPR - 1);
        return -1;
    }
    if ((base & 0xFFF) || (limit & 0xFFF) != 0xFFF) {
        snprintf(err, errlen, "PR%u: base 0x%x must be 4 KiB aligned and limit 0x%x end in FFF",
                 idx, base, limit);
        return -1;
    }
    if (base > limit || limit >= size) {
        snprintf(err, errlen, "PR%u: range 0x%x-0x%x is empty or beyond the %u-byte flash", idx,
                 base, limit, size);
        return -1;
    }
    if (locked(c, evq_now(c->env.q))) {
        snprintf(err, errlen, "PR%u: locked (HSFS.FLOCKDN is set until reset)", idx);
        return -1;
    }
    c->pr[idx] =
        base >> 12 | (limit >> 12) << 16 | (rpe ? SPICTRL_PR_RPE : 0) | (wpe ? SPICTRL_PR_WPE : 0);
    return 0;
}

void spictrl_lock(struct spictrl *c, simtime_t now)
{
    ctrl_sync(c, now);
    c->hsfs |= SPICTRL_HSFS_FLOCKDN;
}

void spictrl_set_read_mode(struct spictrl *c, uint8_t opcode, double hz)
{
    assert(opcode == SPIFLASH_READ || opcode == SPIFLASH_FAST_READ ||
           opcode == SPIFLASH_QUAD_IO_READ);
    c->read_op = opcode;
    if (hz > 0)
        spiflash_set_clock(c->flash, hz);
}

void spictrl_reset(struct spictrl *c, simtime_t now)
{
    (void)now;
    c->smi_pending = false;
    evq_cancel(c->env.q, c->smi_ev);
    c->smi_ev = 0;
    c->hsfs = c->hsfc = 0;
    c->faddr = c->frap = 0;
    memset(c->fdata, 0, sizeof c->fdata);
    memset(c->pr, 0, sizeof c->pr);
    c->bios_cntl = 0;
    c->cyc_pending = false;
    spictrl_load_descriptor(c);
}

/* ---- direct paths ------------------------------------------------------------------------ */

int spictrl_hwseq(struct spictrl *c, enum spictrl_fcycle cyc, uint32_t addr, void *buf,
                  unsigned len, bool in_smm, simtime_t now, simtime_t *done)
{
    assert(buf && done);
    ctrl_sync(c, now);
    if (c->cyc_pending) { /* firmware waits for SCIP to clear */
        now = c->cyc_end;
        ctrl_sync(c, now);
    }
    c->hsfs &= (uint16_t)~HSFS_W1C;
    if (len < 1 || len > SPICTRL_FDATA_BYTES) {
        spictrl_record(c, SPICTRL_DENY_LENGTH, -1, addr, now);
        c->hsfs |= SPICTRL_HSFS_FCERR;
        *done = now;
        return -1;
    }
    c->faddr = addr & SPICTRL_FADDR_MASK;
    if (spictrl_cycle_kind(cyc) == K_WRITE || spictrl_cycle_kind(cyc) == K_STATUS_W)
        memcpy(c->fdata, buf, len);
    c->hsfc = (uint16_t)((unsigned)cyc << SPICTRL_HSFC_FCYCLE_SHIFT |
                         (len - 1) << SPICTRL_HSFC_FDBC_SHIFT);
    int rc = spictrl_cycle_start(c, cyc, c->faddr, len, in_smm, now);
    *done = c->cyc_end;
    ctrl_sync(c, c->cyc_end);
    if (rc == 0 && (cyc == SPICTRL_CYC_READ || spictrl_cycle_kind(cyc) == K_OTHER))
        memcpy(buf, c->fdata, len); /* read, SFDP, JEDEC ID, status */
    return rc;
}

simtime_t spictrl_read_image(struct spictrl *c, uint32_t addr, size_t len, void *buf, simtime_t now)
{
    uint8_t *p = buf;
    simtime_t t = now;
    for (size_t off = 0; off < len; off += SPICTRL_FDATA_BYTES) {
        unsigned n = (unsigned)(len - off < SPICTRL_FDATA_BYTES ? len - off : SPICTRL_FDATA_BYTES);
        if (spictrl_hwseq(c, SPICTRL_CYC_READ, addr + (uint32_t)off, p + off, n, c->in_smm, t,
                          &t) != 0) {
            memset(p + off, 0xFF, len - off);
            break;
        }
    }
    return t;
}

/* One 64-byte line of the BIOS window; false (0xFF, AEL) if the CPU may not read it. */
static bool mmap_line(struct spictrl *c, uint32_t la, uint8_t *line, simtime_t *t)
{
    struct access x = {K_READ, la, 64, false};
    int idx;
    enum spictrl_deny d = spictrl_check_access(c, &x, &idx);
    if (d != SPICTRL_OK) {
        memset(line, 0xFF, 64);
        c->hsfs |= SPICTRL_HSFS_AEL;
        spictrl_record(c, d, idx, la, *t);
        return false;
    }
    *t = spictrl_spi_read(c, la, line, 64, *t);
    return true;
}

simtime_t spictrl_mmap_read(struct spictrl *c, uint32_t addr, void *buf, size_t len, simtime_t now)
{
    uint8_t line[64], *p = buf;
    ctrl_sync(c, now);
    simtime_t start = later(now, c->bus_free), t = start;
    if (c->cyc_pending)
        t = start = later(t, c->cyc_end);
    uint64_t end = (uint64_t)addr + len;
    for (uint64_t la = addr & ~63ull; la < end; la += 64) {
        mmap_line(c, (uint32_t)la, line, &t);
        uint64_t from = la > addr ? la : addr, to = la + 64 < end ? la + 64 : end;
        memcpy(p + (from - addr), line + (from - la), (size_t)(to - from));
    }
    c->bus_free = t;
    span(c, start, t, "mmap", addr);
    return t;
}

/* ---- life cycle ------------------------------------------------------------------------- */

struct spictrl *spictrl_create(const struct dev_env *env, struct spiflash *flash, char *err,
                               size_t errlen)
{
    assert(env && env->q && env->cost && flash);
    struct spictrl *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "spi_ctrl: out of memory");
        return NULL;
    }
    c->env = *env;
    c->flash = flash;
    c->read_op = SPIFLASH_READ;
    c->overhead = cost_ps(env->cost, C_SPI_CYCLE_OVH, env->hz);
    c->smi_latency = cost_ps(env->cost, C_SMI_LATENCY, env->hz);
    c->smi_fn = spictrl_smi_default;
    c->last.index = -1;
    deny_text(c->last.text, sizeof c->last.text, SPICTRL_OK, -1);
    spictrl_reset(c, evq_now(env->q));
    return c;
}

void spictrl_destroy(struct spictrl *c)
{
    if (!c)
        return;
    evq_cancel(c->env.q, c->smi_ev);
    free(c);
}

struct spiflash *spictrl_flash(const struct spictrl *c)
{
    return c->flash;
}

const struct spictrl_refusal *spictrl_last_refusal(const struct spictrl *c)
{
    return &c->last;
}

uint64_t spictrl_refusal_count(const struct spictrl *c, enum spictrl_deny why)
{
    assert(why < SPICTRL_DENY_COUNT);
    return c->refusals[why];
}
