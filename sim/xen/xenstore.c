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
 * - Transactions copy each node on first access and check, at commit, that
 *   every node they accessed still has the generation it had then (EAGAIN
 *   otherwise); their watch events are queued (one per path) and fired
 *   on a successful commit.
 * - A watch event whose payload would exceed XENSTORE_PAYLOAD_MAX, or that
 *   would grow a domain's queued output beyond 1 MiB, is dropped: xenstored
 *   also drops events for clients over quota. A domain with 20 or more
 *   queued messages is not read further until its output drains.
 * - INTRODUCE and SET_TARGET over a ring answer ENOSYS (the host introduces
 *   domains with xs_introduce); CONTROL/DEBUG answers EINVAL; unknown types
 *   answer ENOSYS, as both xenstored and oxenstored do.
 * - xs_release keeps the released domain's nodes (the toolstack removes
 *   /local/domain/<id>); xs_process returns 0, -ENOENT for an unknown
 *   domain, or -EPROTO once the domain's ring is broken.
 * - Host invariants are assert()s; running out of host memory aborts.
 */
#include "xenstore.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xen/io/xs_wire.h>

#define XS_MAX_TXN 16
#define XS_MAX_WATCHES 128
#define XS_MAX_NODES 2000
#define XS_MAX_PERMS 5
#define XS_MAX_TXN_NODES 1024
#define XS_MAX_OUTSTANDING 20
#define XS_MAX_OUT_BYTES (1u << 20)
#define XS_DOMID_MAX 0x7FEF /* DOMID_FIRST_RESERVED - 1 */
#define NO_GEN UINT64_MAX

#define PERM_R 1u
#define PERM_W 2u
#define PERM_O 4u

#define PATH_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-/_@"

static const char *const special_names[2] = {"@introduceDomain", "@releaseDomain"};

/* ---- data structures ---- */

struct acl_ent {
    uint32_t dom;
    uint32_t perm; /* PERM_R | PERM_W */
};

/* e[0] is the owner and the default for domains not listed after it. */
struct acl {
    uint32_t n;
    struct acl_ent *e;
};

struct node {
    char *path;
    char *val;
    uint32_t vlen;
    struct acl acl;
    char **kids; /* sorted by strcmp */
    uint32_t nkids, kcap;
    uint64_t gen;
    struct node *hnext;
};

struct nmap {
    struct node **b;
    size_t nb, n;
};

struct watch {
    char *path; /* canonical absolute path or @special */
    char *token;
    bool rel;
    struct watch *next;
};

/* A node accessed by a transaction: its view there (NULL = absent). */
struct tacc {
    char *path;
    struct node *view;
    uint64_t gen; /* global generation at first access, NO_GEN if absent */
    bool modified;
    struct tacc *next;
};

struct tevent {
    char *path;
    bool exact;
    struct acl a1, a2; /* node permissions at the change (a2: old perms) */
    struct tevent *next;
};

struct tdelta {
    uint32_t dom;
    int delta;
};

struct txn {
    uint32_t id;
    struct tacc *acc, **acc_tail;
    uint32_t nacc;
    struct tevent *ev, **ev_tail;
    struct tdelta *dl;
    uint32_t ndl;
    struct txn *next;
};

struct outmsg {
    struct outmsg *next;
    uint32_t len, off;
    char buf[];
};

struct xs_dom {
    uint32_t domid;
    struct xenstore_domain_interface *ring;
    bool broken, wrote;
    struct xsd_sockmsg hdr; /* request being received */
    uint32_t hdr_used;
    char *in; /* payload buffer, hdr.len + 1 bytes */
    uint32_t in_used;
    struct outmsg *out, **out_tail;
    uint32_t out_n;
    size_t out_bytes;
    struct watch *watches, **watch_tail;
    uint32_t nwatch;
    struct txn *txns;
    uint32_t ntxn, next_txid;
    struct xs_dom *next; /* sorted by domid */
};

struct owner {
    uint32_t dom;
    uint32_t n;
};

struct xs {
    struct xs_host_ops ops;
    struct nmap nodes;
    uint64_t gen;
    struct xs_dom *doms;
    struct owner *own;
    uint32_t nown, owncap;
    struct acl special[2];
    struct xs_counts *cnt; /* counters of the running xs_process, or NULL */
};

/* The caller of an operation: a domain over its ring, or the toolstack. */
struct op {
    struct xs *xs;
    uint32_t dom;
    struct xs_dom *d; /* NULL for the toolstack */
    struct txn *t;    /* NULL outside a transaction */
};

struct req {
    struct xsd_sockmsg hdr;
    const char *buf; /* hdr.len bytes, NUL-terminated one past */
    uint32_t len;
};

/* ---- allocation and strings ---- */

static void *xs_zalloc(size_t n)
{
    void *p = calloc(1, n ? n : 1);
    if (!p) {
        fputs("xenstore: out of host memory\n", stderr);
        abort();
    }
    return p;
}

static void *xs_grow(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) {
        fputs("xenstore: out of host memory\n", stderr);
        abort();
    }
    return q;
}

static char *xs_memdup(const void *s, size_t n)
{
    char *p = xs_zalloc(n + 1);
    memcpy(p, s, n);
    return p;
}

static char *xs_strdup(const char *s)
{
    return xs_memdup(s, strlen(s));
}

static char *xs_fmt(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    assert(n >= 0);
    char *p = xs_zalloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

/* Number of NUL-terminated strings in buf[0..len) (xenstored's get_strings). */
static uint32_t count_strings(const char *buf, uint32_t len)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < len; i++)
        n += buf[i] == '\0';
    return n;
}

/* Exactly one string, NUL-terminated at the end (xenstored's onearg). */
static const char *onearg(const struct req *rq)
{
    if (rq->len == 0 || strlen(rq->buf) + 1 != rq->len)
        return NULL;
    return rq->buf;
}

/* Strict decimal 0..max; false on anything else. */
static bool parse_uint(const char *s, uint32_t max, uint32_t *out)
{
    uint64_t v = 0;
    if (!*s)
        return false;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return false;
        v = v * 10 + (uint64_t)(*s - '0');
        if (v > max)
            return false;
    }
    *out = (uint32_t)v;
    return true;
}

/* ---- permissions ---- */

static void acl_free(struct acl *a)
{
    free(a->e);
    a->e = NULL;
    a->n = 0;
}

static void acl_copy(struct acl *dst, const struct acl *src)
{
    dst->n = src->n;
    dst->e = xs_zalloc(sizeof(*dst->e) * src->n);
    memcpy(dst->e, src->e, sizeof(*dst->e) * src->n);
}

static void acl_init(struct acl *a, uint32_t owner, uint32_t def)
{
    a->n = 1;
    a->e = xs_zalloc(sizeof(*a->e));
    a->e[0].dom = owner;
    a->e[0].perm = def;
}

static uint32_t acl_owner(const struct acl *a)
{
    assert(a->n >= 1);
    return a->e[0].dom;
}

/* xenstored's perm_for_conn: dom0 and the owner have every right. */
static uint32_t perm_for(uint32_t dom, const struct acl *a)
{
    if (dom == 0 || dom == acl_owner(a))
        return PERM_R | PERM_W | PERM_O;
    for (uint32_t i = 1; i < a->n; i++)
        if (a->e[i].dom == dom)
            return a->e[i].perm;
    return a->e[0].perm;
}

static int perm_from_char(char c)
{
    switch (c) {
    case 'n':
        return 0;
    case 'r':
        return PERM_R;
    case 'w':
        return PERM_W;
    case 'b':
        return PERM_R | PERM_W;
    default:
        return -1;
    }
}

static char perm_to_char(uint32_t p)
{
    static const char map[4] = {'n', 'r', 'w', 'b'};
    return map[p & 3u];
}

/* Parse n strings "<p><domid>" at s; 0 or EINVAL. */
static int acl_parse(const char *s, uint32_t n, struct acl *out)
{
    out->n = n;
    out->e = xs_zalloc(sizeof(*out->e) * n);
    for (uint32_t i = 0; i < n; i++, s += strlen(s) + 1) {
        int p = perm_from_char(s[0]);
        if (p < 0 || !parse_uint(s + 1, 65535, &out->e[i].dom)) {
            acl_free(out);
            return EINVAL;
        }
        out->e[i].perm = (uint32_t)p;
    }
    return 0;
}

/* ---- nodes ---- */

static struct node *node_new(const char *path)
{
    struct node *n = xs_zalloc(sizeof(*n));
    n->path = xs_strdup(path);
    n->val = xs_zalloc(1);
    return n;
}

static void node_free(struct node *n)
{
    if (!n)
        return;
    for (uint32_t i = 0; i < n->nkids; i++)
        free(n->kids[i]);
    free(n->kids);
    acl_free(&n->acl);
    free(n->val);
    free(n->path);
    free(n);
}

static struct node *node_dup(const struct node *src)
{
    struct node *n = node_new(src->path);
    free(n->val);
    n->val = xs_memdup(src->val, src->vlen);
    n->vlen = src->vlen;
    acl_copy(&n->acl, &src->acl);
    n->kcap = n->nkids = src->nkids;
    n->kids = xs_zalloc(sizeof(char *) * (src->nkids ? src->nkids : 1));
    for (uint32_t i = 0; i < src->nkids; i++)
        n->kids[i] = xs_strdup(src->kids[i]);
    n->gen = src->gen;
    return n;
}

static void node_set_val(struct node *n, const char *v, uint32_t len)
{
    free(n->val);
    n->val = xs_memdup(v, len);
    n->vlen = len;
}

/* Index of name in n->kids, or where it would be inserted. */
static uint32_t kid_pos(const struct node *n, const char *name, bool *found)
{
    uint32_t lo = 0, hi = n->nkids;
    *found = false;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        int c = strcmp(n->kids[mid], name);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void kid_add(struct node *n, const char *name)
{
    bool found;
    uint32_t i = kid_pos(n, name, &found);
    assert(!found);
    if (n->nkids == n->kcap) {
        n->kcap = n->kcap ? n->kcap * 2 : 4;
        n->kids = xs_grow(n->kids, sizeof(char *) * n->kcap);
    }
    memmove(&n->kids[i + 1], &n->kids[i], sizeof(char *) * (n->nkids - i));
    n->kids[i] = xs_strdup(name);
    n->nkids++;
}

static void kid_del(struct node *n, const char *name)
{
    bool found;
    uint32_t i = kid_pos(n, name, &found);
    assert(found);
    free(n->kids[i]);
    memmove(&n->kids[i], &n->kids[i + 1], sizeof(char *) * (n->nkids - i - 1));
    n->nkids--;
}

/* ---- the node table (fixed FNV-1a hash, never iterated for output) ---- */

static uint32_t path_hash(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

static struct node **map_slot(struct nmap *m, const char *path)
{
    struct node **pp = &m->b[path_hash(path) & (m->nb - 1)];
    while (*pp && strcmp((*pp)->path, path) != 0)
        pp = &(*pp)->hnext;
    return pp;
}

static struct node *map_get(struct nmap *m, const char *path)
{
    return *map_slot(m, path);
}

static void map_resize(struct nmap *m)
{
    size_t nb = m->nb * 2;
    struct node **b = xs_zalloc(sizeof(*b) * nb);
    for (size_t i = 0; i < m->nb; i++) {
        struct node *n = m->b[i], *next;
        for (; n; n = next) {
            next = n->hnext;
            size_t j = path_hash(n->path) & (nb - 1);
            n->hnext = b[j];
            b[j] = n;
        }
    }
    free(m->b);
    m->b = b;
    m->nb = nb;
}

static void map_put(struct nmap *m, struct node *n)
{
    if (m->n >= m->nb)
        map_resize(m);
    struct node **pp = map_slot(m, n->path);
    assert(!*pp);
    n->hnext = NULL;
    *pp = n;
    m->n++;
}

static struct node *map_take(struct nmap *m, const char *path)
{
    struct node **pp = map_slot(m, path);
    struct node *n = *pp;
    if (n) {
        *pp = n->hnext;
        n->hnext = NULL;
        m->n--;
    }
    return n;
}

static void map_free(struct nmap *m)
{
    for (size_t i = 0; i < m->nb; i++) {
        struct node *n = m->b[i], *next;
        for (; n; n = next) {
            next = n->hnext;
            node_free(n);
        }
    }
    free(m->b);
}

/* ---- paths ---- */

static bool path_valid(const char *p)
{
    size_t n = strlen(p);
    if (n == 0 || p[0] != '/' || n > XENSTORE_ABS_PATH_MAX)
        return false;
    if (n > 1 && p[n - 1] == '/')
        return false;
    if (strstr(p, "//"))
        return false;
    return strspn(p, PATH_CHARS) == n;
}

/* Parent of a valid path other than "/" (malloc'd). */
static char *path_parent(const char *p)
{
    const char *slash = strrchr(p, '/');
    assert(slash && strcmp(p, "/") != 0);
    if (slash == p)
        return xs_strdup("/");
    return xs_memdup(p, (size_t)(slash - p));
}

static const char *path_base(const char *p)
{
    return strrchr(p, '/') + 1;
}

static char *path_join(const char *dir, const char *name)
{
    return strcmp(dir, "/") == 0 ? xs_fmt("/%s", name) : xs_fmt("%s/%s", dir, name);
}

/* xenstored's is_child: child equals parent or lies below it. */
static bool path_is_child(const char *child, const char *parent)
{
    size_t n = strlen(parent);
    if (strcmp(parent, "/") == 0)
        return child[0] == '/';
    return strncmp(child, parent, n) == 0 && (child[n] == '/' || child[n] == '\0');
}

static char *dom_home(uint32_t domid)
{
    return xs_fmt("/local/domain/%u", domid);
}

/* Absolute, validated path for a request argument: 0 or EINVAL. */
static int path_canon(const struct op *op, const char *in, char **out)
{
    char *p;
    if (in[0] == '/') {
        p = xs_strdup(in);
    } else {
        if (!op->d || in[0] == '@' || strlen(in) > XENSTORE_REL_PATH_MAX)
            return EINVAL;
        p = xs_fmt("/local/domain/%u/%s", op->dom, in);
    }
    if (!path_valid(p)) {
        free(p);
        return EINVAL;
    }
    *out = p;
    return 0;
}

/* ---- per-domain owned-node counts (quota) ---- */

static uint32_t *own_slot(struct xs *xs, uint32_t dom)
{
    for (uint32_t i = 0; i < xs->nown; i++)
        if (xs->own[i].dom == dom)
            return &xs->own[i].n;
    if (xs->nown == xs->owncap) {
        xs->owncap = xs->owncap ? xs->owncap * 2 : 8;
        xs->own = xs_grow(xs->own, sizeof(*xs->own) * xs->owncap);
    }
    xs->own[xs->nown].dom = dom;
    xs->own[xs->nown].n = 0;
    return &xs->own[xs->nown++].n;
}

static void own_adj_global(struct xs *xs, uint32_t dom, int delta)
{
    uint32_t *n = own_slot(xs, dom);
    assert(delta >= 0 || *n >= (uint32_t)-delta);
    *n = (uint32_t)((int64_t)*n + delta);
}

static int *txn_delta(struct txn *t, uint32_t dom)
{
    for (uint32_t i = 0; i < t->ndl; i++)
        if (t->dl[i].dom == dom)
            return &t->dl[i].delta;
    t->dl = xs_grow(t->dl, sizeof(*t->dl) * (t->ndl + 1));
    t->dl[t->ndl].dom = dom;
    t->dl[t->ndl].delta = 0;
    return &t->dl[t->ndl++].delta;
}

static void own_adj(struct op *op, uint32_t dom, int delta)
{
    if (op->t)
        *txn_delta(op->t, dom) += delta;
    else
        own_adj_global(op->xs, dom, delta);
}

static int64_t own_count(struct op *op, uint32_t dom)
{
    int64_t n = *own_slot(op->xs, dom);
    return op->t ? n + *txn_delta(op->t, dom) : n;
}

/* ---- the store as seen by an operation (global, or a transaction's view) ---- */

static struct tacc *tacc_find(struct txn *t, const char *path)
{
    for (struct tacc *a = t->acc; a; a = a->next)
        if (strcmp(a->path, path) == 0)
            return a;
    return NULL;
}

/* The transaction's entry for path, created (a first read) if needed. */
static struct tacc *tacc_get(struct op *op, const char *path)
{
    struct tacc *a = tacc_find(op->t, path);
    if (a)
        return a;
    struct node *g = map_get(&op->xs->nodes, path);
    a = xs_zalloc(sizeof(*a));
    a->path = xs_strdup(path);
    a->view = g ? node_dup(g) : NULL;
    a->gen = g ? g->gen : NO_GEN;
    *op->t->acc_tail = a;
    op->t->acc_tail = &a->next;
    op->t->nacc++;
    return a;
}

static struct node *view_get(struct op *op, const char *path)
{
    if (op->t)
        return tacc_get(op, path)->view;
    return map_get(&op->xs->nodes, path);
}

/* n (from view_get) has been changed in place. */
static void view_dirty(struct op *op, struct node *n)
{
    n->gen = ++op->xs->gen;
    if (op->t) {
        struct tacc *a = tacc_find(op->t, n->path);
        assert(a && a->view == n);
        a->modified = true;
    }
}

/* Add a node absent from the view (takes ownership). */
static void view_insert(struct op *op, struct node *n)
{
    n->gen = ++op->xs->gen;
    own_adj(op, acl_owner(&n->acl), 1);
    if (op->t) {
        struct tacc *a = tacc_get(op, n->path);
        assert(!a->view);
        a->view = n;
        a->modified = true;
    } else {
        map_put(&op->xs->nodes, n);
    }
}

static void view_remove(struct op *op, const char *path)
{
    struct node *n;
    if (op->t) {
        struct tacc *a = tacc_get(op, path);
        n = a->view;
        a->view = NULL;
        a->modified = true;
    } else {
        n = map_take(&op->xs->nodes, path);
    }
    assert(n);
    own_adj(op, acl_owner(&n->acl), -1);
    node_free(n);
}

/* xenstored's errno_from_parents: ENOENT if the nearest existing ancestor grants any of want. */
static int parent_errno(struct op *op, const char *path, uint32_t want)
{
    char *p = xs_strdup(path);
    struct node *n = NULL;
    while (!n && strcmp(p, "/") != 0) {
        char *up = path_parent(p);
        free(p);
        p = up;
        n = view_get(op, p);
    }
    free(p);
    assert(n); /* the root always exists */
    return (perm_for(op->dom, &n->acl) & want) ? ENOENT : EACCES;
}

/* xenstored's get_node: the node if op->dom has all of want on it, else NULL and *err. */
static struct node *node_access(struct op *op, const char *path, uint32_t want, int *err)
{
    struct node *n = view_get(op, path);
    if (n) {
        if ((perm_for(op->dom, &n->acl) & want) == want)
            return n;
        *err = EACCES;
        return NULL;
    }
    *err = parent_errno(op, path, want);
    return NULL;
}

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

static void out_push(struct xs_dom *d, uint32_t type, uint32_t req_id, uint32_t tx_id,
                     const void *a, uint32_t alen, const void *b, uint32_t blen)
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

static struct xs_dom *dom_find(struct xs *xs, uint32_t domid)
{
    for (struct xs_dom *d = xs->doms; d; d = d->next)
        if (d->domid == domid)
            return d;
    return NULL;
}

static void watch_free(struct watch *w)
{
    free(w->path);
    free(w->token);
    free(w);
}

static void watches_free(struct xs_dom *d)
{
    struct watch *w = d->watches, *next;
    for (; w; w = next) {
        next = w->next;
        watch_free(w);
    }
    d->watches = NULL;
    d->watch_tail = &d->watches;
    d->nwatch = 0;
}

static void txn_free(struct txn *t)
{
    struct tacc *a = t->acc, *an;
    for (; a; a = an) {
        an = a->next;
        node_free(a->view);
        free(a->path);
        free(a);
    }
    struct tevent *e = t->ev, *en;
    for (; e; e = en) {
        en = e->next;
        acl_free(&e->a1);
        acl_free(&e->a2);
        free(e->path);
        free(e);
    }
    free(t->dl);
    free(t);
}

static void txns_free(struct xs_dom *d)
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

/* ---- watches ---- */

static const char *watch_event_path(const struct xs_dom *d, const struct watch *w, const char *path)
{
    if (!w->rel)
        return path;
    char *home = dom_home(d->domid);
    size_t n = strlen(home);
    free(home);
    assert(strlen(path) >= n);
    path += n;
    return *path == '/' ? path + 1 : path;
}

static void send_event(struct xs *xs, struct xs_dom *d, const struct watch *w, const char *path)
{
    const char *ep = watch_event_path(d, w, path);
    uint32_t plen = (uint32_t)strlen(ep) + 1, tlen = (uint32_t)strlen(w->token) + 1;
    if (plen + tlen > XENSTORE_PAYLOAD_MAX || d->out_bytes > XS_MAX_OUT_BYTES)
        return;
    out_push(d, XS_WATCH_EVENT, 0, 0, ep, plen, w->token, tlen);
    if (xs->cnt)
        xs->cnt->watch_events++;
}

/* xenstored's watch_permitted. */
static bool watch_may_see(struct xs *xs, uint32_t dom, const char *path, const struct acl *a1,
                          const struct acl *a2)
{
    if (dom == 0)
        return true;
    if (a1 && a1->n && (perm_for(dom, a1) & PERM_R))
        return true;
    if (a2 && a2->n && (perm_for(dom, a2) & PERM_R))
        return true;
    if (strcmp(path, "/") == 0)
        return false;
    char *up = path_parent(path);
    struct node *pn = map_get(&xs->nodes, up);
    free(up);
    return pn && (perm_for(dom, &pn->acl) & PERM_R);
}

static bool watch_matches(const struct watch *w, const char *path, bool exact)
{
    return exact ? strcmp(path, w->path) == 0 : path_is_child(path, w->path);
}

/* Send the events a change of path causes, now. */
static void fire(struct xs *xs, const char *path, bool exact, const struct acl *a1,
                 const struct acl *a2)
{
    for (struct xs_dom *d = xs->doms; d; d = d->next) {
        int ok = -1; /* permission, checked once per domain when needed */
        for (struct watch *w = d->watches; w; w = w->next) {
            if (!watch_matches(w, path, exact))
                continue;
            if (ok < 0)
                ok = watch_may_see(xs, d->domid, path, a1, a2);
            if (ok)
                send_event(xs, d, w, path);
        }
    }
}

static void tevent_add(struct txn *t, const char *path, bool exact, const struct acl *a1,
                       const struct acl *a2)
{
    struct tevent *e;
    for (e = t->ev; e; e = e->next)
        if (e->exact == exact && strcmp(e->path, path) == 0)
            break;
    if (!e) {
        e = xs_zalloc(sizeof(*e));
        e->path = xs_strdup(path);
        e->exact = exact;
        *t->ev_tail = e;
        t->ev_tail = &e->next;
    }
    acl_free(&e->a1);
    acl_copy(&e->a1, a1);
    if (a2 && !e->a2.n)
        acl_copy(&e->a2, a2);
}

/* Fire now, or at commit inside a transaction. */
static void change(struct op *op, const char *path, bool exact, const struct acl *a1,
                   const struct acl *a2)
{
    if (op->t)
        tevent_add(op->t, path, exact, a1, a2);
    else
        fire(op->xs, path, exact, a1, a2);
}

static int special_index(const char *name)
{
    for (int i = 0; i < 2; i++)
        if (strcmp(name, special_names[i]) == 0)
            return i;
    return -1;
}

static void fire_special(struct xs *xs, int which)
{
    const char *name = special_names[which];
    for (struct xs_dom *d = xs->doms; d; d = d->next) {
        if (!(perm_for(d->domid, &xs->special[which]) & PERM_R))
            continue;
        for (struct watch *w = d->watches; w; w = w->next)
            if (strcmp(w->path, name) == 0)
                send_event(xs, d, w, name);
    }
}

/* ---- store operations (shared by ring requests and the toolstack) ---- */

/* Create path and its missing ancestors with value v on the leaf. */
static int node_create(struct op *op, const char *path, const char *v, uint32_t vlen)
{
    char *top = xs_strdup(path); /* highest missing ancestor */
    uint32_t missing = 1;
    struct node *parent;
    for (;;) {
        char *up = path_parent(top);
        parent = view_get(op, up);
        if (parent) {
            free(up);
            break;
        }
        free(top);
        top = up;
        missing++;
    }
    if (op->dom != 0 && own_count(op, op->dom) + missing > XS_MAX_NODES) {
        free(top);
        return ENOSPC;
    }
    size_t plen = strlen(path);
    for (size_t end = strlen(top);; end++) {
        if (end < plen && path[end] != '/')
            continue;
        char *p = xs_memdup(path, end);
        struct node *n = node_new(p);
        acl_copy(&n->acl, &parent->acl);
        if (op->dom != 0)
            n->acl.e[0].dom = op->dom;
        kid_add(parent, path_base(p));
        view_dirty(op, parent);
        if (end == plen)
            node_set_val(n, v, vlen);
        view_insert(op, n);
        free(p);
        parent = n;
        if (end == plen)
            break;
    }
    free(top);
    return 0;
}

static int op_write(struct op *op, const char *in, const char *v, uint32_t vlen)
{
    char *path;
    int err = path_canon(op, in, &path);
    if (err)
        return err;
    struct node *n = node_access(op, path, PERM_W, &err);
    if (n) {
        node_set_val(n, v, vlen);
        view_dirty(op, n);
    } else if (err == ENOENT) {
        err = node_create(op, path, v, vlen);
        n = err ? NULL : view_get(op, path);
    }
    if (n)
        change(op, path, false, &n->acl, NULL);
    free(path);
    return n ? 0 : err;
}

static int op_mkdir(struct op *op, const char *in)
{
    char *path;
    int err = path_canon(op, in, &path);
    if (err)
        return err;
    if (node_access(op, path, PERM_W, &err)) {
        free(path);
        return 0; /* exists already: fine */
    }
    if (err == ENOENT) {
        err = node_create(op, path, "", 0);
        if (!err)
            change(op, path, false, &view_get(op, path)->acl, NULL);
    }
    free(path);
    return err;
}

/* Remove path's subtree: descendants first, firing exact watches on each. */
static void subtree_remove(struct op *op, const char *path, bool root)
{
    struct node *n = view_get(op, path);
    assert(n);
    for (uint32_t i = 0; i < n->nkids; i++) {
        char *cp = path_join(path, n->kids[i]);
        subtree_remove(op, cp, false);
        free(cp);
    }
    if (!root)
        change(op, path, true, &n->acl, NULL);
    view_remove(op, path);
}

static int rm_absent(struct op *op, const char *path, int err)
{
    if (err != ENOENT)
        return err;
    char *up = path_parent(path); /* "/" always exists, so path != "/" */
    bool parent = view_get(op, up) != NULL;
    free(up);
    return parent ? 0 : ENOENT;
}

static int op_rm(struct op *op, const char *in)
{
    char *path;
    int err = path_canon(op, in, &path);
    if (err)
        return err;
    struct node *n = node_access(op, path, PERM_W, &err);
    if (!n)
        err = rm_absent(op, path, err);
    else if (strcmp(path, "/") == 0)
        err = EINVAL;
    if (!n || err) {
        free(path);
        return err;
    }
    change(op, path, false, &n->acl, NULL);
    subtree_remove(op, path, true);
    char *up = path_parent(path);
    struct node *parent = view_get(op, up);
    assert(parent);
    kid_del(parent, path_base(path));
    view_dirty(op, parent);
    free(up);
    free(path);
    return 0;
}

static int special_set_perms(struct op *op, int which, const struct acl *acl)
{
    struct acl *sp = &op->xs->special[which];
    if ((perm_for(op->dom, sp) & (PERM_W | PERM_O)) != (PERM_W | PERM_O))
        return EACCES;
    if (op->dom != 0 && acl_owner(acl) != acl_owner(sp))
        return EPERM;
    acl_free(sp);
    acl_copy(sp, acl);
    return 0;
}

/* Replace path's permissions with acl (copied). */
static int op_set_perms(struct op *op, const char *in, const struct acl *acl)
{
    if (in[0] == '@') {
        int which = special_index(in);
        return which < 0 ? EINVAL : special_set_perms(op, which, acl);
    }
    char *path;
    int err = path_canon(op, in, &path);
    if (err)
        return err;
    struct node *n = node_access(op, path, PERM_W | PERM_O, &err);
    if (n && op->dom != 0 && acl_owner(acl) != acl_owner(&n->acl))
        err = EPERM;
    if (!n || err) {
        free(path);
        return err;
    }
    struct acl old = n->acl;
    own_adj(op, acl_owner(&old), -1);
    own_adj(op, acl_owner(acl), 1);
    acl_copy(&n->acl, acl);
    view_dirty(op, n);
    change(op, path, false, &n->acl, &old);
    acl_free(&old);
    free(path);
    return 0;
}

/* The node at in, readable by op->dom; NULL and *err otherwise. */
static struct node *op_lookup(struct op *op, const char *in, int *err)
{
    char *path;
    *err = path_canon(op, in, &path);
    if (*err)
        return NULL;
    struct node *n = node_access(op, path, PERM_R, err);
    free(path);
    return n;
}

/* ---- transactions ---- */

static struct txn *txn_find(struct xs_dom *d, uint32_t id)
{
    for (struct txn *t = d->txns; t; t = t->next)
        if (t->id == id)
            return t;
    return NULL;
}

static void txn_unlink(struct xs_dom *d, struct txn *t)
{
    struct txn **pp = &d->txns;
    while (*pp != t)
        pp = &(*pp)->next;
    *pp = t->next;
    d->ntxn--;
}

static void txn_apply(struct xs *xs, struct tacc *a)
{
    struct node *old = map_take(&xs->nodes, a->path);
    if (old) {
        own_adj_global(xs, acl_owner(&old->acl), -1);
        node_free(old);
    }
    if (a->view) {
        a->view->gen = ++xs->gen;
        own_adj_global(xs, acl_owner(&a->view->acl), 1);
        map_put(&xs->nodes, a->view);
        a->view = NULL;
    }
}

/* Check and apply t to the global store; 0, ENOSPC or EAGAIN. */
static int txn_commit(struct xs *xs, struct txn *t)
{
    for (uint32_t i = 0; i < t->ndl; i++) {
        const struct tdelta *dl = &t->dl[i];
        if (dl->dom != 0 && dl->delta > 0 && *own_slot(xs, dl->dom) + dl->delta > XS_MAX_NODES)
            return ENOSPC;
    }
    for (struct tacc *a = t->acc; a; a = a->next) {
        struct node *g = map_get(&xs->nodes, a->path);
        if ((g ? g->gen : NO_GEN) != a->gen)
            return EAGAIN;
    }
    for (struct tacc *a = t->acc; a; a = a->next)
        if (a->modified)
            txn_apply(xs, a);
    for (struct tevent *e = t->ev; e; e = e->next)
        fire(xs, e->path, e->exact, &e->a1, &e->a2);
    return 0;
}

/* ---- request handlers ---- */

static void reply(struct op *op, const struct req *rq, uint32_t type, const void *data,
                  uint32_t len);

static void reply_error(struct op *op, const struct req *rq, int err)
{
    const char *name = "EINVAL";
    for (size_t i = 0; i < sizeof(xsd_errors) / sizeof(xsd_errors[0]); i++)
        if (xsd_errors[i].errnum == err)
            name = xsd_errors[i].errstring;
    out_push(op->d, XS_ERROR, rq->hdr.req_id, rq->hdr.tx_id, name, (uint32_t)strlen(name) + 1, NULL,
             0);
    if (op->xs->cnt)
        op->xs->cnt->errors++;
}

/* A success reply; too long a payload becomes E2BIG, as in xenstored. */
static void reply(struct op *op, const struct req *rq, uint32_t type, const void *data,
                  uint32_t len)
{
    if (len > XENSTORE_PAYLOAD_MAX) {
        reply_error(op, rq, E2BIG);
        return;
    }
    out_push(op->d, type, rq->hdr.req_id, rq->hdr.tx_id, data, len, NULL, 0);
}

static int reply_ok(struct op *op, const struct req *rq)
{
    reply(op, rq, rq->hdr.type, "OK", 3);
    return 0;
}

static int h_read(struct op *op, const struct req *rq)
{
    const char *arg = onearg(rq);
    int err;
    if (!arg)
        return EINVAL;
    struct node *n = op_lookup(op, arg, &err);
    if (!n)
        return err;
    reply(op, rq, XS_READ, n->val, n->vlen);
    return 0;
}

/* Children names, each NUL-terminated (malloc'd, length in *len). */
static char *kids_concat(const struct node *n, uint32_t *len)
{
    size_t total = 0;
    for (uint32_t i = 0; i < n->nkids; i++)
        total += strlen(n->kids[i]) + 1;
    char *buf = xs_zalloc(total + 1), *p = buf;
    for (uint32_t i = 0; i < n->nkids; i++) {
        size_t k = strlen(n->kids[i]) + 1;
        memcpy(p, n->kids[i], k);
        p += k;
    }
    *len = (uint32_t)total;
    return buf;
}

static int h_directory(struct op *op, const struct req *rq)
{
    const char *arg = onearg(rq);
    int err;
    if (!arg)
        return EINVAL;
    struct node *n = op_lookup(op, arg, &err);
    if (!n)
        return err;
    uint32_t len;
    char *buf = kids_concat(n, &len);
    reply(op, rq, XS_DIRECTORY, buf, len);
    free(buf);
    return 0;
}

/* xenstored's send_directory_part: "<gen>\0" then children from offset. */
static int h_directory_part(struct op *op, const struct req *rq)
{
    uint32_t off, all, len = 0;
    int err;
    if (count_strings(rq->buf, rq->len) != 2 ||
        !parse_uint(rq->buf + strlen(rq->buf) + 1, UINT32_MAX, &off))
        return EINVAL;
    struct node *n = op_lookup(op, rq->buf, &err);
    if (!n)
        return err;
    char *kids = kids_concat(n, &all);
    char gen[24];
    uint32_t glen = (uint32_t)snprintf(gen, sizeof(gen), "%" PRIu64, n->gen) + 1;
    char *out = xs_zalloc(XENSTORE_PAYLOAD_MAX + 1);
    memcpy(out, gen, glen);
    if (off < all) {
        uint32_t maxlen = XENSTORE_PAYLOAD_MAX - glen - 1;
        const char *c = kids + off;
        while (len + strlen(c) < maxlen) {
            len += (uint32_t)strlen(c) + 1;
            c += strlen(c) + 1;
            if (off + len == all)
                break;
        }
        memcpy(out + glen, kids + off, len);
    }
    if (off >= all || off + len == all)
        out[glen + len++] = '\0';
    reply(op, rq, XS_DIRECTORY_PART, out, glen + len);
    free(out);
    free(kids);
    return 0;
}

static int h_write(struct op *op, const struct req *rq)
{
    if (count_strings(rq->buf, rq->len) < 1)
        return EINVAL;
    uint32_t off = (uint32_t)strlen(rq->buf) + 1;
    int err = op_write(op, rq->buf, rq->buf + off, rq->len - off);
    return err ? err : reply_ok(op, rq);
}

static int h_mkdir(struct op *op, const struct req *rq)
{
    const char *arg = onearg(rq);
    if (!arg)
        return EINVAL;
    int err = op_mkdir(op, arg);
    return err ? err : reply_ok(op, rq);
}

static int h_rm(struct op *op, const struct req *rq)
{
    const char *arg = onearg(rq);
    if (!arg)
        return EINVAL;
    int err = op_rm(op, arg);
    return err ? err : reply_ok(op, rq);
}

static int h_get_perms(struct op *op, const struct req *rq)
{
    const char *arg = onearg(rq);
    int err;
    if (!arg)
        return EINVAL;
    struct node *n = op_lookup(op, arg, &err);
    if (!n)
        return err;
    char *buf = xs_zalloc((size_t)n->acl.n * 8 + 1);
    uint32_t len = 0;
    for (uint32_t i = 0; i < n->acl.n; i++)
        len +=
            (uint32_t)sprintf(buf + len, "%c%u", perm_to_char(n->acl.e[i].perm), n->acl.e[i].dom) +
            1;
    reply(op, rq, XS_GET_PERMS, buf, len);
    free(buf);
    return 0;
}

static int h_set_perms(struct op *op, const struct req *rq)
{
    uint32_t n = count_strings(rq->buf, rq->len);
    if (n < 2)
        return EINVAL;
    n--;
    if (op->dom != 0 && n > XS_MAX_PERMS)
        return ENOSPC;
    struct acl acl;
    if (acl_parse(rq->buf + strlen(rq->buf) + 1, n, &acl))
        return EINVAL;
    int err = op_set_perms(op, rq->buf, &acl);
    acl_free(&acl);
    return err ? err : reply_ok(op, rq);
}

/* Canonical watch path: @special kept, relative made absolute. */
static int watch_path(struct op *op, const char *in, char **out, bool *rel)
{
    *rel = false;
    if (in[0] == '@') {
        if (strlen(in) > XENSTORE_REL_PATH_MAX)
            return EINVAL;
        *out = xs_strdup(in);
        return 0;
    }
    *rel = in[0] != '/';
    return path_canon(op, in, out);
}

static struct watch **watch_find(struct xs_dom *d, const char *path, const char *token)
{
    struct watch **pp = &d->watches;
    while (*pp && (strcmp((*pp)->path, path) != 0 || strcmp((*pp)->token, token) != 0))
        pp = &(*pp)->next;
    return pp;
}

static int h_watch(struct op *op, const struct req *rq)
{
    if (count_strings(rq->buf, rq->len) != 2)
        return EINVAL;
    const char *token = rq->buf + strlen(rq->buf) + 1;
    char *path;
    bool rel;
    int err = watch_path(op, rq->buf, &path, &rel);
    if (err)
        return err;
    if (*watch_find(op->d, path, token))
        err = EEXIST;
    else if (op->dom != 0 && op->d->nwatch >= XS_MAX_WATCHES)
        err = E2BIG;
    if (err) {
        free(path);
        return err;
    }
    struct watch *w = xs_zalloc(sizeof(*w));
    w->path = path;
    w->token = xs_strdup(token);
    w->rel = rel;
    *op->d->watch_tail = w;
    op->d->watch_tail = &w->next;
    op->d->nwatch++;
    reply_ok(op, rq);
    send_event(op->xs, op->d, w, w->path); /* fired once up front, as xenstored does */
    return 0;
}

static int h_unwatch(struct op *op, const struct req *rq)
{
    if (count_strings(rq->buf, rq->len) != 2)
        return EINVAL;
    const char *token = rq->buf + strlen(rq->buf) + 1;
    char *path = rq->buf[0] == '/' || rq->buf[0] == '@'
                     ? xs_strdup(rq->buf)
                     : xs_fmt("/local/domain/%u/%s", op->dom, rq->buf);
    struct watch **pp = watch_find(op->d, path, token);
    free(path);
    if (!*pp)
        return ENOENT;
    struct watch *w = *pp;
    *pp = w->next;
    if (!*pp)
        op->d->watch_tail = pp;
    op->d->nwatch--;
    watch_free(w);
    return reply_ok(op, rq);
}

static int h_tx_start(struct op *op, const struct req *rq)
{
    struct xs_dom *d = op->d;
    if (op->t)
        return EBUSY;
    if (op->dom != 0 && d->ntxn >= XS_MAX_TXN)
        return ENOSPC;
    struct txn *t = xs_zalloc(sizeof(*t));
    do {
        t->id = d->next_txid++;
    } while (t->id == 0 || txn_find(d, t->id));
    t->acc_tail = &t->acc;
    t->ev_tail = &t->ev;
    t->next = d->txns;
    d->txns = t;
    d->ntxn++;
    char id[16];
    int n = snprintf(id, sizeof(id), "%u", t->id);
    reply(op, rq, XS_TRANSACTION_START, id, (uint32_t)n + 1);
    return 0;
}

static int h_tx_end(struct op *op, const struct req *rq)
{
    const char *arg = onearg(rq);
    if (!arg || (strcmp(arg, "T") != 0 && strcmp(arg, "F") != 0))
        return EINVAL;
    struct txn *t = op->t;
    if (!t)
        return ENOENT;
    txn_unlink(op->d, t);
    op->t = NULL;
    int err = arg[0] == 'T' ? txn_commit(op->xs, t) : 0;
    txn_free(t);
    return err ? err : reply_ok(op, rq);
}

static int h_domain_path(struct op *op, const struct req *rq)
{
    const char *arg = onearg(rq);
    uint32_t domid;
    if (!arg || !parse_uint(arg, 65535, &domid))
        return EINVAL;
    char *p = dom_home(domid);
    reply(op, rq, XS_GET_DOMAIN_PATH, p, (uint32_t)strlen(p) + 1);
    free(p);
    return 0;
}

static int h_reset_watches(struct op *op, const struct req *rq)
{
    watches_free(op->d);
    txns_free(op->d);
    op->t = NULL;
    return reply_ok(op, rq);
}

static int h_control(struct op *op, const struct req *rq)
{
    (void)op;
    (void)rq;
    return EINVAL;
}

static int h_unsupported(struct op *op, const struct req *rq)
{
    (void)op;
    (void)rq;
    return ENOSYS;
}

/* The domain named by a privileged request's argument. */
static int domid_arg(const struct req *rq, uint32_t *domid)
{
    const char *arg = onearg(rq);
    return arg && parse_uint(arg, XS_DOMID_MAX, domid) ? 0 : EINVAL;
}

static int h_is_introduced(struct op *op, const struct req *rq)
{
    uint32_t domid;
    if (domid_arg(rq, &domid))
        return EINVAL;
    struct xs_dom *d = dom_find(op->xs, domid);
    reply(op, rq, XS_IS_DOMAIN_INTRODUCED, d && !d->broken ? "T" : "F", 2);
    return 0;
}

static int h_release(struct op *op, const struct req *rq)
{
    uint32_t domid;
    if (domid_arg(rq, &domid) || domid == op->dom)
        return EINVAL;
    if (!dom_find(op->xs, domid))
        return ENOENT;
    xs_release(op->xs, (int)domid);
    return reply_ok(op, rq);
}

static int h_resume(struct op *op, const struct req *rq)
{
    uint32_t domid;
    if (domid_arg(rq, &domid))
        return EINVAL;
    return dom_find(op->xs, domid) ? reply_ok(op, rq) : ENOENT;
}

#define F_NOTID 1u /* tx_id ignored */
#define F_PRIV 2u  /* dom0 only */

static const struct {
    int (*fn)(struct op *op, const struct req *rq);
    unsigned flags;
} handlers[XS_TYPE_COUNT] = {
    [XS_CONTROL] = {h_control, F_PRIV},
    [XS_DIRECTORY] = {h_directory, 0},
    [XS_READ] = {h_read, 0},
    [XS_GET_PERMS] = {h_get_perms, 0},
    [XS_WATCH] = {h_watch, F_NOTID},
    [XS_UNWATCH] = {h_unwatch, F_NOTID},
    [XS_TRANSACTION_START] = {h_tx_start, 0},
    [XS_TRANSACTION_END] = {h_tx_end, 0},
    [XS_INTRODUCE] = {h_unsupported, F_PRIV},
    [XS_RELEASE] = {h_release, F_PRIV},
    [XS_GET_DOMAIN_PATH] = {h_domain_path, 0},
    [XS_WRITE] = {h_write, 0},
    [XS_MKDIR] = {h_mkdir, 0},
    [XS_RM] = {h_rm, 0},
    [XS_SET_PERMS] = {h_set_perms, 0},
    [XS_IS_DOMAIN_INTRODUCED] = {h_is_introduced, F_PRIV},
    [XS_RESUME] = {h_resume, F_PRIV},
    [XS_SET_TARGET] = {h_unsupported, F_PRIV},
    [XS_RESET_WATCHES] = {h_reset_watches, 0},
    [XS_DIRECTORY_PART] = {h_directory_part, 0},
};

static int dispatch(struct op *op, const struct req *rq)
{
    uint32_t type = rq->hdr.type;
    if (type >= XS_TYPE_COUNT || !handlers[type].fn)
        return ENOSYS;
    if ((handlers[type].flags & F_PRIV) && op->dom != 0)
        return EACCES;
    if (!(handlers[type].flags & F_NOTID) && rq->hdr.tx_id) {
        op->t = txn_find(op->d, rq->hdr.tx_id);
        if (!op->t)
            return ENOENT;
        if (op->dom != 0 && op->t->nacc >= XS_MAX_TXN_NODES && type != XS_TRANSACTION_END)
            return ENOSPC;
    }
    return handlers[type].fn(op, rq);
}

/* Serve the complete request buffered in d. */
static void handle_request(struct xs *xs, struct xs_dom *d)
{
    struct req rq = {d->hdr, d->in, d->hdr.len};
    struct op op = {xs, d->domid, d, NULL};
    int err = dispatch(&op, &rq);
    if (err)
        reply_error(&op, &rq, err);
    if (xs->cnt)
        xs->cnt->requests++;
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

static void store_init(struct xs *xs)
{
    static const char *const initial[] = {"/", "/tool", "/tool/xenstored"};
    for (size_t i = 0; i < sizeof(initial) / sizeof(initial[0]); i++) {
        struct node *n = node_new(initial[i]);
        acl_init(&n->acl, 0, 0);
        if (i + 1 < sizeof(initial) / sizeof(initial[0]))
            kid_add(n, path_base(initial[i + 1]));
        n->gen = ++xs->gen;
        map_put(&xs->nodes, n);
        own_adj_global(xs, 0, 1);
    }
}

struct xs *xs_create(const struct xs_host_ops *ops)
{
    struct xs *xs = xs_zalloc(sizeof(*xs));
    if (ops)
        xs->ops = *ops;
    xs->nodes.nb = 64;
    xs->nodes.b = xs_zalloc(sizeof(*xs->nodes.b) * xs->nodes.nb);
    for (int i = 0; i < 2; i++)
        acl_init(&xs->special[i], 0, 0);
    store_init(xs);
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
    map_free(&xs->nodes);
    for (int i = 0; i < 2; i++)
        acl_free(&xs->special[i]);
    free(xs->own);
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
    struct op op = {xs, 0, NULL, NULL};
    return op;
}

int xs_tool_write(struct xs *xs, const char *path, const char *value)
{
    struct op op = tool_op(xs);
    size_t len = strlen(value);
    if (len > XENSTORE_PAYLOAD_MAX)
        return -E2BIG;
    int err = op_write(&op, path, value, (uint32_t)len);
    flush_all(xs);
    return -err;
}

int xs_tool_mkdir(struct xs *xs, const char *path)
{
    struct op op = tool_op(xs);
    int err = op_mkdir(&op, path);
    flush_all(xs);
    return -err;
}

int xs_tool_rm(struct xs *xs, const char *path)
{
    struct op op = tool_op(xs);
    int err = op_rm(&op, path);
    flush_all(xs);
    return -err;
}

int xs_tool_read(struct xs *xs, const char *path, char *buf, size_t len)
{
    struct op op = tool_op(xs);
    int err;
    struct node *n = op_lookup(&op, path, &err);
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
    flush_all(xs);
    return -err;
}
