/*
 * xenstore model: request handlers and dispatch (see xs_internal.h for how
 * the files divide). Replies and errors are xenstored's; docs/misc/xenstore.txt
 * in the Xen tree is the reference.
 *
 * INTRODUCE and SET_TARGET over a ring answer ENOSYS (the host introduces
 * domains with xs_introduce); CONTROL/DEBUG answers EINVAL; unknown types
 * answer ENOSYS, as both xenstored and oxenstored do.
 */
#include "xs_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* ---- request handlers ---- */

static void reply(struct op *op, const struct req *rq, uint32_t type, const void *data,
                  uint32_t len);

/* ---- replies ---- */

void reply_error(struct op *op, const struct req *rq, int err)
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
    const struct node *n = op_lookup(op, arg, &err);
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
    const struct node *n = op_lookup(op, arg, &err);
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
    const struct node *n = op_lookup(op, rq->buf, &err);
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
    const struct node *n = op_lookup(op, arg, &err);
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
    struct txn *t = txn_new(op->xs);
    do {
        t->id = d->next_txid++;
    } while (t->id == 0 || txn_find(d, t->id));
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
    op->st = &op->xs->st;
    int err = arg[0] == 'T' ? txn_commit(op, t) : 0;
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
    op->st = &op->xs->st;
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

int xs_dispatch(struct op *op, const struct req *rq)
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
        op->st = &op->t->snap;
        if (op->dom != 0 && op->t->nacc >= XS_MAX_TXN_NODES && type != XS_TRANSACTION_END)
            return ENOSPC;
    }
    return handlers[type].fn(op, rq);
}
