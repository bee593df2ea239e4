/*
 * The netif connection (netfront.h: netif_connect, netif_close): the
 * xenstore handshake, each queue's two shared rings and event channel(s),
 * as Linux's xen-netfront talk_to_netback / setup_netfront /
 * xennet_disconnect_backend. Shared by netfront (netfront.c) and the
 * malicious frontend (evilnet.c), which drives the rings by hand.
 */
#include "netfront.h"

#define POLL_NS 100000ull

static int read_mac(struct netif_conn *c)
{
    char path[192], buf[32];
    snprintf(path, sizeof(path), "%s/mac", c->xb.nodename);
    int n = xs_read(XBT_NIL, path, buf, sizeof(buf));
    if (n < 0) {
        printf("netfront: cannot read %s: %d\n", path, n);
        return n;
    }
    if (mac_parse(buf, c->mac)) {
        printf("netfront: %s is '%s', not a MAC address (xx:xx:xx:xx:xx:xx)\n", path, buf);
        return -XEN_EINVAL;
    }
    return 0;
}

#define QKEYS 4 /* per queue: two ring refs, one or two event channels */

/*
 * Every key in one transaction (Linux's talk_to_netback with
 * write_queue_xenstore_keys): one queue's keys in our directory, or
 * multi-queue-num-queues and each queue's under queue-N/.
 */
static int publish(struct netif_conn *c)
{
    static char key[NETIF_MAX_QUEUES * QKEYS][40], val[NETIF_MAX_QUEUES * QKEYS + 1][16];
    struct xs_pair keys[NETIF_MAX_QUEUES * QKEYS + 5];
    unsigned n = 0, k = 0;
    if (c->nq > 1) {
        snprintf(val[NETIF_MAX_QUEUES * QKEYS], sizeof(val[0]), "%u", c->nq);
        keys[n++] = (struct xs_pair){"multi-queue-num-queues", val[NETIF_MAX_QUEUES * QKEYS]};
    }
    for (unsigned i = 0; i < c->nq; i++) {
        const struct netif_queue *q = &c->q[i];
        char dir[16] = "";
        if (c->nq > 1)
            snprintf(dir, sizeof(dir), "queue-%u/", i);
        const char *names[QKEYS] = {"tx-ring-ref", "rx-ring-ref",
                                    c->split ? "event-channel-tx" : "event-channel",
                                    "event-channel-rx"};
        long vals[QKEYS] = {q->tx_ref, q->rx_ref, q->tx_port, q->rx_port};
        for (unsigned j = 0; j < (c->split ? 4u : 3u); j++, k++) {
            snprintf(key[k], sizeof(key[0]), "%s%s", dir, names[j]);
            snprintf(val[k], sizeof(val[0]), "%ld", vals[j]);
            keys[n++] = (struct xs_pair){key[k], val[k]};
        }
    }
    keys[n++] = (struct xs_pair){"request-rx-copy", "1"};
    keys[n++] = (struct xs_pair){"feature-rx-notify", "1"};
    keys[n++] = (struct xs_pair){"feature-sg", "0"};
    keys[n++] = (struct xs_pair){"feature-gso-tcpv4", "0"};
    return xs_write_all(c->xb.nodename, keys, n);
}

/* Grant one zeroed ring page read-write to the backend: the page, or NULL. */
static void *ring_page(struct netif_conn *c, int *ref)
{
    void *page = page_zalloc(1);
    if (!page)
        return NULL;
    *ref = gnttab_grant_access(c->be, virt_to_pfn(page), 0);
    if (*ref < 0) {
        page_free(page, 1);
        return NULL;
    }
    return page;
}

static int new_port(struct netif_conn *c, evtchn_port_t *port, evtchn_handler_t fn, void *data)
{
    int rc = evtchn_alloc_unbound(c->be, port);
    if (rc) {
        *port = 0;
        return rc;
    }
    return evtchn_attach(*port, fn, data);
}

static int setup_queue(struct netif_conn *c, struct netif_queue *q, evtchn_handler_t fn, void *data)
{
    q->txs = ring_page(c, &q->tx_ref);
    if (!q->txs)
        return -XEN_ENOMEM;
    SHARED_RING_INIT(q->txs);
    FRONT_RING_INIT(&q->tx, q->txs, PAGE_SIZE);
    q->rxs = ring_page(c, &q->rx_ref);
    if (!q->rxs)
        return -XEN_ENOMEM;
    SHARED_RING_INIT(q->rxs);
    FRONT_RING_INIT(&q->rx, q->rxs, PAGE_SIZE);
    int rc = new_port(c, &q->tx_port, fn, data);
    if (rc || !c->split) {
        q->rx_port = q->tx_port;
        return rc;
    }
    return new_port(c, &q->rx_port, fn, data);
}

/* End a ring page's grant and free it; a page the backend still maps is leaked. */
static void free_ring(void *page, int *ref)
{
    if (*ref < 0)
        return;
    int rc = gnttab_end_access((grant_ref_t)*ref);
    if (rc)
        printf("netfront: ring grant %d still mapped by the backend (%d): page leaked\n", *ref, rc);
    else
        page_free(page, 1);
    *ref = -1;
}

void netif_unbind(struct netif_conn *c)
{
    for (unsigned i = 0; i < c->nq; i++) {
        struct netif_queue *q = &c->q[i];
        if (q->rx_port && q->rx_port != q->tx_port)
            evtchn_unbind(q->rx_port);
        if (q->tx_port)
            evtchn_unbind(q->tx_port);
        q->tx_port = q->rx_port = 0;
    }
}

void netif_free_rings(struct netif_conn *c)
{
    for (unsigned i = 0; i < c->nq; i++) {
        struct netif_queue *q = &c->q[i];
        free_ring(q->txs, &q->tx_ref);
        free_ring(q->rxs, &q->rx_ref);
        q->txs = NULL;
        q->rxs = NULL;
    }
}

/* Undo a partial netif_connect: event channels, ring grants, and tell the backend we gave up. */
static void undo_connect(struct netif_conn *c)
{
    netif_unbind(c);
    netif_free_rings(c);
    xenbus_switch_state(c->xb.nodename, XenbusStateClosed);
}

int netif_connect(struct netif_conn *c, int devid, unsigned want_queues, evtchn_handler_t fn,
                  void *data)
{
    *c = (struct netif_conn){0};
    for (unsigned i = 0; i < NETIF_MAX_QUEUES; i++)
        c->q[i].tx_ref = c->q[i].rx_ref = -1;
    if (devid < 0 && (devid = xenbus_frontend_lowest("vif")) < 0) {
        printf("netfront: no vif in xenstore: %d\n", devid);
        return devid;
    }
    int rc = xenbus_frontend_device("vif", devid, &c->xb);
    if (rc < 0) {
        printf("netfront: no vif %d in xenstore: %d\n", devid, rc);
        return rc;
    }
    c->be = (domid_t)c->xb.otherend_id;
    rc = read_mac(c);
    if (rc)
        goto fail;
    int st = xenbus_wait_state(c->xb.otherend, XenbusStateInitWait);
    if (st != XenbusStateInitWait && st != XenbusStateConnected) {
        printf("netfront: backend %s in state %d, not InitWait\n", c->xb.otherend, st);
        rc = st < 0 ? st : -XEN_EIO;
        goto fail;
    }
    if (xs_read_long(c->xb.otherend, "feature-rx-copy", 0) != 1) {
        printf("netfront: backend %s does not offer feature-rx-copy\n", c->xb.otherend);
        rc = -XEN_EOPNOTSUPP;
        goto fail;
    }
    /* Linux: num_queues = min(multi-queue-max-queues, xennet_max_queues) */
    long max = xs_read_long(c->xb.otherend, "multi-queue-max-queues", 1);
    c->nq = (unsigned)MAX(1, MIN(MIN(max, (long)want_queues), NETIF_MAX_QUEUES));
    c->split = xs_read_long(c->xb.otherend, "feature-split-event-channels", 0) == 1;
    rc = 0;
    for (unsigned i = 0; i < c->nq && !rc; i++)
        rc = setup_queue(c, &c->q[i], fn, data);
    if (!rc)
        rc = publish(c);
    if (!rc)
        rc = xenbus_switch_state(c->xb.nodename, XenbusStateConnected);
    if (rc) {
        printf("netfront: rings, event channels or xenstore set-up failed: %d\n", rc);
        goto fail;
    }
    st = xenbus_wait_state(c->xb.otherend, XenbusStateConnected);
    if (st != XenbusStateConnected) {
        printf("netfront: backend went to state %d instead of Connected\n", st);
        rc = st < 0 ? st : -XEN_EIO;
        goto fail;
    }
    return 0;
fail:
    undo_connect(c);
    return rc;
}

/* Wait until the backend's state is >= state or timeout_ns passes (0: no limit). */
static int wait_backend(struct netif_conn *c, XenbusState state, uint64_t timeout_ns)
{
    if (!timeout_ns)
        return xenbus_wait_state(c->xb.otherend, state);
    char path[192];
    snprintf(path, sizeof(path), "%s/state", c->xb.otherend);
    xs_watch(path, "nbkstate");
    uint64_t deadline = time_now_ns() + timeout_ns;
    int st;
    while ((st = xenbus_read_state(c->xb.otherend)) < (int)state && time_now_ns() < deadline)
        while (!xs_poll_watch("nbkstate", NULL, 0) && time_now_ns() < deadline)
            sleep_ns(POLL_NS);
    xs_unwatch(path, "nbkstate");
    return st;
}

int netif_close(struct netif_conn *c, void (*revoke)(void *data), void *data, uint64_t timeout_ns)
{
    xenbus_switch_state(c->xb.nodename, XenbusStateClosing);
    int st = wait_backend(c, XenbusStateClosing, timeout_ns);
    netif_unbind(c);
    if (revoke)
        revoke(data);
    netif_free_rings(c);
    xenbus_switch_state(c->xb.nodename, XenbusStateClosed);
    if (st < XenbusStateClosed)
        st = wait_backend(c, XenbusStateClosed, timeout_ns);
    return st;
}
