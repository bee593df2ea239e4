/*
 * Virtual time: one global clock in picoseconds. uint64_t picoseconds last
 * 213 days of simulated time, far beyond any scenario.
 */
#ifndef HOPSIM_SIMTIME_H
#define HOPSIM_SIMTIME_H

#include <stdint.h>

typedef uint64_t simtime_t;

#define PS_PER_NS 1000ull
#define PS_PER_US 1000000ull
#define PS_PER_MS 1000000000ull
#define PS_PER_S 1000000000000ull
#define SIMTIME_NEVER UINT64_MAX

#endif
