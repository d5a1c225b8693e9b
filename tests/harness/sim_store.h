/*
 * The replicated store as a simulator node (tests/harness/sim_node.h), and
 * the little client protocol the cluster tests speak to it.
 *
 * Node i of an n-node cluster is store i. On its first start it bootstraps
 * region 1 over the whole key space with peer i on store i for every i (as
 * TinyKV's test cluster does); later starts recover from its data directory.
 * Store-to-store bytes are raft_serverpb.RaftMessage, as the store makes them.
 *
 * Clients send a frame: an 8-byte big-endian request id, then a
 * raft_cmdpb.RaftCmdRequest. The node proposes it and answers the same id
 * followed by the raft_cmdpb.RaftCmdResponse. One extension for scans: a
 * command holding a Snap request and a Get request is answered with the Get
 * response's value set to every value of the scan, in key order,
 * concatenated (read from the Snap's consistent view). The scan covers the
 * keys that share the Get key's prefix up to and including its first '/',
 * from the Get key on, and stops at the region's end: a Get key "K/" reads
 * all of K's appends in this region, and a client whose scan ran into the
 * region's end (the Snap response names the region) goes on from that end
 * key in the next region. That is how clients append: each append puts its
 * own key "<key>/<seq>", and a read of <key> is a scan of "<key>/".
 *
 * With `multiraft` set (project 3B), each store runs project 3B's extension
 * and talks to the mock scheduler (mock_sched.h) given in `sched`.
 *
 * Two checks of the ordering "persist, then send" run in every test:
 *   - at send time, a message's promise must already be in the sender's
 *     raft DB: its term (pre-votes aside) at most the persisted term, a vote
 *     (request or grant) the persisted vote, an accepting append response's
 *     index at most the persisted last index. A violation fails the test
 *     at once, naming the message and what was on disk;
 *   - fail points (common/failpoint.h): each call into node i runs with
 *     fail point context i. A node that crashed at a fail point sends and
 *     answers nothing more (its engine writes are dropped by the engine),
 *     is stopped as soon as the call returns, and starts again
 *     `failpoint_restart_ms` virtual ms later (0: stays down).
 */
#ifndef TKV_TESTS_HARNESS_SIM_STORE_H
#define TKV_TESTS_HARNESS_SIM_STORE_H

#include "project2-raft/raftstore/store.h"
#include "project3-multiraft/raftstore/multiraft.h"
#include "tests/harness/mock_sched.h"
#include "tests/harness/sim_cluster.h"

/* What a test hands the cluster in sim_cluster_opts_t.user. */
typedef struct {
    peer_config_t peer;
    /* 0 or 1: region 1 over everything. 2: region 1 over keys below "m"
     * and region 2 from "m" on, both on every store (the store is built for
     * many regions; this checks they stay apart). */
    int regions;
    /* 0: region 1 has a peer on every store. k > 0: only on stores 1..k,
     * and the other stores start empty, as a real cluster's do (their
     * replicas come from the scheduler). With regions == 1 only. */
    int initial_peers;
    /* Project 3B: run the extension with these settings (its scheduler
     * transport is filled per node) against `sched` (borrowed). */
    int multiraft;
    multiraft_config_t mr;
    mock_sched_t *sched;
    uint64_t failpoint_restart_ms;
    /* At every start, before anything is applied, region 1's data must be
     * exactly its log applied up to its apply state (recovery_check.h).
     * Single-region tests only. */
    int check_recovery;
} sim_store_opts_t;

extern const sim_node_ops_t sim_store_ops;

/* The store behind a running node (NULL while it is down). Borrowed. */
store_t *sim_store_of(sim_cluster_t *c, int node);

#endif
