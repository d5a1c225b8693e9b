/*
 * The PRNG is what makes a seed replay a run: same seed, same numbers; and
 * its bounded draws stay in bounds and cover the range.
 */
#include "common/prng.h"
#include "tests/harness/test.h"

static void test_same_seed_same_sequence(void **state)
{
    (void)state;
    tkv_prng_t a, b, c;
    prng_seed(&a, 42);
    prng_seed(&b, 42);
    prng_seed(&c, 43);
    int differs = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t x = prng_next(&a);
        assert_int_equal(x, prng_next(&b));
        differs |= x != prng_next(&c);
    }
    assert_true(differs);
}

static void test_below_stays_in_range_and_covers_it(void **state)
{
    (void)state;
    tkv_prng_t p;
    prng_seed(&p, 7);
    int seen[10] = { 0 };
    for (int i = 0; i < 10000; i++) {
        uint64_t x = prng_below(&p, 10);
        assert_true(x < 10);
        seen[x]++;
    }
    for (int i = 0; i < 10; i++)
        assert_in_range(seen[i], 800, 1200);
    for (int i = 0; i < 1000; i++)
        assert_in_range(prng_between(&p, 150, 300), 150, 299);
}

static void test_chance_matches_its_odds(void **state)
{
    (void)state;
    tkv_prng_t p;
    prng_seed(&p, 9);
    int hits = 0;
    for (int i = 0; i < 10000; i++)
        hits += prng_chance(&p, 1, 4);
    assert_in_range(hits, 2300, 2700);
    for (int i = 0; i < 100; i++) {
        assert_false(prng_chance(&p, 0, 5));
        assert_true(prng_chance(&p, 5, 5));
    }
}

const tkv_test_t prng_tests[] = {
    { "frame", "prng_same_seed_same_sequence", 0, "a seed fixes the whole sequence",
      test_same_seed_same_sequence },
    { "frame", "prng_below_stays_in_range", 0, "bounded draws are in range and uniform",
      test_below_stays_in_range_and_covers_it },
    { "frame", "prng_chance_matches_odds", 0,
      "prng_chance(1, 4) is true about a quarter of the time", test_chance_matches_its_odds },
    { 0 },
};
