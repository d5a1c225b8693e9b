/*
 * TinyKV's generic cluster test, on the simulator: clients append and read
 * while the test injects the faults a scenario asks for, then the history
 * is judged (client views, linearizability) and the stores are inspected.
 */
#ifndef TKV_TESTS_HARNESS_KV_CLUSTER_H
#define TKV_TESTS_HARNESS_KV_CLUSTER_H

#include <stdint.h>

#include "tests/harness/test.h"
#include "tests/harness/kv_client.h"
#include "tests/harness/sim_store.h"

typedef struct {
    int nodes, clients;
    int unreliable; /* TinyKV's unreliable network: loss, delay, reordering, duplicates */
    int crash;      /* crash and restart every node at the end of each round */
    int partitions; /* keep re-partitioning the nodes at random */
    int rounds;     /* rounds of round_ms virtual ms each */
    uint64_t round_ms;
    uint64_t max_raft_log; /* 2C: CompactLog once this many entries are applied; 0: never */
    /* At least this many operations must complete: about a quarter of what
     * the reference completes at every seed tried, so a store several times
     * slower than it fails. */
    uint64_t min_ops;
    peer_read_mode_t read_mode; /* how the stores serve reads (0: through the log) */
} generic_opts_t;

/* One seeded run of the scenario; fails the test on a violation. */
void generic_run(uint64_t seed, void *arg);

/* A cluster of `nodes` stores with the test defaults (sync off, 10 ms
 * ticks) and, if max_raft_log, log GC every 10 ticks past that many entries.
 * `so` must outlive the cluster. */
sim_cluster_t *cluster_new(int nodes, int clients, uint64_t seed, uint64_t max_raft_log,
                           sim_store_opts_t *so);
/* The same with `regions` regions (sim_store_opts_t.regions). */
sim_cluster_t *cluster_new_regions(int nodes, int clients, uint64_t seed, uint64_t max_raft_log,
                                   int regions, sim_store_opts_t *so);
/* cluster_new() with the peers serving reads in `mode` (peer.h). */
sim_cluster_t *cluster_new_reading(int nodes, int clients, uint64_t seed, uint64_t max_raft_log,
                                   peer_read_mode_t mode, sim_store_opts_t *so);
/* The node whose region-1 peer leads, waiting up to `ms` virtual ms; 0 if none. */
int cluster_leader(sim_cluster_t *c, uint64_t ms);
/* Log entries of region 1 in the store's raft DB, and the lowest index. */
uint64_t cluster_count_log_entries(store_t *s, uint64_t *lowest);
/* Faults as simulator events (arg: a cluster_fault_t that outlives them;
 * clear `on` to stop them at their next firing):
 *   cluster_repartition  a new random split of the nodes every 100-400 ms;
 *   cluster_crash_one    every 300-1000 ms one random node crashes and
 *                        comes back 50-500 ms later. */
typedef struct {
    sim_cluster_t *c;
    int on;
} cluster_fault_t;
void cluster_repartition(sim_t *sim, void *arg);
void cluster_crash_one(sim_t *sim, void *arg);

/* Once quiet, every store holds the same data: waits up to `ms` virtual ms
 * for every up store's region-1 peer to reach the same applied index, then
 * compares their column families key by key. Fails the test naming
 * the first key that differs (a write lost or applied twice on a replica). */
void cluster_check_replicas_agree(sim_cluster_t *c, uint64_t ms);

/* 2C: every store's log is short, in memory and on disk (within a bound
 * from the limit and the number of clients), and was truncated at least
 * once; fails the test saying which store keeps what. */
void cluster_check_log_bounded(sim_cluster_t *c, uint64_t max_raft_log, int clients);

/* Proposes on `node` one put of key=value in column family `cf` (value
 * NULL: a delete of key) to region 1 and waits up to `ms` virtual ms for
 * the answer. Returns 1 if it was answered OK. */
int cluster_write(sim_cluster_t *c, int node, const char *cf, const char *key, const char *value,
                  uint64_t ms);

/* Judges a finished history; fails the test with the checkers' explanation. */
void cluster_check_history(const history_t *h, int clients);

#endif
