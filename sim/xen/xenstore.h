/*
 * The xenstore model: the store tree, permissions, transactions and
 * watches, served over each domain's store ring (xen/io/xs_wire.h) the way
 * xenstored serves it.
 *
 * The simulator owns the timing: it calls xs_process() when a domain
 * notifies its store event channel and charges the cost per request
 * processed. Output (replies, watch events) is written into the rings; the
 * host is told which domains to notify through ops->notify. Output that
 * does not fit the ring is queued and flushed on the next xs_process (or
 * xs_tool_*, xs_introduce, xs_release) call, as xenstored does.
 *
 * Errors are xenstored's: replies of type XS_ERROR carrying the errno name
 * ("ENOENT", "EACCES", "EINVAL", "EAGAIN", "E2BIG", "EEXIST", "ENOSPC",
 * "EQUOTA"...), never a crash. A malformed message (len > XENSTORE_PAYLOAD_MAX,
 * bad type) gets the error reply where one can be given, otherwise the
 * ring's connection is marked broken (`error` field) and that domain only
 * is dropped. A request that finds the store inconsistent changes nothing
 * and fails its connection the same way (XENSTORE_ERROR_COMM).
 */
#ifndef HOPSIM_XENSTORE_H
#define HOPSIM_XENSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct xenstore_domain_interface;

struct xs_host_ops {
    void *opaque;
    /* The store has written output to domid's ring: raise its store event. */
    void (*notify)(void *opaque, int domid);
};

struct xs_counts {
    uint64_t requests;     /* requests completed in this call */
    uint64_t watch_events; /* watch events written in this call */
    uint64_t errors;       /* XS_ERROR replies in this call */
};

struct xs;

struct xs *xs_create(const struct xs_host_ops *ops);
void xs_destroy(struct xs *xs);

/* Attach domid's ring (host pointer into its store page). Domid 0 is privileged. */
int xs_introduce(struct xs *xs, int domid, struct xenstore_domain_interface *ring);
/* Forget a domain: its watches and transactions go, its ring is not touched again. */
void xs_release(struct xs *xs, int domid);

/* Handle every complete request on domid's ring. Adds to *c if non-NULL. */
int xs_process(struct xs *xs, int domid, struct xs_counts *c);

/* Toolstack access, as dom0 with full rights; fires watches like a ring write. */
int xs_tool_write(struct xs *xs, const char *path, const char *value); /* 0 or -errno */
int xs_tool_mkdir(struct xs *xs, const char *path);
int xs_tool_rm(struct xs *xs, const char *path);
/* Returns value length, or -errno; value is NUL-terminated and truncated to len. */
int xs_tool_read(struct xs *xs, const char *path, char *buf, size_t len);
/*
 * Set permissions like xenstore-chmod: owner gets full rights, `def` is the
 * default for others ('n' none, 'r' read, 'w' write, 'b' both); then pairs
 * of (domid, perm) in extra[] (n_extra pairs).
 */
int xs_tool_set_perms(struct xs *xs, const char *path, int owner, char def, const int *extra_dom,
                      const char *extra_perm, int n_extra);

/*
 * Walk the whole store and check its invariants (a tree: every node listed
 * by its parent, every listed child present, children sorted, owned-node
 * counts exact). NULL if they hold, else what is wrong. For tests and fuzzing;
 * the store checks what each commit changes itself, in every build.
 */
const char *xs_check(struct xs *xs);
/* Invariant violations caught so far (each failed one connection). */
uint64_t xs_faults(const struct xs *xs);

#endif
