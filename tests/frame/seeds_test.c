/*
 * Seed selection (tests/harness/seeds.c): the seeds a randomized test runs
 * under each setting of SEED and SEEDS. A replay command (SEED=n) must run
 * seed n alone, or a sweep that gives every process its own seed runs each
 * seed several times over.
 */
#include <stdlib.h>

#include "tests/harness/test.h"

typedef struct {
    uint64_t seen[16];
    size_t n;
} seeds_seen_t;

static void record(uint64_t seed, void *arg)
{
    seeds_seen_t *s = arg;
    if (s->n < 16)
        s->seen[s->n] = seed;
    s->n++;
}

/* Runs tkv_for_each_seed_n(100, 5) under SEED/SEEDS (NULL: unset) and
 * checks the seeds it ran were first, first+1, ... (count of them). */
static void expect_seeds(const char *seed, const char *seeds, uint64_t first, size_t count)
{
    if (seed != NULL)
        setenv("SEED", seed, 1);
    else
        unsetenv("SEED");
    if (seeds != NULL)
        setenv("SEEDS", seeds, 1);
    else
        unsetenv("SEEDS");
    seeds_seen_t s = { { 0 }, 0 };
    tkv_for_each_seed_n(100, 5, record, &s);
    unsetenv("SEED");
    unsetenv("SEEDS");
    if (s.n != count)
        fail_msg("SEED=%s SEEDS=%s: expected %zu seeds from %llu, the test ran %zu",
                 seed ? seed : "(unset)", seeds ? seeds : "(unset)", count,
                 (unsigned long long)first, s.n);
    for (size_t i = 0; i < count && i < 16; i++)
        if (s.seen[i] != first + i)
            fail_msg("SEED=%s SEEDS=%s: run %zu should use seed %llu, it used %llu",
                     seed ? seed : "(unset)", seeds ? seeds : "(unset)", i,
                     (unsigned long long)(first + i), (unsigned long long)s.seen[i]);
}

static void test_seed_selection(void **state)
{
    (void)state;
    expect_seeds(NULL, NULL, 100, 5); /* the defaults */
    expect_seeds("7", NULL, 7, 1);    /* a replay: that seed alone */
    expect_seeds(NULL, "3", 100, 3);  /* k seeds from the default */
    expect_seeds("7", "3", 7, 3);     /* k seeds from n */
}

const tkv_test_t seeds_tests[] = {
    { "frame", "seed_selection", 0,
      "SEED=n runs seed n alone, SEEDS=k runs k seeds, both run k seeds from n",
      test_seed_selection, 0, NULL, NULL },
    { 0 },
};
