/*
 * Project 3B's test cluster: stores running the 3B extension on the
 * simulator, a mock scheduler (mock_sched.h) they heartbeat to, and helpers
 * that drive the cluster as events and wait for a condition with a bound in
 * virtual time (never a real sleep), as TinyKV's test cluster does:
 *
 *     mr_cluster_t *m = mr_cluster_new(5, 3, seed, &opts);
 *     mr_must_put(m, "k1", "v1");
 *     mr_must_remove_peer(m, 1, 2);         // region 1 leaves store 2
 *     mr_must_none_peer(m, 2, 1);           // and store 2 destroyed it
 *     mr_must_add_peer(m, 1, 2);            // back, with a new peer id
 *     mr_must_get_on_store(m, 2, "k1", "v1");
 *     mr_cluster_free(m);
 *
 * Every must_* helper fails the test with what it waited for and what it
 * saw when the bound passes.
 *
 * Ownership: mr_cluster_new() returns a cluster the caller frees with
 * mr_cluster_free() (which frees the simulator, the stores and the mock
 * scheduler). Clients started on it (kv_client.h) are freed after it.
 */
#ifndef TKV_TESTS_HARNESS_MR_CLUSTER_H
#define TKV_TESTS_HARNESS_MR_CLUSTER_H

#include "tests/harness/kv_client.h"
#include "tests/harness/mock_sched.h"
#include "tests/harness/sim_store.h"
#include "tests/harness/test.h"

typedef struct {
    uint64_t max_raft_log;    /* CompactLog past this many entries; 0: never */
    uint64_t region_max_size; /* split past this many bytes; 0: never split */
    uint64_t region_split_size;
    /* 0: region 1 starts with a peer on every store; k: on stores 1..k
     * only (sim_store.h), the others start empty. */
    int initial_peers;
    /* A region leader's periodic heartbeat to the scheduler, in ticks; 0: 5.
     * A large value leaves only the reports a change triggers. */
    int heartbeat_tick;
} mr_cluster_opts_t;

typedef struct {
    sim_cluster_t *c;
    mock_sched_t *sched;
    sim_store_opts_t so;
} mr_cluster_t;

mr_cluster_t *mr_cluster_new(int nodes, int clients, uint64_t seed, const mr_cluster_opts_t *o);
void mr_cluster_free(mr_cluster_t *m);
sim_t *mr_sim(mr_cluster_t *m);
/* The live peer of region on store (node) `store`, or NULL (down, or none). */
peer_t *mr_peer_of(mr_cluster_t *m, int store, uint64_t region);

/* The store leading `region` (waiting up to ms virtual ms); 0 if none. */
int mr_leader_of(mr_cluster_t *m, uint64_t region, uint64_t ms);

/* Operators through the mock scheduler, then wait (bounded) until done. */
void mr_must_add_peer(mr_cluster_t *m, uint64_t region, int store);
void mr_must_remove_peer(mr_cluster_t *m, uint64_t region, int store);
void mr_must_transfer_leader(mr_cluster_t *m, uint64_t region, int store);
/* Wait until store hosts an initialized peer of region / hosts none. */
void mr_must_have_peer(mr_cluster_t *m, int store, uint64_t region);
void mr_must_none_peer(mr_cluster_t *m, int store, uint64_t region);
/* Wait until the scheduler knows at least n regions. */
void mr_wait_for_regions(mr_cluster_t *m, size_t n, uint64_t ms);
/* Splits the region holding `key` at `key` (ids from the scheduler). */
void mr_must_split(mr_cluster_t *m, const char *key);

/* A put or get through the routing client path (retrying on region errors),
 * bounded in virtual time. get returns a malloc'd value or NULL (missing). */
void mr_must_put(mr_cluster_t *m, const char *key, const char *value);
char *mr_get(mr_cluster_t *m, const char *key);
/* Read straight from a store's kv DB (default CF): what it holds now. */
char *mr_get_on_store(mr_cluster_t *m, int store, const char *key);
void mr_must_get_on_store(mr_cluster_t *m, int store, const char *key, const char *want);

/* The conf changer: every 0-200 ms of virtual time, one random store joins
 * or leaves region `region` (0: the region holding the empty key, looked up
 * each time) when its last change is done; at least three peers stay. */
typedef struct mr_confchanger mr_confchanger_t;
mr_confchanger_t *mr_confchanger_start(mr_cluster_t *m, uint64_t region);
/* Stops it (its pending event stays harmless); free after the cluster. */
void mr_confchanger_stop(mr_confchanger_t *cc);
void mr_confchanger_free(mr_confchanger_t *cc);

#endif
