/*
 * Scenario scripts: evaluate a Lua 5.4 file in a sandboxed child process
 * (sandbox.c), take its declarations back, apply --set overrides
 * (params.c), confine the paths it writes, and validate the result.
 *
 * Assumptions and rules:
 * - Determinism: math.random is seeded from the scenario seed (--seed, else
 *   --set scenario.seed, else scenario{seed=}, else 1) before the script
 *   runs and again when scenario{} sets the seed; math.randomseed() without
 *   an argument is refused.
 * - Declaration errors name "FILE:LINE: KEY: message", the line being the
 *   declaration call (inside an imported library: the library's line, then
 *   "(called from SCENARIO:LINE)"); the first one is kept even if the script
 *   catches it with pcall. Lua's own errors keep Lua's "FILE:LINE: message"
 *   form; errors without a position get the one of the code that raised them.
 * - output{} summary defaults to true.
 */
#include "loader.h"
#include "argcheck.h"

#include <stdio.h>
#include <string.h>

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
    if (!ld->hb->machine_line)
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
    static struct sc_handback hb; /* scenario_load is not reentrant (nor was Lua's state) */
    struct loader ld = {.sc = sc, .o = o ? o : &no_opts, .hb = &hb, .err = err, .errlen = errlen};
    memset(sc, 0, sizeof *sc);
    memset(&hb, 0, sizeof hb);
    if (strlen(path) >= sizeof sc->path)
        return errf(err, errlen, "%s: path too long", path);
    if (ld.o->nsets > SC_MAX_SETS || ld.o->nsets < 0)
        return errf(err, errlen, "%s: too many --set options (max %d)", path, SC_MAX_SETS);
    split_path(sc, path);
    sc->seed = 1;
    sc->output.summary = true;
    ld.privileged = -1;
    if (sandbox_eval(&ld) || check_declared(&ld) || validate(sc, err, errlen) ||
        check_expects(sc, err, errlen))
        return -1;
    if (cost_load(&sc->cost, sc->machine.profile, err, errlen) || apply_sets(&ld))
        return -1;
    if (ld.o->have_seed)
        sc->seed = ld.o->seed;
    if (confine_outputs(&ld))
        return -1;
    return validate(sc, err, errlen) || scenario_check_guest_args(sc, err, errlen) ||
                   scenario_seed_guests(sc, err, errlen)
               ? -1
               : 0;
}

int scenario_domain(const struct scenario *sc, const char *name)
{
    for (int i = 0; i < sc->ndomains; i++)
        if (strcmp(sc->domains[i].name, name) == 0)
            return i;
    return -1;
}
