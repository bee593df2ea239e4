/*
 * param(name, default [, description]) and the --set overrides: a plain
 * key feeds param(); a dotted key (machine.cpus, domain.NAME.args.K,
 * cost.NAME, ...) overrides a declared field after the script ran. A --set
 * key that nothing consumed is an error.
 */
#include "loader.h"
#include "units.h"
#include "suggest.h"

#include <lauxlib.h>

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ param */

static void note_param(struct loader *ld, const char *name)
{
    for (int i = 0; i < ld->hb->nparams; i++)
        if (!strcmp(ld->hb->params[i], name))
            return;
    if (ld->hb->nparams < SC_MAX_PARAMS)
        snprintf(ld->hb->params[ld->hb->nparams++], sizeof ld->hb->params[0], "%s", name);
}

/* Value of the last --set NAME=..., marking every such --set used. */
static const char *take_set(struct loader *ld, const char *name)
{
    const char *v = NULL;
    for (int i = 0; i < ld->o->nsets; i++) {
        if (strcmp(ld->o->sets[i].key, name) != 0)
            continue;
        ld->hb->used[i] = true;
        v = ld->o->sets[i].value;
    }
    return v;
}

/* Push the --set text v converted to the type of the default at index 2. */
static void push_converted(lua_State *L, struct loader *ld, int line, const char *name,
                           const char *v)
{
    long long i = 0;
    double x = 0;
    int b;
    char msg[MSG];
    switch (lua_type(L, 2)) {
    case LUA_TNUMBER:
        /* "5ms", "4KiB": in the unit the parameter's name or help gives */
        b = unit_param(name, lua_isstring(L, 3) ? lua_tostring(L, 3) : NULL, v, &x, msg,
                       sizeof msg);
        if (b < 0)
            fail(L, ld, line, name, "--set %s=%s: %s", name, v, msg);
        if (b > 0 && lua_isinteger(L, 2) && (x != floor(x) || fabs(x) > 9e18))
            fail(L, ld, line, name, "--set %s=%s: not a whole number (%g)", name, v, x);
        if (b > 0 && lua_isinteger(L, 2))
            lua_pushinteger(L, (lua_Integer)x);
        else if (b > 0)
            lua_pushnumber(L, x);
        else if (lua_isinteger(L, 2)) {
            if (!str_to_ll(v, &i))
                fail(L, ld, line, name, "--set %s=%s: expected an integer", name, v);
            lua_pushinteger(L, (lua_Integer)i);
        } else {
            if (!str_to_num(v, &x))
                fail(L, ld, line, name, "--set %s=%s: expected a number", name, v);
            lua_pushnumber(L, x);
        }
        break;
    case LUA_TBOOLEAN:
        if ((b = str_to_bool(v)) < 0)
            fail(L, ld, line, name, "--set %s=%s: expected true or false", name, v);
        lua_pushboolean(L, b);
        break;
    default:
        lua_pushstring(L, v);
        break;
    }
}

int l_param(lua_State *L)
{
    struct loader *ld = get_loader(L);
    int line = call_line(L);
    char name[64];
    if (lua_type(L, 1) != LUA_TSTRING)
        fail(L, ld, line, "param", "expected a parameter name (a string) first, got %s",
             luaL_typename(L, 1));
    snprintf(name, sizeof name, "%s", lua_tostring(L, 1));
    if (!name_ok(lua_tostring(L, 1), 63, false))
        fail(L, ld, line, "param", "'%s' is not a parameter name ([A-Za-z0-9_-], < 64 chars)",
             lua_tostring(L, 1));
    int t = lua_type(L, 2);
    if (t != LUA_TNUMBER && t != LUA_TBOOLEAN && t != LUA_TSTRING)
        fail(L, ld, line, name, "default must be a number, boolean or string, got %s",
             luaL_typename(L, 2));
    if (!lua_isnoneornil(L, 3) && lua_type(L, 3) != LUA_TSTRING)
        fail(L, ld, line, name, "description must be a string, got %s", luaL_typename(L, 3));
    if (lua_gettop(L) > 3)
        fail(L, ld, line, name, "param takes (name, default [, description])");
    note_param(ld, name);
    const char *v = take_set(ld, name);
    if (v)
        push_converted(L, ld, line, name, v);
    else
        lua_pushvalue(L, 2);
    return 1;
}

/* -------------------------------------------------------------- overrides */

enum { OV_OK = 0, OV_BAD = -1, OV_UNKNOWN = -2 };

static int ov_int(const char *v, long long lo, long long hi, long long *out, char *msg, size_t n)
{
    if (!str_to_ll(v, out))
        return errf(msg, n, "expected an integer, got '%s'", v);
    if (*out < lo || *out > hi)
        return errf(msg, n, "%lld is out of range (%lld..%lld)", *out, lo, hi);
    return OV_OK;
}

static int ov_string(const char *v, char *out, size_t size, char *msg, size_t n)
{
    if (strlen(v) >= size)
        return errf(msg, n, "too long (max %zu characters)", size - 1);
    snprintf(out, size, "%s", v);
    return OV_OK;
}

static int ov_machine(struct scenario *sc, const char *f, const char *v, char *msg, size_t n)
{
    long long i;
    double x;
    if (!strcmp(f, "cpus")) {
        if (ov_int(v, 1, SC_MAX_CPUS, &i, msg, n))
            return OV_BAD;
        sc->machine.cpus = (int)i;
    } else if (!strcmp(f, "clock_ghz")) {
        if (!str_to_num(v, &x))
            return errf(msg, n, "expected a number, got '%s'", v);
        if (!clock_ghz_ok(x))
            return errf(msg, n, "%g is out of range (%g..%g)", x, SC_MIN_GHZ, SC_MAX_GHZ);
        sc->machine.clock_hz = x * 1e9;
    } else if (!strcmp(f, "memory_mb")) {
        if (ov_int(v, 1, SC_MAX_MEMORY_MB, &i, msg, n))
            return OV_BAD;
        sc->machine.memory_bytes = (uint64_t)i * SC_MIB;
    } else if (!strcmp(f, "iommu")) {
        if (strcmp(v, "true") && strcmp(v, "false"))
            return errf(msg, n, "expected true or false, got '%s'", v);
        sc->machine.iommu = !strcmp(v, "true");
    } else {
        return OV_UNKNOWN;
    }
    return OV_OK;
}

static int ov_time_limit(struct scenario *sc, const char *v, double scale, char *msg, size_t n)
{
    double x;
    if (!str_to_num(v, &x))
        return errf(msg, n, "expected a number, got '%s'", v);
    const char *why = time_to_ps(x, scale, &sc->time_limit_ps);
    if (why)
        return errf(msg, n, "%g is %s (0 = no limit, at most %g s)", x, why,
                    SC_MAX_LIMIT_PS / 1e12);
    return OV_OK;
}

static int ov_scenario(struct scenario *sc, const char *f, const char *v, char *msg, size_t n)
{
    if (!strcmp(f, "seed")) {
        char *end;
        errno = 0;
        unsigned long long s = strtoull(v, &end, 10);
        if (end == v || *end || errno || strchr(v, '-'))
            return errf(msg, n, "expected a non-negative integer, got '%s'", v);
        sc->seed = s;
        return OV_OK;
    }
    if (!strcmp(f, "time_limit_ms"))
        return ov_time_limit(sc, v, 1e9, msg, n);
    if (!strcmp(f, "time_limit_us"))
        return ov_time_limit(sc, v, 1e6, msg, n);
    if (!strcmp(f, "arch")) {
        if (!name_ok(v, sizeof sc->arch - 1, true))
            return errf(msg, n, "'%s' is not an architecture id ([a-z0-9_-]+)", v);
        return ov_string(v, sc->arch, sizeof sc->arch, msg, n);
    }
    if (!strcmp(f, "name")) {
        if (!v[0])
            return errf(msg, n, "must not be empty");
        return ov_string(v, sc->name, sizeof sc->name, msg, n);
    }
    return OV_UNKNOWN;
}

static int ov_output(struct scenario *sc, const char *f, const char *v, char *msg, size_t n)
{
    if (!strcmp(f, "trace_json"))
        return ov_string(v, sc->output.trace_json, sizeof sc->output.trace_json, msg, n);
    if (!strcmp(f, "trace_csv"))
        return ov_string(v, sc->output.trace_csv, sizeof sc->output.trace_csv, msg, n);
    if (!strcmp(f, "pcap"))
        return ov_string(v, sc->output.pcap, sizeof sc->output.pcap, msg, n);
    if (!strcmp(f, "summary")) {
        int b = str_to_bool(v);
        if (b < 0)
            return errf(msg, n, "expected true or false, got '%s'", v);
        sc->output.summary = b;
        return OV_OK;
    }
    return OV_UNKNOWN;
}

static int ov_domain_arg(struct sc_domain *d, const char *key, const char *v, char *msg, size_t n)
{
    struct argset a;
    char cmdline[SC_CMDLINE];
    if (!arg_key_ok(key))
        return errf(msg, n, "bad argument name '%s' (one word without '=')", key);
    if (has_space(v))
        return errf(msg, n, "value must be one word (no spaces), got '%s'", v);
    args_parse(&a, d->cmdline);
    if (!args_set(&a, key, v) || !args_render(&a, cmdline, sizeof cmdline))
        return errf(msg, n, "command line too long (max %d characters)", SC_CMDLINE - 1);
    memcpy(d->cmdline, cmdline, sizeof cmdline);
    return OV_OK;
}

/* Known domain names, for messages. */
static void domain_list(const struct scenario *sc, char *buf, size_t n)
{
    buf[0] = '\0';
    for (int i = 0; i < sc->ndomains; i++)
        list_append(buf, n, sc->domains[i].name);
}

/* rest = "NAME.FIELD" */
static int ov_domain(struct scenario *sc, const char *rest, const char *v, char *msg, size_t n)
{
    char name[64], names[MSG];
    long long i;
    const char *dot = strchr(rest, '.');
    if (!dot || dot - rest >= (long)sizeof name)
        return OV_UNKNOWN;
    snprintf(name, sizeof name, "%.*s", (int)(dot - rest), rest);
    int di = scenario_domain(sc, name);
    if (di < 0) {
        domain_list(sc, names, sizeof names);
        return errf(msg, n, "unknown key (no domain '%s'; the domains are: %s)", name, names);
    }
    struct sc_domain *d = &sc->domains[di];
    const char *f = dot + 1;
    if (!strncmp(f, "args.", 5))
        return ov_domain_arg(d, f + 5, v, msg, n);
    if (!strcmp(f, "memory_mb")) {
        if (ov_int(v, 1, SC_MAX_DOMAIN_MB, &i, msg, n))
            return OV_BAD;
        d->memory_bytes = (uint64_t)i * SC_MIB;
    } else if (!strcmp(f, "cpu")) {
        if (ov_int(v, -1, SC_MAX_CPUS - 1, &i, msg, n))
            return OV_BAD;
        d->cpu = (int)i;
    } else if (!strcmp(f, "vcpus")) {
        if (ov_int(v, 1, SC_MAX_VCPUS, &i, msg, n))
            return OV_BAD;
        d->vcpus = (int)i;
    } else {
        return OV_UNKNOWN;
    }
    return OV_OK;
}

static const char *const dotted_keys[] = {"machine.cpus",
                                          "machine.clock_ghz",
                                          "machine.memory_mb",
                                          "scenario.seed",
                                          "scenario.time_limit_ms",
                                          "scenario.time_limit_us",
                                          "scenario.arch",
                                          "scenario.name",
                                          "output.trace_json",
                                          "output.trace_csv",
                                          "output.summary",
                                          "output.pcap",
                                          NULL};

static int ov_dispatch(struct scenario *sc, const char *k, const char *v, char *msg, size_t n)
{
    if (!strncmp(k, "machine.", 8))
        return ov_machine(sc, k + 8, v, msg, n);
    if (!strncmp(k, "scenario.", 9))
        return ov_scenario(sc, k + 9, v, msg, n);
    if (!strncmp(k, "output.", 7))
        return ov_output(sc, k + 7, v, msg, n);
    if (!strncmp(k, "domain.", 7))
        return ov_domain(sc, k + 7, v, msg, n);
    if (!strncmp(k, "cost.", 5))
        return cost_set(&sc->cost, k + 5, v, msg, n) ? OV_BAD : OV_OK;
    return OV_UNKNOWN;
}

static int apply_dotted(struct scenario *sc, const struct sc_set *s, char *err, size_t errlen)
{
    char msg[MSG];
    int rc = ov_dispatch(sc, s->key, s->value, msg, sizeof msg);
    if (rc == OV_OK)
        return 0;
    if (rc == OV_BAD && !strncmp(s->key, "cost.", 5))
        return errf(err, errlen, "--set cost.%s", msg);
    if (rc == OV_BAD)
        return errf(err, errlen, "--set %s: %s", s->key, msg);
    const char *near = suggest_nearest(s->key, dotted_keys);
    if (near)
        return errf(err, errlen, "--set %s: unknown key (did you mean '%s'?)", s->key, near);
    return errf(err, errlen, "--set %s: unknown key", s->key);
}

static int unused_set(const struct loader *ld, const struct sc_set *s)
{
    char names[MSG] = "";
    for (int i = 0; i < ld->hb->nparams; i++)
        list_append(names, sizeof names, ld->hb->params[i]);
    if (!ld->hb->nparams)
        return errf(ld->err, ld->errlen,
                    "--set %s: unknown key (the scenario declares no parameters)", s->key);
    return errf(ld->err, ld->errlen, "--set %s: unknown key (the scenario's parameters are: %s)",
                s->key, names);
}

int apply_sets(struct loader *ld)
{
    for (int i = 0; i < ld->o->nsets; i++) {
        const struct sc_set *s = &ld->o->sets[i];
        if (strchr(s->key, '.')) {
            if (apply_dotted(ld->sc, s, ld->err, ld->errlen))
                return -1;
        } else if (!ld->hb->used[i]) {
            return unused_set(ld, s);
        }
    }
    return 0;
}
