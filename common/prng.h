/*
 * A seeded pseudo-random number generator (xoshiro256**, seeded through
 * splitmix64).
 *
 * Every random choice in the system (election timeouts, the simulator's
 * drops and delays, randomized tests) comes from a tkv_prng_t that someone
 * seeded on purpose. Same seed, same sequence, on every machine: that is
 * what lets a failing test print one number that replays it.
 */
#ifndef TKV_COMMON_PRNG_H
#define TKV_COMMON_PRNG_H

#include <stdint.h>

typedef struct {
    uint64_t s[4];
} tkv_prng_t;

void prng_seed(tkv_prng_t *p, uint64_t seed);
uint64_t prng_next(tkv_prng_t *p);
/* Uniform in [0, n); n must be > 0. Unbiased (rejection sampling). */
uint64_t prng_below(tkv_prng_t *p, uint64_t n);
/* Uniform in [lo, hi); requires lo < hi. */
uint64_t prng_between(tkv_prng_t *p, uint64_t lo, uint64_t hi);
/* True with probability num/den. */
int prng_chance(tkv_prng_t *p, uint64_t num, uint64_t den);

#endif
