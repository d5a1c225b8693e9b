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
 * response's value set to every value under the Get key as a prefix, in key
 * order, concatenated (read from the Snap's consistent view). That is how
 * clients append: each append puts its own key "<key>/<seq>", and a read of
 * <key> is a scan of the prefix "<key>/".
 */
#ifndef TKV_TESTS_RAFTSTORE_SIM_STORE_H
#define TKV_TESTS_RAFTSTORE_SIM_STORE_H

#include "project2-raft/raftstore/store.h"
#include "tests/harness/sim_cluster.h"

/* What a test hands the cluster in sim_cluster_opts_t.user. */
typedef struct {
    peer_config_t peer;
    /* 0 or 1: region 1 over everything. 2: region 1 over keys below "m"
     * and region 2 from "m" on, both on every store (the store is built for
     * many regions; this checks they stay apart). */
    int regions;
} sim_store_opts_t;

extern const sim_node_ops_t sim_store_ops;

/* The store behind a running node (NULL while it is down). Borrowed. */
store_t *sim_store_of(sim_cluster_t *c, int node);

#endif
