/*
 * Xenstore client and XenBus handshake (see xenbus.h).
 *
 * Ring protocol (xs_wire.h, as Linux's xenbus_comms.c): the producer
 * writes bytes then advances *_prod after a write barrier; the consumer
 * reads *_prod, a read barrier, the bytes, then a full barrier before
 * advancing *_cons. Messages may be larger than the ring, so replies are
 * assembled incrementally (header, then body). We notify the store after
 * writing a request, and after consuming replies only if the reply ring
 * had been full (xenstored may be waiting for room), as Linux does.
 * Requests are limited to what fits the ring at once (1 KiB).
 *
 * Waiting: the store port's handler does nothing; waking up is its whole
 * purpose. The ring is read in program context, inside WAIT_UNTIL, so a
 * reply or watch event arriving at any moment is never missed.
 */
#include <stdarg.h>

#include "xenbus.h"
#include "events.h"
#include "hypercall.h"
#include "runtime.h"
#include "str.h"

static struct xenstore_domain_interface *intf;
static evtchn_port_t store_port;
static uint32_t next_req_id = 1;

/* Incoming message being assembled; a complete reply stays until taken. */
static struct xsd_sockmsg in_hdr;
static char in_body[XENSTORE_PAYLOAD_MAX + 1];
static size_t in_got;
static int reply_ready;

/* Queued watch events. */
#define WQ_LEN 32
static struct {
    char path[256];
    char token[64];
} wq[WQ_LEN];
static unsigned wq_head, wq_count;
unsigned long xs_watch_dropped;

static void store_handler(evtchn_port_t port, void *data)
{
    (void)port;
    (void)data;
    events_wake_program(); /* a reply or a watch event for the program context */
}

static void store_notify(void)
{
    evtchn_send(store_port);
}

static void queue_watch(const char *body, size_t len)
{
    const char *path = body;
    size_t plen = strnlen(body, len);
    const char *token = plen < len ? body + plen + 1 : "";
    if (wq_count == WQ_LEN) {
        xs_watch_dropped++;
        return;
    }
    unsigned i = (wq_head + wq_count++) % WQ_LEN;
    strlcpy(wq[i].path, path, sizeof(wq[i].path));
    strlcpy(wq[i].token, token, sizeof(wq[i].token));
}

/* Consume reply-ring bytes until a reply is complete or the ring is empty. */
static void xs_pump(void)
{
    while (!reply_ready) {
        XENSTORE_RING_IDX cons = intf->rsp_cons, prod = READ_ONCE(intf->rsp_prod);
        rmb();
        if (prod == cons)
            return;
        if (prod - cons > XENSTORE_RING_SIZE)
            panic("xenstore reply ring corrupt (prod %u cons %u)", prod, cons);
        int was_full = prod - cons == XENSTORE_RING_SIZE;
        size_t want;
        char *dst;
        if (in_got < sizeof(in_hdr)) {
            want = sizeof(in_hdr) - in_got;
            dst = (char *)&in_hdr + in_got;
        } else {
            want = sizeof(in_hdr) + in_hdr.len - in_got;
            dst = in_body + (in_got - sizeof(in_hdr));
        }
        size_t n = MIN(want, (size_t)(prod - cons));
        n = MIN(n, (size_t)(XENSTORE_RING_SIZE - MASK_XENSTORE_IDX(cons)));
        memcpy(dst, intf->rsp + MASK_XENSTORE_IDX(cons), n);
        in_got += n;
        mb();
        intf->rsp_cons = cons + (XENSTORE_RING_IDX)n;
        if (was_full)
            store_notify();
        if (in_got == sizeof(in_hdr) && in_hdr.len > XENSTORE_PAYLOAD_MAX)
            panic("xenstore message too long (%u)", in_hdr.len);
        if (in_got >= sizeof(in_hdr) && in_got == sizeof(in_hdr) + in_hdr.len) {
            in_body[in_hdr.len] = 0;
            in_got = 0;
            if (in_hdr.type == XS_WATCH_EVENT)
                queue_watch(in_body, in_hdr.len);
            else
                reply_ready = 1;
        }
    }
}

static void ring_write(const void *data, size_t len)
{
    const char *p = data;
    while (len) {
        XENSTORE_RING_IDX cons = READ_ONCE(intf->req_cons), prod = intf->req_prod;
        mb();
        size_t space = XENSTORE_RING_SIZE - (prod - cons);
        if (!space) {
            store_notify();
            WAIT_UNTIL(intf->req_prod - READ_ONCE(intf->req_cons) < XENSTORE_RING_SIZE);
            continue;
        }
        size_t n = MIN(len, space);
        n = MIN(n, (size_t)(XENSTORE_RING_SIZE - MASK_XENSTORE_IDX(prod)));
        memcpy(intf->req + MASK_XENSTORE_IDX(prod), p, n);
        wmb();
        intf->req_prod = prod + (XENSTORE_RING_IDX)n;
        p += n;
        len -= n;
    }
}

static const struct {
    const char *name;
    int err;
} xs_errors[] = {
    {"EINVAL", XEN_EINVAL}, {"EACCES", XEN_EACCES},   {"EEXIST", XEN_EEXIST},
    {"EISDIR", XEN_EISDIR}, {"ENOENT", XEN_ENOENT},   {"ENOMEM", XEN_ENOMEM},
    {"ENOSPC", XEN_ENOSPC}, {"EIO", XEN_EIO},         {"ENOTEMPTY", XEN_ENOTEMPTY},
    {"ENOSYS", XEN_ENOSYS}, {"EROFS", XEN_EROFS},     {"EBUSY", XEN_EBUSY},
    {"EAGAIN", XEN_EAGAIN}, {"EISCONN", XEN_EISCONN}, {"E2BIG", XEN_E2BIG},
    {"EPERM", XEN_EPERM},   {"EQUOTA", XEN_ENOSPC},   {"ENOTDIR", XEN_ENOTDIR},
};

static int xs_errno(const char *name)
{
    for (unsigned i = 0; i < ARRAY_SIZE(xs_errors); i++)
        if (!strcmp(name, xs_errors[i].name))
            return -xs_errors[i].err;
    return -XEN_EIO;
}

struct seg {
    const void *p;
    size_t len;
};

/* Send one request and wait for its reply: reply length (body in in_body) or -errno. */
int xs_talking;

static int xs_talk_(uint32_t type, xs_tx_t tx, const struct seg *segs, unsigned nsegs);

static int xs_talk(uint32_t type, xs_tx_t tx, const struct seg *segs, unsigned nsegs)
{
    xs_talking++;
    int rc = xs_talk_(type, tx, segs, nsegs);
    xs_talking--;
    return rc;
}

static int xs_talk_(uint32_t type, xs_tx_t tx, const struct seg *segs, unsigned nsegs)
{
    if (!intf)
        return -XEN_ENODEV;
    size_t total = 0;
    for (unsigned i = 0; i < nsegs; i++)
        total += segs[i].len;
    if (sizeof(struct xsd_sockmsg) + total > XENSTORE_RING_SIZE)
        return -XEN_E2BIG;
    struct xsd_sockmsg h = {
        .type = type, .req_id = next_req_id++, .tx_id = tx, .len = (uint32_t)total};
    ring_write(&h, sizeof(h));
    for (unsigned i = 0; i < nsegs; i++)
        ring_write(segs[i].p, segs[i].len);
    store_notify();
    for (;;) {
        WAIT_UNTIL((xs_pump(), reply_ready));
        reply_ready = 0;
        if (in_hdr.req_id != h.req_id)
            continue; /* stale reply: not ours */
        if (in_hdr.type == XS_ERROR)
            return xs_errno(in_body);
        return (int)in_hdr.len;
    }
}

#define SEG_STR(s) ((struct seg){(s), strlen(s) + 1})

int xs_read(xs_tx_t t, const char *path, char *buf, size_t len)
{
    struct seg s[] = {SEG_STR(path)};
    int n = xs_talk(XS_READ, t, s, 1);
    if (n >= 0 && len) {
        size_t c = MIN((size_t)n, len - 1);
        memcpy(buf, in_body, c);
        buf[c] = 0;
    }
    return n;
}

int xs_write(xs_tx_t t, const char *path, const char *value)
{
    struct seg s[] = {SEG_STR(path), {value, strlen(value)}};
    int n = xs_talk(XS_WRITE, t, s, 2);
    return n < 0 ? n : 0;
}

int xs_mkdir(xs_tx_t t, const char *path)
{
    struct seg s[] = {SEG_STR(path)};
    int n = xs_talk(XS_MKDIR, t, s, 1);
    return n < 0 ? n : 0;
}

int xs_rm(xs_tx_t t, const char *path)
{
    struct seg s[] = {SEG_STR(path)};
    int n = xs_talk(XS_RM, t, s, 1);
    return n < 0 ? n : 0;
}

int xs_directory(xs_tx_t t, const char *path, char *buf, size_t len)
{
    struct seg s[] = {SEG_STR(path)};
    int n = xs_talk(XS_DIRECTORY, t, s, 1);
    if (n < 0)
        return n;
    int count = 0;
    size_t used = 0;
    for (size_t i = 0; i < (size_t)n;) {
        size_t l = strnlen(in_body + i, (size_t)n - i);
        if (used + l + 1 <= len) {
            memcpy(buf + used, in_body + i, l);
            buf[used + l] = 0;
            used += l + 1;
            count++;
        }
        i += l + 1;
    }
    return count;
}

int xs_is_domain_introduced(unsigned domid)
{
    char arg[12];
    snprintf(arg, sizeof(arg), "%u", domid);
    struct seg s[] = {SEG_STR(arg)};
    int n = xs_talk(XS_IS_DOMAIN_INTRODUCED, XBT_NIL, s, 1);
    if (n < 0)
        return n;
    return n >= 1 && in_body[0] == 'T';
}

int xs_watch(const char *path, const char *token)
{
    struct seg s[] = {SEG_STR(path), SEG_STR(token)};
    int n = xs_talk(XS_WATCH, XBT_NIL, s, 2);
    return n < 0 ? n : 0;
}

static void drop_watch_events(const char *token)
{
    unsigned kept = 0;
    for (unsigned i = 0; i < wq_count; i++) {
        unsigned from = (wq_head + i) % WQ_LEN;
        if (!strcmp(wq[from].token, token))
            continue;
        unsigned to = (wq_head + kept++) % WQ_LEN;
        if (to != from)
            wq[to] = wq[from];
    }
    wq_count = kept;
}

int xs_unwatch(const char *path, const char *token)
{
    struct seg s[] = {SEG_STR(path), SEG_STR(token)};
    int n = xs_talk(XS_UNWATCH, XBT_NIL, s, 2);
    drop_watch_events(token);
    return n < 0 ? n : 0;
}

int xs_transaction_start(xs_tx_t *t)
{
    struct seg s[] = {{"", 1}};
    int n = xs_talk(XS_TRANSACTION_START, XBT_NIL, s, 1);
    if (n < 0)
        return n;
    *t = (xs_tx_t)strtoul(in_body, NULL, 10);
    return 0;
}

int xs_transaction_end(xs_tx_t t, int abort)
{
    struct seg s[] = {{abort ? "F" : "T", 2}};
    int n = xs_talk(XS_TRANSACTION_END, t, s, 1);
    return n < 0 ? n : 0;
}

int xs_read_int(xs_tx_t t, const char *path, long *val)
{
    char buf[32];
    int n = xs_read(t, path, buf, sizeof(buf));
    if (n < 0)
        return n;
    char *end;
    long v = strtol(buf, &end, 10);
    if (end == buf || *end)
        return -XEN_EINVAL;
    *val = v;
    return 0;
}

int xs_printf(xs_tx_t t, const char *path, const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n >= (int)sizeof(buf))
        return -XEN_E2BIG;
    return xs_write(t, path, buf);
}

/* Take the first queued event matching token; 1 if one was taken. */
static int take_watch(const char *token, char *path, size_t len)
{
    for (unsigned i = 0; i < wq_count; i++) {
        unsigned at = (wq_head + i) % WQ_LEN;
        if (token && strcmp(wq[at].token, token))
            continue;
        if (path && len)
            strlcpy(path, wq[at].path, len);
        /* Close the gap, keeping order. */
        for (unsigned j = i; j + 1 < wq_count; j++)
            wq[(wq_head + j) % WQ_LEN] = wq[(wq_head + j + 1) % WQ_LEN];
        wq_count--;
        return 1;
    }
    return 0;
}

/*
 * Pump the reply ring for watch events. No request is outstanding here (one
 * request at a time, and xs_talk takes its own reply), so a reply that
 * shows up is stray: drop it rather than let it stall the ring.
 */
static void pump_watches(void)
{
    xs_pump();
    while (reply_ready) {
        reply_ready = 0;
        xs_pump();
    }
}

int xs_poll_watch(const char *token, char *path, size_t len)
{
    pump_watches();
    return take_watch(token, path, len);
}

int xs_wait_watch(const char *token, char *path, size_t len)
{
    int got = 0;
    WAIT_UNTIL((pump_watches(), got = take_watch(token, path, len)));
    return got ? 0 : -XEN_EIO;
}

/* ---- XenBus handshake ---- */

int xenbus_read_state(const char *dir)
{
    char path[192];
    long st;
    snprintf(path, sizeof(path), "%s/state", dir);
    if (xs_read_int(XBT_NIL, path, &st) < 0)
        return XenbusStateUnknown;
    return (int)st;
}

int xenbus_switch_state(const char *dir, XenbusState state)
{
    char path[192];
    snprintf(path, sizeof(path), "%s/state", dir);
    return xs_printf(XBT_NIL, path, "%d", (int)state);
}

static unsigned token_seq;

int xenbus_wait_state(const char *otherend, XenbusState state)
{
    char path[192], token[32];
    snprintf(path, sizeof(path), "%s/state", otherend);
    snprintf(token, sizeof(token), "state%u", ++token_seq);
    int rc = xs_watch(path, token);
    if (rc < 0)
        return rc;
    int st;
    while ((st = xenbus_read_state(otherend)) < (int)state)
        xs_wait_watch(token, NULL, 0);
    xs_unwatch(path, token);
    return st;
}

/* Wait until path can be read (the toolstack may still be writing it). */
static int wait_read(const char *path, char *buf, size_t len)
{
    char token[32];
    snprintf(token, sizeof(token), "key%u", ++token_seq);
    int n = xs_read(XBT_NIL, path, buf, len);
    if (n != -XEN_ENOENT)
        return n;
    int rc = xs_watch(path, token);
    if (rc < 0)
        return rc;
    while ((n = xs_read(XBT_NIL, path, buf, len)) == -XEN_ENOENT)
        xs_wait_watch(token, NULL, 0);
    xs_unwatch(path, token);
    return n;
}

int xenbus_frontend_device(const char *cls, int devid, struct xenbus_device *dev)
{
    char path[192], buf[32];
    *dev = (struct xenbus_device){.devid = devid};
    snprintf(dev->nodename, sizeof(dev->nodename), "/local/domain/%u/device/%s/%d", xen_domid, cls,
             devid);
    snprintf(path, sizeof(path), "%s/backend-id", dev->nodename);
    int rc = wait_read(path, buf, sizeof(buf));
    if (rc < 0)
        return rc;
    dev->otherend_id = (int)strtol(buf, NULL, 10);
    snprintf(path, sizeof(path), "%s/backend", dev->nodename);
    rc = wait_read(path, dev->otherend, sizeof(dev->otherend));
    return rc < 0 ? rc : 0;
}

/* Lowest numeric entry of a NUL-separated name list, -1 if none. */
static long lowest_number(const char *names, int count)
{
    long best = -1;
    for (int i = 0; i < count; i++, names += strlen(names) + 1) {
        char *end;
        long v = strtol(names, &end, 10);
        if (end != names && !*end && (best < 0 || v < best))
            best = v;
    }
    return best;
}

static int try_backend_device(const char *base, struct xenbus_device *dev)
{
    char names[512], path[192], buf[32];
    int n = xs_directory(XBT_NIL, base, names, sizeof(names));
    long fe = n > 0 ? lowest_number(names, n) : -1;
    if (fe < 0)
        return 0;
    snprintf(path, sizeof(path), "%s/%ld", base, fe);
    n = xs_directory(XBT_NIL, path, names, sizeof(names));
    long devid = n > 0 ? lowest_number(names, n) : -1;
    if (devid < 0)
        return 0;
    snprintf(dev->nodename, sizeof(dev->nodename), "%s/%ld/%ld", base, fe, devid);
    snprintf(path, sizeof(path), "%s/frontend-id", dev->nodename);
    if (xs_read(XBT_NIL, path, buf, sizeof(buf)) < 0)
        return 0;
    dev->otherend_id = (int)strtol(buf, NULL, 10);
    snprintf(path, sizeof(path), "%s/frontend", dev->nodename);
    if (xs_read(XBT_NIL, path, dev->otherend, sizeof(dev->otherend)) < 0)
        return 0;
    dev->devid = (int)devid;
    return 1;
}

int xenbus_backend_device(const char *cls, struct xenbus_device *dev)
{
    char base[128], token[32];
    *dev = (struct xenbus_device){0};
    snprintf(base, sizeof(base), "/local/domain/%u/backend/%s", xen_domid, cls);
    snprintf(token, sizeof(token), "bedev%u", ++token_seq);
    int rc = xs_watch(base, token);
    if (rc < 0)
        return rc;
    while (!try_backend_device(base, dev))
        xs_wait_watch(token, NULL, 0);
    xs_unwatch(base, token);
    return 0;
}

int xenbus_init(void)
{
    intf = pfn_to_virt(start_info->store_mfn);
    store_port = start_info->store_evtchn;
    evtchn_program_port(store_port);
    int rc = evtchn_attach(store_port, store_handler, NULL);
    if (rc)
        panic("xenbus: cannot attach store event channel %u: %d", store_port, rc);
    long id;
    rc = xs_read_int(XBT_NIL, "domid", &id);
    if (rc == 0)
        xen_domid = (domid_t)id;
    else if (start_info->flags & SIF_INITDOMAIN)
        xen_domid = 0;
    else
        panic("xenbus: cannot read our domid from xenstore: %d", rc);
    return 0;
}

void xenbus_backend_scan(const char *base,
                         void (*fn)(const char *base, long fe, long devid, void *ctx), void *ctx)
{
    static char fes[2048], ids[512]; /* a few hundred frontends; not reentrant */
    char path[160];
    int nfe = xs_directory(XBT_NIL, base, fes, sizeof(fes));
    const char *f = fes;
    for (int i = 0; i < nfe; i++, f += strlen(f) + 1) {
        char *end;
        long fe = strtol(f, &end, 10);
        if (*end)
            continue;
        snprintf(path, sizeof(path), "%s/%s", base, f);
        int nid = xs_directory(XBT_NIL, path, ids, sizeof(ids));
        const char *s = ids;
        for (int j = 0; j < nid; j++, s += strlen(s) + 1) {
            long devid = strtol(s, &end, 10);
            if (!*end)
                fn(base, fe, devid, ctx);
        }
    }
}

long xs_read_long(const char *dir, const char *key, long def)
{
    char path[192];
    long v;
    snprintf(path, sizeof(path), "%s/%s", dir, key);
    return xs_read_int(XBT_NIL, path, &v) ? def : v;
}

/* Lowest numeric name of a NUL-separated list of n names, or -1. */
static long lowest_name(const char *names, int n)
{
    long best = -1;
    for (int i = 0; i < n; i++, names += strlen(names) + 1) {
        char *end;
        long v = strtol(names, &end, 10);
        if (end != names && !*end && v >= 0 && (best < 0 || v < best))
            best = v;
    }
    return best;
}

int xenbus_frontend_lowest(const char *cls)
{
    char dir[64], names[256], token[40];
    snprintf(dir, sizeof(dir), "/local/domain/%u/device/%s", xen_domid, cls);
    snprintf(token, sizeof(token), "%sdir", cls);
    int rc = xs_watch(dir, token);
    long devid;
    while ((devid = lowest_name(names, xs_directory(XBT_NIL, dir, names, sizeof(names)))) < 0 &&
           !rc)
        rc = xs_wait_watch(token, NULL, 0);
    xs_unwatch(dir, token);
    return devid < 0 ? rc : (int)devid;
}

int xenbus_path_under(const char *dir, const char *path)
{
    size_t n = strlen(dir);
    return !strncmp(dir, path, n) && (path[n] == '/' || !path[n]);
}

/* A decimal id at *p up to the next '/' or the end; advances *p. */
static int path_id(const char **p, long *id)
{
    char *end;
    if (**p < '0' || **p > '9')
        return -1;
    *id = strtol(*p, &end, 10);
    if (*end && *end != '/')
        return -1;
    *p = end;
    return 0;
}

int xenbus_backend_node(const char *base, const char *path, long *fe, long *devid)
{
    if (!xenbus_path_under(base, path))
        return -1;
    const char *p = path + strlen(base);
    if (!*p)
        return 0;
    p++;
    if (path_id(&p, fe))
        return -1;
    if (!*p)
        return 1;
    p++;
    return path_id(&p, devid) ? -1 : 2;
}

int xenbus_backend_frontend(const char *node, long fe, char *fepath, size_t len)
{
    char path[192];
    snprintf(path, sizeof(path), "%s/frontend", node);
    if (xs_read(XBT_NIL, path, fepath, len) < 0 || xs_read_long(node, "frontend-id", -1) != fe)
        return -1;
    return 0;
}

void xenbus_backend_refuse(const char *node, const char *who, const char *why)
{
    char err[176];
    if (xenbus_read_state(node) > XenbusStateInitialising)
        return;
    printf("%s: %s refused: %s\n", who, node, why);
    snprintf(err, sizeof(err), "%s/error", node);
    xs_printf(XBT_NIL, err, "%s", why);
    xenbus_switch_state(node, XenbusStateClosed);
}

int xs_write_all(const char *dir, const struct xs_pair *pairs, unsigned n)
{
    char path[192];
    int rc;
    do {
        xs_tx_t t;
        rc = xs_transaction_start(&t);
        if (rc < 0)
            return rc;
        for (unsigned i = 0; i < n && !rc; i++) {
            snprintf(path, sizeof(path), "%s/%s", dir, pairs[i].key);
            rc = xs_write(t, path, pairs[i].value);
        }
        int end = xs_transaction_end(t, rc != 0);
        if (!rc)
            rc = end;
    } while (rc == -XEN_EAGAIN);
    return rc;
}
