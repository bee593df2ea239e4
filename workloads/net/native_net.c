/*
 * Native network layer (see native_net.h): each netdev frame is one
 * e1000 transmit descriptor at the frame's bus address (lib/dma.h; the
 * frame lies inside one page, netdev_check, so it is machine-contiguous).
 * No copy on either side: received frames are handed to d->rx straight
 * from the driver's receive buffer, valid during the call.
 *
 * Hops (netdev.h; native has no H2/H3 and no H6/H7): a test frame's
 * request enters H4 here as it is handed to the driver, the NIC model
 * marks the device side, and H8 is marked as a received test frame is
 * handed to d->rx, or at transmit completion for a test frame that waits
 * for no reply (netdev_tx_ends_request). Frames without a tag are carried
 * but not marked. Transmit runs in program or event context; completions
 * and receives run in the driver's interrupt handler.
 */
#include "native_net.h"

#include "dma.h"

struct native_net {
    struct netdev dev;
    struct e1k *n;
};

static struct native_net nnet;

/* Interrupt context (or e1k_shutdown's, with status -XEN_EIO). */
static void nn_tx_done(void *arg, int status)
{
    struct netdev_pkt *p = arg;
    uint64_t req;
    p->status = status;
    p->proto_status = 0;
    if (netdev_tx_ends_request(p->data, p->len, &req) && req != HOPSIM_NOREQ)
        trace_hop(HOP_H8, req);
    if (p->done)
        p->done(p);
    nnet.dev.tx_completions++;
}

/* Interrupt context. */
static void nn_rx(void *ctx, const void *frame, unsigned len)
{
    struct native_net *nn = ctx;
    struct netdev *d = &nn->dev;
    netdev_rx_fn fn = READ_ONCE(d->rx);
    if (!fn) {
        d->rx_dropped++;
        return;
    }
    uint64_t req = hopsim_pkt_req(frame, len);
    if (req != HOPSIM_NOREQ)
        trace_hop(HOP_H8, req);
    fn(d, frame, len);
    d->rx_frames++;
}

static int nn_xmit(struct netdev *d, struct netdev_pkt *p)
{
    struct native_net *nn = (struct native_net *)d;
    int rc = netdev_check(d, p);
    if (rc)
        return rc;
    uint64_t bus = virt_to_bus(p->data);
    if (bus == DMA_BAD_ADDR)
        return -XEN_EINVAL;
    uint16_t len = p->len;
    uint64_t req = hopsim_pkt_req(p->data, p->len);
    /*
     * H4 only when the driver will take the frame: a frame refused with
     * -XEN_EAGAIN is retried later and must not enter H4 early. The free
     * count cannot shrink before e1k_xmit (single vCPU; the interrupt
     * handler only frees descriptors), and it is 0 once the NIC is down.
     */
    if (req != HOPSIM_NOREQ && e1k_tx_free(nn->n))
        trace_hop(HOP_H4, req);
    return e1k_xmit(nn->n, req, &bus, &len, 1, nn_tx_done, p);
}

static void nn_kick(struct netdev *d)
{
    e1k_kick(((struct native_net *)d)->n);
}

static void nn_close(struct netdev *d)
{
    struct native_net *nn = (struct native_net *)d;
    e1k_shutdown(nn->n);
}

static const struct netdev_ops nn_ops = {
    .xmit = nn_xmit,
    .kick = nn_kick,
    .close = nn_close,
};

struct netdev *native_net_open(struct e1k *n)
{
    struct native_net *nn = &nnet;
    /* one descriptor per frame: every free descriptor of the idle ring (tx ring - 1) */
    unsigned inflight = e1k_tx_free(n);
    if (!inflight) {
        printf("native_net: the NIC is not running\n");
        return NULL;
    }
    nn->n = n;
    nn->dev = (struct netdev){
        .name = "eth0",
        .mtu = 1500,
        .max_tx_inflight = inflight,
        .ops = &nn_ops,
    };
    e1k_mac(n, nn->dev.mac);
    e1k_set_rx(n, nn_rx, nn);
    return &nn->dev;
}
