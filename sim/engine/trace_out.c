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

void out_u64(struct out *o, uint64_t v)
{
    out_end(o, put_u64(out_room(o, 20), v));
}

void out_i64(struct out *o, int64_t v)
{
    char *w = out_room(o, 21);
    if (v < 0) {
        *w++ = '-';
        w = put_u64(w, 0 - (uint64_t)v);
    } else {
        w = put_u64(w, (uint64_t)v);
    }
    out_end(o, w);
}

void out_hex(struct out *o, uint64_t v)
{
    char *w = out_room(o, 18);
    int n = v ? (64 - __builtin_clzll(v) + 3) / 4 : 1;
    *w++ = '0';
    *w++ = 'x';
    for (int i = n - 1; i >= 0; i--, v >>= 4)
        w[i] = "0123456789abcdef"[v & 15];
    out_end(o, w + n);
}

uint64_t us_grid(uint64_t ps)
{
    /* ps * 2^20 / 10^6 = ps * 2^14 / 15625, rounded (never a tie: 15625 is odd) */
    if (ps < (1ull << 49))
        return ((ps << 14) + 7812) / 15625;
    __extension__ typedef unsigned __int128 u128;
    return (uint64_t)((((u128)ps << 14) + 7812) / 15625);
}

_Static_assert(US_GRID_BITS == 20, "out_grid writes 20 decimals");

void out_grid(struct out *o, uint64_t g)
{
    char *w = put_u64(out_room(o, 42), g >> US_GRID_BITS);
    uint32_t f = (uint32_t)(g & ((1u << US_GRID_BITS) - 1));
    if (f) {
        /* f / 2^20 has 20 decimals, f * 5^20; with f = fh * 2^10 + fl that is
         * fh * 5^10 * 10^10 + fl * 5^20, in two 10-digit halves that fit 64 bits.
         * The last ctz(f) decimals are zeros: not written. */
        uint64_t b = (uint64_t)(f & 1023u) * 95367431640625ull; /* fl * 5^20 < 10^17 */
        uint64_t hi = (uint64_t)(f >> 10) * 9765625ull + b / 10000000000ull;
        *w++ = '.';
        put_digits(w + 10, hi, 10);
        put_digits(w + 20, b % 10000000000ull, 10);
        w += 20 - __builtin_ctz(f);
    }
    out_end(o, w);
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
    if (o->fd >= 0 && (!o->path || !o->buf))
        e = ENOMEM;
    if (o->fd < 0 || !o->path || !o->buf) {
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
    o->path = o->buf = NULL;
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
