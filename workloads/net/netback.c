/*
 * netback: the Xen network backend (io/netif.h) over the native e1000
 * driver, in the backend domain that owns the NIC (xen-dom0's dom0, or
 * the uefi-rt runtime service): a software bridge between the vifs of
 * this domain and the wire, like Linux's xen-netback with a bridge.
 *
 * Arguments (start_info cmd_line):
 *   grants=map|copy     how TX data reaches the NIC.
 *                       map (Linux's way): grant-copy the first up-to-128
 *                       bytes (XEN_NETBACK_TX_COPY_LEN) into a header
 *                       buffer of ours and grant-map the frame's page
 *                       (GNTMAP_host_map | GNTMAP_device_map |
 *                       GNTMAP_readonly) so the NIC reads the rest from
 *                       the frontend's page: two descriptors (one for a
 *                       frame of <= 128 bytes); unmapped at completion.
 *                       copy: grant-copy the whole frame into a buffer of
 *                       ours: one descriptor. (grants=persistent, a blkback
 *                       mode, means map here: io/netif.h has no persistent
 *                       grants.)
 *   nic_ring=N          NIC descriptors per ring, 8..4096, multiple of 8 (256)
 *   itr_ns=N            NIC interrupt throttling interval, 0 = off (0)
 *   mtu=N               payload bytes after the Ethernet header, 68..1508 (1500;
 *                       1508: the NIC's 1522-byte frame limit)
 *   max_queues=N        multi-queue-max-queues we offer, 1..16 (default: our
 *                       vCPUs, as Linux's xenvif_max_queues = online CPUs)
 *   fault_after=N       fault on taking the N-th packet (IDD restart scenarios;
 *                       shared with blkback, whose requests it counts there)
 *   split_evtchn=0|1    offer feature-split-event-channels (Linux's
 *                       separate_tx_rx_irq, on by default there; 0 here, so
 *                       a queue's two rings share one channel unless asked)
 * A domain without the NIC has no network backend (netback_init returns 1
 * and ignores the arguments).
 *
 * Handshake, per vif (the toolstack wrote /local/domain/<self>/backend/
 * vif/<fe>/<devid> with frontend, frontend-id, mac, handle, online=1,
 * state=1): read "mac" (our copy, xx:xx:xx:xx:xx:xx: the address the
 * bridge delivers to), write feature-rx-copy = 1, feature-rx-flip = 0,
 * feature-sg = 0, feature-gso-tcpv4 = 0, multi-queue-max-queues,
 * feature-split-event-channels (if split_evtchn=1), then InitWait. When
 * the frontend is Connected (netfront goes Initialising -> Connected;
 * Initialised is accepted too) -- Linux's connect(): read
 * multi-queue-num-queues (1 when absent: a frontend that does not know
 * multi-queue gets one queue; 0 or more than we offered is refused, "guest
 * requested N queues, exceeding the maximum of M") and request-rx-copy
 * (must be 1: we never flip pages); then per queue (connect_data_rings)
 * tx-ring-ref, rx-ring-ref and event-channel-tx + event-channel-rx, or
 * event-channel when the frontend did not split them -- from its own
 * directory for one queue, from queue-N/ for several; map both rings,
 * bind the channel(s) and bind them to the next vCPU in turn
 * (EVTCHNOP_bind_vcpu), Connected. The frontend's Closing or Closed -> we
 * disconnect (wait for the NIC to finish this vif's transmits, unmap
 * everything) and go Closing; its Closed -> Closed, with the vif's
 * counters printed (per queue too). At most MAX_VIFS (64) vifs: one more
 * is refused visibly (an "error" node, Closed), as blkback refuses a vbd.
 *
 * Queues and vCPUs (nb.h, struct nb_queue): each queue is a worker of its
 * own, Linux's struct xenvif_queue with its NAPI instance: its TX work
 * runs in the upcall of the vCPU its event channel is bound to; the
 * queues of all vifs are dealt over the vCPUs round robin from vCPU 1, so
 * vCPU 0 keeps xenstore and the NIC interrupt (nb_tx.c). A queue's lock
 * serialises its worker, the NIC's completions and the frames received
 * for it (nb_rx.c), which run on the NIC interrupt's vCPU; the buffer
 * pool and the NIC driver have their own locks, always taken after a
 * queue's.
 *
 * TX, frontend -> wire (a queue's event handler, nb_tx.c): consume every
 * packet there is room for, ring the NIC's doorbell once, then
 * RING_FINAL_CHECK_FOR_REQUESTS. Each slot is copied out of the shared
 * ring field by field, once, before it is checked. Rules (Linux's
 * xenvif_tx_build_gops / xenvif_count_requests):
 *   size 14..mtu + 14 and offset + size <= PAGE_SIZE, the grant copied (and
 *   mapped) -> else XEN_NETIF_RSP_ERROR, and nothing reaches the NIC;
 *   NETTXF_extra_info (no GSO or multicast control was negotiated): the
 *   packet gets XEN_NETIF_RSP_ERROR and each extra slot (followed while
 *   XEN_NETIF_EXTRA_FLAG_MORE, at most one per type) XEN_NETIF_RSP_NULL;
 *   NETTXF_more_data (a fragment chain; feature-sg = 0 was advertised):
 *   a chain still open at req_prod is left on the ring until more is
 *   pushed; a complete chain of <= XEN_NETBK_LEGACY_SLOTS_MAX (18) slots
 *   gets XEN_NETIF_RSP_ERROR for its first slot and XEN_NETIF_RSP_NULL for
 *   the others (we do no scatter-gather);
 *   fatal, the vif is disconnected (Linux's xenvif_fatal_tx_err): a chain
 *   of more than 18 slots, more extra slots than types, or a req_prod more
 *   than RING_SIZE ahead of our responses (RING_REQUEST_PROD_OVERFLOW).
 *   A broken vif's ports are masked at once, later requests are ignored, and
 *   program context disconnects it (backend_wake); other vifs go on.
 * A packet is taken off the ring only when the NIC has the descriptors it
 * needs, a buffer of ours and a request slot of its queue are free;
 * otherwise the queue stalls and is resumed after the next NIC interrupt,
 * vifs in round-robin order. The TX response (XEN_NETIF_RSP_OKAY,
 * or XEN_NETIF_RSP_DROPPED if the NIC failed it) is written when the NIC
 * has sent the frame -- the frontend's page stays granted until then, and
 * in copy mode too a transmit's hops include the device.
 *
 * RX, wire -> frontend (the NIC's receive callback, in its interrupt
 * handler, nb_rx.c): bridge on the destination MAC: broadcast / multicast
 * (bit 0 of the first byte) to every connected vif, a vif's MAC to that
 * vif, anything else dropped (counted as an unknown destination); within a
 * vif, to the queue the frame's flow hashes to. Per target
 * queue: no RX request posted -> the frame is dropped for that vif
 * (rx_dropped; a flood into a vif that never posts buffers hurts that vif
 * only); an RX ring overflow breaks the vif as above. Otherwise the
 * request (id, gref copied once) is consumed and the frame grant-copied
 * (GNTTABOP_copy, our NIC buffer -> GNTCOPY_dest_gref at offset 0) into
 * it; the response is {id, offset 0, NETRXF_data_validated, status = len,
 * or XEN_NETIF_RSP_ERROR if the copy failed}. Frames are never forwarded
 * from one vif to another: every TX frame goes to the wire.
 *
 * Responses of both rings are pushed with RING_PUSH_RESPONSES_AND_CHECK_
 * NOTIFY once per NIC interrupt per queue (and once per frontend event),
 * one evtchn_send for both rings when either needs it (each ring's own on
 * split channels).
 *
 * Counters per queue, summed per vif: tx packets (sent), tx errors (packets answered with
 * anything but OKAY), rx packets (delivered), rx dropped (no RX request
 * posted, or the copy failed); printed when the vif closes. The bridge
 * counts frames to unknown destinations and malformed ones (netback_fini).
 *
 * Memory ordering (io/ring.h, x86 TSO): req_prod is read before the
 * requests (read barrier); responses are written before the push's write
 * barrier publishes rsp_prod, whose full barrier orders it before the
 * rsp_event read. RING_FINAL_CHECK_FOR_REQUESTS writes req_event, then a
 * full barrier, then re-reads req_prod; waiting for the rest of a packet
 * does the same with req_event just past the last slot pushed.
 *
 * Hops (test frames carry their request id in the tag, hopsim/netpkt.h):
 * TX: H4 once the header is copied and the tag read (the hypervisor moved
 * the request H2 -> H3 on the notify), the NIC marks H5, H6 at the TX
 * response -- only if the transmit ends the request
 * (netdev_tx_ends_request: a frame that waits for a reply keeps its
 * request at the device). RX: H6 at the response (the NIC marked H5).
 * The push's notify moves H6 -> H7; a push that needs no notify skips it.
 * The header is copied before the size rules are checked whenever the
 * copy stays within the frontend's page and our buffer, so a malformed
 * test frame is traced H4 .. H6 too, like blkback's rejected requests.
 */
#include "netback.h"

#include "../back/backend.h"
#include "dma.h"
#include "nb.h"

_Static_assert(XEN_NETBK_LEGACY_SLOTS_MAX == 18, "messages say 18");
_Static_assert(E1K_MAX_FRAME <= PAGE_SIZE / 2, "a copied frame fits half a page");

struct vif nb_vifs[MAX_VIFS];
int nb_nvifs;
struct e1k *nb_nic;
enum grant_mode nb_mode;
unsigned nb_mtu, nb_bufsz;
long nb_fault_after;
static unsigned nic_ring;
static unsigned max_queues; /* multi-queue-max-queues we offer */
static int split_evtchn;    /* feature-split-event-channels we offer */
static unsigned next_cpu;   /* the vCPU the next queue is bound to (round robin) */
static char base[96];       /* /local/domain/<self>/backend/vif */

/*
 * Buffer pool: nic_ring buffers (no more frames than descriptors are in
 * flight) and the NIC's transmit descriptors, counted together under one
 * lock: every queue takes from them.
 */
static spinlock_t pool_lock;
static struct nb_buf *bufs;
static struct nb_buf **buf_free;
static unsigned nbufs, nbuf_free, desc_free;

void vif_msg(struct vif *v, const char *fmt, ...)
{
    if (v->msgs > MSG_LIMIT)
        return;
    if (v->msgs++ == MSG_LIMIT) {
        printf("netback: dom%u vif %d: further messages suppressed\n", v->fe, v->devid);
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    printf("netback: dom%u vif %d: ", v->fe, v->devid);
    vprintf(fmt, ap);
    va_end(ap);
}

void vif_broken(struct vif *v, const char *why)
{
    printf("netback: dom%u vif %d: %s: disconnecting\n", v->fe, v->devid, why);
    v->broken = 1;
    for (unsigned i = 0; i < v->nq; i++) {
        evtchn_mask(v->queues[i].tx_port);
        if (v->queues[i].rx_port != v->queues[i].tx_port)
            evtchn_mask(v->queues[i].rx_port);
    }
    backend_kick();
}

void ring_overflow(struct nb_queue *q, const char *ring, RING_IDX rp, RING_IDX rsp, unsigned size)
{
    char why[128];
    snprintf(why, sizeof(why), "queue %u: %s req_prod %u is %u ahead of our responses (ring of %u)",
             q->q, ring, rp, rp - rsp, size);
    vif_broken(q->v, why);
}

struct nb_buf *pool_take(unsigned nseg)
{
    struct nb_buf *b = NULL;
    int f = spin_lock_irqsave(&pool_lock);
    if (nbuf_free && desc_free >= nseg) {
        b = buf_free[--nbuf_free];
        desc_free -= nseg;
    }
    spin_unlock_irqrestore(&pool_lock, f);
    return b;
}

void pool_give(struct nb_buf *b, unsigned nseg)
{
    int f = spin_lock_irqsave(&pool_lock);
    buf_free[nbuf_free++] = b;
    desc_free += nseg;
    spin_unlock_irqrestore(&pool_lock, f);
}

/* ---- xenstore, program context ---- */

static int write_key(const struct vif *v, const char *key, unsigned long long val)
{
    char path[192];
    snprintf(path, sizeof(path), "%s/%s", v->nodename, key);
    return xs_printf(XBT_NIL, path, "%llu", val);
}

static int advertise(const struct vif *v)
{
    int rc = write_key(v, "feature-rx-copy", 1);
    rc = rc ? rc : write_key(v, "feature-rx-flip", 0);
    rc = rc ? rc : write_key(v, "feature-sg", 0);
    rc = rc ? rc : write_key(v, "feature-gso-tcpv4", 0);
    rc = rc ? rc : write_key(v, "multi-queue-max-queues", max_queues);
    if (split_evtchn)
        rc = rc ? rc : write_key(v, "feature-split-event-channels", 1);
    return rc ? rc : xenbus_switch_state(v->nodename, XenbusStateInitWait);
}

static int map_rings(struct nb_queue *q, long txref, long rxref)
{
    struct vif *v = q->v;
    int txst = GNTST_okay, rxst = GNTST_okay, f = irq_save();
    q->tx_addr = gnttab_map(v->fe, (grant_ref_t)txref, 0, &q->tx_handle, &txst);
    q->rx_addr = gnttab_map(v->fe, (grant_ref_t)rxref, 0, &q->rx_handle, &rxst);
    irq_restore(f);
    if (!q->tx_addr || !q->rx_addr) { /* release() unmaps the one that worked */
        printf("netback: dom%u vif %d queue %u: map of tx-ring-ref %ld / rx-ring-ref %ld failed: "
               "%d/%d\n",
               v->fe, v->devid, q->q, txref, rxref, txst, rxst);
        return -1;
    }
    BACK_RING_INIT(&q->tx, (netif_tx_sring_t *)q->tx_addr, PAGE_SIZE);
    BACK_RING_INIT(&q->rx, (netif_rx_sring_t *)q->rx_addr, PAGE_SIZE);
    return 0;
}

static int bind_port(struct nb_queue *q, long remote, evtchn_port_t *port)
{
    struct vif *v = q->v;
    int rc = evtchn_bind_interdomain(v->fe, (evtchn_port_t)remote, port);
    if (rc) {
        *port = 0;
        printf("netback: dom%u vif %d queue %u: bind_interdomain(port %ld) failed: %d\n", v->fe,
               v->devid, q->q, remote, rc);
        return -1;
    }
    rc = evtchn_bind_vcpu(*port, q->cpu);
    if (rc) {
        printf("netback: dom%u vif %d queue %u: bind_vcpu(port %u, vCPU %u) failed: %d\n", v->fe,
               v->devid, q->q, *port, q->cpu, rc);
        return -1;
    }
    return 0;
}

/*
 * One queue from the frontend's keys in dir (its own directory for one
 * queue, queue-N for each of several, as Linux's connect_data_rings): the
 * two rings, then event-channel-tx / -rx, or event-channel for both.
 */
static int connect_queue(struct nb_queue *q, const char *dir)
{
    struct vif *v = q->v;
    long txref = xs_read_long(dir, "tx-ring-ref", -1);
    long rxref = xs_read_long(dir, "rx-ring-ref", -1);
    long txev = xs_read_long(dir, "event-channel-tx", -1);
    long rxev = xs_read_long(dir, "event-channel-rx", -1);
    int split = txev >= 0 && rxev >= 0;
    if (!split)
        txev = rxev = xs_read_long(dir, "event-channel", -1);
    if (txref < 0 || rxref < 0 || txev < 0) {
        printf("netback: dom%u vif %d: %s: tx-ring-ref / rx-ring-ref / event-channel(-tx/-rx) "
               "unusable\n",
               v->fe, v->devid, dir);
        return -1;
    }
    for (unsigned i = 0; i < TX_SLOTS; i++) {
        q->slot[i].q = q;
        q->slot[i].index = (uint16_t)i;
        q->free_slot[i] = (uint16_t)(TX_SLOTS - 1 - i);
    }
    q->nfree = TX_SLOTS;
    q->push_req_tx = q->push_req_rx = HOPSIM_NOREQ;
    if (map_rings(q, txref, rxref))
        return -1;
    q->cpu = next_cpu;
    next_cpu = (next_cpu + 1) % smp_ncpus;
    if (bind_port(q, txev, &q->tx_port))
        return -1; /* disconnect() unmaps the rings */
    if (!split) {
        q->rx_port = q->tx_port;
        return 0;
    }
    return bind_port(q, rxev, &q->rx_port);
}

static size_t queues_pages(unsigned n)
{
    return (n * sizeof(struct nb_queue) + PAGE_SIZE - 1) / PAGE_SIZE;
}

static int connect(struct vif *v)
{
    long nq = xs_read_long(v->fepath, "multi-queue-num-queues", 1);
    if (nq < 1 || nq > (long)max_queues) {
        printf("netback: dom%u vif %d: guest requested %ld queues, exceeding the maximum of %u\n",
               v->fe, v->devid, nq, max_queues);
        return -1;
    }
    if (xs_read_long(v->fepath, "request-rx-copy", 0) != 1) {
        printf("netback: dom%u vif %d: frontend does not set request-rx-copy = 1 (page flipping "
               "is not supported)\n",
               v->fe, v->devid);
        return -1;
    }
    v->queues = page_zalloc(queues_pages((unsigned)nq));
    if (!v->queues) {
        printf("netback: dom%u vif %d: no memory for %ld queues\n", v->fe, v->devid, nq);
        return -1;
    }
    v->nq = (unsigned)nq;
    v->broken = 0;
    v->per_queue[0] = 0;
    char cpus[64] = "";
    for (unsigned i = 0; i < v->nq; i++) {
        struct nb_queue *q = &v->queues[i];
        q->v = v;
        q->q = i;
        char dir[160];
        if (v->nq == 1)
            snprintf(dir, sizeof(dir), "%s", v->fepath);
        else
            snprintf(dir, sizeof(dir), "%s/queue-%u", v->fepath, i);
        if (connect_queue(q, dir))
            return -1;
        size_t n = strlen(cpus);
        snprintf(cpus + n, sizeof(cpus) - n, "%s%u", i ? "," : "", q->cpu);
    }
    int f = irq_save();
    v->state = VIF_CONNECTED;
    irq_restore(f);
    for (unsigned i = 0; i < v->nq; i++) {
        struct nb_queue *q = &v->queues[i];
        evtchn_attach(q->tx_port, nb_tx_event, q);
        if (q->rx_port != q->tx_port)
            evtchn_attach(q->rx_port, nb_rx_event, q);
    }
    int split = v->queues[0].rx_port != v->queues[0].tx_port;
    const char *ev = split ? "event-channel-tx,event-channel-rx" : "event-channel";
    if (v->nq == 1)
        printf("netback: dom%u vif %d: one queue: {tx-ring-ref,rx-ring-ref,%s}\n", v->fe, v->devid,
               ev);
    else
        printf("netback: dom%u vif %d: multi-queue-num-queues=%u of %u: queue-0..queue-%u/"
               "{tx-ring-ref,rx-ring-ref,%s}\n",
               v->fe, v->devid, v->nq, max_queues, v->nq - 1, ev);
    printf("netback: dom%u vif %d connected: mac %02x:%02x:%02x:%02x:%02x:%02x, grants %s, %u "
           "queue%s on vCPU %s\n",
           v->fe, v->devid, v->mac[0], v->mac[1], v->mac[2], v->mac[3], v->mac[4], v->mac[5],
           nb_mode == GM_COPY ? "copy" : "map", v->nq, v->nq == 1 ? "" : "s", cpus);
    return xenbus_switch_state(v->nodename, XenbusStateConnected);
}

/* Unbind and unmap every queue, sum its counters. Nothing of the vif is at the NIC. */
static void release(struct vif *v)
{
    for (unsigned i = 0; v->queues && i < v->nq; i++) {
        struct nb_queue *q = &v->queues[i];
        if (q->rx_port && q->rx_port != q->tx_port)
            evtchn_unbind(q->rx_port);
        if (q->tx_port)
            evtchn_unbind(q->tx_port);
        q->tx_port = q->rx_port = 0;
        int f = irq_save();
        if (q->tx_addr && gnttab_unmap(q->tx_addr, q->tx_handle))
            printf("netback: dom%u vif %d queue %u: tx ring unmap failed\n", v->fe, v->devid, i);
        if (q->rx_addr && gnttab_unmap(q->rx_addr, q->rx_handle))
            printf("netback: dom%u vif %d queue %u: rx ring unmap failed\n", v->fe, v->devid, i);
        q->tx_addr = q->rx_addr = NULL;
        irq_restore(f);
        v->tx_packets += q->tx_packets;
        v->tx_errors += q->tx_errors;
        v->rx_packets += q->rx_packets;
        v->rx_dropped += q->rx_dropped;
        size_t n = strlen(v->per_queue);
        snprintf(v->per_queue + n, sizeof(v->per_queue) - n, "%s%lu", i ? "," : "",
                 q->tx_packets + q->rx_packets);
    }
    if (v->queues)
        page_free(v->queues, queues_pages(v->nq));
    v->queues = NULL;
    v->nq = 0;
}

static int idle(const struct vif *v)
{
    for (unsigned i = 0; i < v->nq; i++)
        if (READ_ONCE(v->queues[i].inflight))
            return 0;
    return 1;
}

/* Stop serving, let the NIC finish this vif's transmits, unmap everything, Closing. */
static void disconnect(struct vif *v)
{
    if (v->state == VIF_CONNECTED) {
        for (unsigned i = 0; i < v->nq; i++) {
            struct nb_queue *q = &v->queues[i];
            int f = spin_lock_irqsave(&q->lock);
            v->state = VIF_CLOSING; /* completions from now on write no response; rx skips it */
            spin_unlock_irqrestore(&q->lock, f);
            /* a handler another vCPU entered before the detach finishes before release()
               unmaps the rings it reads (Linux: free_irq -> synchronize_irq) */
            evtchn_detach_sync(q->tx_port);
            if (q->rx_port != q->tx_port)
                evtchn_detach_sync(q->rx_port);
        }
        WAIT_UNTIL(idle(v));
    }
    release(v);
    v->state = VIF_CLOSING;
    xenbus_switch_state(v->nodename, XenbusStateClosing);
}

static void step(struct vif *v)
{
    int fe = xenbus_read_state(v->fepath);
    if (fe == XenbusStateUnknown)
        fe = XenbusStateClosed; /* frontend gone */
    if (v->state == VIF_NEW && (fe == XenbusStateInitialised || fe == XenbusStateConnected) &&
        connect(v))
        disconnect(v);
    if ((v->state == VIF_NEW || v->state == VIF_CONNECTED) &&
        (fe == XenbusStateClosing || fe == XenbusStateClosed || v->broken))
        disconnect(v);
    if (v->state == VIF_CLOSING && fe == XenbusStateClosed) {
        xenbus_switch_state(v->nodename, XenbusStateClosed);
        v->state = VIF_CLOSED;
        printf("netback: dom%u vif %d closed: tx %lu packets, %lu errors; rx %lu packets, %lu "
               "dropped; per queue %s\n",
               v->fe, v->devid, v->tx_packets, v->tx_errors, v->rx_packets, v->rx_dropped,
               v->per_queue[0] ? v->per_queue : "-");
    }
}

static struct vif *find_vif(long fe, long devid)
{
    for (int i = 0; i < nb_nvifs; i++)
        if (nb_vifs[i].fe == fe && nb_vifs[i].devid == devid)
            return &nb_vifs[i];
    return NULL;
}

static void add_vif(const char *dir, long fe, long devid)
{
    if (find_vif(fe, devid))
        return;
    if (nb_nvifs == MAX_VIFS) {
        char node[160], why[48];
        snprintf(node, sizeof(node), "%s/%ld/%ld", dir, fe, devid);
        snprintf(why, sizeof(why), "too many vifs (max %d)", MAX_VIFS);
        xenbus_backend_refuse(node, "netback", why);
        return;
    }
    struct vif *v = &nb_vifs[nb_nvifs];
    v->state = VIF_NEW; /* the rest of nb_vifs[] is zero (bss) or set at connect */
    v->fe = (domid_t)fe;
    v->devid = (int)devid;
    snprintf(v->nodename, sizeof(v->nodename), "%s/%ld/%ld", dir, fe, devid);
    char path[192], mac[32];
    if (xenbus_backend_frontend(v->nodename, fe, v->fepath, sizeof(v->fepath)))
        return; /* not complete yet: a later scan picks it up */
    snprintf(path, sizeof(path), "%s/mac", v->nodename);
    int n = xs_read(XBT_NIL, path, mac, sizeof(mac));
    if (n == -XEN_ENOENT)
        return; /* not written yet */
    nb_nvifs++;
    snprintf(path, sizeof(path), "%s/state", v->fepath);
    xs_watch(path, "fe");
    if (n < 0 || mac_parse(mac, v->mac) || (v->mac[0] & 1)) {
        printf("netback: dom%u vif %d: mac '%s' is not a unicast xx:xx:xx:xx:xx:xx\n", v->fe,
               v->devid, n >= 0 ? mac : "?");
        v->state = VIF_CLOSING;
        xenbus_switch_state(v->nodename, XenbusStateClosing);
    } else if (advertise(v)) {
        v->state = VIF_CLOSING;
        xenbus_switch_state(v->nodename, XenbusStateClosing);
    }
}

static void scan_one(const char *dir, long fe, long devid, void *ctx)
{
    (void)ctx;
    add_vif(dir, fe, devid);
}

/* ---- set-up ---- */

ARG_ENUM(grants, "map|copy|persistent", "how the backend reaches the frontend's pages");
ARG_INT_STEP(nic_ring, 8, E1K_MAX_RING, 8, "e1000 descriptors per ring");
ARG_INT(itr_ns, 0, ITR_MAX, "interrupt throttling interval (0: off)");
ARG_INT(mtu, MTU_MIN, MTU_MAX, "MTU the backend offers");
ARG_INT(max_queues, 1, NB_MAX_QUEUES,
        "multi-queue-max-queues offered (default: the vCPUs brought up)");
ARG_INT(split_evtchn, 0, 1, "offer feature-split-event-channels (1) or not (0)");
ARG_INT(fault_after, 0, INT64_MAX, "fault on the N-th request (0: never)");

/* The arguments: NULL, or what is wrong (reported only if there is a NIC). */
static const char *parse_args(struct e1k_params *p)
{
    static char why[96];
    const char *g = arg_str("grants", "map");
    long ring = arg_int("nic_ring", E1K_DEFAULT_RING);
    long itr = arg_int("itr_ns", 0);
    long m = arg_int("mtu", 1500);
    long mq = arg_int("max_queues", (long)MIN(smp_ncpus, NB_MAX_QUEUES));
    p->tx_ring = p->rx_ring = E1K_DEFAULT_RING;
    p->itr_ns = 0;
    if (!strcmp(g, "map") || !strcmp(g, "persistent"))
        nb_mode = GM_MAP;
    else if (!strcmp(g, "copy"))
        nb_mode = GM_COPY;
    else
        return "grants: expected map or copy";
    if (ring < 8 || ring > E1K_MAX_RING || ring % 8) {
        snprintf(why, sizeof(why), "nic_ring=%ld: expected 8..%u, a multiple of 8", ring,
                 E1K_MAX_RING);
        return why;
    }
    if (itr < 0 || itr > ITR_MAX) {
        snprintf(why, sizeof(why), "itr_ns=%ld: expected 0..%ld", itr, ITR_MAX);
        return why;
    }
    if (m < MTU_MIN || m > MTU_MAX) {
        snprintf(why, sizeof(why), "mtu=%ld: expected %d..%u", m, MTU_MIN, MTU_MAX);
        return why;
    }
    if (mq < 1 || mq > NB_MAX_QUEUES) {
        snprintf(why, sizeof(why), "max_queues=%ld: expected 1..%d", mq, NB_MAX_QUEUES);
        return why;
    }
    p->tx_ring = p->rx_ring = (unsigned)ring;
    p->itr_ns = (unsigned)itr;
    nb_mtu = (unsigned)m;
    nic_ring = (unsigned)ring;
    max_queues = (unsigned)mq;
    split_evtchn = arg_int("split_evtchn", 0) == 1;
    nb_fault_after = arg_int("fault_after", 0);
    next_cpu = 1 % smp_ncpus; /* vCPU 0 keeps xenstore and the NIC interrupt */
    return NULL;
}

/* nic_ring buffers within pages (the NIC reads each as one piece): 0 or -XEN_ENOMEM. */
static int pool_init(void)
{
    nb_bufsz = nb_mode == GM_MAP ? XEN_NETBACK_TX_COPY_LEN : PAGE_SIZE / 2;
    nbufs = nic_ring;
    bufs = calloc(nbufs, sizeof(*bufs));
    buf_free = calloc(nbufs, sizeof(*buf_free));
    if (!bufs || !buf_free)
        return -XEN_ENOMEM;
    unsigned per_page = (unsigned)(PAGE_SIZE / nb_bufsz);
    uint8_t *page = NULL;
    for (unsigned i = 0; i < nbufs; i++) {
        if (i % per_page == 0 && !(page = page_alloc(1)))
            return -XEN_ENOMEM;
        bufs[i].va = page + (i % per_page) * nb_bufsz;
        bufs[i].bus = virt_to_bus(bufs[i].va);
        if (bufs[i].bus == DMA_BAD_ADDR)
            return -XEN_ENOMEM;
        buf_free[i] = &bufs[i];
    }
    nbuf_free = nbufs;
    desc_free = nic_ring - 1; /* the driver keeps one descriptor unused */
    return 0;
}

int netback_init(void)
{
    struct e1k_params p;
    const char *bad = parse_args(&p);
    int rc = e1k_probe(&p, &nb_nic);
    if (rc == -XEN_ENODEV) {
        nb_nic = NULL;
        return 1; /* no NIC: no network backend in this domain */
    }
    if (rc) {
        nb_nic = NULL;
        return rc < 0 ? rc : -XEN_EIO;
    }
    if (bad) {
        printf("netback: %s\n", bad);
        rc = -XEN_EINVAL;
    } else if ((rc = dma_init()) || (rc = pool_init())) {
        printf("netback: no buffers for %u frames: %d\n", nic_ring, rc);
    }
    snprintf(base, sizeof(base), "/local/domain/%u/backend/vif", xen_domid);
    if (!rc && (rc = xs_watch(base, "vif")) < 0)
        printf("netback: cannot watch %s: %d\n", base, rc);
    if (rc) {
        e1k_shutdown(nb_nic);
        nb_nic = NULL;
        return rc < 0 ? rc : -XEN_EIO;
    }
    e1k_set_rx(nb_nic, nb_rx, NULL);
    e1k_set_batch_hook(nb_nic, nb_batch, NULL);
    uint8_t m[6];
    e1k_mac(nb_nic, m);
    printf("netback: e1000 %02x:%02x:%02x:%02x:%02x:%02x, grants %s, nic_ring %u, itr_ns %u, "
           "mtu %u, up to %u queue%s per vif%s\n",
           m[0], m[1], m[2], m[3], m[4], m[5], nb_mode == GM_COPY ? "copy" : "map", nic_ring,
           p.itr_ns, nb_mtu, max_queues, max_queues == 1 ? "" : "s",
           split_evtchn ? ", split event channels" : "");
    return 0;
}

void netback_poll(const char *path)
{
    if (!nb_nic)
        return;
    if (!path) {
        xenbus_backend_scan(base, scan_one, NULL);
        for (int i = 0; i < nb_nvifs; i++)
            step(&nb_vifs[i]);
        return;
    }
    long fe, devid;
    int depth = xenbus_backend_node(base, path, &fe, &devid);
    if (depth == 0 || depth == 1)
        xenbus_backend_scan(base, scan_one, NULL);
    else if (depth == 2)
        add_vif(base, fe, devid); /* nothing if we know it: xenbus_dev_changed */
    for (int i = 0; i < nb_nvifs; i++)
        if (xenbus_path_under(nb_vifs[i].fepath, path))
            step(&nb_vifs[i]); /* otherend_changed -> frontend_changed */
}

int netback_vifs(int *closed)
{
    int c = 0;
    for (int i = 0; i < nb_nvifs; i++)
        if (nb_vifs[i].state == VIF_CLOSED)
            c++;
    if (closed)
        *closed = c;
    return nb_nvifs;
}

void netback_fini(void)
{
    if (!nb_nic)
        return;
    xs_unwatch(base, "vif");
    printf("netback: bridge: %lu frames to unknown destinations, %lu malformed\n", nb_rx_unknown,
           nb_rx_bad);
    e1k_shutdown(nb_nic); /* prints the NIC's counters */
    nb_nic = NULL;
}
