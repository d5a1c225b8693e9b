/*
 * A mock scheduler on the simulator's loop (frame code, not the student's
 * 3C): what project 3B's stores need from a scheduler, so 3B is graded
 * before 3C exists. As TinyKV's MockSchedulerClient, it keeps
 *
 *   - a region table fed by region heartbeats: a heartbeat whose epoch is
 *     older than what the table holds (in either counter) is ignored; one
 *     that overlaps other regions replaces those that are not newer;
 *   - an id allocator (ids from 1000, above the bootstrap peers' ids);
 *   - AskSplit: a new region id and one new peer id per peer;
 *   - one operator per region (add peer, remove peer, transfer leader),
 *     handed to the region's leader in every heartbeat response until the
 *     table shows it done;
 *   - lookups for clients and tests: the region holding a key, by id, and
 *     its leader as last reported.
 *
 * Stores reach it through project 3B's scheduler transport
 * (mr_sched_transport_t): sim_store.c hands mock_sched_submit() every
 * request; the answer comes back 1 ms later as a simulator event, to the
 * store that is running on that node then (a restarted store ignores
 * answers to its previous life's requests). It never loses anything: the
 * network between stores is what the tests make unreliable.
 *
 * With mock_sched_use_server() it stops deciding anything itself: every
 * request goes to a real scheduler (project 3C's service, on the
 * simulator's clock) and its answer goes back; the table still follows the
 * heartbeats that scheduler accepts, so clients and lookups work the same.
 *
 * Ownership: mock_sched_new() returns a scheduler the caller frees with
 * mock_sched_free() after the cluster (events point at it). Regions and
 * peers returned are borrowed until the next simulator event.
 */
#ifndef TKV_TESTS_HARNESS_MOCK_SCHED_H
#define TKV_TESTS_HARNESS_MOCK_SCHED_H

#include "project3-multiraft/scheduler/service.h"
#include "proto/metapb.pb-c.h"
#include "tests/harness/sim_cluster.h"

typedef struct mock_sched mock_sched_t;

mock_sched_t *mock_sched_new(void);
/* The cluster whose stores it answers (borrowed; before the first tick). */
void mock_sched_attach(mock_sched_t *m, sim_cluster_t *c);
void mock_sched_free(mock_sched_t *m);
/* Hands every request to `srv` from now on (borrowed; it must outlive the
 * cluster). The mock's own operators are then unused. */
void mock_sched_use_server(mock_sched_t *m, sched_server_t *srv);

/* A request from store `node` (bytes borrowed). */
void mock_sched_submit(mock_sched_t *m, int node, uint64_t id, const char *method,
                       const uint8_t *data, size_t len);

/* Records a bootstrapped region before any heartbeat (copied). */
void mock_sched_add_region(mock_sched_t *m, const Metapb__Region *r);

const Metapb__Region *mock_sched_region_by_key(const mock_sched_t *m, const void *key, size_t len);
const Metapb__Region *mock_sched_region_by_id(const mock_sched_t *m, uint64_t id);
/* The leader last reported for the region (0 if unknown): its store. */
uint64_t mock_sched_leader_store(const mock_sched_t *m, uint64_t region_id);
size_t mock_sched_n_regions(const mock_sched_t *m);
/* The i-th region in the table (0 <= i < n_regions), in no order. */
const Metapb__Region *mock_sched_region_at(const mock_sched_t *m, size_t i);
uint64_t mock_sched_alloc_id(mock_sched_t *m);

/* Operators: replaces the region's current one. The peer id of an added
 * peer is allocated here. */
void mock_sched_add_peer(mock_sched_t *m, uint64_t region_id, uint64_t store_id);
void mock_sched_remove_peer(mock_sched_t *m, uint64_t region_id, uint64_t store_id);
void mock_sched_transfer_leader(mock_sched_t *m, uint64_t region_id, uint64_t store_id);
/* Whether the region's operator is done (or none was set). */
int mock_sched_operator_done(const mock_sched_t *m, uint64_t region_id);

/* Requests answered, for tests that check the stores talked to it. */
uint64_t mock_sched_heartbeats(const mock_sched_t *m);

#endif
