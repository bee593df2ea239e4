/*
 * Freestanding string and memory functions (see str.h).
 *
 * The loops must not be turned back into calls to themselves, hence the
 * pragma disabling gcc's loop-to-memcpy/memset pattern recognition here.
 * Word loops use may_alias unaligned types so any alignment is legal.
 */
#pragma GCC optimize("no-tree-loop-distribute-patterns")

#include "str.h"

typedef uint64_t __attribute__((may_alias, aligned(1))) u64_any;

/*
 * Copies and fills go 32 bytes (four 8-byte moves) per loop iteration: a
 * quarter of the loop overhead of one word at a time, as compilers' own
 * inline expansions do; then words, then the last bytes.
 */
void *memcpy(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    for (; n >= 32; n -= 32, d += 32, s += 32) {
        uint64_t a = ((const u64_any *)s)[0], b = ((const u64_any *)s)[1];
        uint64_t c = ((const u64_any *)s)[2], e = ((const u64_any *)s)[3];
        ((u64_any *)d)[0] = a;
        ((u64_any *)d)[1] = b;
        ((u64_any *)d)[2] = c;
        ((u64_any *)d)[3] = e;
    }
    for (; n >= 8; n -= 8, d += 8, s += 8)
        *(u64_any *)d = *(const u64_any *)s;
    while (n--)
        *d++ = *s++;
    return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    if (d <= s || d >= s + n)
        return memcpy(dst, src, n);
    d += n;
    s += n;
    for (; n >= 8; n -= 8) {
        d -= 8;
        s -= 8;
        *(u64_any *)d = *(const u64_any *)s;
    }
    while (n--)
        *--d = *--s;
    return dst;
}

void *memset(void *dst, int c, size_t n)
{
    unsigned char *d = dst;
    uint64_t w = 0x0101010101010101ull * (unsigned char)c;
    for (; n >= 32; n -= 32, d += 32) {
        ((u64_any *)d)[0] = w;
        ((u64_any *)d)[1] = w;
        ((u64_any *)d)[2] = w;
        ((u64_any *)d)[3] = w;
    }
    for (; n >= 8; n -= 8, d += 8)
        *(u64_any *)d = w;
    while (n--)
        *d++ = (unsigned char)c;
    return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const unsigned char *x = a, *y = b;
    for (; n >= 8 && *(const u64_any *)x == *(const u64_any *)y; n -= 8, x += 8, y += 8)
        ;
    for (; n; n--, x++, y++)
        if (*x != *y)
            return *x - *y;
    return 0;
}

void *memchr(const void *s, int c, size_t n)
{
    const unsigned char *p = s;
    for (; n; n--, p++)
        if (*p == (unsigned char)c)
            return (void *)p;
    return NULL;
}

size_t strlen(const char *s)
{
    const char *p = s;
    while (*p)
        p++;
    return (size_t)(p - s);
}

size_t strnlen(const char *s, size_t max)
{
    size_t n = 0;
    while (n < max && s[n])
        n++;
    return n;
}

int strcmp(const char *a, const char *b)
{
    while (*a && *a == *b) {
        a++;
        b++;
    }
    return (unsigned char)*a - (unsigned char)*b;
}

int strncmp(const char *a, const char *b, size_t n)
{
    for (; n; n--, a++, b++) {
        if (*a != *b)
            return (unsigned char)*a - (unsigned char)*b;
        if (!*a)
            return 0;
    }
    return 0;
}

char *strchr(const char *s, int c)
{
    for (;; s++) {
        if (*s == (char)c)
            return (char *)s;
        if (!*s)
            return NULL;
    }
}

char *strrchr(const char *s, int c)
{
    const char *last = NULL;
    for (;; s++) {
        if (*s == (char)c)
            last = s;
        if (!*s)
            return (char *)last;
    }
}

size_t strlcpy(char *dst, const char *src, size_t size)
{
    size_t len = strlen(src);
    if (size) {
        size_t n = len < size - 1 ? len : size - 1;
        memcpy(dst, src, n);
        dst[n] = 0;
    }
    return len;
}

size_t strlcat(char *dst, const char *src, size_t size)
{
    size_t d = strnlen(dst, size);
    if (d == size)
        return size + strlen(src);
    return d + strlcpy(dst + d, src, size - d);
}

static int digit_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'Z')
        return c - 'A' + 10;
    return 99;
}

unsigned long strtoul(const char *s, char **end, int base)
{
    const char *start = s;
    unsigned long v = 0;
    int neg = 0, any = 0;
    while (*s == ' ' || *s == '\t' || *s == '\n')
        s++;
    if (*s == '+' || *s == '-')
        neg = *s++ == '-';
    if ((base == 0 || base == 16) && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') &&
        digit_value(s[2]) < 16) {
        s += 2;
        base = 16;
    } else if (base == 0) {
        base = s[0] == '0' ? 8 : 10;
    }
    for (int d; (d = digit_value(*s)) < base; s++, any = 1)
        v = v * (unsigned long)base + (unsigned long)d;
    if (end)
        *end = (char *)(any ? s : start);
    return neg ? -v : v;
}

long strtol(const char *s, char **end, int base)
{
    return (long)strtoul(s, end, base);
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int mac_parse(const char *s, uint8_t mac[6])
{
    for (int i = 0; i < 6; i++) {
        int hi = hex_digit(s[0]), lo = hi < 0 ? -1 : hex_digit(s[1]);
        if (lo < 0)
            return -1;
        mac[i] = (uint8_t)(hi << 4 | lo);
        s += 2;
        if (*s++ != (i < 5 ? ':' : '\0'))
            return -1;
    }
    return 0;
}
