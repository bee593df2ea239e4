/*
 * Scenario scripts: run a Lua 5.4 file in a sandbox, collect its
 * declarations (scenario, machine, domain, connect, output, param) into a
 * struct scenario, apply --set overrides, and validate the result.
 *
 * Assumptions and rules:
 * - One lua_State per load, closed before scenario_load returns. The script
 *   sees only the base functions listed in keep_globals plus string, math,
 *   table and utf8: no io, os, package, debug, load, dofile, require or
 *   collectgarbage. print writes to stderr. Memory is capped at
 *   LUA_MEM_LIMIT and execution at LUA_INSN_LIMIT_M million VM
 *   instructions, so a runaway script ends in an error, not a hang.
 * - Determinism: math.random is seeded from the scenario seed (--seed, else
 *   --set scenario.seed, else scenario{seed=}, else 1) before the script
 *   runs and again when scenario{} sets the seed; math.randomseed() without
 *   an argument is refused.
 * - Declaration errors name "FILE:LINE: KEY: message", the line being the
 *   declaration call; the first one is kept even if the script catches it
 *   with pcall. Lua's own errors keep Lua's "FILE:LINE: message" form.
 * - Defaults: machine{} cpus 1, clock_ghz 3.0, memory_mb 1024, profile
 *   "default"; domain{} memory_mb 16, vcpus 1, cpu -1, privileged false;
 *   output{} summary true. "MB" means MiB (2^20 bytes).
 * - No allocation happens in code that can raise a Lua error, so a longjmp
 *   out of a declaration never leaks.
 */
#include "scenario.h"
#include "suggest.h"

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define SC_MAX_PARAMS 64
#define SC_MAX_CPUS 64
#define SC_MAX_VCPUS 8
#define SC_MAX_MEMORY_MB (1 << 20) /* 1 TiB */
#define SC_MAX_LIMIT_PS 1e18       /* time limits up to ~11.5 days */
#define SC_MIB (1024ull * 1024ull)
#define LUA_MEM_LIMIT ((size_t)256 << 20)
#define LUA_INSN_LIMIT_M 200 /* a scenario script declares; it does not compute */
#define MSG 512

struct loader {
    struct scenario *sc;
    const struct sc_load_opts *o;
    bool used[SC_MAX_SETS];
    char *err;
    size_t errlen;
    bool failed; /* a declaration error is in err */
    int scenario_line, machine_line, output_line;
    int privileged; /* index of the privileged domain, -1 if none */
    char params[SC_MAX_PARAMS][64];
    int nparams;
    int randomseed_ref; /* the real math.randomseed, in the registry */
    size_t mem;         /* bytes the Lua state holds */
    int insn_millions;
    char cur_file[SC_PATH]; /* the script a declaration is being made from */
    int imports;
};

/* ---------------------------------------------------------------- helpers */

static int errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int errf(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    if (err && errlen) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static bool in_list(const char *word, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(word, *list) == 0)
            return true;
    return false;
}

/* Append "item" to a ", "-separated list in buf (truncating when full). */
static void list_append(char *buf, size_t n, const char *item)
{
    size_t used = strlen(buf), len = strlen(item);
    if (used && used + 2 < n) {
        memcpy(buf + used, ", ", 2);
        used += 2;
    }
    if (used + len >= n)
        len = n - used - 1;
    memcpy(buf + used, item, len);
    buf[used + len] = '\0';
}

static bool name_ok(const char *s, size_t maxlen, bool lower_only)
{
    size_t n = strlen(s);
    if (n == 0 || n > maxlen)
        return false;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        bool ok = islower(c) || isdigit(c) || c == '_' || c == '-' || (!lower_only && isupper(c));
        if (!ok)
            return false;
    }
    return true;
}

static bool has_space(const char *s)
{
    for (; *s; s++)
        if (isspace((unsigned char)*s))
            return true;
    return false;
}

static bool str_to_ll(const char *s, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end != '\0' || errno == ERANGE || isspace((unsigned char)*s))
        return false;
    *out = v;
    return true;
}

static bool str_to_num(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || errno == ERANGE || !isfinite(v) || isspace((unsigned char)*s))
        return false;
    *out = v;
    return true;
}

/* 1 true, 0 false, -1 not a boolean */
static int str_to_bool(const char *s)
{
    static const char *const yes[] = {"true", "1", "yes", "on", NULL};
    static const char *const no[] = {"false", "0", "no", "off", NULL};
    return in_list(s, yes) ? 1 : in_list(s, no) ? 0 : -1;
}

/* ------------------------------------------------------------------ paths */

static bool join(char *out, size_t n, const char *dir, const char *rel)
{
    int len = rel[0] == '/' ? snprintf(out, n, "%s", rel) : snprintf(out, n, "%s/%s", dir, rel);
    return len >= 0 && (size_t)len < n;
}

/* 1 regular file, 0 missing, -1 exists but is not a regular file */
static int file_kind(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return 0;
    return S_ISREG(st.st_mode) ? 1 : -1;
}

struct search {
    char tried[MSG];      /* where we looked, for the message */
    char notreg[SC_PATH]; /* first candidate that exists but is no file */
};

static bool try_dir(const char *rel, const char *dir, char *out, size_t n, struct search *s)
{
    char cand[SC_PATH];
    if (!join(cand, sizeof cand, dir, rel))
        return false;
    list_append(s->tried, sizeof s->tried, rel[0] == '/' ? cand : dir);
    int kind = file_kind(cand);
    if (kind < 0 && !s->notreg[0])
        snprintf(s->notreg, sizeof s->notreg, "%s", cand);
    if (kind <= 0)
        return false;
    snprintf(out, n, "%s", cand);
    return true;
}

/* Find rel in dir, then in each directory of the colon-separated path. */
static bool find_file(const char *rel, const char *dir, const char *path, char *out, size_t n,
                      struct search *s)
{
    memset(s, 0, sizeof *s);
    if (try_dir(rel, dir, out, n, s))
        return true;
    if (rel[0] == '/' || !path)
        return false;
    for (const char *p = path; *p;) {
        size_t len = strcspn(p, ":");
        char d[SC_PATH];
        if (len > 0 && len < sizeof d) {
            memcpy(d, p, len);
            d[len] = '\0';
            if (try_dir(rel, d, out, n, s))
                return true;
        }
        p += len + (p[len] == ':');
    }
    return false;
}

static void split_path(struct scenario *sc, const char *path)
{
    const char *slash = strrchr(path, '/');
    snprintf(sc->path, sizeof sc->path, "%s", path);
    if (!slash)
        snprintf(sc->dir, sizeof sc->dir, ".");
    else if (slash == path)
        snprintf(sc->dir, sizeof sc->dir, "/");
    else
        snprintf(sc->dir, sizeof sc->dir, "%.*s", (int)(slash - path), path);
    const char *base = slash ? slash + 1 : path;
    const char *dot = strrchr(base, '.');
    int len = dot && dot != base ? (int)(dot - base) : (int)strlen(base);
    snprintf(sc->name, sizeof sc->name, "%.*s", len, base);
}

/* ---------------------------------------------------- declaration errors */

static int fail(lua_State *L, struct loader *ld, int line, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Record "FILE:LINE: KEY: message" (the first one wins) and raise it. */
static int fail(lua_State *L, struct loader *ld, int line, const char *key, const char *fmt, ...)
{
    char msg[MSG], full[SC_PATH + MSG + 128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const char *file = ld->cur_file[0] ? ld->cur_file : ld->sc->path;
    if (line > 0)
        snprintf(full, sizeof full, "%s:%d: %s: %s", file, line, key, msg);
    else
        snprintf(full, sizeof full, "%s: %s: %s", ld->sc->path, key, msg);
    if (!ld->failed) {
        ld->failed = true;
        errf(ld->err, ld->errlen, "%s", full);
    }
    lua_pushstring(L, full);
    return lua_error(L);
}

static struct loader *get_loader(lua_State *L)
{
    return lua_touserdata(L, lua_upvalueindex(1));
}

/* Line (and file, kept for error messages) of the Lua code that called the running C function. */
static int call_line(lua_State *L)
{
    lua_Debug ar;
    struct loader *ld = get_loader(L);
    for (int level = 1; lua_getstack(L, level, &ar); level++)
        if (lua_getinfo(L, "Sl", &ar) && ar.currentline > 0) {
            if (ld && ar.source[0] == '@')
                snprintf(ld->cur_file, sizeof ld->cur_file, "%s", ar.source + 1);
            return ar.currentline;
        }
    return 0;
}

/* Describe the value at idx for "got ..." messages. */
static const char *describe(lua_State *L, int idx, char *buf, size_t n)
{
    if (lua_type(L, idx) == LUA_TNUMBER)
        snprintf(buf, n, "%.14g", lua_tonumber(L, idx));
    else
        snprintf(buf, n, "%s", luaL_typename(L, idx));
    return buf;
}

/* Check that the only argument is a table whose keys are all in `keys`. */
static int decl_begin(lua_State *L, struct loader *ld, const char *fn, const char *const *keys)
{
    int line = call_line(L);
    char known[MSG] = "";
    if (lua_gettop(L) != 1 || !lua_istable(L, 1))
        fail(L, ld, line, fn, "expected a table: %s{ key = value, ... }, got %s", fn,
             lua_gettop(L) ? luaL_typename(L, 1) : "no value");
    lua_pushnil(L);
    while (lua_next(L, 1)) {
        lua_pop(L, 1);
        if (lua_type(L, -1) != LUA_TSTRING)
            fail(L, ld, line, fn, "unexpected positional value (write key = value)");
        const char *k = lua_tostring(L, -1);
        if (in_list(k, keys))
            continue;
        const char *near = suggest_nearest(k, keys);
        if (near)
            fail(L, ld, line, fn, "unknown key '%s' (did you mean '%s'?)", k, near);
        for (const char *const *p = keys; *p; p++)
            list_append(known, sizeof known, *p);
        fail(L, ld, line, fn, "unknown key '%s' (known keys: %s)", k, known);
    }
    return line;
}

/* Push t[key] of the table at index 1; false (nothing pushed) when nil. */
static bool push_field(lua_State *L, const char *key)
{
    lua_pushstring(L, key);
    if (lua_rawget(L, 1) != LUA_TNIL)
        return true;
    lua_pop(L, 1);
    return false;
}

static void type_error(lua_State *L, struct loader *ld, int line, const char *key,
                       const char *expected)
{
    fail(L, ld, line, key, "expected %s, got %s", expected, luaL_typename(L, -1));
}

static bool get_string(lua_State *L, struct loader *ld, int line, const char *key, char *out,
                       size_t n)
{
    size_t len;
    if (!push_field(L, key))
        return false;
    if (lua_type(L, -1) != LUA_TSTRING)
        type_error(L, ld, line, key, "a string");
    const char *s = lua_tolstring(L, -1, &len);
    if (len >= n)
        fail(L, ld, line, key, "too long (%zu characters, max %zu)", len, n - 1);
    if (strlen(s) != len)
        fail(L, ld, line, key, "contains a NUL byte");
    memcpy(out, s, len + 1);
    lua_pop(L, 1);
    return true;
}

static bool get_int(lua_State *L, struct loader *ld, int line, const char *key, long long lo,
                    long long hi, long long *out)
{
    char buf[64];
    int isint;
    if (!push_field(L, key))
        return false;
    if (lua_type(L, -1) != LUA_TNUMBER)
        type_error(L, ld, line, key, "an integer");
    lua_Integer v = lua_tointegerx(L, -1, &isint);
    if (!isint)
        fail(L, ld, line, key, "expected an integer, got %s", describe(L, -1, buf, sizeof buf));
    if (v < lo || v > hi)
        fail(L, ld, line, key, "%lld is out of range (%lld..%lld)", (long long)v, lo, hi);
    *out = v;
    lua_pop(L, 1);
    return true;
}

static bool get_num(lua_State *L, struct loader *ld, int line, const char *key, double *out)
{
    if (!push_field(L, key))
        return false;
    if (lua_type(L, -1) != LUA_TNUMBER)
        type_error(L, ld, line, key, "a number");
    *out = lua_tonumber(L, -1);
    if (!isfinite(*out))
        fail(L, ld, line, key, "expected a finite number");
    lua_pop(L, 1);
    return true;
}

static bool get_bool(lua_State *L, struct loader *ld, int line, const char *key, bool *out)
{
    if (!push_field(L, key))
        return false;
    if (lua_type(L, -1) != LUA_TBOOLEAN)
        type_error(L, ld, line, key, "a boolean");
    *out = lua_toboolean(L, -1);
    lua_pop(L, 1);
    return true;
}

/* ---------------------------------------------------------------- seeding */

static uint64_t lua_seed(const struct loader *ld)
{
    const struct sc_load_opts *o = ld->o;
    unsigned long long v;
    if (o->have_seed)
        return o->seed;
    for (int i = o->nsets - 1; i >= 0; i--) {
        char *end;
        if (strcmp(o->sets[i].key, "scenario.seed") != 0)
            continue;
        errno = 0;
        v = strtoull(o->sets[i].value, &end, 10);
        if (end != o->sets[i].value && *end == '\0' && errno == 0)
            return v;
    }
    return ld->sc->seed;
}

static void seed_random(lua_State *L, struct loader *ld)
{
    lua_rawgeti(L, LUA_REGISTRYINDEX, ld->randomseed_ref);
    lua_pushinteger(L, (lua_Integer)lua_seed(ld));
    lua_call(L, 1, 0);
}

/* ----------------------------------------------------------- declarations */

static void time_limit(lua_State *L, struct loader *ld, int line)
{
    double ms, us, ps;
    bool have_ms = get_num(L, ld, line, "time_limit_ms", &ms);
    bool have_us = get_num(L, ld, line, "time_limit_us", &us);
    if (have_ms && have_us)
        fail(L, ld, line, "time_limit_us", "give time_limit_ms or time_limit_us, not both");
    if (!have_ms && !have_us)
        return;
    const char *key = have_ms ? "time_limit_ms" : "time_limit_us";
    ps = have_ms ? ms * 1e9 : us * 1e6;
    if (ps < 0 || ps > SC_MAX_LIMIT_PS)
        fail(L, ld, line, key, "%g is out of range (0 = no limit, at most %g s)", have_ms ? ms : us,
             SC_MAX_LIMIT_PS / 1e12);
    ld->sc->time_limit_ps = (uint64_t)(ps + 0.5);
}

static int l_scenario(lua_State *L)
{
    static const char *const keys[] = {"name",          "seed", "time_limit_ms",
                                       "time_limit_us", "arch", NULL};
    struct loader *ld = get_loader(L);
    struct scenario *sc = ld->sc;
    int line = decl_begin(L, ld, "scenario", keys);
    long long seed;
    if (ld->scenario_line)
        fail(L, ld, line, "scenario", "declared twice (first on line %d)", ld->scenario_line);
    ld->scenario_line = line;
    if (get_string(L, ld, line, "name", sc->name, sizeof sc->name) && !sc->name[0])
        fail(L, ld, line, "name", "must not be empty");
    if (get_int(L, ld, line, "seed", 0, INT64_MAX, &seed))
        sc->seed = (uint64_t)seed;
    time_limit(L, ld, line);
    if (get_string(L, ld, line, "arch", sc->arch, sizeof sc->arch) && !name_ok(sc->arch, 31, true))
        fail(L, ld, line, "arch", "'%s' is not an architecture id ([a-z0-9_-]+)", sc->arch);
    seed_random(L, ld);
    return 0;
}

static void resolve_profile(lua_State *L, struct loader *ld, int line, const char *spec)
{
    struct scenario *sc = ld->sc;
    struct search s;
    char file[SC_PATH];
    size_t len = strlen(spec);
    bool is_path = len > 8 && strcmp(spec + len - 8, ".profile") == 0;
    if (!is_path && (!name_ok(spec, 63, false)))
        fail(L, ld, line, "profile",
             "expected a profile name like 'default' or a path ending "
             "in .profile, got '%s'",
             spec);
    if (len + sizeof ".profile" > sizeof file)
        fail(L, ld, line, "profile", "too long (max %zu characters)", sizeof file - 9);
    memcpy(file, spec, len + 1);
    if (!is_path)
        strcat(file, ".profile");
    if (find_file(file, sc->dir, is_path ? NULL : ld->o->profile_path, sc->machine.profile,
                  sizeof sc->machine.profile, &s))
        return;
    if (s.notreg[0])
        fail(L, ld, line, "profile", "'%s' is not a regular file", s.notreg);
    fail(L, ld, line, "profile", "no profile '%s' (looked in %s)", file, s.tried);
}

static int l_machine(lua_State *L)
{
    static const char *const keys[] = {"cpus", "clock_ghz", "memory_mb", "profile", NULL};
    struct loader *ld = get_loader(L);
    struct scenario *sc = ld->sc;
    int line = decl_begin(L, ld, "machine", keys);
    long long cpus = 1, mem = 1024;
    double ghz = 3.0;
    char profile[SC_PATH] = "default";
    if (ld->machine_line)
        fail(L, ld, line, "machine", "declared twice (first on line %d)", ld->machine_line);
    get_int(L, ld, line, "cpus", 1, SC_MAX_CPUS, &cpus);
    if (get_num(L, ld, line, "clock_ghz", &ghz) && !(ghz > 0 && ghz <= 10))
        fail(L, ld, line, "clock_ghz", "%g is out of range (0 < clock_ghz <= 10)", ghz);
    get_int(L, ld, line, "memory_mb", 1, SC_MAX_MEMORY_MB, &mem);
    get_string(L, ld, line, "profile", profile, sizeof profile);
    resolve_profile(L, ld, line, profile);
    sc->machine.cpus = (int)cpus;
    sc->machine.clock_hz = ghz * 1e9;
    sc->machine.memory_bytes = (uint64_t)mem * SC_MIB;
    ld->machine_line = line;
    return 0;
}

/* ----------------------------------------------------------- domain args */

/* Key/value pairs of a domain's command line, kept as "k\0v\0" in a pool. */
struct argset {
    char pool[2 * SC_CMDLINE];
    size_t used;
    int n;
    uint16_t key[SC_CMDLINE / 2], val[SC_CMDLINE / 2];
};

static bool arg_key_ok(const char *k)
{
    return k[0] && strlen(k) < 64 && !has_space(k) && !strchr(k, '=');
}

static bool pool_put(struct argset *a, const char *s, uint16_t *at)
{
    size_t len = strlen(s) + 1;
    if (a->used + len > sizeof a->pool)
        return false;
    memcpy(a->pool + a->used, s, len);
    *at = (uint16_t)a->used;
    a->used += len;
    return true;
}

/* Add or replace key=val; false when the pool is full. */
static bool args_set(struct argset *a, const char *key, const char *val)
{
    for (int i = 0; i < a->n; i++)
        if (strcmp(a->pool + a->key[i], key) == 0)
            return pool_put(a, val, &a->val[i]);
    if (a->n >= (int)(sizeof a->key / sizeof a->key[0]))
        return false;
    if (!pool_put(a, key, &a->key[a->n]) || !pool_put(a, val, &a->val[a->n]))
        return false;
    a->n++;
    return true;
}

/* Parse "k=v k=v" (as rendered by args_render) back into pairs. */
static void args_parse(struct argset *a, const char *cmdline)
{
    char buf[SC_CMDLINE], *save = NULL;
    memset(a, 0, sizeof *a);
    snprintf(buf, sizeof buf, "%s", cmdline);
    for (char *tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq)
            continue;
        *eq = '\0';
        args_set(a, tok, eq + 1);
    }
}

/* Render sorted by key; false when it does not fit in n bytes. */
static bool args_render(const struct argset *a, char *out, size_t n)
{
    int order[SC_CMDLINE / 2];
    size_t len = 0;
    for (int i = 0; i < a->n; i++) {
        int j = i;
        for (; j > 0 && strcmp(a->pool + a->key[order[j - 1]], a->pool + a->key[i]) > 0; j--)
            order[j] = order[j - 1];
        order[j] = i;
    }
    out[0] = '\0';
    for (int i = 0; i < a->n; i++) {
        int w = snprintf(out + len, n - len, "%s%s=%s", i ? " " : "", a->pool + a->key[order[i]],
                         a->pool + a->val[order[i]]);
        if (w < 0 || (size_t)w >= n - len)
            return false;
        len += (size_t)w;
    }
    return true;
}

/* Text of the arg value on top of the stack. */
static void arg_value(lua_State *L, struct loader *ld, int line, const char *key, char *out,
                      size_t n)
{
    int t = lua_type(L, -1);
    if (t == LUA_TBOOLEAN) {
        snprintf(out, n, "%s", lua_toboolean(L, -1) ? "true" : "false");
    } else if (t == LUA_TNUMBER) {
        double x = lua_tonumber(L, -1);
        if (lua_isinteger(L, -1))
            snprintf(out, n, "%lld", (long long)lua_tointeger(L, -1));
        else if (!isfinite(x))
            fail(L, ld, line, "args", "value of '%s' is not a finite number", key);
        else if (x == floor(x) && fabs(x) < 9e18)
            snprintf(out, n, "%lld", (long long)x);
        else
            snprintf(out, n, "%.14g", x);
    } else if (t == LUA_TSTRING) {
        size_t len;
        const char *s = lua_tolstring(L, -1, &len);
        if (len >= n)
            fail(L, ld, line, "args", "value of '%s' is too long (max %zu characters)", key, n - 1);
        if (strlen(s) != len || has_space(s))
            fail(L, ld, line, "args", "value of '%s' must be one word (no spaces), got '%s'", key,
                 s);
        snprintf(out, n, "%s", s);
    } else {
        fail(L, ld, line, "args", "value of '%s': expected a string, number or boolean, got %s",
             key, lua_typename(L, t));
    }
}

static void domain_args(lua_State *L, struct loader *ld, int line, struct sc_domain *d)
{
    struct argset a;
    char val[SC_CMDLINE];
    if (!push_field(L, "args"))
        return;
    if (!lua_istable(L, -1))
        type_error(L, ld, line, "args", "a table of key = value");
    memset(&a, 0, sizeof a);
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        if (lua_type(L, -2) != LUA_TSTRING)
            fail(L, ld, line, "args", "keys must be strings (write args = { key = value })");
        const char *key = lua_tostring(L, -2);
        if (!arg_key_ok(key))
            fail(L, ld, line, "args", "bad key '%s' (one word without '=', < 64 chars)", key);
        arg_value(L, ld, line, key, val, sizeof val);
        if (!args_set(&a, key, val))
            fail(L, ld, line, "args", "too many arguments (the command line holds %d chars)",
                 SC_CMDLINE - 1);
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    if (!args_render(&a, d->cmdline, sizeof d->cmdline))
        fail(L, ld, line, "args", "command line too long (max %d characters)", SC_CMDLINE - 1);
}

/* ---------------------------------------------------------------- domain */

static void domain_image(lua_State *L, struct loader *ld, int line, struct sc_domain *d)
{
    char image[SC_PATH];
    struct search s;
    if (!get_string(L, ld, line, "image", image, sizeof image))
        fail(L, ld, line, "image", "required: the guest ELF this domain runs");
    if (!image[0])
        fail(L, ld, line, "image", "must not be empty");
    if (find_file(image, ld->sc->dir, ld->o->image_path, d->image, sizeof d->image, &s))
        return;
    if (s.notreg[0])
        fail(L, ld, line, "image", "'%s' is not a regular file", s.notreg);
    fail(L, ld, line, "image", "'%s' not found (looked in %s)", image, s.tried);
}

static void domain_name(lua_State *L, struct loader *ld, int line, struct sc_domain *d)
{
    char name[64];
    if (!get_string(L, ld, line, "name", name, sizeof name))
        fail(L, ld, line, "name", "required: every domain needs a name");
    if (!name_ok(name, sizeof d->name - 1, false))
        fail(L, ld, line, "name", "'%s' is not a domain name ([A-Za-z0-9_-], 1..31 chars)", name);
    int other = scenario_domain(ld->sc, name);
    if (other >= 0)
        fail(L, ld, line, "name", "domain '%s' already declared on line %d", name,
             ld->sc->domains[other].line);
    memcpy(d->name, name, strlen(name) + 1); /* name_ok: fits */
}

static void domain_mode(lua_State *L, struct loader *ld, int line, struct sc_domain *d)
{
    char mode[16] = "pv";
    get_string(L, ld, line, "mode", mode, sizeof mode);
    if (!strcmp(mode, "pv"))
        d->mode = SC_MODE_PV;
    else if (!strcmp(mode, "native"))
        d->mode = SC_MODE_NATIVE;
    else if (!strcmp(mode, "rt"))
        d->mode = SC_MODE_RT;
    else
        fail(L, ld, line, "mode", "'%s' is not a mode (\"pv\", \"native\" or \"rt\")", mode);
}

/* rt_cpu = "dedicated" (the domain's cpu, default) | "notifying" (the CPU that notified). */
static void domain_rt_cpu(lua_State *L, struct loader *ld, int line, struct sc_domain *d)
{
    char how[16] = "dedicated";
    if (!get_string(L, ld, line, "rt_cpu", how, sizeof how))
        return;
    if (d->mode != SC_MODE_RT)
        fail(L, ld, line, "rt_cpu", "only a runtime-service domain (mode = \"rt\") has it");
    if (!strcmp(how, "notifying"))
        d->rt_on_notifier = true;
    else if (strcmp(how, "dedicated") != 0)
        fail(L, ld, line, "rt_cpu", "'%s' is not \"dedicated\" or \"notifying\"", how);
}

static int l_domain(lua_State *L)
{
    static const char *const keys[] = {"name",          "image",      "memory_mb", "vcpus",
                                       "cpu",           "privileged", "args",      "mode",
                                       "runtime_image", "rt_cpu",     NULL};
    struct loader *ld = get_loader(L);
    struct scenario *sc = ld->sc;
    int line = decl_begin(L, ld, "domain", keys);
    long long mem = 16, vcpus = 1, cpu = -1;
    if (sc->ndomains >= SC_MAX_DOMAINS)
        fail(L, ld, line, "domain", "too many domains (max %d)", SC_MAX_DOMAINS);
    struct sc_domain *d = &sc->domains[sc->ndomains];
    memset(d, 0, sizeof *d);
    domain_name(L, ld, line, d);
    get_string(L, ld, line, "runtime_image", d->runtime_image, sizeof d->runtime_image);
    if (d->runtime_image[0] && !sc->flash.present)
        fail(L, ld, line, "runtime_image", "needs a flash{} declaration before this domain");
    if (!d->runtime_image[0])
        domain_image(L, ld, line, d);
    get_int(L, ld, line, "memory_mb", 1, SC_MAX_MEMORY_MB, &mem);
    get_int(L, ld, line, "vcpus", 1, SC_MAX_VCPUS, &vcpus);
    get_int(L, ld, line, "cpu", -1, SC_MAX_CPUS - 1, &cpu);
    get_bool(L, ld, line, "privileged", &d->privileged);
    if (d->privileged && ld->privileged >= 0)
        fail(L, ld, line, "privileged", "only one domain may be privileged ('%s' on line %d is)",
             sc->domains[ld->privileged].name, sc->domains[ld->privileged].line);
    domain_args(L, ld, line, d);
    domain_mode(L, ld, line, d);
    domain_rt_cpu(L, ld, line, d);
    d->memory_bytes = (uint64_t)mem * SC_MIB;
    d->vcpus = (int)vcpus;
    d->cpu = (int)cpu;
    d->line = line;
    if (d->privileged)
        ld->privileged = sc->ndomains;
    sc->ndomains++;
    return 0;
}

/* ---------------------------------------------------------------- connect */

/* "xx:xx:xx:xx:xx:xx" (hex digits, either case) into mac: true, or false. */
static bool parse_mac(const char *s, uint8_t mac[6])
{
    for (int i = 0; i < 6; i++) {
        unsigned v = 0;
        for (int k = 0; k < 2; k++) {
            char c = *s++;
            int d = c >= '0' && c <= '9'   ? c - '0'
                    : c >= 'a' && c <= 'f' ? c - 'a' + 10
                    : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                           : -1;
            if (d < 0)
                return false;
            v = v * 16 + (unsigned)d;
        }
        mac[i] = (uint8_t)v;
        if (*s++ != (i == 5 ? '\0' : ':'))
            return false;
    }
    return true;
}

/* An optional `mac` key: a unicast address. */
static bool get_mac(lua_State *L, struct loader *ld, int line, uint8_t mac[6])
{
    char text[32];
    if (!get_string(L, ld, line, "mac", text, sizeof text))
        return false;
    if (!parse_mac(text, mac))
        fail(L, ld, line, "mac", "'%s' is not a MAC address (xx:xx:xx:xx:xx:xx)", text);
    if (mac[0] & 1)
        fail(L, ld, line, "mac", "'%s' is a multicast address (bit 0 of the first byte)", text);
    return true;
}

static int conn_end(lua_State *L, struct loader *ld, int line, const char *key)
{
    char name[64];
    if (!get_string(L, ld, line, key, name, sizeof name))
        fail(L, ld, line, key, "required: the name of a domain declared before");
    int i = scenario_domain(ld->sc, name);
    if (i < 0)
        fail(L, ld, line, key, "no domain '%s' declared before this line", name);
    return i;
}

static int l_connect(lua_State *L)
{
    static const char *const keys[] = {"kind", "frontend", "backend", "devid", "mac", NULL};
    struct loader *ld = get_loader(L);
    struct scenario *sc = ld->sc;
    int line = decl_begin(L, ld, "connect", keys);
    long long devid = 0;
    if (sc->nconns >= SC_MAX_CONNS)
        fail(L, ld, line, "connect", "too many connections (max %d)", SC_MAX_CONNS);
    struct sc_conn *c = &sc->conns[sc->nconns];
    memset(c, 0, sizeof *c);
    if (!get_string(L, ld, line, "kind", c->kind, sizeof c->kind))
        fail(L, ld, line, "kind", "required: the device class, e.g. \"vbd\"");
    if (!name_ok(c->kind, sizeof c->kind - 1, true))
        fail(L, ld, line, "kind", "'%s' is not a device class ([a-z0-9_-]+)", c->kind);
    c->frontend = conn_end(L, ld, line, "frontend");
    c->backend = conn_end(L, ld, line, "backend");
    if (c->frontend == c->backend)
        fail(L, ld, line, "backend", "'%s' is also the frontend (a connection joins two domains)",
             sc->domains[c->backend].name);
    get_int(L, ld, line, "devid", 0, INT32_MAX, &devid);
    c->devid = (int)devid;
    c->have_mac = get_mac(L, ld, line, c->mac);
    if (c->have_mac && strcmp(c->kind, "vif") != 0)
        fail(L, ld, line, "mac", "only a vif connection has a MAC address");
    for (int i = 0; i < sc->nconns; i++) {
        const struct sc_conn *o = &sc->conns[i];
        if (o->frontend == c->frontend && o->devid == c->devid && !strcmp(o->kind, c->kind))
            fail(L, ld, line, "devid", "%s device %d of '%s' is already connected on line %d",
                 c->kind, c->devid, sc->domains[c->frontend].name, o->line);
    }
    c->line = line;
    sc->nconns++;
    return 0;
}

/* ----------------------------------------------------------------- device */

/* One entry of device{ disks = { ... } }, the table at the top of the stack. */
static void device_disk(lua_State *L, struct loader *ld, int line, struct sc_disk *k)
{
    static const char *const keys[] = {"type", "image", "size_mb", "block_size", "create", NULL};
    char type[8] = "", image[SC_PATH] = "";
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        lua_pop(L, 1);
        const char *key = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "?";
        if (!in_list(key, keys)) {
            const char *near = suggest_nearest(key, keys);
            fail(L, ld, line, "disks", "unknown key '%s'%s%s%s", key,
                 near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "");
        }
    }
    lua_getfield(L, -1, "type");
    snprintf(type, sizeof type, "%s", lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "");
    lua_pop(L, 1);
    k->type = !strcmp(type, "hdd") ? 1 : !strcmp(type, "ssd") ? 2 : 0;
    if (!k->type)
        fail(L, ld, line, "disks.type", "expected \"hdd\" or \"ssd\", got '%s'", type);
    lua_getfield(L, -1, "image");
    if (lua_type(L, -1) != LUA_TSTRING || !lua_tostring(L, -1)[0])
        fail(L, ld, line, "disks.image", "required: the disk image file");
    snprintf(image, sizeof image, "%s", lua_tostring(L, -1));
    lua_pop(L, 1);
    /* like output paths: relative to the working directory, not to the script */
    snprintf(k->image, sizeof k->image, "%s", image);
    lua_getfield(L, -1, "size_mb");
    lua_Integer mb = lua_isinteger(L, -1) ? lua_tointeger(L, -1) : (lua_isnil(L, -1) ? 0 : -1);
    lua_pop(L, 1);
    if (mb < 0 || mb > SC_MAX_MEMORY_MB * 1024ll)
        fail(L, ld, line, "disks.size_mb", "expected a non-negative integer");
    k->size_bytes = (uint64_t)mb * SC_MIB;
    lua_getfield(L, -1, "block_size");
    lua_Integer bs = lua_isnil(L, -1) ? 512 : (lua_isinteger(L, -1) ? lua_tointeger(L, -1) : 0);
    lua_pop(L, 1);
    if (bs != 512 && bs != 4096)
        fail(L, ld, line, "disks.block_size", "expected 512 or 4096");
    k->block_size = (uint32_t)bs;
    lua_getfield(L, -1, "create");
    k->create = lua_toboolean(L, -1);
    lua_pop(L, 1);
}

static void device_disks(lua_State *L, struct loader *ld, int line, struct sc_device *dev)
{
    if (!push_field(L, "disks"))
        return;
    if (!lua_istable(L, -1))
        type_error(L, ld, line, "disks", "a list of disk tables");
    lua_Integer n = luaL_len(L, -1);
    if (n > SC_MAX_DISKS)
        fail(L, ld, line, "disks", "at most %d disks per device", SC_MAX_DISKS);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_geti(L, -1, i);
        if (!lua_istable(L, -1))
            fail(L, ld, line, "disks", "entry %lld is not a table", (long long)i);
        device_disk(L, ld, line, &dev->disks[dev->ndisks++]);
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
}

/* The e1000's keys: its MAC, link and peer host. */
static void device_nic(lua_State *L, struct loader *ld, int line, struct sc_device *dev)
{
    static const char *const modes[] = {"echo", "sink", "reqresp", "source", NULL};
    static const uint8_t qemu_mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
    char mode[16] = "echo";
    long long gbps = 1, prop_ns = 500, service_ns = 0, resp_len = 64;
    memcpy(dev->mac, qemu_mac, 6);
    get_mac(L, ld, line, dev->mac);
    get_int(L, ld, line, "link_gbps", 1, 100, &gbps);
    if (gbps != 1 && gbps != 10)
        fail(L, ld, line, "link_gbps", "expected 1 or 10 (GbE), got %lld", gbps);
    get_int(L, ld, line, "propagation_ns", 0, 1000000000, &prop_ns);
    get_string(L, ld, line, "peer", mode, sizeof mode);
    int m = 0;
    while (modes[m] && strcmp(modes[m], mode) != 0)
        m++;
    if (!modes[m])
        fail(L, ld, line, "peer", "unknown peer '%s' (known: echo, sink, reqresp, source)", mode);
    get_int(L, ld, line, "peer_service_ns", 0, 1000000000, &service_ns);
    get_int(L, ld, line, "peer_resp_len", 60, 1514, &resp_len);
    long long count = 0, len = 1514, gap_ns = 20000, start_us = 0;
    char dst[32];
    bool src = m == SC_PEER_SOURCE, have_dst = get_string(L, ld, line, "peer_dst", dst, sizeof dst);
    get_int(L, ld, line, "peer_count", 0, 100000000, &count);
    get_int(L, ld, line, "peer_len", 60, 1514, &len);
    get_int(L, ld, line, "peer_gap_ns", 1, 1000000000, &gap_ns);
    get_int(L, ld, line, "peer_start_us", 0, 1000000000, &start_us);
    if (src && !have_dst)
        fail(L, ld, line, "peer_dst", "required with peer = \"source\": the MAC it sends to");
    if (have_dst && (!parse_mac(dst, dev->peer_dst) || (dev->peer_dst[0] & 1)))
        fail(L, ld, line, "peer_dst", "'%s' is not a unicast MAC address (xx:xx:xx:xx:xx:xx)", dst);
    dev->peer_count = (uint64_t)count;
    dev->peer_len = (uint32_t)len;
    dev->peer_gap_ps = (uint64_t)gap_ns * 1000;
    dev->peer_start_ps = (uint64_t)start_us * 1000000;
    dev->link_bps = (uint64_t)gbps * 1000000000ull;
    dev->propagation_ps = (uint64_t)prop_ns * 1000;
    dev->peer = (enum sc_peer_mode)m;
    dev->peer_service_ps = (uint64_t)service_ns * 1000;
    dev->peer_resp_len = (uint32_t)resp_len;
}

static const char *const nic_keys[] = {"mac",           "link_gbps",       "propagation_ns",
                                       "peer",          "peer_service_ns", "peer_resp_len",
                                       "peer_count",    "peer_len",        "peer_gap_ns",
                                       "peer_start_us", "peer_dst",        NULL};

static int l_device(lua_State *L)
{
    static const char *const keys[] = {
        "kind",          "owner",      "slot",           "msi",         "disks",
        "mac",           "link_gbps",  "propagation_ns", "peer",        "peer_service_ns",
        "peer_resp_len", "peer_count", "peer_len",       "peer_gap_ns", "peer_start_us",
        "peer_dst",      NULL};
    struct loader *ld = get_loader(L);
    struct scenario *sc = ld->sc;
    int line = decl_begin(L, ld, "device", keys);
    long long slot = 4 + sc->ndevices;
    if (sc->ndevices >= SC_MAX_DEVICES)
        fail(L, ld, line, "device", "too many devices (max %d)", SC_MAX_DEVICES);
    struct sc_device *dev = &sc->devices[sc->ndevices];
    memset(dev, 0, sizeof *dev);
    if (!get_string(L, ld, line, "kind", dev->kind, sizeof dev->kind))
        fail(L, ld, line, "kind", "required: the device model, e.g. \"sas_hba\"");
    bool nic = !strcmp(dev->kind, "e1000");
    if (strcmp(dev->kind, "sas_hba") != 0 && !nic)
        fail(L, ld, line, "kind", "unknown device '%s' (known: sas_hba, e1000)", dev->kind);
    for (int k = 0; nic_keys[k]; k++)
        if (!nic && push_field(L, nic_keys[k]))
            fail(L, ld, line, nic_keys[k], "only an e1000 has this key");
    if (nic && push_field(L, "disks"))
        fail(L, ld, line, "disks", "an e1000 has no disks");
    dev->owner = conn_end(L, ld, line, "owner");
    get_int(L, ld, line, "slot", 0, 31, &slot);
    for (int i = 0; i < sc->ndevices; i++)
        if (sc->devices[i].slot == slot)
            fail(L, ld, line, "slot", "PCI slot %lld is taken by the device on line %d", slot,
                 sc->devices[i].line);
    dev->slot = (int)slot;
    dev->msi = true;
    get_bool(L, ld, line, "msi", &dev->msi);
    if (nic)
        device_nic(L, ld, line, dev);
    else
        device_disks(L, ld, line, dev);
    dev->line = line;
    sc->ndevices++;
    return 0;
}

/* protect = { { base = 0x800000, limit = 0xffffff }, ... }: the PCH's PR0-PR4. */
static void flash_protect(lua_State *L, struct loader *ld, int line, struct scenario *sc)
{
    if (!push_field(L, "protect"))
        return;
    if (!lua_istable(L, -1))
        type_error(L, ld, line, "protect", "a list of { base = ..., limit = ... } ranges");
    lua_Integer n = luaL_len(L, -1);
    if (n > 5)
        fail(L, ld, line, "protect", "%lld ranges: the controller has PR0-PR4 only", (long long)n);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_geti(L, -1, i);
        lua_getfield(L, -1, "base");
        lua_getfield(L, -2, "limit");
        if (!lua_isinteger(L, -2) || !lua_isinteger(L, -1))
            fail(L, ld, line, "protect", "range %lld: base and limit must be integers",
                 (long long)i);
        lua_Integer base = lua_tointeger(L, -2), limit = lua_tointeger(L, -1);
        if (base < 0 || limit > 0xffffffff || base > limit)
            fail(L, ld, line, "protect", "range %lld: base 0x%llx > limit 0x%llx", (long long)i,
                 (long long)base, (long long)limit);
        if ((base & 0xfff) || (limit & 0xfff) != 0xfff)
            fail(L, ld, line, "protect",
                 "range %lld: base must be 4 KiB aligned and limit end in 0xfff (4 KiB units)",
                 (long long)i);
        sc->flash.pr[sc->flash.npr].base = (uint32_t)base;
        sc->flash.pr[sc->flash.npr++].limit = (uint32_t)limit;
        lua_pop(L, 3);
    }
    lua_pop(L, 1);
}

static int l_flash(lua_State *L)
{
    static const char *const keys[] = {"image",          "part",    "read", "clock_mhz",
                                       "setvariable_ms", "protect", "ble",  "smm_bwp",
                                       "lock",           "xip",     NULL};
    struct loader *ld = get_loader(L);
    struct scenario *sc = ld->sc;
    int line = decl_begin(L, ld, "flash", keys);
    char read[16] = "fast";
    double mhz = 0;
    if (sc->flash.present)
        fail(L, ld, line, "flash", "already declared on line %d", sc->flash.line);
    sc->flash.present = true;
    sc->flash.line = line;
    get_string(L, ld, line, "image", sc->flash.image, sizeof sc->flash.image);
    snprintf(sc->flash.part, sizeof sc->flash.part, "W25Q128JV");
    get_string(L, ld, line, "part", sc->flash.part, sizeof sc->flash.part);
    get_string(L, ld, line, "read", read, sizeof read);
    if (!strcmp(read, "read"))
        sc->flash.read_opcode = 0x03;
    else if (!strcmp(read, "fast"))
        sc->flash.read_opcode = 0x0b;
    else if (!strcmp(read, "quad"))
        sc->flash.read_opcode = 0xeb;
    else
        fail(L, ld, line, "read", "'%s' is not a read mode (\"read\", \"fast\" or \"quad\")", read);
    get_num(L, ld, line, "clock_mhz", &mhz);
    if (mhz < 0 || mhz > 200)
        fail(L, ld, line, "clock_mhz", "expected 0 (the profile's) to 200 MHz");
    sc->flash.clock_hz = mhz * 1e6;
    get_num(L, ld, line, "setvariable_ms", &sc->flash.setvariable_ms);
    if (sc->flash.setvariable_ms < 0)
        fail(L, ld, line, "setvariable_ms", "expected a time >= 0 (0: none)");
    get_bool(L, ld, line, "ble", &sc->flash.ble);
    get_bool(L, ld, line, "smm_bwp", &sc->flash.smm_bwp);
    get_bool(L, ld, line, "lock", &sc->flash.lock);
    get_bool(L, ld, line, "xip", &sc->flash.xip);
    flash_protect(L, ld, line, sc);
    return 0;
}

/* import "file.lua": run another script in the same sandbox (scenario dir, then image path). */
static int l_import(lua_State *L)
{
    struct loader *ld = get_loader(L);
    int line = call_line(L);
    const char *rel = luaL_checkstring(L, 1);
    char path[SC_PATH];
    struct search s;
    if (++ld->imports > 32)
        fail(L, ld, line, "import", "more than 32 imports (a cycle?)");
    if (!find_file(rel, ld->sc->dir, HOPSIM_SCENARIO_DIR, path, sizeof path, &s))
        fail(L, ld, line, "import", "'%s' not found (looked in %s)", rel, s.tried);
    if (luaL_loadfilex(L, path, "t") != LUA_OK)
        return lua_error(L);
    lua_call(L, 0, 1);
    return 1;
}

/* ----------------------------------------------------------------- output */

static int l_output(lua_State *L)
{
    static const char *const keys[] = {"trace_json", "trace_csv", "pcap", "summary", NULL};
    struct loader *ld = get_loader(L);
    struct scenario *sc = ld->sc;
    int line = decl_begin(L, ld, "output", keys);
    if (ld->output_line)
        fail(L, ld, line, "output", "declared twice (first on line %d)", ld->output_line);
    ld->output_line = line;
    get_string(L, ld, line, "trace_json", sc->output.trace_json, sizeof sc->output.trace_json);
    get_string(L, ld, line, "trace_csv", sc->output.trace_csv, sizeof sc->output.trace_csv);
    get_string(L, ld, line, "pcap", sc->output.pcap, sizeof sc->output.pcap);
    get_bool(L, ld, line, "summary", &sc->output.summary);
    return 0;
}

/* ------------------------------------------------------------------ param */

static void note_param(struct loader *ld, const char *name)
{
    for (int i = 0; i < ld->nparams; i++)
        if (!strcmp(ld->params[i], name))
            return;
    if (ld->nparams < SC_MAX_PARAMS)
        snprintf(ld->params[ld->nparams++], sizeof ld->params[0], "%s", name);
}

/* Value of the last --set NAME=..., marking every such --set used. */
static const char *take_set(struct loader *ld, const char *name)
{
    const char *v = NULL;
    for (int i = 0; i < ld->o->nsets; i++) {
        if (strcmp(ld->o->sets[i].key, name) != 0)
            continue;
        ld->used[i] = true;
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
    switch (lua_type(L, 2)) {
    case LUA_TNUMBER:
        if (lua_isinteger(L, 2)) {
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

static int l_param(lua_State *L)
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

/* ---------------------------------------------------------------- sandbox */

static const char *const keep_globals[] = {
    "assert",   "error",    "getmetatable", "ipairs", "next",   "pairs",    "pcall",
    "print",    "rawequal", "rawget",       "rawlen", "rawset", "select",   "setmetatable",
    "tonumber", "tostring", "type",         "xpcall", "_G",     "_VERSION", "string",
    "math",     "table",    "utf8",         NULL};

static int l_print(lua_State *L)
{
    int n = lua_gettop(L);
    for (int i = 1; i <= n; i++) {
        size_t len;
        const char *s = luaL_tolstring(L, i, &len);
        if (i > 1)
            fputc('\t', stderr);
        fwrite(s, 1, len, stderr);
        lua_pop(L, 1);
    }
    fputc('\n', stderr);
    return 0;
}

/* math.randomseed(x [, y]): refuses the time-based form without arguments. */
static int l_randomseed(lua_State *L)
{
    if (lua_isnoneornil(L, 1))
        return luaL_error(L, "math.randomseed needs a seed here (scenarios are deterministic)");
    int n = lua_gettop(L);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, n, LUA_MULTRET);
    return lua_gettop(L);
}

static void *limited_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    struct loader *ld = ud;
    if (!ptr)
        osize = 0;
    if (nsize == 0) {
        free(ptr);
        ld->mem -= osize;
        return NULL;
    }
    if (nsize > osize && ld->mem + (nsize - osize) > LUA_MEM_LIMIT)
        return NULL;
    void *p = realloc(ptr, nsize);
    if (p)
        ld->mem = ld->mem - osize + nsize;
    return p;
}

static void count_hook(lua_State *L, lua_Debug *ar)
{
    void *ud;
    (void)ar;
    lua_getallocf(L, &ud);
    struct loader *ld = ud;
    lua_Debug here;
    int line = 0;
    if (++ld->insn_millions <= LUA_INSN_LIMIT_M)
        return;
    if (lua_getstack(L, 0, &here) && lua_getinfo(L, "Sl", &here))
        line = here.currentline;
    lua_pushfstring(L, "%s:%d: scenario script ran for more than %d million Lua instructions",
                    ld->sc->path, line, LUA_INSN_LIMIT_M);
    lua_error(L);
}

static void strip_globals(lua_State *L)
{
    lua_pushglobaltable(L);
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        lua_pop(L, 1);
        if (lua_type(L, -1) == LUA_TSTRING && in_list(lua_tostring(L, -1), keep_globals))
            continue;
        lua_pushvalue(L, -1);
        lua_pushnil(L);
        lua_rawset(L, -4);
    }
    lua_pop(L, 1);
}

static void open_libs(lua_State *L, struct loader *ld)
{
    static const luaL_Reg libs[] = {{LUA_GNAME, luaopen_base},
                                    {LUA_STRLIBNAME, luaopen_string},
                                    {LUA_MATHLIBNAME, luaopen_math},
                                    {LUA_TABLIBNAME, luaopen_table},
                                    {LUA_UTF8LIBNAME, luaopen_utf8}};
    for (size_t i = 0; i < sizeof libs / sizeof libs[0]; i++) {
        luaL_requiref(L, libs[i].name, libs[i].func, 1);
        lua_pop(L, 1);
    }
    strip_globals(L);
    lua_register(L, "print", l_print);
    lua_getglobal(L, LUA_MATHLIBNAME);
    lua_getfield(L, -1, "randomseed");
    lua_pushvalue(L, -1);
    ld->randomseed_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_pushcclosure(L, l_randomseed, 1);
    lua_setfield(L, -2, "randomseed");
    lua_pop(L, 1);
}

static void register_decls(lua_State *L, struct loader *ld)
{
    static const luaL_Reg fns[] = {
        {"scenario", l_scenario}, {"machine", l_machine}, {"domain", l_domain},
        {"connect", l_connect},   {"output", l_output},   {"param", l_param},
        {"device", l_device},     {"import", l_import},   {"flash", l_flash}};
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
        lua_pushlightuserdata(L, ld);
        lua_pushcclosure(L, fns[i].func, 1);
        lua_setglobal(L, fns[i].name);
    }
}

/* Runs under lua_pcall: set up the sandbox, load and run the script. */
static int protected_main(lua_State *L)
{
    struct loader *ld = lua_touserdata(L, 1);
    open_libs(L, ld);
    register_decls(L, ld);
    seed_random(L, ld);
    if (luaL_loadfilex(L, ld->sc->path, "t") != LUA_OK)
        return lua_error(L);
    lua_sethook(L, count_hook, LUA_MASKCOUNT, 1000000);
    lua_call(L, 0, 0);
    return 0;
}

static int run_script(struct loader *ld)
{
    lua_State *L = lua_newstate(limited_alloc, ld);
    if (!L)
        return errf(ld->err, ld->errlen, "%s: cannot create a Lua state", ld->sc->path);
    lua_pushcfunction(L, protected_main);
    lua_pushlightuserdata(L, ld);
    int rc = lua_pcall(L, 1, 0, 0);
    if (rc != LUA_OK && !ld->failed) {
        const char *msg = lua_tostring(L, -1);
        if (rc == LUA_ERRMEM)
            errf(ld->err, ld->errlen, "%s: out of memory (a scenario script may use %zu MiB)",
                 ld->sc->path, LUA_MEM_LIMIT >> 20);
        else
            errf(ld->err, ld->errlen, "%s", msg ? msg : "error object is not a string");
    }
    lua_close(L);
    return rc == LUA_OK && !ld->failed ? 0 : -1;
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
        if (!(x > 0 && x <= 10))
            return errf(msg, n, "%g is out of range (0 < clock_ghz <= 10)", x);
        sc->machine.clock_hz = x * 1e9;
    } else if (!strcmp(f, "memory_mb")) {
        if (ov_int(v, 1, SC_MAX_MEMORY_MB, &i, msg, n))
            return OV_BAD;
        sc->machine.memory_bytes = (uint64_t)i * SC_MIB;
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
    if (x < 0 || x * scale > SC_MAX_LIMIT_PS)
        return errf(msg, n, "%g is out of range (0 = no limit, at most %g s)", x,
                    SC_MAX_LIMIT_PS / 1e12);
    sc->time_limit_ps = (uint64_t)(x * scale + 0.5);
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
        if (ov_int(v, 1, SC_MAX_MEMORY_MB, &i, msg, n))
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
    for (int i = 0; i < ld->nparams; i++)
        list_append(names, sizeof names, ld->params[i]);
    if (!ld->nparams)
        return errf(ld->err, ld->errlen,
                    "--set %s: unknown key (the scenario declares no parameters)", s->key);
    return errf(ld->err, ld->errlen, "--set %s: unknown key (the scenario's parameters are: %s)",
                s->key, names);
}

static int apply_sets(struct loader *ld)
{
    for (int i = 0; i < ld->o->nsets; i++) {
        const struct sc_set *s = &ld->o->sets[i];
        if (strchr(s->key, '.')) {
            if (apply_dotted(ld->sc, s, ld->err, ld->errlen))
                return -1;
        } else if (!ld->used[i]) {
            return unused_set(ld, s);
        }
    }
    return 0;
}

/* ------------------------------------------------------------- validation */

static int validate(const struct scenario *sc, char *err, size_t errlen)
{
    uint64_t total = 0;
    for (int i = 0; i < sc->ndomains; i++) {
        const struct sc_domain *d = &sc->domains[i];
        if (d->cpu >= sc->machine.cpus)
            return errf(err, errlen,
                        "%s:%d: cpu: %d is out of range (-1..%d: the machine has %d "
                        "CPUs)",
                        sc->path, d->line, d->cpu, sc->machine.cpus - 1, sc->machine.cpus);
        total += d->memory_bytes;
        if (total > sc->machine.memory_bytes)
            return errf(err, errlen,
                        "%s:%d: memory_mb: domains up to '%s' need %llu MB, more "
                        "than the machine's %llu MB",
                        sc->path, d->line, d->name, (unsigned long long)(total / SC_MIB),
                        (unsigned long long)(sc->machine.memory_bytes / SC_MIB));
    }
    return 0;
}

static int check_declared(const struct loader *ld)
{
    if (!ld->machine_line)
        return errf(ld->err, ld->errlen, "%s: machine: no machine{} declared (one is required)",
                    ld->sc->path);
    if (ld->sc->ndomains == 0)
        return errf(ld->err, ld->errlen, "%s: domain: no domain{} declared (one is required)",
                    ld->sc->path);
    return 0;
}

int scenario_load(struct scenario *sc, const char *path, const struct sc_load_opts *o, char *err,
                  size_t errlen)
{
    static const struct sc_load_opts no_opts;
    struct loader ld = {.sc = sc, .o = o ? o : &no_opts, .err = err, .errlen = errlen};
    memset(sc, 0, sizeof *sc);
    if (strlen(path) >= sizeof sc->path)
        return errf(err, errlen, "%s: path too long", path);
    if (ld.o->nsets > SC_MAX_SETS || ld.o->nsets < 0)
        return errf(err, errlen, "%s: too many --set options (max %d)", path, SC_MAX_SETS);
    split_path(sc, path);
    sc->seed = 1;
    sc->output.summary = true;
    ld.privileged = -1;
    if (run_script(&ld) || check_declared(&ld) || validate(sc, err, errlen))
        return -1;
    if (cost_load(&sc->cost, sc->machine.profile, err, errlen) || apply_sets(&ld))
        return -1;
    if (ld.o->have_seed)
        sc->seed = ld.o->seed;
    return validate(sc, err, errlen);
}

int scenario_domain(const struct scenario *sc, const char *name)
{
    for (int i = 0; i < sc->ndomains; i++)
        if (strcmp(sc->domains[i].name, name) == 0)
            return i;
    return -1;
}
