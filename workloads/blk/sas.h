/*
 * Native driver for the hopsim SAS HBA (include/hopsim/sas_hba.h,
 * docs/sas-hba.md). One adapter per domain; the same driver runs under the
 * native block layer (native_blk.c) and under blkback (blkback.c).
 *
 * Use: sas_probe() finds the HBA on PCI bus 0, resets it, sets up the
 * queues and its interrupt (MSI through PHYSDEVOP_map_pirq, INTx as the
 * fallback) and enables it. A command is taken with sas_cmd_alloc(), its
 * fields and SG list (in DMA memory already, c->sg) filled by the caller,
 * then queued with sas_cmd_submit(); sas_kick() rings the doorbell once
 * for everything queued since the last kick. Completions are handled in
 * the interrupt handler (upcall context): each command's done() runs
 * there, then the batch hook, once per interrupt, so a layer above can
 * push responses and queue more work before its own kick.
 *
 * The tag is the caller's: the global request id. Tags must be unique
 * among commands in flight (a duplicate is refused). Status codes given to
 * done(): SAS_ST_* from the device, or SAS_ST_ABORTED when the device
 * failed (fatal error) before completing the command.
 *
 * Every call is safe from any vCPU and against the interrupt handler (one
 * spinlock, taken with event delivery off); done() runs without it, so
 * it may submit. Nothing here blocks.
 */
#ifndef BLK_SAS_H
#define BLK_SAS_H

#include <stdint.h>

#include <hopsim/sas_hba.h>

#define SAS_ST_ABORTED 0x100 /* driver status: the device failed; the command did not complete */
#define SAS_DRV_MAX_SLOTS 255
#define SAS_DRV_MAX_TARGETS 8
#define SAS_DEFAULT_QSIZE 256

struct sas_hba;
struct sas_cmd;

typedef void (*sas_done_fn)(struct sas_cmd *c, int status);
typedef void (*sas_batch_fn)(void *arg);

struct sas_cmd {
    /* the caller fills these between sas_cmd_alloc() and sas_cmd_submit() */
    uint64_t tag;
    uint64_t lba;     /* in device blocks */
    uint32_t nblocks; /* device blocks; 0 for FLUSH */
    uint16_t nsg;     /* entries of sg[] used; 0 for FLUSH */
    uint8_t opcode;   /* enum sas_opcode */
    uint8_t target;
    sas_done_fn done;
    void *arg;
    uint8_t done_hop;  /* the hop its completion handling is (HOP_H6 in a backend, HOP_H8 in a
                          native kernel), marked as the driver takes it; 0: no mark */
    struct sas_sg *sg; /* this slot's SG list, SAS_MAX_SG entries, in DMA memory */
    /* the driver's */
    uint64_t sgl_bus;
    int16_t slot;
    uint8_t in_flight;
};

struct sas_target_info {
    uint64_t blocks;
    uint32_t blksz;
    uint32_t type; /* enum sas_target_type */
};

/*
 * Probe, reset, queues of qsize entries (a power of two, clamped to what
 * the HBA allows), interrupt, enable. *out on success; 0 or -XEN_ENODEV
 * (no HBA visible), -XEN_ENOMEM, -XEN_EIO (the HBA refused), or the
 * interrupt set-up's error.
 */
int sas_probe(unsigned qsize, struct sas_hba **out);
unsigned sas_ntargets(const struct sas_hba *h);
/* NULL when there is no such target (or it reports no capacity). */
const struct sas_target_info *sas_target(const struct sas_hba *h, unsigned t);

/* A free command slot, or NULL when all are in use. */
struct sas_cmd *sas_cmd_alloc(struct sas_hba *h);
/* Give back a slot that was never submitted. */
void sas_cmd_free(struct sas_hba *h, struct sas_cmd *c);
/* Queue c (written into the SQ; started at the next kick): 0, -XEN_EEXIST, -XEN_EIO. */
int sas_cmd_submit(struct sas_hba *h, struct sas_cmd *c);
/* Doorbell: one SQ_TAIL write if anything was queued since the last one. */
void sas_kick(struct sas_hba *h);
unsigned sas_free_slots(const struct sas_hba *h);
/* Called at the end of every interrupt, after the completions' done()s. */
void sas_set_batch_hook(struct sas_hba *h, sas_batch_fn fn, void *arg);
/* The event-channel port its completion interrupt arrives on. */
unsigned sas_irq_port(const struct sas_hba *h);
/* Interrupt affinity: the completion interrupt's upcall goes to vCPU cpu (EVTCHNOP_bind_vcpu). */
int sas_irq_affinity(struct sas_hba *h, unsigned cpu);
/*
 * Reply coalescing (SAS_REG_COAL_TIMEOUT / _DEPTH, MPI2 IOC Page 1's
 * CoalescingTimeout and CoalescingDepth): one interrupt per `depth`
 * completions or `us` microseconds after the first one it holds, whichever
 * comes first; us = 0 turns it off. Linux's mpt3sas programs the same pair
 * (_base_update_ioc_page1_inlinewith_perf_mode: 10 us in its latency mode).
 * 0, or -XEN_EINVAL out of range, -XEN_EIO when the HBA did not take it.
 */
int sas_set_coalescing(struct sas_hba *h, unsigned us, unsigned depth);
/* Disable the HBA, release the interrupt. Nothing may be in flight. */
void sas_shutdown(struct sas_hba *h);

const char *sas_status_name(int status);

static inline void sas_sg_set(struct sas_sg *sg, uint64_t addr, uint32_t len)
{
    sg->addr = addr;
    sg->len = len;
}

#endif
