/*
 * scenario{}, machine{} and domain{} (with its args): each checks its
 * table's keys, types and ranges and fills struct scenario, or raises
 * "FILE:LINE: KEY: message".
 *
 * Defaults: machine{} cpus 1, clock_ghz 3.0, memory_mb 1024, profile
 * "default"; domain{} memory_mb 16, vcpus 1, cpu -1, privileged false.
 * "MB" means MiB (2^20 bytes).
 */
#include "loader.h"
#include "suggest.h"

#include <lauxlib.h>

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

void seed_random(lua_State *L, struct loader *ld)
{
    lua_rawgeti(L, LUA_REGISTRYINDEX, ld->randomseed_ref);
    lua_pushinteger(L, (lua_Integer)lua_seed(ld));
    lua_call(L, 1, 0);
}

/* ----------------------------------------------------------- declarations */

bool clock_ghz_ok(double ghz)
{
    return ghz >= SC_MIN_GHZ && ghz <= SC_MAX_GHZ;
}

static void time_limit(lua_State *L, struct loader *ld, int line)
{
    double ms, us;
    bool have_ms = get_num(L, ld, line, "time_limit_ms", &ms);
    bool have_us = get_num(L, ld, line, "time_limit_us", &us);
    if (have_ms && have_us)
        fail(L, ld, line, "time_limit_us", "give time_limit_ms or time_limit_us, not both");
    if (!have_ms && !have_us)
        return;
    const char *key = have_ms ? "time_limit_ms" : "time_limit_us";
    const char *why = time_to_ps(have_ms ? ms : us, have_ms ? 1e9 : 1e6, &ld->sc->time_limit_ps);
    if (why)
        fail(L, ld, line, key, "%g is %s (0 = no limit, at most %g s)", have_ms ? ms : us, why,
             SC_MAX_LIMIT_PS / 1e12);
}

int l_scenario(lua_State *L)
{
    static const char *const keys[] = {"name",    "seed", "time_limit_ms", "time_limit_us", "arch",
                                       "ends_at", NULL};
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
    char end[16];
    if (get_string(L, ld, line, "ends_at", end, sizeof end)) {
        if (!strcmp(end, "time_limit"))
            sc->ends_at_limit = true;
        else if (strcmp(end, "shutdown"))
            fail(L, ld, line, "ends_at", "'%s': expected \"shutdown\" or \"time_limit\"", end);
        if (sc->ends_at_limit && !sc->time_limit_ps)
            fail(L, ld, line, "ends_at", "\"time_limit\" needs time_limit_ms or time_limit_us");
    }
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

int l_machine(lua_State *L)
{
    static const char *const keys[] = {"cpus", "clock_ghz", "memory_mb", "profile", "iommu", NULL};
    struct loader *ld = get_loader(L);
    struct scenario *sc = ld->sc;
    int line = decl_begin(L, ld, "machine", keys);
    long long cpus = 1, mem = 1024;
    double ghz = 3.0;
    char profile[SC_PATH] = "default";
    if (ld->hb->machine_line)
        fail(L, ld, line, "machine", "declared twice (first on line %d)", ld->hb->machine_line);
    get_int(L, ld, line, "cpus", 1, SC_MAX_CPUS, &cpus);
    if (get_num(L, ld, line, "clock_ghz", &ghz) && !clock_ghz_ok(ghz))
        fail(L, ld, line, "clock_ghz", "%g is out of range (%g..%g)", ghz, SC_MIN_GHZ, SC_MAX_GHZ);
    get_int(L, ld, line, "memory_mb", 1, SC_MAX_MEMORY_MB, &mem);
    get_string(L, ld, line, "profile", profile, sizeof profile);
    get_bool(L, ld, line, "iommu", &sc->machine.iommu);
    resolve_profile(L, ld, line, profile);
    sc->machine.cpus = (int)cpus;
    sc->machine.clock_hz = ghz * 1e9;
    sc->machine.memory_bytes = (uint64_t)mem * SC_MIB;
    ld->hb->machine_line = scenario_line(L, ld);
    return 0;
}

/* ----------------------------------------------------------- domain args */

bool arg_key_ok(const char *k)
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
bool args_set(struct argset *a, const char *key, const char *val)
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
void args_parse(struct argset *a, const char *cmdline)
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
bool args_render(const struct argset *a, char *out, size_t n)
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
    else if (!strcmp(mode, "hvm"))
        d->mode = SC_MODE_HVM;
    else if (!strcmp(mode, "l4"))
        d->mode = SC_MODE_L4;
    else
        fail(L, ld, line, "mode",
             "'%s' is not a mode (\"pv\", \"native\", \"rt\", \"hvm\" or \"l4\")", mode);
}

/* vmm = "task": an HVM domain on the microkernel, whose exits go to that (earlier) l4 task. */
static void domain_vmm(lua_State *L, struct loader *ld, int line, struct sc_domain *d)
{
    char vmm[64];
    d->vmm = -1;
    if (!get_string(L, ld, line, "vmm", vmm, sizeof vmm))
        return;
    if (d->mode != SC_MODE_HVM)
        fail(L, ld, line, "vmm", "only an HVM domain (mode = \"hvm\") has a VMM");
    int t = scenario_domain(ld->sc, vmm);
    if (t < 0 || ld->sc->domains[t].mode != SC_MODE_L4)
        fail(L, ld, line, "vmm", "'%s' is not an l4 task declared before this domain", vmm);
    for (int i = 0; i < ld->sc->ndomains; i++)
        if (ld->sc->domains[i].vmm == t)
            fail(L, ld, line, "vmm", "'%s' is already the VMM of '%s' (one VM per VMM)", vmm,
                 ld->sc->domains[i].name);
    d->vmm = t;
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

int l_domain(lua_State *L)
{
    static const char *const keys[] = {"name",          "image",      "memory_mb", "vcpus",
                                       "cpu",           "privileged", "args",      "mode",
                                       "runtime_image", "rt_cpu",     "on_crash",  "runtime_sha256",
                                       "vmm",           "maxmem_mb",  NULL};
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
    if (get_string(L, ld, line, "runtime_sha256", d->runtime_sha256, sizeof d->runtime_sha256)) {
        if (!d->runtime_image[0])
            fail(L, ld, line, "runtime_sha256", "only a domain with a runtime_image has it");
        if (strlen(d->runtime_sha256) != 64 || strspn(d->runtime_sha256, "0123456789abcdef") != 64)
            fail(L, ld, line, "runtime_sha256", "expected 64 lowercase hex digits (a SHA-256)");
    }
    get_int(L, ld, line, "memory_mb", 1, SC_MAX_DOMAIN_MB, &mem);
    long long maxmem = 0;
    if (get_int(L, ld, line, "maxmem_mb", 1, SC_MAX_DOMAIN_MB, &maxmem) && maxmem < mem)
        fail(L, ld, line, "maxmem_mb", "%lld is below memory_mb (%lld)", maxmem, mem);
    get_int(L, ld, line, "vcpus", 1, SC_MAX_VCPUS, &vcpus);
    get_int(L, ld, line, "cpu", -1, SC_MAX_CPUS - 1, &cpu);
    get_bool(L, ld, line, "privileged", &d->privileged);
    if (d->privileged && ld->privileged >= 0)
        fail(L, ld, line, "privileged", "only one domain may be privileged ('%s' on line %d is)",
             sc->domains[ld->privileged].name, sc->domains[ld->privileged].line);
    domain_args(L, ld, line, d);
    domain_mode(L, ld, line, d);
    domain_vmm(L, ld, line, d);
    domain_rt_cpu(L, ld, line, d);
    char on_crash[16] = "destroy";
    get_string(L, ld, line, "on_crash", on_crash, sizeof on_crash);
    if (strcmp(on_crash, "destroy") && strcmp(on_crash, "restart"))
        fail(L, ld, line, "on_crash", "'%s' is not destroy or restart", on_crash);
    d->on_crash_restart = !strcmp(on_crash, "restart");
    if (d->on_crash_restart && (d->privileged || d->mode != SC_MODE_PV))
        fail(L, ld, line, "on_crash", "only an unprivileged PV domain (a driver domain) restarts");
    d->memory_bytes = (uint64_t)mem * SC_MIB;
    d->maxmem_bytes = (uint64_t)(maxmem ? maxmem : mem) * SC_MIB;
    d->vcpus = (int)vcpus;
    d->cpu = (int)cpu;
    d->line = scenario_line(L, ld);
    d->script_line = script_line(L, ld);
    if (d->privileged)
        ld->privileged = sc->ndomains;
    sc->ndomains++;
    return 0;
}
