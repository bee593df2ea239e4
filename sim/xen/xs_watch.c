/*
 * xenstore model: watches and watch events (see xs_internal.h for how the
 * files divide).
 *
 * Watch events go to a domain if it is dom0 or can read the changed node
 * (old or new permissions) or its parent, as xenstored's watch_permitted.
 * A change made in a transaction (every change is: xs_ops.c) queues its
 * events, one per path, and they fire when the transaction commits.
 * Special events (@introduceDomain, @releaseDomain) match only watches on
 * that exact name and go to dom0 and to domains the special node's
 * permissions (settable with SET_PERMS) let read.
 */
#include "xs_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void watch_free(struct watch *w)
{
    free(w->path);
    free(w->token);
    free(w);
}

void watches_free(struct xs_dom *d)
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

/* The path as the watch was set: relative watches get paths below the home. */
static const char *watch_event_path(const struct xs_dom *d, const struct watch *w, const char *path)
{
    if (!w->rel)
        return path;
    char *home = dom_home(d->domid);
    size_t n = strlen(home);
    free(home);
    if (strlen(path) < n)
        return path;
    path += n;
    return *path == '/' ? path + 1 : path;
}

void send_event(struct xs *xs, struct xs_dom *d, const struct watch *w, const char *path)
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
    char *up = path_parent(path);
    if (!up)
        return false;
    const struct node *pn = nmap_get(&xs->st.nodes, up);
    free(up);
    return pn && (perm_for(dom, &pn->acl) & PERM_R);
}

static bool watch_matches(const struct watch *w, const char *path, bool exact)
{
    return exact ? strcmp(path, w->path) == 0 : path_is_child(path, w->path);
}

/* Send the events a change of path causes, now. */
void fire(struct xs *xs, const char *path, bool exact, const struct acl *a1, const struct acl *a2)
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

/* Fire at commit inside a transaction (every change is in one), else now. */
void change(struct op *op, const char *path, bool exact, const struct acl *a1, const struct acl *a2)
{
    if (op->t)
        tevent_add(op->t, path, exact, a1, a2);
    else
        fire(op->xs, path, exact, a1, a2);
}

int special_index(const char *name)
{
    for (int i = 0; i < 2; i++)
        if (strcmp(name, xs_special_names[i]) == 0)
            return i;
    return -1;
}

void fire_special(struct xs *xs, int which)
{
    const char *name = xs_special_names[which];
    for (struct xs_dom *d = xs->doms; d; d = d->next) {
        if (!(perm_for(d->domid, &xs->special[which]) & PERM_R))
            continue;
        for (struct watch *w = d->watches; w; w = w->next)
            if (strcmp(w->path, name) == 0)
                send_event(xs, d, w, name);
    }
}

/* Canonical watch path: @special kept, relative made absolute. */
int watch_path(struct op *op, const char *in, char **out, bool *rel)
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

struct watch **watch_find(struct xs_dom *d, const char *path, const char *token)
{
    struct watch **pp = &d->watches;
    while (*pp && (strcmp((*pp)->path, path) != 0 || strcmp((*pp)->token, token) != 0))
        pp = &(*pp)->next;
    return pp;
}
