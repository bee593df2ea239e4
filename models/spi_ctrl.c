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
#include "spi_ctrl.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FDATA_END (SPICTRL_FDATA0 + SPICTRL_FDATA_BYTES)
#define FREG_LAST 0x80 /* FREG11 */
#define PR_END (SPICTRL_PR0 + 4 * SPICTRL_NPR)
#define FREG_UNUSED 0x00007FFFu
#define HSFS_W1C (SPICTRL_HSFS_FDONE | SPICTRL_HSFS_FCERR | SPICTRL_HSFS_AEL)
#define HSFC_RW (SPICTRL_HSFC_FCYCLE_MASK | SPICTRL_HSFC_FDBC_MASK | SPICTRL_HSFC_FSMIE)
#define BIOS_CNTL_ONCE (SPICTRL_BLE | SPICTRL_SMM_BWP | SPICTRL_BILD)
#define BIOS_CNTL_BITS (SPICTRL_BIOSWE | BIOS_CNTL_ONCE)
/* descriptor section bases (FLMAP0/1 fields are address bits 11:4) */
#define FD_FCBA 0x30
#define FD_FRBA 0x40
#define FD_FMBA 0x60
#define FD_FPSBA 0x100

enum op_kind { K_READ, K_WRITE, K_ERASE, K_STATUS_W, K_OTHER };

struct spictrl {
    struct dev_env env;
    struct spiflash *flash;
    uint8_t read_op;
    simtime_t overhead, smi_latency;
    /* registers */
    uint16_t hsfs; /* FDONE, FCERR, AEL, WRSDIS, FDV, FLOCKDN (SCIP is computed) */
    uint16_t hsfc; /* FCYCLE, FDBC, FSMIE (FGO is computed) */
    uint32_t faddr;
    uint8_t fdata[SPICTRL_FDATA_BYTES];
    uint32_t frap;
    uint32_t freg[SPICTRL_NREGIONS];
    uint32_t pr[SPICTRL_NPR];
    uint8_t bios_cntl;
    bool in_smm;
    struct spictrl_layout lay; /* parsed descriptor (valid if FDV) */
    /* the cycle in flight */
    bool cyc_pending;
    simtime_t cyc_end;
    uint16_t cyc_result; /* HSFS bits set at its end */
    unsigned cyc_nread;  /* bytes copied into FDATA at its end */
    uint8_t cyc_data[SPICTRL_FDATA_BYTES];
    simtime_t bus_free;
    /* SMI */
    spictrl_smi_fn smi_fn;
    void *smi_opaque;
    bool smi_pending;
    simtime_t smi_at;
    evq_handle smi_ev;
    uint64_t smi_count;
    struct spictrl_refusal last;
    uint64_t refusals[SPICTRL_DENY_COUNT];
};

static const char *const region_names[SPICTRL_NREGIONS] = {"Descriptor", "BIOS", "ME", "GbE",
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

/* ---- small helpers --------------------------------------------------------- */

static simtime_t later(simtime_t a, simtime_t b)
{
    return a > b ? a : b;
}

static void span(const struct spictrl *c, simtime_t start, simtime_t end, const char *name,
                 uint32_t addr)
{
    if (!c->env.tr)
        return;
    struct trace_span s = {
        .req = HOPSIM_NOREQ,
        .hop = HOP_NONE,
        .kind = SPAN_FLASH,
        .place = c->env.place,
        .start = start,
        .end = end,
        .name = name,
        .arg = addr,
    };
    trace_span(c->env.tr, &s);
}

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
        snprintf(buf, len, "FRAP %s region not readable", region_names[index]);
        break;
    case SPICTRL_DENY_FRAP_WRITE:
        snprintf(buf, len, "FRAP %s region read-only", region_names[index]);
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
static void record(struct spictrl *c, enum spictrl_deny why, int index, uint32_t addr,
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
    record(c, SPICTRL_DENY_FLOCKDN, -1, 0, now);
    return true;
}

/* ---- the descriptor ------------------------------------------------------------ */

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t span_reg(const struct spictrl_span *s)
{
    if (!s->present)
        return FREG_UNUSED;
    return (s->base >> 12) | (s->limit >> 12) << 16;
}

static struct spictrl_span reg_span(uint32_t r)
{
    struct spictrl_span s = {.base = SPICTRL_RANGE_BASE(r), .limit = SPICTRL_RANGE_LIMIT(r)};
    s.present = (r & 0x7FFF) <= ((r >> 16) & 0x7FFF);
    return s;
}

void spictrl_default_layout(struct spictrl_layout *l, uint32_t flash_size)
{
    assert(flash_size >= (512u << 10));
    memset(l, 0, sizeof *l);
    l->flash_size = flash_size;
    l->region[SPICTRL_REGION_DESC] = (struct spictrl_span){true, 0, 0xFFF};
    l->region[SPICTRL_REGION_GBE] = (struct spictrl_span){true, 0x1000, 0x2FFF};
    l->region[SPICTRL_REGION_ME] = (struct spictrl_span){true, 0x3000, flash_size / 2 - 1};
    l->region[SPICTRL_REGION_BIOS] = (struct spictrl_span){true, flash_size / 2, flash_size - 1};
    l->cpu_read = 1u << SPICTRL_REGION_DESC | 1u << SPICTRL_REGION_BIOS | 1u << SPICTRL_REGION_GBE;
    l->cpu_write = 1u << SPICTRL_REGION_BIOS | 1u << SPICTRL_REGION_GBE;
    l->me_read = 1u << SPICTRL_REGION_DESC | 1u << SPICTRL_REGION_ME | 1u << SPICTRL_REGION_GBE;
    l->me_write = 1u << SPICTRL_REGION_ME | 1u << SPICTRL_REGION_GBE;
    l->gbe_read = l->gbe_write = 1u << SPICTRL_REGION_GBE;
}

static int span_check(const struct spictrl_layout *l, int i, char *err, size_t errlen)
{
    const struct spictrl_span *s = &l->region[i];
    if (!s->present)
        return 0;
    if ((s->base & 0xFFF) || (s->limit & 0xFFF) != 0xFFF || s->base > s->limit) {
        snprintf(err, errlen,
                 "descriptor: %s region 0x%x-0x%x: base must be 4 KiB aligned, "
                 "limit end in FFF, base <= limit",
                 region_names[i], s->base, s->limit);
        return -1;
    }
    if (s->limit >= l->flash_size) {
        snprintf(err, errlen, "descriptor: %s region 0x%x-0x%x beyond the %u-byte flash",
                 region_names[i], s->base, s->limit, l->flash_size);
        return -1;
    }
    for (int j = 0; j < i; j++) {
        const struct spictrl_span *o = &l->region[j];
        if (o->present && s->base <= o->limit && o->base <= s->limit) {
            snprintf(err, errlen, "descriptor: %s region overlaps the %s region", region_names[i],
                     region_names[j]);
            return -1;
        }
    }
    return 0;
}

static int layout_check(const struct spictrl_layout *l, char *err, size_t errlen)
{
    uint32_t sz = l->flash_size;
    if (sz < (512u << 10) || (sz & (sz - 1)) || sz > (64u << 20)) {
        snprintf(err, errlen, "descriptor: flash size %u is not a power of two in 512 KiB..64 MiB",
                 sz);
        return -1;
    }
    const struct spictrl_span *d = &l->region[SPICTRL_REGION_DESC];
    if (!d->present || d->base != 0) {
        snprintf(err, errlen, "descriptor: the Descriptor region must start at 0");
        return -1;
    }
    for (int i = 0; i < SPICTRL_NREGIONS; i++)
        if (span_check(l, i, err, errlen) != 0)
            return -1;
    return 0;
}

/* FLCOMP component 1 density: 0 = 512 KiB … 5 = 16 MiB, 6 = 32 MiB, 7 = 64 MiB. */
static uint32_t density_code(uint32_t size)
{
    uint32_t code = 0;
    while ((512u * 1024 << code) < size && code < 7)
        code++;
    return code;
}

int spictrl_build_descriptor(uint8_t *buf, size_t len, const struct spictrl_layout *l, char *err,
                             size_t errlen)
{
    if (len < SPICTRL_FD_SIZE) {
        snprintf(err, errlen, "descriptor: buffer of %zu bytes, need %d", len, SPICTRL_FD_SIZE);
        return -1;
    }
    if (layout_check(l, err, errlen) != 0)
        return -1;
    memset(buf, 0xFF, SPICTRL_FD_SIZE);
    put32(buf + SPICTRL_FD_SIG_OFFSET, SPICTRL_FD_SIG);
    /* FLMAP0: FCBA, NC = 0 (one component), FRBA, NR */
    put32(buf + 0x14, FD_FCBA >> 4 | (FD_FRBA >> 4) << 16 | (uint32_t)(SPICTRL_NREGIONS - 1) << 24);
    /* FLMAP1: FMBA, NM = 2 (three masters), FPSBA, ISL = 0 */
    put32(buf + 0x18, FD_FMBA >> 4 | 2u << 8 | (FD_FPSBA >> 4) << 16);
    put32(buf + 0x1C, 0);
    put32(buf + FD_FCBA, density_code(l->flash_size)); /* FLCOMP; clocks 20 MHz codes */
    put32(buf + FD_FCBA + 4, 0);                       /* FLILL: no invalid instructions */
    for (int i = 0; i < SPICTRL_NREGIONS; i++)
        put32(buf + FD_FRBA + 4 * i, span_reg(&l->region[i]));
    put32(buf + FD_FMBA, (uint32_t)l->cpu_read << 16 | (uint32_t)l->cpu_write << 24);
    put32(buf + FD_FMBA + 4, (uint32_t)l->me_read << 16 | (uint32_t)l->me_write << 24);
    put32(buf + FD_FMBA + 8, (uint32_t)l->gbe_read << 16 | (uint32_t)l->gbe_write << 24);
    return 0;
}

int spictrl_parse_descriptor(const uint8_t *buf, size_t len, struct spictrl_layout *l)
{
    if (len < SPICTRL_FD_SIZE || get32(buf + SPICTRL_FD_SIG_OFFSET) != SPICTRL_FD_SIG)
        return -1;
    uint32_t flmap0 = get32(buf + 0x14), flmap1 = get32(buf + 0x18);
    uint32_t fcba = (flmap0 & 0xFF) << 4, frba = ((flmap0 >> 16) & 0xFF) << 4;
    uint32_t fmba = (flmap1 & 0xFF) << 4;
    if (fcba + 4 > SPICTRL_FD_SIZE || frba + 4 * SPICTRL_NREGIONS > SPICTRL_FD_SIZE ||
        fmba + 12 > SPICTRL_FD_SIZE)
        return -1;
    memset(l, 0, sizeof *l);
    l->flash_size = 512u * 1024 << (get32(buf + fcba) & 7);
    for (int i = 0; i < SPICTRL_NREGIONS; i++)
        l->region[i] = reg_span(get32(buf + frba + 4 * i));
    uint32_t m1 = get32(buf + fmba), m2 = get32(buf + fmba + 4), m3 = get32(buf + fmba + 8);
    l->cpu_read = (uint8_t)(m1 >> 16), l->cpu_write = (uint8_t)(m1 >> 24);
    l->me_read = (uint8_t)(m2 >> 16), l->me_write = (uint8_t)(m2 >> 24);
    l->gbe_read = (uint8_t)(m3 >> 16), l->gbe_write = (uint8_t)(m3 >> 24);
    return 0;
}

/* Read the descriptor from the chip: FREG0-4, FRAP BRRA/BRWA, FDV. */
static void load_descriptor(struct spictrl *c)
{
    uint8_t fd[SPICTRL_FD_SIZE];
    bool ok = spiflash_size(c->flash) >= SPICTRL_FD_SIZE;
    if (ok) {
        spiflash_peek(c->flash, 0, fd, sizeof fd);
        ok = spictrl_parse_descriptor(fd, sizeof fd, &c->lay) == 0;
    }
    c->hsfs &= (uint16_t)~SPICTRL_HSFS_FDV;
    c->frap &= SPICTRL_FRAP_SW_MASK;
    for (int i = 0; i < SPICTRL_NREGIONS; i++)
        c->freg[i] = ok ? span_reg(&c->lay.region[i]) : FREG_UNUSED;
    if (!ok) {
        memset(&c->lay, 0, sizeof c->lay);
        return;
    }
    c->hsfs |= SPICTRL_HSFS_FDV;
    c->frap |= c->lay.cpu_read | (uint32_t)c->lay.cpu_write << 8;
}

/* ---- protection checks ----------------------------------------------------------- */

struct access {
    enum op_kind kind;
    uint32_t addr, len; /* flash bytes touched (reads, writes, erases) */
    bool in_smm;
};

static bool overlaps(uint32_t a, uint32_t len, uint32_t base, uint32_t limit)
{
    return a <= limit && base <= a + len - 1;
}

/* Region containing `a`, or -1. */
static int region_at(const struct spictrl *c, uint32_t a)
{
    for (int i = 0; i < SPICTRL_NREGIONS; i++) {
        const struct spictrl_span *s = &c->lay.region[i];
        if (s->present && a >= s->base && a <= s->limit)
            return i;
    }
    return -1;
}

/* FRAP grants over every region the access touches. */
static enum spictrl_deny check_regions(const struct spictrl *c, const struct access *x, int *idx)
{
    uint32_t grant = x->kind == K_READ ? SPICTRL_FRAP_BRRA(c->frap) : SPICTRL_FRAP_BRWA(c->frap);
    uint64_t a = x->addr, end = (uint64_t)x->addr + x->len;
    while (a < end) {
        int r = region_at(c, (uint32_t)a);
        if (r < 0)
            return SPICTRL_DENY_NO_REGION;
        if (!(grant & (1u << r))) {
            *idx = r;
            return x->kind == K_READ ? SPICTRL_DENY_FRAP_READ : SPICTRL_DENY_FRAP_WRITE;
        }
        a = (uint64_t)c->lay.region[r].limit + 1;
    }
    return SPICTRL_OK;
}

static bool touches_bios(const struct spictrl *c, const struct access *x)
{
    const struct spictrl_span *b = &c->lay.region[SPICTRL_REGION_BIOS];
    if (!(c->hsfs & SPICTRL_HSFS_FDV))
        return true; /* no descriptor: the whole flash is BIOS */
    return b->present && overlaps(x->addr, x->len, b->base, b->limit);
}

static enum spictrl_deny check_pr(const struct spictrl *c, const struct access *x, int *idx)
{
    uint32_t en = x->kind == K_READ ? SPICTRL_PR_RPE : SPICTRL_PR_WPE;
    for (int i = 0; i < SPICTRL_NPR; i++) {
        uint32_t r = c->pr[i];
        if ((r & en) && overlaps(x->addr, x->len, SPICTRL_RANGE_BASE(r), SPICTRL_RANGE_LIMIT(r))) {
            *idx = i;
            return SPICTRL_DENY_PR;
        }
    }
    return SPICTRL_OK;
}

/* The checks of docs/spi-flash.md, in order; *idx gets the region or PR number. */
static enum spictrl_deny check_access(const struct spictrl *c, const struct access *x, int *idx)
{
    enum spictrl_deny d;
    bool mem = x->kind == K_READ || x->kind == K_WRITE || x->kind == K_ERASE;
    bool wr = x->kind == K_WRITE || x->kind == K_ERASE;
    *idx = -1;
    if (mem && (uint64_t)x->addr + x->len > spiflash_size(c->flash))
        return SPICTRL_DENY_RANGE;
    if (mem && (c->hsfs & SPICTRL_HSFS_FDV) && (d = check_regions(c, x, idx)) != SPICTRL_OK)
        return d;
    if (wr && !(c->bios_cntl & SPICTRL_BIOSWE))
        return SPICTRL_DENY_BIOSWE;
    if (wr && (c->bios_cntl & SPICTRL_SMM_BWP) && !x->in_smm && touches_bios(c, x))
        return SPICTRL_DENY_SMM_BWP;
    if (mem && (d = check_pr(c, x, idx)) != SPICTRL_OK)
        return d;
    if (x->kind == K_STATUS_W && (c->hsfs & SPICTRL_HSFS_WRSDIS))
        return SPICTRL_DENY_WRSDIS;
    return SPICTRL_OK;
}

/* ---- SPI transactions ----------------------------------------------------------- */

static size_t addr_frame(uint8_t *fr, uint8_t op, uint32_t a, size_t extra)
{
    fr[0] = op;
    fr[1] = (uint8_t)(a >> 16);
    fr[2] = (uint8_t)(a >> 8);
    fr[3] = (uint8_t)a;
    memset(fr + 4, 0xFF, extra); /* mode / dummy bytes */
    return 4 + extra;
}

static size_t read_header(uint8_t op)
{
    return op == SPIFLASH_READ ? 0 : op == SPIFLASH_FAST_READ ? 1 : 3;
}

static simtime_t spi_read(struct spictrl *c, uint32_t a, uint8_t *buf, size_t len, simtime_t t)
{
    uint8_t fr[8];
    size_t n = addr_frame(fr, c->read_op, a, read_header(c->read_op));
    return spiflash_transaction(c->flash, fr, n, buf, len, t);
}

static simtime_t spi_cmd(struct spictrl *c, uint8_t op, simtime_t t)
{
    return spiflash_transaction(c->flash, &op, 1, NULL, 0, t);
}

/* Poll status register 1 until BUSY clears; returns the end of the last poll. */
static simtime_t wait_ready(struct spictrl *c, simtime_t t)
{
    uint8_t op = SPIFLASH_RDSR1, sr;
    for (;;) {
        simtime_t end = spiflash_transaction(c->flash, &op, 1, &sr, 1, t);
        simtime_t until = spiflash_busy_until(c->flash);
        if (!(sr & SPIFLASH_SR1_BUSY) || until == SIMTIME_NEVER)
            return end;
        t = later(end, until); /* the polls in between see BUSY and change nothing */
    }
}

static simtime_t spi_write(struct spictrl *c, uint32_t a, const uint8_t *data, size_t len,
                           simtime_t t)
{
    uint8_t fr[4 + SPICTRL_FDATA_BYTES];
    while (len > 0) {
        size_t chunk = SPIFLASH_PAGE - (a % SPIFLASH_PAGE);
        chunk = chunk < len ? chunk : len;
        size_t n = addr_frame(fr, SPIFLASH_PP, a, 0);
        memcpy(fr + n, data, chunk);
        t = spi_cmd(c, SPIFLASH_WREN, t);
        t = spiflash_transaction(c->flash, fr, n + chunk, NULL, 0, t);
        t = wait_ready(c, t);
        a += (uint32_t)chunk;
        data += chunk;
        len -= chunk;
    }
    return t;
}

static simtime_t spi_erase(struct spictrl *c, uint8_t op, uint32_t a, simtime_t t)
{
    uint8_t fr[4];
    size_t n = addr_frame(fr, op, a, 0);
    t = spi_cmd(c, SPIFLASH_WREN, t);
    t = spiflash_transaction(c->flash, fr, n, NULL, 0, t);
    return wait_ready(c, t);
}

static simtime_t spi_write_status(struct spictrl *c, const uint8_t *data, size_t len, simtime_t t)
{
    uint8_t fr[3] = {SPIFLASH_WRSR1, data[0], len > 1 ? data[1] : 0};
    t = spi_cmd(c, SPIFLASH_WREN, t);
    t = spiflash_transaction(c->flash, fr, len > 1 ? 3 : 2, NULL, 0, t);
    return wait_ready(c, t);
}

/* ---- cycles ------------------------------------------------------------------------ */

static enum op_kind cycle_kind(unsigned cyc)
{
    switch (cyc) {
    case SPICTRL_CYC_READ:
        return K_READ;
    case SPICTRL_CYC_WRITE:
        return K_WRITE;
    case SPICTRL_CYC_ERASE_4K:
    case SPICTRL_CYC_ERASE_64K:
        return K_ERASE;
    case SPICTRL_CYC_WRITE_STATUS:
        return K_STATUS_W;
    default:
        return K_OTHER;
    }
}

static bool cycle_valid(unsigned cyc)
{
    return cyc == SPICTRL_CYC_READ || (cyc >= SPICTRL_CYC_WRITE && cyc <= SPICTRL_CYC_READ_STATUS);
}

static const char *cycle_name(unsigned cyc)
{
    static const char *const names[] = {"read", "?",     "write", "erase4k", "erase64k",
                                        "sfdp", "jedec", "wrsr",  "rdsr"};
    return cyc < sizeof names / sizeof names[0] ? names[cyc] : "?";
}

static struct access cycle_access(unsigned cyc, uint32_t addr, unsigned len, bool in_smm)
{
    struct access x = {cycle_kind(cyc), addr, len, in_smm};
    if (cyc == SPICTRL_CYC_ERASE_4K || cyc == SPICTRL_CYC_ERASE_64K) {
        x.len = cyc == SPICTRL_CYC_ERASE_4K ? SPIFLASH_SECTOR : SPIFLASH_BLOCK64;
        x.addr = addr & ~(x.len - 1);
    }
    return x;
}

static uint64_t chip_ignored(const struct spiflash *f)
{
    const struct spiflash_stats *s = spiflash_stats(f);
    return s->ignored_busy + s->ignored_suspended + s->ignored_wel + s->ignored_protected +
           s->ignored_srp + s->ignored_other;
}

/* The SPI work of an allowed cycle from `t`; read data goes to cyc_data. */
static simtime_t cycle_spi(struct spictrl *c, unsigned cyc, uint32_t addr, unsigned len,
                           const uint8_t *wdata, simtime_t t)
{
    uint8_t fr[5];
    switch (cyc) {
    case SPICTRL_CYC_READ:
        c->cyc_nread = len;
        return spi_read(c, addr, c->cyc_data, len, t);
    case SPICTRL_CYC_WRITE:
        return spi_write(c, addr, wdata, len, t);
    case SPICTRL_CYC_ERASE_4K:
        return spi_erase(c, SPIFLASH_SE, addr, t);
    case SPICTRL_CYC_ERASE_64K:
        return spi_erase(c, SPIFLASH_BE64, addr, t);
    case SPICTRL_CYC_READ_SFDP:
        c->cyc_nread = len;
        return spiflash_transaction(c->flash, fr, addr_frame(fr, SPIFLASH_RDSFDP, addr, 1),
                                    c->cyc_data, len, t);
    case SPICTRL_CYC_READ_JEDEC:
    case SPICTRL_CYC_READ_STATUS:
        c->cyc_nread = len;
        fr[0] = cyc == SPICTRL_CYC_READ_JEDEC ? SPIFLASH_RDID : SPIFLASH_RDSR1;
        return spiflash_transaction(c->flash, fr, 1, c->cyc_data, len, t);
    default:
        return spi_write_status(c, wdata, len, t);
    }
}

/*
 * Start cycle `cyc` at `now` (state already synced, no cycle pending):
 * checks, SPI work, and the pending completion. 0 if allowed.
 */
static int cycle_start(struct spictrl *c, unsigned cyc, uint32_t addr, unsigned len, bool in_smm,
                       simtime_t now)
{
    uint8_t wdata[SPICTRL_FDATA_BYTES];
    struct access x = cycle_access(cyc, addr, len, in_smm);
    int idx = (int)cyc;
    enum spictrl_deny d = cycle_valid(cyc) ? check_access(c, &x, &idx) : SPICTRL_DENY_FCYCLE;
    simtime_t start = later(now, c->bus_free);
    c->cyc_pending = true;
    c->cyc_nread = 0;
    if (d != SPICTRL_OK) {
        c->cyc_end = start + c->overhead;
        c->cyc_result = SPICTRL_HSFS_FDONE | SPICTRL_HSFS_FCERR;
        record(c, d, idx, addr, now);
        span(c, start, c->cyc_end, "refused", addr);
        return -1;
    }
    memcpy(wdata, c->fdata, sizeof wdata);
    uint64_t ignored = chip_ignored(c->flash);
    c->cyc_end = cycle_spi(c, cyc, x.addr, len, wdata, start + c->overhead);
    c->cyc_result = SPICTRL_HSFS_FDONE;
    c->bus_free = c->cyc_end;
    record(c, chip_ignored(c->flash) != ignored ? SPICTRL_DENY_CHIP : SPICTRL_OK, -1, addr, now);
    span(c, start, c->cyc_end, cycle_name(cyc), addr);
    return 0;
}

static void cycle_finish(struct spictrl *c)
{
    c->cyc_pending = false;
    c->hsfs |= c->cyc_result;
    memcpy(c->fdata, c->cyc_data, c->cyc_nread);
}

/* FGO written: the cycle HSFC and FADDR describe. */
static void start_from_regs(struct spictrl *c, simtime_t now)
{
    unsigned cyc = (c->hsfc & SPICTRL_HSFC_FCYCLE_MASK) >> SPICTRL_HSFC_FCYCLE_SHIFT;
    unsigned len = ((c->hsfc & SPICTRL_HSFC_FDBC_MASK) >> SPICTRL_HSFC_FDBC_SHIFT) + 1;
    cycle_start(c, cyc, c->faddr & SPICTRL_FADDR_MASK, len, c->in_smm, now);
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
        cycle_finish(c);
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
        return get32(c->fdata + (off - SPICTRL_FDATA0));
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
    record(c, SPICTRL_DENY_BUSY, -1, c->faddr, now);
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
        start_from_regs(c, now);
}

static void reg_write(struct spictrl *c, uint64_t off, uint32_t v, uint32_t mask, simtime_t now)
{
    if (off >= SPICTRL_FDATA0 && off < FDATA_END) {
        if (cycle_busy(c, now))
            return;
        uint8_t *p = c->fdata + (off - SPICTRL_FDATA0);
        put32(p, merge(get32(p), v, mask));
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
    load_descriptor(c);
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
        record(c, SPICTRL_DENY_LENGTH, -1, addr, now);
        c->hsfs |= SPICTRL_HSFS_FCERR;
        *done = now;
        return -1;
    }
    c->faddr = addr & SPICTRL_FADDR_MASK;
    if (cycle_kind(cyc) == K_WRITE || cycle_kind(cyc) == K_STATUS_W)
        memcpy(c->fdata, buf, len);
    c->hsfc = (uint16_t)((unsigned)cyc << SPICTRL_HSFC_FCYCLE_SHIFT |
                         (len - 1) << SPICTRL_HSFC_FDBC_SHIFT);
    int rc = cycle_start(c, cyc, c->faddr, len, in_smm, now);
    *done = c->cyc_end;
    ctrl_sync(c, c->cyc_end);
    if (rc == 0 && (cyc == SPICTRL_CYC_READ || cycle_kind(cyc) == K_OTHER))
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
    enum spictrl_deny d = check_access(c, &x, &idx);
    if (d != SPICTRL_OK) {
        memset(line, 0xFF, 64);
        c->hsfs |= SPICTRL_HSFS_AEL;
        record(c, d, idx, la, *t);
        return false;
    }
    *t = spi_read(c, la, line, 64, *t);
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
