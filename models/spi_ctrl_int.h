/*
 * Internal to the SPI controller model (models/spi_ctrl.c: registers,
 * BIOS_CNTL and SMI, configuration, life cycle; models/spi_cycle.c: the
 * protection checks and the hardware-sequencing cycles with their SPI
 * transactions; models/spi_desc.c: the flash descriptor). Users of the
 * model include spi_ctrl.h.
 */
#ifndef HOPSIM_MODELS_SPI_CTRL_INT_H
#define HOPSIM_MODELS_SPI_CTRL_INT_H

#include "spi_ctrl.h"

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

/* A cycle's access as the protection checks see it. */
struct access {
    enum op_kind kind;
    uint32_t addr, len; /* flash bytes touched (reads, writes, erases) */
    bool in_smm;
};

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

/* ---- small helpers --------------------------------------------------------- */

static inline simtime_t later(simtime_t a, simtime_t b)
{
    return a > b ? a : b;
}

static inline void span(const struct spictrl *c, simtime_t start, simtime_t end, const char *name,
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

/* Defined in spi_ctrl.c. */
extern const char *const spictrl_region_names[SPICTRL_NREGIONS];
void spictrl_record(struct spictrl *c, enum spictrl_deny why, int index, uint32_t addr,
                    simtime_t when);

/* Defined in spi_cycle.c. */
enum spictrl_deny spictrl_check_access(const struct spictrl *c, const struct access *x, int *idx);
void spictrl_cycle_finish(struct spictrl *c);
enum op_kind spictrl_cycle_kind(unsigned cyc);
int spictrl_cycle_start(struct spictrl *c, unsigned cyc, uint32_t addr, unsigned len, bool in_smm,
                        simtime_t now);
bool spictrl_overlaps(uint32_t a, uint32_t len, uint32_t base, uint32_t limit);
simtime_t spictrl_spi_read(struct spictrl *c, uint32_t a, uint8_t *buf, size_t len, simtime_t t);
void spictrl_start_from_regs(struct spictrl *c, simtime_t now);

/* Defined in spi_desc.c. */
uint32_t spictrl_get32(const uint8_t *p);
void spictrl_load_descriptor(struct spictrl *c);
void spictrl_put32(uint8_t *p, uint32_t v);

#endif
