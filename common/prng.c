/*
 * xoshiro256** (Blackman and Vigna): small state, fast, and good enough for
 * simulation. The seed is spread over the 256-bit state with splitmix64, so
 * that nearby seeds (1, 2, 3...) give unrelated sequences.
 */
#include "common/prng.h"

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void prng_seed(tkv_prng_t *p, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        p->s[i] = splitmix64(&seed);
}

uint64_t prng_next(tkv_prng_t *p)
{
    uint64_t *s = p->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

uint64_t prng_below(tkv_prng_t *p, uint64_t n)
{
    /* Reject the top sliver of the range that would make small values more
     * likely than large ones. */
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do {
        x = prng_next(p);
    } while (x >= limit);
    return x % n;
}

uint64_t prng_between(tkv_prng_t *p, uint64_t lo, uint64_t hi)
{
    return lo + prng_below(p, hi - lo);
}

int prng_chance(tkv_prng_t *p, uint64_t num, uint64_t den)
{
    return prng_below(p, den) < num;
}
