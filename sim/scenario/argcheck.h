/*
 * Guest arguments checked at load against the declarations in each
 * domain's image (include/hopsim/guestargs.h, workloads/lib/args.h).
 */
#ifndef HOPSIM_ARGCHECK_H
#define HOPSIM_ARGCHECK_H

#include <stddef.h>

#include "scenario.h"

/*
 * Every domain's args against its image's declarations: 0, or -1 with
 * "FILE:LINE: domain 'NAME': args: what is wrong" (LINE: the scenario
 * line that declared the domain, through any library).
 */
int scenario_check_guest_args(const struct scenario *sc, char *err, size_t errlen);

/*
 * Test programs' seeds follow the scenario's: a domain whose image
 * declares an integer argument `seed` and whose args do not set it gets
 * seed=N, N derived from the scenario's seed and the domain's name
 * (rng_derive(seed, "guest.NAME") / 2, sim/engine/rng.h). An explicit
 * seed in the scenario stays as written. 0, or -1 with a message.
 */
int scenario_seed_guests(struct scenario *sc, char *err, size_t errlen);

#endif
