/*
 * Scale and shrinking (test.h): SCALE sets named sizes within their
 * bounds, and shrinking replays a failing seed in fresh processes and
 * finds the smallest size that still fails.
 *
 * The shrinking test needs a test that fails depending on its size: the
 * probe below passes unless TKV_SHRINK_PROBE is set, and then fails while
 * its size "n" is above 20, so of the sizes tried (1, 25, 50) the smallest
 * failing one is 25.
 */
#include <stdlib.h>
#include <string.h>

#include "tests/harness/test.h"

static void test_scale_sets_named_sizes(void **state)
{
    (void)state;
    setenv("SCALE", "rounds:1,clients:2,time:0,ops:999", 1);
    assert_int_equal(tkv_scaled("rounds", 3, 1), 1);
    assert_int_equal(tkv_scaled("clients", 5, 1), 2);
    assert_int_equal(tkv_scaled("time", 5000, 200), 200); /* never below its minimum */
    assert_int_equal(tkv_scaled("ops", 100, 1), 100);     /* never above full size */
    assert_int_equal(tkv_scaled("other", 7, 1), 7);       /* not named: full size */
    assert_string_equal(tkv_scale_spec(), "rounds:1,clients:2,time:0,ops:999");
    unsetenv("SCALE");
    assert_int_equal(tkv_scaled("rounds", 3, 1), 3);
    assert_string_equal(tkv_scale_spec(), "");
}

static void probe_run(uint64_t seed, void *arg)
{
    (void)seed;
    (void)arg;
    uint64_t n = tkv_scaled("n", 100, 1);
    if (getenv("TKV_SHRINK_PROBE") != NULL && n > 20)
        fail_msg("the probe fails at size %llu (above 20)", (unsigned long long)n);
}

static void test_probe(void **state)
{
    (void)state;
    tkv_for_each_seed(5, probe_run, NULL);
}

static void test_shrink_finds_the_smallest_failing_size(void **state)
{
    (void)state;
    /* The sizes the failing run asked for, as its own run would have. */
    assert_int_equal(tkv_scaled("n", 100, 1), 100);
    setenv("TKV_SHRINK_PROBE", "1", 1);
    char smallest[300];
    int found = tkv_shrink("frame", "shrink_probe", 5, smallest, sizeof(smallest));
    unsetenv("TKV_SHRINK_PROBE");
    assert_int_equal(found, 1);
    assert_string_equal(smallest, "n:25");
}

const tkv_test_t shrink_tests[] = {
    { "frame", "scale_sets_named_sizes", 0,
      "SCALE=what:value,... sets the named sizes, clamped to [min, full]; others stay full",
      test_scale_sets_named_sizes },
    { "frame", "shrink_probe", 0,
      "a helper of shrink_finds_the_smallest_failing_size: fails only when it asks it to",
      test_probe },
    { "frame", "shrink_finds_the_smallest_failing_size", 0,
      "SHRINK replays a failing seed smaller in fresh processes and reports the smallest failure",
      test_shrink_finds_the_smallest_failing_size },
    { 0 },
};
