/*
 * Reading declaration tables: types, ranges and "FILE:LINE: KEY: message"
 * errors; small string helpers; the file search for images and profiles.
 *
 * No allocation happens in code that can raise a Lua error, so a longjmp
 * out of a declaration never leaks.
 */
#include "loader.h"
#include "suggest.h"

#include <lauxlib.h>

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---------------------------------------------------------------- helpers */

int errf(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    if (err && errlen) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

bool in_list(const char *word, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(word, *list) == 0)
            return true;
    return false;
}

/* Append "item" to a ", "-separated list in buf (truncating when full). */
void list_append(char *buf, size_t n, const char *item)
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

bool name_ok(const char *s, size_t maxlen, bool lower_only)
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

bool has_space(const char *s)
{
    for (; *s; s++)
        if (isspace((unsigned char)*s))
            return true;
    return false;
}

bool str_to_ll(const char *s, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end != '\0' || errno == ERANGE || isspace((unsigned char)*s))
        return false;
    *out = v;
    return true;
}

bool str_to_num(const char *s, double *out)
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
int str_to_bool(const char *s)
{
    static const char *const yes[] = {"true", "1", "yes", "on", NULL};
    static const char *const no[] = {"false", "0", "no", "off", NULL};
    return in_list(s, yes) ? 1 : in_list(s, no) ? 0 : -1;
}

/* Printable copy of s: bytes outside 0x20..0x7e as \xNN, cut to fit n. */
const char *printable(const char *s, char *buf, size_t n)
{
    size_t o = 0;
    for (; *s && o + 5 < n; s++) {
        unsigned char c = (unsigned char)*s;
        if (c >= 0x20 && c < 0x7f && c != '\\')
            buf[o++] = (char)c;
        else
            o += (size_t)snprintf(buf + o, n - o, "\\x%02x", c);
    }
    buf[o < n ? o : n - 1] = '\0';
    return buf;
}

const char *time_to_ps(double value, double scale, uint64_t *ps)
{
    if (!isfinite(value) || value < 0 || value * scale > SC_MAX_LIMIT_PS)
        return "out of range";
    double x = value * scale + 0.5;
    if (value > 0 && x < 1)
        return "below the 1 ps resolution (0 means no limit)";
    *ps = (uint64_t)x;
    return NULL;
}

/* ------------------------------------------------------------------ paths */

bool has_dotdot(const char *rel)
{
    for (const char *p = rel; *p;) {
        size_t len = strcspn(p, "/");
        if (len == 2 && p[0] == '.' && p[1] == '.')
            return true;
        p += len + (p[len] == '/');
    }
    return false;
}

bool path_within(const char *path, const char *root, char *real, size_t n)
{
    char rroot[PATH_MAX], rpath[PATH_MAX];
    if (!realpath(root, rroot) || !realpath(path, rpath))
        return false;
    size_t rl = strlen(rroot);
    bool inside = strcmp(rroot, "/") == 0 ||
                  (strncmp(rpath, rroot, rl) == 0 && (rpath[rl] == '/' || rpath[rl] == '\0'));
    if (!inside || strlen(rpath) >= n)
        return false;
    memcpy(real, rpath, strlen(rpath) + 1);
    return true;
}

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
bool find_file(const char *rel, const char *dir, const char *path, char *out, size_t n,
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

/* ---------------------------------------------------- declaration errors */

int fail(lua_State *L, struct loader *ld, int line, const char *key, const char *fmt, ...)
{
    char msg[MSG], full[2 * SC_PATH + MSG + 192], note[SC_PATH + 64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const char *file = ld->cur_file[0] ? ld->cur_file : ld->sc->path;
    caller_note(L, ld, note, sizeof note);
    if (line > 0)
        snprintf(full, sizeof full, "%s:%d: %s: %s%s", file, line, key, msg, note);
    else
        snprintf(full, sizeof full, "%s: %s: %s", ld->sc->path, key, msg);
    if (!ld->failed) {
        ld->failed = true;
        errf(ld->err, ld->errlen, "%s", full);
    }
    lua_pushstring(L, full);
    return lua_error(L);
}

int scenario_line(lua_State *L, const struct loader *ld)
{
    lua_Debug ar;
    for (int level = 1; lua_getstack(L, level, &ar); level++)
        if (lua_getinfo(L, "Sl", &ar) && ar.currentline > 0 && ar.source[0] == '@' &&
            strcmp(ar.source + 1, ld->sc->path) == 0)
            return ar.currentline;
    return call_line(L);
}

void caller_note(lua_State *L, const struct loader *ld, char *buf, size_t n)
{
    lua_Debug ar;
    bool inner = true;
    buf[0] = '\0';
    for (int level = 0; lua_getstack(L, level, &ar); level++) {
        if (!lua_getinfo(L, "Sl", &ar) || ar.currentline <= 0 || ar.source[0] != '@')
            continue;
        bool main = strcmp(ar.source + 1, ld->sc->path) == 0;
        if (main && !inner)
            snprintf(buf, n, " (called from %s:%d)", ld->sc->path, ar.currentline);
        if (main)
            return;
        inner = false;
    }
}

int script_line(lua_State *L, const struct loader *ld)
{
    lua_Debug ar;
    int line = 0;
    for (int level = 0; lua_getstack(L, level, &ar); level++)
        if (lua_getinfo(L, "Sl", &ar) && ar.currentline > 0 && ar.source[0] == '@' &&
            !strcmp(ar.source + 1, ld->sc->path))
            line = ar.currentline;
    return line;
}

struct loader *get_loader(lua_State *L)
{
    return lua_touserdata(L, lua_upvalueindex(1));
}

/* Line (and file, kept for error messages) of the Lua code that called the running C function. */
int call_line(lua_State *L)
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
const char *describe(lua_State *L, int idx, char *buf, size_t n)
{
    if (lua_type(L, idx) == LUA_TNUMBER)
        snprintf(buf, n, "%.14g", lua_tonumber(L, idx));
    else
        snprintf(buf, n, "%s", luaL_typename(L, idx));
    return buf;
}

/* Check that the only argument is a table whose keys are all in `keys`. */
int decl_begin(lua_State *L, struct loader *ld, const char *fn, const char *const *keys)
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
bool push_field(lua_State *L, const char *key)
{
    lua_pushstring(L, key);
    if (lua_rawget(L, 1) != LUA_TNIL)
        return true;
    lua_pop(L, 1);
    return false;
}

void type_error(lua_State *L, struct loader *ld, int line, const char *key, const char *expected)
{
    fail(L, ld, line, key, "expected %s, got %s", expected, luaL_typename(L, -1));
}

bool get_string(lua_State *L, struct loader *ld, int line, const char *key, char *out, size_t n)
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

bool get_int(lua_State *L, struct loader *ld, int line, const char *key, long long lo, long long hi,
             long long *out)
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

bool get_num(lua_State *L, struct loader *ld, int line, const char *key, double *out)
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

bool get_bool(lua_State *L, struct loader *ld, int line, const char *key, bool *out)
{
    if (!push_field(L, key))
        return false;
    if (lua_type(L, -1) != LUA_TBOOLEAN)
        type_error(L, ld, line, key, "a boolean");
    *out = lua_toboolean(L, -1);
    lua_pop(L, 1);
    return true;
}
