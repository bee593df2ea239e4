/*
 * pingpong: the smallest Xen split device. One image, two roles:
 *
 *   role=front  (ping) grants one page and an unbound event channel to the
 *               backend, publishes ring-ref / event-channel, and runs
 *               `rounds` round trips of `bytes` payload bytes, checking
 *               every reply (GCHECK) and marking hops H1, H2, H8 and DONE.
 *   role=back   (pong) serves every pingpong device under
 *               /local/domain/<self>/backend/pingpong: binds the event
 *               channel and, per event, maps the grant, checks the request
 *               (span "check"), answers, unmaps (unless persistent=1), and
 *               marks hops H4 and H6.
 *
 * The toolstack (the simulator) creates the xenstore directories and keys
 * backend, backend-id / frontend, frontend-id and state=1 on both sides;
 * the XenbusState handshake follows Linux's: front Initialised, back
 * Connected, front Connected; to finish, front Closing, back Closing,
 * front Closed, back Closed. Message layout: pingpong.h.
 */
#include "guest.h"
#include "pingpong.h"

#define MAX_DEVS 16

/* ---- frontend ---- */

static void front_event(evtchn_port_t port, void *data)
{
    (void)port;
    (void)data; /* the reply itself is checked in program context */
}

static int publish(const struct xenbus_device *dev, int ref, evtchn_port_t port)
{
    char r[16], p[16];
    snprintf(r, sizeof(r), "%d", ref);
    snprintf(p, sizeof(p), "%u", port);
    const struct xs_pair keys[] = {{"ring-ref", r}, {"event-channel", p}};
    return xs_write_all(dev->nodename, keys, ARRAY_SIZE(keys));
}

static void fill_request(struct pingpong_msg *m, uint32_t round, uint32_t bytes, uint64_t id)
{
    m->round = round;
    m->length = bytes;
    m->id = id;
    for (uint32_t k = 0; k < pp_words(bytes); k++)
        m->payload[k] = pp_word(round, k);
    wmb();
    m->magic = PP_MAGIC_PING;
}

static int reply_ok(const struct pingpong_msg *m, uint32_t round, uint32_t bytes, uint64_t id)
{
    if (m->magic != PP_MAGIC_PONG || m->round != round || m->length != bytes || m->id != id ||
        m->status != PP_OK) {
        printf("bad reply header: magic %llx round %u/%u len %u/%u id %llx/%llx status %u\n",
               (unsigned long long)m->magic, m->round, round, m->length, bytes,
               (unsigned long long)m->id, (unsigned long long)id, m->status);
        return 0;
    }
    for (uint32_t k = 0; k < pp_words(bytes); k++) {
        uint64_t mask = pp_word_mask(bytes, k);
        if ((m->payload[k] & mask) != (pp_inc_bytes(pp_word(round, k)) & mask)) {
            printf("bad reply payload word %u in round %u\n", k, round);
            return 0;
        }
    }
    return 1;
}

static void ping_round(struct pingpong_msg *m, evtchn_port_t port, uint32_t round, uint32_t bytes)
{
    uint64_t id = HOPSIM_REQ(xen_domid, round);
    trace_ctx(id);
    trace_hop(HOP_H1, id);
    fill_request(m, round, bytes, id);
    trace_hop(HOP_H2, id);
    evtchn_send(port);
    WAIT_UNTIL(READ_ONCE(m->magic) == PP_MAGIC_PONG);
    rmb();
    trace_hop(HOP_H8, id);
    GCHECK(reply_ok(m, round, bytes, id));
    trace_done(id);
    trace_ctx(HOPSIM_NOREQ);
}

ARG_ENUM(role, "front|back", "frontend (sends) or backend (answers)");
ARG_INT(rounds, 0, INT32_MAX, "round trips");
ARG_INT(bytes, 0, PP_MAX_BYTES, "payload bytes per message");
ARG_INT(devid, 0, INT32_MAX, "the pingpong device");
ARG_BOOL(persistent, "back: keep the grant mapped");

static int front(void)
{
    struct xenbus_device dev;
    long rounds = arg_int("rounds", PP_DEFAULT_ROUNDS);
    long bytes = arg_int("bytes", PP_DEFAULT_BYTES);
    if (bytes < 0 || bytes > (long)PP_MAX_BYTES) {
        printf("bytes=%ld out of range [0, %u]\n", bytes, PP_MAX_BYTES);
        return 1;
    }
    int rc = xenbus_frontend_device("pingpong", (int)arg_int("devid", 0), &dev);
    if (rc < 0) {
        printf("no pingpong device in xenstore: %d\n", rc);
        return 1;
    }
    domid_t be = (domid_t)dev.otherend_id;

    struct pingpong_msg *msg = page_zalloc(1);
    int ref = msg ? gnttab_grant_access(be, virt_to_pfn(msg), 0) : -1;
    evtchn_port_t port;
    if (ref < 0 || evtchn_alloc_unbound(be, &port)) {
        printf("cannot grant the page or allocate the event channel\n");
        return 1;
    }
    evtchn_attach(port, front_event, NULL);
    rc = publish(&dev, ref, port);
    if (rc < 0) {
        printf("cannot publish ring-ref/event-channel: %d\n", rc);
        return 1;
    }
    xenbus_switch_state(dev.nodename, XenbusStateInitialised);
    int st = xenbus_wait_state(dev.otherend, XenbusStateConnected);
    if (st != XenbusStateConnected) {
        printf("backend went to state %d instead of Connected\n", st);
        return 1;
    }
    xenbus_switch_state(dev.nodename, XenbusStateConnected);

    uint64_t t0 = time_now_ns();
    for (long r = 1; r <= rounds; r++)
        ping_round(msg, port, (uint32_t)r, (uint32_t)bytes);
    uint64_t t1 = time_now_ns();
    printf("%ld rounds of %ld bytes in %llu ns\n", rounds, bytes, (unsigned long long)(t1 - t0));

    xenbus_switch_state(dev.nodename, XenbusStateClosing);
    xenbus_wait_state(dev.otherend, XenbusStateClosing);
    xenbus_switch_state(dev.nodename, XenbusStateClosed);
    xenbus_wait_state(dev.otherend, XenbusStateClosed);
    evtchn_unbind(port);
    GCHECK_EQ(gnttab_end_access((grant_ref_t)ref), 0);
    page_free(msg, 1);
    return 0;
}

/* ---- backend ---- */

enum dev_state { DEV_NEW, DEV_CONNECTED, DEV_CLOSING, DEV_CLOSED };

struct ppdev {
    enum dev_state state;
    domid_t fe_id;
    int devid;
    char nodename[128]; /* our backend directory */
    char fepath[128];   /* the frontend directory */
    grant_ref_t ref;
    evtchn_port_t port;
    struct pingpong_msg *map; /* persistent mapping, or NULL */
    grant_handle_t handle;
    unsigned long served;
};

static struct ppdev devs[MAX_DEVS];
static int ndevs;
static int persistent;

static int check_request(const struct pingpong_msg *m, domid_t fe)
{
    if (m->length > PP_MAX_BYTES || m->id != HOPSIM_REQ(fe, m->round))
        return 0;
    for (uint32_t k = 0; k < pp_words(m->length); k++) {
        uint64_t mask = pp_word_mask(m->length, k);
        if ((m->payload[k] & mask) != (pp_word(m->round, k) & mask))
            return 0;
    }
    return 1;
}

static void answer(struct pingpong_msg *m, int ok)
{
    if (ok)
        for (uint32_t k = 0; k < pp_words(m->length); k++)
            m->payload[k] = pp_inc_bytes(m->payload[k]);
    m->status = ok ? PP_OK : PP_BAD_REQUEST;
    wmb();
    m->magic = PP_MAGIC_PONG;
}

/* Upcall context: one request per event. */
static void back_event(evtchn_port_t port, void *data)
{
    struct ppdev *d = data;
    struct pingpong_msg *m = d->map;
    grant_handle_t h = 0;
    if (!m) {
        int st;
        m = gnttab_map(d->fe_id, d->ref, 0, &h, &st);
        if (!m) {
            printf("map of ref %u from dom%u failed: %d\n", d->ref, d->fe_id, st);
            return;
        }
    }
    if (READ_ONCE(m->magic) == PP_MAGIC_PING) {
        rmb();
        uint64_t id = m->id;
        trace_ctx(id);
        trace_hop(HOP_H4, id);
        trace_begin(SPAN_CHECK, id);
        int ok = check_request(m, d->fe_id);
        trace_end(SPAN_CHECK, id);
        answer(m, ok);
        if (!d->map)
            gnttab_unmap(m, h);
        trace_hop(HOP_H6, id);
        evtchn_send(port);
        trace_ctx(HOPSIM_NOREQ);
        d->served++;
    } else if (!d->map) {
        gnttab_unmap(m, h); /* nothing new: a spurious event */
    }
}

static long read_long(const char *dir, const char *key, long def)
{
    char path[192];
    long v;
    snprintf(path, sizeof(path), "%s/%s", dir, key);
    return xs_read_int(XBT_NIL, path, &v) ? def : v;
}

static int connect(struct ppdev *d)
{
    long ref = read_long(d->fepath, "ring-ref", -1);
    long evtchn = read_long(d->fepath, "event-channel", -1);
    if (ref < 0 || evtchn < 0) {
        printf("%s: ring-ref or event-channel missing\n", d->fepath);
        return -1;
    }
    d->ref = (grant_ref_t)ref;
    int rc = evtchn_bind_interdomain(d->fe_id, (evtchn_port_t)evtchn, &d->port);
    if (rc) {
        printf("bind_interdomain(dom%u, port %ld) failed: %d\n", d->fe_id, evtchn, rc);
        return -1;
    }
    /* Xen raises a freshly bound port; no request can precede Connected. */
    evtchn_clear(d->port);
    if (persistent) {
        int st, f = irq_save();
        d->map = gnttab_map(d->fe_id, d->ref, 0, &d->handle, &st);
        irq_restore(f);
        if (!d->map) {
            printf("persistent map of ref %u failed: %d\n", d->ref, st);
            return -1;
        }
    }
    evtchn_attach(d->port, back_event, d);
    xenbus_switch_state(d->nodename, XenbusStateConnected);
    d->state = DEV_CONNECTED;
    return 0;
}

static void disconnect(struct ppdev *d)
{
    if (d->state == DEV_CONNECTED) {
        evtchn_unbind(d->port);
        if (d->map) {
            int f = irq_save();
            gnttab_unmap(d->map, d->handle);
            irq_restore(f);
            d->map = NULL;
        }
    }
    xenbus_switch_state(d->nodename, XenbusStateClosing);
    d->state = DEV_CLOSING;
}

static void step(struct ppdev *d)
{
    int fe = xenbus_read_state(d->fepath);
    if (fe == XenbusStateUnknown)
        fe = XenbusStateClosed; /* frontend gone */
    if (d->state == DEV_NEW && (fe == XenbusStateInitialised || fe == XenbusStateConnected)) {
        if (connect(d))
            disconnect(d);
    }
    if ((d->state == DEV_NEW || d->state == DEV_CONNECTED) &&
        (fe == XenbusStateClosing || fe == XenbusStateClosed))
        disconnect(d);
    if (d->state == DEV_CLOSING && fe == XenbusStateClosed) {
        xenbus_switch_state(d->nodename, XenbusStateClosed);
        d->state = DEV_CLOSED;
        printf("dom%u device %d closed after %lu requests\n", d->fe_id, d->devid, d->served);
    }
}

static struct ppdev *find_dev(long fe, long devid)
{
    for (int i = 0; i < ndevs; i++)
        if (devs[i].fe_id == fe && devs[i].devid == devid)
            return &devs[i];
    return NULL;
}

static void add_dev(const char *base, long fe, long devid)
{
    if (find_dev(fe, devid) || ndevs == MAX_DEVS)
        return;
    struct ppdev *d = &devs[ndevs];
    *d = (struct ppdev){.state = DEV_NEW, .fe_id = (domid_t)fe, .devid = (int)devid};
    snprintf(d->nodename, sizeof(d->nodename), "%s/%ld/%ld", base, fe, devid);
    char path[192];
    snprintf(path, sizeof(path), "%s/frontend", d->nodename);
    if (xs_read(XBT_NIL, path, d->fepath, sizeof(d->fepath)) < 0)
        return; /* not complete yet: a later scan picks it up */
    if (read_long(d->nodename, "frontend-id", -1) != fe)
        return;
    ndevs++;
    snprintf(path, sizeof(path), "%s/state", d->fepath);
    xs_watch(path, "fe");
    xenbus_switch_state(d->nodename, XenbusStateInitWait);
}

static void scan_one(const char *base, long fe, long devid, void *ctx)
{
    (void)ctx;
    add_dev(base, fe, devid);
}

static void scan(const char *base)
{
    xenbus_backend_scan(base, scan_one, NULL);
}

static int back(void)
{
    char base[96];
    persistent = (int)arg_int("persistent", 0);
    snprintf(base, sizeof(base), "/local/domain/%u/backend/pingpong", xen_domid);
    int rc = xs_watch(base, "be");
    if (rc < 0) {
        printf("cannot watch %s: %d\n", base, rc);
        return 1;
    }
    for (;;) {
        scan(base);
        int open = 0;
        for (int i = 0; i < ndevs; i++) {
            step(&devs[i]);
            open += devs[i].state != DEV_CLOSED;
        }
        if (ndevs && !open)
            break;
        xs_wait_watch(NULL, NULL, 0);
    }
    xs_unwatch(base, "be");
    for (int i = 0; i < ndevs; i++) {
        char path[192];
        snprintf(path, sizeof(path), "%s/state", devs[i].fepath);
        xs_unwatch(path, "fe");
    }
    return 0;
}

int app_main(void)
{
    const char *role = arg_str("role", "front");
    if (!strcmp(role, "front"))
        return front();
    if (!strcmp(role, "back"))
        return back();
    printf("unknown role '%s' (front|back)\n", role);
    return 1;
}
