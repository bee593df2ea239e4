/*
 * xenstore model: snapshots, transactions and their commit, and the store's
 * invariant checks (see xs_internal.h for how the files divide).
 *
 * Every change is made inside a transaction: a request's own transaction
 * (TRANSACTION_START), or a one-request transaction that xs_ops.c opens for
 * a change made outside one. A transaction owns a snapshot of the whole
 * store taken at its start (the table copied, node records shared by
 * reference and copied on first write, as oxenstored shares its immutable
 * tree), so what it sees is one consistent store, whatever others commit
 * meanwhile. It records every path it looks at with the generation the
 * path had at the start (NO_GEN if absent). Its commit, as xenstored's:
 *
 *  1. quota: each domain's owned-node count after the commit -> ENOSPC
 *     (checked first, as cxenstored's transaction_fix_domains);
 *  2. conflict: any recorded path whose global generation differs from the
 *     recorded one -> EAGAIN (every path an operation's result depended on
 *     is recorded, so an unchanged set means the same operations on the
 *     current store give the same result);
 *  3. invariants: around every path it changed, the store after the commit
 *     would be a tree (parent exists and lists the node, listed children
 *     exist, a removed node's children go too) -> EIO, and the connection
 *     that asked is failed (op_fault); nothing has been applied;
 *  4. apply: the changed paths' records replace the global ones; then the
 *     queued watch events fire.
 *
 * The checks are ordinary code, on in every build; nothing asserts.
 */
#include "xs_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int op_fault(struct op *op, const char *what)
{
    if (!op->fault)
        op->fault = what;
    return EIO;
}

/* ---- the accessed-path set ---- */

static uint32_t acc_hash(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

static struct tacc *tacc_find(const struct txn *t, const char *path)
{
    for (struct tacc *a = t->acc_hash[acc_hash(path) & (t->acc_cap - 1)]; a; a = a->hnext)
        if (strcmp(a->path, path) == 0)
            return a;
    return NULL;
}

static void tacc_rehash(struct txn *t)
{
    free(t->acc_hash);
    t->acc_cap *= 2;
    t->acc_hash = xs_zalloc(sizeof(*t->acc_hash) * t->acc_cap);
    for (struct tacc *a = t->acc; a; a = a->next) {
        struct tacc **b = &t->acc_hash[acc_hash(a->path) & (t->acc_cap - 1)];
        a->hnext = *b;
        *b = a;
    }
}

/* Record path as accessed; on first access its generation is the snapshot's
 * (unchanged yet: every change of a path is preceded by its record). */
static struct tacc *tacc_record(struct txn *t, const char *path)
{
    struct tacc *a = tacc_find(t, path);
    if (a)
        return a;
    const struct node *n = nmap_get(&t->snap.nodes, path);
    a = xs_zalloc(sizeof(*a));
    a->path = xs_strdup(path);
    a->gen = n ? n->gen : NO_GEN;
    *t->acc_tail = a;
    t->acc_tail = &a->next;
    if (++t->nacc > t->acc_cap)
        tacc_rehash(t);
    else {
        struct tacc **b = &t->acc_hash[acc_hash(path) & (t->acc_cap - 1)];
        a->hnext = *b;
        *b = a;
    }
    return a;
}

struct txn *txn_new(struct xs *xs)
{
    struct txn *t = xs_zalloc(sizeof(*t));
    store_copy(&t->snap, &xs->st);
    t->acc_tail = &t->acc;
    t->ev_tail = &t->ev;
    t->acc_cap = 64;
    t->acc_hash = xs_zalloc(sizeof(*t->acc_hash) * t->acc_cap);
    return t;
}

void txn_free(struct txn *t)
{
    struct tacc *a = t->acc, *an;
    for (; a; a = an) {
        an = a->next;
        free(a->path);
        free(a);
    }
    free(t->acc_hash);
    struct tevent *e = t->ev, *en;
    for (; e; e = en) {
        en = e->next;
        acl_free(&e->a1);
        acl_free(&e->a2);
        free(e->path);
        free(e);
    }
    free(t->dl);
    store_free(&t->snap);
    free(t);
}

/* ---- the store as an operation sees it ---- */

const struct node *view_get(struct op *op, const char *path)
{
    if (op->t)
        tacc_record(op->t, path);
    return nmap_get(&op->st->nodes, path);
}

/* The node at path, writable (copied if shared), its generation bumped. */
struct node *view_mut(struct op *op, const char *path)
{
    if (!op->t) {
        op_fault(op, "change outside a transaction");
        return NULL;
    }
    struct tacc *a = tacc_record(op->t, path);
    struct nmap *m = &op->st->nodes;
    struct node *n = nmap_get(m, path);
    if (!n)
        return NULL;
    if (n->refs > 1) {
        struct node *c = node_dup(nmap_take(m, path));
        node_unref(n);
        nmap_put(m, c); /* the slot was just freed */
        n = c;
    }
    n->gen = ++op->xs->gen;
    a->modified = true;
    return n;
}

/* Add n (absent from the view; takes the caller's reference). */
int view_insert(struct op *op, struct node *n)
{
    if (!op->t) {
        node_unref(n);
        return op_fault(op, "change outside a transaction");
    }
    struct tacc *a = tacc_record(op->t, n->path);
    n->gen = ++op->xs->gen;
    uint32_t owner = acl_owner(&n->acl);
    if (!nmap_put(&op->st->nodes, n)) {
        node_unref(n);
        return op_fault(op, "inserting a node that exists");
    }
    a->modified = true;
    own_adj(op, owner, 1);
    return 0;
}

int view_remove(struct op *op, const char *path)
{
    if (!op->t)
        return op_fault(op, "change outside a transaction");
    struct tacc *a = tacc_record(op->t, path);
    struct node *n = nmap_take(&op->st->nodes, path);
    if (!n)
        return op_fault(op, "removing a node that is absent");
    a->modified = true;
    own_adj(op, acl_owner(&n->acl), -1);
    node_unref(n);
    return 0;
}

/* ---- owned-node counts ---- */

void own_adj(struct op *op, uint32_t dom, int delta)
{
    uint32_t *n = own_slot(op->st, dom);
    if (delta < 0 && *n < (uint32_t)-delta) {
        op_fault(op, "owned-node count below zero");
        return;
    }
    *n = (uint32_t)((int64_t)*n + delta);
    if (!op->t)
        return;
    struct txn *t = op->t;
    for (uint32_t i = 0; i < t->ndl; i++)
        if (t->dl[i].dom == dom) {
            t->dl[i].delta += delta;
            return;
        }
    t->dl = xs_grow(t->dl, sizeof(*t->dl) * (t->ndl + 1));
    t->dl[t->ndl].dom = dom;
    t->dl[t->ndl].delta = delta;
    t->ndl++;
}

int64_t own_count(struct op *op, uint32_t dom)
{
    return *own_slot(op->st, dom);
}

/* ---- commit ---- */

/* The record path would have after t's commit. */
static const struct node *final_node(const struct xs *xs, const struct txn *t, const char *path)
{
    const struct tacc *a = tacc_find(t, path);
    return a && a->modified ? nmap_get(&t->snap.nodes, path) : nmap_get(&xs->st.nodes, path);
}

/* Invariants around one changed path after the commit: NULL or what is wrong. */
static const char *check_changed(const struct xs *xs, const struct txn *t, const char *path)
{
    const struct node *f = final_node(xs, t, path);
    char *up = path_parent(path);
    const struct node *pn = up ? final_node(xs, t, up) : NULL;
    const char *bad = NULL;
    if (f) {
        if (strcmp(f->path, path) != 0 || !f->acl.n)
            bad = "node record does not match its path";
        else if (up && (!pn || !kid_has(pn, path_base(path))))
            bad = "node not listed by its parent";
        for (uint32_t i = 0; !bad && i < f->nkids; i++) {
            char *cp = path_join(path, f->kids[i]);
            if (!final_node(xs, t, cp))
                bad = "listed child does not exist";
            free(cp);
        }
    } else {
        const struct node *g = nmap_get(&xs->st.nodes, path);
        if (!up)
            bad = "root removed";
        else if (pn && kid_has(pn, path_base(path)))
            bad = "parent lists a removed node";
        for (uint32_t i = 0; !bad && g && i < g->nkids; i++) {
            char *cp = path_join(path, g->kids[i]);
            if (final_node(xs, t, cp))
                bad = "child of a removed node left behind";
            free(cp);
        }
    }
    free(up);
    return bad;
}

int txn_commit(struct op *op, struct txn *t)
{
    struct xs *xs = op->xs;
    for (uint32_t i = 0; i < t->ndl; i++) {
        const struct tdelta *dl = &t->dl[i];
        if (dl->dom != 0 && dl->delta > 0 &&
            (int64_t)*own_slot(&xs->st, dl->dom) + dl->delta > XS_MAX_NODES)
            return ENOSPC;
    }
    for (const struct tacc *a = t->acc; a; a = a->next) {
        const struct node *g = nmap_get(&xs->st.nodes, a->path);
        if ((g ? g->gen : NO_GEN) != a->gen)
            return EAGAIN;
    }
    for (const struct tacc *a = t->acc; a; a = a->next) {
        const char *bad = a->modified ? check_changed(xs, t, a->path) : NULL;
        if (bad)
            return op_fault(op, bad);
    }
    for (const struct tacc *a = t->acc; a; a = a->next) {
        if (!a->modified)
            continue;
        struct node *old = nmap_take(&xs->st.nodes, a->path);
        if (old) {
            uint32_t *c = own_slot(&xs->st, acl_owner(&old->acl));
            *c -= *c > 0;
            node_unref(old);
        }
        struct node *n = nmap_get(&t->snap.nodes, a->path);
        if (n) {
            n->refs++;
            n->gen = ++xs->gen;
            nmap_put(&xs->st.nodes, n); /* the slot was just freed */
            (*own_slot(&xs->st, acl_owner(&n->acl)))++;
        }
    }
    for (const struct tevent *e = t->ev; e; e = e->next)
        fire(xs, e->path, e->exact, &e->a1, &e->a2);
    return 0;
}

/* ---- the whole-store walk ---- */

const char *store_check(const struct store *st)
{
    const struct nmap *m = &st->nodes;
    if (!nmap_get(m, "/"))
        return "no root";
    struct owner *count = NULL;
    uint32_t ncount = 0;
    const char *bad = NULL;
    size_t seen = 0;
    for (size_t i = 0; i < m->cap && !bad; i++) {
        const struct node *n = m->slot[i];
        if (!n)
            continue;
        seen++;
        if (!n->acl.n || n->refs == 0) {
            bad = "node without owner or references";
            break;
        }
        if (strcmp(n->path, "/") != 0) {
            char *up = path_parent(n->path);
            const struct node *pn = path_valid(n->path) && up ? nmap_get(m, up) : NULL;
            if (!pn || !kid_has(pn, path_base(n->path)))
                bad = "node not listed by its parent";
            free(up);
        }
        for (uint32_t k = 0; !bad && k < n->nkids; k++) {
            char *cp = path_join(n->path, n->kids[k]);
            if (!nmap_get(m, cp))
                bad = "listed child does not exist";
            else if (k > 0 && strcmp(n->kids[k - 1], n->kids[k]) >= 0)
                bad = "children not sorted";
            free(cp);
        }
        uint32_t j, owner = acl_owner(&n->acl);
        for (j = 0; j < ncount && count[j].dom != owner; j++)
            ;
        if (j == ncount) {
            count = xs_grow(count, sizeof(*count) * (ncount + 1));
            count[ncount].dom = owner;
            count[ncount++].n = 0;
        }
        count[j].n++;
    }
    if (!bad && seen != m->n)
        bad = "node table count wrong";
    for (uint32_t i = 0; !bad && i < st->nown; i++) {
        uint32_t j, want = 0;
        for (j = 0; j < ncount; j++)
            if (count[j].dom == st->own[i].dom)
                want = count[j].n;
        if (st->own[i].n != want)
            bad = "owned-node count wrong";
    }
    for (uint32_t j = 0; !bad && j < ncount; j++) {
        uint32_t i;
        for (i = 0; i < st->nown && st->own[i].dom != count[j].dom; i++)
            ;
        if (i == st->nown)
            bad = "owned-node count missing";
    }
    free(count);
    return bad;
}
