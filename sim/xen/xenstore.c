/*
 * The xenstore model: xenstored as a library (interface in xenstore.h).
 *
 * The store is a key/value database of nodes keyed by absolute path, as in
 * xenstored: each node record holds its value, its permission list and the
 * names of its children. Requests arrive on each domain's store ring
 * (xen/io/xs_wire.h) and are answered with xenstored's replies and errors;
 * docs/misc/xenstore.txt in the Xen tree is the reference, and where it is
 * silent the C xenstored's behaviour is followed.
 *
 * Assumptions and choices:
 * - Single-threaded: the simulator calls in while the guest is stopped, so
 *   ring indices are read once per access (snapshot) and no locking is done.
 * - The rings are byte streams, as for xenstored: a request is consumed as
 *   its bytes arrive and buffered until complete (a 4096-byte payload cannot
 *   sit whole in a 1024-byte ring); replies and watch events are written as
 *   far as the ring has room and the rest is queued per domain and written
 *   on a later xs_process() (or any later call that produces output).
 *   rsp_prod is advanced only after the bytes are in place.
 * - Broken rings: a header with len > XENSTORE_PAYLOAD_MAX sets the ring's
 *   `error` to XENSTORE_ERROR_PROTO (as xenstored does; xs_wire.h names it
 *   "payload too long"); producer/consumer indices more than a ring apart
 *   set XENSTORE_ERROR_RINGIDX. The domain is then ignored: its watches,
 *   transactions and output are dropped, other domains are unaffected.
 * - Children are listed in byte-sorted order (deterministic; xenstored lists
 *   them in creation order). Nothing depends on pointers, hashing order or
 *   time: the node table is hashed with fixed FNV-1a and never iterated for
 *   output; domains are kept sorted by domid, watches in creation order.
 * - Limits (xenstored's errors): 16 open transactions per domU (ENOSPC),
 *   128 watches per domU (E2BIG), 2000 nodes owned per domU (ENOSPC, also
 *   checked at commit), 5 permission entries set by a domU (ENOSPC), 1024
 *   nodes touched by a domU transaction (ENOSPC, checked per request).
 *   Dom0 is exempt, as the privileged domain is in xenstored.
 * - Watch events go to a domain if it is dom0 or can read the changed node
 *   (old or new permissions) or its parent, as xenstored's watch_permitted.
 *   XS_RM fires once for the removed node (recursively: watches on it and
 *   its ancestors) and once per removed descendant on watches set exactly
 *   on that descendant; xenstored also fires a second, exact event for the
 *   removed node itself, which is omitted here (one event per watch).
 *   Special events (@introduceDomain, @releaseDomain) match only watches on
 *   that exact name and go to dom0 and to domains the special node's
 *   permissions (settable with SET_PERMS) let read.
 * - Transactions work on a snapshot of the whole store taken at their start
 *   and check, at commit, that every path they accessed still has the
 *   generation it had then (EAGAIN otherwise); every change outside a
 *   transaction is a one-operation transaction, so the global store changes
 *   only by a checked commit (xs_txn.c). Their watch events are queued (one
 *   per path) and fired on a successful commit.
 * - A watch event whose payload would exceed XENSTORE_PAYLOAD_MAX, or that
 *   would grow a domain's queued output beyond 1 MiB, is dropped: xenstored
 *   also drops events for clients over quota. A domain with 20 or more
 *   queued messages is not read further until its output drains.
 * - xs_release keeps the released domain's nodes (the toolstack removes
 *   /local/domain/<id>); xs_process returns 0, -ENOENT for an unknown
 *   domain, or -EPROTO once the domain's ring is broken.
 * - The store's invariants (a tree: every node listed by its parent, every
 *   listed child present, owned-node counts exact) are checked by ordinary
 *   code in every build, at each commit around what it changes; a violation
 *   fails the connection whose request found it (its ring gets
 *   XENSTORE_ERROR_COMM and is ignored from then on; the toolstack gets
 *   -EIO), never the process. Running out of host memory aborts.
 *
 * This file: the rings, output queues, connections and the public
 * interface; xs_internal.h lists the others.
 */
#include "xs_internal.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- ring I/O ---- */

static bool ring_idx_ok(uint32_t cons, uint32_t prod)
{
    return prod - cons <= XENSTORE_RING_SIZE;
}

/* Copy up to len request bytes out of the ring; bytes read or -1 (bad indices). */
static int ring_read(struct xenstore_domain_interface *r, void *dst, uint32_t len)
{
    uint32_t cons = r->req_cons, prod = r->req_prod;
    if (!ring_idx_ok(cons, prod))
        return -1;
    atomic_thread_fence(memory_order_acquire);
    uint32_t n = prod - cons < len ? prod - cons : len;
    for (uint32_t done = 0; done < n;) {
        uint32_t off = MASK_XENSTORE_IDX(cons + done);
        uint32_t chunk = XENSTORE_RING_SIZE - off;
        if (chunk > n - done)
            chunk = n - done;
        memcpy((char *)dst + done, r->req + off, chunk);
        done += chunk;
    }
    atomic_thread_fence(memory_order_release);
    r->req_cons = cons + n;
    return (int)n;
}

/* Copy up to len reply bytes into the ring; bytes written or -1 (bad indices). */
static int ring_write(struct xenstore_domain_interface *r, const void *src, uint32_t len)
{
    uint32_t cons = r->rsp_cons, prod = r->rsp_prod;
    if (!ring_idx_ok(cons, prod))
        return -1;
    uint32_t space = XENSTORE_RING_SIZE - (prod - cons);
    uint32_t n = space < len ? space : len;
    for (uint32_t done = 0; done < n;) {
        uint32_t off = MASK_XENSTORE_IDX(prod + done);
        uint32_t chunk = XENSTORE_RING_SIZE - off;
        if (chunk > n - done)
            chunk = n - done;
        memcpy(r->rsp + off, (const char *)src + done, chunk);
        done += chunk;
    }
    atomic_thread_fence(memory_order_release);
    r->rsp_prod = prod + n;
    return (int)n;
}

/* ---- output queue ---- */

void out_push(struct xs_dom *d, uint32_t type, uint32_t req_id, uint32_t tx_id, const void *a,
              uint32_t alen, const void *b, uint32_t blen)
{
    struct xsd_sockmsg h = {type, req_id, tx_id, alen + blen};
    uint32_t len = (uint32_t)sizeof(h) + alen + blen;
    struct outmsg *m = xs_zalloc(sizeof(*m) + len);
    m->len = len;
    memcpy(m->buf, &h, sizeof(h));
    if (alen)
        memcpy(m->buf + sizeof(h), a, alen);
    if (blen)
        memcpy(m->buf + sizeof(h) + alen, b, blen);
    *d->out_tail = m;
    d->out_tail = &m->next;
    d->out_n++;
    d->out_bytes += len;
}

static void out_free(struct xs_dom *d)
{
    struct outmsg *m = d->out, *next;
    for (; m; m = next) {
        next = m->next;
        free(m);
    }
    d->out = NULL;
    d->out_tail = &d->out;
    d->out_n = 0;
    d->out_bytes = 0;
}

/* Write queued output into the ring as far as it fits; -1 on bad ring indices. */
static int dom_flush(struct xs_dom *d)
{
    while (d->out) {
        struct outmsg *m = d->out;
        int n = ring_write(d->ring, m->buf + m->off, m->len - m->off);
        if (n < 0)
            return -1;
        if (n > 0)
            d->wrote = true;
        m->off += (uint32_t)n;
        if (m->off < m->len)
            break;
        d->out = m->next;
        if (!d->out)
            d->out_tail = &d->out;
        d->out_n--;
        d->out_bytes -= m->len;
        free(m);
    }
    return 0;
}

/* ---- domains ---- */

struct xs_dom *dom_find(struct xs *xs, uint32_t domid)
{
    for (struct xs_dom *d = xs->doms; d; d = d->next)
        if (d->domid == domid)
            return d;
    return NULL;
}

void txns_free(struct xs_dom *d)
{
    struct txn *t = d->txns, *next;
    for (; t; t = next) {
        next = t->next;
        txn_free(t);
    }
    d->txns = NULL;
    d->ntxn = 0;
}

static void input_reset(struct xs_dom *d)
{
    free(d->in);
    d->in = NULL;
    d->in_used = 0;
    d->hdr_used = 0;
}

/* xenstored's ignore_connection: flag the ring and drop the domain's state. */
static void dom_break(struct xs_dom *d, uint32_t err)
{
    d->ring->error = err;
    d->broken = true;
    watches_free(d);
    txns_free(d);
    out_free(d);
    input_reset(d);
}

static void dom_free(struct xs_dom *d)
{
    watches_free(d);
    txns_free(d);
    out_free(d);
    input_reset(d);
    free(d);
}

/* Flush every domain's output, then notify those that got bytes, in domid order. */
static void flush_all(struct xs *xs)
{
    for (struct xs_dom *d = xs->doms; d; d = d->next) {
        if (!d->broken && d->out && dom_flush(d) < 0)
            dom_break(d, XENSTORE_ERROR_RINGIDX);
    }
    for (struct xs_dom *d = xs->doms; d; d = d->next) {
        if (d->wrote && xs->ops.notify)
            xs->ops.notify(xs->ops.opaque, (int)d->domid);
        d->wrote = false;
    }
}

/* Serve the complete request buffered in d. */
static void handle_request(struct xs *xs, struct xs_dom *d)
{
    struct req rq = {d->hdr, d->in, d->hdr.len};
    struct op op = {xs, d->domid, d, NULL, &xs->st, NULL};
    int err = xs_dispatch(&op, &rq);
    if (xs->cnt)
        xs->cnt->requests++;
    if (op.fault) {
        /* the request found the store inconsistent: nothing was applied;
           this connection is failed, the simulator and others go on */
        fprintf(stderr,
                "xenstore: domain %u request type %u: invariant violated (%s); "
                "connection closed\n",
                d->domid, rq.hdr.type, op.fault);
        xs->faults++;
        dom_break(d, XENSTORE_ERROR_COMM);
        return;
    }
    if (err)
        reply_error(&op, &rq, err);
    input_reset(d);
}

/* Pull request bytes: 1 when a whole request is buffered, 0 if more are needed, -error. */
static int read_request(struct xs_dom *d)
{
    if (d->hdr_used < sizeof(d->hdr)) {
        int n = ring_read(d->ring, (char *)&d->hdr + d->hdr_used,
                          (uint32_t)sizeof(d->hdr) - d->hdr_used);
        if (n < 0)
            return -XENSTORE_ERROR_RINGIDX;
        d->hdr_used += (uint32_t)n;
        if (d->hdr_used < sizeof(d->hdr))
            return 0;
        if (d->hdr.len > XENSTORE_PAYLOAD_MAX)
            return -XENSTORE_ERROR_PROTO;
        d->in = xs_zalloc((size_t)d->hdr.len + 1);
        d->in_used = 0;
    }
    int n = ring_read(d->ring, d->in + d->in_used, d->hdr.len - d->in_used);
    if (n < 0)
        return -XENSTORE_ERROR_RINGIDX;
    d->in_used += (uint32_t)n;
    return d->in_used == d->hdr.len;
}

/* ---- public interface ---- */

static void store_seed(struct xs *xs)
{
    static const char *const initial[] = {"/", "/tool", "/tool/xenstored"};
    store_init(&xs->st);
    for (size_t i = 0; i < sizeof(initial) / sizeof(initial[0]); i++) {
        struct node *n = node_new(initial[i]);
        acl_init(&n->acl, 0, 0);
        if (i + 1 < sizeof(initial) / sizeof(initial[0]))
            kid_add(n, path_base(initial[i + 1]));
        n->gen = ++xs->gen;
        nmap_put(&xs->st.nodes, n);
        (*own_slot(&xs->st, 0))++;
    }
}

struct xs *xs_create(const struct xs_host_ops *ops)
{
    struct xs *xs = xs_zalloc(sizeof(*xs));
    if (ops)
        xs->ops = *ops;
    for (int i = 0; i < 2; i++)
        acl_init(&xs->special[i], 0, 0);
    store_seed(xs);
    return xs;
}

void xs_destroy(struct xs *xs)
{
    if (!xs)
        return;
    struct xs_dom *d = xs->doms, *next;
    for (; d; d = next) {
        next = d->next;
        dom_free(d);
    }
    store_free(&xs->st);
    for (int i = 0; i < 2; i++)
        acl_free(&xs->special[i]);
    free(xs);
}

int xs_introduce(struct xs *xs, int domid, struct xenstore_domain_interface *ring)
{
    if (!ring || domid < 0 || domid > XS_DOMID_MAX)
        return -EINVAL;
    if (dom_find(xs, (uint32_t)domid))
        return -EEXIST;
    struct xs_dom *d = xs_zalloc(sizeof(*d));
    d->domid = (uint32_t)domid;
    d->ring = ring;
    d->out_tail = &d->out;
    d->watch_tail = &d->watches;
    d->next_txid = 1;
    ring->server_features |= XENSTORE_SERVER_FEATURE_ERROR;
    struct xs_dom **pp = &xs->doms;
    while (*pp && (*pp)->domid < d->domid)
        pp = &(*pp)->next;
    d->next = *pp;
    *pp = d;
    fire_special(xs, 0);
    flush_all(xs);
    return 0;
}

void xs_release(struct xs *xs, int domid)
{
    struct xs_dom **pp = &xs->doms;
    while (*pp && (int)(*pp)->domid != domid)
        pp = &(*pp)->next;
    if (!*pp)
        return;
    struct xs_dom *d = *pp;
    *pp = d->next;
    dom_free(d);
    fire_special(xs, 1);
    flush_all(xs);
}

int xs_process(struct xs *xs, int domid, struct xs_counts *c)
{
    struct xs_dom *d = domid < 0 ? NULL : dom_find(xs, (uint32_t)domid);
    if (!d)
        return -ENOENT;
    if (d->broken)
        return -EPROTO;
    xs->cnt = c;
    if (dom_flush(d) < 0)
        dom_break(d, XENSTORE_ERROR_RINGIDX);
    while (!d->broken && d->out_n < XS_MAX_OUTSTANDING) {
        int r = read_request(d);
        if (r < 0)
            dom_break(d, (uint32_t)-r);
        if (r <= 0)
            break;
        handle_request(xs, d);
        if (dom_flush(d) < 0)
            dom_break(d, XENSTORE_ERROR_RINGIDX);
    }
    flush_all(xs);
    xs->cnt = NULL;
    return d->broken ? -EPROTO : 0;
}

/* The toolstack acts as dom0 without a ring; each xs_tool_* then delivers its events. */
static struct op tool_op(struct xs *xs)
{
    struct op op = {xs, 0, NULL, NULL, &xs->st, NULL};
    return op;
}

/* A toolstack call's result: -errno, and a found inconsistency reported. */
static int tool_done(struct op *op, int err)
{
    if (op->fault) {
        fprintf(stderr, "xenstore: toolstack request: invariant violated (%s)\n", op->fault);
        op->xs->faults++;
        err = EIO;
    }
    flush_all(op->xs);
    return -err;
}

int xs_tool_write(struct xs *xs, const char *path, const char *value)
{
    struct op op = tool_op(xs);
    size_t len = strlen(value);
    if (len > XENSTORE_PAYLOAD_MAX)
        return -E2BIG;
    return tool_done(&op, op_write(&op, path, value, (uint32_t)len));
}

int xs_tool_mkdir(struct xs *xs, const char *path)
{
    struct op op = tool_op(xs);
    return tool_done(&op, op_mkdir(&op, path));
}

int xs_tool_rm(struct xs *xs, const char *path)
{
    struct op op = tool_op(xs);
    return tool_done(&op, op_rm(&op, path));
}

int xs_tool_read(struct xs *xs, const char *path, char *buf, size_t len)
{
    struct op op = tool_op(xs);
    int err;
    const struct node *n = op_lookup(&op, path, &err);
    if (!n)
        return -err;
    if (len) {
        size_t k = n->vlen < len - 1 ? n->vlen : len - 1;
        memcpy(buf, n->val, k);
        buf[k] = '\0';
    }
    return (int)n->vlen;
}

int xs_tool_set_perms(struct xs *xs, const char *path, int owner, char def, const int *extra_dom,
                      const char *extra_perm, int n_extra)
{
    if (owner < 0 || owner > 65535 || perm_from_char(def) < 0 || n_extra < 0 ||
        (n_extra > 0 && (!extra_dom || !extra_perm)))
        return -EINVAL;
    struct acl acl = {(uint32_t)n_extra + 1, xs_zalloc(sizeof(struct acl_ent) * (n_extra + 1))};
    acl.e[0].dom = (uint32_t)owner;
    acl.e[0].perm = (uint32_t)perm_from_char(def);
    int err = 0;
    for (int i = 0; i < n_extra && !err; i++) {
        int p = perm_from_char(extra_perm[i]);
        if (p < 0 || extra_dom[i] < 0 || extra_dom[i] > 65535)
            err = EINVAL;
        acl.e[i + 1].dom = (uint32_t)extra_dom[i];
        acl.e[i + 1].perm = (uint32_t)p;
    }
    struct op op = tool_op(xs);
    if (!err)
        err = op_set_perms(&op, path, &acl);
    acl_free(&acl);
    return tool_done(&op, err);
}

const char *xs_check(struct xs *xs)
{
    return store_check(&xs->st);
}

uint64_t xs_faults(const struct xs *xs)
{
    return xs->faults;
}
