/*
 * Internal to the SAS HBA model (models/sas_hba.c: registers, interrupts,
 * control and life cycle; models/sas_cmd.c: the command engine -- SQ
 * fetch, command stages, completion). Users of the model include sas_hba.h.
 */
#ifndef HOPSIM_MODELS_SAS_HBA_INT_H
#define HOPSIM_MODELS_SAS_HBA_INT_H

#include "sas_hba.h"

enum cmd_stage {
    CS_FREE,
    CS_FETCH,      /* SQE DMA read */
    CS_FW,         /* firmware decodes and validates */
    CS_SGL,        /* SG list DMA read */
    CS_DATA_OUT,   /* WRITE: data DMA host -> device */
    CS_MEDIA,      /* disk media operation */
    CS_DATA_IN,    /* READ: data DMA device -> host */
    CS_HELD,       /* completion waiting for CQ space */
    CS_FLUSH_WAIT, /* FLUSH waiting for earlier WRITEs to reach the media */
    CS_POST,       /* CQE DMA write */
};

struct sas_cmd {
    struct sas_hba *h;
    enum cmd_stage stage;
    bool parked; /* waiting for Bus Master Enable to begin `stage` */
    evq_handle ev;
    simtime_t t; /* when the current stage began */
    struct sas_sqe sqe;
    struct sas_sg sg[SAS_MAX_SG];
    uint32_t bytes; /* data transfer size */
    uint8_t *buf;   /* bounce buffer, `bytes` long */
    uint16_t sq_head, status, cq_slot, cq_phase;
    uint64_t seq; /* fetch order */
    struct sas_cmd *next_held;
};

struct sas_hba {
    struct dev_env env;
    struct pci_func *pci;
    struct disk *disk[SAS_HBA_MAX_TARGETS];
    unsigned ntargets;
    /* registers as the driver wrote them */
    uint32_t ctrl, status, isr, imr, err, completed, tgt_sel, qsize;
    uint64_t sq_base, cq_base;
    /* queue state, latched at enable */
    uint32_t size;
    uint64_t sqb, cqb;
    uint32_t sq_head, sq_tail, cq_head, cq_tail;
    uint16_t phase;
    simtime_t avail_at[SAS_HBA_MAX_QUEUE]; /* doorbell time of each SQ slot */
    bool fetching;
    uint64_t fetch_seq;
    unsigned flush_waiting;
    simtime_t fw_free; /* the firmware processor is busy until then */
    struct sas_cmd *held_head, *held_tail;
    bool irq_up;
    const char *irq_name; /* of the latest interrupt raised: "msi" or "intx" */
    /* reply coalescing (SAS_REG_COAL_*): completions whose interrupt is held */
    uint32_t coal_us, coal_depth;
    evq_handle coal_ev; /* the timeout, while completions are held */
    unsigned ncoal;
    simtime_t coal_first;                 /* when the first held CQE landed */
    uint64_t coal_tag[SAS_HBA_MAX_QUEUE]; /* their tags, in posting order */
    struct sas_hba_counters cnt;
    unsigned nfree;
    uint16_t free_stack[SAS_HBA_CONTEXTS];
    struct sas_cmd cmd[SAS_HBA_CONTEXTS];
};

/* ---- small helpers ------------------------------------------------------- */

static inline simtime_t later(simtime_t a, simtime_t b)
{
    return a > b ? a : b;
}

static inline void span(const struct sas_hba *h, uint64_t req, int kind, simtime_t start,
                        simtime_t end, const char *name, int64_t arg)
{
    if (!h->env.tr)
        return;
    struct trace_span s = {
        .req = req,
        .hop = req != HOPSIM_NOREQ ? HOP_H5 : HOP_NONE,
        .kind = (uint16_t)kind,
        .place = h->env.place,
        .start = start,
        .end = end,
        .name = name,
        .arg = arg,
    };
    trace_span(h->env.tr, &s);
}

/* Defined in sas_hba.c. */
simtime_t sas_isr_set(struct sas_hba *h, uint32_t bits, simtime_t now, uint64_t req);
/*
 * A completion (CQE of `tag`) landed at `now`. True when reply coalescing
 * holds its interrupt back: the completion is then reported to the platform
 * (env.irq.complete) when the interrupt it shares is raised.
 */
bool sas_coal_hold(struct sas_hba *h, uint64_t tag, simtime_t now);

/* Defined in sas_cmd.c. */
void sas_abort_all(struct sas_hba *h);
void sas_fatal(struct sas_hba *h, uint32_t err, simtime_t now);
void sas_free_reset(struct sas_hba *h);
void sas_hba_command(void *opaque, uint16_t old_cmd, uint16_t new_cmd);
void sas_kick_fetch(struct sas_hba *h, simtime_t now);
void sas_queues_clear(struct sas_hba *h);
void sas_release_held(struct sas_hba *h, simtime_t now);

#endif
