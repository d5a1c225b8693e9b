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
 * (entries applied, proposals, top term, snapshots installed); CHAOS_CONF=1
 * a line per conf change applied (node, index, result, membership before
 * and after). A run that does not converge prints every node's view.
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
    /* The extensions, on in every node (project2x). */
    int pre_vote, check_quorum, read_lease, flow_control, fast_backtrack;
    /* Random membership changes: 0 none; 1 one node at a time (ConfChange,
     * 3A); 2 joint changes and learners (ConfChangeV2, 3X). The cluster
     * starts as the first `voters` ids (0: all); the others wait outside. */
    int conf_changes;
    size_t voters;
    /* Per mille of Readies after which the node crashes having persisted it
     * but applied nothing: on restart it knows a commit index beyond what
     * it applied (the unapplied-conf-change route), and it is ticked before
     * its first Ready. */
    int crash_before_apply_pct10;
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
/* Conf change entries applied that changed a node's membership. */
uint64_t chaos_membership_changes(const chaos_t *s);
/* After chaos_converge(): the leader proposes a membership change (a node
 * outside joins, else a voter other than itself leaves); converge again to
 * see it applied. For runs so faulty that no random change took effect. */
void chaos_propose_healed_conf_change(chaos_t *s);
/* After chaos_converge(): fails the test unless every node the leader counts
 * as a member holds the leader's configuration. */
void chaos_check_membership(chaos_t *s);

#endif
