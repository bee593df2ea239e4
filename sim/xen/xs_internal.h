/*
 * Internals of the xenstore model (interface in xenstore.h), shared by its
 * files, split along xenstored's own responsibilities:
 *
 *   xs_tree.c   nodes, permissions, paths, the node table and node quotas
 *   xs_txn.c    snapshots, transactions, commit, invariant checks
 *   xs_ops.c    store operations (write, mkdir, rm, set-perms, lookup)
 *   xs_watch.c  watches and watch events
 *   xs_req.c    request handlers and dispatch
 *   xenstore.c  rings, output queues, connections and the public interface
 *
 * The store is held in nodes that are shared by reference count between the
 * global store and transaction snapshots and copied on write (as oxenstored
 * shares its immutable tree): every change, inside a transaction or not, is
 * made on a snapshot and applied to the global store only by a commit that
 * has checked it (xs_txn.c). Invariant checks stay on in every build; a
 * violation fails the request's connection, never the process.
 */
#ifndef HOPSIM_XS_INTERNAL_H
#define HOPSIM_XS_INTERNAL_H

#include "xenstore.h"

#include <errno.h> /* before xs_wire.h, which defines xsd_errors only after it */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

extern const char *const xs_special_names[2];

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

/* A node record. Shared (refs > 1) records are never changed in place. */
struct node {
    char *path;
    char *val;
    uint32_t vlen;
    struct acl acl;
    char **kids; /* sorted by strcmp */
    uint32_t nkids, kcap;
    uint64_t gen;
    uint32_t refs;
};

/* Node table: open addressing with linear probing, never iterated for output. */
struct nmap {
    struct node **slot;
    size_t cap, n; /* cap a power of two, n <= cap / 2 */
};

struct owner {
    uint32_t dom;
    uint32_t n;
};

/* A whole store: the global one, or a transaction's snapshot of it. */
struct store {
    struct nmap nodes;
    struct owner *own;
    uint32_t nown, owncap;
};

struct watch {
    char *path; /* canonical absolute path or @special */
    char *token;
    bool rel;
    struct watch *next;
};

/* A path a transaction accessed, with the generation it had at the start. */
struct tacc {
    char *path;
    uint64_t gen; /* NO_GEN: absent at the start */
    bool modified;
    struct tacc *next;  /* in access order */
    struct tacc *hnext; /* in the transaction's path hash */
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

/*
 * A transaction: a snapshot of the whole store taken at its start (shared
 * node records, so O(nodes) pointers), the paths it accessed with their
 * starting generations, its owned-node deltas and its queued watch events.
 */
struct txn {
    uint32_t id;
    struct store snap;
    struct tacc *acc, **acc_tail;
    struct tacc **acc_hash; /* acc_cap buckets */
    uint32_t nacc, acc_cap;
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

struct xs {
    struct xs_host_ops ops;
    struct store st;
    uint64_t gen;
    struct xs_dom *doms;
    struct acl special[2];
    struct xs_counts *cnt; /* counters of the running xs_process, or NULL */
    uint64_t faults;       /* invariant violations caught (connections failed) */
};

/* The caller of an operation: a domain over its ring, or the toolstack. */
struct op {
    struct xs *xs;
    uint32_t dom;
    struct xs_dom *d;  /* NULL for the toolstack */
    struct txn *t;     /* the request's transaction, or the operation's own */
    struct store *st;  /* &t->snap, or the global store for reads */
    const char *fault; /* first invariant violation seen, or NULL */
};

struct req {
    struct xsd_sockmsg hdr;
    const char *buf; /* hdr.len bytes, NUL-terminated one past */
    uint32_t len;
};

/* ---- xs_tree.c ---- */

void *xs_zalloc(size_t n);
void *xs_grow(void *p, size_t n);
char *xs_memdup(const void *s, size_t n);
char *xs_strdup(const char *s);
char *xs_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
uint32_t count_strings(const char *buf, uint32_t len);
const char *onearg(const struct req *rq);
bool parse_uint(const char *s, uint32_t max, uint32_t *out);

void acl_free(struct acl *a);
void acl_copy(struct acl *dst, const struct acl *src);
void acl_init(struct acl *a, uint32_t owner, uint32_t def);
uint32_t acl_owner(const struct acl *a); /* UINT32_MAX for an empty list */
uint32_t perm_for(uint32_t dom, const struct acl *a);
int perm_from_char(char c);
char perm_to_char(uint32_t p);
int acl_parse(const char *s, uint32_t n, struct acl *out);

struct node *node_new(const char *path);
void node_unref(struct node *n);
struct node *node_dup(const struct node *src);
void node_set_val(struct node *n, const char *v, uint32_t len);
bool kid_has(const struct node *n, const char *name);
bool kid_add(struct node *n, const char *name); /* false if present */
bool kid_del(struct node *n, const char *name); /* false if absent */

void nmap_init(struct nmap *m);
struct node *nmap_get(const struct nmap *m, const char *path);
bool nmap_put(struct nmap *m, struct node *n); /* takes the caller's ref; false if present */
struct node *nmap_take(struct nmap *m, const char *path); /* the map's ref to the caller */
void nmap_free(struct nmap *m);

void store_init(struct store *st);
void store_copy(struct store *dst, const struct store *src);
void store_free(struct store *st);
uint32_t *own_slot(struct store *st, uint32_t dom);

bool path_valid(const char *p);
char *path_parent(const char *p); /* NULL for "/" */
const char *path_base(const char *p);
char *path_join(const char *dir, const char *name);
bool path_is_child(const char *child, const char *parent);
char *dom_home(uint32_t domid);
int path_canon(const struct op *op, const char *in, char **out);

/* ---- xs_txn.c ---- */

int op_fault(struct op *op, const char *what); /* records, returns EIO */
struct txn *txn_new(struct xs *xs);
void txn_free(struct txn *t);
int txn_commit(struct op *op, struct txn *t); /* 0, ENOSPC, EAGAIN or EIO (fault) */
const struct node *view_get(struct op *op, const char *path);
struct node *view_mut(struct op *op, const char *path); /* NULL: absent or fault */
int view_insert(struct op *op, struct node *n);
int view_remove(struct op *op, const char *path);
void own_adj(struct op *op, uint32_t dom, int delta);
int64_t own_count(struct op *op, uint32_t dom);
/* Whole-store walk: NULL if consistent, else what is wrong. */
const char *store_check(const struct store *st);

/* ---- xs_ops.c ---- */

int op_write(struct op *op, const char *in, const char *v, uint32_t vlen);
int op_mkdir(struct op *op, const char *in);
int op_rm(struct op *op, const char *in);
int op_set_perms(struct op *op, const char *in, const struct acl *acl);
const struct node *op_lookup(struct op *op, const char *in, int *err);

/* ---- xs_watch.c ---- */

void watch_free(struct watch *w);
void watches_free(struct xs_dom *d);
void send_event(struct xs *xs, struct xs_dom *d, const struct watch *w, const char *path);
void fire(struct xs *xs, const char *path, bool exact, const struct acl *a1, const struct acl *a2);
void change(struct op *op, const char *path, bool exact, const struct acl *a1,
            const struct acl *a2);
int special_index(const char *name);
void fire_special(struct xs *xs, int which);
int watch_path(struct op *op, const char *in, char **out, bool *rel);
struct watch **watch_find(struct xs_dom *d, const char *path, const char *token);

/* ---- xs_req.c ---- */

int xs_dispatch(struct op *op, const struct req *rq);
void reply_error(struct op *op, const struct req *rq, int err);

/* ---- xenstore.c ---- */

void out_push(struct xs_dom *d, uint32_t type, uint32_t req_id, uint32_t tx_id, const void *a,
              uint32_t alen, const void *b, uint32_t blen);
struct xs_dom *dom_find(struct xs *xs, uint32_t domid);
void txns_free(struct xs_dom *d);

#endif
