/*
 * Cost profiles: the parameter table (from the HOPSIM_COSTS X-macro in
 * cost.h), the profile file parser and unit conversions.
 *
 * Assumptions:
 * - A profile is small (one line per parameter); it is parsed into a local
 *   copy and only handed to the caller when the whole file is valid, so a
 *   failed load never leaves a half-filled profile behind.
 * - Units are case-sensitive and decimal (1 KB/s = 1000 B/s).
 * - Values are finite and >= 0; bandwidths and the scheduling quantum must
 *   be > 0 (a zero there would divide by zero or never advance time).
 * - Canonical storage: cycles as cycles, times in ps, bandwidth in B/s,
 *   counts as given. Conversions to ps round to the nearest integer.
 */
#include "cost.h"
#include "suggest.h"

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cost_param {
    const char *name;
    enum cost_dim dim;
    const char *desc;
};

#define HOPSIM_COST_ROW_(id, name, dim, desc) [id] = {name, dim, desc},
static const struct cost_param params[COST_COUNT] = {HOPSIM_COSTS(HOPSIM_COST_ROW_)};
#undef HOPSIM_COST_ROW_

struct cost_unit {
    const char *name;
    enum cost_dim dim;
    double scale; /* to the canonical unit */
};

static const struct cost_unit units[] = {
    {"cycles", DIM_CYCLES, 1.0},  {"ps", DIM_TIME, 1.0},        {"ns", DIM_TIME, 1e3},
    {"us", DIM_TIME, 1e6},        {"ms", DIM_TIME, 1e9},        {"s", DIM_TIME, 1e12},
    {"B/s", DIM_BANDWIDTH, 1.0},  {"KB/s", DIM_BANDWIDTH, 1e3}, {"MB/s", DIM_BANDWIDTH, 1e6},
    {"GB/s", DIM_BANDWIDTH, 1e9}, {"x", DIM_COUNT, 1.0},
};
#define NUNITS (sizeof(units) / sizeof(units[0]))

/* Largest canonical value accepted: keeps every time well inside simtime_t. */
#define COST_MAX_VALUE 1e18

static const char *const dim_what[] = {
    [DIM_CYCLES] = "a cycle count",
    [DIM_TIME] = "a time",
    [DIM_BANDWIDTH] = "a bandwidth",
    [DIM_COUNT] = "a plain count",
};

static const char *const dim_units[] = {
    [DIM_CYCLES] = "cycles",
    [DIM_TIME] = "ps, ns, us, ms or s",
    [DIM_BANDWIDTH] = "B/s, KB/s, MB/s or GB/s",
    [DIM_COUNT] = "x",
};

const char *cost_name(enum cost_id id)
{
    assert(id < COST_COUNT);
    return params[id].name;
}

enum cost_dim cost_dim(enum cost_id id)
{
    assert(id < COST_COUNT);
    return params[id].dim;
}

const char *cost_desc(enum cost_id id)
{
    assert(id < COST_COUNT);
    return params[id].desc;
}

int cost_lookup(const char *name)
{
    for (int i = 0; i < COST_COUNT; i++)
        if (strcmp(params[i].name, name) == 0)
            return i;
    return -1;
}

/* Known parameter closest to `name` (also matching abbreviations), or NULL. */
static const char *nearest_param(const char *name)
{
    static const char *names[COST_COUNT + 1];
    for (int i = 0; i < COST_COUNT; i++)
        names[i] = params[i].name;
    return suggest_nearest(name, names);
}

static const struct cost_unit *find_unit(const char *name)
{
    for (size_t i = 0; i < NUNITS; i++)
        if (strcmp(units[i].name, name) == 0)
            return &units[i];
    return NULL;
}

static void put_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The message, with every byte outside printable ASCII shown as \xNN: a garbage profile's
   bytes (terminal escapes, binary) are never echoed raw. */
static void put_err(char *err, size_t errlen, const char *fmt, ...)
{
    char raw[1024];
    va_list ap;
    if (!err || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(raw, sizeof raw, fmt, ap);
    va_end(ap);
    size_t o = 0;
    for (const unsigned char *s = (const unsigned char *)raw; *s && o + 1 < errlen; s++) {
        if (*s >= 0x20 && *s < 0x7f) {
            err[o++] = (char)*s;
            continue;
        }
        if (o + 5 > errlen)
            break;
        o += (size_t)snprintf(err + o, errlen - o, "\\x%02x", *s);
    }
    err[o] = '\0';
}

/* Parse a non-negative finite number; the whole token must be consumed. */
static bool parse_value(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || errno == ERANGE || !isfinite(v) || v < 0)
        return false;
    *out = v;
    return true;
}

/*
 * Check a value + unit for parameter `id` and store it in p. On error,
 * writes "message" (no location) to msg and returns -1.
 */
static int store_value(struct cost_profile *p, int id, const char *num, const char *unit, char *msg,
                       size_t msglen)
{
    enum cost_dim dim = params[id].dim;
    double given;
    if (!parse_value(num, &given)) {
        put_err(msg, msglen, "bad number '%s' (must be a finite number >= 0)", num);
        return -1;
    }
    const struct cost_unit *u = find_unit(unit);
    if (!u || u->dim != dim) {
        put_err(msg, msglen, "%s unit '%s': this parameter is %s (use %s)", u ? "wrong" : "unknown",
                unit, dim_what[dim], dim_units[dim]);
        return -1;
    }
    double value = given * u->scale;
    if (value > COST_MAX_VALUE) {
        put_err(msg, msglen, "%s %s is too large", num, unit);
        return -1;
    }
    if (value == 0 && (dim == DIM_BANDWIDTH || id == C_SLICE)) {
        put_err(msg, msglen, "must be > 0");
        return -1;
    }
    p->value[id] = value;
    p->given[id] = given;
    snprintf(p->unit[id], sizeof p->unit[id], "%s", u->name);
    return 0;
}

/* Split off the next whitespace-separated token of *s (NUL-terminating it). */
static char *next_token(char **s)
{
    char *t = *s + strspn(*s, " \t");
    if (*t == '\0')
        return NULL;
    char *e = t + strcspn(t, " \t");
    if (*e != '\0')
        *e++ = '\0';
    *s = e;
    return t;
}

static void rstrip(char *s)
{
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
}

struct parse_ctx {
    const char *path;
    int lineno;
    char *err;
    size_t errlen;
};

static int line_err(const struct parse_ctx *c, const char *name, const char *msg)
{
    put_err(c->err, c->errlen, "%s:%d: %s: %s", c->path, c->lineno, name, msg);
    return -1;
}

static int unknown_param(const struct parse_ctx *c, const char *name)
{
    char msg[160];
    const char *near = nearest_param(name);
    if (near)
        snprintf(msg, sizeof msg, "unknown parameter (did you mean '%s'?)", near);
    else
        snprintf(msg, sizeof msg, "unknown parameter (see docs/cost-profiles.md for the list)");
    return line_err(c, name, msg);
}

/* One non-comment line: NAME VALUE UNIT SOURCE... */
static int parse_line(struct cost_profile *p, const struct parse_ctx *c, char *line)
{
    char msg[200];
    char *name = next_token(&line);
    int id = cost_lookup(name);
    if (id < 0)
        return unknown_param(c, name);
    if (p->line[id]) {
        snprintf(msg, sizeof msg, "duplicate (first given on line %d)", p->line[id]);
        return line_err(c, name, msg);
    }
    char *num = next_token(&line);
    char *unit = num ? next_token(&line) : NULL;
    if (!num || !unit)
        return line_err(c, name, num ? "missing unit" : "missing value and unit");
    if (store_value(p, id, num, unit, msg, sizeof msg) < 0)
        return line_err(c, name, msg);
    const char *src = line + strspn(line, " \t");
    if (*src == '\0')
        return line_err(c, name,
                        "missing source (cite where the value comes from, "
                        "or write '(est.)' and what it is based on)");
    if (strlen(src) >= sizeof p->source[id]) {
        snprintf(msg, sizeof msg, "source too long (%zu characters, max %zu)", strlen(src),
                 sizeof p->source[id] - 1);
        return line_err(c, name, msg);
    }
    snprintf(p->source[id], sizeof p->source[id], "%s", src);
    p->line[id] = c->lineno;
    return 0;
}

static int parse_file(struct cost_profile *p, FILE *f, struct parse_ctx *c)
{
    char *buf = NULL;
    size_t cap = 0;
    int rc = 0;
    while (rc == 0 && getline(&buf, &cap, f) >= 0) {
        c->lineno++;
        rstrip(buf);
        char *s = buf + strspn(buf, " \t");
        if (*s == '\0' || *s == '#')
            continue;
        rc = parse_line(p, c, s);
    }
    free(buf);
    return rc;
}

static int check_complete(const struct cost_profile *p, const struct parse_ctx *c)
{
    int first = -1, nmissing = 0;
    for (int i = 0; i < COST_COUNT; i++) {
        if (p->line[i])
            continue;
        if (first < 0)
            first = i;
        nmissing++;
    }
    if (nmissing == 0)
        return 0;
    if (nmissing == 1)
        put_err(c->err, c->errlen, "%s: %s: missing", c->path, params[first].name);
    else
        put_err(c->err, c->errlen, "%s: %s: missing (and %d more parameters)", c->path,
                params[first].name, nmissing - 1);
    return -1;
}

/* Profile name: basename of the path without its extension. */
static void profile_name(char *out, size_t outlen, const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *dot = strrchr(base, '.');
    size_t n = dot && dot != base ? (size_t)(dot - base) : strlen(base);
    snprintf(out, outlen, "%.*s", (int)n, base);
}

int cost_load(struct cost_profile *p, const char *path, char *err, size_t errlen)
{
    struct cost_profile tmp;
    struct parse_ctx c = {path, 0, err, errlen};
    FILE *f = fopen(path, "r");
    if (!f) {
        put_err(err, errlen, "%s: cannot open profile: %s", path, strerror(errno));
        return -1;
    }
    memset(&tmp, 0, sizeof tmp);
    int rc = parse_file(&tmp, f, &c);
    fclose(f);
    if (rc == 0)
        rc = check_complete(&tmp, &c);
    if (rc < 0)
        return -1;
    profile_name(tmp.name, sizeof tmp.name, path);
    *p = tmp;
    return 0;
}

/* Canonical unit name, for cost_set on a parameter the profile never gave. */
static const char *canonical_unit(enum cost_dim dim)
{
    static const char *const canon[] = {
        [DIM_CYCLES] = "cycles", [DIM_TIME] = "ps", [DIM_BANDWIDTH] = "B/s", [DIM_COUNT] = "x"};
    return canon[dim];
}

int cost_set(struct cost_profile *p, const char *name, const char *value_unit, char *err,
             size_t errlen)
{
    char buf[128], msg[200];
    int id = cost_lookup(name);
    if (id < 0) {
        const char *near = nearest_param(name);
        if (near)
            put_err(err, errlen, "%s: unknown parameter (did you mean '%s'?)", name, near);
        else
            put_err(err, errlen, "%s: unknown parameter", name);
        return -1;
    }
    snprintf(buf, sizeof buf, "%s", value_unit);
    char *s = buf;
    const char *num = next_token(&s), *unit = num ? next_token(&s) : NULL;
    if (!num || next_token(&s)) {
        put_err(err, errlen, "%s: expected 'VALUE [UNIT]', got '%s'", name, value_unit);
        return -1;
    }
    if (!unit)
        unit = p->unit[id][0] ? p->unit[id] : canonical_unit(params[id].dim);
    struct cost_profile tmp = *p;
    if (store_value(&tmp, id, num, unit, msg, sizeof msg) < 0) {
        put_err(err, errlen, "%s: %s", name, msg);
        return -1;
    }
    snprintf(tmp.source[id], sizeof tmp.source[id], "set on the command line (--set cost.%s)",
             name);
    tmp.line[id] = 0;
    *p = tmp;
    return 0;
}

simtime_t cost_ps(const struct cost_profile *p, enum cost_id id, double hz)
{
    assert(id < COST_COUNT);
    switch (params[id].dim) {
    case DIM_CYCLES:
        assert(hz > 0);
        return cost_cycles_to_ps(p->value[id], hz);
    case DIM_TIME:
        return (simtime_t)(p->value[id] + 0.5);
    default:
        assert(!"cost_ps: parameter is not a cycle count or a time");
        return 0;
    }
}

simtime_t cost_bytes_ps(const struct cost_profile *p, enum cost_id id, uint64_t bytes)
{
    assert(id < COST_COUNT && params[id].dim == DIM_BANDWIDTH);
    assert(p->value[id] > 0);
    return (simtime_t)((double)bytes * 1e12 / p->value[id] + 0.5);
}
