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

#endif
