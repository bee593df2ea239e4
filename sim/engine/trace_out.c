/*
 * The trace's file output: a buffer of our own per file, written with
 * write(2), O_DIRECT for regular files (trace_int.h; the first write error
 * is latched and reported at close), and every number and string formatted by hand
 * from integers, so output is byte-identical across runs and hosts.
 */
#include "trace_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KIND_NAME_(id, name) STR(name),
const struct str trace_kind_names[SPAN_KIND_COUNT] = {HOPSIM_SPAN_KINDS(KIND_NAME_)};
#undef KIND_NAME_

const struct str trace_hop_names[HOP_COUNT] = {STR(""),   STR("H1"), STR("H2"),
                                               STR("H3"), STR("H4"), STR("H5"),
                                               STR("H6"), STR("H7"), STR("H8")};

const char *trace_kind_name(int kind)
{
    if (kind < 0 || kind >= SPAN_KIND_COUNT)
        return "?";
    return trace_kind_names[kind].s;
}

const char *trace_hop_name(int hop)
{
    if (hop < 0 || hop >= HOP_COUNT)
        return "?";
    return trace_hop_names[hop].s;
}

/* Writes n bytes at p; the first error is latched and later writes are skipped. */
static void out_write(struct out *o, const char *p, size_t n)
{
    while (n && !o->err) {
        ssize_t w = write(o->fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno == EINVAL && o->direct) {
            /* the file system takes no O_DIRECT here after all: plain writes from now on */
            o->direct = false;
            if (fcntl(o->fd, F_SETFL, fcntl(o->fd, F_GETFL) & ~O_DIRECT) != 0)
                o->err = errno ? errno : EIO;
            continue;
        }
        if (w <= 0) {
            o->err = w < 0 && errno ? errno : EIO;
            break;
        }
        if (o->direct && (size_t)w % OUT_ALIGN != 0 && (size_t)w != n) {
            /* a short direct write leaves the file offset unaligned: plain writes from now on */
            o->direct = false;
            if (fcntl(o->fd, F_SETFL, fcntl(o->fd, F_GETFL) & ~O_DIRECT) != 0)
                o->err = errno ? errno : EIO;
        }
        p += w;
        n -= (size_t)w;
    }
}

/* Writes what the buffer holds; with O_DIRECT the whole blocks, the rest (< OUT_ALIGN) stays. */
void out_flush(struct out *o)
{
    size_t n = o->direct ? o->len & ~(size_t)(OUT_ALIGN - 1) : o->len;
    out_write(o, o->buf, n);
    if (o->err)
        n = o->len; /* nothing more will be written */
    memmove(o->buf, o->buf + n, o->len - n);
    o->len -= n;
}

/* Out of line: only when the buffer is full (or n is huge). */
void out_put_slow(struct out *o, const char *p, size_t n)
{
    while (n) {
        if (o->len == OUT_CAP)
            out_flush(o);
        size_t c = OUT_CAP - o->len < n ? OUT_CAP - o->len : n;
        memcpy(o->buf + o->len, p, c);
        o->len += c;
        p += c;
        n -= c;
    }
}

const char trace_digit_pairs[201] = "00010203040506070809101112131415161718192021222324"
                                    "25262728293031323334353637383940414243444546474849"
                                    "50515253545556575859606162636465666768697071727374"
                                    "75767778798081828384858687888990919293949596979899";

struct grid_low trace_grid_low[1024];

void trace_grid_low_init(void)
{
    if (trace_grid_low[1].carry) /* filled (fl = 1 carries 9536) */
        return;
    for (uint32_t fl = 0; fl < 1024; fl++) {
        uint64_t b = (uint64_t)fl * 95367431640625ull; /* fl * 5^20 < 10^17 */
        uint64_t lo = b % 10000000000ull;
        uint32_t l2 = (uint32_t)(lo / 100000000u);
        memcpy(trace_grid_low[fl].digits, trace_digit_pairs + 2 * l2, 2);
        put8(trace_grid_low[fl].digits + 2, digits8((uint32_t)(lo - l2 * 100000000ull)));
        trace_grid_low[fl].carry = (uint32_t)(b / 10000000000ull);
    }
}

void out_u64(struct out *o, uint64_t v)
{
    out_end(o, put_u64(out_room(o, 20 + PUT_SLACK), v));
}

void out_i64(struct out *o, int64_t v)
{
    out_end(o, put_i64(out_room(o, 21 + PUT_SLACK), v));
}

void out_hex(struct out *o, uint64_t v)
{
    out_end(o, put_hex(out_room(o, 18), v));
}

void out_grid(struct out *o, uint64_t g)
{
    out_end(o, put_grid(out_room(o, 35 + PUT_SLACK), g));
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
    if (c < 0xC2 || c > 0xF4 || n < len)
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    if ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] >= 0xA0) || (c == 0xF0 && s[1] < 0x90) ||
        (c == 0xF4 && s[1] >= 0x90))
        return 0;
    return len;
}

void out_json_escape(struct out *o, const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t n = strlen(str), run = 0;
    for (size_t i = 0; i < n;) {
        unsigned c = s[i];
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
            run++, i++;
            continue;
        }
        out_put(o, (const char *)s + i - run, run);
        run = 0;
        size_t u = c >= 0x80 ? utf8_len(s + i, n - i) : 0;
        if (u) {
            out_put(o, (const char *)s + i, u);
            i += u;
            continue;
        }
        i++;
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            out_put(o, e, 2);
        } else if (c < 0x20) {
            char e[6] = {
                '\\', 'u', '0', '0', "0123456789abcdef"[c >> 4], "0123456789abcdef"[c & 15]};
            out_put(o, e, 6);
        } else {
            OUT_LIT(o, "\\ufffd"); /* invalid UTF-8 byte */
        }
    }
    out_put(o, (const char *)s + n - run, run);
}

void out_json_str(struct out *o, const char *s)
{
    out_ch(o, '"');
    out_json_escape(o, s);
    out_ch(o, '"');
}

/* A CSV field: quoted (quotes doubled) when it holds a comma, quote or newline. */
void out_csv_str(struct out *o, const char *s)
{
    size_t n = strcspn(s, ",\"\r\n");
    if (!s[n]) {
        out_put(o, s, n);
        return;
    }
    out_ch(o, '"');
    for (; *s; s++) {
        if (*s == '"')
            out_ch(o, '"');
        out_ch(o, *s);
    }
    out_ch(o, '"');
}

int out_open(struct out *o, const char *path, char *err, size_t errlen)
{
    *o = (struct out){.fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666)};
    int e = errno;
    o->path = strdup(path);
    o->buf = aligned_alloc(OUT_ALIGN, OUT_CAP);
    o->durs = calloc(1u << DUR_CACHE_BITS, sizeof(*o->durs));
    if (o->fd >= 0 && (!o->path || !o->buf || !o->durs))
        e = ENOMEM;
    if (o->fd < 0 || !o->path || !o->buf || !o->durs) {
        snprintf(err, errlen, "cannot open trace file '%s': %s", path, strerror(e));
        if (o->fd >= 0)
            close(o->fd);
        o->fd = -1;
        return -1;
    }
    o->on = true;
    struct stat st;
    if (fstat(o->fd, &st) == 0 && S_ISREG(st.st_mode) &&
        fcntl(o->fd, F_SETFL, fcntl(o->fd, F_GETFL) | O_DIRECT) == 0)
        o->direct = true;
    return 0;
}

/* Flushes and closes; the first error goes into err. Returns 0 or -1. */
int out_close(struct out *o, char *err, size_t errlen, int rc)
{
    if (!o->on)
        goto free;
    out_flush(o);
    if (o->len && o->direct && !o->err) {
        /* the tail, less than a block: a plain write */
        o->direct = false;
        if (fcntl(o->fd, F_SETFL, fcntl(o->fd, F_GETFL) & ~O_DIRECT) != 0)
            o->err = errno ? errno : EIO;
        out_flush(o);
    }
    if (close(o->fd) != 0 && !o->err)
        o->err = errno ? errno : EIO;
    o->on = false;
    o->fd = -1;
    if (o->err && rc == 0) {
        snprintf(err, errlen, "error writing trace file '%s': %s", o->path, strerror(o->err));
        rc = -1;
    }
free:
    free(o->path);
    free(o->buf);
    free(o->durs);
    o->path = o->buf = NULL;
    o->durs = NULL;
    return rc;
}

struct str csv_quote(const char *s)
{
    if (!s)
        return (struct str){NULL, 0};
    char *q = malloc(2 + 2 * strlen(s) + 1), *w = q;
    if (!q)
        return (struct str){NULL, 0};
    bool quote = s[strcspn(s, ",\"\r\n")] != 0;
    if (quote)
        *w++ = '"';
    for (const char *p = s; *p; p++) {
        if (*p == '"')
            *w++ = '"';
        *w++ = *p;
    }
    if (quote)
        *w++ = '"';
    *w = 0;
    return (struct str){q, (size_t)(w - q)};
}

/* ---- cached kind and name fragments (struct iname) ---------------------- */

static void iname_clear(struct iname *e)
{
    free(e->copy);
    free((char *)e->json.s);
    free((char *)e->csv.s);
    *e = (struct iname){0};
}

struct iname *iname_get(struct trace *t, uint16_t kind, const char *name)
{
    if (!t->inames && !(t->inames = calloc(1u << INAME_BITS, sizeof(*t->inames))))
        return NULL;
    uint64_t h = ((uint64_t)(uintptr_t)name ^ (uint64_t)kind << 48) * 0x9e3779b97f4a7c15ull;
    struct iname *e = &t->inames[h >> (64 - INAME_BITS)];
    if (e->used && e->key == name && e->kind == kind && (!name || !strcmp(e->copy, name)))
        return e;
    size_t n = name ? strlen(name) : 0;
    char *copy = name && n <= INAME_MAX ? malloc(n + 1) : NULL;
    if (name && !copy)
        return NULL;
    iname_clear(e);
    if (copy)
        memcpy(copy, name, n + 1);
    *e = (struct iname){.key = name, .copy = copy, .kind = kind, .used = true};
    return e;
}

void iname_keep(struct str *frag, const char *p, size_t n)
{
    char *c = malloc(n ? n : 1);
    if (!c)
        return;
    memcpy(c, p, n);
    *frag = (struct str){c, n};
}

void iname_free(struct trace *t)
{
    if (!t->inames)
        return;
    for (uint32_t i = 0; i < 1u << INAME_BITS; i++)
        iname_clear(&t->inames[i]);
    free(t->inames);
    t->inames = NULL;
}
