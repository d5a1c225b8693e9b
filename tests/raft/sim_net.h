/*
 * A seeded, single-threaded cluster of RawNodes for randomized tests.
 *
 * Each node has a memory storage and a state machine (the list of entries
 * it applied). The network between them drops, duplicates, delays, reorders
 * and partitions messages, all decided by one seeded PRNG, so a seed replays
 * a run exactly. Nodes crash (losing everything not persisted) and restart
 * from their storage.
 *
 * While it runs, the simulator checks Raft's safety properties (paper
 * figure 3): election safety, log matching, leader completeness and state
 * machine safety. A violation fails the test with the step and the seed.
 *
 * SIM_TRACE=1 prints every node's role, term, commit and last index every
 * 200 steps; SIM_STATS=1 prints a line per run (entries applied, top term).
 */
#ifndef TKV_TESTS_RAFT_SIM_NET_H
#define TKV_TESTS_RAFT_SIM_NET_H

#include "tests/raft/raft_helpers.h"

typedef struct sim sim_t;

typedef struct {
    size_t nodes;      /* 1 .. RT_MAX_NODES */
    int drop_pct;      /* chance a message is lost */
    int dup_pct;       /* chance a message is delivered twice */
    int max_delay;     /* in steps */
    int crash_pct10;   /* per-mille per step that a node crashes or restarts */
    int compact_every; /* 0: never; else compact logs every so many applied entries (2C) */
} sim_config_t;

sim_t *sim_new(uint64_t seed, const sim_config_t *cfg);
void sim_free(sim_t *s);
/* Runs `steps` random steps (ticks, deliveries, proposals, partitions,
 * crashes), checking safety throughout. */
void sim_run_chaos(sim_t *s, int steps);
/* Heals everything and runs until a proposal made now is applied on every
 * node (fails the test if that takes more than `max_rounds`). */
void sim_converge(sim_t *s, int max_rounds);
/* Entries applied, across the whole cluster (the longest state machine). */
uint64_t sim_applied_max(const sim_t *s);

#endif
