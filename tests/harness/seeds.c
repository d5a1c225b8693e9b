/*
 * Seed selection for randomized tests (test.h): the fixed defaults, SEED=n,
 * or SEEDS=k. The running seed is kept where test_main.c can print it if the
 * test fails.
 *
 * By default each randomized test runs TKV_DEFAULT_SEEDS seeds, so a bug that
 * shows at one seed in a few is found by a plain `make test` (with one seed,
 * a Raft leader that appends no no-op entry passed random_safety; seed 2
 * catches it). Five costs the default `make test` about 2.5 times the CPU
 * of one seed (34 s against 14 s, measured); the store's randomized tests
 * are most of it (see docs/simulator.md).
 */
#include <stdio.h>
#include <stdlib.h>

#include "tests/harness/test.h"

static uint64_t running_seed;

uint64_t tkv_current_seed(void)
{
    return running_seed;
}

static int env_u64(const char *name, uint64_t *out)
{
    const char *s = getenv(name);
    if (s == NULL || *s == '\0')
        return 0;
    char *end = NULL;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end != '\0') {
        fprintf(stderr, "%s=%s is not a number; ignoring it\n", name, s);
        return 0;
    }
    *out = v;
    return 1;
}

void tkv_for_each_seed(uint64_t default_seed, tkv_seeded_fn body, void *arg)
{
    tkv_for_each_seed_n(default_seed, TKV_DEFAULT_SEEDS, body, arg);
}

void tkv_for_each_seed_n(uint64_t default_seed, uint64_t default_count, tkv_seeded_fn body,
                         void *arg)
{
    uint64_t seed = default_seed, count = default_count ? default_count : 1;
    if (!env_u64("SEED", &seed))
        env_u64("SEEDS", &count);
    for (uint64_t i = 0; i < count; i++) {
        running_seed = seed + i;
        body(running_seed, arg);
    }
    running_seed = 0;
}
