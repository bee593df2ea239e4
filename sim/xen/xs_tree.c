/*
 * xenstore model: node records, permissions, paths, the node table and
 * per-domain owned-node counts (see xs_internal.h for how the files divide).
 *
 * Node records are reference counted: the global store and every
 * transaction snapshot hold references to the same records, and a record
 * with more than one reference is copied before it is changed (xs_txn.c's
 * view_mut). The node table hashes paths with fixed FNV-1a and is never
 * iterated for output, so nothing depends on pointers or hashing order.
 */
#include "xs_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const xs_special_names[2] = {"@introduceDomain", "@releaseDomain"};

/* ---- allocation and strings (running out of host memory aborts) ---- */

void *xs_zalloc(size_t n)
{
    void *p = calloc(1, n ? n : 1);
    if (!p) {
        fputs("xenstore: out of host memory\n", stderr);
        abort();
    }
    return p;
}

void *xs_grow(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) {
        fputs("xenstore: out of host memory\n", stderr);
        abort();
    }
    return q;
}

char *xs_memdup(const void *s, size_t n)
{
    char *p = xs_zalloc(n + 1);
    memcpy(p, s, n);
    return p;
}

char *xs_strdup(const char *s)
{
    return xs_memdup(s, strlen(s));
}

char *xs_fmt(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    char *p = xs_zalloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

/* Number of NUL-terminated strings in buf[0..len) (xenstored's get_strings). */
uint32_t count_strings(const char *buf, uint32_t len)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < len; i++)
        n += buf[i] == '\0';
    return n;
}

/* Exactly one string, NUL-terminated at the end (xenstored's onearg). */
const char *onearg(const struct req *rq)
{
    if (rq->len == 0 || strlen(rq->buf) + 1 != rq->len)
        return NULL;
    return rq->buf;
}

/* Strict decimal 0..max; false on anything else. */
bool parse_uint(const char *s, uint32_t max, uint32_t *out)
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

void acl_free(struct acl *a)
{
    free(a->e);
    a->e = NULL;
    a->n = 0;
}

void acl_copy(struct acl *dst, const struct acl *src)
{
    dst->n = src->n;
    dst->e = xs_zalloc(sizeof(*dst->e) * src->n);
    if (src->n)
        memcpy(dst->e, src->e, sizeof(*dst->e) * src->n);
}

void acl_init(struct acl *a, uint32_t owner, uint32_t def)
{
    a->n = 1;
    a->e = xs_zalloc(sizeof(*a->e));
    a->e[0].dom = owner;
    a->e[0].perm = def;
}

uint32_t acl_owner(const struct acl *a)
{
    return a->n ? a->e[0].dom : UINT32_MAX;
}

/* xenstored's perm_for_conn: dom0 and the owner have every right. */
uint32_t perm_for(uint32_t dom, const struct acl *a)
{
    if (dom == 0 || dom == acl_owner(a))
        return PERM_R | PERM_W | PERM_O;
    if (!a->n)
        return 0;
    for (uint32_t i = 1; i < a->n; i++)
        if (a->e[i].dom == dom)
            return a->e[i].perm;
    return a->e[0].perm;
}

int perm_from_char(char c)
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

char perm_to_char(uint32_t p)
{
    static const char map[4] = {'n', 'r', 'w', 'b'};
    return map[p & 3u];
}

/* Parse n strings "<p><domid>" at s; 0 or EINVAL. */
int acl_parse(const char *s, uint32_t n, struct acl *out)
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

struct node *node_new(const char *path)
{
    struct node *n = xs_zalloc(sizeof(*n));
    n->path = xs_strdup(path);
    n->val = xs_zalloc(1);
    n->refs = 1;
    return n;
}

void node_unref(struct node *n)
{
    if (!n || --n->refs > 0)
        return;
    for (uint32_t i = 0; i < n->nkids; i++)
        free(n->kids[i]);
    free(n->kids);
    acl_free(&n->acl);
    free(n->val);
    free(n->path);
    free(n);
}

struct node *node_dup(const struct node *src)
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

void node_set_val(struct node *n, const char *v, uint32_t len)
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

bool kid_has(const struct node *n, const char *name)
{
    bool found;
    kid_pos(n, name, &found);
    return found;
}

bool kid_add(struct node *n, const char *name)
{
    bool found;
    uint32_t i = kid_pos(n, name, &found);
    if (found)
        return false;
    if (n->nkids == n->kcap) {
        n->kcap = n->kcap ? n->kcap * 2 : 4;
        n->kids = xs_grow(n->kids, sizeof(char *) * n->kcap);
    }
    memmove(&n->kids[i + 1], &n->kids[i], sizeof(char *) * (n->nkids - i));
    n->kids[i] = xs_strdup(name);
    n->nkids++;
    return true;
}

bool kid_del(struct node *n, const char *name)
{
    bool found;
    uint32_t i = kid_pos(n, name, &found);
    if (!found)
        return false;
    free(n->kids[i]);
    memmove(&n->kids[i], &n->kids[i + 1], sizeof(char *) * (n->nkids - i - 1));
    n->nkids--;
    return true;
}

/* ---- the node table ---- */

static uint32_t path_hash(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

void nmap_init(struct nmap *m)
{
    m->cap = 64;
    m->n = 0;
    m->slot = xs_zalloc(sizeof(*m->slot) * m->cap);
}

/* The slot holding path, or the empty slot where it would go. */
static size_t nmap_find(const struct nmap *m, const char *path)
{
    size_t i = path_hash(path) & (m->cap - 1);
    while (m->slot[i] && strcmp(m->slot[i]->path, path) != 0)
        i = (i + 1) & (m->cap - 1);
    return i;
}

struct node *nmap_get(const struct nmap *m, const char *path)
{
    return m->slot[nmap_find(m, path)];
}

static void nmap_grow(struct nmap *m)
{
    struct nmap g = {xs_zalloc(sizeof(*m->slot) * m->cap * 2), m->cap * 2, m->n};
    for (size_t i = 0; i < m->cap; i++)
        if (m->slot[i])
            g.slot[nmap_find(&g, m->slot[i]->path)] = m->slot[i];
    free(m->slot);
    *m = g;
}

bool nmap_put(struct nmap *m, struct node *n)
{
    if ((m->n + 1) * 2 > m->cap)
        nmap_grow(m);
    size_t i = nmap_find(m, n->path);
    if (m->slot[i])
        return false;
    m->slot[i] = n;
    m->n++;
    return true;
}

/* Remove with backward-shift deletion (no tombstones). */
struct node *nmap_take(struct nmap *m, const char *path)
{
    size_t i = nmap_find(m, path);
    struct node *n = m->slot[i];
    if (!n)
        return NULL;
    m->slot[i] = NULL;
    m->n--;
    size_t mask = m->cap - 1;
    for (size_t j = (i + 1) & mask; m->slot[j]; j = (j + 1) & mask) {
        size_t home = path_hash(m->slot[j]->path) & mask;
        /* move j back to i if its home is not cyclically within (i, j] */
        bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!stays) {
            m->slot[i] = m->slot[j];
            m->slot[j] = NULL;
            i = j;
        }
    }
    return n;
}

void nmap_free(struct nmap *m)
{
    for (size_t i = 0; i < m->cap; i++)
        node_unref(m->slot[i]);
    free(m->slot);
    m->slot = NULL;
    m->cap = m->n = 0;
}

/* ---- stores ---- */

void store_init(struct store *st)
{
    memset(st, 0, sizeof(*st));
    nmap_init(&st->nodes);
}

/* A snapshot: the table and the counts copied, the node records shared. */
void store_copy(struct store *dst, const struct store *src)
{
    dst->nodes.cap = src->nodes.cap;
    dst->nodes.n = src->nodes.n;
    dst->nodes.slot = xs_zalloc(sizeof(*dst->nodes.slot) * src->nodes.cap);
    for (size_t i = 0; i < src->nodes.cap; i++) {
        dst->nodes.slot[i] = src->nodes.slot[i];
        if (src->nodes.slot[i])
            src->nodes.slot[i]->refs++;
    }
    dst->nown = dst->owncap = src->nown;
    dst->own = xs_zalloc(sizeof(*dst->own) * (src->nown ? src->nown : 1));
    if (src->nown)
        memcpy(dst->own, src->own, sizeof(*dst->own) * src->nown);
}

void store_free(struct store *st)
{
    nmap_free(&st->nodes);
    free(st->own);
    st->own = NULL;
    st->nown = st->owncap = 0;
}

uint32_t *own_slot(struct store *st, uint32_t dom)
{
    for (uint32_t i = 0; i < st->nown; i++)
        if (st->own[i].dom == dom)
            return &st->own[i].n;
    if (st->nown == st->owncap) {
        st->owncap = st->owncap ? st->owncap * 2 : 8;
        st->own = xs_grow(st->own, sizeof(*st->own) * st->owncap);
    }
    st->own[st->nown].dom = dom;
    st->own[st->nown].n = 0;
    return &st->own[st->nown++].n;
}

/* ---- paths ---- */

bool path_valid(const char *p)
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

char *path_parent(const char *p)
{
    const char *slash = strrchr(p, '/');
    if (!slash || strcmp(p, "/") == 0)
        return NULL;
    if (slash == p)
        return xs_strdup("/");
    return xs_memdup(p, (size_t)(slash - p));
}

const char *path_base(const char *p)
{
    const char *slash = strrchr(p, '/');
    return slash ? slash + 1 : p;
}

char *path_join(const char *dir, const char *name)
{
    return strcmp(dir, "/") == 0 ? xs_fmt("/%s", name) : xs_fmt("%s/%s", dir, name);
}

/* xenstored's is_child: child equals parent or lies below it. */
bool path_is_child(const char *child, const char *parent)
{
    size_t n = strlen(parent);
    if (strcmp(parent, "/") == 0)
        return child[0] == '/';
    return strncmp(child, parent, n) == 0 && (child[n] == '/' || child[n] == '\0');
}

char *dom_home(uint32_t domid)
{
    return xs_fmt("/local/domain/%u", domid);
}

/* Absolute, validated path for a request argument: 0 or EINVAL. */
int path_canon(const struct op *op, const char *in, char **out)
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
