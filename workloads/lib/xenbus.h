/*
 * Xenstore client over the store ring (xen/io/xs_wire.h) and the XenBus
 * device handshake (xen/io/xenbus.h).
 *
 * One request at a time: a request is written to the req ring, the store
 * event channel is notified, and the caller blocks (events_block) until
 * the reply with its req_id arrives. Watch events that arrive meanwhile
 * are queued and consumed by xs_wait_watch(). Relative paths are relative
 * to /local/domain/<our domid>, as xenstored resolves them.
 *
 * Results: >= 0 on success, or a negative Xen errno (-XEN_ENOENT ...)
 * mapped from xenstored's error string. Call from program context only,
 * never from an event handler.
 */
#ifndef GUEST_XENBUS_H
#define GUEST_XENBUS_H

#include <stddef.h>

#include "console.h"
#include "xenif.h"

typedef uint32_t xs_tx_t;
#define XBT_NIL 0u

int xenbus_init(void);
/* Nonzero while a request waits for its reply (no other request may start). */
extern int xs_talking;

/* Value of path into buf (NUL-terminated, truncated to len-1): length, or -errno. */
int xs_read(xs_tx_t t, const char *path, char *buf, size_t len);
int xs_write(xs_tx_t t, const char *path, const char *value);
int xs_mkdir(xs_tx_t t, const char *path);
int xs_rm(xs_tx_t t, const char *path);
/* Children of path as NUL-separated names in buf: count, or -errno. */
int xs_directory(xs_tx_t t, const char *path, char *buf, size_t len);
int xs_watch(const char *path, const char *token);
/* XS_IS_DOMAIN_INTRODUCED: 1 if domid has a live store connection, 0 if not, or -errno. */
int xs_is_domain_introduced(unsigned domid);
/* Also drops queued events for this token. */
int xs_unwatch(const char *path, const char *token);
int xs_transaction_start(xs_tx_t *t);
/* abort != 0 discards; -XEN_EAGAIN means the transaction must be retried. */
int xs_transaction_end(xs_tx_t t, int abort);

/* Helpers: integer read (decimal), printf-style write. */
int xs_read_int(xs_tx_t t, const char *path, long *val);
/*
 * dir/key = value for every pair, in one transaction retried while
 * xenstored answers -XEN_EAGAIN (the frontend's handshake keys appear
 * together): 0 or a negative Xen errno.
 */
struct xs_pair {
    const char *key, *value;
};
int xs_write_all(const char *dir, const struct xs_pair *pairs, unsigned n);
/* The integer at dir/key, or def when it is missing or not a number. */
long xs_read_long(const char *dir, const char *key, long def);
int xs_printf(xs_tx_t t, const char *path, const char *fmt, ...) __printf(3, 4);

/*
 * Take one queued watch event whose token equals `token` (any if NULL),
 * blocking until there is one; its path goes to path (if non-NULL).
 */
int xs_wait_watch(const char *token, char *path, size_t len);
/* Same, without blocking: 1 if an event was taken, 0 if none is queued. */
int xs_poll_watch(const char *token, char *path, size_t len);
/* Watch events dropped so far because the queue was full (the watcher must rescan). */
extern unsigned long xs_watch_dropped;

/* ---- XenBus device handshake ---- */

/* <dir>/state as a XenbusState; XenbusStateUnknown (0) if missing or unreadable. */
int xenbus_read_state(const char *dir);
int xenbus_switch_state(const char *dir, XenbusState state);
/*
 * Block until <otherend>/state >= state (states advance Initialising ...
 * Closed); returns the state found, so the caller can tell a peer that is
 * Closing when it waited for Connected.
 */
int xenbus_wait_state(const char *otherend, XenbusState state);

/* One end of a split device, as the toolstack writes it. */
struct xenbus_device {
    char nodename[128]; /* our directory */
    char otherend[128]; /* the other end's directory */
    int otherend_id;    /* the other end's domid */
    int devid;
};

/*
 * Frontend: our lowest-numbered device of `cls` (e.g. "vbd"), waiting for
 * the toolstack to create one: the devid, or a negative Xen errno.
 */
int xenbus_frontend_lowest(const char *cls);
/* Frontend: /local/domain/<self>/device/<class>/<devid> and its "backend", "backend-id". */
int xenbus_frontend_device(const char *cls, int devid, struct xenbus_device *dev);
/*
 * Backend: wait until a device of `cls` appears under
 * /local/domain/<self>/backend/<cls>/<frontend-id>/<devid> with "frontend"
 * and "frontend-id", and return the first one (lowest ids).
 */
int xenbus_backend_device(const char *cls, struct xenbus_device *dev);
/*
 * Backend: call fn(base, frontend-id, devid, ctx) for every device directory
 * base/<frontend-id>/<devid> (numeric names only) under a backend class
 * directory such as /local/domain/<self>/backend/vbd.
 */
void xenbus_backend_scan(const char *base,
                         void (*fn)(const char *base, long fe, long devid, void *ctx), void *ctx);
/*
 * Backend: where a watch event's path lies under a backend class directory
 * `base`, as Linux's xenbus_dev_changed finds the device node in it: -1
 * outside base, 0 base itself, 1 base/<frontend-id>, 2 the device
 * base/<frontend-id>/<devid> or a key below it (*fe and *devid set).
 */
int xenbus_backend_node(const char *base, const char *path, long *fe, long *devid);
/* 1 if path is dir or lies below it. */
int xenbus_path_under(const char *dir, const char *path);
/*
 * Backend: read the device directory `node`'s "frontend" path into fepath
 * and check its "frontend-id" is fe: 0, or -1 while the toolstack has not
 * written both yet.
 */
int xenbus_backend_frontend(const char *node, long fe, char *fepath, size_t len);
/*
 * Backend: refuse the device at `node` visibly, as Linux's
 * xenbus_dev_fatal does, instead of leaving its frontend waiting: an
 * "error" node with `why`, then Closed -- unless it is already past
 * Initialising. `who` prefixes the console message.
 */
void xenbus_backend_refuse(const char *node, const char *who, const char *why);

#endif
