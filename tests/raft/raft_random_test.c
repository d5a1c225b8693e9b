/*
 * Randomized safety: clusters of 3 to 7 RawNodes under drops, duplicates,
 * delays, reordering, partitions and crashes, checked at every step for the
 * properties of paper figure 3 (chaos_cluster.h). SEED=n replays one run;
 * SEEDS=k runs k of them.
 *
 * The same run, in modes: with each extension of project2x on, and with
 * random membership changes, one node at a time (3A) or joint changes and
 * learners with every extension on (3X), both with nodes that crash having
 * persisted a Ready but applied nothing (the unapplied-conf-change route).
 * Seeds those two modes found: a follower refusing ConfChangeV2 entries,
 * learners read back from storage as voters, a stale candidate or a member
 * with a higher term never told of it, and a removed node's lease that never
 * ran out (each now has its own test: docs/project3-multiraft.md).
 */
#include <string.h>

#include "tests/harness/expect.h"
#include "tests/raft/chaos_cluster.h"

typedef enum {
    MODE_PLAIN,
    MODE_SNAPSHOTS,
    MODE_PRE_VOTE,
    MODE_CHECK_QUORUM, /* with lease reads allowed */
    MODE_FLOW_CONTROL, /* with snapshots: the snapshot state matters */
    MODE_FAST_BACKTRACK,
    MODE_ALL_EXTENSIONS,
    MODE_CONF_CHANGES,  /* 3A: one node at a time */
    MODE_JOINT_CHANGES, /* 3X: joint changes and learners, extensions on */
} mode_t_;

static void one_run(uint64_t seed, void *arg)
{
    mode_t_ mode = *(const mode_t_ *)arg;
    tkv_prng_t p;
    prng_seed(&p, seed ^ 0x9e3779b97f4a7c15ULL);
    chaos_config_t cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.nodes = 3 + (size_t)(seed % 5);
    cfg.drop_pct = (int)prng_below(&p, 25);
    cfg.dup_pct = (int)prng_below(&p, 10);
    cfg.max_delay = (int)prng_below(&p, 12);
    cfg.crash_pct10 = (int)prng_below(&p, 8);
    int compact = mode != MODE_PLAIN && mode != MODE_PRE_VOTE && mode != MODE_CHECK_QUORUM;
    cfg.compact_every = compact ? 5 + (int)prng_below(&p, 20) : 0;
    int all = mode == MODE_ALL_EXTENSIONS || mode == MODE_JOINT_CHANGES;
    cfg.pre_vote = all || mode == MODE_PRE_VOTE;
    cfg.check_quorum = all || mode == MODE_CHECK_QUORUM;
    cfg.read_lease = cfg.check_quorum;
    cfg.flow_control = all || mode == MODE_FLOW_CONTROL;
    cfg.fast_backtrack = all || mode == MODE_FAST_BACKTRACK;
    if (mode == MODE_CONF_CHANGES || mode == MODE_JOINT_CHANGES) {
        cfg.nodes = 5 + (size_t)(seed % 3);
        cfg.conf_changes = mode == MODE_CONF_CHANGES ? 1 : 2;
        cfg.voters = 3;
        cfg.crash_before_apply_pct10 = 5 + (int)prng_below(&p, 20);
    }
    chaos_t *s = chaos_new(seed, &cfg);
    chaos_run(s, 3000);
    chaos_converge(s, 2000);
    expect_true(chaos_applied_max(s) > 0,
                "after 3000 steps and convergence some node must have applied an entry; none did "
                "(seed %llu)",
                (unsigned long long)seed);
    if (cfg.conf_changes) {
        /* A run so faulty that no random change committed (a few seeds in a
         * hundred) still checks one, made on the healed cluster. */
        if (chaos_membership_changes(s) == 0) {
            chaos_propose_healed_conf_change(s);
            chaos_converge(s, 2000);
        }
        if (chaos_membership_changes(s) == 0)
            fail_msg("seed %llu: no conf change took effect, not even one proposed on the "
                     "healed cluster (each node's membership stayed as it started)",
                     (unsigned long long)seed);
        chaos_check_membership(s);
    }
    chaos_free(s);
}

#define RANDOM_TEST(fn, mode)                                                                      \
    static void fn(void **state)                                                                   \
    {                                                                                              \
        (void)state;                                                                               \
        static const mode_t_ m = mode;                                                             \
        tkv_for_each_seed(1, one_run, (void *)&m);                                                 \
    }

RANDOM_TEST(test_random_safety, MODE_PLAIN)
RANDOM_TEST(test_random_safety_with_snapshots, MODE_SNAPSHOTS)
RANDOM_TEST(test_random_safety_pre_vote, MODE_PRE_VOTE)
RANDOM_TEST(test_random_safety_check_quorum, MODE_CHECK_QUORUM)
RANDOM_TEST(test_random_safety_flow_control, MODE_FLOW_CONTROL)
RANDOM_TEST(test_random_safety_fast_backtrack, MODE_FAST_BACKTRACK)
RANDOM_TEST(test_random_safety_all_extensions, MODE_ALL_EXTENSIONS)
RANDOM_TEST(test_random_safety_conf_changes, MODE_CONF_CHANGES)
RANDOM_TEST(test_random_safety_joint_changes, MODE_JOINT_CHANGES)

const tkv_test_t raft_random_tests[] = {
    { "project2a", "random_safety", 5,
      "under drops, delays, partitions and crashes Raft keeps its safety properties",
      test_random_safety, 120 },
    { "project2c", "random_safety_with_snapshots", 5,
      "the randomized safety run, with logs compacted and snapshots sent",
      test_random_safety_with_snapshots, 120 },
    { "project2x", "random_safety_pre_vote", 2, "the randomized safety run with pre-vote on",
      test_random_safety_pre_vote, 120 },
    { "project2x", "random_safety_check_quorum", 2,
      "the randomized safety run with check quorum and lease reads on",
      test_random_safety_check_quorum, 120 },
    { "project2x", "random_safety_flow_control", 2,
      "the randomized safety run with flow control on, snapshots included",
      test_random_safety_flow_control, 120 },
    { "project2x", "random_safety_fast_backtrack", 2,
      "the randomized safety run with fast log back-tracking on", test_random_safety_fast_backtrack,
      120 },
    { "project2x", "random_safety_all_extensions", 2,
      "the randomized safety run with every project2x extension on",
      test_random_safety_all_extensions, 120 },
    { "project3a", "random_safety_conf_changes", 2,
      "the randomized safety run with random one-at-a-time membership changes",
      test_random_safety_conf_changes, 120 },
    { "project3x", "random_safety_joint_changes", 2,
      "the randomized safety run with random joint changes and learners, extensions on",
      test_random_safety_joint_changes, 120 },
    { 0 },
};
