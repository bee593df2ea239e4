/*
 * The flash descriptor of the SPI controller model (models/spi_ctrl.h):
 * the default layout, building and parsing the descriptor (FLMAP, FRBA
 * region registers, FCBA density), and loading it into the controller at
 * reset (FDV).
 */
#include "spi_ctrl_int.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

/* ---- the descriptor ------------------------------------------------------------ */

uint32_t spictrl_get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

void spictrl_put32(uint8_t *p, uint32_t v)
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
                 spictrl_region_names[i], s->base, s->limit);
        return -1;
    }
    if (s->limit >= l->flash_size) {
        snprintf(err, errlen, "descriptor: %s region 0x%x-0x%x beyond the %u-byte flash",
                 spictrl_region_names[i], s->base, s->limit, l->flash_size);
        return -1;
    }
    for (int j = 0; j < i; j++) {
        const struct spictrl_span *o = &l->region[j];
        if (o->present && s->base <= o->limit && o->base <= s->limit) {
            snprintf(err, errlen, "descriptor: %s region overlaps the %s region",
                     spictrl_region_names[i], spictrl_region_names[j]);
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
    spictrl_put32(buf + SPICTRL_FD_SIG_OFFSET, SPICTRL_FD_SIG);
    /* FLMAP0: FCBA, NC = 0 (one component), FRBA, NR */
    spictrl_put32(buf + 0x14,
                  FD_FCBA >> 4 | (FD_FRBA >> 4) << 16 | (uint32_t)(SPICTRL_NREGIONS - 1) << 24);
    /* FLMAP1: FMBA, NM = 2 (three masters), FPSBA, ISL = 0 */
    spictrl_put32(buf + 0x18, FD_FMBA >> 4 | 2u << 8 | (FD_FPSBA >> 4) << 16);
    spictrl_put32(buf + 0x1C, 0);
    spictrl_put32(buf + FD_FCBA, density_code(l->flash_size)); /* FLCOMP; clocks 20 MHz codes */
    spictrl_put32(buf + FD_FCBA + 4, 0);                       /* FLILL: no invalid instructions */
    for (int i = 0; i < SPICTRL_NREGIONS; i++)
        spictrl_put32(buf + FD_FRBA + 4 * i, span_reg(&l->region[i]));
    spictrl_put32(buf + FD_FMBA, (uint32_t)l->cpu_read << 16 | (uint32_t)l->cpu_write << 24);
    spictrl_put32(buf + FD_FMBA + 4, (uint32_t)l->me_read << 16 | (uint32_t)l->me_write << 24);
    spictrl_put32(buf + FD_FMBA + 8, (uint32_t)l->gbe_read << 16 | (uint32_t)l->gbe_write << 24);
    return 0;
}

int spictrl_parse_descriptor(const uint8_t *buf, size_t len, struct spictrl_layout *l)
{
    if (len < SPICTRL_FD_SIZE || spictrl_get32(buf + SPICTRL_FD_SIG_OFFSET) != SPICTRL_FD_SIG)
        return -1;
    uint32_t flmap0 = spictrl_get32(buf + 0x14), flmap1 = spictrl_get32(buf + 0x18);
    uint32_t fcba = (flmap0 & 0xFF) << 4, frba = ((flmap0 >> 16) & 0xFF) << 4;
    uint32_t fmba = (flmap1 & 0xFF) << 4;
    if (fcba + 4 > SPICTRL_FD_SIZE || frba + 4 * SPICTRL_NREGIONS > SPICTRL_FD_SIZE ||
        fmba + 12 > SPICTRL_FD_SIZE)
        return -1;
    memset(l, 0, sizeof *l);
    l->flash_size = 512u * 1024 << (spictrl_get32(buf + fcba) & 7);
    for (int i = 0; i < SPICTRL_NREGIONS; i++)
        l->region[i] = reg_span(spictrl_get32(buf + frba + 4 * i));
    uint32_t m1 = spictrl_get32(buf + fmba), m2 = spictrl_get32(buf + fmba + 4),
             m3 = spictrl_get32(buf + fmba + 8);
    l->cpu_read = (uint8_t)(m1 >> 16), l->cpu_write = (uint8_t)(m1 >> 24);
    l->me_read = (uint8_t)(m2 >> 16), l->me_write = (uint8_t)(m2 >> 24);
    l->gbe_read = (uint8_t)(m3 >> 16), l->gbe_write = (uint8_t)(m3 >> 24);
    return 0;
}

/* Read the descriptor from the chip: FREG0-4, FRAP BRRA/BRWA, FDV. */
void spictrl_load_descriptor(struct spictrl *c)
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
