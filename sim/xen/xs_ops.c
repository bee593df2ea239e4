/*
 * xenstore model: the store operations shared by ring requests and the
 * toolstack (see xs_internal.h for how the files divide).
 *
 * Inside a transaction an operation works on the transaction's snapshot.
 * Outside one it opens its own one-operation transaction and commits it at
 * the end (xs_txn.c), so the global store only ever changes by a checked
 * commit: an operation that trips over an inconsistency changes nothing.
 */
#include "xs_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Open the operation's own transaction if it is not in one; true if opened. */
static bool scope_begin(struct op *op)
{
    if (op->t)
        return false;
    op->t = txn_new(op->xs);
    op->st = &op->t->snap;
    return true;
}

/* Close what scope_begin opened: commit if err is 0. */
static int scope_end(struct op *op, bool own, int err)
{
    if (!own)
        return op->fault ? EIO : err;
    struct txn *t = op->t;
    if (!err && !op->fault)
        err = txn_commit(op, t);
    op->t = NULL;
    op->st = &op->xs->st;
    txn_free(t);
    return op->fault ? EIO : err;
}

/* xenstored's errno_from_parents: ENOENT if the nearest existing ancestor grants any of want. */
static int parent_errno(struct op *op, const char *path, uint32_t want)
{
    char *p = xs_strdup(path);
    const struct node *n = NULL;
    while (!n) {
        char *up = path_parent(p);
        free(p);
        if (!up)
            return op_fault(op, "no root");
        p = up;
        n = view_get(op, p);
    }
    free(p);
    return (perm_for(op->dom, &n->acl) & want) ? ENOENT : EACCES;
}

/* xenstored's get_node: the node if op->dom has all of want on it, else NULL and *err. */
static const struct node *node_access(struct op *op, const char *path, uint32_t want, int *err)
{
    const struct node *n = view_get(op, path);
    *err = 0;
    if (n) {
        if ((perm_for(op->dom, &n->acl) & want) == want)
            return n;
        *err = EACCES;
        return NULL;
    }
    *err = parent_errno(op, path, want);
    return NULL;
}

/* Create path and its missing ancestors with value v on the leaf. */
static int node_create(struct op *op, const char *path, const char *v, uint32_t vlen)
{
    char *top = xs_strdup(path); /* highest missing ancestor */
    uint32_t missing = 1;
    const struct node *parent;
    for (;;) {
        char *up = path_parent(top);
        if (!up) {
            free(top);
            return op_fault(op, "no root");
        }
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
    struct acl inherit;
    acl_copy(&inherit, &parent->acl);
    size_t plen = strlen(path);
    int err = 0;
    for (size_t end = strlen(top); !err; end++) {
        if (end < plen && path[end] != '/')
            continue;
        char *p = xs_memdup(path, end), *up = path_parent(p);
        struct node *pn = up ? view_mut(op, up) : NULL;
        if (!pn || !kid_add(pn, path_base(p)))
            err = op_fault(op, "parent missing or already lists a missing node");
        if (!err) {
            struct node *n = node_new(p);
            acl_copy(&n->acl, &inherit);
            if (op->dom != 0)
                n->acl.e[0].dom = op->dom;
            if (end == plen)
                node_set_val(n, v, vlen);
            err = view_insert(op, n);
        }
        free(up);
        free(p);
        if (end == plen)
            break;
    }
    acl_free(&inherit);
    free(top);
    return err;
}

static int do_write(struct op *op, const char *path, const char *v, uint32_t vlen)
{
    int err = 0;
    const struct node *n = node_access(op, path, PERM_W, &err);
    if (n) {
        err = 0;
        struct node *w = view_mut(op, path);
        if (!w)
            return op_fault(op, "node vanished");
        node_set_val(w, v, vlen);
    } else if (err == ENOENT) {
        err = node_create(op, path, v, vlen);
    }
    if (err)
        return err;
    n = view_get(op, path);
    if (!n)
        return op_fault(op, "written node absent");
    change(op, path, false, &n->acl, NULL);
    return 0;
}

int op_write(struct op *op, const char *in, const char *v, uint32_t vlen)
{
    char *path;
    int err = path_canon(op, in, &path);
    if (err)
        return err;
    bool own = scope_begin(op);
    err = do_write(op, path, v, vlen);
    free(path);
    return scope_end(op, own, err);
}

static int do_mkdir(struct op *op, const char *path)
{
    int err;
    if (node_access(op, path, PERM_W, &err))
        return 0; /* exists already: fine */
    if (err == ENOENT) {
        err = node_create(op, path, "", 0);
        const struct node *n = err ? NULL : view_get(op, path);
        if (n)
            change(op, path, false, &n->acl, NULL);
        else if (!err)
            err = op_fault(op, "created node absent");
    }
    return err;
}

int op_mkdir(struct op *op, const char *in)
{
    char *path;
    int err = path_canon(op, in, &path);
    if (err)
        return err;
    bool own = scope_begin(op);
    err = do_mkdir(op, path);
    free(path);
    return scope_end(op, own, err);
}

/* Remove path's subtree: descendants first, firing exact watches on each. */
static int subtree_remove(struct op *op, const char *path, bool root, unsigned depth)
{
    const struct node *n = view_get(op, path);
    if (!n || depth > XENSTORE_ABS_PATH_MAX)
        return op_fault(op, "listed child does not exist");
    /* the names are copied: removing children changes no record of n, but
       the walk must not depend on that */
    uint32_t nk = n->nkids;
    char **kids = xs_zalloc(sizeof(char *) * (nk ? nk : 1));
    for (uint32_t i = 0; i < nk; i++)
        kids[i] = xs_strdup(n->kids[i]);
    int err = 0;
    for (uint32_t i = 0; i < nk; i++) {
        char *cp = path_join(path, kids[i]);
        if (!err)
            err = subtree_remove(op, cp, false, depth + 1);
        free(cp);
        free(kids[i]);
    }
    free(kids);
    if (err)
        return err;
    n = view_get(op, path);
    if (!root)
        change(op, path, true, &n->acl, NULL);
    return view_remove(op, path);
}

static int do_rm(struct op *op, const char *path)
{
    int err;
    const struct node *n = node_access(op, path, PERM_W, &err);
    char *up = path_parent(path);
    if (!n) {
        /* an absent node whose parent exists is removed already: fine */
        if (err == ENOENT && up && view_get(op, up))
            err = 0;
        free(up);
        return err;
    }
    if (!up)
        return EINVAL; /* "/" */
    change(op, path, false, &n->acl, NULL);
    err = subtree_remove(op, path, true, 0);
    struct node *pn = err ? NULL : view_mut(op, up);
    if (!err && (!pn || !kid_del(pn, path_base(path))))
        err = op_fault(op, "removed node not listed by its parent");
    free(up);
    return err;
}

int op_rm(struct op *op, const char *in)
{
    char *path;
    int err = path_canon(op, in, &path);
    if (err)
        return err;
    bool own = scope_begin(op);
    err = do_rm(op, path);
    free(path);
    return scope_end(op, own, err);
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

static int do_set_perms(struct op *op, const char *path, const struct acl *acl)
{
    int err;
    const struct node *n = node_access(op, path, PERM_W | PERM_O, &err);
    if (!n)
        return err;
    if (op->dom != 0 && acl_owner(acl) != acl_owner(&n->acl))
        return EPERM;
    struct node *w = view_mut(op, path);
    if (!w)
        return op_fault(op, "node vanished");
    struct acl old = w->acl;
    own_adj(op, acl_owner(&old), -1);
    own_adj(op, acl_owner(acl), 1);
    acl_copy(&w->acl, acl);
    change(op, path, false, &w->acl, &old);
    acl_free(&old);
    return 0;
}

/* Replace path's permissions with acl (copied; acl->n >= 1). */
int op_set_perms(struct op *op, const char *in, const struct acl *acl)
{
    if (!acl->n)
        return EINVAL;
    if (in[0] == '@') {
        int which = special_index(in);
        return which < 0 ? EINVAL : special_set_perms(op, which, acl);
    }
    char *path;
    int err = path_canon(op, in, &path);
    if (err)
        return err;
    bool own = scope_begin(op);
    err = do_set_perms(op, path, acl);
    free(path);
    return scope_end(op, own, err);
}

/* The node at in, readable by op->dom; NULL and *err otherwise. */
const struct node *op_lookup(struct op *op, const char *in, int *err)
{
    char *path;
    *err = path_canon(op, in, &path);
    if (*err)
        return NULL;
    const struct node *n = node_access(op, path, PERM_R, err);
    free(path);
    if (op->fault) {
        *err = EIO;
        return NULL;
    }
    return n;
}
