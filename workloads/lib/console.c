/*
 * Console and formatted output (see console.h).
 *
 * One formatter (vformat) writes through a per-call sink: into a caller's
 * buffer for snprintf, into the console buffer for printf. The console
 * buffer is flushed with one console_io hypercall per line (or per
 * CONSOLE_BUF bytes), so a line is never split unless it is very long.
 * The console buffer is taken under a spinlock with event delivery off,
 * so handlers and other vCPUs may print too.
 */
#include "console.h"
#include "hypercall.h"
#include "smp.h"
#include "str.h"

#define CONSOLE_BUF 256

static char cbuf[CONSOLE_BUF];
static size_t clen;
static spinlock_t console_lock = SPINLOCK_INIT; /* cbuf is shared by the vCPUs */

static void flush_locked(void)
{
    if (clen) {
        HYPERVISOR_console_io(CONSOLEIO_write, (int)clen, cbuf);
        clen = 0;
    }
}

void console_flush(void)
{
    int f = spin_lock_irqsave(&console_lock);
    flush_locked();
    spin_unlock_irqrestore(&console_lock, f);
}

static void console_putc(char c)
{
    cbuf[clen++] = c;
    if (c == '\n' || clen == CONSOLE_BUF)
        flush_locked();
}

void console_write(const char *s, size_t len)
{
    int f = spin_lock_irqsave(&console_lock);
    while (len--)
        console_putc(*s++);
    spin_unlock_irqrestore(&console_lock, f);
}

struct sink {
    char *buf; /* NULL: console */
    size_t size;
    size_t len; /* characters produced (may exceed size) */
};

static void sink_putc(struct sink *k, char c)
{
    if (!k->buf)
        console_putc(c);
    else if (k->len + 1 < k->size)
        k->buf[k->len] = c;
    k->len++;
}

static void sink_pad(struct sink *k, char c, int n)
{
    while (n-- > 0)
        sink_putc(k, c);
}

struct spec {
    int left, zero, width, prec;
};

static void put_str(struct sink *k, const struct spec *sp, const char *s, size_t n)
{
    int pad = sp->width - (int)n;
    if (!sp->left)
        sink_pad(k, ' ', pad);
    while (n--)
        sink_putc(k, *s++);
    if (sp->left)
        sink_pad(k, ' ', pad);
}

static void put_num(struct sink *k, const struct spec *sp, unsigned long long v, unsigned base,
                    int upper, int neg, const char *prefix)
{
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = digits[v % base];
        v /= base;
    } while (v);
    int plen = (int)strlen(prefix) + neg;
    int pad = sp->width - n - plen;
    if (!sp->left && !sp->zero)
        sink_pad(k, ' ', pad);
    if (neg)
        sink_putc(k, '-');
    while (*prefix)
        sink_putc(k, *prefix++);
    if (!sp->left && sp->zero)
        sink_pad(k, '0', pad);
    while (n)
        sink_putc(k, tmp[--n]);
    if (sp->left)
        sink_pad(k, ' ', pad);
}

static int parse_int(const char **f, va_list *ap)
{
    if (**f == '*') {
        (*f)++;
        return va_arg(*ap, int);
    }
    int v = 0;
    while (**f >= '0' && **f <= '9')
        v = v * 10 + (*(*f)++ - '0');
    return v;
}

static void vformat(struct sink *k, const char *f, va_list ap0)
{
    va_list ap;
    va_copy(ap, ap0);
    for (; *f; f++) {
        if (*f != '%') {
            sink_putc(k, *f);
            continue;
        }
        struct spec sp = {0, 0, 0, -1};
        for (f++; *f == '-' || *f == '0'; f++)
            *(*f == '-' ? &sp.left : &sp.zero) = 1;
        sp.width = parse_int(&f, &ap);
        if (sp.width < 0) {
            sp.left = 1;
            sp.width = -sp.width;
        }
        if (*f == '.') {
            f++;
            sp.prec = parse_int(&f, &ap);
        }
        int lng = 0; /* -2 hh, -1 h, 0 int, 1 long, 2 long long */
        for (;; f++) {
            if (*f == 'l')
                lng++;
            else if (*f == 'h')
                lng--;
            else if (*f == 'z')
                lng = 1;
            else
                break;
        }
        unsigned long long u;
        long long s;
        switch (*f) {
        case 'd':
        case 'i':
            s = lng >= 2 ? va_arg(ap, long long) : lng == 1 ? va_arg(ap, long) : va_arg(ap, int);
            if (lng == -1)
                s = (short)s;
            else if (lng <= -2)
                s = (signed char)s;
            put_num(k, &sp, s < 0 ? -(unsigned long long)s : (unsigned long long)s, 10, 0, s < 0,
                    "");
            break;
        case 'u':
        case 'x':
        case 'X':
            u = lng >= 2   ? va_arg(ap, unsigned long long)
                : lng == 1 ? va_arg(ap, unsigned long)
                           : va_arg(ap, unsigned);
            if (lng == -1)
                u = (unsigned short)u;
            else if (lng <= -2)
                u = (unsigned char)u;
            put_num(k, &sp, u, *f == 'u' ? 10 : 16, *f == 'X', 0, "");
            break;
        case 'p':
            put_num(k, &sp, (unsigned long)va_arg(ap, void *), 16, 0, 0, "0x");
            break;
        case 's': {
            const char *str = va_arg(ap, const char *);
            if (!str)
                str = "(null)";
            put_str(k, &sp, str, sp.prec >= 0 ? strnlen(str, (size_t)sp.prec) : strlen(str));
            break;
        }
        case 'c': {
            char c = (char)va_arg(ap, int);
            put_str(k, &sp, &c, 1);
            break;
        }
        case '%':
            sink_putc(k, '%');
            break;
        case 0:
            f--; /* stray '%' at the end */
            break;
        default:
            sink_putc(k, '%');
            sink_putc(k, *f);
            break;
        }
    }
    va_end(ap);
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
    static char dummy;
    struct sink k = {size ? buf : &dummy, size, 0};
    vformat(&k, fmt, ap);
    if (size)
        buf[k.len < size ? k.len : size - 1] = 0;
    return (int)k.len;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}

int vprintf(const char *fmt, va_list ap)
{
    struct sink k = {NULL, 0, 0};
    int f = spin_lock_irqsave(&console_lock);
    vformat(&k, fmt, ap);
    spin_unlock_irqrestore(&console_lock, f);
    return (int)k.len;
}

int printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vprintf(fmt, ap);
    va_end(ap);
    return n;
}
