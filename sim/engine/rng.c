/*
 * Seeded random streams (rng.h): splitmix64 seeding xoshiro256**.
 */
#include "rng.h"

#include <math.h>

#define PI_ 3.14159265358979323846
#define SQRT2_ 1.41421356237309504880

uint64_t rng_splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

uint64_t rng_name_hash(const char *name)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        h ^= *p;
        h *= 0x100000001b3ull;
    }
    return h;
}

/* The splitmix64 state a stream starts from: the seed scrambled, then the name mixed in. */
static uint64_t stream_origin(uint64_t seed, const char *name)
{
    uint64_t sm = seed;
    uint64_t a = rng_splitmix64(&sm);
    uint64_t b = rng_name_hash(name);
    sm = a ^ (b * 0xd1342543de82ef95ull);
    return rng_splitmix64(&sm);
}

void rng_stream(struct rng *r, uint64_t seed, const char *name)
{
    uint64_t sm = stream_origin(seed, name);
    for (int i = 0; i < 4; i++)
        r->s[i] = rng_splitmix64(&sm);
    if (!(r->s[0] | r->s[1] | r->s[2] | r->s[3])) /* the one state xoshiro cannot leave */
        r->s[0] = 1;
}

uint64_t rng_derive(uint64_t seed, const char *name)
{
    uint64_t sm = stream_origin(seed, name) ^ 0x5851f42d4c957f2dull;
    return rng_splitmix64(&sm);
}

static inline uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t rng_next(struct rng *r)
{
    uint64_t *s = r->s;
    const uint64_t result = rotl(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double rng_uniform(struct rng *r)
{
    return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

double rng_normal(struct rng *r)
{
    double u1 = 1.0 - rng_uniform(r); /* (0, 1]: log() finite */
    double u2 = rng_uniform(r);
    return sqrt(-2.0 * log(u1)) * cos(2.0 * PI_ * u2);
}

/* Acklam's coefficients (P. J. Acklam, "An algorithm for computing the inverse normal
   cumulative distribution function", 2003). */
double rng_normal_quantile(double p)
{
    static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,
                               -2.759285104469687e+02, 1.383577518672690e+02,
                               -3.066479806614716e+01, 2.506628277459239e+00};
    static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02,
                               -1.556989798598866e+02, 6.680131188771972e+01,
                               -1.328068155288572e+01};
    static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01,
                               -2.400758277161838e+00, -2.549732539343734e+00,
                               4.374664141464968e+00,  2.938163982698783e+00};
    static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                               3.754408661907416e+00};
    const double lo = 0.02425, hi = 1 - lo;
    double x;
    if (!(p > 0 && p < 1))
        return p <= 0 ? -INFINITY : INFINITY;
    if (p < lo) {
        double q = sqrt(-2 * log(p));
        x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
            ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
    } else if (p <= hi) {
        double q = p - 0.5, t = q * q;
        x = (((((a[0] * t + a[1]) * t + a[2]) * t + a[3]) * t + a[4]) * t + a[5]) * q /
            (((((b[0] * t + b[1]) * t + b[2]) * t + b[3]) * t + b[4]) * t + 1);
    } else {
        double q = sqrt(-2 * log(1 - p));
        x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
            ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
    }
    /* one Halley step: e = Phi(x) - p */
    double e = 0.5 * erfc(-x / SQRT2_) - p;
    double u = e * sqrt(2 * PI_) * exp(x * x / 2);
    return x - u / (1 + x * u / 2);
}

double rng_lognormal_sigma(double median, double tail, double q)
{
    if (!(median > 0) || !(tail > median) || !(q > 0.5 && q < 1))
        return 0.0;
    return log(tail / median) / rng_normal_quantile(q);
}

double rng_lognormal(struct rng *r, double median, double sigma)
{
    if (sigma <= 0)
        return median;
    return median * exp(sigma * rng_normal(r));
}
