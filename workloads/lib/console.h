/*
 * Console output through HYPERVISOR_console_io(CONSOLEIO_write): the
 * simulator prints each write prefixed with the domain's name. Output is
 * buffered and flushed at each newline, when the buffer fills, and by
 * console_flush().
 *
 * Formats: %d %i %u %x %X %p %s %c %% with flags '-' '0', a width (or *),
 * a precision for %s (or .*), and length modifiers hh h l ll z.
 */
#ifndef GUEST_CONSOLE_H
#define GUEST_CONSOLE_H

#include <stdarg.h>
#include <stddef.h>

#define __printf(a, b) __attribute__((format(printf, a, b)))

void console_write(const char *s, size_t len);
void console_flush(void);
int printf(const char *fmt, ...) __printf(1, 2);
int vprintf(const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...) __printf(3, 4);
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);

#endif
