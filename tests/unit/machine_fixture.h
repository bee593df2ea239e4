/*
 * A small machine for the hypervisor unit tests: N domains (a, b, c, ...)
 * booted from pingpong.elf with 4 MiB each and one vCPU, the default cost
 * profile, a 3 GHz clock. A test adjusts the scenario between
 * fixture_scenario() and fixture_machine() (vCPUs, placement, maxmem) and
 * gets the trace fixture_machine() opened back for its teardown.
 */
#ifndef HOPSIM_TESTS_MACHINE_FIXTURE_H
#define HOPSIM_TESTS_MACHINE_FIXTURE_H

#include <check.h>
#include <stdio.h>
#include <string.h>

#include "machine.h"

static inline void fixture_scenario(struct scenario *sc, const char *name, unsigned cpus,
                                    uint64_t memory_bytes, unsigned ndomains)
{
    char err[512];
    memset(sc, 0, sizeof(*sc));
    snprintf(sc->name, sizeof(sc->name), "%s", name);
    sc->machine.cpus = cpus;
    sc->machine.clock_hz = 3e9;
    sc->machine.memory_bytes = memory_bytes;
    ck_assert_msg(
        cost_load(&sc->cost, HOPSIM_SOURCE_DIR "/profiles/default.profile", err, sizeof(err)) == 0,
        "%s", err);
    for (unsigned i = 0; i < ndomains; i++) {
        struct sc_domain *d = &sc->domains[i];
        snprintf(d->name, sizeof(d->name), "%c", 'a' + i);
        snprintf(d->image, sizeof(d->image), "%s/pingpong.elf", HOPSIM_GUEST_DIR);
        d->memory_bytes = 4ull << 20;
        d->vcpus = 1;
        d->cpu = i % cpus;
    }
    sc->ndomains = ndomains;
}

static inline struct trace *fixture_machine(struct machine *m, struct scenario *sc,
                                            const struct trace_opts *to)
{
    char err[512];
    struct trace *tr = trace_open(to, err, sizeof(err));
    ck_assert_ptr_nonnull(tr);
    ck_assert_msg(machine_create(m, sc, tr, true, err, sizeof(err)) == 0, "%s", err);
    return tr;
}

#endif
