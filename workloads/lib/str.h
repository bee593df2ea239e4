/*
 * Freestanding string and memory functions for guest code (gcc emits calls
 * to memcpy/memset/memmove/memcmp on its own), plus the number parsing the
 * runtime needs. Bulk copies move 8 bytes per store: every guest store is
 * expensive under Unicorn 2.0.1, so fewer and wider is better.
 */
#ifndef GUEST_STR_H
#define GUEST_STR_H

#include <stddef.h>
#include <stdint.h>

void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
void *memchr(const void *s, int c, size_t n);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strchr(const char *s, int c);
char *strrchr(const char *s, int c);
/* Copies at most size-1 bytes and always NUL-terminates (size > 0); returns strlen(src). */
size_t strlcpy(char *dst, const char *src, size_t size);
/* Appends like strlcpy; returns the length it tried to create. */
size_t strlcat(char *dst, const char *src, size_t size);
/* strtol/strtoul subset: base 0 (auto 0x / 0), 10 or 16; leading spaces and sign. */
long strtol(const char *s, char **end, int base);
unsigned long strtoul(const char *s, char **end, int base);
/* "xx:xx:xx:xx:xx:xx" (hex digits, either case) into mac: 0, or -1 if malformed. */
int mac_parse(const char *s, uint8_t mac[6]);

#endif
