/*
 * The SPI controller's hardware-sequencing cycles (models/spi_ctrl.h): the
 * protection checks a cycle passes at its start and the SPI transactions
 * it issues on the chip. Their order, timing and the assumptions behind
 * them are described at the top of models/spi_ctrl.c.
 */
#include "spi_ctrl_int.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- protection checks ----------------------------------------------------------- */

bool spictrl_overlaps(uint32_t a, uint32_t len, uint32_t base, uint32_t limit)
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
    return b->present && spictrl_overlaps(x->addr, x->len, b->base, b->limit);
}

static enum spictrl_deny check_pr(const struct spictrl *c, const struct access *x, int *idx)
{
    uint32_t en = x->kind == K_READ ? SPICTRL_PR_RPE : SPICTRL_PR_WPE;
    for (int i = 0; i < SPICTRL_NPR; i++) {
        uint32_t r = c->pr[i];
        if ((r & en) &&
            spictrl_overlaps(x->addr, x->len, SPICTRL_RANGE_BASE(r), SPICTRL_RANGE_LIMIT(r))) {
            *idx = i;
            return SPICTRL_DENY_PR;
        }
    }
    return SPICTRL_OK;
}

/* The checks of docs/spi-flash.md, in order; *idx gets the region or PR number. */
enum spictrl_deny spictrl_check_access(const struct spictrl *c, const struct access *x, int *idx)
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

simtime_t spictrl_spi_read(struct spictrl *c, uint32_t a, uint8_t *buf, size_t len, simtime_t t)
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

enum op_kind spictrl_cycle_kind(unsigned cyc)
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
    struct access x = {spictrl_cycle_kind(cyc), addr, len, in_smm};
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
        return spictrl_spi_read(c, addr, c->cyc_data, len, t);
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
int spictrl_cycle_start(struct spictrl *c, unsigned cyc, uint32_t addr, unsigned len, bool in_smm,
                        simtime_t now)
{
    uint8_t wdata[SPICTRL_FDATA_BYTES];
    struct access x = cycle_access(cyc, addr, len, in_smm);
    int idx = (int)cyc;
    enum spictrl_deny d =
        cycle_valid(cyc) ? spictrl_check_access(c, &x, &idx) : SPICTRL_DENY_FCYCLE;
    simtime_t start = later(now, c->bus_free);
    c->cyc_pending = true;
    c->cyc_nread = 0;
    if (d != SPICTRL_OK) {
        c->cyc_end = start + c->overhead;
        c->cyc_result = SPICTRL_HSFS_FDONE | SPICTRL_HSFS_FCERR;
        spictrl_record(c, d, idx, addr, now);
        span(c, start, c->cyc_end, "refused", addr);
        return -1;
    }
    memcpy(wdata, c->fdata, sizeof wdata);
    uint64_t ignored = chip_ignored(c->flash);
    c->cyc_end = cycle_spi(c, cyc, x.addr, len, wdata, start + c->overhead);
    c->cyc_result = SPICTRL_HSFS_FDONE;
    c->bus_free = c->cyc_end;
    spictrl_record(c, chip_ignored(c->flash) != ignored ? SPICTRL_DENY_CHIP : SPICTRL_OK, -1, addr,
                   now);
    span(c, start, c->cyc_end, cycle_name(cyc), addr);
    return 0;
}

void spictrl_cycle_finish(struct spictrl *c)
{
    c->cyc_pending = false;
    c->hsfs |= c->cyc_result;
    memcpy(c->fdata, c->cyc_data, c->cyc_nread);
}

/* FGO written: the cycle HSFC and FADDR describe. */
void spictrl_start_from_regs(struct spictrl *c, simtime_t now)
{
    unsigned cyc = (c->hsfc & SPICTRL_HSFC_FCYCLE_MASK) >> SPICTRL_HSFC_FCYCLE_SHIFT;
    unsigned len = ((c->hsfc & SPICTRL_HSFC_FDBC_MASK) >> SPICTRL_HSFC_FDBC_SHIFT) + 1;
    spictrl_cycle_start(c, cyc, c->faddr & SPICTRL_FADDR_MASK, len, c->in_smm, now);
}
