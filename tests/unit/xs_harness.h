/*
 * The guest side of the xenstore wire protocol for the xenstore unit tests
 * (test_xenstore.c, test_xenstore_txn.c): each test domain has a
 * struct xenstore_domain_interface in host memory, requests are written into
 * req[] exactly as a guest's xenbus driver would (streaming through the
 * 1024-byte ring, wrapping at its end), xs_process() is called, and replies
 * and watch events are parsed out of rsp[] the way a guest consumes them.
 *
 * Fixture: domains 0, 1 and 2 are introduced; /local/domain/1 and
 * /local/domain/2 exist, owned by their domain with no access for others
 * (as a toolstack sets them up). Domain 3 has a ring but is not introduced.
 */
#ifndef HOPSIM_TEST_XS_HARNESS_H
#define HOPSIM_TEST_XS_HARNESS_H

#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xen/io/xs_wire.h>

#include "xenstore.h"

#define NDOM 4
#define MAXQ 512

struct msg {
    struct xsd_sockmsg h;
    char body[XENSTORE_PAYLOAD_MAX + 1];
};

/* A test guest: its ring and what it has read out of rsp[]. */
struct tdom {
    int id;
    struct xenstore_domain_interface *ring;
    char rx[2 * (XENSTORE_PAYLOAD_MAX + 16)]; /* bytes consumed but not yet parsed */
    uint32_t rxlen;
    struct msg *q; /* parsed messages not yet examined */
    uint32_t nq;
    uint32_t next_req;
};

static struct xs *xs;
static struct tdom D[NDOM];
static int notes[NDOM];
static int notes_other;

static inline void on_notify(void *opaque, int domid)
{
    ck_assert_ptr_eq(opaque, &D[0]);
    if (domid >= 0 && domid < NDOM)
        notes[domid]++;
    else
        notes_other++;
}

static inline void clear_notes(void)
{
    memset(notes, 0, sizeof(notes));
    notes_other = 0;
}

/* ---- guest side of the ring ---- */

/* Parse complete messages out of d->rx into d->q. */
static inline void parse_rx(struct tdom *d)
{
    for (;;) {
        struct xsd_sockmsg h;
        if (d->rxlen < sizeof(h))
            return;
        memcpy(&h, d->rx, sizeof(h));
        ck_assert_uint_le(h.len, XENSTORE_PAYLOAD_MAX);
        uint32_t total = (uint32_t)sizeof(h) + h.len;
        if (d->rxlen < total)
            return;
        ck_assert_uint_lt(d->nq, MAXQ);
        struct msg *m = &d->q[d->nq++];
        memset(m, 0, sizeof(*m));
        m->h = h;
        memcpy(m->body, d->rx + sizeof(h), h.len);
        memmove(d->rx, d->rx + total, d->rxlen - total);
        d->rxlen -= total;
    }
}

/* Consume everything in rsp[] as the guest would. */
static inline void pull(struct tdom *d)
{
    struct xenstore_domain_interface *r = d->ring;
    uint32_t cons = r->rsp_cons, prod = r->rsp_prod;
    ck_assert_uint_le(prod - cons, XENSTORE_RING_SIZE);
    for (; cons != prod; cons++) {
        ck_assert_uint_lt(d->rxlen, sizeof(d->rx));
        d->rx[d->rxlen++] = r->rsp[MASK_XENSTORE_IDX(cons)];
    }
    r->rsp_cons = cons;
    parse_rx(d);
}

static inline int pump(struct tdom *d)
{
    int rc = xs_process(xs, d->id, NULL);
    pull(d);
    return rc;
}

/* Write bytes into req[], letting the store consume when the ring is full. */
static inline void guest_put(struct tdom *d, const void *p, uint32_t len)
{
    struct xenstore_domain_interface *r = d->ring;
    const char *s = p;
    int stalls = 0;
    while (len) {
        uint32_t space = XENSTORE_RING_SIZE - (r->req_prod - r->req_cons);
        if (space == 0) {
            ck_assert_int_lt(++stalls, 64);
            pump(d);
            continue;
        }
        uint32_t n = space < len ? space : len;
        for (uint32_t i = 0; i < n; i++)
            r->req[MASK_XENSTORE_IDX(r->req_prod + i)] = s[i];
        r->req_prod += n;
        s += n;
        len -= n;
    }
}

static inline uint32_t send_msg(struct tdom *d, uint32_t type, uint32_t tx, const void *p,
                                uint32_t len)
{
    struct xsd_sockmsg h = {type, ++d->next_req, tx, len};
    guest_put(d, &h, sizeof(h));
    guest_put(d, p, len);
    return h.req_id;
}

/* Remove and return the first queued message that is (or is not) a watch event. */
static inline bool take(struct tdom *d, bool event, struct msg *out)
{
    for (uint32_t i = 0; i < d->nq; i++) {
        if ((d->q[i].h.type == XS_WATCH_EVENT) != event)
            continue;
        *out = d->q[i];
        memmove(&d->q[i], &d->q[i + 1], sizeof(d->q[0]) * (d->nq - i - 1));
        d->nq--;
        return true;
    }
    return false;
}

static struct msg R; /* the last reply */

static inline struct msg *rpc(struct tdom *d, uint32_t type, uint32_t tx, const void *p,
                              uint32_t len)
{
    uint32_t id = send_msg(d, type, tx, p, len);
    for (int i = 0; i < 16; i++) {
        if (take(d, false, &R)) {
            ck_assert_uint_eq(R.h.req_id, id);
            ck_assert_uint_eq(R.h.tx_id, tx);
            return &R;
        }
        ck_assert_int_eq(pump(d), 0);
    }
    ck_abort_msg("no reply from dom%d", d->id);
    return NULL;
}

#define ARG(s) s, (uint32_t)sizeof(s)       /* string and its NUL */
#define RAW(s) s, (uint32_t)(sizeof(s) - 1) /* bytes as written */

static inline void expect_body(const struct msg *m, uint32_t type, const void *p, uint32_t len)
{
    ck_assert_uint_eq(m->h.type, type);
    ck_assert_uint_eq(m->h.len, len);
    ck_assert(memcmp(m->body, p, len) == 0);
}

static inline void expect_ok(const struct msg *m, uint32_t type)
{
    expect_body(m, type, ARG("OK"));
}

static inline void expect_err(const struct msg *m, const char *name)
{
    ck_assert_uint_eq(m->h.type, XS_ERROR);
    ck_assert_str_eq(m->body, name);
    ck_assert_uint_eq(m->h.len, strlen(name) + 1);
}

/* ---- request helpers ---- */

static inline struct msg *one(struct tdom *d, uint32_t type, uint32_t tx, const char *arg)
{
    return rpc(d, type, tx, arg, (uint32_t)strlen(arg) + 1);
}

static inline struct msg *do_write_n(struct tdom *d, uint32_t tx, const char *path, const char *v,
                                     uint32_t vlen)
{
    uint32_t plen = (uint32_t)strlen(path) + 1;
    char *buf = malloc(plen + vlen);
    memcpy(buf, path, plen);
    memcpy(buf + plen, v, vlen);
    struct msg *m = rpc(d, XS_WRITE, tx, buf, plen + vlen);
    free(buf);
    return m;
}

static inline struct msg *do_write(struct tdom *d, uint32_t tx, const char *path, const char *v)
{
    return do_write_n(d, tx, path, v, (uint32_t)strlen(v));
}

static inline void write_ok(struct tdom *d, uint32_t tx, const char *path, const char *v)
{
    expect_ok(do_write(d, tx, path, v), XS_WRITE);
}

static inline void read_is(struct tdom *d, uint32_t tx, const char *path, const char *v)
{
    expect_body(one(d, XS_READ, tx, path), XS_READ, v, (uint32_t)strlen(v));
}

static inline void read_err(struct tdom *d, uint32_t tx, const char *path, const char *err)
{
    expect_err(one(d, XS_READ, tx, path), err);
}

static inline struct msg *two(struct tdom *d, uint32_t type, const char *a, const char *b)
{
    char buf[256];
    size_t la = strlen(a) + 1, lb = strlen(b) + 1;
    ck_assert_uint_le(la + lb, sizeof(buf));
    memcpy(buf, a, la);
    memcpy(buf + la, b, lb);
    return rpc(d, type, 0, buf, (uint32_t)(la + lb));
}

static inline void expect_event(struct tdom *d, const char *path, const char *token)
{
    struct msg m;
    pull(d);
    ck_assert_msg(take(d, true, &m), "dom%d: no watch event for %s", d->id, path);
    ck_assert_uint_eq(m.h.req_id, 0);
    ck_assert_uint_eq(m.h.tx_id, 0);
    ck_assert_str_eq(m.body, path);
    ck_assert_str_eq(m.body + strlen(path) + 1, token);
    ck_assert_uint_eq(m.h.len, strlen(path) + strlen(token) + 2);
}

static inline void expect_no_event(struct tdom *d)
{
    struct msg m;
    pull(d);
    ck_assert_msg(!take(d, true, &m), "dom%d: unexpected event %s", d->id, m.body);
}

static inline void watch(struct tdom *d, const char *path, const char *token)
{
    expect_ok(two(d, XS_WATCH, path, token), XS_WATCH);
    expect_event(d, path, token); /* the initial event */
}

static inline uint32_t tx_start(struct tdom *d)
{
    struct msg *m = rpc(d, XS_TRANSACTION_START, 0, ARG(""));
    ck_assert_uint_eq(m->h.type, XS_TRANSACTION_START);
    ck_assert_uint_eq(m->body[m->h.len - 1], '\0');
    ck_assert_uint_eq(strlen(m->body) + 1, m->h.len);
    unsigned long id = strtoul(m->body, NULL, 10);
    ck_assert_uint_ne(id, 0);
    return (uint32_t)id;
}

/* ---- fixture ---- */

static inline void make_home(int domid)
{
    char p[64];
    snprintf(p, sizeof(p), "/local/domain/%d", domid);
    ck_assert_int_eq(xs_tool_mkdir(xs, p), 0);
    ck_assert_int_eq(xs_tool_set_perms(xs, p, domid, 'n', NULL, NULL, 0), 0);
}

static inline void setup(void)
{
    static struct xs_host_ops ops;
    ops.opaque = &D[0];
    ops.notify = on_notify;
    xs = xs_create(&ops);
    ck_assert_ptr_nonnull(xs);
    for (int i = 0; i < NDOM; i++) {
        memset(&D[i], 0, sizeof(D[i]));
        D[i].id = i;
        D[i].ring = calloc(1, sizeof(*D[i].ring));
        D[i].q = calloc(MAXQ, sizeof(struct msg));
        if (i < 3)
            ck_assert_int_eq(xs_introduce(xs, i, D[i].ring), 0);
    }
    make_home(1);
    make_home(2);
    clear_notes();
}

static inline void teardown(void)
{
    xs_destroy(xs);
    xs = NULL;
    for (int i = 0; i < NDOM; i++) {
        free(D[i].ring);
        free(D[i].q);
    }
}

#endif
