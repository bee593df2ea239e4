/*
 * Quantities with units, as scenarios, --set and expectations write them:
 * "150us", "2.5 ms", "4KiB", "900Mbit/s". One parser and one printer for
 * every place a number with a unit is read or shown, so they agree.
 */
#ifndef HOPSIM_UNITS_H
#define HOPSIM_UNITS_H

#include <stdbool.h>
#include <stddef.h>

enum unit_kind {
    UNIT_COUNT, /* a plain number */
    UNIT_TIME,  /* picoseconds; written ps, ns, us (or µs), ms, s */
    UNIT_RATE,  /* per simulated second; a plain number or N/s */
    UNIT_BYTES, /* bytes; B, KiB, MiB, GiB (2^10...), kB, MB, GB (10^3...) */
    UNIT_BITS,  /* bits per second; bit/s, kbit/s, Mbit/s, Gbit/s */
    UNIT_TEXT,  /* a word, compared as text */
};

/* The kind's name and the units it accepts, for messages ("time: ps, ns, us, ms, s"). */
const char *unit_kind_name(enum unit_kind k);
const char *unit_kind_hint(enum unit_kind k);
/* The base unit values of kind k are stored in: "ps", "1/s", "B", "bit/s", "" (count, text). */
const char *unit_base_name(enum unit_kind k);

/*
 * Parse s (a number, optionally followed by a unit of kind k, spaces
 * allowed between them) into *out in the kind's base unit. A time needs
 * its unit. Returns 0, or -1 with a message saying what was expected.
 */
int unit_parse(const char *s, enum unit_kind k, double *out, char *msg, size_t n);

/* v (base unit) with a readable unit: "42.180 us", "3.2 KiB", "12345/s". */
void unit_format(double v, enum unit_kind k, char *buf, size_t n);

/*
 * Does s look like a number with a unit suffix ("5ms", "4KiB")? Then *k is
 * the unit's kind; a hint for values given where a plain number is taken.
 */
bool unit_guess(const char *s, enum unit_kind *k);

/*
 * A number with a unit given for a numeric scenario parameter (--set
 * setvariable_ms=5ms, --set bs=4KiB): converted to the unit the parameter's
 * name ends in (_ps _ns _us _ms _s, _kb _mb), or to bytes when its help
 * says bytes. Returns 1 with *out, 0 when v has no unit, -1 with a hint in
 * msg when the parameter's unit is not known.
 */
int unit_param(const char *name, const char *help, const char *v, double *out, char *msg, size_t n);

/* Formats a message into msg (if any) and returns -1: the loader's error idiom. */
int unit_msgf(char *msg, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
