/*
 * Quantities with units (see units.h). Binary prefixes (KiB) are powers of
 * two, decimal ones (kB, Mbit/s) powers of ten, as in IEC 80000-13.
 */
#include "units.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct unit {
    const char *name;
    enum unit_kind kind;
    double scale; /* base units per one of this */
};

static const struct unit units[] = {
    {"ps", UNIT_TIME, 1},
    {"ns", UNIT_TIME, 1e3},
    {"us", UNIT_TIME, 1e6},
    {"\xc2\xb5s", UNIT_TIME, 1e6},
    {"ms", UNIT_TIME, 1e9},
    {"s", UNIT_TIME, 1e12},
    {"/s", UNIT_RATE, 1},
    {"B", UNIT_BYTES, 1},
    {"KiB", UNIT_BYTES, 1024.0},
    {"MiB", UNIT_BYTES, 1048576.0},
    {"GiB", UNIT_BYTES, 1073741824.0},
    {"kB", UNIT_BYTES, 1e3},
    {"MB", UNIT_BYTES, 1e6},
    {"GB", UNIT_BYTES, 1e9},
    {"bit/s", UNIT_BITS, 1},
    {"kbit/s", UNIT_BITS, 1e3},
    {"Mbit/s", UNIT_BITS, 1e6},
    {"Gbit/s", UNIT_BITS, 1e9},
};

#define NUNITS (sizeof units / sizeof units[0])

const char *unit_kind_name(enum unit_kind k)
{
    static const char *const names[] = {"count", "time", "rate", "size", "bit rate", "text"};
    return (unsigned)k < sizeof names / sizeof names[0] ? names[k] : "?";
}

const char *unit_base_name(enum unit_kind k)
{
    static const char *const names[] = {"", "ps", "1/s", "B", "bit/s", ""};
    return (unsigned)k < sizeof names / sizeof names[0] ? names[k] : "";
}

const char *unit_kind_hint(enum unit_kind k)
{
    switch (k) {
    case UNIT_TIME:
        return "a time with its unit: ps, ns, us, ms or s (e.g. 150us)";
    case UNIT_RATE:
        return "a rate per simulated second (e.g. 5000 or 5000/s)";
    case UNIT_BYTES:
        return "a size: B, KiB, MiB, GiB, kB, MB or GB (e.g. 4KiB)";
    case UNIT_BITS:
        return "a bit rate: bit/s, kbit/s, Mbit/s or Gbit/s (e.g. 900Mbit/s)";
    case UNIT_TEXT:
        return "a word";
    default:
        return "a number";
    }
}

int unit_msgf(char *msg, size_t n, const char *fmt, ...)
{
    va_list ap;
    if (msg && n) {
        va_start(ap, fmt);
        vsnprintf(msg, n, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static const struct unit *find_unit(const char *s)
{
    for (size_t i = 0; i < NUNITS; i++)
        if (!strcmp(units[i].name, s))
            return &units[i];
    return NULL;
}

/* Split s into a number and a unit suffix (spaces trimmed): false if no number leads. */
static bool split(const char *s, double *num, const char **suffix)
{
    char *end;
    while (isspace((unsigned char)*s))
        s++;
    errno = 0;
    *num = strtod(s, &end);
    if (end == s || errno == ERANGE || !isfinite(*num))
        return false;
    while (isspace((unsigned char)*end))
        end++;
    *suffix = end;
    return true;
}

int unit_parse(const char *s, enum unit_kind k, double *out, char *msg, size_t n)
{
    double v;
    const char *suffix;
    if (k == UNIT_TEXT)
        return unit_msgf(msg, n, "a word has no numeric value");
    if (!split(s, &v, &suffix))
        return unit_msgf(msg, n, "'%s' is not a number (expected %s)", s, unit_kind_hint(k));
    size_t len = strlen(suffix);
    while (len && isspace((unsigned char)suffix[len - 1]))
        len--;
    char u[16];
    if (len >= sizeof u)
        return unit_msgf(msg, n, "'%s': unknown unit (expected %s)", s, unit_kind_hint(k));
    memcpy(u, suffix, len);
    u[len] = '\0';
    if (!u[0]) {
        if (k == UNIT_TIME)
            return unit_msgf(msg, n, "'%s' needs a unit (expected %s)", s, unit_kind_hint(k));
        *out = v;
        return 0;
    }
    const struct unit *un = find_unit(u);
    if (!un)
        return unit_msgf(msg, n, "'%s': unknown unit '%s' (expected %s)", s, u, unit_kind_hint(k));
    if (un->kind != k)
        return unit_msgf(msg, n, "'%s' is a %s, expected %s", s, unit_kind_name(un->kind),
                         unit_kind_hint(k));
    *out = v * un->scale;
    return 0;
}

void unit_format(double v, enum unit_kind k, char *buf, size_t n)
{
    double a = fabs(v);
    switch (k) {
    case UNIT_TIME:
        if (a >= 1e12)
            snprintf(buf, n, "%.3f s", v / 1e12);
        else if (a >= 1e9)
            snprintf(buf, n, "%.3f ms", v / 1e9);
        else if (a >= 1e6 || a == 0)
            snprintf(buf, n, "%.3f us", v / 1e6);
        else
            snprintf(buf, n, "%.3f ns", v / 1e3);
        break;
    case UNIT_RATE:
        snprintf(buf, n, "%.0f/s", v);
        break;
    case UNIT_BYTES:
        if (a >= 1073741824.0)
            snprintf(buf, n, "%.2f GiB", v / 1073741824.0);
        else if (a >= 1048576.0)
            snprintf(buf, n, "%.2f MiB", v / 1048576.0);
        else if (a >= 1024.0)
            snprintf(buf, n, "%.2f KiB", v / 1024.0);
        else
            snprintf(buf, n, "%.0f B", v);
        break;
    case UNIT_BITS:
        if (a >= 1e9)
            snprintf(buf, n, "%.3f Gbit/s", v / 1e9);
        else if (a >= 1e6)
            snprintf(buf, n, "%.3f Mbit/s", v / 1e6);
        else
            snprintf(buf, n, "%.0f bit/s", v);
        break;
    default:
        if (v == floor(v) && a < 1e15)
            snprintf(buf, n, "%.0f", v);
        else
            snprintf(buf, n, "%.6g", v);
        break;
    }
}

bool unit_guess(const char *s, enum unit_kind *k)
{
    double v;
    const char *suffix;
    if (!split(s, &v, &suffix) || !*suffix)
        return false;
    const struct unit *un = find_unit(suffix);
    if (!un)
        return false;
    *k = un->kind;
    return true;
}

int unit_param(const char *name, const char *help, const char *v, double *out, char *msg, size_t n)
{
    static const struct {
        const char *suffix;
        enum unit_kind kind;
        double scale;
    } sfx[] = {{"_ps", UNIT_TIME, 1},         {"_ns", UNIT_TIME, 1e3}, {"_us", UNIT_TIME, 1e6},
               {"_ms", UNIT_TIME, 1e9},       {"_s", UNIT_TIME, 1e12}, {"_kb", UNIT_BYTES, 1024.0},
               {"_mb", UNIT_BYTES, 1048576.0}};
    enum unit_kind k;
    double base;
    size_t len = strlen(name);
    if (!unit_guess(v, &k))
        return 0;
    if (unit_parse(v, k, &base, msg, n) < 0)
        return -1;
    for (size_t i = 0; i < sizeof sfx / sizeof sfx[0]; i++) {
        size_t sl = strlen(sfx[i].suffix);
        if (len > sl && !strcmp(name + len - sl, sfx[i].suffix)) {
            if (sfx[i].kind != k)
                return unit_msgf(msg, n, "'%s' is a %s, but %s takes a %s in %s", v,
                                 unit_kind_name(k), name, unit_kind_name(sfx[i].kind),
                                 sfx[i].suffix + 1);
            *out = base / sfx[i].scale;
            return 1;
        }
    }
    if (k == UNIT_BYTES && help && strstr(help, "bytes")) {
        *out = base;
        return 1;
    }
    return unit_msgf(msg, n,
                     "'%s' has a unit, but the parameter's unit is not known: give a plain "
                     "number (%s)",
                     v, help && *help ? help : "see the scenario");
}
