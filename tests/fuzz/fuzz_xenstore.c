/*
 * Fuzz target: the xenstore wire protocol (sim/xen/xenstore.c, xs_*.c).
 *
 * Three domains (0 privileged, 1 and 2 with homes as a toolstack makes
 * them) talk to one store. The input is a program of steps, each chosen by
 * one byte:
 *   structured request  a well-formed header (type, tx id from a small set,
 *                       length) and payload bytes from the input, so
 *                       paths, transactions and watches are reached fast;
 *   raw bytes           written into the request ring as they are
 *                       (torn headers, bad lengths, garbage);
 *   bad ring indices    the guest scribbles on req_prod / rsp_cons;
 *   toolstack           xs_tool_write / rm / set_perms on input paths;
 *   drain               the guest consumes its responses.
 * After every step the whole store must pass xs_check and no request may
 * have hit an invariant violation (xs_faults): either aborts the run.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xen/io/xs_wire.h>

#include "xenstore.h"

#define NDOM 3

struct in {
    const uint8_t *p;
    size_t n;
};

static uint8_t take(struct in *in)
{
    if (!in->n)
        return 0;
    in->n--;
    return *in->p++;
}

static void put(struct xenstore_domain_interface *r, const void *data, uint32_t len)
{
    const uint8_t *p = data;
    for (uint32_t i = 0; i < len; i++) {
        if (r->req_prod - r->req_cons >= XENSTORE_RING_SIZE)
            return; /* full: a guest would wait; the rest is dropped */
        r->req[MASK_XENSTORE_IDX(r->req_prod)] = p[i];
        r->req_prod++;
    }
}

static void drain(struct xenstore_domain_interface *r)
{
    if (r->rsp_prod - r->rsp_cons <= XENSTORE_RING_SIZE)
        r->rsp_cons = r->rsp_prod;
}

static void verify(struct xs *xs)
{
    if (xs_check(xs) || xs_faults(xs))
        abort();
}

/* A short path from the input: relative, absolute under a home, or special. */
static int make_path(struct in *in, char *buf, size_t len)
{
    static const char *const bases[] = {"a",
                                        "a/b",
                                        "co/ain/0/t",
                                        "/local/domain/1",
                                        "/local/domain/2/x",
                                        "/local/domain",
                                        "/",
                                        "@releaseDomain",
                                        "@introduceDomain",
                                        "/tool/xenstored",
                                        "x",
                                        "a/b/c/d"};
    uint8_t c = take(in);
    int n = snprintf(buf, len, "%s", bases[c % (sizeof(bases) / sizeof(bases[0]))]);
    if (c & 0x80) {
        uint8_t k = take(in) % 16;
        for (uint8_t i = 0; i < k && n + 1 < (int)len; i++) {
            uint8_t ch = take(in);
            buf[n++] = ch < 200 ? "abcdefghijklmnop/_-@0123456789"[ch % 30] : (char)ch;
        }
        buf[n] = 0;
    }
    return n + 1;
}

static void request(struct xs *xs, struct xenstore_domain_interface *r, int dom, struct in *in,
                    uint32_t *req_id, const uint32_t *txids)
{
    char body[512];
    uint32_t type = take(in) % (XS_TYPE_COUNT + 2);
    uint32_t tx = txids[take(in) % 4];
    int len = make_path(in, body, sizeof(body));
    uint8_t extra = take(in);
    for (uint8_t i = 0; i < extra % 64 && len < (int)sizeof(body); i++)
        body[len++] = (char)take(in);
    struct xsd_sockmsg h = {type, ++*req_id, tx, (uint32_t)len};
    put(r, &h, sizeof(h));
    put(r, body, (uint32_t)len);
    xs_process(xs, dom, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct xenstore_domain_interface rings[NDOM];
    memset(rings, 0, sizeof(rings));
    struct xs *xs = xs_create(NULL);
    for (int i = 0; i < NDOM; i++)
        xs_introduce(xs, i, &rings[i]);
    xs_tool_mkdir(xs, "/local/domain/1");
    xs_tool_set_perms(xs, "/local/domain/1", 1, 'n', NULL, NULL, 0);
    xs_tool_mkdir(xs, "/local/domain/2");
    xs_tool_set_perms(xs, "/local/domain/2", 2, 'n', NULL, NULL, 0);
    struct in in = {data, size};
    uint32_t req_id = 0;
    /* transaction ids a guest might use: none, the first ids handed out, junk */
    const uint32_t txids[4] = {0, 1, 2, 0xdeadbeef};
    for (int steps = 0; in.n && steps < 400; steps++) {
        uint8_t op = take(&in);
        int dom = op % NDOM;
        struct xenstore_domain_interface *r = &rings[dom];
        char path[64], val[32];
        switch ((op / NDOM) % 8) {
        case 0:
        case 1:
        case 2:
            request(xs, r, dom, &in, &req_id, txids);
            break;
        case 3: {
            uint8_t n = take(&in);
            for (uint8_t i = 0; i < n && in.n; i++) {
                uint8_t b = take(&in);
                put(r, &b, 1);
            }
            xs_process(xs, dom, NULL);
            break;
        }
        case 4:
            if (take(&in) & 1)
                r->req_prod += take(&in);
            else
                r->rsp_cons -= take(&in);
            xs_process(xs, dom, NULL);
            break;
        case 5:
            make_path(&in, path, sizeof(path));
            snprintf(val, sizeof(val), "%u", take(&in));
            switch (take(&in) % 3) {
            case 0:
                xs_tool_write(xs, path, val);
                break;
            case 1:
                xs_tool_rm(xs, path);
                break;
            default:
                xs_tool_set_perms(xs, path, take(&in) % 4, "nrwb"[take(&in) % 4], NULL, NULL, 0);
            }
            break;
        default:
            drain(r);
            xs_process(xs, dom, NULL);
            break;
        }
        verify(xs);
    }
    xs_destroy(xs);
    return 0;
}
