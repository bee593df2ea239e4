/*
 * blkback's private types, shared by blkback.c (xenstore, a vbd's
 * lifetime), bb_ring.c (rings, requests, completions) and bb_grants.c
 * (getting the frontend's data to and from the device: per-request grant
 * maps, persistent grants, grant copies).
 */
#ifndef BLK_BB_H
#define BLK_BB_H

#include "blkfront.h"
#include "smp.h"

#define MAX_QUEUES SMP_MAX_CPUS /* rings per vbd we accept to offer: one per vCPU at most */
#define MAX_VBDS 128            /* frontends one backend serves (the bench runs 64 domUs) */
#define SEGS BLKIF_MAX_SEGMENTS_PER_REQUEST
#define PG_SLOTS 1024 /* persistent grants per vbd: open addressing, insert-only */
#define PG_MAX 512
#define SECTS_PER_PAGE (PAGE_SIZE / 512)

enum grant_mode { GM_MAP, GM_COPY, GM_PERSISTENT };
enum vbd_state { VBD_NEW, VBD_CONNECTED, VBD_CLOSING, VBD_CLOSED };

struct bb_seg {
    grant_ref_t gref;
    uint8_t first, last;
    uint8_t mapped; /* mapped for this request only: unmap at completion */
    grant_handle_t handle;
    void *addr;   /* our mapping (grant window) */
    uint64_t bus; /* bus address of the segment's first sector */
};

struct bb_req {
    struct bb_ring *r;
    uint64_t id;
    uint64_t sector; /* within the vbd's window */
    uint32_t nsect;
    uint8_t op;
    uint8_t nseg; /* as the frontend gave it (may exceed SEGS: rejected) */
    uint8_t index;
    struct bb_seg seg[SEGS];
    void *bounce[SEGS]; /* copy mode: our pages, allocated on first use, kept */
};

struct pgnt {
    uint64_t key; /* gref + 1; 0 = empty */
    uint64_t bus; /* of the page */
    grant_handle_t handle;
    void *addr;
};

/*
 * One shared ring of a vbd (a queue, in multi-queue terms) and its worker:
 * Linux's struct xen_blkif_ring with its kthread. Its event channel is
 * bound to one vCPU, whose upcall takes the requests; completions come on
 * the HBA interrupt's vCPU. `lock` orders the two (Linux's blk_ring_lock
 * and free_pages_lock); it is taken before the HBA's lock, never after.
 */
struct bb_ring {
    struct vbd *v;
    unsigned q;   /* queue index */
    unsigned cpu; /* the vCPU its event channel notifies */
    spinlock_t lock;
    blkif_back_ring_t ring;
    void *ring_addr;
    grant_handle_t ring_handle;
    evtchn_port_t port;
    struct pgnt *pg; /* PG_SLOTS entries when persistent: Linux keeps them per ring too */
    unsigned npg;
    struct bb_req req[BLKIF_RING_SIZE];
    uint32_t free_mask; /* free entries of req[] */
    unsigned inflight;  /* at the HBA */
    int unpushed;       /* responses written since the last push */
    int stalled;        /* stopped taking requests for want of a slot */
    int attn;           /* on the attention list (blkback.c), under attn_lock */
    int draining;       /* the interrupt's vCPU is visiting it from a taken list */
    unsigned long served, failed;
};

struct vbd {
    enum vbd_state state;
    domid_t fe;
    int devid;
    char nodename[128]; /* our backend directory */
    char fepath[128];   /* the frontend's directory */
    uint64_t start, sectors;
    int persistent;
    volatile int broken; /* ring overflow: disconnect from program context */
    unsigned nrings;
    struct bb_ring *rings; /* nrings, allocated at connect */
    unsigned long served, failed;
    char per_queue[96]; /* requests served by each ring, for the closing line */
};

/* grants=... for every vbd */
extern enum grant_mode bb_mode;
/* store=...: the HBA's disk, or a RAM disk in our memory (bb_brd.c) */
enum bb_store { STORE_HBA, STORE_BRD };
extern enum bb_store bb_store;

/* blkback.c: the HBA and the disk every vbd is served from, and the fault-injection arguments
 * (set once at init) */
extern struct sas_hba *bb_hba;
extern const struct sas_target_info *bb_disk;
extern uint8_t bb_target, bb_blk_shift;
extern long bb_fault_after, bb_rogue_after, bb_compromise_after, bb_victim_sector;
/* The first connected frontend other than `fe` (the compromise probe's victim), or
 * DOMID_INVALID. */
domid_t bb_other_frontend(domid_t fe);

/* bb_ring.c: the data path */
/* Connected and not broken: its rings take requests and write responses. */
int vbd_live(const struct vbd *v);
/* A ring's event (its worker, upcall context on the vCPU the ring is bound to). */
void ring_event(evtchn_port_t port, void *data);
/* The HBA's batch hook: after each interrupt, push responses and resume stalled rings. */
void bb_batch(void *arg);
/* r is going away (release()): off the attention list. */
void ring_forget(struct bb_ring *r);

/* bb_grants.c */
/* Make the data reachable by the device: 0, or -1 (the request fails, nothing mapped). */
int grants_get(struct bb_ring *r, struct bb_req *p);
/* Undo this request's own mappings (not the persistent ones). */
void unmap_segs(struct vbd *v, struct bb_req *p);
/* copy mode: GNTTABOP_copy between the frontend's segments and our bounce pages. */
int copy_segs(struct vbd *v, struct bb_req *p, int to_frontend);
/* Unmap every persistent grant of a ring and free its table. */
void pg_release(struct bb_ring *r);
void bounce_release(struct bb_req *p);

/* bb_brd.c: store=brd */
int brd_init(void);
/* Serve p from the RAM disk at once (its grants are reachable): the response's status. */
int16_t brd_serve(struct vbd *v, struct bb_req *p);

#endif
