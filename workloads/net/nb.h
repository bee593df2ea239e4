/*
 * netback's private types, shared by its three parts:
 *   netback.c  arguments, the buffer pool, the xenstore handshake and each
 *              vif's queues (set-up, connect, disconnect);
 *   nb_tx.c    the TX path: frontend -> NIC, per queue (Linux's
 *              xenvif_tx_action under the queue's NAPI poll);
 *   nb_rx.c    the RX path: NIC -> the bridge -> a vif's queue (Linux's
 *              xenvif_start_xmit and xenvif_rx_action).
 * See netback.c for the rules each part follows.
 */
#ifndef NET_NB_H
#define NET_NB_H

#include "guest.h"

#include <xen/io/netif.h>

#include "e1000drv.h"
#include "netdev.h"
#include "netfront.h"
#include "smp.h"

/* Linux's names for io/netif.h's NETIF_RSP_* and its netback limits. */
#ifndef XEN_NETIF_RSP_OKAY
#define XEN_NETIF_RSP_DROPPED NETIF_RSP_DROPPED
#define XEN_NETIF_RSP_ERROR NETIF_RSP_ERROR
#define XEN_NETIF_RSP_OKAY NETIF_RSP_OKAY
#define XEN_NETIF_RSP_NULL NETIF_RSP_NULL
#endif
#define XEN_NETBK_LEGACY_SLOTS_MAX XEN_NETIF_NR_SLOTS_MIN /* 18 */
#define XEN_NETBACK_TX_COPY_LEN 128

#define MAX_VIFS 64
#define NB_MAX_QUEUES 16                          /* multi-queue-max-queues we may offer */
#define TX_SLOTS NET_TX_RING_SIZE                 /* requests of a queue at the NIC at once */
#define MAX_EXTRAS (XEN_NETIF_EXTRA_TYPE_MAX - 1) /* one extra slot per type */
#define MTU_MIN 68
#define MTU_MAX (E1K_MAX_FRAME - HOPSIM_ETH_HLEN) /* 1508: frames of up to 1522 bytes */
#define ITR_MAX 1000000000L
#define MSG_LIMIT 16 /* messages printed per vif about its requests */

enum grant_mode { GM_MAP, GM_COPY };
enum vif_state { VIF_NEW, VIF_CONNECTED, VIF_CLOSING, VIF_CLOSED };

/* A buffer of ours the NIC reads: a frame's header (map) or the whole frame (copy). */
struct nb_buf {
    uint8_t *va;
    uint64_t bus;
};

struct nb_queue;

/* A TX packet taken off a queue's ring and not yet answered. */
struct nb_tx {
    struct nb_queue *q;
    struct nb_buf *buf;
    uint64_t req;      /* the test frame's request id, HOPSIM_NOREQ for other frames */
    void *addr;        /* map mode: the frame's page in the grant window */
    uint64_t page_bus; /* its dev_bus_addr */
    grant_handle_t handle;
    uint16_t id;    /* io/netif.h request id, echoed in the response */
    uint16_t index; /* in q->slot[] */
    uint16_t hlen;  /* bytes of the frame in buf */
    uint8_t nseg;   /* NIC descriptors it holds */
    uint8_t mapped;
};

/*
 * One queue of a vif: its TX and RX rings, their event channel(s) and the
 * worker that serves them -- Linux's struct xenvif_queue. The event
 * channel is bound to one vCPU (EVTCHNOP_bind_vcpu), whose upcall runs the
 * queue's TX work; NIC completions and received frames for it come on the
 * NIC interrupt's vCPU. `lock` orders the two; it is taken before the
 * pool's and the NIC driver's locks, never after.
 */
struct nb_queue {
    struct vif *v;
    unsigned q;   /* queue index */
    unsigned cpu; /* the vCPU its event channel(s) notify */
    spinlock_t lock;
    netif_tx_back_ring_t tx;
    netif_rx_back_ring_t rx;
    void *tx_addr, *rx_addr;
    grant_handle_t tx_handle, rx_handle;
    evtchn_port_t tx_port, rx_port; /* the same port unless split (event-channel-tx/-rx) */
    struct nb_tx slot[TX_SLOTS];
    uint16_t free_slot[TX_SLOTS]; /* stack of free slot[] indices */
    unsigned nfree;
    unsigned inflight; /* at the NIC */
    int unpushed;      /* responses written since the last push */
    int stalled;       /* stopped taking packets for want of a slot, buffer or descriptor */
    uint64_t push_req_tx, push_req_rx; /* first traced request answered on each since the push */
    unsigned long tx_packets, tx_errors, rx_packets, rx_dropped;
};

struct vif {
    enum vif_state state;
    domid_t fe;
    int devid;
    char nodename[128]; /* our backend directory */
    char fepath[128];   /* the frontend's directory */
    uint8_t mac[6];
    volatile int broken; /* fatal error: disconnect from program context */
    unsigned nq;
    struct nb_queue *queues; /* nq, allocated at connect */
    unsigned msgs;
    unsigned long tx_packets, tx_errors, rx_packets, rx_dropped; /* of released queues */
    char per_queue[96]; /* tx+rx packets per queue, for the closing line */
};

/* netback.c */
extern struct vif nb_vifs[MAX_VIFS];
extern int nb_nvifs;
extern struct e1k *nb_nic;
extern enum grant_mode nb_mode;
extern unsigned nb_mtu, nb_bufsz;
extern long nb_fault_after; /* fault on taking the N-th packet (0: never) */

static inline int vif_live(const struct vif *v)
{
    return v->state == VIF_CONNECTED && !v->broken;
}

/* A message about a vif's requests; a frontend that sends garbage does not flood the console. */
void vif_msg(struct vif *v, const char *fmt, ...) __printf(2, 3);
/* Fatal for the vif: stop serving it now; program context disconnects it. */
void vif_broken(struct vif *v, const char *why);
void ring_overflow(struct nb_queue *q, const char *ring, RING_IDX rp, RING_IDX rsp, unsigned size);
/*
 * A buffer and nseg NIC transmit descriptors, taken together (the pool's
 * lock): NULL when either is short. The descriptors are counted here, so
 * the NIC driver never refuses a frame for want of them.
 */
struct nb_buf *pool_take(unsigned nseg);
void pool_give(struct nb_buf *b, unsigned nseg);

/* nb_tx.c */
/* A queue's TX event (upcall context, the vCPU its channel is bound to). */
void nb_tx_event(evtchn_port_t port, void *data);
/* A split RX channel's event: the frontend posted RX buffers. */
void nb_rx_event(evtchn_port_t port, void *data);
/* Take every packet there is room for (q->lock held). */
void tx_process(struct nb_queue *q);
/* Publish both rings' responses and notify (q->lock held). */
void push_responses(struct nb_queue *q);
void note_push_req(struct nb_queue *q, uint64_t req, int rx);

/* nb_rx.c */
/* The NIC's receive callback and per-interrupt hook (its interrupt handler). */
void nb_rx(void *ctx, const void *frame, unsigned len);
void nb_batch(void *ctx);
extern unsigned long nb_rx_unknown, nb_rx_bad;

#endif
