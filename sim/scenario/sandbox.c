/*
 * The scenario sandbox: the script runs in a child process, in a Lua state
 * that has no way out to files or the host, under budgets no Lua construct
 * can escape.
 *
 * - Library: only the base functions in keep_globals plus string (without
 *   string.dump), math, table and utf8: no io, os, package, debug, load,
 *   dofile, require or collectgarbage. Scripts are loaded as text only
 *   (mode "t"): a precompiled binary chunk is refused. print writes to
 *   stderr with control characters escaped.
 * - Budgets, in two layers. Inside Lua: LUA_MEM_LIMIT bytes (the allocator
 *   refuses beyond it; the first refusal is a "FILE:LINE: out of memory"
 *   error that pcall cannot undo) and LUA_INSN_LIMIT_M million VM
 *   instructions (a count hook; once over, the hook raises at every
 *   instruction, so a pcall that catches it is re-raised at once). Lua
 *   cannot see time spent in C (string.find backtracking) or in a __gc
 *   finalizer (hooks are off there), so the process itself is bounded: the
 *   child runs under RLIMIT_CPU (SIGXCPU, then SIGKILL one second later),
 *   RLIMIT_AS (address space: what it had at fork plus SC_AS_BUDGET) and a
 *   wall-clock alarm; the parent also kills it when the pipe stays silent
 *   past the wall budget. A child killed by a limit is the error
 *   "FILE: scenario exceeded its CPU/memory budget (...)".
 *   RLIMIT_AS is not set under AddressSanitizer, which reserves terabytes of
 *   shadow address space; the Lua allocator cap still holds there.
 * - Hand-back: the child writes struct sc_handback and then struct scenario
 *   as raw bytes to a pipe and _exits (loader.h says why that is sound);
 *   the parent reads exactly that many bytes, reaps the child and checks the
 *   counts before using anything.
 * - Errors keep file:line: a message handler gives error("x", 0) and
 *   error({}) the position of the innermost Lua code, and an error inside an
 *   imported library names the scenario line that called into it.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "loader.h"

#include <lauxlib.h>
#include <lualib.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LUA_MEM_LIMIT ((size_t)256 << 20)
#define LUA_INSN_LIMIT_M 200           /* a scenario script declares; it does not compute */
#define SC_CPU_BUDGET_S 5              /* default CPU seconds for evaluating a scenario */
#define SC_WALL_FACTOR 3               /* wall-clock budget: this many times the CPU budget, */
#define SC_WALL_SLACK 10               /* plus this many seconds (a loaded host) */
#define SC_AS_BUDGET ((size_t)1 << 30) /* address space beyond what the child had at fork */

#if defined(__SANITIZE_ADDRESS__)
#define SC_SET_RLIMIT_AS 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SC_SET_RLIMIT_AS 0
#endif
#endif
#ifndef SC_SET_RLIMIT_AS
#define SC_SET_RLIMIT_AS 1
#endif

/* ------------------------------------------------------------ Lua state */

static const char *const keep_globals[] = {
    "assert",   "error",    "getmetatable", "ipairs", "next",   "pairs",    "pcall",
    "print",    "rawequal", "rawget",       "rawlen", "rawset", "select",   "setmetatable",
    "tonumber", "tostring", "type",         "xpcall", "_G",     "_VERSION", "string",
    "math",     "table",    "utf8",         NULL};

/* print(...) to stderr; control characters other than tab and newline as \xNN. */
static int l_print(lua_State *L)
{
    int n = lua_gettop(L);
    for (int i = 1; i <= n; i++) {
        size_t len;
        const char *s = luaL_tolstring(L, i, &len);
        if (i > 1)
            fputc('\t', stderr);
        for (size_t k = 0; k < len; k++) {
            unsigned char c = (unsigned char)s[k];
            if (c < 0x20 && c != '\t' && c != '\n')
                fprintf(stderr, "\\x%02x", c);
            else if (c == 0x7f)
                fputs("\\x7f", stderr);
            else
                fputc(c, stderr);
        }
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

/* Where the running Lua code is: "FILE:LINE" of the innermost Lua function. */
static bool lua_where(lua_State *L, char *buf, size_t n)
{
    lua_Debug ar;
    for (int level = 0; lua_getstack(L, level, &ar); level++)
        if (lua_getinfo(L, "Sl", &ar) && ar.currentline > 0) {
            snprintf(buf, n, "%s:%d", ar.source[0] == '@' ? ar.source + 1 : ar.short_src,
                     ar.currentline);
            return true;
        }
    return false;
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
    void *p = NULL;
    if (nsize <= osize || ld->mem + (nsize - osize) <= LUA_MEM_LIMIT)
        p = realloc(ptr, nsize);
    if (p) {
        ld->mem = ld->mem - osize + nsize;
        return p;
    }
    /* The first refusal is the error, even if the script catches it. Reading
       the stack here is safe: lua_getinfo("Sl") allocates nothing. */
    if (!ld->failed && ld->L) {
        char where[SC_PATH + 32];
        ld->failed = true;
        if (!lua_where(ld->L, where, sizeof where))
            snprintf(where, sizeof where, "%s", ld->sc->path);
        errf(ld->err, ld->errlen, "%s: out of memory (a scenario may use %zu MiB)", where,
             LUA_MEM_LIMIT >> 20);
    }
    return NULL;
}

static void count_hook(lua_State *L, lua_Debug *ar)
{
    void *ud;
    (void)ar;
    lua_getallocf(L, &ud);
    struct loader *ld = ud;
    char where[SC_PATH + 32];
    if (++ld->insn_millions <= LUA_INSN_LIMIT_M)
        return;
    /* over the limit: raise at every instruction from now on, so no pcall outlives it */
    lua_sethook(L, count_hook, LUA_MASKCOUNT, 1);
    if (!lua_where(L, where, sizeof where))
        snprintf(where, sizeof where, "%s", ld->sc->path);
    lua_pushfstring(L, "%s: scenario script ran for more than %d million Lua instructions", where,
                    LUA_INSN_LIMIT_M);
    if (!ld->failed) {
        ld->failed = true;
        errf(ld->err, ld->errlen, "%s", lua_tostring(L, -1));
    }
    lua_error(L);
}

/* "FILE:LINE: " at the start of msg? (Lua's own and error()'s default form) */
static bool has_position(const char *msg)
{
    const char *colon = strchr(msg, ':');
    if (!colon || colon == msg || !isdigit((unsigned char)colon[1]))
        return false;
    const char *p = colon + 1;
    while (isdigit((unsigned char)*p))
        p++;
    return *p == ':';
}

/* Message handler: give every error a position and, inside a library, its caller. */
static int msg_handler(lua_State *L)
{
    struct loader *ld = lua_touserdata(L, lua_upvalueindex(1));
    char where[SC_PATH + 32], note[SC_PATH + 64], text[MSG];
    const char *msg = lua_type(L, 1) == LUA_TSTRING ? lua_tostring(L, 1) : NULL;
    if (msg)
        snprintf(text, sizeof text, "%s", msg);
    else
        snprintf(text, sizeof text, "error object is a %s value, not a string",
                 luaL_typename(L, 1));
    caller_note(L, ld, note, sizeof note);
    size_t plen = strlen(ld->sc->path);
    if (strstr(text, " (called from ") || /* fail() put it there */
        (msg && has_position(msg) && !strncmp(msg, ld->sc->path, plen) && msg[plen] == ':'))
        note[0] = '\0'; /* the position is the scenario's own line already */
    if ((msg && has_position(msg)) || !lua_where(L, where, sizeof where))
        lua_pushfstring(L, "%s%s", text, note);
    else
        lua_pushfstring(L, "%s: %s%s", where, text, note);
    return 1;
}

/* Load a script as text; a load error names the file. */
int sandbox_loadfile(lua_State *L, const char *path)
{
    if (luaL_loadfilex(L, path, "t") == LUA_OK)
        return LUA_OK;
    const char *msg = lua_tostring(L, -1);
    if (msg && strncmp(msg, path, strlen(path)) != 0) {
        lua_pushfstring(L, "%s: %s", path, msg);
        lua_remove(L, -2);
    }
    return LUA_ERRSYNTAX;
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
    lua_getglobal(L, LUA_STRLIBNAME);
    lua_pushnil(L);
    lua_setfield(L, -2, "dump");
    lua_pop(L, 1);
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
        {"device", l_device},     {"import", l_import},   {"flash", l_flash},
        {"expect", l_expect},     {"mem_set", l_mem_set}};
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
        lua_pushlightuserdata(L, ld);
        lua_pushcclosure(L, fns[i].func, 1);
        lua_setglobal(L, fns[i].name);
    }
}

/* Runs under lua_pcall: set up the sandbox, load and run the script. */
/* Runs under lua_pcall: set up the sandbox, load and run the script. */
static int protected_main(lua_State *L)
{
    struct loader *ld = lua_touserdata(L, 1);
    open_libs(L, ld);
    register_decls(L, ld);
    seed_random(L, ld);
    if (sandbox_loadfile(L, ld->sc->path) != LUA_OK)
        return lua_error(L);
    lua_sethook(L, count_hook, LUA_MASKCOUNT, 1000000);
    lua_call(L, 0, 0);
    return 0;
}

/* Run the script in this process; 0, or -1 with the message in ld->err. */
static int run_script(struct loader *ld)
{
    lua_State *L = lua_newstate(limited_alloc, ld);
    if (!L)
        return errf(ld->err, ld->errlen, "%s: cannot create a Lua state", ld->sc->path);
    ld->L = L;
    lua_pushlightuserdata(L, ld);
    lua_pushcclosure(L, msg_handler, 1);
    lua_pushcfunction(L, protected_main);
    lua_pushlightuserdata(L, ld);
    int rc = lua_pcall(L, 1, 0, 1);
    if (rc != LUA_OK && !ld->failed) {
        const char *msg = lua_tostring(L, -1);
        if (rc == LUA_ERRMEM)
            errf(ld->err, ld->errlen, "%s: out of memory (a scenario may use %zu MiB)",
                 ld->sc->path, LUA_MEM_LIMIT >> 20);
        else
            errf(ld->err, ld->errlen, "%s", msg ? msg : "error object is not a string");
    }
    /* no lua_close: a __gc finalizer would run here, and the child _exits anyway */
    return rc == LUA_OK && !ld->failed ? 0 : -1;
}

/* ------------------------------------------------------------ the child */

static double cpu_budget(const struct loader *ld)
{
    double s = ld->o->cpu_budget_s;
    return s > 0 && s <= 3600 ? s : SC_CPU_BUDGET_S;
}

#if SC_SET_RLIMIT_AS
/* Bytes of address space this process has now (/proc/self/statm), 0 if unknown. */
static size_t address_space(void)
{
    unsigned long pages = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f)
        return 0;
    if (fscanf(f, "%lu", &pages) != 1)
        pages = 0;
    fclose(f);
    return pages * (size_t)sysconf(_SC_PAGESIZE);
}
#endif

static void set_limits(const struct loader *ld)
{
    rlim_t cpu = (rlim_t)(cpu_budget(ld) + 0.999);
    struct rlimit r = {.rlim_cur = cpu, .rlim_max = cpu + 1};
    setrlimit(RLIMIT_CPU, &r);
#if SC_SET_RLIMIT_AS
    size_t as = address_space();
    if (as) {
        r.rlim_cur = r.rlim_max = (rlim_t)(as + SC_AS_BUDGET);
        setrlimit(RLIMIT_AS, &r);
    }
#endif
    r.rlim_cur = r.rlim_max = 0; /* no core dump from a killed evaluation */
    setrlimit(RLIMIT_CORE, &r);
    alarm((unsigned)(cpu * SC_WALL_FACTOR + SC_WALL_SLACK));
}

static bool write_all(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

static __attribute__((noreturn)) void child_main(struct loader *ld, int fd)
{
    signal(SIGPIPE, SIG_DFL);
    signal(SIGXCPU, SIG_DFL);
    signal(SIGALRM, SIG_DFL);
    set_limits(ld);
    ld->err = ld->hb->err;
    ld->errlen = sizeof ld->hb->err;
    ld->hb->rc = run_script(ld);
    bool ok = write_all(fd, ld->hb, sizeof *ld->hb) && write_all(fd, ld->sc, sizeof *ld->sc);
    _exit(ok ? 0 : 3);
}

/* ------------------------------------------------------------ the parent */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Read n bytes from fd, giving up at the deadline; bytes read. */
static size_t read_until(int fd, void *buf, size_t n, double deadline)
{
    char *p = buf;
    size_t got = 0;
    while (got < n) {
        int ms = (int)((deadline - now_s()) * 1000);
        if (ms <= 0)
            break;
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int r = poll(&pfd, 1, ms);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        ssize_t k = read(fd, p + got, n - got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    return got;
}

static int reap(pid_t pid)
{
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return status;
}

/* The child's declarations are only used when their counts are in range. */
static bool handback_sane(const struct loader *ld)
{
    const struct scenario *sc = ld->sc;
    const struct sc_handback *hb = ld->hb;
    if (hb->nparams < 0 || hb->nparams > SC_MAX_PARAMS || sc->ndomains < 0 ||
        sc->ndomains > SC_MAX_DOMAINS || sc->nconns < 0 || sc->nconns > SC_MAX_CONNS ||
        sc->ndevices < 0 || sc->ndevices > SC_MAX_DEVICES || sc->flash.npr < 0 ||
        sc->flash.npr > 5 || !memchr(hb->err, 0, sizeof hb->err))
        return false;
    for (int i = 0; i < sc->ndevices; i++)
        if (sc->devices[i].ndisks < 0 || sc->devices[i].ndisks > SC_MAX_DISKS)
            return false;
    for (int i = 0; i < sc->nconns; i++)
        if (sc->conns[i].frontend < 0 || sc->conns[i].frontend >= sc->ndomains ||
            sc->conns[i].backend < 0 || sc->conns[i].backend >= sc->ndomains)
            return false;
    return true;
}

static int child_died(struct loader *ld, int status, double cpu)
{
    const char *path = ld->sc->path;
    char *err = ld->err;
    size_t n = ld->errlen;
    if (status == -1)
        return errf(err, n, "%s: scenario exceeded its wall-clock budget (%g s)", path,
                    ceil(cpu) * SC_WALL_FACTOR + SC_WALL_SLACK);
    if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        if (sig == SIGXCPU || sig == SIGKILL)
            return errf(err, n, "%s: scenario exceeded its CPU budget (%g s of CPU time)", path,
                        ceil(cpu));
        if (sig == SIGALRM)
            return errf(err, n, "%s: scenario exceeded its wall-clock budget (%g s)", path,
                        ceil(cpu) * SC_WALL_FACTOR + SC_WALL_SLACK);
        return errf(err, n,
                    "%s: scenario exceeded its CPU/memory budget (evaluation killed by signal "
                    "%d, %s)",
                    path, sig, strsignal(sig));
    }
    return errf(err, n, "%s: scenario evaluation failed (exit status %d)", path,
                WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

int sandbox_eval(struct loader *ld)
{
    int fds[2];
    double cpu = cpu_budget(ld);
    if (pipe2(fds, O_CLOEXEC) != 0)
        return errf(ld->err, ld->errlen, "%s: cannot evaluate: pipe: %s", ld->sc->path,
                    strerror(errno));
    fflush(NULL); /* nothing buffered is written twice */
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return errf(ld->err, ld->errlen, "%s: cannot evaluate: fork: %s", ld->sc->path,
                    strerror(errno));
    }
    if (pid == 0) {
        close(fds[0]);
        child_main(ld, fds[1]);
    }
    close(fds[1]);
    double deadline = now_s() + ceil(cpu) * SC_WALL_FACTOR + SC_WALL_SLACK + 2;
    size_t want = sizeof *ld->hb + sizeof *ld->sc;
    size_t got = read_until(fds[0], ld->hb, sizeof *ld->hb, deadline);
    if (got == sizeof *ld->hb)
        got += read_until(fds[0], ld->sc, sizeof *ld->sc, deadline);
    close(fds[0]);
    bool timed_out = got < want && now_s() >= deadline;
    if (timed_out)
        kill(pid, SIGKILL);
    int status = reap(pid);
    if (got < want)
        return child_died(ld, timed_out ? -1 : status, cpu);
    if (!handback_sane(ld))
        return errf(ld->err, ld->errlen, "%s: scenario evaluation returned inconsistent data",
                    ld->sc->path);
    if (ld->hb->rc != 0)
        return errf(ld->err, ld->errlen, "%s", ld->hb->err);
    return 0;
}
