/*
 * Randomized safety: clusters of 3 to 7 RawNodes under drops, duplicates,
 * delays, reordering, partitions and crashes, checked at every step for the
 * properties of paper figure 3 (sim_net.h). SEED=n replays one run;
 * SEEDS=k runs k of them.
 */
#include "tests/raft/sim_net.h"

static void one_run(uint64_t seed, void *arg)
{
    int compact = arg != NULL;
    tkv_prng_t p;
    prng_seed(&p, seed ^ 0x9e3779b97f4a7c15ULL);
    sim_config_t cfg = { 0 };
    cfg.nodes = 3 + (size_t)(seed % 5);
    cfg.drop_pct = (int)prng_below(&p, 25);
    cfg.dup_pct = (int)prng_below(&p, 10);
    cfg.max_delay = (int)prng_below(&p, 12);
    cfg.crash_pct10 = (int)prng_below(&p, 8);
    cfg.compact_every = compact ? 5 + (int)prng_below(&p, 20) : 0;
    sim_t *s = sim_new(seed, &cfg);
    sim_run_chaos(s, 3000);
    sim_converge(s, 2000);
    assert_true(sim_applied_max(s) > 0);
    sim_free(s);
}

static void test_random_safety(void **state)
{
    (void)state;
    tkv_for_each_seed(1, one_run, NULL);
}

static void test_random_safety_with_snapshots(void **state)
{
    (void)state;
    static int compact = 1;
    tkv_for_each_seed(1, one_run, &compact);
}

const tkv_test_t raft_random_tests[] = {
    { "project2a", "random_safety", 5,
      "under drops, delays, partitions and crashes Raft keeps its safety properties",
      test_random_safety, 120 },
    { "project2c", "random_safety_with_snapshots", 5,
      "the randomized safety run, with logs compacted and snapshots sent",
      test_random_safety_with_snapshots, 120 },
    { 0 },
};
