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
 * Every step (each node's role, term, partition group, commit and last
 * index) and every message sent and received goes into a trace
 * (tests/harness/trace.h) that the harness writes to a file if the test
 * fails; the trace's clock reads the step number. CHAOS_TRACE=1 also prints
 * the step line every 200 steps; CHAOS_STATS=1 prints a line per run
 * (entries applied, proposals, top term, snapshots installed).
 */
#ifndef TKV_TESTS_RAFT_CHAOS_CLUSTER_H
#define TKV_TESTS_RAFT_CHAOS_CLUSTER_H

#include "tests/raft/raft_helpers.h"

typedef struct chaos chaos_t;

typedef struct {
    size_t nodes;      /* 1 .. RT_MAX_NODES */
    int drop_pct;      /* chance a message is lost */
    int dup_pct;       /* chance a message is delivered twice */
    int max_delay;     /* in steps */
    int crash_pct10;   /* per-mille per step that a node crashes or restarts */
    int compact_every; /* 0: never; else compact logs every so many applied entries (2C) */
} chaos_config_t;

chaos_t *chaos_new(uint64_t seed, const chaos_config_t *cfg);
void chaos_free(chaos_t *s);
/* Runs `steps` random steps (ticks, deliveries, proposals, partitions,
 * crashes), checking safety throughout. */
void chaos_run(chaos_t *s, int steps);
/* Heals everything and runs until a proposal made now is applied on every
 * node (fails the test if that takes more than `max_rounds`). */
void chaos_converge(chaos_t *s, int max_rounds);
/* Entries applied, across the whole cluster (the longest state machine). */
uint64_t chaos_applied_max(const chaos_t *s);

#endif
