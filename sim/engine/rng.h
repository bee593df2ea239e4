/*
 * Seeded random streams: every random quantity of a run (a device's
 * service time, a CPU's refill penalty, a test program's seed) is drawn
 * from a stream of its own, derived from the scenario's seed and the
 * stream's name.
 *
 * Generator: xoshiro256** (Blackman & Vigna, "Scrambled linear
 * pseudorandom number generators", ACM TOMS 2021; reference code at
 * prng.di.unimi.it), its 256-bit state filled by splitmix64 (Steele, Lea &
 * Flood, "Fast splittable pseudorandom number generators", OOPSLA 2014),
 * as the xoshiro authors recommend.
 *
 * Independence by construction: a stream's state is a function of
 * (seed, name) only, so adding a stream, or drawing more from one, never
 * changes what another stream yields. Same seed and name: the same
 * sequence on every host (integer arithmetic; the floating-point
 * transforms below use only IEEE-754 basic operations and libm's exp/log/
 * sqrt/cos, which glibc rounds correctly or nearly so on x86-64).
 */
#ifndef HOPSIM_RNG_H
#define HOPSIM_RNG_H

#include <stdint.h>

struct rng {
    uint64_t s[4];
};

/* One splitmix64 step: advances *state, returns the next output. */
uint64_t rng_splitmix64(uint64_t *state);

/* 64-bit FNV-1a of a name (stream names are hashed into the seed). */
uint64_t rng_name_hash(const char *name);

/* The stream `name` of a run seeded `seed`. */
void rng_stream(struct rng *r, uint64_t seed, const char *name);

/* A 64-bit value derived from (seed, name) alone, e.g. a test program's seed. */
uint64_t rng_derive(uint64_t seed, const char *name);

uint64_t rng_next(struct rng *r);  /* xoshiro256** */
double rng_uniform(struct rng *r); /* [0, 1), 53 random bits */
double rng_normal(struct rng *r);  /* standard normal (Box-Muller, two uniforms per draw) */

/*
 * The standard normal quantile z with P(Z <= z) = p, 0 < p < 1 (Acklam's
 * rational approximation refined by one Halley step on erfc: relative
 * error below 1e-12).
 */
double rng_normal_quantile(double p);

/*
 * Lognormal shape through two points: the median `median` and the value
 * `tail` at quantile q (0.5 < q < 1). Returns sigma = ln(tail/median) /
 * z(q), 0 when tail <= median (no spread).
 */
double rng_lognormal_sigma(double median, double tail, double q);

/* A draw median * exp(sigma * Z). */
double rng_lognormal(struct rng *r, double median, double sigma);

#endif
